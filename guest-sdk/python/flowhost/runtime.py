"""What the component's exports do, independent of the WIT bindings: builds
the executor (``init``), lists its methods (``describe``) and runs one
(``call``), answering ``None`` for the WIT ``unchanged`` variant or a batch.
"""

import json
import os

from . import _log
from .batch import Codec
from .document import Document, DocumentArray
from .errors import ExecutorError, describe_exception
from .executor import Executor, Metas, call_shape, describe_methods

__all__ = ["Runtime", "Metas"]

_EMPTY = ("", "{}", "null")


def _parse_object(text, what):
    if text in _EMPTY:
        return {}
    try:
        value = json.loads(text)
    except ValueError as err:
        raise ValueError("%s is not valid JSON: %s" % (what, err)) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("%s must be a JSON object, got %s" % (what, type(value).__name__))
    return value


async def _probe():
    pass


_c = _probe()
_COROUTINE = type(_c)
_c.close()
del _c


def _run_coroutine(coro):
    """Runs an ``async def`` method to completion. There is no event loop in a
    component: awaiting ``asyncio.sleep(0)`` and other coroutines is fine,
    awaiting real I/O (a future) is not."""
    try:
        while True:
            awaited = coro.send(None)
            if awaited is not None:
                coro.close()
                raise RuntimeError(
                    "an async executor method awaited %r; flowhost runs async methods "
                    "without an event loop, so they cannot wait for I/O" % (awaited,)
                )
    except StopIteration as stop:
        return stop.value


class Runtime:
    """One executor class behind the WIT ``executor`` interface."""

    def __init__(self, cls, types, defaults=None):
        if not (isinstance(cls, type) and issubclass(cls, Executor)):
            raise TypeError("%r is not a subclass of flowhost.Executor" % (cls,))
        self.cls = cls
        self.codec = Codec(types)
        self.defaults = dict(defaults or {})
        self.methods, self.catch_all = describe_methods(cls)
        self._shapes = {name: call_shape(getattr(cls, name)) for name, _ in self.methods}
        init = cls.__init__
        self._init_accepts = None if init is object.__init__ else call_shape(init)
        self.instance = None

    # -- init ------------------------------------------------------------------

    def init(self, uses_with, metas):
        """Builds the executor: ``uses_with`` (JSON text) over the config.yml
        ``with:`` defaults become the constructor's keyword arguments."""
        if self.instance is not None:
            raise ExecutorError("AlreadyInitialized", "init was called twice")
        kwargs = dict(self.defaults)
        kwargs.update(_parse_object(uses_with, "uses_with"))
        accepts = self._init_accepts
        if accepts is not None:
            unknown = [k for k in kwargs if k not in accepts or k == "self"]
            if unknown:
                _log.executor_logger(metas.name).warning(
                    "%s.__init__ takes no argument %s; ignoring it (add **kwargs to accept any)",
                    self.cls.__name__,
                    ", ".join(sorted(unknown)),
                )
                for k in unknown:
                    del kwargs[k]
        obj = self.cls.__new__(self.cls)
        obj._setup(metas)
        obj.__init__(**kwargs)
        self.instance = obj

    # -- call -------------------------------------------------------------------

    def call(self, method, endpoint, batch, parameters):
        """Runs ``method``; returns None (``unchanged``) or the batch to send back."""
        obj = self.instance
        if obj is None:
            raise ExecutorError("NotInitialized", "call before init")
        try:
            shape = self._shapes[method]
        except KeyError:
            raise ExecutorError(
                "UnknownMethod", "executor %r has no method %r" % (obj.metas.name, method)
            ) from None
        params = {} if parameters in _EMPTY else _parse_object(parameters, "parameters")
        codec = self.codec
        docs = codec.lazy(batch)
        fn = getattr(obj, method)
        if shape is None:
            result = fn(docs=docs, parameters=params, endpoint=endpoint)
        else:
            kwargs = {}
            if "docs" in shape:
                kwargs["docs"] = docs
            if "parameters" in shape:
                kwargs["parameters"] = params
            if "endpoint" in shape:
                kwargs["endpoint"] = endpoint
            result = fn(**kwargs)
        if result is not None and type(result) is _COROUTINE:
            result = _run_coroutine(result)
        if result is None or isinstance(result, dict):
            return codec.encode(docs) if docs.was_loaded else None
        if isinstance(result, DocumentArray):
            if result is docs and not docs.was_loaded:
                return None
            return codec.encode(result)
        if isinstance(result, (list, tuple)) and all(isinstance(d, Document) for d in result):
            return codec.encode(list(result))
        raise TypeError(
            "%s.%s returned %s; return a DocumentArray, a dict or None"
            % (type(obj).__name__, method, type(result).__name__)
        )

    @staticmethod
    def error(exc):
        """(name, message, details) for an exception raised by init or call."""
        return describe_exception(exc, _SDK_FILES)


# Frames of these files lead a traceback before the user's code; details skip them.
_SDK_FILES = frozenset({__file__, os.path.join(os.path.dirname(__file__), "_component.py")})
