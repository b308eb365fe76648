"""flowhost: write flowhost executors in Python, the way you write Jina executors.

    from flowhost import Executor, requests, Document, DocumentArray

    class MyExec(Executor):
        @requests(on='/index')
        def index(self, docs, parameters, **kwargs):
            for d in docs:
                d.tags['seen'] = True

Build with ``flowhost build`` (or ``guest-sdk/python/build.sh``). See README.md.
"""

from .document import Document, DocumentArray, NamedScore
from .errors import ExecutorError
from .executor import Executor, Metas, dynamic_batching, requests
from .ndarray import NdArray, array, zeros

__all__ = [
    "Document",
    "DocumentArray",
    "NamedScore",
    "NdArray",
    "Executor",
    "ExecutorError",
    "Metas",
    "requests",
    "dynamic_batching",
    "array",
    "zeros",
]

__version__ = "0.1.0"
