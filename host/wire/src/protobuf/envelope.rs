//! Jina's `DataRequestProto` as the envelope's [`Request`] and [`Response`], and back: header,
//! parameters, routes with their timestamps, and status.

use prost::Message as _;
use serde_json::Map;
use std::time::{SystemTime, UNIX_EPOCH};

use super::non_empty;
use super::{
    ConvertError, batch_from_proto, batch_into_proto, batch_to_proto, map_to_struct, struct_to_map,
};
use crate::envelope::{
    DEFAULT_ENDPOINT, ExceptionInfo, Readiness, Refusal, Request, Response, RouteEntry, Status,
};
use crate::proto::docarray::DocumentArrayProto;
use crate::proto::jina::data_request_proto::{DataContentProto, data_content_proto};
use crate::proto::jina::status_proto::{ExceptionProto, StatusCode};
use crate::proto::jina::{DataRequestProto, HeaderProto, RouteProto, StatusProto};

/// A Jina data request as a flow request.
pub fn request_from_proto(message: DataRequestProto) -> Result<Request, ConvertError> {
    let header = message.header.unwrap_or_default();
    let docs = match message.data.and_then(|d| d.documents) {
        None => flowhost_docs::empty_batch(),
        Some(data_content_proto::Documents::Docs(array)) => batch_from_proto(array.docs)?,
        Some(data_content_proto::Documents::DocsBytes(bytes)) => {
            let array = DocumentArrayProto::decode(bytes.as_slice())
                .map_err(|e| ConvertError::DocsBytes(e.to_string()))?;
            batch_from_proto(array.docs)?
        }
    };
    let parameters = match message.parameters {
        None => Map::new(),
        Some(params) => struct_to_map(params),
    };
    Ok(Request {
        request_id: non_empty(header.request_id).unwrap_or_else(flowhost_docs::new_id),
        endpoint: header
            .exec_endpoint
            .and_then(non_empty)
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
        docs,
        parameters,
        target_executor: header.target_executor.and_then(non_empty),
    })
}

/// A flow request as a Jina data request (what the client sends).
pub fn request_to_proto(request: &Request) -> DataRequestProto {
    DataRequestProto {
        header: Some(HeaderProto {
            request_id: request.request_id.clone(),
            status: None,
            exec_endpoint: Some(request.endpoint.clone()),
            target_executor: Some(request.target_executor.clone().unwrap_or_default()),
            timeout: None,
        }),
        parameters: Some(map_to_struct(&request.parameters)),
        routes: Vec::new(),
        data: Some(DataContentProto {
            documents: Some(data_content_proto::Documents::Docs(DocumentArrayProto {
                docs: batch_to_proto(&request.docs),
            })),
        }),
    }
}

/// A flow response as Jina's reply: `header.status` is set only on error, as Jina does.
/// Takes the response by value so document bytes move instead of being copied.
pub fn response_to_proto(response: Response) -> DataRequestProto {
    DataRequestProto {
        header: Some(HeaderProto {
            status: status_to_proto(&response.status),
            request_id: response.request_id,
            exec_endpoint: Some(response.endpoint),
            target_executor: Some(String::new()),
            timeout: None,
        }),
        parameters: Some(map_to_struct(&response.parameters)),
        routes: response.routes.iter().map(route_to_proto).collect(),
        data: Some(DataContentProto {
            documents: Some(data_content_proto::Documents::Docs(DocumentArrayProto {
                docs: batch_into_proto(response.docs),
            })),
        }),
    }
}

/// A Jina reply as a flow response (what the client receives).
pub fn response_from_proto(message: DataRequestProto) -> Result<Response, ConvertError> {
    let header = message.header.clone().unwrap_or_default();
    let routes = message.routes.iter().map(route_from_proto).collect();
    let status = status_from_proto(header.status.as_ref());
    let request = request_from_proto(message)?;
    Ok(Response {
        request_id: request.request_id,
        endpoint: request.endpoint,
        docs: request.docs,
        parameters: request.parameters,
        routes,
        status,
    })
}

/// A reply saying the gateway did not take the request: only a header, with the refusal's
/// status, as Jina's gateway answers.
pub fn refusal_reply(request_id: String, refusal: Refusal, message: &str) -> DataRequestProto {
    DataRequestProto {
        header: Some(HeaderProto {
            request_id,
            status: status_to_proto(&Status::Error(ExceptionInfo::refusal(refusal, message))),
            exec_endpoint: None,
            target_executor: None,
            timeout: None,
        }),
        ..Default::default()
    }
}

/// Jina's `dry_run` answer: code SUCCESS, or ERROR with the reason.
pub fn readiness_to_proto(readiness: &Readiness) -> StatusProto {
    let (code, description) = match readiness {
        Readiness::Ready => (StatusCode::Success, String::new()),
        Readiness::NotReady(reason) => (StatusCode::Error, reason.clone()),
    };
    StatusProto {
        code: code as i32,
        description,
        exception: None,
    }
}

/// `None` for success (Jina leaves the status unset), the status with its exception otherwise.
pub fn status_to_proto(status: &Status) -> Option<StatusProto> {
    match status {
        Status::Success => None,
        Status::Error(info) => Some(StatusProto {
            code: StatusCode::Error as i32,
            description: info.description.clone(),
            exception: Some(ExceptionProto {
                name: info.name.clone(),
                args: info.args.clone(),
                stacks: info.stacks.clone(),
                executor: info.executor.clone(),
            }),
        }),
    }
}

fn status_from_proto(status: Option<&StatusProto>) -> Status {
    match status {
        Some(s) if s.code == StatusCode::Error as i32 => {
            let exception = s.exception.clone().unwrap_or_default();
            Status::Error(ExceptionInfo {
                name: exception.name,
                args: exception.args,
                stacks: exception.stacks,
                executor: exception.executor,
                description: s.description.clone(),
            })
        }
        _ => Status::Success,
    }
}

fn route_to_proto(route: &RouteEntry) -> RouteProto {
    RouteProto {
        executor: route.executor.clone(),
        start_time: Some(timestamp(route.start)),
        end_time: route.end.map(timestamp),
        status: status_to_proto(&route.status),
    }
}

/// A peer's route times are untrusted: one that is not a `SystemTime` here (out of range,
/// malformed nanos) is dropped rather than trusted or allowed to panic.
fn route_from_proto(route: &RouteProto) -> RouteEntry {
    let time = |t: &prost_types::Timestamp| SystemTime::try_from(*t).ok();
    RouteEntry {
        executor: route.executor.clone(),
        start: route
            .start_time
            .as_ref()
            .and_then(time)
            .unwrap_or(UNIX_EPOCH),
        end: route.end_time.as_ref().and_then(time),
        status: status_from_proto(route.status.as_ref()),
    }
}

fn timestamp(time: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(time)
}
