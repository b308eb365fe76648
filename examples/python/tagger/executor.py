from flowhost import DocumentArray, Executor, requests


class Tagger(Executor):
    """Merges tags into every top-level document: first the `tags` given in
    `uses_with`, then the request's `parameters["tags"]` (if it is a dict) over
    them, each with `dict.update` semantics (given keys overwrite)."""

    def __init__(self, tags: dict = None, **kwargs):
        super().__init__(**kwargs)
        if tags is not None and not isinstance(tags, dict):
            raise TypeError(f'uses_with tags must be an object, got {type(tags).__name__}')
        self.tags = dict(tags or {})

    @requests
    def tag(self, docs: DocumentArray, parameters: dict, **kwargs):
        extra = parameters.get('tags')
        if not isinstance(extra, dict):
            extra = {}
        if not self.tags and not extra:
            return  # nothing to add: the documents stay untouched
        for doc in docs:
            doc.tags.update(self.tags)
            doc.tags.update(extra)
