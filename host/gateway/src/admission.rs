//! Admission: every request passes here before a handler sees its body.
//!
//! - An HTTP body is read here against `max_request_size`, the read deadline and the memory
//!   budget (at [`JSON_EXPANSION`] times its size: what serving JSON takes), and refused
//!   with 413, 408 or 503 in Jina's `{"detail": ...}` shape.
//! - A gRPC body is a stream of length-prefixed messages. Each message is checked against
//!   the gRPC size limit from its 5-byte prefix, charged to the budget as its bytes arrive,
//!   must arrive whole within the read deadline once begun, and is handed on only when
//!   complete: tonic reserves the declared length as soon as it reads a prefix, so it must
//!   never see the prefix of bytes that have not come. Compressed messages are inflated here
//!   against the same limit, so a bomb stops at the limit instead of being inflated whole,
//!   and the inflated size is charged too. Each whole message's charge and size wait in the
//!   request's [`ArrivedMessages`] for the handler, which holds the charge until the answer
//!   is sent.
//! - Once shutdown has begun, new requests that carry data are refused (gRPC UNAVAILABLE,
//!   HTTP 503), saying so.

use std::collections::VecDeque;
use std::future::Future as _;
use std::io::Read as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use flowhost_telemetry::{Front, Refused};
use http_body::Frame;
use http_body_util::BodyExt as _;
use tokio::time::{Instant, Sleep};

use super::Shared;
use super::in_flight::Holding;
use super::limits::{BudgetSpent, Charge, JSON_EXPANSION, bytes_text};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What shutting down answers to a new request.
pub const SHUTTING_DOWN: &str = "the flow is shutting down and takes no new requests";

/// `app` with every request admitted here first.
pub fn layer(app: axum::Router, shared: Arc<Shared>) -> axum::Router {
    app.layer(axum::middleware::from_fn_with_state(shared, admit))
}

async fn admit(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let stopping = *shared.shutdown.borrow();
    if is_grpc(&request) {
        if stopping {
            shared.count_refusal(Front::Grpc, Refused::ShuttingDown);
            return tonic::Status::unavailable(SHUTTING_DOWN).into_http::<Body>();
        }
        let (mut parts, body) = request.into_parts();
        let arrived = ArrivedMessages::default();
        parts.extensions.insert(arrived.clone());
        let encoding = parts
            .headers
            .get("grpc-encoding")
            .and_then(|v| v.to_str().ok())
            .and_then(Encoding::parse);
        let body = Body::new(GrpcMessages::new(body, shared, encoding, arrived));
        return next.run(Request::from_parts(parts, body)).await;
    }
    let upgrade = request.headers().contains_key(header::UPGRADE);
    let carries_data = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || upgrade;
    if !carries_data {
        return next.run(request).await;
    }
    let front = if upgrade {
        Front::WebSocket
    } else {
        Front::Http
    };
    if stopping {
        shared.count_refusal(front, Refused::ShuttingDown);
        return refusal(StatusCode::SERVICE_UNAVAILABLE, SHUTTING_DOWN.to_owned());
    }
    let (parts, body) = request.into_parts();
    match read_body(body, &shared).await {
        Ok((bytes, charge)) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            response.map(|body| Body::new(Holding::new(body, charge)))
        }
        Err((why, refused)) => {
            shared.count_refusal(front, why);
            refused
        }
    }
}

fn is_grpc(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// Jina's HTTP error shape.
fn refusal(status: StatusCode, detail: String) -> Response {
    let mut response = (
        status,
        axum::Json(flowhost_wire::json::error_detail(detail)),
    )
        .into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// Reads a whole HTTP body within the limits, charging the budget as it arrives; or says
/// why not, with the answer.
async fn read_body(
    mut body: Body,
    shared: &Shared,
) -> Result<(Bytes, Charge), (Refused, Response)> {
    let limits = &shared.config.limits;
    let too_large = || {
        (
            Refused::TooLarge,
            refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is larger than this flow's max_request_size ({})",
                    bytes_text(limits.max_request_size)
                ),
            ),
        )
    };
    if body.size_hint().lower() > limits.max_request_size as u64 {
        return Err(too_large());
    }
    let deadline = tokio::time::sleep(limits.read_timeout);
    tokio::pin!(deadline);
    let mut charge = Charge::default();
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut total = 0usize;
    loop {
        // Biased: a body that is already in never touches the timer.
        let frame = tokio::select! {
            biased;
            frame = body.frame() => Ok(frame),
            _ = &mut deadline => Err(()),
        };
        let frame = match frame {
            Err(()) => {
                return Err((
                    Refused::ReadTimeout,
                    refusal(
                        StatusCode::REQUEST_TIMEOUT,
                        format!(
                            "the request body did not arrive within this flow's read_timeout_ms ({} ms)",
                            limits.read_timeout.as_millis()
                        ),
                    ),
                ));
            }
            Ok(None) => break,
            Ok(Some(Err(error))) => {
                return Err((
                    Refused::Unreadable,
                    refusal(
                        StatusCode::BAD_REQUEST,
                        format!("the request body could not be read: {error}"),
                    ),
                ));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len();
        if total > limits.max_request_size {
            return Err(too_large());
        }
        let memory = total.saturating_mul(JSON_EXPANSION);
        if memory > shared.budget.total() {
            // Not a busy gateway: this request could never fit.
            return Err((
                Refused::TooLarge,
                refusal(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "a JSON body of {total} bytes takes about {JSON_EXPANSION}× that in memory, more than this flow's request_memory_budget ({}); send smaller requests or use gRPC",
                        bytes_text(shared.budget.total())
                    ),
                ),
            ));
        }
        shared.budget.grow(&mut charge, memory).map_err(|spent| {
            (
                Refused::Overloaded,
                refusal(StatusCode::SERVICE_UNAVAILABLE, spent.to_string()),
            )
        })?;
        chunks.push(data);
    }
    let bytes = match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop().unwrap_or_default(),
        _ => Bytes::from(chunks.concat()),
    };
    Ok((bytes, charge))
}

/// The gRPC request's messages that have arrived whole, oldest first: the handler takes
/// one for each message it reads and holds its charge until that message is answered.
#[derive(Debug, Clone, Default)]
pub struct ArrivedMessages(Arc<Mutex<VecDeque<Arrived>>>);

/// One message that arrived whole.
#[derive(Debug, Default)]
pub struct Arrived {
    /// Its share of the request memory budget, given back when this is dropped.
    _charge: Charge,
    /// Its size as protobuf, inflated if it came compressed, without gRPC's prefix: what
    /// the metrics count as received, known here without sizing the decoded message again.
    pub bytes: usize,
}

impl ArrivedMessages {
    /// The oldest message not yet taken.
    pub fn take(&self) -> Arrived {
        self.0
            .lock()
            .map(|mut queue| queue.pop_front().unwrap_or_default())
            .unwrap_or_default()
    }

    fn push(&self, charge: Charge, bytes: usize) {
        if let Ok(mut queue) = self.0.lock() {
            queue.push_back(Arrived {
                _charge: charge,
                bytes,
            });
        }
    }
}

/// gRPC message compression the gateway inflates itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Gzip,
    /// gRPC's "deflate" is zlib-wrapped.
    Deflate,
}

impl Encoding {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "gzip" => Some(Encoding::Gzip),
            "deflate" => Some(Encoding::Deflate),
            _ => None,
        }
    }
}

const PREFIX: usize = 5;

/// Why a gRPC message is not handed on, and the status that tells the client.
struct NotTaken {
    why: Refused,
    status: tonic::Status,
}

/// A gRPC request body, handed on one whole message at a time (see the module doc).
struct GrpcMessages {
    inner: Body,
    shared: Arc<Shared>,
    encoding: Option<Encoding>,
    arrived: ArrivedMessages,
    /// The current message's prefix, and how much of it has come.
    prefix: [u8; PREFIX],
    prefix_len: usize,
    /// Body bytes of the current message still to come, once its prefix is in.
    body_left: usize,
    /// Body bytes of the current message that have come.
    parts: Vec<Bytes>,
    /// Bytes of the current message so far, prefix included.
    received: usize,
    charge: Charge,
    /// When the current message began; it must be whole `read_timeout` later.
    began: Option<Instant>,
    /// The timer for that, made only when the body has to wait mid-message (most messages
    /// arrive in one frame and never need one).
    deadline: Option<Pin<Box<Sleep>>>,
    /// Whole messages' bytes, ready to hand on.
    ready: VecDeque<Bytes>,
    /// Why the body ends early: told after the whole messages before it are handed on.
    failed: Option<tonic::Status>,
    trailers: Option<HeaderMap>,
    ended: bool,
}

impl GrpcMessages {
    fn new(
        inner: Body,
        shared: Arc<Shared>,
        encoding: Option<Encoding>,
        arrived: ArrivedMessages,
    ) -> Self {
        Self {
            inner,
            shared,
            encoding,
            arrived,
            prefix: [0; PREFIX],
            prefix_len: 0,
            body_left: 0,
            parts: Vec::new(),
            received: 0,
            charge: Charge::default(),
            began: None,
            deadline: None,
            ready: VecDeque::new(),
            failed: None,
            trailers: None,
            ended: false,
        }
    }

    fn limit(&self) -> usize {
        self.shared.config.limits.max_grpc_message_size
    }

    fn too_large(&self, what: &str, bytes: usize) -> NotTaken {
        NotTaken {
            why: Refused::TooLarge,
            status: tonic::Status::resource_exhausted(format!(
                "{what} of {bytes} bytes is larger than this flow's gRPC message limit ({}; set with max_request_size or grpc_server_options' grpc.max_receive_message_length)",
                bytes_text(self.limit())
            )),
        }
    }

    fn spent(error: BudgetSpent) -> NotTaken {
        NotTaken {
            why: Refused::Overloaded,
            status: tonic::Status::resource_exhausted(error.to_string()),
        }
    }

    fn unreadable(message: String) -> NotTaken {
        NotTaken {
            why: Refused::Unreadable,
            status: tonic::Status::invalid_argument(message),
        }
    }

    /// Takes in the next data frame, splitting it at message boundaries.
    fn absorb(&mut self, mut data: Bytes) -> Result<(), NotTaken> {
        while !data.is_empty() {
            if self.prefix_len == 0 && self.whole_message_in(&data) {
                self.take_whole(&mut data)?;
                continue;
            }
            if self.prefix_len < PREFIX {
                if self.prefix_len == 0 {
                    self.began = Some(Instant::now());
                }
                let take = (PREFIX - self.prefix_len).min(data.len());
                let piece = data.split_to(take);
                self.prefix[self.prefix_len..self.prefix_len + take].copy_from_slice(&piece);
                self.prefix_len += take;
                self.received += take;
                if self.prefix_len == PREFIX {
                    let declared = u32::from_be_bytes([
                        self.prefix[1],
                        self.prefix[2],
                        self.prefix[3],
                        self.prefix[4],
                    ]) as usize;
                    if declared > self.limit() {
                        return Err(self.too_large("a message", declared));
                    }
                    self.body_left = declared;
                }
            } else {
                let take = self.body_left.min(data.len());
                self.parts.push(data.split_to(take));
                self.body_left -= take;
                self.received += take;
            }
            self.shared
                .budget
                .grow(&mut self.charge, self.received)
                .map_err(Self::spent)?;
            if self.prefix_len == PREFIX && self.body_left == 0 {
                self.complete()?;
            }
        }
        Ok(())
    }

    /// Whether `data` starts with a whole, uncompressed message within the limit: the common
    /// case, handed on as the very bytes that came (no copy, no timer).
    fn whole_message_in(&self, data: &Bytes) -> bool {
        if data.len() < PREFIX || data[0] & 1 == 1 {
            return false;
        }
        let declared = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
        declared <= self.limit() && data.len() - PREFIX >= declared
    }

    fn take_whole(&mut self, data: &mut Bytes) -> Result<(), NotTaken> {
        let declared = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
        let message = data.split_to(PREFIX + declared);
        let charge = self
            .shared
            .budget
            .charge(message.len())
            .map_err(Self::spent)?;
        self.ready.push_back(message);
        self.arrived.push(charge, declared);
        Ok(())
    }

    /// The current message is whole: hand it on (inflated if it came compressed).
    fn complete(&mut self) -> Result<(), NotTaken> {
        let parts = std::mem::take(&mut self.parts);
        let compressed = self.prefix[0] & 1 == 1;
        let mut bytes = self.received - PREFIX;
        match (compressed, self.encoding) {
            (true, Some(encoding)) => {
                let payload = match parts.len() {
                    1 => parts.into_iter().next().unwrap_or_default(),
                    _ => Bytes::from(parts.concat()),
                };
                let inflated = self.inflate(encoding, &payload)?;
                self.shared
                    .budget
                    .grow(&mut self.charge, self.received + inflated.len())
                    .map_err(Self::spent)?;
                let mut prefix = [0u8; PREFIX];
                prefix[1..].copy_from_slice(&(inflated.len() as u32).to_be_bytes());
                bytes = inflated.len();
                self.ready.push_back(Bytes::copy_from_slice(&prefix));
                self.ready.push_back(Bytes::from(inflated));
            }
            // Uncompressed, or an encoding tonic will refuse by itself.
            _ => {
                self.ready.push_back(Bytes::copy_from_slice(&self.prefix));
                self.ready.extend(parts);
            }
        }
        self.arrived.push(std::mem::take(&mut self.charge), bytes);
        self.prefix_len = 0;
        self.received = 0;
        self.began = None;
        self.deadline = None;
        Ok(())
    }

    /// Inflates a message, stopping one byte past the limit.
    fn inflate(&self, encoding: Encoding, payload: &[u8]) -> Result<Vec<u8>, NotTaken> {
        let limit = self.limit();
        let mut reader: Box<dyn std::io::Read + '_> = match encoding {
            Encoding::Gzip => Box::new(flate2::read::GzDecoder::new(payload)),
            Encoding::Deflate => Box::new(flate2::read::ZlibDecoder::new(payload)),
        };
        let mut inflated = Vec::new();
        (&mut reader)
            .take(limit as u64 + 1)
            .read_to_end(&mut inflated)
            .map_err(|error| {
                Self::unreadable(format!(
                    "a compressed message could not be inflated: {error}"
                ))
            })?;
        if inflated.len() > limit {
            return Err(self.too_large("a message inflated", inflated.len()));
        }
        Ok(inflated)
    }

    /// Ends the body with the refusal's status, after the whole messages already in.
    fn fail(&mut self, not_taken: NotTaken) {
        self.shared.count_refusal(Front::Grpc, not_taken.why);
        self.failed = Some(not_taken.status);
        self.ended = true;
        self.began = None;
        self.deadline = None;
        self.parts.clear();
        self.charge = Charge::default();
    }

    fn read_timed_out(&self) -> NotTaken {
        NotTaken {
            why: Refused::ReadTimeout,
            status: tonic::Status::deadline_exceeded(format!(
                "a request message did not arrive whole within this flow's read_timeout_ms ({} ms)",
                self.shared.config.limits.read_timeout.as_millis()
            )),
        }
    }
}

impl HttpBody for GrpcMessages {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            if let Some(bytes) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(Frame::data(bytes))));
            }
            if let Some(status) = this.failed.take() {
                return Poll::Ready(Some(Err(Box::new(status))));
            }
            if this.ended {
                return Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))));
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => {
                    // Waiting mid-message: that wait is bounded by the read deadline.
                    let Some(began) = this.began else {
                        return Poll::Pending;
                    };
                    let limit = this.shared.config.limits.read_timeout;
                    let deadline = this
                        .deadline
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(began + limit)));
                    if deadline.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.fail(this.read_timed_out());
                }
                Poll::Ready(None) if this.prefix_len > 0 => this.fail(Self::unreadable(
                    "the request ended in the middle of a message".to_owned(),
                )),
                Poll::Ready(None) => this.ended = true,
                Poll::Ready(Some(Err(error))) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(error.into())));
                }
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        if let Err(not_taken) = this.absorb(data) {
                            this.fail(not_taken);
                        }
                    }
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            this.trailers = Some(trailers);
                        }
                    }
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.ready.is_empty() && self.failed.is_none() && self.trailers.is_none()
    }
}
