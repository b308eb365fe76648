package flowhost

import (
	"math"
	"reflect"
	"testing"
)

func TestTypedAccessors(t *testing.T) {
	tt := FromFloat32s([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	if tt.DType != Float32 || !reflect.DeepEqual(tt.Shape, []uint32{2, 3}) || len(tt.Data) != 24 {
		t.Fatalf("%v", tt)
	}
	v, err := tt.Float32s()
	if err != nil || !reflect.DeepEqual(v, []float32{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("%v %v", v, err)
	}
	if _, err := tt.Float64s(); err == nil {
		t.Fatal("wrong dtype accepted")
	}
	if tt.Data[4] != 0 || tt.Data[7] != 0x40 { // 2.0f little-endian: 00 00 00 40
		t.Fatalf("not little-endian: % x", tt.Data[4:8])
	}
}

func check[T Element](t *testing.T, values []T, dtype DType) {
	t.Helper()
	tt := TensorOf(values)
	if tt.DType != dtype || len(tt.Data) != len(values)*dtype.Size() {
		t.Fatalf("%s: %v", dtype, tt)
	}
	back, err := Values[T](tt)
	if err != nil || !reflect.DeepEqual(back, values) {
		t.Fatalf("%s: %v %v", dtype, back, err)
	}
	if _, err := NewTensor(dtype, tt.Shape, tt.Data); err != nil {
		t.Fatal(err)
	}
}

func TestEveryDType(t *testing.T) {
	check(t, []Half{HalfOf(1), HalfOf(-2.5)}, Float16)
	check(t, []float32{1.5, -0}, Float32)
	check(t, []float64{math.Pi, math.Inf(-1)}, Float64)
	check(t, []int8{-128, 127}, Int8)
	check(t, []int16{-32768, 7}, Int16)
	check(t, []int32{math.MinInt32, 1}, Int32)
	check(t, []int64{math.MinInt64, math.MaxInt64}, Int64)
	check(t, []uint8{0, 255}, Uint8)
	check(t, []uint16{65535, 1}, Uint16)
	check(t, []uint32{math.MaxUint32}, Uint32)
	check(t, []uint64{math.MaxUint64}, Uint64)
	check(t, []bool{true, false, true}, Bool)
	names := []string{"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"}
	for i, n := range names {
		if DType(i).String() != n {
			t.Errorf("%d: %s", i, DType(i))
		}
	}
}

func TestShapes(t *testing.T) {
	scalar := TensorOf([]float64{7}, []uint32{}...)
	if len(scalar.Shape) != 0 || scalar.Len() != 1 || scalar.Check() != nil {
		t.Fatalf("scalar %v", scalar)
	}
	empty := TensorOf([]int32{}, 2, 0, 3)
	if empty.Len() != 0 || len(empty.Data) != 0 || empty.Check() != nil {
		t.Fatalf("empty %v", empty)
	}
	if _, err := NewTensor(Float32, []uint32{3}, make([]byte, 8)); err == nil {
		t.Fatal("short data accepted")
	}
	if _, err := NewTensor(DType(12), nil, nil); err == nil {
		t.Fatal("unknown dtype accepted")
	}
	defer func() {
		if e, ok := recover().(*Error); !ok || e.Name != "ValueError" {
			t.Fatalf("shape mismatch: %v", e)
		}
	}()
	FromFloat32s([]float32{1, 2, 3}, 2, 2)
}

func TestHalf(t *testing.T) {
	for _, f := range []float32{0, 1, -1, 0.5, 65504, 6.1035156e-05, 5.9604645e-08, float32(math.Inf(1))} {
		if got := HalfOf(f).Float32(); got != f {
			t.Errorf("%g -> %g", f, got)
		}
	}
	if !math.IsNaN(float64(HalfOf(float32(math.NaN())).Float32())) {
		t.Error("NaN")
	}
	if HalfOf(1e6).Float32() != float32(math.Inf(1)) {
		t.Error("overflow")
	}
	if HalfOf(1.0009766).Float32() != 1.0009766 || HalfOf(1+1.0/4096).Float32() != 1 { // ties to even
		t.Error("rounding")
	}
	v, err := FromHalfs([]Half{HalfOf(2), HalfOf(-0.25)}).AsFloat32s()
	if err != nil || !reflect.DeepEqual(v, []float32{2, -0.25}) {
		t.Fatalf("%v %v", v, err)
	}
}

func TestAsFloat(t *testing.T) {
	v, err := FromBools([]bool{true, false}).AsFloat64s()
	if err != nil || !reflect.DeepEqual(v, []float64{1, 0}) {
		t.Fatal(v, err)
	}
	v, _ = FromInt16s([]int16{-3, 4}, 1, 2).AsFloat64s()
	if !reflect.DeepEqual(v, []float64{-3, 4}) {
		t.Fatal(v)
	}
}
