//! ConsentService over a real socket: ordering, idempotency, batches, history, double
//! opt-in, suppressions, SMS keywords and the change feed.

use std::time::Duration;

use consentd::api::pb;
use consentd::api::pb::ConsentStatus::{OptedIn, OptedOut};
use prost_types::Timestamp;

use crate::support::*;

fn at(secs: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds: secs, nanos: 0 })
}

#[tokio::test]
async fn late_changes_are_superseded_and_kept_in_verified_history() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let mut d = server.decision(None).await;
    let now = now_us() / 1_000_000;

    let mut newer = change("jane@example.com", "newsletter", "", OptedIn);
    newer.occurred_at = at(now - 10);
    let mut older = change("jane@example.com", "newsletter", "", OptedOut);
    older.occurred_at = at(now - 100);
    let r1 = set(&mut consent, newer).await;
    let r2 = set(&mut consent, older).await;
    assert_eq!(r1.outcome, pb::ChangeOutcome::Applied as i32);
    assert_eq!(r2.outcome, pb::ChangeOutcome::Superseded as i32);
    assert_eq!(r2.revision, r1.revision, "a superseded change gets no revision");
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "jane@example.com", "newsletter", "").await),
        pb::Reason::OptedIn
    );

    // A tie goes to the opt-out.
    let mut tie = change("jane@example.com", "newsletter", "", OptedOut);
    tie.occurred_at = at(now - 10);
    let r3 = set(&mut consent, tie).await;
    assert_eq!(r3.outcome, pb::ChangeOutcome::Applied as i32);
    assert!(r3.revision > r1.revision);
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "jane@example.com", "newsletter", "").await),
        pb::Reason::PurposeOptedOut
    );

    let got = consent
        .get_consent(pb::GetConsentRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "JANE@example.com".into(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.contact_point, "jane@example.com");
    assert_eq!(got.records.len(), 1);
    assert_eq!(got.records[0].status, OptedOut as i32);

    let h = consent
        .get_history(pb::GetHistoryRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "jane@example.com".into(),
            page_size: 2,
            page_token: String::new(),
        })
        .await
        .expect("history")
        .into_inner();
    assert_eq!(h.events.len(), 2);
    assert!(h.events[0].applied && !h.events[1].applied, "the late change is kept as superseded");
    assert_eq!(h.events[1].prev_hash, h.events[0].hash);
    let v = h.verification.expect("verification");
    assert!(v.intact && v.events_checked == 3, "{v:?}");
    let rest = consent
        .get_history(pb::GetHistoryRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "jane@example.com".into(),
            page_size: 2,
            page_token: h.next_page_token,
        })
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(rest.events.len(), 1);
    assert_eq!(rest.events[0].seq, 3);
    assert!(rest.next_page_token.is_empty());

    // Bad input names the field and the value.
    let mut future = change("jane@example.com", "newsletter", "", OptedIn);
    future.occurred_at = at(now + 3600);
    let err = consent
        .set_consent(pb::SetConsentRequest { change: Some(future), idempotency_key: String::new() })
        .await
        .expect_err("future");
    assert_eq!(bad_field(&err), "change.occurred_at");
    let err = consent
        .set_consent(pb::SetConsentRequest {
            change: Some(change("nope", "newsletter", "", OptedIn)),
            idempotency_key: String::new(),
        })
        .await
        .expect_err("bad email");
    assert_eq!(bad_field(&err), "change.contact_point");
    assert!(err.message().contains("`nope`"));
    let err = consent
        .set_consent(pb::SetConsentRequest {
            change: Some(change("a@example.com", "newsletter", "", pb::ConsentStatus::Pending)),
            idempotency_key: String::new(),
        })
        .await
        .expect_err("pending");
    assert_eq!(bad_field(&err), "change.status");
    server.stop().await;
}

#[tokio::test]
async fn idempotency_keys_make_retries_safe() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let mut c = change("jane@example.com", "newsletter", "", OptedIn);
    c.occurred_at = at(now_us() / 1_000_000 - 5);
    let req = pb::SetConsentRequest { change: Some(c.clone()), idempotency_key: "import-42".into() };
    let first = consent.set_consent(req.clone()).await.expect("first").into_inner().result.expect("r");
    let again = consent.set_consent(req).await.expect("retry").into_inner().result.expect("r");
    assert!(!first.replayed && again.replayed);
    assert_eq!((again.revision, again.outcome), (first.revision, first.outcome));
    c.status = OptedOut as i32;
    let err = consent
        .set_consent(pb::SetConsentRequest { change: Some(c), idempotency_key: "import-42".into() })
        .await
        .expect_err("conflict");
    assert_eq!(err.code(), tonic::Code::AlreadyExists);
    server.stop().await;
}

#[tokio::test]
async fn batch_set_reports_each_item_and_enforces_its_limit() {
    let server = TestServer::start_with(|c| c.limits.set_batch_items_max = 3).await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let item = |cp: &str, purpose: &str| pb::SetConsentRequest {
        change: Some(change(cp, purpose, "", OptedIn)),
        idempotency_key: String::new(),
    };
    let r = consent
        .batch_set_consent(pb::BatchSetConsentRequest {
            validate_only: false,
            requests: vec![
                item("a@example.com", "newsletter"),
                item("broken", "newsletter"),
                item("b@example.com", "nope"),
            ],
        })
        .await
        .expect("batch")
        .into_inner();
    use pb::batch_set_consent_result::Result as R;
    assert!(matches!(&r.results[0].result, Some(R::Change(c)) if c.outcome == pb::ChangeOutcome::Applied as i32));
    match &r.results[1].result {
        Some(R::Error(e)) => assert_eq!(
            (e.code, e.field.as_str()),
            (tonic::Code::InvalidArgument as i32, "requests[1].change.contact_point")
        ),
        other => panic!("{other:?}"),
    }
    match &r.results[2].result {
        Some(R::Error(e)) => assert_eq!(e.field, "requests[2].change.purpose_id"),
        other => panic!("{other:?}"),
    }
    let err = consent
        .batch_set_consent(pb::BatchSetConsentRequest {
            validate_only: false,
            requests: (0..4).map(|i| item(&format!("u{i}@example.com"), "newsletter")).collect(),
        })
        .await
        .expect_err("limit");
    assert_eq!(bad_field(&err), "requests");
    server.stop().await;
}

/// `validate_only`: each item answered as the write would answer it (VALIDATED with the
/// normalized contact point, or the same error), the limit still applies, and nothing is
/// written: no revision, no record, no suppression, no history.
#[tokio::test]
async fn validate_only_answers_as_the_write_would_and_writes_nothing() {
    let server = TestServer::start_with(|c| c.limits.set_batch_items_max = 3).await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let item = |cp: &str, purpose: &str| pb::SetConsentRequest {
        change: Some(change(cp, purpose, "", OptedIn)),
        idempotency_key: "v-1".into(),
    };
    let before = server.consent(None).await.get_consent(get_req("jane@example.com")).await.expect("get").into_inner();
    let requests =
        vec![item(" Jane@Example.COM ", "newsletter"), item("broken", "newsletter"), item("b@example.com", "nope")];
    let dry = consent
        .batch_set_consent(pb::BatchSetConsentRequest { validate_only: true, requests: requests.clone() })
        .await
        .expect("validate")
        .into_inner();
    use pb::batch_set_consent_result::Result as R;
    match &dry.results[0].result {
        Some(R::Validated(v)) => assert_eq!(v.contact_point, "jane@example.com"),
        other => panic!("{other:?}"),
    }
    let after = consent.get_consent(get_req("jane@example.com")).await.expect("get").into_inner();
    assert!(after.records.is_empty(), "validate_only wrote {after:?}");
    assert_eq!(after.revision, before.revision, "validate_only moved the revision");
    // The same batch written: the same errors, item by item.
    let real = consent
        .batch_set_consent(pb::BatchSetConsentRequest { validate_only: false, requests })
        .await
        .expect("batch")
        .into_inner();
    assert!(matches!(&real.results[0].result, Some(R::Change(_))));
    for i in 1..3 {
        match (&dry.results[i].result, &real.results[i].result) {
            (Some(R::Error(a)), Some(R::Error(b))) => assert_eq!(a, b, "item {i}"),
            other => panic!("item {i}: {other:?}"),
        }
    }
    let over = consent
        .batch_set_consent(pb::BatchSetConsentRequest {
            validate_only: true,
            requests: (0..4).map(|i| item(&format!("u{i}@example.com"), "newsletter")).collect(),
        })
        .await
        .expect_err("limit");
    assert_eq!(bad_field(&over), "requests");
    // A suppression validated: no change; a bad one: the write's error.
    let suppress = |contact: &str, validate_only: bool| pb::AddSuppressionRequest {
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        contact_point: contact.into(),
        kind: pb::SuppressionKind::HardBounce as i32,
        validate_only,
        ..Default::default()
    };
    let r = consent.add_suppression(suppress("bob@example.com", true)).await.expect("validate").into_inner();
    assert_eq!((r.changed, r.revision), (false, 0));
    let bob = consent.get_consent(get_req("bob@example.com")).await.expect("get").into_inner();
    assert!(bob.suppressions.is_empty(), "validate_only suppressed {bob:?}");
    let err = consent.add_suppression(suppress("broken", true)).await.expect_err("bad address");
    assert_eq!(bad_field(&err), "contact_point");
    // Validation needs the write scope, as the write does.
    let mut admin = server.admin(None).await;
    let check_key = admin
        .create_api_key(pb::CreateApiKeyRequest {
            description: "check only".into(),
            scopes: vec![pb::ApiKeyScope::Check as i32],
            ..Default::default()
        })
        .await
        .expect("key")
        .into_inner()
        .secret;
    let mut reader = server.consent(Some(&check_key)).await;
    let denied = reader
        .batch_set_consent(pb::BatchSetConsentRequest {
            validate_only: true,
            requests: vec![item("a@example.com", "newsletter")],
        })
        .await
        .expect_err("check scope");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    server.stop().await;
}

fn get_req(contact: &str) -> pb::GetConsentRequest {
    pb::GetConsentRequest {
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        contact_point: contact.into(),
    }
}

#[tokio::test]
async fn double_opt_in_end_to_end() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, Some(pb::DoubleOptInMode::EveryOptIn)).await;
    let mut consent = server.consent(None).await;
    let mut d = server.decision(None).await;

    let r = set(&mut consent, change("jane@example.com", "newsletter", "", OptedIn)).await;
    assert_eq!(r.outcome, pb::ChangeOutcome::PendingConfirmation as i32);
    assert!(!r.confirmation_token.is_empty());
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "jane@example.com", "newsletter", "").await),
        pb::Reason::PendingConfirmation
    );

    let confirm = |token: &str| pb::ConfirmOptInRequest {
        token: token.into(),
        ip_address: "203.0.113.7".into(),
        user_agent: "Mail/1.0".into(),
        occurred_at: None,
    };
    let ok =
        consent.confirm_opt_in(confirm(&r.confirmation_token)).await.expect("confirm").into_inner().result.expect("r");
    assert_eq!(ok.outcome, pb::ChangeOutcome::Applied as i32);
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "jane@example.com", "newsletter", "").await),
        pb::Reason::OptedIn
    );
    let reused = consent.confirm_opt_in(confirm(&r.confirmation_token)).await.expect_err("reuse");
    assert_eq!(reused.code(), tonic::Code::FailedPrecondition);
    assert!(reused.message().contains("used already"), "{}", reused.message());

    // The history keeps the request's proof and the confirmation's own.
    let h = consent
        .get_history(pb::GetHistoryRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "jane@example.com".into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("history")
        .into_inner();
    let conf = h.events.iter().find(|e| e.kind == pb::EventKind::Confirmation as i32).expect("confirmation event");
    assert_eq!(conf.confirmation_proof.as_ref().map(|p| p.ip_address.as_str()), Some("203.0.113.7"));
    assert!(conf.confirmed_at.is_some());
    assert_eq!(conf.token_id, h.events[0].token_id);

    // An unconfirmed opt-in expires after the validity (default 28 days): its token is
    // refused and the pending record counts as not set.
    let r2 = set(&mut consent, change("john@example.com", "newsletter", "", OptedIn)).await;
    server.advance(29 * 24 * 3600);
    let expired = consent.confirm_opt_in(confirm(&r2.confirmation_token)).await.expect_err("expired");
    assert_eq!(expired.code(), tonic::Code::FailedPrecondition);
    assert!(expired.message().contains("expired"), "{}", expired.message());
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "john@example.com", "newsletter", "").await),
        pb::Reason::NoOptIn
    );

    let forged = consent.confirm_opt_in(confirm("AAAA.BBBB")).await.expect_err("forged");
    assert_eq!(bad_field(&forged), "token");
    server.stop().await;
}

#[tokio::test]
async fn stop_then_start_restores_the_previous_state() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let mut d = server.decision(None).await;
    let mut c = change("06 12345678", "newsletter", "", OptedIn);
    c.channel = pb::Channel::Sms as i32;
    set(&mut consent, c).await;
    assert_eq!(reason(&check(&mut d, pb::Channel::Sms, "+31612345678", "newsletter", "").await), pb::Reason::OptedIn);

    let sms = |body: &str| pb::HandleInboundSmsRequest {
        profile_id: "acme".into(),
        from_number: "+31 6 1234 5678".into(),
        body: body.into(),
        occurred_at: None,
    };
    let stop = consent.handle_inbound_sms(sms(" Stop ")).await.expect("stop").into_inner();
    assert_eq!(
        (stop.keyword_class, stop.keyword.as_str(), stop.changed),
        (pb::KeywordClass::Stop as i32, "STOP", true)
    );
    let blocked = check(&mut d, pb::Channel::Sms, "0612345678", "newsletter", "").await;
    assert_eq!(
        (reason(&blocked), blocked.suppression_kind),
        (pb::Reason::Suppressed, pb::SuppressionKind::SmsStop as i32)
    );
    // Transactional messages honour STOP too.
    assert_eq!(reason(&check(&mut d, pb::Channel::Sms, "0612345678", "invoices", "").await), pb::Reason::Suppressed);
    let help = consent.handle_inbound_sms(sms("help")).await.expect("help").into_inner();
    assert_eq!((help.keyword_class, help.changed), (pb::KeywordClass::Help as i32, false));
    let other = consent.handle_inbound_sms(sms("please stop")).await.expect("none").into_inner();
    assert_eq!(other.keyword_class, pb::KeywordClass::None as i32);

    tokio::time::sleep(Duration::from_millis(2)).await;
    let start = consent.handle_inbound_sms(sms("START")).await.expect("start").into_inner();
    assert_eq!((start.keyword_class, start.changed), (pb::KeywordClass::Start as i32, true));
    assert_eq!(reason(&check(&mut d, pb::Channel::Sms, "+31612345678", "newsletter", "").await), pb::Reason::OptedIn);

    // A profile's own keyword.
    tokio::time::sleep(Duration::from_millis(2)).await;
    let afmelden = consent.handle_inbound_sms(sms("afmelden")).await.expect("afmelden").into_inner();
    assert_eq!(afmelden.keyword_class, pb::KeywordClass::Stop as i32);
    let err = consent
        .handle_inbound_sms(pb::HandleInboundSmsRequest { from_number: "not a number".into(), ..sms("STOP") })
        .await
        .expect_err("bad number");
    assert_eq!(bad_field(&err), "from_number");

    // Suppressions of other kinds are added and lifted on their own.
    let add = consent
        .add_suppression(pb::AddSuppressionRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "jane@example.com".into(),
            kind: pb::SuppressionKind::HardBounce as i32,
            reason: "550 mailbox unknown".into(),
            ..Default::default()
        })
        .await
        .expect("add")
        .into_inner();
    assert!(add.changed);
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "jane@example.com", "invoices", "").await),
        pb::Reason::Suppressed
    );
    let lift = consent
        .lift_suppression(pb::LiftSuppressionRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "jane@example.com".into(),
            kind: pb::SuppressionKind::HardBounce as i32,
            ..Default::default()
        })
        .await
        .expect("lift")
        .into_inner();
    assert!(lift.changed && lift.revision > add.revision);
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "jane@example.com", "invoices", "").await),
        pb::Reason::NotOptedOut
    );
    server.stop().await;
}

async fn next_change(stream: &mut tonic::Streaming<pb::WatchChangesResponse>) -> pb::WatchChangesResponse {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("change in time")
        .expect("ok")
        .expect("open")
}

#[tokio::test]
async fn watch_resumes_after_reconnect_without_gaps_or_repeats() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    for i in 0..3 {
        set(&mut consent, change(&format!("u{i}@example.com"), "newsletter", "", OptedIn)).await;
    }
    let mut stream = consent
        .watch_changes(pb::WatchChangesRequest { after_revision: 0, profile_ids: vec![] })
        .await
        .expect("watch")
        .into_inner();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(next_change(&mut stream).await);
    }
    assert_eq!(
        seen.iter().map(|c| c.contact_point.as_str()).collect::<Vec<_>>(),
        ["u0@example.com", "u1@example.com", "u2@example.com"]
    );
    let last = seen[2].revision;
    drop(stream);

    for i in 3..5 {
        set(&mut consent, change(&format!("u{i}@example.com"), "newsletter", "", OptedOut)).await;
    }
    let mut stream = consent
        .watch_changes(pb::WatchChangesRequest { after_revision: last, profile_ids: vec![] })
        .await
        .expect("watch")
        .into_inner();
    let a = next_change(&mut stream).await;
    let b = next_change(&mut stream).await;
    assert_eq!((a.contact_point.as_str(), b.contact_point.as_str()), ("u3@example.com", "u4@example.com"));
    assert!(last < a.revision && a.revision < b.revision);
    assert_eq!(a.event.as_ref().map(|e| e.status), Some(OptedOut as i32));
    // Then live.
    set(&mut consent, change("live@example.com", "newsletter", "", OptedIn)).await;
    let live = next_change(&mut stream).await;
    assert_eq!(live.contact_point, "live@example.com");
    assert_eq!(live.revision, b.revision + 1);
    server.stop().await;
}

#[tokio::test]
async fn change_streams_past_the_limit_are_refused() {
    let server = TestServer::start_with(|c| c.limits.watch_streams_max = 1).await;
    let mut consent = server.consent(None).await;
    let first =
        consent.watch_changes(pb::WatchChangesRequest { after_revision: 0, profile_ids: vec![] }).await.expect("first");
    let err = consent
        .watch_changes(pb::WatchChangesRequest { after_revision: 0, profile_ids: vec![] })
        .await
        .expect_err("second");
    assert_eq!(err.code(), tonic::Code::ResourceExhausted);
    drop(first);
    // The slot comes back when the stream ends.
    let mut ok = false;
    for _ in 0..100 {
        if consent.watch_changes(pb::WatchChangesRequest { after_revision: 0, profile_ids: vec![] }).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "the slot was not released");
    server.stop().await;
}
