//! The ordering rules of DECISION-RULES.md ("Writing consent", "Double opt-in"), as pure
//! functions on one contact point's stored state. The writer calls them; tests call them
//! directly to check that any arrival order of the same changes ends in the same state.
//!
//! Order of two changes to the same record: newer `occurred_at` wins; at the same instant
//! an opt-out wins over an opt-in; at the same instant and direction, the larger content
//! hash wins (arbitrary but the same on every replica and in every arrival order). A change
//! that loses is kept in the history as superseded.
//!
//! A contact point's life (DECISION-RULES.md): an erasure at T clears the records and the
//! plaintext and leaves the tombstone, a suppression of kind `erased`. A change that occurred
//! at or before T is superseded. A later opt-in lifts the tombstone only when it carries
//! proof of a new consent: source `form` or `preference_center` with a proof (IP address,
//! user agent or notice), and not left pending by double opt-in; or the confirmation of a
//! double opt-in that occurred after T. While the tombstone stands, events are written
//! without personal data (see [`redact`]) and the plaintext is not kept, except from a
//! change that carries such proof (the person gave the address again). A reassignment at D
//! voids the records that occurred at or before D where they are read ([`index_state`]);
//! the stored records stay as they were, so the ordering rules are not touched and any
//! arrival order of changes and reassignments ends in the same state.

use prost::Message;
use sha2::{Digest, Sha256};

use super::codec::{EventBody, StoredContact, StoredProof, StoredRecord, StoredSuppression};
use super::model::{ChangeOutcome, Confirmation, ConsentChange, EventKind, LifeChange, Source, SuppressionChange};
use super::token::TokenClaims;
use super::view::{
    channel_to_stored, event_kind_to_stored, source_to_stored, status_from_stored, status_to_stored,
    suppression_kind_from_stored, suppression_kind_to_stored,
};
use consentd_core::decision::{
    ContactState, DoubleOptInMode, Record, Status, Subject, SuppressionKind, Suppressions, after_reassignment,
};

/// Why a confirmation cannot apply to the stored state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmRefusal {
    /// The record is not pending on this token: confirmed already, or replaced by a newer change.
    NotPending,
    /// The pending record's confirmation deadline has passed.
    Expired,
    /// The confirmation says it happened before the request it confirms.
    BeforeRequest,
}

/// The outcome of applying a consent change.
#[derive(Debug)]
pub struct ConsentApplied {
    pub outcome: ChangeOutcome,
    pub event: EventBody,
    pub record: Option<StoredRecord>,
    /// Set when the change became pending: the token's id and expiry.
    pub pending: Option<([u8; 16], i64)>,
}

fn find(contact: &StoredContact, subject: Subject) -> Option<usize> {
    contact
        .records
        .iter()
        .position(|r| r.purpose_no == u32::from(subject.purpose) && r.topic_no == u32::from(subject.topic))
}

fn order_key(occurred_at_us: i64, status: u32, tiebreak: &[u8]) -> (i64, bool, Vec<u8>) {
    (occurred_at_us, status == status_to_stored(Status::OptedOut), tiebreak.to_vec())
}

fn event_for(change: &ConsentChange) -> EventBody {
    EventBody {
        kind: event_kind_to_stored(EventKind::Consent),
        profile_id: change.contact.profile_id.clone(),
        channel: channel_to_stored(change.contact.channel),
        contact_point: change.contact.contact_point.clone(),
        purpose_id: change.purpose_id.clone(),
        topic_id: change.topic_id.clone(),
        status: status_to_stored(change.status),
        occurred_at_us: change.occurred_at_us,
        expires_at: change.expires_at,
        source: source_to_stored(change.source),
        actor: change.actor.clone(),
        reason: change.reason.clone(),
        proof: change.proof.clone().map(Into::into),
        ..EventBody::default()
    }
}

/// The time of the contact point's erasure while its tombstone stands.
pub fn tombstone(contact: &StoredContact) -> Option<i64> {
    let erased = suppression_kind_to_stored(SuppressionKind::Erased);
    let active = contact.suppressions.iter().any(|s| s.kind == erased && s.active);
    if active { contact.erased_at_us } else { None }
}

/// Whether `change` carries proof of a new consent, as lifting a tombstone needs.
fn proves_new_consent(change: &ConsentChange) -> bool {
    let proof = change.proof.as_ref().is_some_and(|p| {
        !(p.ip_address.is_empty() && p.user_agent.is_empty() && p.notice_id.is_empty() && p.notice_hash.is_empty())
    });
    matches!(change.source, Source::Form | Source::PreferenceCenter) && proof
}

/// Removes the personal data of an event: the contact point, the IP addresses and user
/// agents of its proofs, and its free text. What the notice was (id, version, hash, text),
/// who recorded it and every time and status stay: they are the sender's proof, not the
/// person's data.
pub fn redact(body: &mut EventBody) {
    body.contact_point.clear();
    body.reason.clear();
    for proof in [&mut body.proof, &mut body.confirmation_proof].into_iter().flatten() {
        proof.ip_address.clear();
        proof.user_agent.clear();
    }
}

fn lift_tombstone(contact: &mut StoredContact, occurred_at_us: i64, revision: u64) {
    let erased = suppression_kind_to_stored(SuppressionKind::Erased);
    if let Some(s) = contact.suppressions.iter_mut().find(|s| s.kind == erased) {
        s.active = false;
        s.occurred_at_us = occurred_at_us;
        s.revision = revision;
    }
}

/// Applies `change` if it is newer than the stored record of its subject. `revision` is
/// used if it applies; `now_us` is the server's time; `token_id` names the confirmation
/// token if the change becomes pending.
pub fn apply_consent(
    contact: &mut StoredContact,
    change: &ConsentChange,
    revision: u64,
    now_us: i64,
    token_id: [u8; 16],
) -> ConsentApplied {
    let mut event = event_for(change);
    // The content hash covers what the caller sent, before server-assigned fields.
    let tiebreak = Sha256::digest(event.encode_to_vec())[..8].to_vec();
    event.recorded_at_us = now_us;
    let pos = find(contact, change.subject);
    let tomb = tombstone(contact);
    let new_proof = tomb.is_some_and(|t| change.occurred_at_us > t) && proves_new_consent(change);
    if tomb.is_some() && !new_proof {
        redact(&mut event);
    }
    // An erasure supersedes everything that occurred up to it, also after its tombstone
    // was lifted.
    if contact.erased_at_us.is_some_and(|t| change.occurred_at_us <= t) {
        return ConsentApplied {
            outcome: ChangeOutcome::Superseded,
            event,
            record: pos.map(|i| contact.records[i].clone()),
            pending: None,
        };
    }
    let newer = pos.is_none_or(|i| {
        let stored = &contact.records[i];
        order_key(change.occurred_at_us, status_to_stored(change.status), &tiebreak)
            > order_key(stored.occurred_at_us, stored.status, &stored.tiebreak)
    });
    if !newer {
        return ConsentApplied {
            outcome: ChangeOutcome::Superseded,
            event,
            record: pos.map(|i| contact.records[i].clone()),
            pending: None,
        };
    }
    let already_opted_in = pos.is_some_and(|i| contact.records[i].status == status_to_stored(Status::OptedIn));
    // "New contact point": nothing but (unconfirmed) pending records so far.
    let is_new = contact.records.iter().all(|r| r.status == status_to_stored(Status::Pending));
    // An opt-in to a subject that is already opted in refreshes it: the address was
    // verified for it before, and turning consent back into pending would withdraw it.
    let needs_confirmation = change.status == Status::OptedIn
        && !already_opted_in
        && match change.double_opt_in {
            DoubleOptInMode::Off => false,
            DoubleOptInMode::EveryOptIn => true,
            DoubleOptInMode::NewContactPoints => is_new,
        };
    let now_secs = now_us.div_euclid(1_000_000);
    let mut record = StoredRecord {
        purpose_no: u32::from(change.subject.purpose),
        topic_no: u32::from(change.subject.topic),
        status: status_to_stored(change.status),
        occurred_at_us: change.occurred_at_us,
        expires_at: if change.status == Status::OptedIn { change.expires_at } else { None },
        revision,
        source: source_to_stored(change.source),
        token_id: Vec::new(),
        requested_expires_at: None,
        tiebreak,
    };
    let mut pending = None;
    if needs_confirmation {
        let deadline = now_secs.saturating_add(change.double_opt_in_validity());
        record.status = status_to_stored(Status::Pending);
        record.requested_expires_at = change.expires_at;
        record.expires_at = Some(deadline);
        record.token_id = token_id.to_vec();
        pending = Some((token_id, deadline));
        event.status = status_to_stored(Status::Pending);
        event.expires_at = Some(deadline);
        event.token_id = token_id.to_vec();
    }
    event.applied = true;
    event.revision = revision;
    match pos {
        Some(i) => contact.records[i] = record.clone(),
        None => contact.records.push(record.clone()),
    }
    if new_proof {
        contact.contact_point = change.contact.contact_point.clone();
        if change.status == Status::OptedIn && pending.is_none() {
            lift_tombstone(contact, change.occurred_at_us, revision);
            event.lifts_erasure = true;
        }
    }
    let outcome = if pending.is_some() { ChangeOutcome::PendingConfirmation } else { ChangeOutcome::Applied };
    ConsentApplied { outcome, event, record: Some(record), pending }
}

impl ConsentChange {
    fn double_opt_in_validity(&self) -> i64 {
        self.confirmation_validity_secs.max(1)
    }
}

/// Confirms the pending record `claims` names. The token's signature and expiry were
/// checked by the caller; this checks that the record still waits on this very token.
pub fn apply_confirmation(
    contact: &mut StoredContact,
    claims: &TokenClaims,
    confirmation: &Confirmation,
    revision: u64,
    now_us: i64,
    subject_names: (&str, &str),
) -> Result<(EventBody, StoredRecord), ConfirmRefusal> {
    let i = find(contact, claims.subject).ok_or(ConfirmRefusal::NotPending)?;
    let record = &contact.records[i];
    if record.status != status_to_stored(Status::Pending) || record.token_id != claims.token_id {
        return Err(ConfirmRefusal::NotPending);
    }
    if record.expires_at.is_some_and(|t| t <= now_us.div_euclid(1_000_000)) {
        return Err(ConfirmRefusal::Expired);
    }
    if confirmation.occurred_at_us < record.occurred_at_us {
        return Err(ConfirmRefusal::BeforeRequest);
    }
    // Requested before the number's reassignment: the request was the previous owner's.
    if contact.reassigned_at_us.is_some_and(|d| record.occurred_at_us <= d) {
        return Err(ConfirmRefusal::NotPending);
    }
    let lifts = tombstone(contact).is_some_and(|t| confirmation.occurred_at_us > t);
    let record = &mut contact.records[i];
    record.status = status_to_stored(Status::OptedIn);
    record.expires_at = record.requested_expires_at.take();
    record.revision = revision;
    let token_id = std::mem::take(&mut record.token_id);
    let record = record.clone();
    if lifts {
        lift_tombstone(contact, confirmation.occurred_at_us, revision);
    }
    let mut event = EventBody {
        kind: event_kind_to_stored(EventKind::Confirmation),
        applied: true,
        revision,
        profile_id: contact.profile_id.clone(),
        channel: contact.channel,
        contact_point: contact.contact_point.clone(),
        purpose_id: subject_names.0.to_owned(),
        topic_id: subject_names.1.to_owned(),
        status: status_to_stored(Status::OptedIn),
        occurred_at_us: confirmation.occurred_at_us,
        recorded_at_us: now_us,
        expires_at: record.expires_at,
        source: source_to_stored(Source::DoubleOptInConfirmation),
        actor: confirmation.actor.clone(),
        token_id,
        confirmation_proof: Some(StoredProof {
            ip_address: confirmation.ip_address.clone(),
            user_agent: confirmation.user_agent.clone(),
            ..StoredProof::default()
        }),
        confirmed_at_us: Some(confirmation.occurred_at_us),
        lifts_erasure: lifts,
        ..EventBody::default()
    };
    if tombstone(contact).is_some() {
        redact(&mut event);
    }
    Ok((event, record))
}

/// Adds or lifts one suppression kind if the change is newer than the kind's last change
/// (at the same instant, adding wins). Returns (applied, changed, event).
pub fn apply_suppression(
    contact: &mut StoredContact,
    change: &SuppressionChange,
    revision: u64,
    now_us: i64,
) -> (bool, bool, EventBody) {
    let kind = suppression_kind_to_stored(change.kind);
    let pos = contact.suppressions.iter().position(|s| s.kind == kind);
    let newer = pos.is_none_or(|i| {
        let s = &contact.suppressions[i];
        change.occurred_at_us > s.occurred_at_us
            || (change.occurred_at_us == s.occurred_at_us && change.add && !s.active)
    });
    let was_active = pos.is_some_and(|i| contact.suppressions[i].active);
    let mut event = EventBody {
        kind: event_kind_to_stored(if change.add { EventKind::SuppressionAdded } else { EventKind::SuppressionLifted }),
        profile_id: change.contact.profile_id.clone(),
        channel: channel_to_stored(change.contact.channel),
        contact_point: change.contact.contact_point.clone(),
        suppression_kind: kind + 1,
        occurred_at_us: change.occurred_at_us,
        recorded_at_us: now_us,
        source: source_to_stored(change.source),
        actor: change.actor.clone(),
        reason: change.reason.clone(),
        ..EventBody::default()
    };
    if tombstone(contact).is_some() {
        redact(&mut event);
    }
    if !newer {
        return (false, false, event);
    }
    let stored = StoredSuppression {
        kind,
        active: change.add,
        occurred_at_us: change.occurred_at_us,
        reason: change.reason.clone(),
        revision,
    };
    match pos {
        Some(i) => contact.suppressions[i] = stored,
        None => contact.suppressions.push(stored),
    }
    event.applied = true;
    event.revision = revision;
    (true, was_active != change.add, event)
}

/// Erases the contact point at `now_us`: its records and plaintext go, the tombstone (a
/// suppression of kind `erased`) stays with the other suppressions. A second erasure moves
/// T on. The caller redacts the earlier events and fills in `redacted_digest`.
pub fn apply_erasure(contact: &mut StoredContact, change: &LifeChange, revision: u64, now_us: i64) -> EventBody {
    contact.records.clear();
    contact.contact_point.clear();
    let t = contact.erased_at_us.map_or(now_us, |t| t.max(now_us));
    contact.erased_at_us = Some(t);
    let kind = suppression_kind_to_stored(SuppressionKind::Erased);
    let stored = StoredSuppression { kind, active: true, occurred_at_us: t, reason: String::new(), revision };
    match contact.suppressions.iter_mut().find(|s| s.kind == kind) {
        Some(s) => *s = stored,
        None => contact.suppressions.push(stored),
    }
    EventBody {
        kind: event_kind_to_stored(EventKind::Erased),
        applied: true,
        revision,
        profile_id: contact.profile_id.clone(),
        channel: contact.channel,
        suppression_kind: kind + 1,
        occurred_at_us: t,
        recorded_at_us: now_us,
        source: source_to_stored(change.source),
        actor: change.actor.clone(),
        ..EventBody::default()
    }
}

/// Records that the number was reassigned at `at_us`; applied when later than the date
/// stored (so the same report again changes nothing). Returns (applied, event).
pub fn apply_reassignment(
    contact: &mut StoredContact,
    change: &LifeChange,
    at_us: i64,
    revision: u64,
    now_us: i64,
) -> (bool, EventBody) {
    let applied = contact.reassigned_at_us.is_none_or(|d| at_us > d);
    if applied {
        contact.reassigned_at_us = Some(at_us);
    }
    let event = EventBody {
        kind: event_kind_to_stored(EventKind::Reassigned),
        applied,
        revision: if applied { revision } else { 0 },
        profile_id: contact.profile_id.clone(),
        channel: contact.channel,
        contact_point: contact.contact_point.clone(),
        occurred_at_us: at_us,
        recorded_at_us: now_us,
        source: source_to_stored(change.source),
        actor: change.actor.clone(),
        ..EventBody::default()
    };
    (applied, event)
}

/// The decision state of a stored contact point, as the hot index keeps it: records a
/// reassignment voided read as DECISION-RULES.md says ([`after_reassignment`]).
pub fn index_state(contact: &StoredContact) -> ContactState {
    let mut suppressions = Suppressions::NONE;
    for s in contact.suppressions.iter().filter(|s| s.active) {
        if let Some(kind) = suppression_kind_from_stored(s.kind) {
            suppressions = suppressions.with(kind);
        }
    }
    let records = contact.records.iter().filter_map(|r| {
        let status = status_from_stored(r.status)?;
        let subject = Subject { purpose: u16::try_from(r.purpose_no).ok()?, topic: u16::try_from(r.topic_no).ok()? };
        after_reassignment(
            subject,
            Record { status, expires_at: r.expires_at },
            r.occurred_at_us,
            contact.reassigned_at_us,
        )
    });
    ContactState::from_packed(suppressions, records.collect())
}

#[cfg(test)]
mod tests;
