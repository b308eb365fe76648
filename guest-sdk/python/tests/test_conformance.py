"""The conformance executor (tests/conformance/python) run natively against
the stand-in WIT types: the same cases as tests/conformance/README.md."""

import contextlib
import importlib.util
import io
import json
import os
import tempfile
import unittest

import util

import fake_wit as t
from flowhost.executor import Metas
from flowhost.runtime import Runtime

PATH = os.path.join(util.SDK, "..", "..", "tests", "conformance", "python", "executor.py")


def load():
    spec = importlib.util.spec_from_file_location("conformance_executor", PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def f32(*values):
    import struct

    return t.Tensor(t.Dtype.FLOAT32, [len(values)], struct.pack("<%df" % len(values), *values))


def sample():
    nodes = [
        t.Document("a", text="x", chunks=[2], matches=[3], embedding=f32(1.0, 2.5), tags='{"n": 1}'),
        t.Document("b", embedding=t.Tensor(t.Dtype.FLOAT64, [1], b"\x00" * 8)),
        t.Document("c", text="chunk", chunks=[4], tensor=t.Tensor(t.Dtype.FLOAT16, [], b"\x00\x3c")),
        t.Document("m", embedding=f32(-3.0), scores=[t.NamedScore("s", 0.5, "op", None, "r")]),
        t.Document("cc", text="deep", tensor=t.Tensor(t.Dtype.UINT64, [2, 0], b"")),
    ]
    return t.DocumentBatch(nodes, [0, 1])


def tree(batch):
    """The batch as nested dicts, tags parsed (their text may change)."""

    def node(i):
        n = dict(vars(batch.nodes[i]))
        n["tags"] = json.loads(n["tags"]) if n["tags"] else None
        n["chunks"] = [node(c) for c in n["chunks"]]
        n["matches"] = [node(m) for m in n["matches"]]
        return n

    return [node(r) for r in batch.roots]


@unittest.skipUnless(os.path.exists(PATH), "no conformance executor")
class ConformanceTest(unittest.TestCase):
    def setUp(self):
        self.cls = load().Conformance
        self.rt = Runtime(self.cls, t)
        self.rt.init('{"label": "L", "extra": [1]}', Metas("conf", None, None, 0, 0, 1, 1))

    def test_describe(self):
        self.assertEqual(
            self.rt.methods,
            [
                ("unchanged", ["/unchanged"]),
                ("roundtrip", ["/roundtrip"]),
                ("mutate", ["/mutate"]),
                ("params", ["/params"]),
                ("fail", ["/fail"]),
                ("log", ["/log"]),
                ("workspace", ["/workspace"]),
                ("other", []),
            ],
        )
        self.assertEqual(self.rt.catch_all, "other")

    def test_unchanged_and_log(self):
        self.assertIsNone(self.rt.call("unchanged", "/unchanged", sample(), "{}"))
        with self.assertLogs("conf", "INFO") as logs, contextlib.redirect_stdout(io.StringIO()) as out:
            self.assertIsNone(self.rt.call("log", "/log", sample(), "{}"))
        self.assertEqual(out.getvalue(), "conformance stdout\n")
        self.assertEqual(logs.output, ["INFO:conf:conformance log info", "WARNING:conf:conformance log warn"])

    def test_roundtrip(self):
        out = self.rt.call("roundtrip", "/roundtrip", sample(), "{}")
        self.assertEqual(tree(out), tree(sample()))

    def test_mutate(self):
        out = self.rt.call("mutate", "/mutate", sample(), "{}")
        by_id = {n.id: n for n in out.nodes}
        self.assertEqual(by_id["a"].text, "x!")
        self.assertEqual(by_id["cc"].text, "deep!")
        self.assertEqual(by_id["a"].embedding, f32(2.0, 5.0))
        self.assertEqual(by_id["m"].embedding, f32(-6.0))
        self.assertEqual(by_id["b"].embedding, sample().nodes[1].embedding)
        self.assertTrue(all(json.loads(n.tags)["label"] == "L" for n in out.nodes if n.id in by_id and n.text != "added by L"))
        self.assertEqual(json.loads(by_id["a"].tags), {"n": 1, "label": "L"})
        added = out.nodes[out.roots[-1]]
        self.assertEqual((added.text, len(out.roots)), ("added by L", 3))
        self.assertTrue(added.id)

    def test_params_and_other(self):
        out = self.rt.call("params", "/params", sample(), '{"p": [1, 2.5]}')
        self.assertEqual(
            json.loads(out.nodes[0].tags),
            {
                "parameters": {"p": [1, 2.5]},
                "uses_with": {"label": "L", "extra": [1]},
                "metas": {"name": "conf", "description": None, "workspace": None, "replica_id": 0, "shard_id": 0, "shards": 1, "replicas": 1},
            },
        )
        out = self.rt.call("other", "/elsewhere", sample(), "{}")
        self.assertEqual([json.loads(out.nodes[r].tags)["endpoint"] for r in out.roots], ["/elsewhere"] * 2)

    def test_fail_and_workspace(self):
        try:
            self.rt.call("fail", "/fail", sample(), "{}")
        except ValueError as exc:
            name, message, details = self.rt.error(exc)
        self.assertEqual((name, message), ("ValueError", "conformance failure: 2 documents"))
        self.assertIn("Traceback", details)
        try:
            self.rt.call("workspace", "/workspace", sample(), '{"content": "x"}')
        except Exception as exc:
            self.assertEqual(self.rt.error(exc)[0], "NoWorkspace")
        with tempfile.TemporaryDirectory() as ws:
            rt = Runtime(self.cls, t)
            rt.init("{}", Metas("conf", None, ws, 0, 0, 1, 1))
            out = rt.call("workspace", "/workspace", sample(), '{"content": "héllo"}')
            self.assertEqual(out.nodes[0].text, "héllo")


if __name__ == "__main__":
    unittest.main()
