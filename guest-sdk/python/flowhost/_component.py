"""The componentize-py glue: the WIT ``executor`` export around a Runtime.

Only imported inside a component build (it needs the ``wit_world`` bindings
componentize-py generates). ``flowhost build`` generates the app module::

    from flowhost._component import export
    Executor = export(["executor"], "MyExec", {})

which runs at build time (componentize-py pre-initialises the image), so the
user's module is imported, its class found and its methods described before
any instance starts.
"""

import gc
import importlib
import os
import sys

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.exports import executor as _ex
from wit_world.imports import logging as _wit_logging
from wit_world.imports import types as _types

from . import _log, _warm
from .executor import Executor as _BaseExecutor
from .executor import Metas
from .runtime import Runtime

__all__ = ["export", "find_class"]

_LEVELS = (
    _wit_logging.Level.TRACE,
    _wit_logging.Level.DEBUG,
    _wit_logging.Level.INFO,
    _wit_logging.Level.WARN,
    _wit_logging.Level.ERROR,
)


def _sink(level, message, _log_fn=_wit_logging.log, _levels=_LEVELS):
    _log_fn(_levels[level], message)


def find_class(modules, class_name=None):
    """Imports ``modules`` (in order) and returns the executor class: the one
    named ``class_name`` (config.yml's ``jtype``), else the single
    ``flowhost.Executor`` subclass they define."""
    loaded = [importlib.import_module(m) for m in modules]
    if class_name:
        for mod in reversed(loaded):
            cls = getattr(mod, class_name, None)
            if cls is not None:
                if not (isinstance(cls, type) and issubclass(cls, _BaseExecutor)):
                    raise TypeError("%s.%s is not a subclass of flowhost.Executor" % (mod.__name__, class_name))
                return cls
        raise LookupError("no class %s in %s (config.yml's jtype)" % (class_name, ", ".join(modules)))
    found = []
    for mod in loaded:
        for value in vars(mod).values():
            if (
                isinstance(value, type)
                and issubclass(value, _BaseExecutor)
                and value is not _BaseExecutor
                and value.__module__ == mod.__name__
                and value not in found
            ):
                found.append(value)
    if len(found) != 1:
        names = ", ".join(c.__name__ for c in found) or "none"
        raise LookupError(
            "expected exactly one flowhost.Executor subclass in %s, found %s; "
            "name the class with `jtype:` in config.yml" % (", ".join(modules), names)
        )
    return found[0]


def export(modules, class_name=None, defaults=None):
    """The class componentize-py exports as the WIT ``executor`` interface.

    Runs at build time, and what it leaves is what every replica starts from
    (componentize-py snapshots the interpreter afterwards), so beyond finding
    the class it prepares that snapshot for fast starts; see _warm.py."""
    _log.set_sink(_sink)
    _log.install()
    cls = find_class(modules, class_name)
    runtime = Runtime(cls, _types, defaults)
    executor_class = _executor_class(runtime)
    # print() reaches the host line by line. Set here, at build time, as it is
    # kept in the snapshot: in init it cost about 0.1 ms of every replica's start.
    try:
        sys.stdout.reconfigure(line_buffering=True)
    except Exception:
        pass
    _warm_up()
    _warm.lookups(cls)
    # `random`, which componentize-py imports after this module (to reseed it
    # in each instance), was imported by the warm-up, so its objects are frozen
    # below too. componentize-py also empties os.environ and sys.argv after
    # this module (an instance gets the host's): done here, what they held is
    # freed before settle_heap() rather than left on the allocator's free lists.
    for key in list(os.environ):
        del os.environ[key]
    del sys.argv[:]
    gc.collect()
    _warm.settle_heap()
    # Everything made so far lives for good: keep it out of the collector's
    # way so garbage collections during calls only scan what calls allocate.
    gc.freeze()
    return executor_class


def _warm_up():
    """Runs init, describe and calls of a throwaway executor through the very
    code the host's calls take (see _warm.py: the snapshot then holds the
    specialised bytecode and filled caches every replica would otherwise make
    anew). Log records go nowhere meanwhile: the WIT import is not there yet."""
    _log.set_sink(lambda level, message: None)
    try:
        warm = _executor_class(Runtime(_warm.WarmUp, _types))()
        warm.init('{"label": "warm", "unknown": 1}', _warm.metas(_ex.Metas))
        warm.describe()
        for method, endpoint, batch, parameters in _warm.calls(_types):
            try:
                Ok(warm.call(method, endpoint, batch, parameters))
            except Err:
                pass
        # What componentize-py runs around each export call: the records it
        # makes for init's arguments and its result, and the reseeding of
        # `random` at an instance's first call.
        import random

        for _ in range(3):
            _warm.metas(_ex.Metas)
            Ok(None)
            random.seed()
    finally:
        _log.set_sink(_sink)
        _warm.forget()


def _executor_class(runtime):
    """The WIT ``executor`` export around ``runtime``."""
    description = _ex.Description(
        [_ex.MethodInfo(name, list(endpoints)) for name, endpoints in runtime.methods],
        runtime.catch_all,
    )
    unchanged = _ex.Output_Unchanged()
    Output_Docs = _ex.Output_Docs
    ExecutorError = _types.ExecutorError
    error = runtime.error
    run = runtime.call

    class Executor(exports.Executor):
        def init(self, uses_with, metas):
            try:
                runtime.init(
                    uses_with,
                    Metas(
                        metas.name,
                        metas.description,
                        metas.workspace,
                        metas.replica_id,
                        metas.shard_id,
                        metas.shards,
                        metas.replicas,
                    ),
                )
            except BaseException as exc:
                raise Err(ExecutorError(*error(exc)))

        def describe(self):
            return description

        def call(self, method, endpoint, docs, parameters):
            try:
                out = run(method, endpoint, docs, parameters)
            except BaseException as exc:
                raise Err(ExecutorError(*error(exc)))
            return unchanged if out is None else Output_Docs(out)

    return Executor
