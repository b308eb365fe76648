//! Tensors as numpy sends them: a dense buffer, a shape and a dtype string (`<f4`, `float32`).

use flowhost_docs::{self as docs, Dtype, Tensor};

use crate::proto::docarray::{DenseNdArrayProto, NdArrayProto, nd_array_proto};

/// The numpy type string of a dtype (always little-endian, as the WIT contract says).
pub fn numpy_dtype(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::Float16 => "<f2",
        Dtype::Float32 => "<f4",
        Dtype::Float64 => "<f8",
        Dtype::Int8 => "|i1",
        Dtype::Int16 => "<i2",
        Dtype::Int32 => "<i4",
        Dtype::Int64 => "<i8",
        Dtype::Uint8 => "|u1",
        Dtype::Uint16 => "<u2",
        Dtype::Uint32 => "<u4",
        Dtype::Uint64 => "<u8",
        Dtype::Boolean => "|b1",
    }
}

/// Reads a numpy type string: `<f4`, `>i8`, `|u1`, `=f8`, or a name such as `float32`.
/// Returns the dtype and whether the bytes are big-endian.
pub(super) fn parse_numpy_dtype(text: &str) -> Option<(Dtype, bool)> {
    let named = match text {
        "float16" | "half" => Some(Dtype::Float16),
        "float32" | "float" => Some(Dtype::Float32),
        "float64" | "double" => Some(Dtype::Float64),
        "int8" => Some(Dtype::Int8),
        "int16" => Some(Dtype::Int16),
        "int32" => Some(Dtype::Int32),
        "int64" => Some(Dtype::Int64),
        "uint8" => Some(Dtype::Uint8),
        "uint16" => Some(Dtype::Uint16),
        "uint32" => Some(Dtype::Uint32),
        "uint64" => Some(Dtype::Uint64),
        "bool" => Some(Dtype::Boolean),
        _ => None,
    };
    if let Some(dtype) = named {
        return Some((dtype, false));
    }
    let (big_endian, code) = match text.as_bytes().first()? {
        b'<' | b'=' | b'|' => (false, &text[1..]),
        b'>' | b'!' => (true, &text[1..]),
        _ => (false, text),
    };
    let dtype = match code {
        "f2" | "e" => Dtype::Float16,
        "f4" | "f" => Dtype::Float32,
        "f8" | "d" => Dtype::Float64,
        "i1" | "b" => Dtype::Int8,
        "i2" | "h" => Dtype::Int16,
        "i4" | "i" => Dtype::Int32,
        "i8" | "l" | "q" => Dtype::Int64,
        "u1" | "B" => Dtype::Uint8,
        "u2" | "H" => Dtype::Uint16,
        "u4" | "I" => Dtype::Uint32,
        "u8" | "L" | "Q" => Dtype::Uint64,
        "b1" | "?" => Dtype::Boolean,
        _ => return None,
    };
    Some((dtype, big_endian))
}

/// A docarray array as a tensor. Only dense arrays are supported.
pub fn tensor_from_proto(array: NdArrayProto) -> Result<Tensor, String> {
    let dense = match array.content {
        Some(nd_array_proto::Content::Dense(dense)) => dense,
        Some(nd_array_proto::Content::Sparse(_)) => {
            return Err("is a sparse array; only dense arrays are supported".into());
        }
        None => DenseNdArrayProto::default(),
    };
    let (dtype, big_endian) = if dense.dtype.is_empty() && dense.buffer.is_empty() {
        (Dtype::Float64, false)
    } else {
        parse_numpy_dtype(&dense.dtype)
            .ok_or_else(|| format!("has an unsupported dtype `{}`", dense.dtype))?
    };
    docs::check_tensor_parts(dtype, &dense.shape, dense.buffer.len()).map_err(|e| e.to_string())?;
    let size = docs::element_size(dtype);
    let mut data = dense.buffer;
    if big_endian && size > 1 {
        data.chunks_exact_mut(size).for_each(<[u8]>::reverse);
    }
    Ok(Tensor {
        dtype,
        shape: dense.shape,
        data,
    })
}

/// A tensor as a dense docarray array (`cls_name` `numpy`, as Jina's gateway answers).
pub fn tensor_into_proto(tensor: Tensor) -> NdArrayProto {
    NdArrayProto {
        content: Some(nd_array_proto::Content::Dense(DenseNdArrayProto {
            dtype: numpy_dtype(tensor.dtype).to_owned(),
            buffer: tensor.data,
            shape: tensor.shape,
        })),
        cls_name: "numpy".to_owned(),
        parameters: None,
    }
}
