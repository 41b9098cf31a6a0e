//! OpenTelemetry export: the real binary with `--otlp-endpoint` sends its per-call spans
//! to a real OTLP/gRPC collector service, as children of the caller's `traceparent`.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use tokio::sync::mpsc;

use crate::support::{connect, free_port};

struct Collector {
    spans: mpsc::UnboundedSender<ExportTraceServiceRequest>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let _ = self.spans.send(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT_ID: &str = "b7ad6b7169203331";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn rpc_spans_reach_the_collector_under_the_callers_trace() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_port = listener.local_addr().unwrap().port();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Collector { spans: tx }))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_consentd"))
        .args(["--listen-addr", &format!("127.0.0.1:{port}"), "--metrics-addr", "off", "--data-dir"])
        .arg(dir.path())
        .args(["--otlp-endpoint", &format!("http://127.0.0.1:{collector_port}")])
        // Export every 100 ms instead of every 5 s (the SDK's standard variable).
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();

    let mut health = tonic_health::pb::health_client::HealthClient::new(connect(port).await);
    let mut req = tonic::Request::new(tonic_health::pb::HealthCheckRequest { service: String::new() });
    req.metadata_mut().insert("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01").parse().unwrap());
    health.check(req).await.unwrap();
    // A call without a traceparent starts its own trace (sample ratio 1 by default).
    health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.unwrap();

    let (mut adopted, mut own) = (false, false);
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(export) = rx.recv().await {
            for rs in &export.resource_spans {
                let service = rs
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .find(|a| a.key == "service.name")
                    .and_then(|a| a.value.as_ref()?.value.clone());
                assert_eq!(service, Some(Value::StringValue("consentd".into())));
                for span in rs.scope_spans.iter().flat_map(|s| &s.spans) {
                    if span.name != "rpc" {
                        continue;
                    }
                    let rpc = span.attributes.iter().find(|a| a.key == "rpc").and_then(|a| a.value.clone());
                    assert_eq!(
                        rpc.and_then(|v| v.value),
                        Some(Value::StringValue("/grpc.health.v1.Health/Check".into())),
                        "{span:?}"
                    );
                    assert!(span.attributes.iter().any(|a| a.key == "request_id"), "{span:?}");
                    if hex(&span.trace_id) == TRACE_ID {
                        assert_eq!(hex(&span.parent_span_id), PARENT_ID, "{span:?}");
                        adopted = true;
                    } else {
                        assert!(span.parent_span_id.is_empty(), "{span:?}");
                        own = true;
                    }
                }
            }
            if adopted && own {
                return;
            }
        }
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(found.is_ok(), "the collector did not get both rpc spans (adopted {adopted}, own {own})");
}
