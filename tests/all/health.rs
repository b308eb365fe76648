//! The standard gRPC health service's `Watch`, as Kubernetes and load balancers use it:
//! the status at once, SERVICE_UNKNOWN for a service the gateway does not serve, and
//! NOT_SERVING then the end of the stream when the gateway shuts down.

use std::time::Duration;

use flowhost_wire::Protocol;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use crate::gateway_support::{FlowServer, signal_term, uses};

/// The watch's next update, or `None` when it has ended.
async fn next(stream: &mut tonic::Streaming<HealthCheckResponse>) -> Option<ServingStatus> {
    let read = tokio::time::timeout(Duration::from_secs(30), stream.message()).await;
    let update = read
        .expect("an update within 30 s")
        .expect("no stream error");
    update.map(|response| response.status())
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_tells_serving_then_not_serving_at_shutdown() {
    let server = FlowServer::start(
        &format!(
            "jtype: Flow\nwith:\n  protocol: grpc\nexecutors:\n- name: foo\n  uses: {}\n",
            uses("foo_executor")
        ),
        1,
    );
    let address = format!("http://127.0.0.1:{}", server.port(Protocol::Grpc));
    let channel = tonic::transport::Endpoint::from_shared(address)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = HealthClient::new(channel);
    let watch = |service: &str| HealthCheckRequest {
        service: service.to_owned(),
    };

    let mut unknown = client
        .watch(watch("no.such.Service"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        next(&mut unknown).await,
        Some(ServingStatus::ServiceUnknown)
    );

    let mut whole = client.watch(watch("")).await.unwrap().into_inner();
    assert_eq!(next(&mut whole).await, Some(ServingStatus::Serving));

    signal_term(server.pid());
    assert_eq!(next(&mut whole).await, Some(ServingStatus::NotServing));
    // Then the stream ends: a watch does not hold the drain.
    assert_eq!(next(&mut whole).await, None);
    assert!(server.stop().success());
}
