//! Small contract points found by an outside review: each was wrong once.

use consentd::api::pb;
use consentd::api::pb::ConsentStatus::OptedIn;

use crate::support::*;

fn confirm(token: &str, occurred_at: Option<prost_types::Timestamp>) -> pb::ConfirmOptInRequest {
    pb::ConfirmOptInRequest {
        token: token.into(),
        ip_address: "203.0.113.7".into(),
        user_agent: "Mail/1.0".into(),
        occurred_at,
    }
}

async fn get(consent: &mut Consent, cp: &str) -> pb::GetConsentResponse {
    consent
        .get_consent(pb::GetConsentRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: cp.into(),
        })
        .await
        .expect("get")
        .into_inner()
}

#[tokio::test]
async fn a_confirmation_cannot_predate_its_request_nor_outlive_its_purpose() {
    let server = TestServer::start().await;
    let mut admin = server.admin(None).await;
    seed(&mut admin, Some(pb::DoubleOptInMode::EveryOptIn)).await;
    let mut consent = server.consent(None).await;
    let r = set(&mut consent, change("jane@example.com", "newsletter", "", OptedIn)).await;
    let before = prost_types::Timestamp { seconds: now_us() / 1_000_000 - 3_600, nanos: 0 };
    let err = consent.confirm_opt_in(confirm(&r.confirmation_token, Some(before))).await.expect_err("backdated");
    assert_eq!(bad_field(&err), "occurred_at");

    let r = set(&mut consent, change("john@example.com", "newsletter", "events", OptedIn)).await;
    admin
        .deactivate_purpose(pb::DeactivatePurposeRequest { profile_id: "acme".into(), purpose_id: "newsletter".into() })
        .await
        .expect("deactivate");
    let err = consent.confirm_opt_in(confirm(&r.confirmation_token, None)).await.expect_err("deactivated");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("deactivated"), "{err:?}");
    server.stop().await;
}

#[tokio::test]
async fn an_expired_pending_record_reads_as_not_set() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, Some(pb::DoubleOptInMode::EveryOptIn)).await;
    let mut consent = server.consent(None).await;
    set(&mut consent, change("jane@example.com", "newsletter", "", OptedIn)).await;
    assert_eq!(get(&mut consent, "jane@example.com").await.records[0].status, pb::ConsentStatus::Pending as i32);
    server.advance(29 * 24 * 3600);
    assert_eq!(get(&mut consent, "jane@example.com").await.records[0].status, pb::ConsentStatus::NotSet as i32);
    server.stop().await;
}

#[tokio::test]
async fn an_opt_in_never_lapses_before_its_expiry() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let mut c = change("jane@example.com", "newsletter", "", OptedIn);
    let wanted = prost_types::Timestamp { seconds: now_us() / 1_000_000 + 3_600, nanos: 900_000_000 };
    c.expires_at = Some(wanted);
    set(&mut consent, c).await;
    let stored = get(&mut consent, "jane@example.com").await.records[0].expires_at.expect("expiry");
    assert!(
        (stored.seconds, stored.nanos) >= (wanted.seconds, wanted.nanos),
        "stored {stored:?} is before the requested {wanted:?}"
    );
    assert_eq!(stored.seconds, wanted.seconds + 1, "rounded up to the next whole second");
    server.stop().await;
}

#[tokio::test]
async fn an_idempotent_retry_may_spell_the_address_differently() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let req = |cp: &str| pb::SetConsentRequest {
        change: Some(change(cp, "newsletter", "", OptedIn)),
        idempotency_key: "signup-7".into(),
    };
    let first = consent.set_consent(req("jane@example.com")).await.expect("first").into_inner();
    let retry = consent.set_consent(req("  Jane@EXAMPLE.com ")).await.expect("same change").into_inner();
    let (first, retry) = (first.result.expect("r"), retry.result.expect("r"));
    assert!(retry.replayed);
    assert_eq!(retry.revision, first.revision);
    // A different change under the same key is still refused.
    let err = consent.set_consent(req("john@example.com")).await.expect_err("other change");
    assert_eq!(err.code(), tonic::Code::AlreadyExists);
    server.stop().await;
}
