"""Conversion between the flat WIT ``document-batch`` and a tree of
:class:`~flowhost.Document` (chunks and matches to any depth), both ways.

Incoming batches are validated (an index out of range, a node reached twice, or
a node no root reaches is an ``InvalidDocumentBatch`` error); both directions
are iterative, so deep trees cannot overflow the stack. Fields a method never
touched go back in the very wire objects they came in.

The WIT types come from a module passed to :class:`Codec` (componentize-py's
generated ``wit_world.imports.types`` inside a component; a stand-in in the unit
tests), so this module imports natively.
"""

import json
from collections import deque
from itertools import chain

from . import document as _document
from .document import ChildArray, Document, DocumentArray
from .errors import INVALID_BATCH, ExecutorError
from .ndarray import DTYPES

__all__ = ["Codec", "INVALID_BATCH"]

_new_doc = Document.__new__


def _invalid(message):
    return ExecutorError(INVALID_BATCH, message)


def _json_default(obj):
    tolist = getattr(obj, "tolist", None)
    if tolist is not None:
        return tolist()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError("tags value of type %s is not JSON serializable" % type(obj).__name__)


# One encoder for all tags: json.dumps with options would build one per call.
dumps_tags = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
).encode


class Codec:
    """Decodes and encodes batches against one WIT types module."""

    def __init__(self, types):
        self.types = types
        self._wit_dtype = {}
        for name in DTYPES:
            member = getattr(types.Dtype, "BOOLEAN" if name == "bool" else name.upper())
            self._wit_dtype[name] = member
            _document.WIT_DTYPE_NAMES[member] = name
        self._Document = types.Document
        self._Tensor = types.Tensor
        self._NamedScore = types.NamedScore
        self._Batch = types.DocumentBatch
        self._decode = self.decode  # made once: lazy() passes it with each batch

    # -- WIT -> tree -------------------------------------------------------------

    @staticmethod
    def _doc(n):
        d = _new_doc(Document)
        d.id = n.id
        d.parent_id = n.parent_id
        d.granularity = n.granularity
        d.adjacency = n.adjacency
        d.text = n.text
        d.blob = n.blob
        d.uri = n.uri
        d.mime_type = n.mime_type
        d.weight = n.weight
        d.modality = n.modality
        d.offset = n.offset
        d._location = n.location
        d._raw_tensor = n.tensor
        d._tensor = None
        d._raw_embedding = n.embedding
        d._embedding = None
        d._raw_tags = n.tags
        d._tags = None
        s = n.scores
        d._raw_scores = s if s else None
        d._scores = None
        s = n.evaluations
        d._raw_evaluations = s if s else None
        d._evaluations = None
        d._chunks = None
        d._matches = None
        return d

    def decode(self, batch):
        """The top-level documents of ``batch`` as a list, their trees rebuilt."""
        nodes = batch.nodes
        roots = batch.roots
        n = len(nodes)
        doc = self._doc
        flat = True
        for x in nodes:
            if x.chunks or x.matches:
                flat = False
                break
        if flat and roots == list(range(n)):
            return [doc(x) for x in nodes]

        seen = [False] * n
        order = []

        def visit(idx, via):
            if not 0 <= idx < n:
                raise _invalid("%s is node %d, out of range (the batch has %d nodes)" % (via, idx, n))
            if seen[idx]:
                raise _invalid(
                    "node %d (id %r) is reached twice, the second time as %s; "
                    "a batch must be a forest without cycles or shared children" % (idx, nodes[idx].id, via)
                )
            seen[idx] = True
            order.append(idx)

        for pos, r in enumerate(roots):
            visit(r, "root #%d" % pos)
        k = 0
        while k < len(order):
            p = order[k]
            for pos, c in enumerate(nodes[p].chunks):
                visit(c, "chunk #%d of node %d" % (pos, p))
            for pos, m in enumerate(nodes[p].matches):
                visit(m, "match #%d of node %d" % (pos, p))
            k += 1
        if len(order) != n:
            orphan = seen.index(False)
            raise _invalid("node %d (id %r) is not reachable from any root" % (orphan, nodes[orphan].id))

        docs = [doc(x) for x in nodes]
        for p in order:
            x = nodes[p]
            d = docs[p]
            if x.chunks:
                d._chunks = ChildArray(d, True, [docs[c] for c in x.chunks])
            if x.matches:
                d._matches = ChildArray(d, False, [docs[m] for m in x.matches])
        return [docs[r] for r in roots]

    def lazy(self, batch):
        """A DocumentArray that decodes ``batch`` on first access (``len`` excepted)."""
        return DocumentArray._lazy_from(self._decode, len(batch.roots), batch)

    # -- tree -> WIT -------------------------------------------------------------

    def _tensor(self, a, doc, field):
        if a is None:
            return None
        try:
            return self._Tensor(self._wit_dtype[a.dtype], list(a.shape), a.data)
        except (AttributeError, KeyError):
            raise TypeError("document %s: %s must be an NdArray, not %s" % (doc.id, field, type(a).__name__))

    def _scores(self, scores):
        NS = self._NamedScore
        out = []
        for name, s in scores.items():
            v = s.value
            out.append(NS(name, 0.0 if v is None else float(v), s.op_name, s.description, s.ref_id))
        return out

    def _node(self, d):
        tensor = d._raw_tensor
        if tensor is None and d._tensor is not None:
            tensor = self._tensor(d._tensor, d, "tensor")
        embedding = d._raw_embedding
        if embedding is None and d._embedding is not None:
            embedding = self._tensor(d._embedding, d, "embedding")
        tags = d._tags
        tags = d._raw_tags if tags is None else (dumps_tags(tags) if tags else None)
        scores = d._scores
        if scores is None:
            scores = d._raw_scores or []
        else:
            scores = self._scores(scores)
        evaluations = d._evaluations
        if evaluations is None:
            evaluations = d._raw_evaluations or []
        else:
            evaluations = self._scores(evaluations)
        doc_id = d.id
        if type(doc_id) is not str:
            doc_id = str(doc_id)
        weight = d.weight
        if weight is not None and type(weight) is not float:
            weight = float(weight)
        offset = d.offset
        if offset is not None and type(offset) is not float:
            offset = float(offset)
        blob = d.blob
        if blob is not None and type(blob) is not bytes:
            blob = bytes(blob)
        location = d._location
        if location and type(location) is not list:
            location = list(location)
        return self._Document(
            doc_id,
            d.parent_id,
            d.granularity,
            d.adjacency,
            d.text,
            blob,
            tensor,
            embedding,
            d.uri,
            d.mime_type,
            tags,
            weight,
            d.modality,
            offset,
            location,
            scores,
            evaluations,
            [],
            [],
        )

    def encode(self, docs):
        """A WIT batch for the documents (a DocumentArray or a list of Documents):
        roots first, then their descendants breadth-first."""
        if isinstance(docs, DocumentArray):
            docs = docs._list()
        node = self._node
        nodes = []
        for d in docs:
            if d.__class__ is not Document and not isinstance(d, Document):
                raise TypeError("a method returned %s among its documents" % type(d).__name__)
            if d._chunks or d._matches:
                break
            nodes.append(node(d))
        else:
            # The common flat array: node i is root i.
            return self._Batch(nodes, list(range(len(nodes))))

        for d in docs:
            if not isinstance(d, Document):
                raise TypeError("a method returned %s among its documents" % type(d).__name__)
        _check_acyclic(docs)
        nodes = []
        roots = []
        queue = deque((d, -1, 0) for d in docs)
        while queue:
            d, parent, kind = queue.popleft()
            i = len(nodes)
            if kind == 0:
                roots.append(i)
            elif kind == 1:
                nodes[parent].chunks.append(i)
            else:
                nodes[parent].matches.append(i)
            nodes.append(node(d))
            if d._chunks:
                for c in d._chunks._list():
                    queue.append((c, i, 1))
            if d._matches:
                for m in d._matches._list():
                    queue.append((m, i, 2))
        return self._Batch(nodes, roots)


def _children(d):
    return chain(d._chunks._list() if d._chunks else (), d._matches._list() if d._matches else ())


def _check_acyclic(docs):
    """A document may appear in several places (the same match for two queries)
    but never inside its own chunks or matches."""
    state = {}
    for root in docs:
        if id(root) in state:
            continue
        state[id(root)] = 1
        stack = [(root, _children(root))]
        while stack:
            d, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[id(d)] = 2
                stack.pop()
                continue
            if not isinstance(nxt, Document):
                raise TypeError("document %s has a %s among its chunks or matches" % (d.id, type(nxt).__name__))
            s = state.get(id(nxt))
            if s == 1:
                raise ValueError("document %s is its own chunk or match (the tree has a cycle)" % nxt.id)
            if s is None:
                state[id(nxt)] = 1
                stack.append((nxt, _children(nxt)))
