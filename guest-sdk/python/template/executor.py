from flowhost import Document, DocumentArray, Executor, requests

NAME = '{{name}}'


class {{Class}}(Executor):
    """Appends a greeting document to every request."""

    def __init__(self, greeting: str = 'hello', **kwargs):
        # `uses_with` arrives here as keyword arguments.
        super().__init__(**kwargs)
        self.greeting = greeting

    @requests
    def greet(self, docs: DocumentArray, parameters: dict, **kwargs):
        """The catch-all: runs for every endpoint (use @requests(on='/index') to bind one)."""
        self.logger.info('greeting %d documents', len(docs))
        docs.append(Document(text=f'{self.greeting} from {NAME}'))
