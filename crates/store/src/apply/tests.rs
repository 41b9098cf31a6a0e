//! Ordering rules: any arrival order of the same changes ends in the same state; ties go to
//! the opt-out; superseded changes change nothing.

use proptest::prelude::*;

use super::*;
use crate::model::{ContactRef, Source};
use consentd_core::decision::{Channel, SuppressionKind};

fn contact_ref() -> ContactRef {
    ContactRef { profile_id: "acme".into(), channel: Channel::Email, contact_point: "jane@example.com".into() }
}

fn change(subject: Subject, status: Status, occurred_at_us: i64, source: Source) -> ConsentChange {
    ConsentChange {
        purpose_id: format!("p{}", subject.purpose),
        topic_id: if subject.topic == 0 { String::new() } else { format!("t{}", subject.topic) },
        source,
        confirmation_validity_secs: 3600,
        ..ConsentChange::example(contact_ref(), subject, status, occurred_at_us)
    }
}

fn apply_all(changes: &[ConsentChange]) -> (StoredContact, Vec<ChangeOutcome>) {
    let mut contact = StoredContact::default();
    let mut outcomes = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        outcomes.push(apply_consent(&mut contact, c, i as u64 + 1, 0, [0; 16]).outcome);
    }
    (contact, outcomes)
}

/// The state that matters: per subject, status, occurred_at and the winning change's hash.
fn essence(contact: &StoredContact) -> Vec<(u32, u32, u32, i64, Vec<u8>)> {
    let mut v: Vec<_> = contact
        .records
        .iter()
        .map(|r| (r.purpose_no, r.topic_no, r.status, r.occurred_at_us, r.tiebreak.clone()))
        .collect();
    v.sort();
    v
}

#[test]
fn newer_wins_and_stale_is_superseded() {
    let s = Subject::purpose(1);
    let (contact, outcomes) =
        apply_all(&[change(s, Status::OptedIn, 200, Source::Form), change(s, Status::OptedOut, 100, Source::Import)]);
    assert_eq!(outcomes, vec![ChangeOutcome::Applied, ChangeOutcome::Superseded]);
    assert_eq!(contact.records[0].status, status_to_stored(Status::OptedIn));
}

#[test]
fn opt_out_wins_a_tie_in_either_order() {
    let s = Subject::purpose(1);
    let a = change(s, Status::OptedIn, 100, Source::Form);
    let b = change(s, Status::OptedOut, 100, Source::PreferenceCenter);
    for order in [[a.clone(), b.clone()], [b, a]] {
        let (contact, _) = apply_all(&order);
        assert_eq!(contact.records[0].status, status_to_stored(Status::OptedOut));
    }
}

#[test]
fn double_opt_in_turns_an_opt_in_pending_and_confirmation_consumes_it() {
    let s = Subject::purpose(1);
    let mut c = change(s, Status::OptedIn, 1_000_000, Source::Form);
    c.double_opt_in = DoubleOptInMode::EveryOptIn;
    c.expires_at = Some(9_999_999);
    let mut contact = StoredContact::default();
    let applied = apply_consent(&mut contact, &c, 1, 2_000_000, [9; 16]);
    assert_eq!(applied.outcome, ChangeOutcome::PendingConfirmation);
    assert_eq!(contact.records[0].status, status_to_stored(Status::Pending));
    assert_eq!(contact.records[0].expires_at, Some(2 + 3600));
    let claims = TokenClaims {
        contact: super::super::codec::ContactKey([0; 16]),
        subject: s,
        token_id: [9; 16],
        expires_at: 3602,
    };
    let conf = Confirmation {
        token: String::new(),
        ip_address: "1.2.3.4".into(),
        user_agent: "ua".into(),
        occurred_at_us: 3_000_000,
        actor: "t".into(),
    };
    // Wrong token id: refused.
    let wrong = TokenClaims { token_id: [8; 16], ..claims };
    assert_eq!(
        apply_confirmation(&mut contact, &wrong, &conf, 2, 3_000_000, ("p1", "")).err(),
        Some(ConfirmRefusal::NotPending)
    );
    // Past the deadline: refused.
    assert_eq!(
        apply_confirmation(&mut contact, &claims, &conf, 2, 3_603_000_000, ("p1", "")).err(),
        Some(ConfirmRefusal::Expired)
    );
    let (event, record) = apply_confirmation(&mut contact, &claims, &conf, 2, 3_000_000, ("p1", ""))
        .map_err(|e| format!("{e:?}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(record.status, status_to_stored(Status::OptedIn));
    assert_eq!(record.expires_at, Some(9_999_999));
    assert_eq!(event.confirmation_proof.map(|p| p.ip_address), Some("1.2.3.4".into()));
    // Single use.
    assert_eq!(
        apply_confirmation(&mut contact, &claims, &conf, 3, 3_000_000, ("p1", "")).err(),
        Some(ConfirmRefusal::NotPending)
    );
}

#[test]
fn new_contact_points_mode_only_confirms_unknown_addresses() {
    let s = Subject::purpose(1);
    let mut contact = StoredContact::default();
    let mut c = change(Subject::purpose(2), Status::OptedOut, 1, Source::Import);
    apply_consent(&mut contact, &c, 1, 0, [0; 16]);
    c = change(s, Status::OptedIn, 2, Source::Form);
    c.double_opt_in = DoubleOptInMode::NewContactPoints;
    assert_eq!(apply_consent(&mut contact, &c, 2, 0, [0; 16]).outcome, ChangeOutcome::Applied);
    let mut fresh = StoredContact::default();
    assert_eq!(apply_consent(&mut fresh, &c, 1, 0, [0; 16]).outcome, ChangeOutcome::PendingConfirmation);
}

#[test]
fn suppression_order_and_tie() {
    let sc = |add: bool, at: i64| SuppressionChange {
        contact: contact_ref(),
        kind: SuppressionKind::SmsStop,
        add,
        occurred_at_us: at,
        source: Source::SmsKeyword,
        actor: "t".into(),
        reason: String::new(),
    };
    let mut contact = StoredContact::default();
    // A lift that arrives before the older add still wins.
    assert!(apply_suppression(&mut contact, &sc(false, 200), 1, 0).0);
    assert!(!apply_suppression(&mut contact, &sc(true, 100), 2, 0).0);
    assert!(index_state(&contact).suppressions().is_empty());
    // At the same instant adding wins.
    let (applied, changed, _) = apply_suppression(&mut contact, &sc(true, 200), 3, 0);
    assert!(applied && changed);
    assert!(!index_state(&contact).suppressions().is_empty());
}

fn arb_change() -> impl Strategy<Value = ConsentChange> {
    (
        1u16..3,
        0u16..3,
        prop_oneof![Just(Status::OptedIn), Just(Status::OptedOut)],
        0i64..6,
        prop_oneof![Just(Source::Form), Just(Source::Import), Just(Source::Api)],
    )
        .prop_map(|(p, t, status, at, source)| change(Subject { purpose: p, topic: t }, status, at, source))
}

proptest! {
    #[test]
    fn any_permutation_ends_in_the_same_state(
        changes in proptest::collection::vec(arb_change(), 1..12),
        seed in any::<u64>(),
    ) {
        let (a, _) = apply_all(&changes);
        let mut shuffled = changes.clone();
        // A deterministic shuffle from the seed (Fisher-Yates with an LCG).
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (x >> 33) as usize % (i + 1);
            shuffled.swap(i, j);
        }
        let (b, _) = apply_all(&shuffled);
        prop_assert_eq!(essence(&a), essence(&b));
        prop_assert_eq!(index_state(&a), index_state(&b));
    }
}
