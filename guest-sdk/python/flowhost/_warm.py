"""Build-time warm-up: runs the SDK's init and call paths once, on a throwaway
executor, before componentize-py snapshots the interpreter.

A replica starts from that snapshot, and whatever the snapshot does not hold
yet is done again by every replica, at its first init and call: CPython's
first runs of a function rewrite its bytecode in place (specialisation) and fill
caches, and each first write to a page of the snapshot's memory copies that page
for the instance (a few microseconds each, and resident memory for as long as
the replica lives). Running the paths here moves that work into the snapshot.

Nothing of the warm-up is left behind but those caches: ``forget()`` drops its
logger and log routing; the caller collects the garbage.
"""

import linecache
import logging

from . import _log
from .document import Document, DocumentArray
from .executor import Executor, Metas, requests

__all__ = ["WarmUp", "NAME", "metas", "calls", "forget"]

NAME = "flowhost-warm-up"


class WarmUp(Executor):
    """A throwaway executor whose methods take the SDK's common paths."""

    def __init__(self, label="warm", **kwargs):
        super().__init__(**kwargs)
        self.label = label

    @requests(on="/unchanged")
    def unchanged(self, docs, parameters, **kwargs):
        parameters.get("x")

    @requests(on="/edit")
    def edit(self, docs, parameters, **kwargs):
        for doc in docs:
            doc.tags["label"] = self.label
            doc.tags.update(parameters)
            if doc.text is not None:
                doc.text += "!"
            if doc.embedding is not None:
                doc.embedding = doc.embedding * 2
            doc.tensor
            doc.scores["warm"].value = 1.0
            doc.evaluations
            doc.chunks
            doc.matches
        docs.append(Document(text="added %d" % len(docs)))

    @requests(on="/replace")
    def replace(self, docs, endpoint, **kwargs):
        return DocumentArray([Document(text=endpoint, tags={"n": len(docs)})])

    @requests(on="/fail")
    def fail(self, docs, **kwargs):
        raise ValueError("warm-up failure: %d documents" % len(docs))

    @requests(on="/log")
    def log(self, **kwargs):
        self.logger.info("warm-up %s", "info")
        self.logger.warning("warm-up warn")

    @requests
    def other(self, docs, endpoint, **kwargs):
        for doc in docs:
            doc.tags["endpoint"] = endpoint


def metas(make=Metas):
    """The warm-up instance's metas, built with ``make`` (the SDK's Metas or
    the WIT record) from the fields in WIT order."""
    return make(NAME, None, None, 0, 0, 1, 1)


def _batch(types, n):
    t = types
    nodes = []
    for i in range(n):
        embedding = t.Tensor(t.Dtype.FLOAT32, [4], bytes(16))
        score = t.NamedScore("score", 0.5, "op", None, None)
        nodes.append(
            t.Document(
                "warm-%d" % i, None, None, None, "text %d" % i, None, None, embedding, None, None,
                '{"k": %d, "nested": {"list": [1, 2.5, null, true, "s"]}}' % i,
                None, None, None, [], [score], [], [], [],
            )
        )
    return t.DocumentBatch(nodes, list(range(n)))


def calls(types):
    """(method, endpoint, batch, parameters) for each path to warm: the
    unchanged answer, documents edited or replaced, an error, logging and the
    catch-all, with one and with several documents."""
    out = []
    for n in (1, 3):
        out += [
            ("unchanged", "/unchanged", _batch(types, n), "{}"),
            ("edit", "/edit", _batch(types, n), '{"p": 1}'),
            ("replace", "/replace", _batch(types, n), ""),
            ("fail", "/fail", _batch(types, n), "{}"),
            ("log", "/log", _batch(types, n), "{}"),
            ("other", "/x", _batch(types, n), "{}"),
        ]
    return out


def _code_names(code, into):
    into.update(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            _code_names(const, into)


def lookups(cls):
    """Looks up on ``cls`` every attribute name its methods use, and the ones
    the SDK uses on every executor, without running any of its code.

    CPython caches what it finds on a class (or that it finds nothing) in a
    table keyed by the class: each lookup missing there costs a replica a
    search of the class's bases and writes to pages of the snapshot. The
    warm-up above only fills that table for its own class."""
    if type(cls) is not type:  # a metaclass might run code on lookups
        return
    names = {"__new__", "__init__", "_setup", "_flowhost_metas", "logger", "metas", "workspace", "runtime_args"}
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name, value in vars(klass).items():
            names.add(name)
            for part in (value, getattr(value, "__func__", None), getattr(value, "fget", None), getattr(value, "fset", None)):
                code = getattr(part, "__code__", None)
                if code is not None:
                    _code_names(code, names)
    for name in names:
        try:
            getattr(cls, name, None)
        except Exception:
            pass


def forget():
    """Drops what the warm-up left outside the interpreter's caches."""
    logging.Logger.manager.loggerDict.pop(NAME, None)
    _log.set_executor_name(None)
    linecache.clearcache()


# -- the allocator -------------------------------------------------------------------

# What fills the allocator's free chunks (see settle_heap), kept for good.
_BALLAST = []

# Bounds on the filling: a project whose import freed far more than usual
# keeps some free chunks rather than a build that takes long or an image that
# grows. Batches of 64 objects, at most 250 batches per size.
_BATCH = 64
_MAX_BATCHES = 250
_MAX_BYTES = 8 << 20


def _fill(make, arg, size):
    """Allocates objects ``make(arg)`` in batches until a batch comes out in
    one piece, each object right after the previous one (the allocator is then
    carving a free area rather than handing out scattered chunks of its free
    lists); keeps the batches before that one. Returns about how many bytes it
    kept. Nothing of the size is allocated meanwhile but the objects: the
    checks run between batches."""
    batches = 0
    while batches < _MAX_BATCHES:
        batch = [None] * _BATCH
        for j in range(_BATCH):
            batch[j] = make(arg)
        first = id(batch[0])
        stride = id(batch[1]) - first
        if 0 < stride <= 2 * size + 64 and all(id(batch[j]) - first == j * stride for j in range(2, _BATCH)):
            break  # freed here: back to the area it was carved from
        _BALLAST.append(batch)
        batches += 1
    return batches * _BATCH * size


def settle_heap():
    """Leaves the allocator without scattered free chunks, so that what a
    replica allocates comes from one contiguous free area.

    componentize-py's CPython allocates every object with the C library's
    malloc (dlmalloc), and the imports leave thousands of small free chunks
    all over the heap; malloc hands those out (and unlinks them, writing to
    their neighbours on the free list), so nearly every allocation of a
    replica's first calls wrote to a different page of the snapshot, each a
    page copied for that replica. Here, once the garbage is collected, objects
    of each size are allocated until the allocator runs out of such chunks and
    kept forever: they fill holes in memory the snapshot holds anyway (the
    component even gets smaller, the holes' stale bytes becoming zeros)."""
    budget = _MAX_BYTES
    budget -= _fill(lambda arg: object(), None, 16)  # the smallest chunks
    budget -= _fill(lambda arg: arg + 1, 1 << 20, 32)  # a new int each time
    for n in range(2, 4096, 4):  # then every size up to 4 KiB
        if budget <= 0:
            break
        budget -= _fill(bytes, n, n + 32)
