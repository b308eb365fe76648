"""The conformance executor (tests/conformance/README.md), written with the
Python SDK the way a user would write a Jina executor."""

import os

from flowhost import Document, DocumentArray, Executor, requests


class NoWorkspace(Exception):
    """Raised by /workspace when the host granted no workspace."""


def walk(docs):
    """Every document of the tree: top-level ones, then recursively their chunks and matches."""
    stack = list(reversed(list(docs)))
    while stack:
        doc = stack.pop()
        yield doc
        stack.extend(reversed(list(doc.chunks) + list(doc.matches)))


class Conformance(Executor):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.uses_with = dict(kwargs)
        self.label = kwargs.get('label', 'conformance')

    @requests(on='/unchanged')
    def unchanged(self, **kwargs):
        pass

    @requests(on='/roundtrip')
    def roundtrip(self, docs, **kwargs):
        # Decode every field of every document (tags, tensors, scores are decoded
        # lazily, on first access), then send them back re-encoded.
        for doc in walk(docs):
            doc.tags, doc.tensor, doc.embedding = dict(doc.tags), doc.tensor, doc.embedding
            doc.scores, doc.evaluations = dict(doc.scores), dict(doc.evaluations)
        return DocumentArray(docs)

    @requests(on='/mutate')
    def mutate(self, docs, **kwargs):
        for doc in walk(docs):
            if doc.text is not None:
                doc.text += '!'
            doc.tags['label'] = self.label
            if doc.embedding is not None and doc.embedding.dtype == 'float32':
                doc.embedding = doc.embedding * 2
        docs.append(Document(text=f'added by {self.label}'))

    @requests(on='/params')
    def params(self, parameters, **kwargs):
        tags = {
            'parameters': parameters,
            'uses_with': self.uses_with,
            'metas': self.metas.to_dict(),
        }
        return DocumentArray([Document(tags=tags)])

    @requests(on='/fail')
    def fail(self, docs, **kwargs):
        raise ValueError(f'conformance failure: {len(docs)} documents')

    @requests(on='/log')
    def log(self, **kwargs):
        self.logger.info('conformance log info')
        self.logger.warning('conformance log warn')
        print('conformance stdout')

    @requests(on='/workspace')
    def workspace(self, parameters, **kwargs):
        # This method's name (fixed by the conformance spec) shadows the
        # `self.workspace` property; `self.metas.workspace` is the same path.
        workspace = self.metas.workspace
        if not workspace:
            raise NoWorkspace(f'executor {self.metas.name} was granted no workspace')
        path = os.path.join(workspace, 'conformance.txt')
        with open(path, 'w', encoding='utf-8') as f:
            f.write(parameters['content'])
        with open(path, encoding='utf-8') as f:
            return DocumentArray([Document(text=f.read())])

    @requests
    def other(self, docs, endpoint, **kwargs):
        for doc in docs:
            doc.tags['endpoint'] = endpoint
