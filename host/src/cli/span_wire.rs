//! OTLP's `ExportTraceServiceRequest`, written straight from flowhost's span records through
//! scratch buffers the writer reuses, and the gRPC codec that sends those bytes as they are.
//!
//! Building the collector's generated structs first cost a dozen allocations a span (ids,
//! names, every attribute's key and value) and as many frees, on a thread that shares the
//! cores with the workers: with encoding, about half of the exporter thread's time, which
//! was a third of what tracing cost the process (BENCHMARKS.md). The field numbers
//! are those of opentelemetry-proto's `trace.proto`, `common.proto` and `resource.proto`; the
//! tests read what is written with the collector's own generated types.

use std::time::{Instant, SystemTime};

use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use flowhost_telemetry::trace::{Operation, Span};

use super::otlp::{nanos, unix_nanos};

/// Protobuf wire types.
const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LENGTH_DELIMITED: u32 = 2;
const FIXED32: u32 = 5;

/// `span.proto`'s `SpanKind`.
const SPAN_KIND_INTERNAL: u64 = 1;
const SPAN_KIND_SERVER: u64 = 2;
/// `Status.StatusCode.STATUS_CODE_ERROR`.
const STATUS_CODE_ERROR: u64 = 2;

/// Writes export requests; its scratch buffers keep their capacity from one to the next.
pub struct SpanWriter {
    /// `ResourceSpans.resource`, the field: the same in every request.
    resource: Vec<u8>,
    /// `InstrumentationScope`'s body: the same in every request.
    scope: Vec<u8>,
    spans: Vec<u8>,
    span: Vec<u8>,
    name: String,
}

impl SpanWriter {
    /// A writer whose requests name this process `service` (`service.name`).
    pub fn new(service: &str) -> Self {
        // Resource { attributes = 1 }.
        let mut attributes = Vec::new();
        text_attribute(&mut attributes, 1, "service.name", service);
        let mut resource = Vec::new();
        bytes_field(&mut resource, 1, &attributes);
        // InstrumentationScope { name = 1, version = 2 }.
        let mut scope = Vec::new();
        bytes_field(&mut scope, 1, b"flowhost");
        bytes_field(&mut scope, 2, env!("CARGO_PKG_VERSION").as_bytes());
        Self {
            resource,
            scope,
            spans: Vec::new(),
            span: Vec::new(),
            name: String::new(),
        }
    }

    /// One `ExportTraceServiceRequest` holding `spans`, their times placed on the wall clock
    /// by `clock`, in a buffer of exactly its size (tonic takes it, so it is the one buffer
    /// not reused).
    pub fn request(&mut self, spans: &[Span], clock: WallClock) -> Vec<u8> {
        self.spans.clear();
        for span in spans {
            self.span.clear();
            write_span(&mut self.span, span, clock, &mut self.name);
            bytes_field(&mut self.spans, 2, &self.span);
        }
        // ExportTraceServiceRequest { resource_spans = 1: ResourceSpans { resource = 1,
        // scope_spans = 2: ScopeSpans { scope = 1, spans = 2 } } }.
        let scope_spans_len = field_len(1, self.scope.len()) + self.spans.len();
        let resource_spans_len = self.resource.len() + field_len(2, scope_spans_len);
        let mut out = Vec::with_capacity(field_len(1, resource_spans_len));
        key(&mut out, 1, LENGTH_DELIMITED);
        varint(&mut out, resource_spans_len as u64);
        out.extend_from_slice(&self.resource);
        key(&mut out, 2, LENGTH_DELIMITED);
        varint(&mut out, scope_spans_len as u64);
        bytes_field(&mut out, 1, &self.scope);
        out.extend_from_slice(&self.spans);
        out
    }
}

/// Where the monotonic clock spans are timed on stands on the wall clock. Spans keep
/// `Instant`s because the workers read that clock anyway (a call's deadline counts from it);
/// the exporter reads the wall clock once a batch, so a clock that NTP sets while the process
/// runs moves the spans written after it, and no span's end comes before its start.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    instant: Instant,
    unix_nanos: u64,
}

impl WallClock {
    /// The two clocks read now.
    pub fn now() -> Self {
        Self {
            instant: Instant::now(),
            unix_nanos: unix_nanos(SystemTime::now()),
        }
    }

    /// A clock whose `instant` is `unix_nanos` on the wall clock.
    #[cfg(test)]
    pub(super) fn at(instant: Instant, unix_nanos: u64) -> Self {
        Self {
            instant,
            unix_nanos,
        }
    }

    /// `at` in nanoseconds since the Unix epoch.
    fn unix_nanos(&self, at: Instant) -> u64 {
        match at.checked_duration_since(self.instant) {
            Some(after) => self.unix_nanos.saturating_add(nanos(after)),
            None => {
                let before = self.instant.duration_since(at);
                self.unix_nanos.saturating_sub(nanos(before))
            }
        }
    }
}

fn write_span(out: &mut Vec<u8>, span: &Span, clock: WallClock, name: &mut String) {
    use std::fmt::Write as _;
    bytes_field(out, 1, &span.trace_id.to_be_bytes());
    bytes_field(out, 2, &span.span_id.to_be_bytes());
    if let Some(parent) = span.parent_span_id {
        bytes_field(out, 4, &parent.to_be_bytes());
    }
    name.clear();
    let _ = write!(name, "{}", span.operation);
    bytes_field(out, 5, name.as_bytes());
    let kind = match span.operation {
        Operation::Request { .. } => SPAN_KIND_SERVER,
        Operation::ExecutorCall { .. } => SPAN_KIND_INTERNAL,
    };
    key(out, 6, VARINT);
    varint(out, kind);
    fixed64_field(out, 7, clock.unix_nanos(span.start));
    fixed64_field(out, 8, clock.unix_nanos(span.end));
    if let Operation::Request {
        protocol,
        endpoint,
        request_id,
    } = &span.operation
    {
        text_attribute(out, 9, "rpc.system", protocol);
        text_attribute(out, 9, "flowhost.endpoint", endpoint);
        text_attribute(out, 9, "flowhost.request_id", request_id);
    }
    if let Some(phases) = &span.phases {
        let seconds = |from: Instant, to: Instant| to.saturating_duration_since(from).as_secs_f64();
        number_attribute(
            out,
            9,
            "flowhost.queue_seconds",
            seconds(phases.queued, phases.started),
        );
        number_attribute(
            out,
            9,
            "flowhost.compute_seconds",
            seconds(phases.started, phases.ended),
        );
    }
    if let Some(failure) = &span.failure {
        text_attribute(out, 9, "error.type", &failure.kind);
    }
    if let Some(phases) = &span.phases {
        // Event { time_unix_nano = 1, name = 2 }.
        let name = b"started";
        key(out, 11, LENGTH_DELIMITED);
        varint(out, (1 + 8 + field_len(2, name.len())) as u64);
        fixed64_field(out, 1, clock.unix_nanos(phases.started));
        bytes_field(out, 2, name);
    }
    if let Some(failure) = &span.failure {
        // Status { message = 2, code = 3 }.
        let message = failure.message.as_bytes();
        key(out, 15, LENGTH_DELIMITED);
        varint(
            out,
            (field_len(2, message.len()) + 1 + varint_len(STATUS_CODE_ERROR)) as u64,
        );
        bytes_field(out, 2, message);
        key(out, 3, VARINT);
        varint(out, STATUS_CODE_ERROR);
    }
    // W3C's sampled flag: every exported span was sampled.
    key(out, 16, FIXED32);
    out.extend_from_slice(&1u32.to_le_bytes());
}

/// `KeyValue { key = 1, value = 2: AnyValue { string_value = 1 } }` as field `tag`.
fn text_attribute(out: &mut Vec<u8>, tag: u32, name: &str, value: &str) {
    attribute(out, tag, name, field_len(1, value.len()), |out| {
        bytes_field(out, 1, value.as_bytes())
    });
}

/// `KeyValue { key = 1, value = 2: AnyValue { double_value = 4 } }` as field `tag`.
fn number_attribute(out: &mut Vec<u8>, tag: u32, name: &str, value: f64) {
    attribute(out, tag, name, 1 + 8, |out| {
        fixed64_field(out, 4, value.to_bits())
    });
}

/// A `KeyValue` as field `tag`, whose `AnyValue` is `value_len` bytes that `value` writes.
fn attribute(
    out: &mut Vec<u8>,
    tag: u32,
    name: &str,
    value_len: usize,
    value: impl FnOnce(&mut Vec<u8>),
) {
    key(out, tag, LENGTH_DELIMITED);
    varint(
        out,
        (field_len(1, name.len()) + field_len(2, value_len)) as u64,
    );
    bytes_field(out, 1, name.as_bytes());
    key(out, 2, LENGTH_DELIMITED);
    varint(out, value_len as u64);
    value(out);
}

fn key(out: &mut Vec<u8>, tag: u32, wire_type: u32) {
    varint(out, u64::from(tag << 3 | wire_type));
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn varint_len(value: u64) -> usize {
    // Seven bits a byte; zero takes one.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// The length of a length-delimited field `tag` of `len` bytes, key and length included.
fn field_len(tag: u32, len: usize) -> usize {
    varint_len(u64::from(tag << 3)) + varint_len(len as u64) + len
}

fn bytes_field(out: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    key(out, tag, LENGTH_DELIMITED);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn fixed64_field(out: &mut Vec<u8>, tag: u32, value: u64) {
    key(out, tag, FIXED64);
    out.extend_from_slice(&value.to_le_bytes());
}

/// Sends requests [`SpanWriter`] wrote as they are; the collector's answer (an optional
/// partial success) is not read.
#[derive(Debug, Clone, Copy, Default)]
pub struct WrittenCodec;

impl Codec for WrittenCodec {
    type Encode = Vec<u8>;
    type Decode = ();
    type Encoder = WrittenCodec;
    type Decoder = WrittenCodec;

    fn encoder(&mut self) -> WrittenCodec {
        WrittenCodec
    }

    fn decoder(&mut self) -> WrittenCodec {
        WrittenCodec
    }
}

impl Encoder for WrittenCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        use bytes::BufMut as _;
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for WrittenCodec {
    type Item = ();
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
        use bytes::Buf as _;
        src.advance(src.remaining());
        Ok(Some(()))
    }
}
