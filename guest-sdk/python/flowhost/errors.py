"""Errors as the host reports them: a name, a message and optional details."""

import traceback

__all__ = ["ExecutorError", "describe_exception"]


class ExecutorError(Exception):
    """An error with an explicit name, for when the exception type's name is
    not the one to report::

        raise ExecutorError("NoWorkspace", "this executor needs a workspace")

    Any other exception is reported under its type's name (``ValueError``,
    ``KeyError``...) with ``str(exc)`` as the message and the traceback as the
    details, as Jina does.
    """

    def __init__(self, name, message="", details=None):
        super().__init__(message)
        self.name = str(name)
        self.message = str(message)
        self.details = details

    def __str__(self):
        return self.message


INVALID_BATCH = "InvalidDocumentBatch"


def _skip_frames(tb, skip_files):
    """Drops the leading traceback entries that are the SDK's own dispatch code."""
    while tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_filename in skip_files:
        tb = tb.tb_next
    return tb


def describe_exception(exc, skip_files=()):
    """(name, message, details) for an exception, details being the traceback."""
    if isinstance(exc, ExecutorError):
        name = exc.name
    else:
        name = type(exc).__name__
    try:
        message = str(exc)
    except Exception:  # a broken __str__ must not hide the error
        message = "<unprintable %s>" % type(exc).__name__
    details = getattr(exc, "details", None) if isinstance(exc, ExecutorError) else None
    if details is None:
        try:
            tb = _skip_frames(exc.__traceback__, skip_files)
            details = "".join(traceback.format_exception(type(exc), exc, tb))
        except Exception:
            details = "%s: %s" % (name, message)
    return name, message, str(details)
