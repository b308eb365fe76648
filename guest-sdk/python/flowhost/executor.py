"""The ``Executor`` base class and the ``@requests`` decorator, as in Jina."""

import inspect
import logging

from . import _log

__all__ = ["Executor", "requests", "dynamic_batching", "Metas", "describe_methods"]

# The endpoint Jina's bare ``@requests`` binds to.
DEFAULT_ENDPOINT = "__default__"

_ATTR = "__flowhost_requests__"


def requests(func=None, *, on=None, **_ignored):
    """Binds an executor method to endpoints, like Jina's ``@requests``.

    ``@requests`` alone makes the method the catch-all (every endpoint not bound
    elsewhere); ``@requests(on='/index')`` or ``@requests(on=['/a', '/b'])``
    binds it to those endpoints; ``@requests(on=[])`` exports it without a
    default endpoint (a flow's ``uses_requests`` can bind it). Jina's other
    arguments (``request_schema``, ...) are accepted and ignored.
    """

    def mark(fn):
        target = fn.__func__ if isinstance(fn, (staticmethod, classmethod)) else fn
        bindings = getattr(target, _ATTR, None)
        if bindings is None:
            bindings = {"endpoints": [], "catch_all": False}
        if on is None:
            bindings["catch_all"] = True
        else:
            endpoints = [on] if isinstance(on, str) else list(on)
            for e in endpoints:
                if not isinstance(e, str):
                    raise TypeError("@requests(on=...) takes endpoint strings, got %r" % (e,))
                if e == DEFAULT_ENDPOINT:
                    bindings["catch_all"] = True
                elif e not in bindings["endpoints"]:
                    bindings["endpoints"].append(e)
        setattr(target, _ATTR, bindings)
        return fn

    if func is not None:
        if not callable(func):
            raise TypeError("use @requests or @requests(on=...)")
        return mark(func)
    return mark


def dynamic_batching(*_args, **_kwargs):
    """Accepted for compatibility with Jina; flowhost does not batch requests."""
    if len(_args) == 1 and callable(_args[0]) and not _kwargs:
        return _args[0]
    return lambda fn: fn


class Metas:
    """``self.metas``: who this instance is (filled in by the host)."""

    __slots__ = ("name", "description", "workspace", "replica_id", "shard_id", "shards", "replicas", "py_modules")

    def __init__(self, name="executor", description=None, workspace=None, replica_id=0, shard_id=0, shards=1, replicas=1, py_modules=None, **_ignored):
        self.name = name
        self.description = description
        self.workspace = workspace
        self.replica_id = replica_id
        self.shard_id = shard_id
        self.shards = shards
        self.replicas = replicas
        self.py_modules = py_modules

    def to_dict(self):
        return {
            "name": self.name,
            "description": self.description,
            "workspace": self.workspace,
            "replica_id": self.replica_id,
            "shard_id": self.shard_id,
            "shards": self.shards,
            "replicas": self.replicas,
        }

    def __repr__(self):
        return "Metas(%s)" % ", ".join("%s=%r" % kv for kv in self.to_dict().items())


class Executor:
    """Base class of executors, as Jina's ``Executor``::

        class MyExec(Executor):
            def __init__(self, greeting="hello", **kwargs):
                super().__init__(**kwargs)
                self.greeting = greeting

            @requests(on="/index")
            def index(self, docs, parameters, **kwargs):
                ...

    ``uses_with`` arrives as the constructor's keyword arguments. ``self.metas``,
    ``self.runtime_args`` (the same object), ``self.workspace`` and
    ``self.logger`` are ready before ``__init__`` runs.
    """

    def __init__(self, metas=None, requests=None, runtime_args=None, workspace=None, dynamic_batching=None, **kwargs):
        # Under the host everything is already set up (see _setup); natively
        # (tests) build defaults, honouring Jina's `metas=` argument.
        if getattr(self, "_flowhost_metas", None) is None:
            if isinstance(metas, Metas):
                m = metas
            else:
                m = Metas(**dict({"name": type(self).__name__}, **(metas or {})))
            if workspace is not None:
                m.workspace = workspace
            self._setup(m)

    def _setup(self, metas):
        self._flowhost_metas = metas
        _log.set_executor_name(metas.name)

    # Made on first use (see _Logger): creating a logger took a quarter of a
    # replica's start, and many executors never log.
    logger = _log.LazyLogger()

    @property
    def metas(self):
        return self._flowhost_metas

    @property
    def runtime_args(self):
        return self._flowhost_metas

    @property
    def workspace(self):
        """The workspace directory the host granted, or None."""
        return self._flowhost_metas.workspace

    def close(self):
        """Called by Jina on shutdown; flowhost never calls it (instances just stop)."""


def _is_bound(fn):
    return getattr(fn, _ATTR, None) is not None


def describe_methods(cls):
    """[(name, endpoints)] and the catch-all method name for an Executor class.

    Methods come in definition order, base classes first. An override without
    ``@requests`` keeps the binding of the method it overrides (the override is
    what runs); a subclass binding an endpoint or the catch-all takes it over
    from its bases. Two catch-alls, or one endpoint bound twice, in the same
    class are errors."""
    methods = {}
    catch_all = None
    for klass in reversed(cls.__mro__):
        own_catch_all = None
        own_endpoints = {}
        for name, value in vars(klass).items():
            fn = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            if not callable(fn):
                continue
            bindings = getattr(fn, _ATTR, None)
            if bindings is None:
                continue
            for e in bindings["endpoints"]:
                if e in own_endpoints and own_endpoints[e] != name:
                    raise TypeError("%s: endpoint %s is bound to both %s and %s" % (klass.__name__, e, own_endpoints[e], name))
                own_endpoints[e] = name
            if bindings["catch_all"]:
                if own_catch_all is not None:
                    raise TypeError(
                        "%s: both %s and %s are catch-alls (@requests without on=); keep one"
                        % (klass.__name__, own_catch_all, name)
                    )
                own_catch_all = name
            elif catch_all == name:
                catch_all = None  # re-decorated without the catch-all
            methods[name] = []
        # This class's bindings replace its bases' for the same endpoints.
        for name, endpoints in methods.items():
            methods[name] = [e for e in endpoints if own_endpoints.get(e, name) == name]
        for e, name in own_endpoints.items():
            if e not in methods[name]:
                methods[name].append(e)
        if own_catch_all is not None:
            catch_all = own_catch_all
    return list(methods.items()), catch_all


def call_shape(fn):
    """Which keyword arguments a method takes: None for all (it has **kwargs),
    else the set of names among docs/parameters/endpoint/... it declares."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    names = set()
    for p in sig.parameters.values():
        if p.kind == p.VAR_KEYWORD:
            return None
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            names.add(p.name)
    return frozenset(names)


logging.getLogger(__name__).addHandler(logging.NullHandler())
