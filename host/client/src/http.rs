//! The client over HTTP: `POST /post` with Jina's JSON, `prefetch` connections at a time.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request as HttpRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::{Client, ClientError, RequestError, RequestResult, judge, tls};
use flowhost_wire::Request;

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(client: &Client) -> Result<Sender, ClientError> {
    let address = client.address();
    let stream = TcpStream::connect(&address)
        .await
        .map_err(|e| ClientError::Connect {
            address: address.clone(),
            reason: e.to_string(),
        })?;
    let _ = stream.set_nodelay(true);
    let handshake_error = |e: hyper::Error| ClientError::Connect {
        address: address.clone(),
        reason: e.to_string(),
    };
    let sender = match &client.trust {
        None => {
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(handshake_error)?;
            tokio::spawn(conn);
            sender
        }
        Some(trust) => {
            let connector = tls::connector(trust, &[b"http/1.1"])?;
            let stream = tls::connect(&connector, &client.host, stream).await?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(handshake_error)?;
            tokio::spawn(conn);
            sender
        }
    };
    Ok(sender)
}

async fn exchange(
    sender: &mut Sender,
    client: &Client,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Bytes), String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = HttpRequest::builder()
        .method(method)
        .uri(path)
        .header("host", client.address())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, bytes))
}

pub async fn dry_run(client: &Client) -> Result<bool, ClientError> {
    let mut sender = connect(client).await?;
    let (status, body) = exchange(&mut sender, client, "GET", "/dry_run", None)
        .await
        .map_err(|reason| ClientError::Transport {
            address: client.address(),
            reason,
        })?;
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok(status == 200 && value["code"] == json!(0))
}

pub async fn send(
    client: &Client,
    requests: Vec<Request>,
) -> Result<Vec<RequestResult>, ClientError> {
    let total = requests.len();
    let queue = Arc::new(Mutex::new(requests.into_iter().enumerate()));
    let workers = client.prefetch.min(total);
    let mut senders = Vec::with_capacity(workers);
    for _ in 0..workers {
        senders.push(connect(client).await?);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for mut sender in senders {
        let queue = queue.clone();
        let client = client.clone();
        tasks.spawn(async move {
            let mut done = Vec::new();
            loop {
                let next = queue.lock().await.next();
                let Some((i, request)) = next else { break };
                done.push((i, one(&mut sender, &client, request).await));
            }
            done
        });
    }
    let mut results: Vec<Option<RequestResult>> = (0..total).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        for (i, result) in joined.unwrap_or_default() {
            results[i] = Some(result);
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(RequestError::Lost("worker failed".into()))))
        .collect())
}

async fn one(sender: &mut Sender, client: &Client, request: Request) -> RequestResult {
    let body = json!({
        "data": flowhost_wire::json::documents::batch_to_json(&request.docs),
        "execEndpoint": request.endpoint,
        "parameters": request.parameters,
        "targetExecutor": request.target_executor.clone().unwrap_or_default(),
        "requestId": request.request_id,
    });
    let (status, reply) = exchange(sender, client, "POST", "/post", Some(body))
        .await
        .map_err(RequestError::Lost)?;
    if status == 400 || status == 422 {
        let body = serde_json::from_slice(&reply).unwrap_or(Value::Null);
        return Err(RequestError::Rejected(flowhost_wire::json::error_reason(
            body,
        )));
    }
    if status != 200 {
        return Err(RequestError::Lost(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&reply)
        )));
    }
    // Jina's JSON answer, read by the wire's one reader of that shape.
    flowhost_wire::json::response_from_slice(&reply)
        .map_err(|error| RequestError::Lost(error.to_string()))
        .and_then(judge)
}
