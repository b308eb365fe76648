//! Tensors as typed data: dtype, shape and little-endian bytes.
//!
//! A [`Tensor`] owns the exact byte buffer the canonical ABI handed over, so
//! receiving and returning one never copies it. Typed access goes through
//! [`Element`], which reads and writes little-endian bytes one element at a
//! time: a canonical-ABI `list<u8>` is only guaranteed 1-byte alignment, so the
//! buffer is never reinterpreted as `&[f32]` in place.

use crate::error::{Error, Result};
use crate::wit;

/// Element type of a tensor (the WIT `dtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// IEEE 754 half precision.
    Float16,
    /// IEEE 754 single precision.
    Float32,
    /// IEEE 754 double precision.
    Float64,
    /// Signed 8-bit integer.
    Int8,
    /// Signed 16-bit integer.
    Int16,
    /// Signed 32-bit integer.
    Int32,
    /// Signed 64-bit integer.
    Int64,
    /// Unsigned 8-bit integer.
    Uint8,
    /// Unsigned 16-bit integer.
    Uint16,
    /// Unsigned 32-bit integer.
    Uint32,
    /// Unsigned 64-bit integer.
    Uint64,
    /// One byte per element, zero is `false`.
    Boolean,
}

impl DType {
    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            DType::Int8 | DType::Uint8 | DType::Boolean => 1,
            DType::Float16 | DType::Int16 | DType::Uint16 => 2,
            DType::Float32 | DType::Int32 | DType::Uint32 => 4,
            DType::Float64 | DType::Int64 | DType::Uint64 => 8,
        }
    }

    /// The numpy-style name, e.g. `float32`.
    pub const fn name(self) -> &'static str {
        match self {
            DType::Float16 => "float16",
            DType::Float32 => "float32",
            DType::Float64 => "float64",
            DType::Int8 => "int8",
            DType::Int16 => "int16",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::Uint8 => "uint8",
            DType::Uint16 => "uint16",
            DType::Uint32 => "uint32",
            DType::Uint64 => "uint64",
            DType::Boolean => "bool",
        }
    }
}

impl From<wit::Dtype> for DType {
    fn from(d: wit::Dtype) -> Self {
        match d {
            wit::Dtype::Float16 => DType::Float16,
            wit::Dtype::Float32 => DType::Float32,
            wit::Dtype::Float64 => DType::Float64,
            wit::Dtype::Int8 => DType::Int8,
            wit::Dtype::Int16 => DType::Int16,
            wit::Dtype::Int32 => DType::Int32,
            wit::Dtype::Int64 => DType::Int64,
            wit::Dtype::Uint8 => DType::Uint8,
            wit::Dtype::Uint16 => DType::Uint16,
            wit::Dtype::Uint32 => DType::Uint32,
            wit::Dtype::Uint64 => DType::Uint64,
            wit::Dtype::Boolean => DType::Boolean,
        }
    }
}

impl From<DType> for wit::Dtype {
    fn from(d: DType) -> Self {
        match d {
            DType::Float16 => wit::Dtype::Float16,
            DType::Float32 => wit::Dtype::Float32,
            DType::Float64 => wit::Dtype::Float64,
            DType::Int8 => wit::Dtype::Int8,
            DType::Int16 => wit::Dtype::Int16,
            DType::Int32 => wit::Dtype::Int32,
            DType::Int64 => wit::Dtype::Int64,
            DType::Uint8 => wit::Dtype::Uint8,
            DType::Uint16 => wit::Dtype::Uint16,
            DType::Uint32 => wit::Dtype::Uint32,
            DType::Uint64 => wit::Dtype::Uint64,
            DType::Boolean => wit::Dtype::Boolean,
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that can be a tensor element. Implemented for `f32`, `f64`, the
/// fixed-size integers and `bool` (float16 has no Rust type; read it with
/// [`Tensor::cast_f32_vec`]).
pub trait Element: Copy + Send + Sync + 'static + sealed::Sealed {
    /// The matching dtype.
    const DTYPE: DType;
    /// Appends the element's little-endian bytes.
    fn write_le(self, out: &mut Vec<u8>);
    /// Reads one element from exactly `DTYPE.size()` little-endian bytes.
    fn read_le(bytes: &[u8]) -> Self;
}

macro_rules! impl_element {
    ($($ty:ty => $dtype:ident),* $(,)?) => {$(
        impl sealed::Sealed for $ty {}
        impl Element for $ty {
            const DTYPE: DType = DType::$dtype;
            #[inline]
            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            #[inline]
            fn read_le(bytes: &[u8]) -> Self {
                // Copy into an array rather than casting: the buffer may be unaligned.
                let mut raw = [0u8; std::mem::size_of::<$ty>()];
                raw.copy_from_slice(bytes);
                <$ty>::from_le_bytes(raw)
            }
        }
    )*};
}

impl_element!(
    f32 => Float32, f64 => Float64,
    i8 => Int8, i16 => Int16, i32 => Int32, i64 => Int64,
    u8 => Uint8, u16 => Uint16, u32 => Uint32, u64 => Uint64,
);

impl sealed::Sealed for bool {}
impl Element for bool {
    const DTYPE: DType = DType::Boolean;
    #[inline]
    fn write_le(self, out: &mut Vec<u8>) {
        out.push(u8::from(self));
    }
    #[inline]
    fn read_le(bytes: &[u8]) -> Self {
        bytes[0] != 0
    }
}

/// A dense n-dimensional array in row-major order.
///
/// The invariant `data.len() == product(shape) * dtype.size()` holds for every
/// `Tensor`; constructors check it and return a `ValueError` otherwise.
///
/// ```
/// use flowhost_guest::{DType, Tensor};
///
/// let t = Tensor::from_f32(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
/// assert_eq!(t.dtype(), DType::Float32);
/// assert_eq!(t.shape(), &[2, 3]);
/// assert_eq!(t.to_f32_vec()?, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// assert_eq!(t.iter::<f32>()?.sum::<f32>(), 21.0);
/// # Ok::<(), flowhost_guest::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    dtype: DType,
    shape: Vec<u32>,
    data: Vec<u8>,
}

fn element_count(shape: &[u32]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(usize::try_from(d).ok()?))
}

impl Tensor {
    /// A tensor from raw little-endian bytes. Fails if the byte length does not
    /// match `shape` and `dtype`.
    pub fn new(dtype: DType, shape: Vec<u32>, data: Vec<u8>) -> Result<Self> {
        let expected = element_count(&shape).and_then(|n| n.checked_mul(dtype.size()));
        if expected != Some(data.len()) {
            return Err(Error::value_error(format!(
                "tensor of dtype {} and shape {:?} needs {} bytes, got {}",
                dtype.name(),
                shape,
                expected.map_or_else(|| "more than usize::MAX".to_owned(), |n| n.to_string()),
                data.len()
            )));
        }
        Ok(Self { dtype, shape, data })
    }

    /// A tensor of shape `shape` holding `values` (row-major).
    pub fn from_slice<T: Element>(values: &[T], shape: &[u32]) -> Result<Self> {
        let mut data = Vec::with_capacity(std::mem::size_of_val(values));
        for &v in values {
            v.write_le(&mut data);
        }
        Self::new(T::DTYPE, shape.to_vec(), data)
    }

    /// A one-dimensional tensor holding `values`.
    ///
    /// # Panics
    /// If `values` has more than `u32::MAX` elements (a WIT dimension is a `u32`).
    pub fn vector<T: Element>(values: &[T]) -> Self {
        let len = u32::try_from(values.len()).expect("tensor dimension exceeds u32::MAX");
        let mut data = Vec::with_capacity(std::mem::size_of_val(values));
        for &v in values {
            v.write_le(&mut data);
        }
        Self {
            dtype: T::DTYPE,
            shape: vec![len],
            data,
        }
    }

    /// A float32 tensor of shape `shape` holding `values`.
    pub fn from_f32(values: &[f32], shape: &[u32]) -> Result<Self> {
        Self::from_slice(values, shape)
    }

    /// A float64 tensor of shape `shape` holding `values`.
    pub fn from_f64(values: &[f64], shape: &[u32]) -> Result<Self> {
        Self::from_slice(values, shape)
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The dimensions, outermost first.
    pub fn shape(&self) -> &[u32] {
        &self.shape
    }

    /// The number of elements (`product(shape)`).
    pub fn len(&self) -> usize {
        self.data.len() / self.dtype.size()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The raw little-endian bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Takes the tensor apart without copying: `(dtype, shape, bytes)`.
    pub fn into_parts(self) -> (DType, Vec<u32>, Vec<u8>) {
        (self.dtype, self.shape, self.data)
    }

    /// Changes the shape, keeping the elements. Fails if the element count differs.
    pub fn reshape(self, shape: Vec<u32>) -> Result<Self> {
        Self::new(self.dtype, shape, self.data)
    }

    fn check_dtype<T: Element>(&self) -> Result<()> {
        if self.dtype == T::DTYPE {
            Ok(())
        } else {
            Err(Error::value_error(format!(
                "tensor has dtype {}, not {}",
                self.dtype.name(),
                T::DTYPE.name()
            )))
        }
    }

    /// Iterates the elements as `T`; fails unless the dtype is exactly `T`'s.
    pub fn iter<T: Element>(&self) -> Result<impl ExactSizeIterator<Item = T> + '_> {
        self.check_dtype::<T>()?;
        Ok(self.data.chunks_exact(T::DTYPE.size()).map(T::read_le))
    }

    /// The elements as a `Vec<T>`; fails unless the dtype is exactly `T`'s.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        Ok(self.iter::<T>()?.collect())
    }

    /// The elements of a float32 tensor.
    pub fn to_f32_vec(&self) -> Result<Vec<f32>> {
        self.to_vec::<f32>()
    }

    /// The elements of a float64 tensor.
    pub fn to_f64_vec(&self) -> Result<Vec<f64>> {
        self.to_vec::<f64>()
    }

    /// Every element converted to `f64`, whatever the dtype (booleans become 0 or
    /// 1; 64-bit integers may round). Handy for similarity maths.
    pub fn cast_f64_vec(&self) -> Vec<f64> {
        let size = self.dtype.size();
        let chunks = self.data.chunks_exact(size);
        match self.dtype {
            DType::Float16 => chunks.map(|b| f16_to_f32(u16::read_le(b)).into()).collect(),
            DType::Float32 => chunks.map(|b| f32::read_le(b).into()).collect(),
            DType::Float64 => chunks.map(f64::read_le).collect(),
            DType::Int8 => chunks.map(|b| i8::read_le(b).into()).collect(),
            DType::Int16 => chunks.map(|b| i16::read_le(b).into()).collect(),
            DType::Int32 => chunks.map(|b| i32::read_le(b).into()).collect(),
            DType::Int64 => chunks.map(|b| i64::read_le(b) as f64).collect(),
            DType::Uint8 => chunks.map(|b| u8::read_le(b).into()).collect(),
            DType::Uint16 => chunks.map(|b| u16::read_le(b).into()).collect(),
            DType::Uint32 => chunks.map(|b| u32::read_le(b).into()).collect(),
            DType::Uint64 => chunks.map(|b| u64::read_le(b) as f64).collect(),
            DType::Boolean => chunks
                .map(|b| f64::from(u8::from(bool::read_le(b))))
                .collect(),
        }
    }

    /// Every element converted to `f32`, whatever the dtype (lossy for wide types).
    pub fn cast_f32_vec(&self) -> Vec<f32> {
        match self.dtype {
            DType::Float32 => self.data.chunks_exact(4).map(f32::read_le).collect(),
            DType::Float16 => self
                .data
                .chunks_exact(2)
                .map(|b| f16_to_f32(u16::read_le(b)))
                .collect(),
            _ => self.cast_f64_vec().into_iter().map(|v| v as f32).collect(),
        }
    }
}

/// Decodes IEEE 754 binary16 bits (no `f16` type on stable Rust).
fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exp = u32::from((bits >> 10) & 0x1f);
    let mant = u32::from(bits & 0x3ff);
    let out = match (exp, mant) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: renormalise the mantissa.
            let mut e: i32 = -14;
            let mut m = mant;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            let m = m & 0x3ff;
            sign | (((e + 127) as u32) << 23) | (m << 13)
        }
        (0x1f, _) => sign | 0x7f80_0000 | (mant << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (mant << 13),
    };
    f32::from_bits(out)
}

impl TryFrom<wit::Tensor> for Tensor {
    type Error = Error;
    fn try_from(t: wit::Tensor) -> Result<Self> {
        Tensor::new(t.dtype.into(), t.shape, t.data)
    }
}

impl From<Tensor> for wit::Tensor {
    fn from(t: Tensor) -> Self {
        wit::Tensor {
            dtype: t.dtype.into(),
            shape: t.shape,
            data: t.data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_roundtrip_and_iter() {
        let values: Vec<f32> = (0..512).map(|i| i as f32 * 0.5 - 3.0).collect();
        let t = Tensor::from_f32(&values, &[512]).unwrap();
        assert_eq!(t.len(), 512);
        assert_eq!(t.data().len(), 2048);
        assert_eq!(t.to_f32_vec().unwrap(), values);
        assert_eq!(t.iter::<f32>().unwrap().len(), 512);
        assert_eq!(&t.data()[4..8], &(-2.5f32).to_le_bytes());
    }

    #[test]
    fn every_element_type_roundtrips() {
        fn check<T: Element + PartialEq + std::fmt::Debug>(values: &[T]) {
            let t = Tensor::vector(values);
            assert_eq!(t.dtype(), T::DTYPE);
            assert_eq!(t.to_vec::<T>().unwrap(), values);
        }
        check(&[1.5f64, -2.0]);
        check(&[-1i8, 7]);
        check(&[-300i16, 300]);
        check(&[i32::MIN, i32::MAX]);
        check(&[i64::MIN, 5]);
        check(&[0u8, 255]);
        check(&[65535u16]);
        check(&[u32::MAX]);
        check(&[u64::MAX]);
        check(&[true, false, true]);
    }

    #[test]
    fn unaligned_buffers_are_read_correctly() {
        // Build a buffer whose float data starts at an odd address.
        let mut backing = vec![0u8];
        for v in [1.0f32, 2.0, 3.0] {
            backing.extend_from_slice(&v.to_le_bytes());
        }
        let data = backing[1..].to_vec();
        let t = Tensor::new(DType::Float32, vec![3], data).unwrap();
        assert_eq!(t.to_f32_vec().unwrap(), vec![1.0, 2.0, 3.0]);
        // And directly from an odd offset, through read_le.
        assert_eq!(f32::read_le(&backing[5..9]), 2.0);
    }

    #[test]
    fn shape_mismatch_is_rejected() {
        let err = Tensor::from_f32(&[1.0, 2.0, 3.0], &[2, 2]).unwrap_err();
        assert_eq!(err.name(), "ValueError");
        assert!(err.message().contains("needs 16 bytes, got 12"), "{err}");
        assert!(Tensor::new(DType::Float64, vec![u32::MAX, u32::MAX, u32::MAX], vec![]).is_err());
        // A scalar (empty shape) has one element.
        assert!(Tensor::from_f32(&[1.0], &[]).is_ok());
    }

    #[test]
    fn dtype_mismatch_is_rejected() {
        let t = Tensor::vector(&[1i32, 2]);
        let err = t.to_f32_vec().unwrap_err();
        assert!(err.message().contains("int32, not float32"), "{err}");
        assert_eq!(t.cast_f32_vec(), vec![1.0, 2.0]);
    }

    #[test]
    fn reshape_keeps_elements() {
        let t = Tensor::vector(&[1.0f32, 2.0, 3.0, 4.0])
            .reshape(vec![2, 2])
            .unwrap();
        assert_eq!(t.shape(), &[2, 2]);
        assert!(t.reshape(vec![3]).is_err());
    }

    #[test]
    fn float16_decodes() {
        // 1.0, -2.0, 0.5, smallest subnormal, +inf
        let bits: [u16; 5] = [0x3c00, 0xc000, 0x3800, 0x0001, 0x7c00];
        let mut data = Vec::new();
        for b in bits {
            data.extend_from_slice(&b.to_le_bytes());
        }
        let t = Tensor::new(DType::Float16, vec![5], data).unwrap();
        let v = t.cast_f32_vec();
        assert_eq!(&v[..3], &[1.0, -2.0, 0.5]);
        assert_eq!(v[3], 2f32.powi(-24));
        assert!(v[4].is_infinite());
        assert!(t.to_f32_vec().is_err());
    }

    #[test]
    fn wit_conversion_moves_and_validates() {
        let t = Tensor::from_f32(&[1.0, 2.0], &[2]).unwrap();
        let ptr = t.data().as_ptr();
        let w: wit::Tensor = t.into();
        assert_eq!(w.data.as_ptr(), ptr, "conversion must move the buffer");
        let back = Tensor::try_from(w).unwrap();
        assert_eq!(back.data().as_ptr(), ptr);
        let bad = wit::Tensor {
            dtype: wit::Dtype::Float32,
            shape: vec![3],
            data: vec![0; 8],
        };
        assert!(Tensor::try_from(bad).is_err());
    }
}
