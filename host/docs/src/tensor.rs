//! Reading a tensor's elements as numbers, whatever its dtype.

use crate::{Dtype, Tensor};

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
}
