//! A contact point's life over a real socket (DECISION-RULES.md, "A contact point's life"):
//! erasure that keeps the opt-out and leaves no personal data in any file of the data
//! directory, and phone numbers reported as reassigned. Cluster mode: `cluster.rs`.

use std::path::Path;

use consentd::api::pb;
use consentd::api::pb::ConsentStatus::{OptedIn, OptedOut};

use crate::cli::{ctl, p, s};
use crate::support::*;

/// Whether any file under `dir` (WAL, table files, manifests, logs) holds `needle`.
pub(crate) fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

const ADDRESS: &str = "erase-me-7f3a9@example.com";
const LOCAL_PART: &str = "erase-me-7f3a9";
const IP: &str = "203.0.113.77";
const USER_AGENT: &str = "ErasureTestAgent/9.1";
const FREE_TEXT: &str = "told-us-at-the-booth-4471";

fn with_proof(mut c: pb::ConsentChange, occurred_at: Option<i64>) -> pb::ConsentChange {
    c.proof = Some(pb::Proof {
        ip_address: IP.into(),
        user_agent: USER_AGENT.into(),
        notice_id: "signup-form".into(),
        notice_version: "3".into(),
        ..Default::default()
    });
    c.reason = FREE_TEXT.into();
    c.occurred_at = occurred_at.map(ts);
    c
}

async fn reason_for(d: &mut Decision, channel: pb::Channel, contact: &str, purpose: &str) -> (pb::Reason, i32) {
    let r = check(d, channel, contact, purpose, "").await;
    (reason(&r), r.suppression_kind)
}

#[tokio::test]
async fn erasure_keeps_the_opt_out_and_leaves_no_personal_data_in_any_file() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let mut d = server.decision(None).await;
    let before = now_us();
    let r = set(&mut consent, with_proof(change(ADDRESS, "newsletter", "", OptedIn), Some(before - 60_000_000))).await;
    assert_eq!(r.outcome, pb::ChangeOutcome::Applied as i32);
    set(&mut consent, with_proof(change(ADDRESS, "newsletter", "events", OptedIn), None)).await;
    set(&mut consent, change("keep-me@example.com", "newsletter", "", OptedIn)).await;
    assert_eq!(reason_for(&mut d, pb::Channel::Email, ADDRESS, "newsletter").await.0, pb::Reason::OptedIn);
    // The grep below can see them: before the erasure they are in the directory's files.
    for needle in [LOCAL_PART, IP, USER_AGENT, FREE_TEXT] {
        assert!(
            !files_holding(server.dir.path(), needle).is_empty(),
            "`{needle}` is not in any file before the erasure"
        );
    }

    // Erasure, spelled differently: the same contact point.
    let erased = consent
        .erase_contact_point(pb::EraseContactPointRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: " Erase-Me-7F3A9@Example.com ".into(),
        })
        .await
        .expect("erase")
        .into_inner();
    assert_eq!(erased.channels, vec![pb::Channel::Email as i32]);
    assert!(erased.revision > r.revision);

    let blocked = (pb::Reason::Suppressed, pb::SuppressionKind::Erased as i32);
    assert_eq!(reason_for(&mut d, pb::Channel::Email, ADDRESS, "newsletter").await, blocked);
    // Transactional mail needs consent too where an erasure was asked for: no send at all.
    assert_eq!(reason_for(&mut d, pb::Channel::Email, ADDRESS, "invoices").await, blocked);
    assert_eq!(
        reason_for(&mut d, pb::Channel::Email, "keep-me@example.com", "newsletter").await.0,
        pb::Reason::OptedIn
    );

    let dir = server.stop().await;
    let server = TestServer::start_in(dir, |_| {}).await;
    for needle in [LOCAL_PART, IP, USER_AGENT, FREE_TEXT] {
        let files = files_holding(server.dir.path(), needle);
        assert!(files.is_empty(), "`{needle}` is still in {files:?} after the erasure and a restart");
    }
    let mut consent = server.consent(None).await;
    let mut d = server.decision(None).await;
    assert_eq!(reason_for(&mut d, pb::Channel::Email, ADDRESS, "newsletter").await, blocked);

    // What remains: the tombstone, no records, no plaintext.
    let got = consent
        .get_consent(pb::GetConsentRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: ADDRESS.into(),
        })
        .await
        .expect("get")
        .into_inner();
    assert!(got.records.is_empty(), "{got:?}");
    assert_eq!(got.suppressions.iter().map(|s| s.kind).collect::<Vec<_>>(), vec![pb::SuppressionKind::Erased as i32]);
    assert!(got.erased_at.is_some());

    // The history still verifies; the earlier events lost their personal data, not their hashes.
    let history = consent
        .get_history(pb::GetHistoryRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: ADDRESS.into(),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .expect("history")
        .into_inner();
    let verification = history.verification.expect("verification");
    assert!(verification.intact, "{verification:?}");
    assert_eq!(history.events.len(), 3, "{:?}", history.events);
    for e in &history.events[..2] {
        assert!(e.redacted, "{e:?}");
        let proof = e.proof.clone().expect("proof kept");
        assert_eq!((proof.ip_address.as_str(), proof.user_agent.as_str(), e.reason.as_str()), ("", "", ""));
        assert_eq!(proof.notice_id, "signup-form", "what the notice was stays: the sender's proof");
        assert_eq!(e.status, pb::ConsentStatus::OptedIn as i32);
    }
    assert_eq!(history.events[2].kind, pb::EventKind::Erased as i32);

    // Export shows the tombstone without the address.
    let mut export = consent
        .export_records(pb::ExportRecordsRequest { profile_id: "acme".into(), ..Default::default() })
        .await
        .expect("export")
        .into_inner();
    let mut tombstones = 0;
    while let Some(m) = export.message().await.expect("export message") {
        assert!(!m.contact_point.contains(LOCAL_PART));
        if m.erased_at.is_some() {
            tombstones += 1;
            assert_eq!(m.contact_point, "");
            assert!(m.suppressions.iter().any(|s| s.kind == pb::SuppressionKind::Erased as i32));
        }
    }
    assert_eq!(tombstones, 1);

    // A late import of an old opt-in is superseded; a new import after the erasure is stored
    // but is not proof of a new consent: the tombstone stays.
    let mut late = change(ADDRESS, "newsletter", "", OptedIn);
    late.source = pb::ChangeSource::Import as i32;
    late.occurred_at = Some(ts(before));
    assert_eq!(set(&mut consent, late.clone()).await.outcome, pb::ChangeOutcome::Superseded as i32);
    server.advance(5);
    late.occurred_at = None;
    assert_eq!(set(&mut consent, late).await.outcome, pb::ChangeOutcome::Applied as i32);
    assert_eq!(reason_for(&mut d, pb::Channel::Email, ADDRESS, "newsletter").await, blocked);
    // The person signs up again through a form, with proof: the tombstone is lifted.
    let mut again = change(ADDRESS, "newsletter", "", OptedIn);
    again.source = pb::ChangeSource::Form as i32;
    again.proof = Some(pb::Proof { ip_address: "198.51.100.1".into(), ..Default::default() });
    server.advance(5);
    assert_eq!(set(&mut consent, again).await.outcome, pb::ChangeOutcome::Applied as i32);
    assert_eq!(reason_for(&mut d, pb::Channel::Email, ADDRESS, "newsletter").await.0, pb::Reason::OptedIn);
    assert_eq!(reason_for(&mut d, pb::Channel::Email, ADDRESS, "invoices").await.0, pb::Reason::NotOptedOut);

    // The tombstone cannot be lifted or forged by hand.
    let err = consent
        .lift_suppression(pb::LiftSuppressionRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: ADDRESS.into(),
            kind: pb::SuppressionKind::Erased as i32,
            ..Default::default()
        })
        .await
        .expect_err("erased is not lifted by hand");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(bad_field(&err), "kind");
    server.stop().await;
}

#[tokio::test]
async fn erasing_a_number_covers_every_phone_channel_and_one_never_seen_is_blocked_too() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let mut d = server.decision(None).await;
    let erased = consent
        .erase_contact_point(pb::EraseContactPointRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Whatsapp as i32,
            contact_point: "06 1234 5678".into(),
        })
        .await
        .expect("erase")
        .into_inner();
    let phone = [pb::Channel::Sms, pb::Channel::Whatsapp, pb::Channel::Voice];
    assert_eq!(erased.channels, phone.iter().map(|c| *c as i32).collect::<Vec<_>>());
    for channel in phone {
        assert_eq!(reason_for(&mut d, channel, "+31612345678", "invoices").await.0, pb::Reason::Suppressed);
    }
    // A CRM sync of consent from before the erasure cannot bring the number back.
    let mut sync = change("+31612345678", "newsletter", "", OptedIn);
    sync.channel = pb::Channel::Sms as i32;
    sync.source = pb::ChangeSource::CrmSync as i32;
    sync.occurred_at = Some(ts(now_us() - 3_600_000_000));
    assert_eq!(set(&mut consent, sync).await.outcome, pb::ChangeOutcome::Superseded as i32);
    assert_eq!(reason_for(&mut d, pb::Channel::Sms, "+31612345678", "newsletter").await.0, pb::Reason::Suppressed);
    // Bad input names its field.
    let err = consent
        .erase_contact_point(pb::EraseContactPointRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "not an address".into(),
        })
        .await
        .expect_err("invalid");
    assert_eq!((err.code(), bad_field(&err).as_str()), (tonic::Code::InvalidArgument, "contact_point"));
    // A brand that stopped sending still answers its erasure requests.
    let mut admin = server.admin(None).await;
    admin.deactivate_profile(pb::DeactivateProfileRequest { profile_id: "acme".into() }).await.expect("deactivate");
    let erased = consent
        .erase_contact_point(pb::EraseContactPointRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "late-request@example.com".into(),
        })
        .await
        .expect("erase in a deactivated profile")
        .into_inner();
    assert_eq!(erased.channels, vec![pb::Channel::Email as i32]);
    let err = consent
        .erase_contact_point(pb::EraseContactPointRequest {
            profile_id: "nobody".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "a@example.com".into(),
        })
        .await
        .expect_err("unknown profile");
    assert_eq!(bad_field(&err), "profile_id");
    server.stop().await;
}

fn sms(contact: &str, purpose: &str, status: pb::ConsentStatus, occurred_at_us: i64) -> pb::ConsentChange {
    let mut c = change(contact, purpose, "", status);
    c.channel = pb::Channel::Sms as i32;
    c.occurred_at = Some(ts(occurred_at_us));
    c
}

#[tokio::test]
async fn a_reassigned_number_loses_the_consent_of_its_previous_owner() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let mut d = server.decision(None).await;
    let day = 86_400_000_000i64;
    // A month later than the catalog was made, so that moments of the last weeks have it.
    server.advance(30 * 86_400);
    let server_now = || now_us() + 30 * day;
    let now = server_now();
    let (old, new) = ("+31612345678", "+31687654321");
    set(&mut consent, sms(old, "newsletter", OptedIn, now - 10 * day)).await;
    set(&mut consent, sms(old, "invoices", OptedOut, now - 10 * day)).await;
    set(&mut consent, sms(new, "newsletter", OptedIn, now - day)).await;
    let disconnected = now - 5 * day;
    let report = |numbers: Vec<(&str, Option<i64>)>| pb::ReportReassignedNumbersRequest {
        numbers: numbers
            .into_iter()
            .map(|(n, at)| pb::ReassignedNumber { number: n.into(), disconnected_at: at.map(ts) })
            .collect(),
        default_region: "NL".into(),
    };
    let r = consent
        .report_reassigned_numbers(report(vec![
            ("06 1234 5678", Some(disconnected)),
            (new, Some(disconnected)),
            ("12", Some(disconnected)),
            (old, None),
        ]))
        .await
        .expect("report")
        .into_inner();
    let results: Vec<(&str, bool, bool)> =
        r.results.iter().map(|x| (x.number.as_str(), x.applied, x.error.is_empty())).collect();
    assert_eq!(results[..2], [(old, true, true), (new, true, true)]);
    assert!(!r.results[2].error.is_empty() && !r.results[3].error.is_empty(), "{:?}", r.results);

    let d0 = d.clone();
    let check_sms = |contact: &'static str, purpose: &'static str| {
        let mut d = d0.clone();
        async move { reason_for(&mut d, pb::Channel::Sms, contact, purpose).await.0 }
    };
    assert_eq!(check_sms(old, "newsletter").await, pb::Reason::ContactPointReassigned);
    // The previous owner's opt-out no longer counts either: transactional messages go out.
    assert_eq!(check_sms(old, "invoices").await, pb::Reason::NotOptedOut);
    // Consent given after the disconnection is the new owner's.
    assert_eq!(check_sms(new, "newsletter").await, pb::Reason::OptedIn);
    // Other phone channels have no record, but a late opt-in from before the date is void.
    assert_eq!(reason_for(&mut d, pb::Channel::Whatsapp, old, "newsletter").await.0, pb::Reason::NoOptIn);
    set(&mut consent, sms(old, "newsletter", OptedIn, now - 6 * day)).await;
    assert_eq!(check_sms(old, "newsletter").await, pb::Reason::ContactPointReassigned);
    // The same report again changes nothing.
    let again = consent.report_reassigned_numbers(report(vec![(old, Some(disconnected))])).await.expect("again");
    assert!(!again.into_inner().results[0].applied);
    // As occurred before the disconnection, the previous owner's opt-in still counted.
    let asked = |at: i64, clock: pb::Clock| pb::CheckRequest {
        profile_id: "acme".into(),
        channel: pb::Channel::Sms as i32,
        contact_point: old.into(),
        purpose_id: "newsletter".into(),
        as_of: Some(ts(at)),
        as_of_clock: clock as i32,
        ..Default::default()
    };
    let past = d.check(asked(now - 7 * day, pb::Clock::Occurred)).await.expect("as of").into_inner();
    assert_eq!(reason(&past), pb::Reason::OptedIn);
    let recorded = d.check(asked(server_now(), pb::Clock::Recorded)).await.expect("as of").into_inner();
    assert_eq!(reason(&recorded), pb::Reason::ContactPointReassigned);
    // The new owner opts in: sends again.
    set(&mut consent, sms(old, "newsletter", OptedIn, server_now())).await;
    assert_eq!(check_sms(old, "newsletter").await, pb::Reason::OptedIn);

    // History keeps everything, with the reassignment in it.
    let history = consent
        .get_history(pb::GetHistoryRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Sms as i32,
            contact_point: old.into(),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .expect("history")
        .into_inner();
    assert!(history.verification.expect("verification").intact);
    let kinds: Vec<i32> = history.events.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&(pb::EventKind::Reassigned as i32)), "{kinds:?}");
    assert_eq!(history.events.len(), 6, "{:?}", history.events);

    // Over the limit: refused whole, naming the field.
    let many = report((0..1001).map(|_| (old, Some(disconnected))).collect());
    let err = consent.report_reassigned_numbers(many).await.expect_err("too many");
    assert_eq!((err.code(), bad_field(&err).as_str()), (tonic::Code::InvalidArgument, "numbers"));
    server.stop().await;
}

#[tokio::test]
async fn consentctl_erases_and_imports_reassigned_numbers_in_the_databases_layout() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let day = 86_400_000_000i64;
    let long_ago = now_us() - 400 * day;
    // Two US numbers (in the profile's NL region they need their country code here).
    set(&mut consent, sms("+12015550123", "newsletter", OptedIn, long_ago)).await;
    set(&mut consent, sms("+12015550124", "newsletter", OptedIn, long_ago)).await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("rnd.csv");
    let yesterday = consentd_client::bulk::time::rfc3339_us(now_us() - day);
    let date = &yesterday[..10];
    std::fs::write(
        &file,
        format!("TN,Disconnect Date\n2015550123,{}\n2015550124,{date}\n2015550125,not-a-date\n", date.replace('-', "")),
    )
    .expect("write");
    let (code, out) = ctl(&server, s(&["--json", "import-reassigned", "--file", &p(&file)])).await;
    assert_eq!(code, 3, "one row is rejected: {out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!((v["numbers"].as_u64(), v["applied"].as_u64(), v["rejected"].as_u64()), (Some(3), Some(2), Some(1)));
    assert_eq!(v["errors"][0]["line"].as_u64(), Some(4), "{v}");
    let mut d = server.decision(None).await;
    for n in ["+12015550123", "+12015550124"] {
        assert_eq!(reason_for(&mut d, pb::Channel::Sms, n, "newsletter").await.0, pb::Reason::ContactPointReassigned);
    }
    let (code, out) =
        ctl(&server, s(&["--json", "erase", "--profile", "acme", "--channel", "sms", "--contact", "+12015550123"]))
            .await;
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["erased_channels"], serde_json::json!(["sms", "whatsapp", "voice"]));
    assert_eq!(reason_for(&mut d, pb::Channel::Voice, "+12015550123", "invoices").await.0, pb::Reason::Suppressed);
    server.stop().await;
}

#[tokio::test]
async fn a_move_takes_the_consent_to_the_new_address_once_and_suppresses_the_old_one() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let mut d = server.decision(None).await;
    let (old, new) = ("jane@old.example", "jane@new.example");
    let t = now_us() - 3_600_000_000;
    let mut opt_in = change(old, "newsletter", "", OptedIn);
    opt_in.source = pb::ChangeSource::Form as i32;
    opt_in.occurred_at = Some(ts(t));
    set(&mut consent, opt_in).await;
    set(&mut consent, change(old, "newsletter", "events", OptedIn)).await;
    set(&mut consent, change(old, "invoices", "", OptedOut)).await;
    // The new address already has a newer opt-out of a topic: it stays.
    set(&mut consent, change(new, "newsletter", "discounts", OptedOut)).await;
    let request = || pb::MoveContactPointRequest {
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        from: old.into(),
        to: new.into(),
        proof: Some(pb::Proof { notice_id: "address-change-form".into(), ..Default::default() }),
        occurred_at: None,
        source: pb::ChangeSource::PreferenceCenter as i32,
    };
    let moved = consent.move_contact_point(request()).await.expect("move").into_inner();
    assert_eq!((moved.moved, moved.suppressed), (3, true), "{moved:?}");
    let d0 = d.clone();
    let topic = |t: &'static str| {
        let mut d = d0.clone();
        async move { reason(&check(&mut d, pb::Channel::Email, new, "newsletter", t).await) }
    };
    assert_eq!(topic("").await, pb::Reason::OptedIn);
    assert_eq!(topic("events").await, pb::Reason::OptedIn);
    assert_eq!(topic("discounts").await, pb::Reason::TopicOptedOut);
    assert_eq!(reason_for(&mut d, pb::Channel::Email, new, "invoices").await.0, pb::Reason::PurposeOptedOut);
    let blocked = (pb::Reason::Suppressed, pb::SuppressionKind::Moved as i32);
    assert_eq!(reason_for(&mut d, pb::Channel::Email, old, "newsletter").await, blocked);
    assert_eq!(reason_for(&mut d, pb::Channel::Email, old, "invoices").await, blocked);

    // Idempotent: again, nothing changes.
    let again = consent.move_contact_point(request()).await.expect("again").into_inner();
    assert_eq!((again.moved, again.suppressed), (0, false), "{again:?}");
    assert_eq!(topic("").await, pb::Reason::OptedIn);

    // A history event on both: the new one's opt-in keeps when and how it was given.
    let history = |contact: &'static str| {
        let mut consent = consent.clone();
        async move {
            consent
                .get_history(pb::GetHistoryRequest {
                    profile_id: "acme".into(),
                    channel: pb::Channel::Email as i32,
                    contact_point: contact.into(),
                    page_size: 100,
                    page_token: String::new(),
                })
                .await
                .expect("history")
                .into_inner()
        }
    };
    let h = history(new).await;
    let first = h
        .events
        .iter()
        .find(|e| e.applied && e.purpose_id == "newsletter" && e.topic_id.is_empty())
        .expect("moved opt-in");
    assert_eq!(first.occurred_at, Some(ts(t)));
    assert_eq!(first.source, pb::ChangeSource::Form as i32);
    assert!(first.reason.contains(old), "{first:?}");
    assert_eq!(first.proof.as_ref().map(|p| p.notice_id.as_str()), Some("address-change-form"));
    let h = history(old).await;
    let last = h.events.last().expect("events");
    assert_eq!(
        (last.kind, last.suppression_kind),
        (pb::EventKind::SuppressionAdded as i32, pb::SuppressionKind::Moved as i32)
    );

    let mut same = request();
    same.to = " Jane@Old.example".into();
    let err = consent.move_contact_point(same).await.expect_err("same");
    assert_eq!((err.code(), bad_field(&err).as_str()), (tonic::Code::InvalidArgument, "to"));
    let mut bad = request();
    bad.from = "nope".into();
    let err = consent.move_contact_point(bad).await.expect_err("bad from");
    assert_eq!((err.code(), bad_field(&err).as_str()), (tonic::Code::InvalidArgument, "from"));
    server.stop().await;
}
