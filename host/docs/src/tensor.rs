//! Reading a tensor's elements as numbers, whatever its dtype, and converting a tensor (or
//! every tensor of a batch) to another dtype with numpy's `astype` semantics.

use crate::{DocumentBatch, Dtype, Tensor, element_size};

/// Element values of a tensor as f64, whatever its dtype (a trailing partial element is ignored).
pub fn tensor_values(tensor: &Tensor) -> Vec<f64> {
    fn decode<const N: usize>(data: &[u8], read: impl Fn([u8; N]) -> f64) -> Vec<f64> {
        data.chunks_exact(N)
            .filter_map(|chunk| <[u8; N]>::try_from(chunk).ok())
            .map(read)
            .collect()
    }
    let data = &tensor.data;
    match tensor.dtype {
        Dtype::Float16 => decode(data, |b| half::f16::from_le_bytes(b).to_f64()),
        Dtype::Float32 => decode(data, |b| f64::from(f32::from_le_bytes(b))),
        Dtype::Float64 => decode(data, f64::from_le_bytes),
        Dtype::Int8 => decode(data, |b| f64::from(i8::from_le_bytes(b))),
        Dtype::Int16 => decode(data, |b| f64::from(i16::from_le_bytes(b))),
        Dtype::Int32 => decode(data, |b| f64::from(i32::from_le_bytes(b))),
        Dtype::Int64 => decode(data, |b| i64::from_le_bytes(b) as f64),
        Dtype::Uint8 => decode(data, |b: [u8; 1]| f64::from(b[0])),
        Dtype::Uint16 => decode(data, |b| f64::from(u16::from_le_bytes(b))),
        Dtype::Uint32 => decode(data, |b| f64::from(u32::from_le_bytes(b))),
        Dtype::Uint64 => decode(data, |b| u64::from_le_bytes(b) as f64),
        Dtype::Boolean => data.iter().map(|&b| f64::from(b != 0)).collect(),
    }
}

/// One element on its way from one dtype to another. Integers travel as `i128`, which holds
/// every `int64` and `uint64` exactly (an `f64` would round above 2^53); floats as `f64`,
/// which holds every `float16` and `float32` exactly.
#[derive(Clone, Copy)]
enum Elem {
    Float(f64),
    Int(i128),
}

/// Reads the elements of `data` as `dtype`; a trailing partial element is ignored.
fn read_elems(dtype: Dtype, data: &[u8]) -> Vec<Elem> {
    fn decode<const N: usize>(data: &[u8], read: impl Fn([u8; N]) -> Elem) -> Vec<Elem> {
        data.chunks_exact(N)
            .filter_map(|chunk| <[u8; N]>::try_from(chunk).ok())
            .map(read)
            .collect()
    }
    use Elem::{Float, Int};
    match dtype {
        Dtype::Float16 => decode(data, |b| Float(half::f16::from_le_bytes(b).to_f64())),
        Dtype::Float32 => decode(data, |b| Float(f64::from(f32::from_le_bytes(b)))),
        Dtype::Float64 => decode(data, |b| Float(f64::from_le_bytes(b))),
        Dtype::Int8 => decode(data, |b| Int(i8::from_le_bytes(b).into())),
        Dtype::Int16 => decode(data, |b| Int(i16::from_le_bytes(b).into())),
        Dtype::Int32 => decode(data, |b| Int(i32::from_le_bytes(b).into())),
        Dtype::Int64 => decode(data, |b| Int(i64::from_le_bytes(b).into())),
        Dtype::Uint8 => decode(data, |b: [u8; 1]| Int(b[0].into())),
        Dtype::Uint16 => decode(data, |b| Int(u16::from_le_bytes(b).into())),
        Dtype::Uint32 => decode(data, |b| Int(u32::from_le_bytes(b).into())),
        Dtype::Uint64 => decode(data, |b| Int(u64::from_le_bytes(b).into())),
        // numpy reads any nonzero byte of a bool array as True.
        Dtype::Boolean => data.iter().map(|&b| Int(i128::from(b != 0))).collect(),
    }
}

/// Writes `elems` as `to`, little-endian. Rust's `as` is the conversion throughout because
/// it is numpy's for every defined case: float to float rounds to nearest (overflowing to
/// ±inf), integer to float rounds to nearest, integer to integer keeps the low bits (numpy
/// wraps), float to integer truncates toward zero. Where numpy is undefined (a float out of
/// the integer's range, NaN, ±inf: C leaves it to the platform, x86 gives the minimum) `as`
/// saturates to the integer's range and gives 0 for NaN, the same on every machine.
fn write_elems(elems: &[Elem], to: Dtype) -> Vec<u8> {
    let mut out = Vec::with_capacity(elems.len() * element_size(to));
    macro_rules! put {
        ($ty:ty) => {
            for &elem in elems {
                let value = match elem {
                    Elem::Float(x) => x as $ty,
                    Elem::Int(n) => n as $ty,
                };
                out.extend_from_slice(&value.to_le_bytes());
            }
        };
    }
    match to {
        Dtype::Float16 => {
            for &elem in elems {
                // Integers go through f64, exact up to 2^53; anything larger is far past
                // float16's range (65504) and becomes ±inf either way.
                let value = match elem {
                    Elem::Float(x) => half::f16::from_f64(x),
                    Elem::Int(n) => half::f16::from_f64(n as f64),
                };
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        Dtype::Float32 => put!(f32),
        Dtype::Float64 => put!(f64),
        Dtype::Int8 => put!(i8),
        Dtype::Int16 => put!(i16),
        Dtype::Int32 => put!(i32),
        Dtype::Int64 => put!(i64),
        Dtype::Uint8 => put!(u8),
        Dtype::Uint16 => put!(u16),
        Dtype::Uint32 => put!(u32),
        Dtype::Uint64 => put!(u64),
        Dtype::Boolean => {
            // numpy: nonzero is True; NaN is nonzero (`NaN != 0`), -0.0 is zero.
            out.extend(elems.iter().map(|&elem| match elem {
                Elem::Float(x) => u8::from(x != 0.0),
                Elem::Int(n) => u8::from(n != 0),
            }));
        }
    }
    out
}

/// `tensor` converted to `to`, as numpy's `tensor.astype(to)`; the same shape.
///
/// - float → float rounds to nearest (float16 through the `half` crate); a value too large
///   for the target becomes ±inf, NaN stays NaN.
/// - float → integer truncates toward zero. Out of the target's range (and ±inf) it
///   saturates to the target's minimum or maximum, and NaN becomes 0: numpy leaves these
///   undefined (platform-dependent), flowhost gives the same answer everywhere.
/// - integer → integer is exact when the value fits and otherwise wraps (keeps the low bits),
///   as numpy does: `-1` as `uint8` is 255, `300` as `int8` is 44. `int64` and `uint64` are
///   converted exactly, never through `f64`.
/// - integer → float rounds to nearest.
/// - anything → bool is `value != 0` (so NaN is true); bool → anything is 0 or 1.
///
/// The tensor is cloned as it is when it already has dtype `to`. Expects a valid tensor
/// ([`check_tensor`](crate::check_tensor)): a trailing partial element is dropped.
pub fn cast(tensor: &Tensor, to: Dtype) -> Tensor {
    if tensor.dtype == to {
        return tensor.clone();
    }
    Tensor {
        dtype: to,
        shape: tensor.shape.clone(),
        data: write_elems(&read_elems(tensor.dtype, &tensor.data), to),
    }
}

/// Converts in place, touching nothing when the dtype already matches.
fn cast_in_place(tensor: &mut Tensor, to: Dtype) {
    if tensor.dtype != to {
        tensor.data = write_elems(&read_elems(tensor.dtype, &tensor.data), to);
        tensor.dtype = to;
    }
}

/// Converts the `tensor` and `embedding` of every document of `batch` (top-level documents,
/// chunks and matches at any depth: every node) to `to`, as [`cast`] does. This is
/// `output_array_type: <dtype>`, applied to what an executor returns.
pub fn cast_batch(batch: &mut DocumentBatch, to: Dtype) {
    for doc in &mut batch.nodes {
        for tensor in [&mut doc.tensor, &mut doc.embedding].into_iter().flatten() {
            cast_in_place(tensor, to);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float16_and_integers_decode_to_their_values() {
        let halves: Vec<u8> = [1.5f32, -2.0, 65504.0]
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect();
        let tensor = Tensor {
            dtype: Dtype::Float16,
            shape: vec![3],
            data: halves,
        };
        assert_eq!(tensor_values(&tensor), [1.5, -2.0, 65504.0]);
        let ints = Tensor {
            dtype: Dtype::Int16,
            shape: vec![2],
            data: [-3i16, 7].iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
        assert_eq!(tensor_values(&ints), [-3.0, 7.0]);
    }

    fn tensor<T: Copy, const N: usize>(
        dtype: Dtype,
        values: &[T],
        bytes: impl Fn(T) -> [u8; N],
    ) -> Tensor {
        Tensor {
            dtype,
            shape: vec![values.len() as u32],
            data: values.iter().flat_map(|&v| bytes(v)).collect(),
        }
    }

    fn values<const N: usize, T>(t: &Tensor, read: impl Fn([u8; N]) -> T) -> Vec<T> {
        assert_eq!(t.data.len() % N, 0, "{t:?}");
        t.data
            .chunks_exact(N)
            .map(|c| read(<[u8; N]>::try_from(c).unwrap()))
            .collect()
    }

    #[test]
    fn float_to_int_truncates_toward_zero_saturates_and_maps_nan_to_zero() {
        let t = tensor(
            Dtype::Float32,
            &[
                1.9f32,
                -1.9,
                0.5,
                -0.5,
                127.9,
                128.0,
                -129.0,
                f32::NAN,
                f32::INFINITY,
            ],
            f32::to_le_bytes,
        );
        let out = cast(&t, Dtype::Int8);
        assert_eq!(out.dtype, Dtype::Int8);
        assert_eq!(out.shape, t.shape);
        assert_eq!(
            values(&out, i8::from_le_bytes),
            [1, -1, 0, 0, 127, 127, -128, 0, 127]
        );
        let u = cast(&t, Dtype::Uint8);
        assert_eq!(
            values(&u, |b: [u8; 1]| b[0]),
            [1, 0, 0, 0, 127, 128, 0, 0, 255]
        );
        let big = tensor(Dtype::Float64, &[1e300, -1e300, 2.5e9], f64::to_le_bytes);
        assert_eq!(
            values(&cast(&big, Dtype::Int64), i64::from_le_bytes),
            [i64::MAX, i64::MIN, 2_500_000_000]
        );
        assert_eq!(
            values(&cast(&big, Dtype::Int32), i32::from_le_bytes),
            [i32::MAX, i32::MIN, i32::MAX]
        );
    }

    #[test]
    fn int_to_int_is_exact_when_it_fits_and_wraps_like_numpy_otherwise() {
        let t = tensor(
            Dtype::Int16,
            &[-1i16, 300, 127, -128, 255],
            i16::to_le_bytes,
        );
        assert_eq!(
            values(&cast(&t, Dtype::Uint8), |b: [u8; 1]| b[0]),
            [255, 44, 127, 128, 255]
        );
        assert_eq!(
            values(&cast(&t, Dtype::Int8), i8::from_le_bytes),
            [-1, 44, 127, -128, -1]
        );
        // int64 and uint64 extremes, exactly (an f64 path would round these).
        let t = tensor(
            Dtype::Int64,
            &[i64::MAX, i64::MIN, -1, 9_007_199_254_740_993],
            i64::to_le_bytes,
        );
        assert_eq!(
            values(&cast(&t, Dtype::Uint64), u64::from_le_bytes),
            [i64::MAX as u64, 1u64 << 63, u64::MAX, 9_007_199_254_740_993]
        );
        let u = tensor(Dtype::Uint64, &[u64::MAX, 1u64 << 63, 5], u64::to_le_bytes);
        assert_eq!(
            values(&cast(&u, Dtype::Int64), i64::from_le_bytes),
            [-1, i64::MIN, 5]
        );
        assert_eq!(
            values(&cast(&u, Dtype::Uint32), u32::from_le_bytes),
            [u32::MAX, 0, 5]
        );
    }

    #[test]
    fn int_to_float_rounds_to_nearest() {
        let t = tensor(Dtype::Int64, &[i64::MIN, 16_777_217, -3], i64::to_le_bytes);
        assert_eq!(
            values(&cast(&t, Dtype::Float64), f64::from_le_bytes),
            [-(2f64.powi(63)), 16_777_217.0, -3.0]
        );
        // 2^24 + 1 is not a float32: it rounds to even.
        assert_eq!(
            values(&cast(&t, Dtype::Float32), f32::from_le_bytes),
            [-(2f32.powi(63)), 16_777_216.0, -3.0]
        );
    }

    #[test]
    fn float16_both_ways() {
        let t = tensor(
            Dtype::Float32,
            &[1.5f32, -2.0, 65504.0, 70000.0, 0.1, f32::NAN],
            f32::to_le_bytes,
        );
        let h = cast(&t, Dtype::Float16);
        assert_eq!(h.data.len(), 12);
        let back = values(&h, |b| half::f16::from_le_bytes(b).to_f32());
        assert_eq!(back[..4], [1.5, -2.0, 65504.0, f32::INFINITY]);
        // 0.1 rounds to float16's nearest, 0.099975586.
        assert_eq!(back[4], half::f16::from_f32(0.1).to_f32());
        assert!((back[4] - 0.1).abs() < 1e-4 && back[4] != 0.1);
        assert!(back[5].is_nan());
        // float16 -> int16 truncates; -> float64 is exact.
        assert_eq!(
            values(&cast(&h, Dtype::Int16), i16::from_le_bytes),
            [1, -2, 32767, 32767, 0, 0]
        );
        assert_eq!(
            values(&cast(&h, Dtype::Float64), f64::from_le_bytes)[0],
            1.5
        );
        let ints = tensor(Dtype::Int32, &[-7i32, 70000, 2049], i32::to_le_bytes);
        assert_eq!(
            values(&cast(&ints, Dtype::Float16), |b| half::f16::from_le_bytes(
                b
            )
            .to_f32()),
            [-7.0, f32::INFINITY, 2048.0]
        );
    }

    #[test]
    fn bool_is_nonzero_and_gives_zero_or_one() {
        let t = tensor(
            Dtype::Float64,
            &[0.0, -0.0, 0.3, -2.0, f64::NAN],
            f64::to_le_bytes,
        );
        let b = cast(&t, Dtype::Boolean);
        assert_eq!(b.data, [0, 0, 1, 1, 1]);
        let bytes = Tensor {
            dtype: Dtype::Boolean,
            shape: vec![3],
            data: vec![0, 1, 7],
        };
        assert_eq!(
            values(&cast(&bytes, Dtype::Int32), i32::from_le_bytes),
            [0, 1, 1]
        );
        assert_eq!(
            values(&cast(&bytes, Dtype::Float32), f32::from_le_bytes),
            [0.0, 1.0, 1.0]
        );
        let ints = tensor(Dtype::Uint64, &[0u64, 1 << 40], u64::to_le_bytes);
        assert_eq!(cast(&ints, Dtype::Boolean).data, [0, 1]);
    }

    #[test]
    fn same_dtype_is_an_equal_clone_and_shapes_are_kept() {
        let t = Tensor {
            dtype: Dtype::Float64,
            shape: vec![2, 2],
            data: [1.0f64, 2.0, 3.0, 4.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        };
        assert_eq!(cast(&t, Dtype::Float64), t);
        let f = cast(&t, Dtype::Float32);
        assert_eq!(f.shape, [2, 2]);
        assert_eq!(crate::check_tensor(&f), Ok(()));
        assert_eq!(values(&f, f32::from_le_bytes), [1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn cast_batch_reaches_chunks_and_matches_and_leaves_the_rest() {
        use crate::{document, validate};
        let f64s = |v: &[f64]| tensor(Dtype::Float64, v, f64::to_le_bytes);
        let mut root = document("root");
        root.embedding = Some(f64s(&[0.25, -1.0]));
        root.chunks = vec![1];
        let mut chunk = document("chunk");
        chunk.tensor = Some(f64s(&[3.5]));
        chunk.matches = vec![2];
        let mut deep = document("deep");
        deep.embedding = Some(tensor(Dtype::Int8, &[-3i8], i8::to_le_bytes));
        deep.tensor = Some(tensor(Dtype::Float32, &[2.0f32], f32::to_le_bytes));
        let mut batch = DocumentBatch {
            nodes: vec![root, chunk, deep, document("bare")],
            roots: vec![0, 3],
        };
        cast_batch(&mut batch, Dtype::Float32);
        assert_eq!(validate(&batch), Ok(()));
        let f32s = |t: &Option<Tensor>| {
            let t = t.as_ref().unwrap();
            assert_eq!(t.dtype, Dtype::Float32);
            values(t, f32::from_le_bytes)
        };
        assert_eq!(f32s(&batch.nodes[0].embedding), [0.25, -1.0]);
        assert_eq!(f32s(&batch.nodes[1].tensor), [3.5]);
        assert_eq!(f32s(&batch.nodes[2].embedding), [-3.0]);
        assert_eq!(f32s(&batch.nodes[2].tensor), [2.0]);
        assert_eq!(batch.nodes[3].tensor, None);
        assert_eq!(batch.nodes[0].tensor, None);
        assert_eq!(batch.nodes[1].embedding, None);
    }
}
