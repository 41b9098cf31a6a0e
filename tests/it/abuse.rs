//! What a hostile or careless client can do, and what it can no longer do: oversized
//! batches, undecodable messages, connection floods, streams of revoked keys, one tenant
//! taking every purpose number, a history larger than a message, and the drain.

use std::time::Duration;

use consentd::api::pb;
use consentd::api::pb::ConsentStatus::{OptedIn, OptedOut};
use prost::Message;
use tokio::io::AsyncReadExt;
use tokio_stream::wrappers::ReceiverStream;

use crate::support::*;

#[tokio::test]
async fn millions_of_empty_items_are_refused_before_they_are_decoded() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    // 8 M empty `SetConsentRequest`s in 16 MiB: 2.9 GB once decoded, before this change.
    let mut consent = server.consent(None).await;
    let many = pb::BatchSetConsentRequest {
        requests: vec![pb::SetConsentRequest::default(); 8_000_000],
        validate_only: false,
    };
    assert!(many.encoded_len() <= 16 << 20);
    let err = consent.batch_set_consent(many).await.expect_err("refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("items per message"), "{err:?}");

    // Just over the service's own limit: the field is named.
    let over =
        pb::BatchSetConsentRequest { requests: vec![pb::SetConsentRequest::default(); 1_001], validate_only: false };
    assert_eq!(bad_field(&consent.batch_set_consent(over).await.expect_err("over")), "requests");

    // The server is fine afterwards.
    let r = set(&mut consent, change("jane@example.com", "newsletter", "", OptedIn)).await;
    assert!(r.revision > 0);
    server.stop().await;
}

#[tokio::test]
async fn overrides_never_outnumber_recipients() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut decision = server.decision(None).await;
    let mut req = pb::CheckStreamRequest {
        batch_id: 1,
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        purpose_id: "newsletter".into(),
        contact_points: vec!["jane@example.com".into()],
        ..Default::default()
    };
    req.overrides = vec![pb::ItemOverride { index: 0, channel: 0, topic_id: "events".into() }; 1_000];
    let mut inbound = decision.check_stream(tokio_stream::iter(vec![req.clone()])).await.expect("stream").into_inner();
    assert_eq!(bad_field(&inbound.message().await.expect_err("too many")), "overrides");

    req.contact_points.push("john@example.com".into());
    req.overrides.truncate(2);
    let mut inbound = decision.check_stream(tokio_stream::iter(vec![req])).await.expect("stream").into_inner();
    assert_eq!(bad_field(&inbound.message().await.expect_err("twice")), "overrides[1].index");
    server.stop().await;
}

#[tokio::test]
async fn an_undecodable_message_is_invalid_argument() {
    let server = TestServer::start().await;
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.expect("ready");
    // A CheckStreamRequest (field 1 is a varint) sent where CheckRequest (field 1 is a
    // string) is expected: the wire types disagree.
    let wrong = pb::CheckStreamRequest { batch_id: 7, ..Default::default() };
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/consent.v1.DecisionService/Check");
    let codec: tonic_prost::ProstCodec<pb::CheckStreamRequest, pb::CheckResponse> = tonic_prost::ProstCodec::default();
    let err = grpc.unary(tonic::Request::new(wrong), path, codec).await.expect_err("undecodable");
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    server.stop().await;
}

#[tokio::test]
async fn connection_floods_are_capped_and_silent_connections_closed() {
    let server = TestServer::start_with(|c| {
        c.limits.connections_max = 20;
        c.limits.handshake_timeout_ms = 2_000;
    })
    .await;
    // 30 raw TCP connections that never say anything.
    let mut idle = Vec::new();
    for _ in 0..30 {
        idle.push(tokio::net::TcpStream::connect(server.addr).await.expect("connect"));
    }
    // Past the cap, connections are closed at once; the rest after the handshake deadline.
    let mut closed = 0;
    for s in &mut idle {
        // The server may greet with its HTTP/2 settings first; then it must hang up.
        let mut sink = Vec::new();
        match tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut sink)).await {
            Ok(_) => closed += 1,
            Err(_) => panic!("a silent connection was held open"),
        }
    }
    assert_eq!(closed, 30);
    assert!(server.metric("consentd_connections_refused_total").await >= 10.0);
    assert!(server.metric("consentd_connections_timed_out_total").await >= 1.0);
    // Real clients get through once the flood is gone.
    let mut d = server.decision(None).await;
    seed(&mut server.admin(None).await, None).await;
    let answer = check(&mut d, pb::Channel::Email, "x@example.com", "newsletter", "").await;
    assert_ne!(reason(&answer), pb::Reason::Unspecified);
    server.stop().await;
}

#[tokio::test]
async fn revoking_a_key_ends_its_open_streams() {
    let server = TestServer::start().await;
    let mut local = server.admin(None).await;
    let root = local
        .create_api_key(pb::CreateApiKeyRequest {
            description: "root".into(),
            scopes: vec![pb::ApiKeyScope::Admin as i32, pb::ApiKeyScope::Write as i32, pb::ApiKeyScope::Check as i32],
            ..Default::default()
        })
        .await
        .expect("root")
        .into_inner()
        .secret;
    let mut admin = server.admin(Some(&root)).await;
    seed(&mut admin, None).await;
    let created = admin
        .create_api_key(pb::CreateApiKeyRequest {
            description: "sender".into(),
            scopes: vec![pb::ApiKeyScope::Check as i32, pb::ApiKeyScope::Write as i32],
            ..Default::default()
        })
        .await
        .expect("key")
        .into_inner();
    let key = created.secret;
    let key_id = created.api_key.expect("key").key_id;

    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut decision = server.decision(Some(&key)).await;
    let mut answers = decision.check_stream(ReceiverStream::new(rx)).await.expect("stream").into_inner();
    let batch = pb::CheckStreamRequest {
        batch_id: 1,
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        purpose_id: "newsletter".into(),
        contact_points: vec!["jane@example.com".into()],
        ..Default::default()
    };
    tx.send(batch.clone()).await.expect("send");
    assert!(answers.message().await.expect("answer").is_some());
    let mut watch = server
        .consent(Some(&key))
        .await
        .watch_changes(pb::WatchChangesRequest { after_revision: 0, profile_ids: vec![] })
        .await
        .expect("watch")
        .into_inner();

    admin.revoke_api_key(pb::RevokeApiKeyRequest { key_id }).await.expect("revoke");
    // Both streams end with UNAUTHENTICATED, though neither sent anything new.
    let err = tokio::time::timeout(Duration::from_secs(10), answers.message()).await.expect("ended").expect_err("err");
    assert_eq!(err.code(), tonic::Code::Unauthenticated, "{err:?}");
    let err = loop {
        match tokio::time::timeout(Duration::from_secs(10), watch.message()).await.expect("ended") {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("watch ended without an error"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.code(), tonic::Code::Unauthenticated, "{err:?}");
    drop(tx);
    server.stop().await;
}

#[tokio::test]
async fn expired_keys_are_refused() {
    let server = TestServer::start().await;
    let key = |expire_time| pb::CreateApiKeyRequest {
        description: "k".into(),
        scopes: vec![pb::ApiKeyScope::Admin as i32],
        expire_time,
        ..Default::default()
    };
    let root = server.admin(None).await.create_api_key(key(None)).await.expect("root").into_inner().secret;
    let mut root = server.admin(Some(&root)).await;
    let in_a_minute = prost_types::Timestamp { seconds: now_us() / 1_000_000 + 60, nanos: 0 };
    let created = root.create_api_key(key(Some(in_a_minute))).await.expect("temporary").into_inner();
    assert!(created.api_key.expect("key").expire_time.is_some());
    let mut temporary = server.admin(Some(&created.secret)).await;
    temporary.list_profiles(pb::ListProfilesRequest::default()).await.expect("valid now");
    server.advance(120);
    let err = temporary.list_profiles(pb::ListProfilesRequest::default()).await.expect_err("expired");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    root.list_profiles(pb::ListProfilesRequest::default()).await.expect("a key without expiry still works");
    // An expiry in the past is refused when the key is made.
    let past = prost_types::Timestamp { seconds: 1, nanos: 0 };
    assert_eq!(bad_field(&root.create_api_key(key(Some(past))).await.expect_err("past")), "expire_time");
    server.stop().await;
}

#[tokio::test]
async fn one_profile_cannot_take_every_purpose_number() {
    let server = TestServer::start_with(|c| c.limits.purposes_per_profile_max = 3).await;
    let mut admin = server.admin(None).await;
    seed(&mut admin, None).await; // two purposes
    let purpose = |profile: &str, id: &str| pb::CreatePurposeRequest {
        purpose: Some(pb::Purpose {
            profile_id: profile.into(),
            purpose_id: id.into(),
            kind: pb::PurposeKind::Commercial as i32,
            ..Default::default()
        }),
    };
    admin.create_purpose(purpose("acme", "third")).await.expect("third");
    let err = admin.create_purpose(purpose("acme", "fourth")).await.expect_err("quota");
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("acme"), "{err:?}");
    // Another profile still can.
    seed_profile(&mut admin, "other", None).await;
    server.stop().await;
}

#[tokio::test]
async fn a_long_history_is_exported_in_pages() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let events = 1_203;
    let changes: Vec<pb::SetConsentRequest> = (0..events)
        .map(|i| {
            let mut c = change("busy@example.com", "newsletter", "", if i % 2 == 0 { OptedIn } else { OptedOut });
            c.occurred_at = Some(prost_types::Timestamp { seconds: 1_700_000_000 + i64::from(i), nanos: 0 });
            pb::SetConsentRequest { change: Some(c), idempotency_key: String::new() }
        })
        .collect();
    for chunk in changes.chunks(1_000) {
        consent
            .batch_set_consent(pb::BatchSetConsentRequest { requests: chunk.to_vec(), validate_only: false })
            .await
            .expect("batch");
    }
    set(&mut consent, change("quiet@example.com", "newsletter", "", OptedIn)).await;
    let mut stream = consent
        .export_records(pb::ExportRecordsRequest { profile_id: "acme".into(), include_history: true })
        .await
        .expect("export")
        .into_inner();
    let mut busy_messages = 0;
    let mut busy_events = Vec::new();
    let mut quiet_events = 0;
    while let Some(m) = stream.message().await.expect("page") {
        if m.contact_point == "busy@example.com" {
            busy_messages += 1;
            assert_eq!(m.records.is_empty(), busy_messages > 1, "records only in the first message");
            busy_events.extend(m.events.iter().map(|e| e.seq));
        } else {
            quiet_events += m.events.len();
        }
    }
    assert_eq!(busy_messages, 3);
    assert_eq!(busy_events, (1..=events as u64).collect::<Vec<_>>(), "every event once, in order");
    assert_eq!(quiet_events, 1);
    server.stop().await;
}

#[tokio::test]
async fn draining_reports_not_serving_for_the_whole_server() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    // An open stream keeps the drain going while we look.
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::CheckStreamRequest>(1);
    let mut decision = server.decision(None).await;
    let _answers = decision.check_stream(ReceiverStream::new(rx)).await.expect("stream");
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    let ask = |name: &str| tonic_health::pb::HealthCheckRequest { service: name.into() };
    let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
    assert_eq!(health.check(ask("")).await.expect("health").into_inner().status, serving);
    let dir = server.begin_stop();
    let mut seen_not_serving = false;
    for _ in 0..100 {
        match health.check(ask("")).await {
            Ok(r) if r.get_ref().status != serving => {
                seen_not_serving = true;
                break;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(_) => break,
        }
    }
    assert!(seen_not_serving, "\"\" must say NOT_SERVING while draining");
    drop(tx);
    dir.finish().await;
}

#[tokio::test]
async fn a_second_signal_cuts_the_drain_short() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let mut child = spawn(dir.path(), port, &["--shutdown-grace-ms", "600000"]);
    let ch = connect(port).await;
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::CheckStreamRequest>(1);
    let mut decision = pb::decision_service_client::DecisionServiceClient::new(ch);
    let _answers = decision.check_stream(ReceiverStream::new(rx)).await.expect("stream");
    signal(&child, "TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(child.try_wait().expect("wait").is_none(), "the first signal drains; the open stream holds it");
    signal(&child, "TERM");
    // Far less than the 10-minute grace period: the second signal ended it.
    let mut exited = None;
    for _ in 0..300 {
        exited = child.try_wait().expect("wait");
        if exited.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(exited.is_some(), "a second signal must stop the server");
    drop(tx);
}

#[tokio::test]
async fn the_offline_key_command_recovers_a_locked_out_store() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let mut child = spawn(dir.path(), port, &[]);
    let mut admin =
        pb::admin_service_client::AdminServiceClient::with_interceptor(connect(port).await, TestServer::auth(None));
    let only = admin
        .create_api_key(pb::CreateApiKeyRequest { scopes: vec![pb::ApiKeyScope::Admin as i32], ..Default::default() })
        .await
        .expect("key")
        .into_inner();
    let mut admin = pb::admin_service_client::AdminServiceClient::with_interceptor(
        connect(port).await,
        TestServer::auth(Some(&only.secret)),
    );
    admin
        .revoke_api_key(pb::RevokeApiKeyRequest { key_id: only.api_key.expect("k").key_id })
        .await
        .expect("revoke the last key");
    // While the server runs, the data directory is locked.
    let busy = std::process::Command::new(env!("CARGO_BIN_EXE_consentd"))
        .args(["--create-admin-key", "recovery", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!busy.status.success());
    signal(&child, "TERM");
    child.wait().expect("wait");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_consentd"))
        .args(["--create-admin-key", "recovery", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(key.starts_with("ck_"), "{key}");
    let mut child = spawn(dir.path(), port, &[]);
    let mut admin = pb::admin_service_client::AdminServiceClient::with_interceptor(
        connect(port).await,
        TestServer::auth(Some(&key)),
    );
    admin.list_api_keys(pb::ListApiKeysRequest::default()).await.expect("the new key works");
    child.kill().expect("kill");
    let _ = child.wait();
}

#[tokio::test]
async fn reflection_answers_v1alpha_clients_too() {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    let server = TestServer::start().await;
    let mut client = ServerReflectionClient::new(server.channel().await);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut inbound = client.server_reflection_info(tokio_stream::iter(vec![req])).await.expect("v1alpha").into_inner();
    let resp = inbound.message().await.expect("ok").expect("answer");
    match resp.message_response {
        Some(MessageResponse::ListServicesResponse(l)) => {
            assert!(l.service.iter().any(|s| s.name == "consent.v1.DecisionService"), "{l:?}");
        }
        other => panic!("{other:?}"),
    }
    drop(inbound);
    server.stop().await;
}

#[tokio::test]
async fn check_streams_are_capped_server_wide() {
    let server = TestServer::start_with(|c| c.limits.check_streams_max = 3).await;
    seed(&mut server.admin(None).await, None).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let (tx, rx) = tokio::sync::mpsc::channel::<pb::CheckStreamRequest>(1);
        let stream = server.decision(None).await.check_stream(ReceiverStream::new(rx)).await.expect("within the cap");
        open.push((tx, stream));
    }
    let (_tx, rx) = tokio::sync::mpsc::channel::<pb::CheckStreamRequest>(1);
    let err = server.decision(None).await.check_stream(ReceiverStream::new(rx)).await.expect_err("over the cap");
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
    // Closing one frees its slot.
    drop(open.pop());
    let mut admitted = false;
    for _ in 0..50 {
        let (_tx, rx) = tokio::sync::mpsc::channel::<pb::CheckStreamRequest>(1);
        if server.decision(None).await.check_stream(ReceiverStream::new(rx)).await.is_ok() {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted, "a closed stream must give its slot back");
    drop(open);
    server.stop().await;
}

#[tokio::test]
async fn a_nearly_full_disk_refuses_writes_but_keeps_deciding() {
    // A minimum no disk has: the store behaves as on a full disk.
    let server = TestServer::start_with(|c| c.limits.disk_free_min_bytes = u64::MAX).await;
    let mut admin = server.admin(None).await;
    let err = admin
        .create_profile(pb::CreateProfileRequest {
            profile: Some(pb::Profile { profile_id: "acme".into(), ..Default::default() }),
        })
        .await
        .expect_err("refused");
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("disk"), "{err:?}");
    assert!(server.reports_not_serving("consentd.storage").await, "health must report the refusing store");
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    let decisions = health
        .check(tonic_health::pb::HealthCheckRequest { service: "consent.v1.DecisionService".into() })
        .await
        .expect("health")
        .into_inner()
        .status;
    assert_eq!(decisions, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
    assert_eq!(server.metric("consentd_storage_writes_refused").await, 1.0);
    server.stop().await;
}

#[tokio::test]
async fn refused_authentication_is_logged_without_secrets() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_consentd"))
        .args(["--listen-addr", &format!("127.0.0.1:{port}"), "--metrics-addr", "off", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn consentd");
    let ch = connect(port).await;
    let mut admin = pb::admin_service_client::AdminServiceClient::with_interceptor(ch.clone(), TestServer::auth(None));
    admin
        .create_api_key(pb::CreateApiKeyRequest { scopes: vec![pb::ApiKeyScope::Admin as i32], ..Default::default() })
        .await
        .expect("key");
    let forged = "ck_00000000deadbeef.s3cr3t-never-logged";
    let mut intruder =
        pb::decision_service_client::DecisionServiceClient::with_interceptor(ch, TestServer::auth(Some(forged)));
    let mut request =
        tonic::Request::new(pb::CheckRequest { contact_point: "jane@example.com".into(), ..Default::default() });
    request.metadata_mut().insert("x-request-id", "req-7f3a".parse().expect("id"));
    let err = intruder.check(request).await.expect_err("refused");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    drop((admin, intruder));
    signal(&child, "TERM");
    let out = child.wait_with_output().expect("wait");
    let log = String::from_utf8_lossy(&out.stderr);
    let line =
        log.lines().find(|l| l.contains("authentication refused")).unwrap_or_else(|| panic!("no log line in:\n{log}"));
    assert!(line.contains("ck_00000000deadbeef"), "{line}");
    assert!(line.contains("127.0.0.1"), "{line}");
    // The call's span names the RPC and the caller's request id.
    assert!(line.contains("/consent.v1.DecisionService/Check"), "{line}");
    assert!(line.contains("req-7f3a"), "{line}");
    assert!(
        !log.contains("s3cr3t") && !log.contains("jane@example.com"),
        "a secret or contact point was logged:\n{log}"
    );
}
