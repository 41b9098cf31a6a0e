//! The past rebuilt from history agrees with the state the writer's rules produced: on the
//! recorded clock at every step of a random change set, and on the occurred clock with
//! the state the same rules give the changes that had occurred by then.

use proptest::prelude::*;

use super::*;
use crate::apply::{
    apply_confirmation, apply_consent, apply_erasure, apply_reassignment, apply_suppression, index_state,
};
use crate::codec::StoredContact;
use crate::model::{Confirmation, ConsentChange, ContactRef, LifeChange, LifeEvent, Proof, Source, SuppressionChange};
use crate::token::TokenClaims;
use consentd_core::decision::{DoubleOptInMode, SuppressionKind};

fn life(event: LifeEvent) -> LifeChange {
    LifeChange {
        profile_id: "acme".into(),
        channel: Channel::Email,
        key: ContactKey([0; 16]),
        event,
        source: Source::Api,
        actor: "t".into(),
    }
}

fn contact_ref() -> ContactRef {
    ContactRef { profile_id: "acme".into(), channel: Channel::Email, contact_point: "jane@example.com".into() }
}

/// Subjects by the names the tests give them: purpose `p<n>`, topic `t<n>`.
fn subject_of(e: &EventBody) -> Option<Subject> {
    let purpose = e.purpose_id.strip_prefix('p')?.parse().ok()?;
    let topic = if e.topic_id.is_empty() { 0 } else { e.topic_id.strip_prefix('t')?.parse().ok()? };
    Some(Subject { purpose, topic })
}

#[derive(Clone, Debug)]
enum Change {
    Consent {
        subject: Subject,
        opt_in: bool,
        occurred: i64,
        double_opt_in: bool,
        expires_at: Option<i64>,
        /// From a form with proof: lifts an erasure's tombstone.
        proven: bool,
    },
    Suppression {
        kind: usize,
        add: bool,
        occurred: i64,
    },
    /// Confirms the newest pending token of the subject, if there is one.
    Confirm {
        subject: Subject,
        occurred: i64,
    },
    /// An erasure, at the moment it is recorded.
    Erase,
    /// The number was reassigned at `occurred`.
    Reassign {
        occurred: i64,
    },
}

fn arb_change() -> impl Strategy<Value = Change> {
    let subject = (1u16..3, 0u16..2).prop_map(|(purpose, topic)| Subject { purpose, topic });
    prop_oneof![
        4 => (subject.clone(), any::<bool>(), 0i64..40, any::<bool>(), proptest::option::of(0i64..100), any::<bool>())
            .prop_map(|(subject, opt_in, occurred, double_opt_in, expires_at, proven)| Change::Consent {
                subject, opt_in, occurred, double_opt_in, expires_at, proven
            }),
        1 => Just(Change::Erase),
        1 => (0i64..40).prop_map(|occurred| Change::Reassign { occurred }),
        2 => (0usize..2, any::<bool>(), 0i64..40).prop_map(|(kind, add, occurred)| Change::Suppression { kind, add, occurred }),
        1 => (subject, 0i64..40).prop_map(|(subject, occurred)| Change::Confirm { subject, occurred }),
    ]
}

/// Applies the changes in order as the writer would, the i-th recorded at `recorded(i)`;
/// gives the history and the index state after each change.
fn apply_all(changes: &[Change], occurred: impl Fn(usize, i64) -> i64) -> (Vec<EventBody>, Vec<ContactState>) {
    let mut contact = StoredContact::default();
    let (mut events, mut states) = (Vec::new(), Vec::new());
    let mut revision = 0;
    for (i, c) in changes.iter().enumerate() {
        let now_us = recorded(i);
        let token_id = [u8::try_from(i % 256).unwrap_or(0); 16];
        let event = match c {
            Change::Consent { subject, opt_in, occurred: at, double_opt_in, expires_at, proven } => {
                let change = ConsentChange {
                    contact: contact_ref(),
                    purpose_id: format!("p{}", subject.purpose),
                    topic_id: if subject.topic == 0 { String::new() } else { format!("t{}", subject.topic) },
                    subject: *subject,
                    status: if *opt_in { Status::OptedIn } else { Status::OptedOut },
                    occurred_at_us: occurred(i, *at),
                    source: if *proven { Source::Form } else { Source::Api },
                    actor: "t".into(),
                    reason: String::new(),
                    proof: proven.then(|| Proof { ip_address: "192.0.2.1".into(), ..Proof::default() }),
                    expires_at: *expires_at,
                    double_opt_in: if *double_opt_in { DoubleOptInMode::EveryOptIn } else { DoubleOptInMode::Off },
                    confirmation_validity_secs: 1_000_000,
                    idempotency: None,
                };
                Some(apply_consent(&mut contact, &change, revision + 1, now_us, token_id).event)
            }
            Change::Suppression { kind, add, occurred: at } => {
                let change = SuppressionChange {
                    contact: contact_ref(),
                    kind: SuppressionKind::ALL[*kind],
                    add: *add,
                    occurred_at_us: occurred(i, *at),
                    source: Source::Api,
                    actor: "t".into(),
                    reason: String::new(),
                };
                Some(apply_suppression(&mut contact, &change, revision + 1, now_us).2)
            }
            Change::Confirm { subject, occurred: at } => {
                let pending = contact.records.iter().find(|r| {
                    r.purpose_no == u32::from(subject.purpose)
                        && r.topic_no == u32::from(subject.topic)
                        && r.status == crate::view::status_to_stored(Status::Pending)
                });
                pending.and_then(|r| <[u8; 16]>::try_from(r.token_id.as_slice()).ok()).and_then(|token_id| {
                    let claims =
                        TokenClaims { contact: ContactKey([0; 16]), subject: *subject, token_id, expires_at: 0 };
                    let confirmation = Confirmation {
                        token: String::new(),
                        ip_address: String::new(),
                        user_agent: String::new(),
                        occurred_at_us: occurred(i, *at),
                        actor: "t".into(),
                    };
                    let topic = if subject.topic == 0 { String::new() } else { format!("t{}", subject.topic) };
                    let names = (format!("p{}", subject.purpose), topic);
                    apply_confirmation(&mut contact, &claims, &confirmation, revision + 1, now_us, (&names.0, &names.1))
                        .ok()
                        .map(|(event, _)| event)
                })
            }
            Change::Erase => Some(apply_erasure(&mut contact, &life(LifeEvent::Erase), revision + 1, now_us)),
            Change::Reassign { occurred: at } => {
                let at_us = occurred(i, *at);
                let life = life(LifeEvent::Reassign { at_us });
                Some(apply_reassignment(&mut contact, &life, at_us, revision + 1, now_us).1)
            }
        };
        if let Some(e) = event {
            if e.applied {
                revision += 1;
            }
            events.push(e);
        }
        states.push(index_state(&contact));
    }
    (events, states)
}

/// The i-th change is recorded at (i + 1) ms.
fn recorded(i: usize) -> i64 {
    (i as i64 + 1) * 1000
}

proptest! {
    /// As recorded at the moment of each change, the past is the state right after it.
    #[test]
    fn as_recorded_is_the_state_the_writer_had_at_every_step(changes in proptest::collection::vec(arb_change(), 1..24)) {
        let (events, states) = apply_all(&changes, |_, at| at * 1_000_000);
        let before = state_as_of(&events, subject_of, AsOf { at_us: 0, clock: Clock::Recorded });
        prop_assert!(before.is_empty());
        for (i, state) in states.iter().enumerate() {
            let past = state_as_of(&events, subject_of, AsOf { at_us: recorded(i), clock: Clock::Recorded });
            prop_assert_eq!(&past, state, "after change {} of {:?}", i, changes);
        }
    }

    /// As occurred at any moment, the past is what the ordering rules make of the changes
    /// that had occurred by then, whatever order they were recorded in (no double opt-in:
    /// whether an opt-in turns pending depends on what was recorded before it).
    #[test]
    fn as_occurred_is_the_state_of_the_changes_that_had_happened(
        changes in proptest::collection::vec(arb_change(), 1..24),
        at in 0i64..42,
    ) {
        let changes: Vec<Change> = changes
            .into_iter()
            .filter_map(|c| match c {
                Change::Consent { subject, opt_in, occurred, expires_at, proven, .. } => {
                    Some(Change::Consent { subject, opt_in, occurred, double_opt_in: false, expires_at, proven })
                }
                // An erasure happens when it is recorded: replaying a subset would move it.
                Change::Confirm { .. } | Change::Erase => None,
                s @ (Change::Suppression { .. } | Change::Reassign { .. }) => Some(s),
            })
            .collect();
        // Distinct times (seconds, the change's index below them): no exact ties, which
        // the live order breaks by content hash and history by recording order.
        let occurred = |i: usize, at: i64| at * 1_000_000 + i as i64;
        let (events, states) = apply_all(&changes, occurred);
        let at_us = at * 1_000_000 + 999_999;
        let happened: Vec<Change> =
            changes.iter().enumerate().filter(|(i, c)| occurred(*i, time_of(c)) <= at_us).map(|(_, c)| c.clone()).collect();
        // Keep their original indices' times: rebuild the same times for the subset.
        let indices: Vec<usize> = changes.iter().enumerate().filter(|(i, c)| occurred(*i, time_of(c)) <= at_us).map(|(i, _)| i).collect();
        let (_, subset_states) = apply_all(&happened, |j, t| occurred(indices[j], t));
        let expected = subset_states.last().cloned().unwrap_or_else(|| ContactState::new(Suppressions::NONE, []));
        let past = state_as_of(&events, subject_of, AsOf { at_us, clock: Clock::Occurred });
        prop_assert_eq!(past, expected, "at {} of {:?}", at_us, changes);
        // At the end of time both clocks agree with the live state.
        let end = AsOf { at_us: i64::MAX, clock: Clock::Occurred };
        let live = states.last().cloned().unwrap_or_else(|| ContactState::new(Suppressions::NONE, []));
        prop_assert_eq!(state_as_of(&events, subject_of, end), live);
    }

    /// With double opt-in and confirmations too, both clocks agree with the live state at
    /// the end of time.
    #[test]
    fn both_clocks_agree_with_the_live_state_at_the_end(changes in proptest::collection::vec(arb_change(), 1..24)) {
        let occurred = |i: usize, at: i64| at * 1_000_000 + i as i64;
        let (events, states) = apply_all(&changes, occurred);
        let live = states.last().cloned().unwrap_or_else(|| ContactState::new(Suppressions::NONE, []));
        for clock in [Clock::Recorded, Clock::Occurred] {
            prop_assert_eq!(&state_as_of(&events, subject_of, AsOf { at_us: i64::MAX, clock }), &live, "{:?}", clock);
        }
    }
}

fn time_of(c: &Change) -> i64 {
    match c {
        Change::Consent { occurred, .. }
        | Change::Suppression { occurred, .. }
        | Change::Confirm { occurred, .. }
        | Change::Reassign { occurred } => *occurred,
        Change::Erase => 0,
    }
}

#[test]
fn a_late_opt_out_shows_as_the_exposure_between_the_clocks() {
    let changes = [
        Change::Consent {
            subject: Subject::purpose(1),
            opt_in: true,
            occurred: 1,
            double_opt_in: false,
            expires_at: None,
            proven: false,
        },
        // Clicked at second 5, recorded as the second change (after the first).
        Change::Consent {
            subject: Subject::purpose(1),
            opt_in: false,
            occurred: 5,
            double_opt_in: false,
            expires_at: None,
            proven: false,
        },
    ];
    let (events, _) = apply_all(&changes, |_, at| at * 1_000_000);
    let status = |as_of| state_as_of(&events, subject_of, as_of).get(Subject::purpose(1)).map(|r| r.status);
    // Between the click (second 5 in event time) and its recording (1.5 ms on the
    // recording clock of this test, which starts at 0), the two clocks disagree.
    assert_eq!(status(AsOf { at_us: recorded(0), clock: Clock::Recorded }), Some(Status::OptedIn));
    assert_eq!(status(AsOf { at_us: 6_000_000, clock: Clock::Occurred }), Some(Status::OptedOut));
    assert_eq!(status(AsOf { at_us: 2_000_000, clock: Clock::Occurred }), Some(Status::OptedIn));
    assert_eq!(status(AsOf { at_us: recorded(1), clock: Clock::Recorded }), Some(Status::OptedOut));
}
