"""Logging to the host: ``self.logger``, the stdlib ``logging`` module and
``print`` all end up in the host's log, tagged with the executor's name.

Inside a component the records go through the WIT ``logging`` import; natively
(unit tests) they go to stderr.
"""

import logging
import sys

__all__ = ["HostHandler", "install", "executor_logger", "set_executor_name", "set_sink", "LazyLogger"]

# WIT level names, by Python level threshold.
TRACE, DEBUG, INFO, WARN, ERROR = range(5)

_sink = None  # fn(level: int 0..4, message: str), set by the component glue


def set_sink(fn):
    global _sink
    _sink = fn


def _wit_level(levelno):
    if levelno >= logging.ERROR:
        return ERROR
    if levelno >= logging.WARNING:
        return WARN
    if levelno >= logging.INFO:
        return INFO
    if levelno >= logging.DEBUG:
        return DEBUG
    return TRACE


class HostHandler(logging.Handler):
    """Sends records to the host log; records of loggers other than the
    executor's own are prefixed with their logger's name."""

    executor_name = None

    def emit(self, record):
        try:
            msg = record.getMessage()
            if record.exc_info:
                msg = msg + "\n" + self.formatter_for_exc().formatException(record.exc_info)
            if record.stack_info:
                msg = msg + "\n" + record.stack_info
            if record.name not in (self.executor_name, "root"):
                msg = "%s: %s" % (record.name, msg)
            sink = _sink
            if sink is not None:
                sink(_wit_level(record.levelno), msg)
            else:
                sys.stderr.write("%s %s\n" % (record.levelname, msg))
        except Exception:
            self.handleError(record)

    _fmt = None

    @classmethod
    def formatter_for_exc(cls):
        if cls._fmt is None:
            cls._fmt = logging.Formatter()
        return cls._fmt


_handler = None


def install(level=logging.INFO):
    """Makes the host handler the root logger's only handler (idempotent)."""
    global _handler
    root = logging.getLogger()
    if _handler is None:
        _handler = HostHandler()
    for h in list(root.handlers):
        if h is not _handler:
            root.removeHandler(h)
    if _handler not in root.handlers:
        root.addHandler(_handler)
    root.setLevel(level)
    return _handler


class ExecutorLogger(logging.Logger):
    """A ``logging.Logger`` with Jina's extra ``success`` level (logged as info)."""

    def success(self, msg, *args, **kwargs):
        self.info(msg, *args, **kwargs)


def set_executor_name(name):
    """Records whose logger has this name are not prefixed with it."""
    # On the handler, not its class: assigning a class attribute would bump
    # the class's version and undo the attribute caches the build warmed up.
    if _handler is not None:
        _handler.executor_name = name


class LazyLogger:
    """``Executor.logger``: the executor's logger, made on first access and
    then kept in the instance's ``__dict__`` (so later reads, and a user's own
    ``self.logger = ...``, bypass this)."""

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        metas = getattr(obj, "_flowhost_metas", None)
        logger = executor_logger(metas.name if metas is not None else type(obj).__name__)
        obj.__dict__["logger"] = logger
        return logger


def executor_logger(name):
    """The logger an executor gets as ``self.logger``."""
    manager = logging.Logger.manager
    existing = manager.loggerDict.get(name)
    if isinstance(existing, logging.Logger):
        return existing
    previous = manager.loggerClass
    manager.setLoggerClass(ExecutorLogger)
    try:
        return logging.getLogger(name)
    finally:
        manager.loggerClass = previous
