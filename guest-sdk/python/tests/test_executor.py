import logging
import unittest

import util  # noqa: F401  (sys.path)

import fake_wit as t
from flowhost import Document, DocumentArray, Executor, ExecutorError, requests
from flowhost import _log
from flowhost.executor import Metas, describe_methods
from flowhost.runtime import Runtime


def batch(*texts):
    return t.DocumentBatch([t.Document("d%d" % i, text=x) for i, x in enumerate(texts)], list(range(len(texts))))


class Indexer(Executor):
    def __init__(self, greeting="hello", **kwargs):
        super().__init__(**kwargs)
        self.greeting = greeting
        self.extra = kwargs
        self.seen = 0

    @requests(on="/index")
    def index(self, docs, parameters, **kwargs):
        for d in docs:
            d.tags["greeting"] = self.greeting
            d.tags.update(parameters)

    @requests(on=["/count", "/size"])
    def count(self, docs, **kwargs):
        self.seen += len(docs)

    @requests(on="/replace")
    def replace(self, docs, endpoint, **kwargs):
        return DocumentArray([Document(id="new", text="%s at %s" % (len(docs), endpoint))])

    @requests(on="/same")
    def same(self, docs, **kwargs):
        return docs

    @requests(on="/dict")
    def as_dict(self, docs, **kwargs):
        return {"answer": 42}

    @requests(on="/list")
    def as_list(self, **kwargs):
        return [Document(id="l")]

    @requests(on="/bad")
    def bad(self, **kwargs):
        return 3

    @requests(on="/fail")
    def fail(self, docs, **kwargs):
        raise KeyError("missing thing")

    @requests(on=[])
    def hidden(self, **kwargs):
        pass

    @requests(on="/async")
    async def asynchronous(self, docs, **kwargs):
        await _nothing()
        docs[0].text = "async"

    @requests
    def default(self, docs, **kwargs):
        docs.append(Document(text="%s from %s" % (self.greeting, self.metas.name)))

    def helper(self):
        """Not decorated: not exported."""


async def _nothing():
    pass


class Strict(Executor):
    def __init__(self, only=1):
        super().__init__()
        self.only = only

    @requests
    def run(self, docs):  # no **kwargs: gets only what it names
        docs[0].text = "only=%s" % self.only


class Boom(Executor):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        raise RuntimeError("cannot start")


def runtime(cls, uses_with="{}", defaults=None, **metas):
    rt = Runtime(cls, t, defaults)
    rt.init(uses_with, Metas(**dict({"name": "exec"}, **metas)))
    return rt


class DecoratorTest(unittest.TestCase):
    def test_describe(self):
        methods, catch_all = describe_methods(Indexer)
        self.assertEqual(
            methods,
            [
                ("index", ["/index"]),
                ("count", ["/count", "/size"]),
                ("replace", ["/replace"]),
                ("same", ["/same"]),
                ("as_dict", ["/dict"]),
                ("as_list", ["/list"]),
                ("bad", ["/bad"]),
                ("fail", ["/fail"]),
                ("hidden", []),
                ("asynchronous", ["/async"]),
                ("default", []),
            ],
        )
        self.assertEqual(catch_all, "default")

    def test_default_endpoint_and_inheritance(self):
        class A(Executor):
            @requests(on="__default__")
            def a(self, **kw):
                pass

            @requests(on="/x")
            def x(self, **kw):
                pass

        class B(A):
            def x(self, **kw):  # undecorated override keeps the binding
                pass

            @requests
            def b(self, **kw):
                pass

            @requests(on="/x")
            def y(self, **kw):
                pass

        self.assertEqual(describe_methods(A), ([("a", []), ("x", ["/x"])], "a"))
        self.assertEqual(describe_methods(B), ([("a", []), ("x", []), ("b", []), ("y", ["/x"])], "b"))

    def test_two_catch_alls_are_refused(self):
        class Two(Executor):
            @requests
            def a(self, **kw):
                pass

            @requests
            def b(self, **kw):
                pass

        with self.assertRaises(TypeError):
            describe_methods(Two)

    def test_native_construction(self):
        e = Indexer(greeting="hi", metas={"name": "n", "workspace": "/w"})
        self.assertEqual((e.metas.name, e.workspace, e.runtime_args.shards), ("n", "/w", 1))
        self.assertEqual(Indexer().metas.name, "Indexer")
        da = DocumentArray([Document(text="x")])
        e.default(docs=da)
        self.assertEqual(da[1].text, "hi from n")


class RuntimeTest(unittest.TestCase):
    def test_init_arguments(self):
        rt = runtime(Indexer, '{"greeting": "yo", "unknown": [1]}', name="idx", shard_id=2)
        e = rt.instance
        self.assertEqual((e.greeting, e.extra, e.metas.name, e.metas.shard_id), ("yo", {"unknown": [1]}, "idx", 2))
        self.assertIs(e.logger, logging.getLogger("idx"))
        rt = runtime(Indexer, "", defaults={"greeting": "from config"})
        self.assertEqual(rt.instance.greeting, "from config")
        with self.assertLogs("exec", "WARNING") as logs:
            rt = runtime(Strict, '{"only": 2, "ignored": 3}')
        self.assertIn("takes no argument ignored", logs.output[0])
        self.assertEqual(rt.instance.only, 2)
        with self.assertRaises(ValueError):
            runtime(Indexer, "[1]")
        with self.assertRaises(ExecutorError):
            rt.init("{}", Metas())

    def test_init_errors(self):
        rt = Runtime(Boom, t)
        try:
            rt.init("{}", Metas())
        except RuntimeError as exc:
            name, message, details = rt.error(exc)
        self.assertEqual((name, message), ("RuntimeError", "cannot start"))
        self.assertIn("in __init__", details)
        self.assertIsNone(rt.instance)

    def test_unchanged_when_docs_not_read(self):
        rt = runtime(Indexer)
        self.assertIsNone(rt.call("count", "/count", batch("a", "b"), "{}"))
        self.assertEqual(rt.instance.seen, 2)
        self.assertIsNone(rt.call("same", "/same", batch("a"), ""))
        self.assertIsNone(rt.call("hidden", "/h", batch("a"), ""))

    def test_docs_back_when_read_or_replaced(self):
        rt = runtime(Indexer)
        out = rt.call("index", "/index", batch("a"), '{"p": 1}')
        self.assertEqual(out.nodes[0].tags, '{"greeting":"hello","p":1}')
        out = rt.call("default", "/anything", batch("a"), "{}")
        self.assertEqual([n.text for n in out.nodes], ["a", "hello from exec"])
        out = rt.call("replace", "/replace", batch("a", "b"), "{}")
        self.assertEqual([(n.id, n.text) for n in out.nodes], [("new", "2 at /replace")])
        self.assertIsNone(rt.call("as_dict", "/dict", batch("a"), "{}"))
        self.assertEqual(rt.call("as_list", "/list", batch(), "{}").nodes[0].id, "l")
        self.assertEqual(rt.call("asynchronous", "/async", batch("a"), "{}").nodes[0].text, "async")
        strict = runtime(Strict)
        self.assertEqual(strict.call("run", "/x", batch("a"), '{"p": 1}').nodes[0].text, "only=1")

    def test_call_errors(self):
        rt = runtime(Indexer)
        try:
            rt.call("fail", "/fail", batch("a"), "{}")
        except KeyError as exc:
            name, message, details = rt.error(exc)
        self.assertEqual((name, message), ("KeyError", "'missing thing'"))
        self.assertTrue(details.startswith("Traceback"))
        self.assertIn("in fail", details)
        self.assertIn('raise KeyError("missing thing")', details)
        with self.assertRaises(TypeError):
            rt.call("bad", "/bad", batch(), "{}")
        with self.assertRaises(ExecutorError) as ctx:
            rt.call("nope", "/nope", batch(), "{}")
        self.assertEqual(ctx.exception.name, "UnknownMethod")
        with self.assertRaises(ValueError):
            rt.call("index", "/index", batch(), "[]")
        err = ExecutorError("NoWorkspace", "none granted", details="d")
        self.assertEqual(rt.error(err), ("NoWorkspace", "none granted", "d"))
        with self.assertRaises(ExecutorError) as ctx:
            Runtime(Indexer, t).call("index", "/index", batch(), "{}")
        self.assertEqual(ctx.exception.name, "NotInitialized")


class LoggingTest(unittest.TestCase):
    def test_records_reach_the_sink(self):
        got = []
        _log.set_sink(lambda level, msg: got.append((level, msg)))
        try:
            _log.install()
            rt = runtime(Indexer, name="logged")
            rt.instance.logger.info("hello %s", "there")
            rt.instance.logger.warning("careful")
            rt.instance.logger.debug("hidden at the default INFO level")
            logging.getLogger("some.lib").error("lib failed")
            logging.info("root info")
            try:
                1 / 0
            except ZeroDivisionError:
                rt.instance.logger.exception("boom")
        finally:
            _log.set_sink(None)
        self.assertEqual(got[:4], [(2, "hello there"), (3, "careful"), (4, "some.lib: lib failed"), (2, "root info")])
        self.assertEqual(got[4][0], 4)
        self.assertIn("ZeroDivisionError", got[4][1])


if __name__ == "__main__":
    unittest.main()
