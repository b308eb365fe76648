package flowhost

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DType is the element type of a [Tensor] (the WIT dtype). Bytes are always
// little-endian.
type DType uint8

// The dtypes, in the order of the WIT enum.
const (
	Float16 DType = iota // IEEE 754 half precision (Go type [Half])
	Float32              // float32
	Float64              // float64
	Int8                 // int8
	Int16                // int16
	Int32                // int32
	Int64                // int64
	Uint8                // uint8
	Uint16               // uint16
	Uint32               // uint32
	Uint64               // uint64
	Bool                 // bool, one byte per element, zero is false
)

var dtypeNames = [...]string{"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"}
var dtypeSizes = [...]int{2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 1}

// String returns the numpy name, e.g. "float32".
func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size is the number of bytes per element.
func (d DType) Size() int {
	if int(d) < len(dtypeSizes) {
		return dtypeSizes[d]
	}
	return 0
}

// Valid reports whether d is one of the defined dtypes.
func (d DType) Valid() bool { return int(d) < len(dtypeNames) }

// Half is an IEEE 754 half-precision float, stored as its bits; the element
// type of [Float16] tensors.
type Half uint16

// Float32 converts h to a float32 (exactly).
func (h Half) Float32() float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0 && frac == 0: // signed zero
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := int32(-14)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		frac &= 0x3ff
		return math.Float32frombits(sign | uint32(e+127)<<23 | frac<<13)
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	}
}

// HalfOf converts f to the nearest half-precision float (ties to even).
func HalfOf(f float32) Half {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	frac := b & 0x7fffff
	if exp == 0xff { // inf or NaN
		if frac != 0 {
			return Half(sign | 0x7e00)
		}
		return Half(sign | 0x7c00)
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return Half(sign | 0x7c00) // overflow to infinity
	}
	if e <= 0 { // subnormal or zero
		if e < -10 {
			return Half(sign)
		}
		m := frac | 0x800000
		shift := uint32(14 - e)
		half := m >> shift
		rem := m & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return Half(sign | uint16(half))
	}
	half := uint32(e)<<10 | frac>>13
	rem := frac & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // may carry into the exponent, which is still right
	}
	return Half(sign | uint16(half))
}

// Element is a Go type that can be a tensor element.
type Element interface {
	Half | float32 | float64 | int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | bool
}

// DTypeOf returns the dtype whose elements are T.
func DTypeOf[T Element]() DType {
	var zero T
	switch any(zero).(type) {
	case Half:
		return Float16
	case float32:
		return Float32
	case float64:
		return Float64
	case int8:
		return Int8
	case int16:
		return Int16
	case int32:
		return Int32
	case int64:
		return Int64
	case uint8:
		return Uint8
	case uint16:
		return Uint16
	case uint32:
		return Uint32
	case uint64:
		return Uint64
	default:
		return Bool
	}
}

// Tensor is a dense n-dimensional array: Data holds the elements in row-major
// order, little-endian, product(Shape) * DType.Size() bytes. An empty Shape is
// a 0-d scalar (one element); a zero in Shape means no elements.
//
//	t := flowhost.FromFloat32s([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
//	v, err := t.Float32s() // [1 2 3 4 5 6]
//
// The fields are public; [Tensor.Check] (run on every tensor the executor
// returns) verifies that they agree.
type Tensor struct {
	DType DType
	Shape []uint32
	Data  []byte
}

func elementCount(shape []uint32) (int, bool) {
	n := 1
	for _, d := range shape {
		if d != 0 && n > math.MaxInt/int(d) {
			return 0, false
		}
		n *= int(d)
	}
	return n, true
}

// NewTensor returns a tensor over data (not copied), or a ValueError if its
// length does not match dtype and shape.
func NewTensor(dtype DType, shape []uint32, data []byte) (*Tensor, error) {
	t := &Tensor{DType: dtype, Shape: shape, Data: data}
	if err := t.Check(); err != nil {
		return nil, err
	}
	return t, nil
}

// Check returns a ValueError if the dtype is unknown or the data's length does
// not match dtype and shape.
func (t *Tensor) Check() error {
	if !t.DType.Valid() {
		return &Error{Name: "ValueError", Message: fmt.Sprintf("unknown tensor dtype %d", uint8(t.DType))}
	}
	n, ok := elementCount(t.Shape)
	if !ok || n > math.MaxInt/t.DType.Size() || n*t.DType.Size() != len(t.Data) {
		return &Error{Name: "ValueError", Message: fmt.Sprintf(
			"tensor of dtype %s and shape %v needs %d bytes, got %d", t.DType, t.Shape, n*t.DType.Size(), len(t.Data))}
	}
	return nil
}

// Len is the number of elements (the product of the shape).
func (t *Tensor) Len() int {
	n, _ := elementCount(t.Shape)
	return n
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	if t == nil {
		return nil
	}
	return &Tensor{DType: t.DType, Shape: append([]uint32(nil), t.Shape...), Data: append([]byte(nil), t.Data...)}
}

// Equal reports whether two tensors have the same dtype, shape and bytes.
func (t *Tensor) Equal(o *Tensor) bool {
	if t == nil || o == nil {
		return t == o
	}
	if t.DType != o.DType || len(t.Shape) != len(o.Shape) || string(t.Data) != string(o.Data) {
		return false
	}
	for i := range t.Shape {
		if t.Shape[i] != o.Shape[i] {
			return false
		}
	}
	return true
}

func (t *Tensor) String() string {
	return fmt.Sprintf("Tensor(%s, %v, %d bytes)", t.DType, t.Shape, len(t.Data))
}

// TensorOf builds a tensor of T's dtype from values, with the given shape
// (default: one dimension of len(values)). It panics if the shape does not
// hold exactly len(values) elements (a panic in a method is reported as an
// error).
func TensorOf[T Element](values []T, shape ...uint32) *Tensor {
	dtype := DTypeOf[T]()
	if shape == nil {
		shape = []uint32{uint32(len(values))}
	} else if n, ok := elementCount(shape); !ok || n != len(values) {
		panic(&Error{Name: "ValueError", Message: fmt.Sprintf(
			"tensor shape %v does not hold %d elements", shape, len(values))})
	}
	data := make([]byte, len(values)*dtype.Size())
	for i, v := range values {
		put(data[i*dtype.Size():], v)
	}
	return &Tensor{DType: dtype, Shape: append([]uint32(nil), shape...), Data: data}
}

// Values returns a copy of the elements as T, or a ValueError if the tensor's
// dtype is not T's (see [Tensor.AsFloat32s] and [Tensor.AsFloat64s] to convert).
func Values[T Element](t *Tensor) ([]T, error) {
	want := DTypeOf[T]()
	if t.DType != want {
		return nil, &Error{Name: "ValueError", Message: fmt.Sprintf("tensor has dtype %s, not %s", t.DType, want)}
	}
	if err := t.Check(); err != nil {
		return nil, err
	}
	size := want.Size()
	out := make([]T, len(t.Data)/size)
	for i := range out {
		out[i] = get[T](t.Data[i*size:])
	}
	return out, nil
}

func put[T Element](b []byte, v T) {
	le := binary.LittleEndian
	switch v := any(v).(type) {
	case Half:
		le.PutUint16(b, uint16(v))
	case float32:
		le.PutUint32(b, math.Float32bits(v))
	case float64:
		le.PutUint64(b, math.Float64bits(v))
	case int8:
		b[0] = byte(v)
	case int16:
		le.PutUint16(b, uint16(v))
	case int32:
		le.PutUint32(b, uint32(v))
	case int64:
		le.PutUint64(b, uint64(v))
	case uint8:
		b[0] = v
	case uint16:
		le.PutUint16(b, v)
	case uint32:
		le.PutUint32(b, v)
	case uint64:
		le.PutUint64(b, v)
	case bool:
		if v {
			b[0] = 1
		} else {
			b[0] = 0
		}
	}
}

func get[T Element](b []byte) T {
	le := binary.LittleEndian
	var out any
	var zero T
	switch any(zero).(type) {
	case Half:
		out = Half(le.Uint16(b))
	case float32:
		out = math.Float32frombits(le.Uint32(b))
	case float64:
		out = math.Float64frombits(le.Uint64(b))
	case int8:
		out = int8(b[0])
	case int16:
		out = int16(le.Uint16(b))
	case int32:
		out = int32(le.Uint32(b))
	case int64:
		out = int64(le.Uint64(b))
	case uint8:
		out = b[0]
	case uint16:
		out = le.Uint16(b)
	case uint32:
		out = le.Uint32(b)
	case uint64:
		out = le.Uint64(b)
	case bool:
		out = b[0] != 0
	}
	return out.(T)
}

// at returns element i of any dtype as a float64.
func (t *Tensor) at(i int) float64 {
	b := t.Data[i*t.DType.Size():]
	switch t.DType {
	case Float16:
		return float64(get[Half](b).Float32())
	case Float32:
		return float64(get[float32](b))
	case Float64:
		return get[float64](b)
	case Int8:
		return float64(get[int8](b))
	case Int16:
		return float64(get[int16](b))
	case Int32:
		return float64(get[int32](b))
	case Int64:
		return float64(get[int64](b))
	case Uint8:
		return float64(b[0])
	case Uint16:
		return float64(get[uint16](b))
	case Uint32:
		return float64(get[uint32](b))
	case Uint64:
		return float64(get[uint64](b))
	default:
		if b[0] != 0 {
			return 1
		}
		return 0
	}
}

// AsFloat64s returns the elements of any dtype converted to float64
// (booleans as 0 and 1; 64-bit integers beyond 2^53 lose precision).
func (t *Tensor) AsFloat64s() ([]float64, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	out := make([]float64, t.Len())
	for i := range out {
		out[i] = t.at(i)
	}
	return out, nil
}

// AsFloat32s returns the elements of any dtype converted to float32.
func (t *Tensor) AsFloat32s() ([]float32, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	out := make([]float32, t.Len())
	for i := range out {
		out[i] = float32(t.at(i))
	}
	return out, nil
}

// Typed accessors: a copy of the elements, or a ValueError if the dtype differs.

// Halfs returns the elements of a float16 tensor.
func (t *Tensor) Halfs() ([]Half, error) { return Values[Half](t) }

// Float32s returns the elements of a float32 tensor.
func (t *Tensor) Float32s() ([]float32, error) { return Values[float32](t) }

// Float64s returns the elements of a float64 tensor.
func (t *Tensor) Float64s() ([]float64, error) { return Values[float64](t) }

// Int8s returns the elements of an int8 tensor.
func (t *Tensor) Int8s() ([]int8, error) { return Values[int8](t) }

// Int16s returns the elements of an int16 tensor.
func (t *Tensor) Int16s() ([]int16, error) { return Values[int16](t) }

// Int32s returns the elements of an int32 tensor.
func (t *Tensor) Int32s() ([]int32, error) { return Values[int32](t) }

// Int64s returns the elements of an int64 tensor.
func (t *Tensor) Int64s() ([]int64, error) { return Values[int64](t) }

// Uint8s returns the elements of a uint8 tensor.
func (t *Tensor) Uint8s() ([]uint8, error) { return Values[uint8](t) }

// Uint16s returns the elements of a uint16 tensor.
func (t *Tensor) Uint16s() ([]uint16, error) { return Values[uint16](t) }

// Uint32s returns the elements of a uint32 tensor.
func (t *Tensor) Uint32s() ([]uint32, error) { return Values[uint32](t) }

// Uint64s returns the elements of a uint64 tensor.
func (t *Tensor) Uint64s() ([]uint64, error) { return Values[uint64](t) }

// Bools returns the elements of a bool tensor.
func (t *Tensor) Bools() ([]bool, error) { return Values[bool](t) }

// Typed constructors: shape defaults to one dimension of len(values); they
// panic if the shape does not hold len(values) elements.

// FromHalfs builds a float16 tensor.
func FromHalfs(values []Half, shape ...uint32) *Tensor { return TensorOf(values, shape...) }

// FromFloat32s builds a float32 tensor.
func FromFloat32s(values []float32, shape ...uint32) *Tensor { return TensorOf(values, shape...) }

// FromFloat64s builds a float64 tensor.
func FromFloat64s(values []float64, shape ...uint32) *Tensor { return TensorOf(values, shape...) }

// FromInt8s builds an int8 tensor.
func FromInt8s(values []int8, shape ...uint32) *Tensor { return TensorOf(values, shape...) }

// FromInt16s builds an int16 tensor.
func FromInt16s(values []int16, shape ...uint32) *Tensor { return TensorOf(values, shape...) }

// FromInt32s builds an int32 tensor.
func FromInt32s(values []int32, shape ...uint32) *Tensor { return TensorOf(values, shape...) }

// FromInt64s builds an int64 tensor.
func FromInt64s(values []int64, shape ...uint32) *Tensor { return TensorOf(values, shape...) }

// FromUint8s builds a uint8 tensor.
func FromUint8s(values []uint8, shape ...uint32) *Tensor { return TensorOf(values, shape...) }

// FromUint16s builds a uint16 tensor.
func FromUint16s(values []uint16, shape ...uint32) *Tensor { return TensorOf(values, shape...) }

// FromUint32s builds a uint32 tensor.
func FromUint32s(values []uint32, shape ...uint32) *Tensor { return TensorOf(values, shape...) }

// FromUint64s builds a uint64 tensor.
func FromUint64s(values []uint64, shape ...uint32) *Tensor { return TensorOf(values, shape...) }

// FromBools builds a bool tensor.
func FromBools(values []bool, shape ...uint32) *Tensor { return TensorOf(values, shape...) }
