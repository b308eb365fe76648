"""``Document``, ``NamedScore`` and ``DocumentArray``, shaped like docarray v1.

Fields a method never reads cost nothing: tags stay JSON text, tensors and
scores stay in their wire form until first accessed, and go back unchanged if
never touched.
"""

import json
import os

from .ndarray import NdArray

__all__ = ["Document", "DocumentArray", "NamedScore"]


def new_id():
    """A fresh random 32-hex-digit id (docarray uses uuid hex ids)."""
    return os.urandom(16).hex()


class NamedScore:
    """A named score or evaluation (docarray's ``NamedScore``)."""

    __slots__ = ("value", "op_name", "description", "ref_id")

    def __init__(self, value=None, op_name=None, description=None, ref_id=None):
        self.value = value
        self.op_name = op_name
        self.description = description
        self.ref_id = ref_id

    @classmethod
    def coerce(cls, value):
        if isinstance(value, NamedScore):
            return value
        if isinstance(value, dict):
            return cls(**value)
        if isinstance(value, (int, float)):
            return cls(value=value)
        raise TypeError("a score must be a NamedScore, a dict or a number, not %s" % type(value).__name__)

    def to_dict(self):
        d = {"value": self.value}
        for k in ("op_name", "description", "ref_id"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        return d

    def __eq__(self, other):
        if not isinstance(other, NamedScore):
            return NotImplemented
        return (self.value, self.op_name, self.description, self.ref_id) == (
            other.value,
            other.op_name,
            other.description,
            other.ref_id,
        )

    __hash__ = None

    def __repr__(self):
        return "NamedScore(%s)" % ", ".join("%s=%r" % kv for kv in self.to_dict().items())


class Scores(dict):
    """``doc.scores`` / ``doc.evaluations``: name -> NamedScore. A missing name
    springs into existence (``doc.scores['cosine'].value = 0.9`` works as in
    docarray), and plain numbers or dicts are converted on assignment."""

    __slots__ = ()

    def __init__(self, items=None):
        super().__init__()
        if items:
            self.update(items)

    def __missing__(self, key):
        score = NamedScore()
        dict.__setitem__(self, key, score)
        return score

    def __setitem__(self, key, value):
        dict.__setitem__(self, key, NamedScore.coerce(value))

    def update(self, other=(), **kwargs):
        items = other.items() if hasattr(other, "items") else other
        for k, v in items:
            self[k] = v
        for k, v in kwargs.items():
            self[k] = v

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default if default is not None else NamedScore()
        return dict.__getitem__(self, key)


def to_ndarray(value, what):
    """Converts what a user assigns to ``tensor``/``embedding``."""
    if value is None or isinstance(value, NdArray):
        return value
    if isinstance(value, (list, tuple, int, float)):
        return NdArray.from_list(value, "float32")
    tolist = getattr(value, "tolist", None)
    if tolist is not None:  # numpy-like
        dtype = getattr(value, "dtype", "float32")
        return NdArray.from_list(tolist(), dtype)
    raise TypeError("%s must be an NdArray or a list of numbers, not %s" % (what, type(value).__name__))


# WIT dtype enum member -> numpy-style name; filled in by batch.Codec.
WIT_DTYPE_NAMES = {}


def tensor_from_wit(t):
    """An NdArray over a WIT ``tensor`` record's bytes (no copy)."""
    return NdArray._trusted(t.data, WIT_DTYPE_NAMES[t.dtype], tuple(t.shape))


def scores_from_wit(raw, into):
    for s in raw:
        dict.__setitem__(into, s.name, NamedScore(s.value, s.op_name, s.description, s.ref_id))

# Fields of Document settable through the constructor, in docarray's order.
FIELDS = (
    "id",
    "parent_id",
    "granularity",
    "adjacency",
    "text",
    "blob",
    "tensor",
    "embedding",
    "uri",
    "mime_type",
    "tags",
    "weight",
    "modality",
    "offset",
    "location",
    "scores",
    "evaluations",
    "chunks",
    "matches",
)


class Document:
    """One document with docarray v1's fields.

    ``Document(text='hello')`` gets a fresh random hex ``id``. ``chunks`` and
    ``matches`` are DocumentArrays; appending to them sets ``parent_id`` and
    ``granularity`` (chunks) or ``adjacency`` (matches) as docarray does.
    Unknown keyword arguments become tags, as in docarray.
    """

    __slots__ = (
        "id",
        "parent_id",
        "granularity",
        "adjacency",
        "text",
        "blob",
        "uri",
        "mime_type",
        "weight",
        "modality",
        "offset",
        "_location",
        "_tensor",
        "_embedding",
        "_tags",
        "_scores",
        "_evaluations",
        "_chunks",
        "_matches",
        # wire forms not yet decoded (see batch.py); None once decoded
        "_raw_tensor",
        "_raw_embedding",
        "_raw_tags",
        "_raw_scores",
        "_raw_evaluations",
    )

    def __init__(
        self,
        obj=None,
        id=None,
        parent_id=None,
        granularity=None,
        adjacency=None,
        text=None,
        blob=None,
        tensor=None,
        embedding=None,
        uri=None,
        mime_type=None,
        tags=None,
        weight=None,
        modality=None,
        offset=None,
        location=None,
        scores=None,
        evaluations=None,
        chunks=None,
        matches=None,
        content=None,
        copy=False,
        **kwargs
    ):
        self._raw_tensor = self._raw_embedding = self._raw_tags = None
        self._raw_scores = self._raw_evaluations = None
        self._chunks = self._matches = None
        self._scores = self._evaluations = None
        if isinstance(obj, Document):
            self._copy_from(obj, copy)
        elif isinstance(obj, dict):
            self._fill(**obj)
        elif obj is not None:
            raise TypeError("Document(obj) takes a Document or a dict, not %s" % type(obj).__name__)
        else:
            self.id = None
            self._fill_defaults()
        if obj is None or id is not None:
            self.id = str(id) if id is not None else (self.id or new_id())
        for name, value in (
            ("parent_id", parent_id),
            ("granularity", granularity),
            ("adjacency", adjacency),
            ("text", text),
            ("blob", blob),
            ("uri", uri),
            ("mime_type", mime_type),
            ("weight", weight),
            ("modality", modality),
            ("offset", offset),
        ):
            if value is not None:
                setattr(self, name, value)
        if tensor is not None:
            self.tensor = tensor
        if embedding is not None:
            self.embedding = embedding
        if location is not None:
            self.location = location
        if tags is not None:
            self.tags = tags
        if scores is not None:
            self.scores = scores
        if evaluations is not None:
            self.evaluations = evaluations
        if chunks is not None:
            self.chunks = chunks
        if matches is not None:
            self.matches = matches
        if content is not None:
            self.content = content
        if kwargs:
            self.tags.update(kwargs)

    def _fill_defaults(self):
        self.parent_id = self.granularity = self.adjacency = None
        self.text = self.blob = self.uri = self.mime_type = None
        self.weight = self.modality = self.offset = None
        self._tensor = self._embedding = None
        self._tags = None
        self._location = []

    def _fill(self, **fields):
        self.id = None
        self._fill_defaults()
        unknown = {}
        for k, v in fields.items():
            if k in FIELDS:
                if v is not None:
                    setattr(self, k, v)
            elif k == "content":
                self.content = v
            else:
                unknown[k] = v
        if unknown:
            self.tags.update(unknown)
        if self.id is None:
            self.id = new_id()

    def _copy_from(self, other, deep):
        """``Document(doc)`` (shallow: shares tags, tensors and children) or
        ``Document(doc, copy=True)`` (deep)."""
        for name in Document.__slots__:
            setattr(self, name, getattr(other, name))
        if deep:
            import copy as _copy

            if other._tags is not None:
                self._tags = _copy.deepcopy(other._tags)
            for name in ("_tensor", "_embedding"):
                v = getattr(other, name)
                if v is not None:
                    setattr(self, name, v.copy())
            self._location = list(other._location)
            for name in ("_scores", "_evaluations"):
                v = getattr(other, name)
                if v is not None:
                    setattr(self, name, Scores({k: NamedScore(s.value, s.op_name, s.description, s.ref_id) for k, s in v.items()}))
            for name in ("_raw_scores", "_raw_evaluations"):
                v = getattr(other, name)
                if v is not None:
                    setattr(self, name, list(v))
        for name, is_chunks in (("_chunks", True), ("_matches", False)):
            kids = getattr(other, name)
            if kids:
                kids = [Document(k, copy=True) for k in kids] if deep else list(kids)
                setattr(self, name, ChildArray(self, is_chunks, kids))
            else:
                setattr(self, name, None)

    # -- lazily decoded fields ------------------------------------------------

    @property
    def tags(self):
        """Free-form tags, a dict (JSON-compatible values)."""
        t = self._tags
        if t is None:
            raw = self._raw_tags
            if raw is not None:
                self._raw_tags = None
                t = json.loads(raw)
                if not isinstance(t, dict):
                    raise ValueError("document %s: tags must be a JSON object, got %s" % (self.id, raw[:100]))
            else:
                t = {}
            self._tags = t
        return t

    @tags.setter
    def tags(self, value):
        self._raw_tags = None
        if value is None:
            value = {}
        if not isinstance(value, dict):
            value = dict(value)
        self._tags = value

    @property
    def tensor(self):
        raw = self._raw_tensor
        if raw is not None:
            self._raw_tensor = None
            self._tensor = tensor_from_wit(raw)
        return self._tensor

    @tensor.setter
    def tensor(self, value):
        self._raw_tensor = None
        self._tensor = to_ndarray(value, "tensor")

    @property
    def embedding(self):
        raw = self._raw_embedding
        if raw is not None:
            self._raw_embedding = None
            self._embedding = tensor_from_wit(raw)
        return self._embedding

    @embedding.setter
    def embedding(self, value):
        self._raw_embedding = None
        self._embedding = to_ndarray(value, "embedding")

    @property
    def location(self):
        return self._location

    @location.setter
    def location(self, value):
        self._location = list(value) if value is not None else []

    @property
    def scores(self):
        s = self._scores
        if s is None:
            s = self._scores = Scores()
            raw = self._raw_scores
            if raw is not None:
                self._raw_scores = None
                scores_from_wit(raw, s)
        return s

    @scores.setter
    def scores(self, value):
        self._raw_scores = None
        self._scores = Scores(value or ())

    @property
    def evaluations(self):
        s = self._evaluations
        if s is None:
            s = self._evaluations = Scores()
            raw = self._raw_evaluations
            if raw is not None:
                self._raw_evaluations = None
                scores_from_wit(raw, s)
        return s

    @evaluations.setter
    def evaluations(self, value):
        self._raw_evaluations = None
        self._evaluations = Scores(value or ())

    @property
    def chunks(self):
        c = self._chunks
        if c is None:
            c = self._chunks = ChildArray(self, True)
        return c

    @chunks.setter
    def chunks(self, value):
        c = self._chunks = ChildArray(self, True)
        if value:
            c.extend(value)

    @property
    def matches(self):
        m = self._matches
        if m is None:
            m = self._matches = ChildArray(self, False)
        return m

    @matches.setter
    def matches(self, value):
        m = self._matches = ChildArray(self, False)
        if value:
            m.extend(value)

    # -- conveniences ---------------------------------------------------------

    @property
    def content(self):
        """The first of ``text``, ``blob``, ``tensor`` that is set (docarray's ``content``)."""
        if self.text is not None:
            return self.text
        if self.blob is not None:
            return self.blob
        return self.tensor

    @content.setter
    def content(self, value):
        if isinstance(value, str):
            self.text = value
        elif isinstance(value, (bytes, bytearray)):
            self.blob = bytes(value)
        else:
            self.tensor = value

    @property
    def content_type(self):
        if self.text is not None:
            return "text"
        if self.blob is not None:
            return "blob"
        if self.tensor is not None:
            return "tensor"
        return None

    def has_chunks(self):
        return bool(self._chunks)

    def has_matches(self):
        return bool(self._matches)

    def to_dict(self):
        """The document as a plain dict (nested values copied), docarray field names."""
        d = {"id": self.id}
        for k in ("parent_id", "granularity", "adjacency", "text", "blob", "uri", "mime_type", "weight", "modality", "offset"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        for k in ("tensor", "embedding"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v.copy()
        if self.location:
            d["location"] = list(self.location)
        tags = self.tags
        if tags:
            d["tags"] = json.loads(json.dumps(tags))
        for k in ("scores", "evaluations"):
            s = getattr(self, k)
            if s:
                d[k] = {n: v.to_dict() for n, v in s.items()}
        if self._chunks:
            d["chunks"] = [c.to_dict() for c in self._chunks]
        if self._matches:
            d["matches"] = [m.to_dict() for m in self._matches]
        return d

    def __eq__(self, other):
        if not isinstance(other, Document):
            return NotImplemented
        if self is other:
            return True
        for k in ("id", "parent_id", "granularity", "adjacency", "text", "blob", "uri", "mime_type", "weight", "modality", "offset"):
            if getattr(self, k) != getattr(other, k):
                return False
        return (
            self.tensor == other.tensor
            and self.embedding == other.embedding
            and list(self.location) == list(other.location)
            and self.tags == other.tags
            and dict(self.scores) == dict(other.scores)
            and dict(self.evaluations) == dict(other.evaluations)
            and list(self._chunks or ()) == list(other._chunks or ())
            and list(self._matches or ()) == list(other._matches or ())
        )

    __hash__ = None

    def __repr__(self):
        parts = ["id=%r" % self.id]
        for k in ("parent_id", "granularity", "adjacency", "text", "uri", "mime_type", "weight", "modality", "offset"):
            v = getattr(self, k)
            if v is not None:
                parts.append("%s=%r" % (k, v))
        if self.blob is not None:
            parts.append("blob=<%d bytes>" % len(self.blob))
        for k in ("tensor", "embedding"):
            v = getattr(self, k)
            if v is not None:
                parts.append("%s=<%s %r>" % (k, v.dtype, v.shape))
        if self._raw_tags is not None or self._tags:
            parts.append("tags=%r" % (self.tags,))
        if self._chunks:
            parts.append("chunks=<%d>" % len(self._chunks))
        if self._matches:
            parts.append("matches=<%d>" % len(self._matches))
        return "Document(%s)" % ", ".join(parts)


def _as_document(value):
    if isinstance(value, Document):
        return value
    if isinstance(value, dict):
        return Document(value)
    raise TypeError("a DocumentArray holds Documents, not %s" % type(value).__name__)


class DocumentArray:
    """A list of Documents (docarray v1's ``DocumentArray``).

    List-like: ``len``, iteration, ``da[i]``, ``da[i:j]``, ``da['some-id']``,
    ``da[[0, 2]]``, ``append``, ``extend``, ``insert``, ``pop``, ``remove``,
    ``clear``, ``+``, plus ``.texts``, ``.ids``, ``.embeddings`` and
    ``traverse_flat('r,c,m')`` / ``da['@c']``.
    """

    __slots__ = ("_docs", "_lazy")

    def __init__(self, docs=None):
        self._lazy = None
        if docs is None:
            self._docs = []
        elif isinstance(docs, DocumentArray):
            self._docs = list(docs._list())
        elif isinstance(docs, (Document, dict)):
            self._docs = [_as_document(docs)]
        elif isinstance(docs, int):
            self._docs = [Document() for _ in range(docs)]
        else:
            self._docs = [_as_document(d) for d in docs]

    @classmethod
    def empty(cls, size=0):
        return cls([Document() for _ in range(size)])

    @classmethod
    def _lazy_from(cls, loader, count, source=None):
        """An array whose documents are decoded on first access by
        ``loader(source)``; ``count`` answers ``len`` until then. Used for the
        documents of a call (a loader and its argument rather than a closure:
        no function object to make per call)."""
        da = cls.__new__(cls)
        da._docs = None
        da._lazy = (loader, count, source)
        return da

    @property
    def was_loaded(self):
        """False while a lazily received array has not been decoded."""
        return self._lazy is None

    def _list(self):
        docs = self._docs
        if docs is None:
            loader, _, source = self._lazy
            docs = self._docs = loader(source)
            self._lazy = None
        return docs

    # -- hooks for ChildArray ----------------------------------------------------

    def _adopt(self, doc):
        return doc

    # -- list protocol ----------------------------------------------------------

    def __len__(self):
        if self._docs is None:
            return self._lazy[1]
        return len(self._docs)

    def __bool__(self):
        return len(self) > 0

    def __iter__(self):
        return iter(self._list())

    def __reversed__(self):
        return reversed(self._list())

    def __contains__(self, item):
        docs = self._list()
        if isinstance(item, str):
            return any(d.id == item for d in docs)
        return item in docs

    def __getitem__(self, key):
        docs = self._list()
        if isinstance(key, int):
            return docs[key]
        if isinstance(key, slice):
            return DocumentArray(docs[key])
        if isinstance(key, str):
            if key.startswith("@"):
                return self.traverse_flat(key[1:])
            for d in docs:
                if d.id == key:
                    return d
            raise KeyError(key)
        if isinstance(key, (list, tuple)):
            if key and all(isinstance(k, bool) for k in key):
                return DocumentArray([d for d, keep in zip(docs, key) if keep])
            return DocumentArray([self[k] for k in key])
        raise TypeError("DocumentArray indices must be int, slice, str or a list, not %s" % type(key).__name__)

    def __setitem__(self, key, value):
        docs = self._list()
        if isinstance(key, int):
            docs[key] = self._adopt(_as_document(value))
        elif isinstance(key, slice):
            docs[key] = [self._adopt(_as_document(v)) for v in value]
        elif isinstance(key, str):
            for i, d in enumerate(docs):
                if d.id == key:
                    docs[i] = self._adopt(_as_document(value))
                    return
            raise KeyError(key)
        else:
            raise TypeError("DocumentArray indices must be int, slice or str")

    def __delitem__(self, key):
        docs = self._list()
        if isinstance(key, (int, slice)):
            del docs[key]
        elif isinstance(key, str):
            for i, d in enumerate(docs):
                if d.id == key:
                    del docs[i]
                    return
            raise KeyError(key)
        else:
            raise TypeError("DocumentArray indices must be int, slice or str")

    def append(self, doc):
        self._list().append(self._adopt(_as_document(doc)))

    def extend(self, docs):
        out = self._list()
        adopt = self._adopt
        for d in docs:
            out.append(adopt(_as_document(d)))

    def insert(self, index, doc):
        self._list().insert(index, self._adopt(_as_document(doc)))

    def pop(self, index=-1):
        return self._list().pop(index)

    def remove(self, doc):
        self._list().remove(doc)

    def clear(self):
        self._list().clear()

    def index(self, doc):
        return self._list().index(doc)

    def reverse(self):
        self._list().reverse()

    def sort(self, key=None, reverse=False):
        self._list().sort(key=key, reverse=reverse)

    def __add__(self, other):
        return DocumentArray(list(self._list()) + [_as_document(d) for d in other])

    def __iadd__(self, other):
        self.extend(other)
        return self

    def __eq__(self, other):
        if isinstance(other, DocumentArray):
            return self._list() == other._list()
        if isinstance(other, list):
            return self._list() == other
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        if self._docs is None:
            return "<DocumentArray (length=%d, not decoded)>" % self._lazy[1]
        return "<DocumentArray (length=%d)>" % len(self._docs)

    # -- attribute views -------------------------------------------------------

    @property
    def texts(self):
        return [d.text for d in self._list()]

    @texts.setter
    def texts(self, values):
        docs = self._list()
        values = list(values)
        if len(values) != len(docs):
            raise ValueError("%d texts for %d documents" % (len(values), len(docs)))
        for d, t in zip(docs, values):
            d.text = t

    @property
    def ids(self):
        return [d.id for d in self._list()]

    @property
    def embeddings(self):
        """The embeddings as one 2-d NdArray (all must have the same shape and dtype),
        or None if no document has one."""
        embs = [d.embedding for d in self._list()]
        if not embs or all(e is None for e in embs):
            return None
        first = embs[0]
        if any(e is None or e.shape != first.shape or e.dtype != first.dtype for e in embs):
            raise ValueError("embeddings differ in shape or dtype, or some are missing")
        return NdArray(b"".join(e.data for e in embs), first.dtype, (len(embs),) + first.shape)

    @embeddings.setter
    def embeddings(self, value):
        docs = self._list()
        rows = list(value)
        if len(rows) != len(docs):
            raise ValueError("%d embeddings for %d documents" % (len(rows), len(docs)))
        for d, e in zip(docs, rows):
            d.embedding = e

    def traverse_flat(self, paths):
        """Documents reached by docarray traversal paths: ``'r'`` the roots,
        ``'c'`` their chunks, ``'m'`` their matches, ``'cm'`` matches of chunks,
        comma-separated for several (``'r,c'``)."""
        out = []
        for path in paths.split(","):
            path = path.strip()
            level = self._list()
            if path in ("", "r"):
                out.extend(level)
                continue
            for step in path:
                nxt = []
                for d in level:
                    if step == "c":
                        nxt.extend(d._chunks or ())
                    elif step == "m":
                        nxt.extend(d._matches or ())
                    elif step == "r":
                        nxt.append(d)
                    else:
                        raise ValueError("bad traversal path %r" % path)
                level = nxt
            out.extend(level)
        return DocumentArray(out)


class ChildArray(DocumentArray):
    """``doc.chunks`` / ``doc.matches``: appending sets the docarray bookkeeping."""

    __slots__ = ("_parent", "_is_chunks")

    def __init__(self, parent, is_chunks, docs=None):
        self._lazy = None
        self._docs = docs if docs is not None else []
        self._parent = parent
        self._is_chunks = is_chunks

    def _adopt(self, doc):
        p = self._parent
        if self._is_chunks:
            doc.parent_id = p.id
            doc.granularity = (p.granularity or 0) + 1
        else:
            doc.adjacency = (p.adjacency or 0) + 1
        return doc
