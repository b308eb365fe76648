import json
import unittest

import util  # noqa: F401  (sys.path)

import fake_wit as t
from flowhost import Document, DocumentArray, ExecutorError, NamedScore, NdArray
from flowhost.batch import INVALID_BATCH, Codec

codec = Codec(t)


def full_doc(id):
    d = Document(
        id=id,
        parent_id="p",
        granularity=1,
        adjacency=2,
        text="text of " + id,
        blob=b"\x01\x02\x03",
        tensor=NdArray.from_list([[1, 2], [3, 4]], "float32"),
        embedding=NdArray.from_list([0.5] * 8, "float16"),
        uri="file://x",
        mime_type="text/plain",
        tags={"id": id, "n": 3, "f": 2.0, "nested": {"l": [1, None, True, "s"]}},
        weight=0.5,
        modality="text",
        offset=3.0,
        location=[1.0, 2.0],
    )
    d.scores["cosine"] = NamedScore(0.9, op_name="cosine")
    d.evaluations["precision"] = NamedScore(1.0, description="d", ref_id="r")
    return d


def depth3():
    def leaf(id):
        return full_doc(id)

    def mid(id):
        d = full_doc(id)
        d._chunks = None
        d.chunks.extend([leaf(id + ".c0"), leaf(id + ".c1")])
        d.matches.extend([leaf(id + ".m0")])
        return d

    def top(id):
        d = full_doc(id)
        d.chunks.append(mid(id + ".c0"))
        d.matches.extend([mid(id + ".m0"), mid(id + ".m1")])
        return d

    r0 = full_doc("r0")
    r0.chunks.append(top("r0.c0"))
    r0.matches.append(top("r0.m0"))
    return DocumentArray([r0, full_doc("r1"), Document(id="r2")])


def node(id, chunks=(), matches=()):
    return t.Document(id, chunks=list(chunks), matches=list(matches))


def count(docs):
    n = 0
    stack = list(docs)
    while stack:
        d = stack.pop()
        n += 1
        stack.extend(d.chunks)
        stack.extend(d.matches)
    return n


class BatchTest(unittest.TestCase):
    def test_roundtrip_depth_3(self):
        original = depth3()
        batch = codec.encode(original)
        self.assertEqual(batch.roots, [0, 1, 2])
        self.assertEqual(len(batch.nodes), count(original))
        back = DocumentArray(codec.decode(batch))
        self.assertEqual(back, original)
        self.assertEqual(back[0].matches[0].matches[1].chunks[1].id, "r0.m0.m1.c1")
        self.assertEqual(back[0].chunks[0].chunks[0].matches[0].tags["id"], "r0.c0.c0.m0")
        # and once more through the wire, every lazily kept field included
        again = codec.encode(back)
        self.assertEqual(again, batch)

    def test_wire_values(self):
        d = full_doc("x")
        n = codec.encode([d]).nodes[0]
        self.assertEqual(n.tensor, t.Tensor(t.Dtype.FLOAT32, [2, 2], d.tensor.data))
        self.assertEqual(n.embedding.dtype, t.Dtype.FLOAT16)
        self.assertEqual(json.loads(n.tags)["nested"], {"l": [1, None, True, "s"]})
        self.assertIn('"n":3', n.tags)  # integers stay integers
        self.assertIn('"f":2.0', n.tags)  # floats stay floats
        self.assertEqual(n.scores, [t.NamedScore("cosine", 0.9, "cosine", None, None)])
        self.assertEqual(n.evaluations, [t.NamedScore("precision", 1.0, None, "d", "r")])
        self.assertEqual((n.weight, n.offset, n.location), (0.5, 3.0, [1.0, 2.0]))
        self.assertIsNone(codec.encode([Document(id="e")]).nodes[0].tags)

    def test_flat_and_empty(self):
        docs = DocumentArray([full_doc(str(i)) for i in range(5)])
        self.assertEqual(DocumentArray(codec.decode(codec.encode(docs))), docs)
        empty = codec.encode(DocumentArray())
        self.assertEqual((empty.nodes, empty.roots), ([], []))
        self.assertEqual(codec.decode(empty), [])

    def test_untouched_fields_go_back_as_they_came(self):
        tensor = t.Tensor(t.Dtype.INT8, [2], b"\x01\x02")
        scores = [t.NamedScore("s", 1.0, None, None, None)]
        wire = t.Document("a", tags='{"z": 1, "a": 2.50}', tensor=tensor, scores=scores)
        docs = codec.decode(t.DocumentBatch([wire], [0]))
        docs[0].text = "changed"
        out = codec.encode(docs).nodes[0]
        self.assertIs(out.tensor, tensor)
        self.assertIs(out.scores, scores)
        self.assertEqual(out.tags, '{"z": 1, "a": 2.50}')
        # read-only access keeps the values; a write re-encodes the tags
        docs[0].tags["b"] = 1
        self.assertEqual(json.loads(codec.encode(docs).nodes[0].tags), {"z": 1, "a": 2.5, "b": 1})

    def test_any_node_order(self):
        batch = t.DocumentBatch(
            [node("grandchild"), node("child", chunks=[0]), node("root", matches=[1])],
            [2],
        )
        docs = codec.decode(batch)
        self.assertEqual(len(docs), 1)
        self.assertEqual(docs[0].matches[0].chunks[0].id, "grandchild")
        out = codec.encode(docs)
        self.assertEqual([n.id for n in out.nodes], ["root", "child", "grandchild"])
        self.assertEqual((out.roots, out.nodes[0].matches, out.nodes[1].chunks), ([0], [1], [2]))

    def test_roots_in_any_order(self):
        docs = codec.decode(t.DocumentBatch([node("a"), node("b")], [1, 0]))
        self.assertEqual([d.id for d in docs], ["b", "a"])

    def expect_invalid(self, batch, needle):
        with self.assertRaises(ExecutorError) as ctx:
            codec.decode(batch)
        self.assertEqual(ctx.exception.name, INVALID_BATCH)
        self.assertIn(needle, str(ctx.exception))

    def test_rejects_malformed_batches(self):
        self.expect_invalid(t.DocumentBatch([], [0]), "root #0 is node 0, out of range")
        self.expect_invalid(t.DocumentBatch([node("a", chunks=[5])], [0]), "chunk #0 of node 0 is node 5")
        self.expect_invalid(t.DocumentBatch([node("a", matches=[0])], [0]), "reached twice")
        self.expect_invalid(t.DocumentBatch([node("a"), node("b")], [0, 0]), "reached twice")
        self.expect_invalid(
            t.DocumentBatch([node("a", chunks=[2]), node("b", matches=[2]), node("c")], [0, 1]), "reached twice"
        )
        self.expect_invalid(t.DocumentBatch([node("a"), node("orphan")], [0]), "not reachable")
        self.expect_invalid(t.DocumentBatch([node("a", chunks=[1]), node("b", chunks=[0])], [0]), "reached twice")

    def test_deep_chains_do_not_overflow(self):
        depth = 20000
        nodes = [node(str(i), chunks=[i + 1] if i + 1 < depth else []) for i in range(depth)]
        docs = codec.decode(t.DocumentBatch(nodes, [0]))
        out = codec.encode(docs)
        self.assertEqual(len(out.nodes), depth)
        self.assertEqual(out.nodes[-1].id, str(depth - 1))

    def test_shared_documents_are_copied_cycles_refused(self):
        hit = Document(id="hit", text="indexed")
        q1, q2 = Document(id="q1"), Document(id="q2")
        q1.matches.append(hit)
        q2.matches.append(hit)
        out = codec.encode([q1, q2])
        self.assertEqual([n.id for n in out.nodes], ["q1", "q2", "hit", "hit"])
        loop = Document(id="loop")
        loop.chunks.append(loop)
        with self.assertRaises(ValueError):
            codec.encode([loop])

    def test_lazy_array(self):
        batch = t.DocumentBatch([node("a"), node("b")], [0, 1])
        da = codec.lazy(batch)
        self.assertEqual(len(da), 2)
        self.assertFalse(da.was_loaded)
        self.assertEqual(da[1].id, "b")
        self.assertTrue(da.was_loaded)
        bad = codec.lazy(t.DocumentBatch([], [3]))
        self.assertEqual(len(bad), 1)
        with self.assertRaises(ExecutorError):
            list(bad)


class DocumentTest(unittest.TestCase):
    def test_fresh_ids(self):
        a, b = Document(text="x"), Document()
        self.assertEqual(len(a.id), 32)
        int(a.id, 16)
        self.assertNotEqual(a.id, b.id)
        self.assertEqual(Document(id="given").id, "given")

    def test_docarray_bookkeeping(self):
        p = Document(id="p")
        p.chunks.append(Document(id="c", chunks=[Document(id="cc")]))
        p.matches.append(Document(id="m"))
        self.assertEqual((p.chunks[0].parent_id, p.chunks[0].granularity), ("p", 1))
        self.assertEqual(p.chunks[0].chunks[0].granularity, 1)
        self.assertEqual(p.matches[0].adjacency, 1)

    def test_fields(self):
        d = Document(text="hello", tags={"a": 1}, lang="en")
        self.assertEqual(d.tags, {"a": 1, "lang": "en"})
        self.assertEqual(d.content, "hello")
        d.scores["cosine"].value = 0.5
        d.scores["l2"] = 2
        self.assertEqual(d.scores["cosine"], NamedScore(0.5))
        self.assertEqual(d.scores["l2"].value, 2)
        self.assertEqual(Document(d.to_dict()), d)
        copy = Document(d, copy=True)
        copy.tags["a"] = 2
        self.assertEqual(d.tags["a"], 1)
        self.assertEqual(Document({"id": "x", "text": "t", "foo": 1}).tags, {"foo": 1})
        self.assertIn("hello", repr(d))

    def test_document_array(self):
        da = DocumentArray([Document(id=str(i), text="t%d" % i) for i in range(4)])
        self.assertEqual(len(da), 4)
        self.assertEqual(da.texts, ["t0", "t1", "t2", "t3"])
        self.assertEqual(da["2"].text, "t2")
        self.assertEqual(da[1:3].ids, ["1", "2"])
        self.assertEqual(da[[0, 3]].ids, ["0", "3"])
        self.assertIn("1", da)
        da.append(Document(id="4"))
        da.extend([Document(id="5")])
        del da["0"]
        self.assertEqual(da.ids, ["1", "2", "3", "4", "5"])
        da.texts = list("abcde")
        self.assertEqual(da[0].text, "a")
        da[0].chunks.append(Document(id="c"))
        da[0].chunks[0].matches.append(Document(id="cm"))
        self.assertEqual(da["@c"].ids, ["c"])
        self.assertEqual(da.traverse_flat("r,cm").ids, ["1", "2", "3", "4", "5", "cm"])
        for d in da:
            d.embedding = [1, 2]
        self.assertEqual(da.embeddings.shape, (5, 2))
        self.assertEqual((da + [Document()])[-1].text, None)
        self.assertEqual(len(DocumentArray.empty(3)), 3)


if __name__ == "__main__":
    unittest.main()
