//! The gRPC codec of Jina's services: prost's, except for what a request that is not
//! protobuf at all is answered with.
//!
//! tonic answers an undecodable message with INTERNAL, which reads as a fault of the server.
//! Jina's gateway answers it with UNKNOWN ("Unexpected DecodeError: Error parsing message
//! with type 'jina.DataRequestProto'"); clients see the same code here, with prost's reason.

use std::marker::PhantomData;

use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstEncoder};

/// Used by the generated services and clients (`codec_path` in `host/build.rs`).
#[derive(Debug, Clone)]
pub struct JinaCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for JinaCodec<T, U> {
    fn default() -> Self {
        JinaCodec(PhantomData)
    }
}

impl<T, U> Codec for JinaCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = JinaDecoder<U>;

    fn encoder(&mut self) -> ProstEncoder<T> {
        ProstCodec::<T, U>::raw_encoder(BufferSettings::default())
    }

    fn decoder(&mut self) -> JinaDecoder<U> {
        JinaDecoder(PhantomData)
    }
}

/// prost's decoding, with an unreadable message answered as UNKNOWN naming the message type.
pub struct JinaDecoder<U>(PhantomData<U>);

impl<U: Message + Default> Decoder for JinaDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf).map(Some).map_err(|error| {
            Status::unknown(format!(
                "the message is not a valid {}: {error}",
                short_type_name::<U>()
            ))
        })
    }
}

/// `flowhost::proto::jina::DataRequestProto` → `DataRequestProto`.
fn short_type_name<U>() -> &'static str {
    let full = std::any::type_name::<U>();
    full.rsplit("::").next().unwrap_or(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_message_type() {
        assert_eq!(
            short_type_name::<crate::proto::jina::DataRequestProto>(),
            "DataRequestProto"
        );
    }
}
