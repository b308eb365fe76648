from flowhost import Document, DocumentArray, Executor, requests


class BarExecutor(Executor):
    """Appends one document saying how many documents it got (the Jina seed's Bar)."""

    @requests
    def bar(self, docs: DocumentArray, **kwargs):
        docs.append(Document(text=f'bar was here and got {len(docs)} document'))
