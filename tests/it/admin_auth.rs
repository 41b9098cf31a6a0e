//! AdminService and access control: validation, deactivation, API key scopes and profile
//! grants, protected mode, health.

use consentd::api::pb;
use consentd::api::pb::ConsentStatus::OptedIn;

use crate::support::*;

async fn new_key(admin: &mut Admin, scopes: &[pb::ApiKeyScope], profiles: &[&str]) -> String {
    admin
        .create_api_key(pb::CreateApiKeyRequest {
            description: "test".into(),
            scopes: scopes.iter().map(|s| *s as i32).collect(),
            profile_ids: profiles.iter().map(|p| (*p).to_owned()).collect(),
            expire_time: None,
        })
        .await
        .expect("create key")
        .into_inner()
        .secret
}

#[tokio::test]
async fn keys_grant_scopes_and_profiles_and_nothing_more() {
    let server = TestServer::start().await;
    let mut local = server.admin(None).await;
    seed_profile(&mut local, "acme", None).await;
    seed_profile(&mut local, "beta", None).await;
    let root =
        new_key(&mut local, &[pb::ApiKeyScope::Admin, pb::ApiKeyScope::Write, pb::ApiKeyScope::Check], &[]).await;
    let checker = new_key(&mut server.admin(Some(&root)).await, &[pb::ApiKeyScope::Check], &["acme"]).await;
    let writer_a =
        new_key(&mut server.admin(Some(&root)).await, &[pb::ApiKeyScope::Write, pb::ApiKeyScope::Check], &["acme"])
            .await;

    // Once a key exists, anonymous calls are refused.
    let err = server.decision(None).await.check(pb::CheckRequest::default()).await.expect_err("anonymous");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    let err = server
        .decision(Some("ck_nope.secret"))
        .await
        .check(pb::CheckRequest::default())
        .await
        .expect_err("unknown key");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);

    // A check-only key cannot write.
    let err = server
        .consent(Some(&checker))
        .await
        .set_consent(pb::SetConsentRequest {
            change: Some(change("a@example.com", "newsletter", "", OptedIn)),
            idempotency_key: String::new(),
        })
        .await
        .expect_err("no write scope");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    assert!(err.message().contains("write"), "{}", err.message());
    // ...but can check its profile, not another.
    let mut d = server.decision(Some(&checker)).await;
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "a@example.com", "invoices", "").await),
        pb::Reason::NotOptedOut
    );
    let mut other = pb::CheckRequest {
        profile_id: "beta".into(),
        channel: pb::Channel::Email as i32,
        contact_point: "a@example.com".into(),
        purpose_id: "invoices".into(),
        ..Default::default()
    };
    assert_eq!(d.check(other.clone()).await.expect_err("other profile").code(), tonic::Code::PermissionDenied);

    // A writer for profile A cannot read or write profile B, nor manage keys.
    let mut w = server.consent(Some(&writer_a)).await;
    set(&mut w, change("a@example.com", "newsletter", "", OptedIn)).await;
    let mut c = change("a@example.com", "newsletter", "", OptedIn);
    c.profile_id = "beta".into();
    let err = w
        .set_consent(pb::SetConsentRequest { change: Some(c), idempotency_key: String::new() })
        .await
        .expect_err("B write");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let err = w
        .get_consent(pb::GetConsentRequest {
            profile_id: "beta".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "a@example.com".into(),
        })
        .await
        .expect_err("B read");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let err = server
        .admin(Some(&writer_a))
        .await
        .list_api_keys(pb::ListApiKeysRequest::default())
        .await
        .expect_err("no admin");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    // The change feed only shows the key's profiles.
    let mut root_consent = server.consent(Some(&root)).await;
    let mut cb = change("b@example.com", "newsletter", "", OptedIn);
    cb.profile_id = "beta".into();
    root_consent
        .set_consent(pb::SetConsentRequest { change: Some(cb), idempotency_key: String::new() })
        .await
        .expect("root writes B");
    set(&mut w, change("last@example.com", "newsletter", "", OptedIn)).await;
    let mut feed = w
        .watch_changes(pb::WatchChangesRequest { after_revision: 0, profile_ids: vec![] })
        .await
        .expect("watch")
        .into_inner();
    let first = feed.message().await.expect("ok").expect("change");
    let second = feed.message().await.expect("ok").expect("change");
    assert_eq!((first.profile_id.as_str(), second.profile_id.as_str()), ("acme", "acme"));
    assert_eq!(second.contact_point, "last@example.com");

    // Revoked keys stop working at once.
    let checker_id = checker.split('.').next().expect("id").to_owned();
    server
        .admin(Some(&root))
        .await
        .revoke_api_key(pb::RevokeApiKeyRequest { key_id: checker_id })
        .await
        .expect("revoke");
    other.profile_id = "acme".into();
    assert_eq!(d.check(other).await.expect_err("revoked").code(), tonic::Code::Unauthenticated);
    server.stop().await;
}

#[tokio::test]
async fn admin_validates_and_deactivates_instead_of_deleting() {
    let server = TestServer::start().await;
    let mut admin = server.admin(None).await;
    seed(&mut admin, None).await;
    let err = admin
        .create_profile(pb::CreateProfileRequest {
            profile: Some(pb::Profile { profile_id: "Bad Id".into(), ..Default::default() }),
        })
        .await
        .expect_err("bad id");
    assert_eq!(bad_field(&err), "profile.profile_id");
    let err = admin
        .create_profile(pb::CreateProfileRequest {
            profile: Some(pb::Profile { profile_id: "x".into(), default_region: "ZZ".into(), ..Default::default() }),
        })
        .await
        .expect_err("bad region");
    assert_eq!(bad_field(&err), "profile.default_region");
    let err = admin
        .create_profile(pb::CreateProfileRequest {
            profile: Some(pb::Profile { profile_id: "acme".into(), ..Default::default() }),
        })
        .await
        .expect_err("duplicate");
    assert_eq!(err.code(), tonic::Code::AlreadyExists);
    let err = admin
        .create_purpose(pb::CreatePurposeRequest {
            purpose: Some(pb::Purpose { profile_id: "acme".into(), purpose_id: "p".into(), ..Default::default() }),
        })
        .await
        .expect_err("no kind");
    assert_eq!(bad_field(&err), "purpose.kind");

    // Per-channel enforcement: make invoices restrictive on sms.
    let updated = admin
        .update_purpose(pb::UpdatePurposeRequest {
            purpose: Some(pb::Purpose {
                profile_id: "acme".into(),
                purpose_id: "invoices".into(),
                kind: pb::PurposeKind::Transactional as i32,
                enforcement: vec![pb::ChannelEnforcement {
                    channel: pb::Channel::Sms as i32,
                    model: pb::EnforcementModel::Restrictive as i32,
                }],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["enforcement".into()] }),
        })
        .await
        .expect("update")
        .into_inner()
        .purpose
        .expect("purpose");
    let sms = updated.enforcement.iter().find(|e| e.channel == pb::Channel::Sms as i32).expect("sms");
    assert_eq!(sms.model, pb::EnforcementModel::Restrictive as i32);
    let mut d = server.decision(None).await;
    assert_eq!(reason(&check(&mut d, pb::Channel::Sms, "+31612345678", "invoices", "").await), pb::Reason::NoOptIn);
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "a@example.com", "invoices", "").await),
        pb::Reason::NotOptedOut
    );

    admin
        .deactivate_topic(pb::DeactivateTopicRequest {
            profile_id: "acme".into(),
            purpose_id: "newsletter".into(),
            topic_id: "events".into(),
        })
        .await
        .expect("deactivate");
    let err = d
        .check(pb::CheckRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "a@example.com".into(),
            purpose_id: "newsletter".into(),
            topic_id: "events".into(),
            min_revision: 0,
            as_of: None,
            as_of_clock: 0,
        })
        .await
        .expect_err("inactive topic");
    assert_eq!(bad_field(&err), "topic_id");
    let listed = admin
        .list_topics(pb::ListTopicsRequest {
            profile_id: "acme".into(),
            purpose_id: "newsletter".into(),
            include_inactive: true,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.topics.len(), 2, "deactivated topics are kept");
    let page = admin
        .list_profiles(pb::ListProfilesRequest { page_size: 5000, ..Default::default() })
        .await
        .expect_err("page size");
    assert_eq!(bad_field(&page), "page_size");
    server.stop().await;
}

#[tokio::test]
async fn protected_mode_refuses_a_public_address_without_keys() {
    let dir = tempfile::tempdir().expect("dir");
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = test_config(dir.path(), addr);
    let (store, _) = consentd::storage::Store::open(
        dir.path(),
        consentd::storage::StoreOptions::new(consentd::storage::system_clock()),
    )
    .expect("open");
    let r = consentd::server::run_with_store(config, store, listener, None, std::future::ready(())).await;
    match r {
        Err(consentd::server::ServerError::Unprotected(a)) => assert_eq!(a, addr),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn health_reports_serving() {
    let server = TestServer::start().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    let r = health
        .check(tonic_health::pb::HealthCheckRequest { service: "consent.v1.DecisionService".into() })
        .await
        .expect("health")
        .into_inner();
    assert_eq!(r.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
    server.stop().await;
}

#[tokio::test]
async fn reflection_lists_the_services() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let server = TestServer::start().await;
    let mut client = ServerReflectionClient::new(server.channel().await);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut inbound =
        client.server_reflection_info(tokio_stream::iter(vec![req])).await.expect("reflection").into_inner();
    let resp = inbound.message().await.expect("ok").expect("answer");
    let names: Vec<String> = match resp.message_response {
        Some(MessageResponse::ListServicesResponse(l)) => l.service.into_iter().map(|s| s.name).collect(),
        other => panic!("{other:?}"),
    };
    for want in
        ["consent.v1.DecisionService", "consent.v1.ConsentService", "consent.v1.AdminService", "grpc.health.v1.Health"]
    {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    drop(inbound);
    server.stop().await;
}
