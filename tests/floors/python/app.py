"""componentize-py with no SDK: the cheapest executor this toolchain can make."""

from wit_world import exports
from wit_world.exports import executor as _ex

_DESCRIPTION = _ex.Description([_ex.MethodInfo("echo", ["/index"])], None)
_Docs = _ex.Output_Docs


class Executor(exports.Executor):
    def init(self, uses_with, metas):
        return None

    def describe(self):
        return _DESCRIPTION

    def call(self, method, endpoint, docs, parameters):
        return _Docs(docs)
