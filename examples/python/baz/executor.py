from flowhost import Document, DocumentArray, Executor, requests


class BazExecutor(Executor):
    """Appends one document saying how many documents it got (the Jina seed's Baz)."""

    @requests
    def baz(self, docs: DocumentArray, **kwargs):
        docs.append(Document(text=f'baz was here and got {len(docs)} document'))
