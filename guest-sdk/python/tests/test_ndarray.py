import math
import struct
import unittest

import util  # noqa: F401  (sys.path)

from flowhost import Document, NdArray
from flowhost.ndarray import DTYPES, normalize_dtype


class NdArrayTest(unittest.TestCase):
    def test_every_dtype_roundtrips_through_lists(self):
        samples = {
            "float16": [0.5, -2.0, 65504.0],
            "float32": [1.5, -0.25, 3.0],
            "float64": [1e300, -1e-300, 0.1],
            "int8": [-128, 0, 127],
            "int16": [-32768, 1, 32767],
            "int32": [-(2**31), 2, 2**31 - 1],
            "int64": [-(2**63), 3, 2**63 - 1],
            "uint8": [0, 1, 255],
            "uint16": [0, 2, 65535],
            "uint32": [0, 3, 2**32 - 1],
            "uint64": [0, 4, 2**64 - 1],
            "bool": [True, False, True],
        }
        self.assertEqual(set(samples), set(DTYPES))
        for dtype, values in samples.items():
            a = NdArray.from_list(values, dtype)
            self.assertEqual(a.dtype, dtype)
            self.assertEqual(a.shape, (3,))
            self.assertEqual(a.nbytes, 3 * DTYPES[dtype][1])
            self.assertEqual(a.tolist(), values, dtype)
            back = NdArray(a.data, dtype, a.shape)
            self.assertEqual(back, a)

    def test_bytes_are_little_endian(self):
        a = NdArray.from_list([1.0, 2.0], "float32")
        self.assertEqual(a.data, struct.pack("<2f", 1.0, 2.0))
        h = NdArray.from_list([1.0], "float16")
        self.assertEqual(h.data, b"\x00\x3c")
        self.assertEqual(NdArray(b"\x00\x3c", "float16").tolist(), [1.0])

    def test_float16_overflow_becomes_infinite(self):
        a = NdArray.from_list([1e6, -1e6, float("nan")], "float16")
        v = a.tolist()
        self.assertEqual(v[:2], [math.inf, -math.inf])
        self.assertTrue(math.isnan(v[2]))
        big = NdArray.from_list([3e38, -3e38, 1.0], "float32") * 2
        self.assertEqual(big.tolist(), [math.inf, -math.inf, 2.0])

    def test_shapes(self):
        a = NdArray.from_list([[1, 2, 3], [4, 5, 6]], "int32")
        self.assertEqual((a.shape, a.ndim, a.size, len(a)), ((2, 3), 2, 6, 2))
        self.assertEqual(a.tolist(), [[1, 2, 3], [4, 5, 6]])
        scalar = NdArray.from_list(7.5, "float64")
        self.assertEqual((scalar.shape, scalar.tolist(), scalar.size), ((), 7.5, 1))
        with self.assertRaises(TypeError):
            len(scalar)
        empty = NdArray(b"", "float32", (2, 0))
        self.assertEqual((empty.tolist(), empty.size), ([[], []], 0))
        self.assertEqual(NdArray(b"", "int8", (0, 3)).tolist(), [])
        self.assertEqual(NdArray.from_list([], "float32").shape, (0,))
        with self.assertRaises(ValueError):
            NdArray.from_list([[1, 2], [3]], "int8")
        with self.assertRaises(ValueError):
            NdArray(b"\x00" * 5, "float32", (2,))
        with self.assertRaises(TypeError):
            NdArray(b"", "complex64")

    def test_indexing_and_iteration(self):
        a = NdArray.from_list([[1, 2], [3, 4], [5, 6]], "int64")
        self.assertEqual(a[1].tolist(), [3, 4])
        self.assertEqual(a[-1, 0], 5)
        self.assertEqual(a[1:].tolist(), [[3, 4], [5, 6]])
        self.assertEqual(a[::2].tolist(), [[1, 2], [5, 6]])
        self.assertEqual([row.tolist() for row in a], [[1, 2], [3, 4], [5, 6]])
        self.assertEqual(list(a[0]), [1, 2])
        with self.assertRaises(IndexError):
            a[3]
        a[0, 1] = 20
        a[2] = [50, 60]
        self.assertEqual(a.tolist(), [[1, 20], [3, 4], [50, 60]])

    def test_arithmetic(self):
        a = NdArray.from_list([1.5, -2.0], "float32")
        self.assertEqual((a * 2).tolist(), [3.0, -4.0])
        self.assertEqual((a * 2).dtype, "float32")
        self.assertEqual((2 * a).tolist(), [3.0, -4.0])
        self.assertEqual((a + a).tolist(), [3.0, -4.0])
        self.assertEqual((a - 1).tolist(), [0.5, -3.0])
        self.assertEqual((-a).tolist(), [-1.5, 2.0])
        i = NdArray.from_list([100, 7], "int8")
        self.assertEqual((i * 2).tolist(), [-56, 14])  # wraps like numpy
        self.assertEqual((i * 2).dtype, "int8")
        self.assertEqual((i * 0.5).dtype, "float64")
        self.assertEqual((i / 2).tolist(), [50.0, 3.5])
        self.assertAlmostEqual(a.dot(a), 6.25)
        self.assertAlmostEqual(NdArray.from_list([3, 4]).norm(), 5.0)
        self.assertEqual(a.sum(), -0.5)
        with self.assertRaises(ValueError):
            a + NdArray.from_list([1, 2, 3])

    def test_conversions(self):
        a = NdArray.from_list([1, 2, 3, 4, 5, 6], "uint8")
        self.assertEqual(a.reshape(2, -1).shape, (2, 3))
        self.assertEqual(a.reshape((3, 2)).tolist(), [[1, 2], [3, 4], [5, 6]])
        self.assertEqual(a.astype("float32").tolist(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        self.assertEqual(a.reshape(2, 3).T.tolist(), [[1, 4], [2, 5], [3, 6]])
        with self.assertRaises(ValueError):
            a.reshape(4, -1)
        self.assertEqual(normalize_dtype("f4"), "float32")
        self.assertEqual(normalize_dtype(float), "float64")
        self.assertEqual(normalize_dtype("boolean"), "bool")
        self.assertIn("float32", repr(a.astype("float32")))

    def test_document_converts_lists(self):
        d = Document(embedding=[0.5, 1.5])
        self.assertIsInstance(d.embedding, NdArray)
        self.assertEqual((d.embedding.dtype, d.embedding.tolist()), ("float32", [0.5, 1.5]))
        d.tensor = [[1, 2], [3, 4]]
        self.assertEqual((d.tensor.dtype, d.tensor.shape), ("float32", (2, 2)))
        d.embedding = NdArray.from_list([1, 2], "int16")
        self.assertEqual(d.embedding.dtype, "int16")
        d.embedding = None
        self.assertIsNone(d.embedding)
        with self.assertRaises(TypeError):
            d.embedding = "nope"


if __name__ == "__main__":
    unittest.main()
