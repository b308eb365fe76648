from flowhost import Document, DocumentArray, Executor, requests


class FooExecutor(Executor):
    """Appends one document saying how many documents it got (the Jina seed's Foo)."""

    @requests
    def foo(self, docs: DocumentArray, **kwargs):
        docs.append(Document(text=f'foo was here and got {len(docs)} document'))
