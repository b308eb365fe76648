"""A small n-dimensional array for tensors and embeddings.

numpy is not available inside a componentize-py component, so documents carry
their ``tensor`` and ``embedding`` as an :class:`NdArray`: a numpy-style dtype
name, a shape tuple and the elements as little-endian bytes in row-major order
(exactly what the WIT ``tensor`` record holds, so receiving and returning one
never converts the data).

>>> a = NdArray.from_list([[1, 2], [3, 4]], 'float32')
>>> a.shape, a.dtype, a.tolist()
((2, 2), 'float32', [[1.0, 2.0], [3.0, 4.0]])
>>> (a * 2)[1].tolist()
[6.0, 8.0]
"""

import math
import struct

__all__ = ["NdArray", "DTYPES", "array", "zeros"]

# numpy name -> (struct format character, item size)
DTYPES = {
    "float16": ("e", 2),
    "float32": ("f", 4),
    "float64": ("d", 8),
    "int8": ("b", 1),
    "int16": ("h", 2),
    "int32": ("i", 4),
    "int64": ("q", 8),
    "uint8": ("B", 1),
    "uint16": ("H", 2),
    "uint32": ("I", 4),
    "uint64": ("Q", 8),
    "bool": ("?", 1),
}

_ALIASES = {
    "boolean": "bool",
    "bool_": "bool",
    "half": "float16",
    "single": "float32",
    "double": "float64",
    "float": "float64",
    "int": "int64",
    "f2": "float16",
    "f4": "float32",
    "f8": "float64",
    "i1": "int8",
    "i2": "int16",
    "i4": "int32",
    "i8": "int64",
    "u1": "uint8",
    "u2": "uint16",
    "u4": "uint32",
    "u8": "uint64",
    "b1": "bool",
}

_FLOATS = frozenset(("float16", "float32", "float64"))
_INT_RANGES = {
    "int8": (-(1 << 7), 1 << 8),
    "int16": (-(1 << 15), 1 << 16),
    "int32": (-(1 << 31), 1 << 32),
    "int64": (-(1 << 63), 1 << 64),
    "uint8": (0, 1 << 8),
    "uint16": (0, 1 << 16),
    "uint32": (0, 1 << 32),
    "uint64": (0, 1 << 64),
}


def normalize_dtype(dtype):
    """The canonical numpy-style name of ``dtype`` (a name, an alias, ``float``,
    ``int``, ``bool`` or anything with a ``name`` attribute such as a numpy dtype)."""
    if isinstance(dtype, str):
        name = dtype
    elif dtype is float:
        name = "float64"
    elif dtype is bool:
        name = "bool"
    elif dtype is int:
        name = "int64"
    else:
        name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
    name = name.lower().lstrip("<=|")
    name = _ALIASES.get(name, name)
    if name not in DTYPES:
        raise TypeError("unsupported dtype %r (supported: %s)" % (dtype, ", ".join(DTYPES)))
    return name


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _infer_shape(values):
    shape = []
    v = values
    while isinstance(v, (list, tuple, NdArray)):
        if isinstance(v, NdArray):
            shape.extend(v.shape)
            break
        shape.append(len(v))
        if not v:
            break
        v = v[0]
    return tuple(shape)


def _flatten(values, shape, out, depth=0):
    if depth == len(shape):
        if isinstance(values, (list, tuple)):
            raise ValueError("inhomogeneous nested list: too deep at dimension %d" % depth)
        out.append(values)
        return
    if isinstance(values, NdArray):
        if values.shape != shape[depth:]:
            raise ValueError("inhomogeneous nested list")
        out.extend(values._flat())
        return
    if not isinstance(values, (list, tuple)) or len(values) != shape[depth]:
        raise ValueError("inhomogeneous nested list: expected %d elements at dimension %d" % (shape[depth], depth))
    for v in values:
        _flatten(v, shape, out, depth + 1)


def _coerce(values, dtype):
    """Python numbers fit for ``struct.pack`` in ``dtype`` (ints wrap like numpy's casts)."""
    if dtype in _FLOATS:
        return [float(v) for v in values]
    if dtype == "bool":
        return [bool(v) for v in values]
    lo, span = _INT_RANGES[dtype]
    out = []
    for v in values:
        v = int(v)
        if not lo <= v < lo + span:
            v = (v - lo) % span + lo
        out.append(v)
    return out


def _pack(values, dtype):
    fmt, _ = DTYPES[dtype]
    values = _coerce(values, dtype)
    try:
        return struct.pack("<%d%s" % (len(values), fmt), *values)
    except OverflowError:
        if dtype not in _FLOATS:
            raise
    # struct refuses finite values beyond float16/float32's range; numpy makes them infinite.
    return b"".join(_pack_float(v, fmt) for v in values)


def _pack_float(v, fmt):
    try:
        return struct.pack("<" + fmt, v)
    except OverflowError:
        return struct.pack("<" + fmt, math.copysign(math.inf, v))


class NdArray:
    """A dense n-dimensional array: ``dtype`` (numpy's names: ``'float32'``,
    ``'int64'``, ``'bool'``, ...), ``shape`` (a tuple) and ``data`` (the elements
    as little-endian bytes in row-major order).

    Not numpy: ``==`` compares whole arrays and returns one ``bool``, arithmetic
    covers ``+ - * /`` with a scalar or an array of the same shape, and indexing
    takes integers, slices on the first axis and tuples of integers.
    """

    __slots__ = ("dtype", "shape", "_data")

    def __init__(self, data=b"", dtype="float32", shape=None):
        dtype = normalize_dtype(dtype)
        if not isinstance(data, bytes):
            data = bytes(data)
        size = DTYPES[dtype][1]
        if shape is None:
            if len(data) % size:
                raise ValueError("%d bytes are not a whole number of %s elements" % (len(data), dtype))
            shape = (len(data) // size,)
        else:
            shape = tuple(int(s) for s in shape)
            if any(s < 0 for s in shape):
                raise ValueError("negative dimension in shape %r" % (shape,))
            if _prod(shape) * size != len(data):
                raise ValueError(
                    "shape %r of %s needs %d bytes, got %d" % (shape, dtype, _prod(shape) * size, len(data))
                )
        self.dtype = dtype
        self.shape = shape
        self._data = data

    # -- construction -------------------------------------------------------

    @classmethod
    def _trusted(cls, data, dtype, shape):
        """No normalisation: ``dtype`` is a canonical name; only the size is checked."""
        if _prod(shape) * DTYPES[dtype][1] != len(data):
            raise ValueError(
                "shape %r of %s needs %d bytes, got %d" % (shape, dtype, _prod(shape) * DTYPES[dtype][1], len(data))
            )
        a = cls.__new__(cls)
        a.dtype = dtype
        a.shape = shape
        a._data = data
        return a

    @classmethod
    def from_list(cls, values, dtype="float32"):
        """An array from a (nested) list of numbers, or one number for a 0-d array."""
        dtype = normalize_dtype(dtype)
        if isinstance(values, NdArray):
            return values.astype(dtype)
        shape = _infer_shape(values)
        flat = []
        _flatten(values, shape, flat)
        return cls(_pack(flat, dtype), dtype, shape)

    @classmethod
    def from_bytes(cls, data, dtype, shape=None):
        """An array over little-endian ``data`` (no conversion)."""
        return cls(data, dtype, shape)

    @classmethod
    def zeros(cls, shape, dtype="float32"):
        dtype = normalize_dtype(dtype)
        if isinstance(shape, int):
            shape = (shape,)
        return cls(bytes(_prod(shape) * DTYPES[dtype][1]), dtype, shape)

    # -- properties ---------------------------------------------------------

    @property
    def data(self):
        """The elements as little-endian bytes."""
        return self._data

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return _prod(self.shape)

    @property
    def itemsize(self):
        return DTYPES[self.dtype][1]

    @property
    def nbytes(self):
        return len(self._data)

    @property
    def T(self):
        if self.ndim < 2:
            return self
        if self.ndim != 2:
            raise ValueError("T supports 1-d and 2-d arrays only")
        r, c = self.shape
        flat = self._flat()
        return NdArray(_pack([flat[i * c + j] for j in range(c) for i in range(r)], self.dtype), self.dtype, (c, r))

    # -- conversion ---------------------------------------------------------

    def _flat(self):
        n = len(self._data) // DTYPES[self.dtype][1]
        return struct.unpack("<%d%s" % (n, DTYPES[self.dtype][0]), self._data)

    def tobytes(self):
        return self._data

    def tolist(self):
        """Nested lists of Python numbers (a plain number for a 0-d array)."""
        flat = self._flat()
        shape = self.shape
        if not shape:
            return flat[0]
        if len(shape) == 1:
            return list(flat)
        return _nest(flat, 0, shape, 0)[0]

    def astype(self, dtype):
        dtype = normalize_dtype(dtype)
        if dtype == self.dtype:
            return NdArray(self._data, dtype, self.shape)
        return NdArray(_pack(self._flat(), dtype), dtype, self.shape)

    def copy(self):
        return NdArray(self._data, self.dtype, self.shape)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = list(shape)
        if shape.count(-1) > 1:
            raise ValueError("can only specify one unknown dimension")
        if -1 in shape:
            known = _prod(s for s in shape if s != -1)
            if known == 0 or self.size % known:
                raise ValueError("cannot reshape array of size %d into shape %r" % (self.size, tuple(shape)))
            shape[shape.index(-1)] = self.size // known
        if _prod(shape) != self.size:
            raise ValueError("cannot reshape array of size %d into shape %r" % (self.size, tuple(shape)))
        return NdArray(self._data, self.dtype, tuple(shape))

    def flatten(self):
        return NdArray(self._data, self.dtype, (self.size,))

    ravel = flatten

    # -- sequence protocol --------------------------------------------------

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        if len(self.shape) == 1:
            return iter(self._flat())
        return (self[i] for i in range(self.shape[0]))

    def _offset(self, index):
        if not isinstance(index, tuple):
            index = (index,)
        if len(index) > len(self.shape):
            raise IndexError("too many indices for array of shape %r" % (self.shape,))
        off = 0
        for dim, i in zip(self.shape, index):
            i = int(i)
            if i < 0:
                i += dim
            if not 0 <= i < dim:
                raise IndexError("index %d is out of bounds for axis with size %d" % (i, dim))
            off = off * dim + i
        rest = self.shape[len(index):]
        return off * _prod(rest), rest

    def __getitem__(self, index):
        size = DTYPES[self.dtype][1]
        if isinstance(index, slice):
            if not self.shape:
                raise IndexError("cannot slice a 0-d array")
            inner = _prod(self.shape[1:]) * size
            rows = range(self.shape[0])[index]
            if index.step in (None, 1):
                data = self._data[rows.start * inner: rows.start * inner + len(rows) * inner] if rows else b""
            else:
                data = b"".join(self._data[r * inner:(r + 1) * inner] for r in rows)
            return NdArray(data, self.dtype, (len(rows),) + self.shape[1:])
        start, rest = self._offset(index)
        if index == () and not self.shape:
            return self._flat()[0]
        n = _prod(rest)
        data = self._data[start * size:(start + n) * size]
        if rest:
            return NdArray(data, self.dtype, rest)
        return struct.unpack("<" + DTYPES[self.dtype][0], data)[0]

    def __setitem__(self, index, value):
        size = DTYPES[self.dtype][1]
        start, rest = self._offset(index)
        n = _prod(rest)
        if isinstance(value, NdArray):
            if value.shape != rest:
                raise ValueError("shape mismatch: %r into %r" % (value.shape, rest))
            packed = value.astype(self.dtype)._data
        elif isinstance(value, (list, tuple)):
            packed = NdArray.from_list(value, self.dtype)._data
            if len(packed) != n * size:
                raise ValueError("shape mismatch in assignment")
        else:
            packed = _pack([value] * n, self.dtype)
        self._data = self._data[: start * size] + packed + self._data[(start + n) * size:]

    # -- comparison and arithmetic --------------------------------------------

    def __eq__(self, other):
        if not isinstance(other, NdArray):
            return NotImplemented
        return self.dtype == other.dtype and self.shape == other.shape and self._data == other._data

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None

    def _binary(self, other, op, reverse=False, true_div=False):
        a = self._flat()
        if isinstance(other, NdArray):
            if other.shape != self.shape:
                raise ValueError("operands could not be broadcast together with shapes %r %r" % (self.shape, other.shape))
            b = other._flat()
            other_float = other.dtype in _FLOATS
            pairs = zip(b, a) if reverse else zip(a, b)
            values = [op(x, y) for x, y in pairs]
        elif isinstance(other, (int, float)):
            other_float = isinstance(other, float)
            values = [op(other, x) for x in a] if reverse else [op(x, other) for x in a]
        else:
            return NotImplemented
        dtype = self.dtype
        if dtype not in _FLOATS and (other_float or true_div):
            dtype = "float64"
        elif dtype == "bool":
            dtype = "int64"
        return NdArray(_pack(values, dtype), dtype, self.shape)

    def __mul__(self, other):
        return self._binary(other, lambda x, y: x * y)

    def __rmul__(self, other):
        return self._binary(other, lambda x, y: x * y, reverse=True)

    def __add__(self, other):
        return self._binary(other, lambda x, y: x + y)

    def __radd__(self, other):
        return self._binary(other, lambda x, y: x + y, reverse=True)

    def __sub__(self, other):
        return self._binary(other, lambda x, y: x - y)

    def __rsub__(self, other):
        return self._binary(other, lambda x, y: x - y, reverse=True)

    def __truediv__(self, other):
        return self._binary(other, lambda x, y: x / y, true_div=True)

    def __rtruediv__(self, other):
        return self._binary(other, lambda x, y: x / y, reverse=True, true_div=True)

    def __neg__(self):
        return self * -1

    # -- reductions ---------------------------------------------------------

    def sum(self):
        return sum(self._flat())

    def mean(self):
        flat = self._flat()
        return sum(flat) / len(flat) if flat else math.nan

    def min(self):
        return min(self._flat())

    def max(self):
        return max(self._flat())

    def dot(self, other):
        """Inner product of two arrays of the same size (flattened)."""
        b = other._flat() if isinstance(other, NdArray) else other
        return sum(x * y for x, y in zip(self._flat(), b))

    def norm(self):
        """The Euclidean norm of the flattened array."""
        return math.sqrt(sum(x * x for x in self._flat()))

    def __repr__(self):
        return "NdArray(%r, dtype=%r)" % (self.tolist(), self.dtype)


def _nest(flat, pos, shape, depth):
    """Rebuilds nested lists from ``flat`` starting at ``pos``; returns (list, next pos)."""
    n = shape[depth]
    if depth == len(shape) - 1:
        return list(flat[pos:pos + n]), pos + n
    out = []
    for _ in range(n):
        item, pos = _nest(flat, pos, shape, depth + 1)
        out.append(item)
    return out, pos


def array(values, dtype="float32"):
    """``NdArray.from_list`` under numpy's name (``np.array(values, dtype=...)``)."""
    return NdArray.from_list(values, dtype)


def zeros(shape, dtype="float32"):
    return NdArray.zeros(shape, dtype)
