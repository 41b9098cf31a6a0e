//! What the store's reads return: typed read models of stored records.
//!
//! The on-disk encodings (numbers for status, source, event kind, suppression kind,
//! channel and scope) stay inside `storage`: every number is mapped to its enum exactly
//! once, here, and a number the store does not know is reported as damage, not passed on.
//! Callers outside `storage` see only these types.

use super::codec::{EventBody, StoredApiKey, StoredContact, StoredEvent, StoredProof, StoredRecord, StoredSuppression};
use super::model::{ChangeOutcome, EventKind, Source};
pub use super::model::{Proof, Record};
use consentd_core::decision::{Channel, Status, SuppressionKind};

/// The latest change of one kind of suppression.
#[derive(Clone, Debug, PartialEq)]
pub struct Suppression {
    pub kind: SuppressionKind,
    pub active: bool,
    pub occurred_at_us: i64,
    pub reason: String,
    pub revision: u64,
}

/// Everything stored about one contact point on one channel of one profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Contact {
    pub profile_id: String,
    pub channel: Channel,
    pub contact_point: String,
    pub records: Vec<Record>,
    pub suppressions: Vec<Suppression>,
    pub history_len: u64,
    /// The latest reassignment date of a phone number (microseconds).
    pub reassigned_at_us: Option<i64>,
    /// When it was erased (microseconds); its plaintext is then not kept.
    pub erased_at_us: Option<i64>,
}

/// One history event with its place in the hash chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The contact point's keyed hash (its plaintext may have been erased).
    pub contact_key: super::ContactKey,
    pub seq: u64,
    pub kind: EventKind,
    pub applied: bool,
    pub revision: u64,
    pub profile_id: String,
    pub channel: Channel,
    pub contact_point: String,
    pub purpose_id: String,
    pub topic_id: String,
    /// Consent and confirmation events.
    pub status: Option<Status>,
    /// Suppression events.
    pub suppression_kind: Option<SuppressionKind>,
    pub occurred_at_us: i64,
    pub recorded_at_us: i64,
    pub expires_at: Option<i64>,
    pub source: Source,
    pub actor: String,
    pub reason: String,
    pub proof: Option<Proof>,
    pub token_id: Vec<u8>,
    pub confirmation_proof: Option<Proof>,
    pub confirmed_at_us: Option<i64>,
    /// An opt-in that lifted an erasure's tombstone.
    pub lifts_erasure: bool,
    /// Personal data removed by an erasure; `hash` is the original body's.
    pub redacted: bool,
    pub hash: Vec<u8>,
    pub prev_hash: Vec<u8>,
}

/// What an API key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Scope {
    Check,
    Write,
    Admin,
}

impl Scope {
    /// Every scope, once.
    pub const ALL: [Scope; 3] = [Scope::Check, Scope::Write, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Check => "check",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

/// An API key as stored: the secret only as its SHA-256.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ApiKey {
    pub key_id: String,
    pub description: String,
    pub secret_hash: Vec<u8>,
    pub scopes: Vec<Scope>,
    /// Empty: every profile.
    pub profile_ids: Vec<String>,
    pub revoked: bool,
    pub created_at: i64,
    /// Seconds since the epoch; from then on the key is refused. `None`: never.
    pub expires_at: Option<i64>,
}

// ---- the one mapping of each stored number -----------------------------------------

pub(super) fn status_to_stored(s: Status) -> u32 {
    match s {
        Status::OptedIn => 1,
        Status::OptedOut => 2,
        Status::Pending => 3,
    }
}

pub(super) fn status_from_stored(n: u32) -> Option<Status> {
    match n {
        1 => Some(Status::OptedIn),
        2 => Some(Status::OptedOut),
        3 => Some(Status::Pending),
        _ => None,
    }
}

pub(super) fn event_kind_to_stored(k: EventKind) -> u32 {
    match k {
        EventKind::Consent => 1,
        EventKind::Confirmation => 2,
        EventKind::SuppressionAdded => 3,
        EventKind::SuppressionLifted => 4,
        EventKind::Erased => 5,
        EventKind::Reassigned => 6,
    }
}

pub(super) fn event_kind_from_stored(n: u32) -> Option<EventKind> {
    match n {
        1 => Some(EventKind::Consent),
        2 => Some(EventKind::Confirmation),
        3 => Some(EventKind::SuppressionAdded),
        4 => Some(EventKind::SuppressionLifted),
        5 => Some(EventKind::Erased),
        6 => Some(EventKind::Reassigned),
        _ => None,
    }
}

/// Suppression kinds are stored as their index in [`SuppressionKind::ALL`].
pub(super) fn suppression_kind_to_stored(k: SuppressionKind) -> u32 {
    k as u32
}

pub(super) fn suppression_kind_from_stored(n: u32) -> Option<SuppressionKind> {
    SuppressionKind::ALL.get(n as usize).copied()
}

/// Whose entry a stored contact point is in the hot index; `None` for an unknown channel.
pub(super) fn origin_of(contact: &super::codec::StoredContact) -> Option<super::codec::Origin> {
    channel_from_stored(contact.channel).map(|c| super::codec::Origin::new(&contact.profile_id, c))
}

/// Channels are stored as their index in [`Channel::ALL`].
pub(super) fn channel_from_stored(n: u32) -> Option<Channel> {
    Channel::ALL.get(n as usize).copied()
}

fn scope_to_stored(s: Scope) -> u32 {
    match s {
        Scope::Check => 1,
        Scope::Write => 2,
        Scope::Admin => 3,
    }
}

fn scope_from_stored(n: u32) -> Option<Scope> {
    match n {
        1 => Some(Scope::Check),
        2 => Some(Scope::Write),
        3 => Some(Scope::Admin),
        _ => None,
    }
}

pub(super) fn source_to_stored(s: Source) -> u32 {
    match s {
        Source::PreferenceCenter => 1,
        Source::Form => 2,
        Source::Import => 3,
        Source::SmsKeyword => 4,
        Source::OneClickUnsubscribe => 5,
        Source::Admin => 6,
        Source::Api => 7,
        Source::CrmSync => 8,
        Source::DoubleOptInConfirmation => 9,
    }
}

pub(super) fn source_from_stored(n: u32) -> Option<Source> {
    Some(match n {
        1 => Source::PreferenceCenter,
        2 => Source::Form,
        3 => Source::Import,
        4 => Source::SmsKeyword,
        5 => Source::OneClickUnsubscribe,
        6 => Source::Admin,
        7 => Source::Api,
        8 => Source::CrmSync,
        9 => Source::DoubleOptInConfirmation,
        _ => return None,
    })
}

pub(super) fn outcome_to_stored(o: ChangeOutcome) -> u32 {
    match o {
        ChangeOutcome::Applied => 1,
        ChangeOutcome::PendingConfirmation => 2,
        ChangeOutcome::Superseded => 3,
    }
}

pub(super) fn outcome_from_stored(n: u32) -> Option<ChangeOutcome> {
    match n {
        1 => Some(ChangeOutcome::Applied),
        2 => Some(ChangeOutcome::PendingConfirmation),
        3 => Some(ChangeOutcome::Superseded),
        _ => None,
    }
}

/// Channels are stored as their index in [`Channel::ALL`] (the contact key hashes the
/// same number as one byte).
pub(super) fn channel_to_stored(c: Channel) -> u32 {
    c.index() as u32
}

// ---- stored → view -----------------------------------------------------------------

/// Why a stored value cannot be shown: names the field and the number.
pub(super) type Undecodable = super::Damage;

fn known<T>(what: &str, n: u32, v: Option<T>) -> Result<T, Undecodable> {
    v.ok_or_else(|| super::Damage(format!("unknown {what} {n}")))
}

impl From<StoredProof> for Proof {
    fn from(p: StoredProof) -> Proof {
        let StoredProof { ip_address, user_agent, notice_id, notice_version, notice_hash, notice_text } = p;
        Proof { ip_address, user_agent, notice_id, notice_version, notice_hash, notice_text }
    }
}

impl From<Proof> for StoredProof {
    fn from(p: Proof) -> StoredProof {
        let Proof { ip_address, user_agent, notice_id, notice_version, notice_hash, notice_text } = p;
        StoredProof { ip_address, user_agent, notice_id, notice_version, notice_hash, notice_text }
    }
}

impl TryFrom<&StoredRecord> for Record {
    type Error = Undecodable;
    fn try_from(r: &StoredRecord) -> Result<Record, Undecodable> {
        Ok(Record {
            purpose_no: r.purpose_no,
            topic_no: r.topic_no,
            status: known("status", r.status, status_from_stored(r.status))?,
            occurred_at_us: r.occurred_at_us,
            expires_at: r.expires_at,
            revision: r.revision,
            source: known("source", r.source, source_from_stored(r.source))?,
        })
    }
}

impl TryFrom<&StoredSuppression> for Suppression {
    type Error = Undecodable;
    fn try_from(s: &StoredSuppression) -> Result<Suppression, Undecodable> {
        Ok(Suppression {
            kind: known("suppression kind", s.kind, suppression_kind_from_stored(s.kind))?,
            active: s.active,
            occurred_at_us: s.occurred_at_us,
            reason: s.reason.clone(),
            revision: s.revision,
        })
    }
}

impl TryFrom<StoredContact> for Contact {
    type Error = Undecodable;
    fn try_from(c: StoredContact) -> Result<Contact, Undecodable> {
        let StoredContact {
            profile_id,
            channel,
            contact_point,
            records,
            suppressions,
            history_len,
            last_hash: _,
            reassigned_at_us,
            erased_at_us,
        } = c;
        Ok(Contact {
            profile_id,
            channel: known("channel", channel, channel_from_stored(channel))?,
            contact_point,
            records: records.iter().map(Record::try_from).collect::<Result<_, _>>()?,
            suppressions: suppressions.iter().map(Suppression::try_from).collect::<Result<_, _>>()?,
            history_len,
            reassigned_at_us,
            erased_at_us,
        })
    }
}

impl Event {
    pub(super) fn from_stored(
        contact_key: super::ContactKey,
        body: EventBody,
        stored: StoredEvent,
    ) -> Result<Event, Undecodable> {
        let EventBody {
            seq,
            kind,
            applied,
            revision,
            profile_id,
            channel,
            contact_point,
            purpose_id,
            topic_id,
            status,
            suppression_kind,
            occurred_at_us,
            recorded_at_us,
            expires_at,
            source,
            actor,
            reason,
            proof,
            token_id,
            confirmation_proof,
            confirmed_at_us,
            lifts_erasure,
            redacted_digest: _,
        } = body;
        let StoredEvent { body: _, prev_hash, hash, redacted } = stored;
        Ok(Event {
            contact_key,
            seq,
            kind: known("event kind", kind, event_kind_from_stored(kind))?,
            applied,
            revision,
            profile_id,
            channel: known("channel", channel, channel_from_stored(channel))?,
            contact_point,
            purpose_id,
            topic_id,
            status: match status {
                0 => None,
                n => Some(known("status", n, status_from_stored(n))?),
            },
            // Stored as the kind + 1, so that 0 means none.
            suppression_kind: match suppression_kind {
                0 => None,
                n => Some(known("suppression kind", n, suppression_kind_from_stored(n - 1))?),
            },
            occurred_at_us,
            recorded_at_us,
            expires_at,
            source: known("source", source, source_from_stored(source))?,
            actor,
            reason,
            proof: proof.map(Proof::from),
            token_id,
            confirmation_proof: confirmation_proof.map(Proof::from),
            confirmed_at_us,
            lifts_erasure,
            redacted,
            hash,
            prev_hash,
        })
    }
}

impl TryFrom<StoredApiKey> for ApiKey {
    type Error = Undecodable;
    fn try_from(k: StoredApiKey) -> Result<ApiKey, Undecodable> {
        let StoredApiKey { key_id, description, secret_hash, scopes, profile_ids, revoked, created_at, expires_at } = k;
        Ok(ApiKey {
            key_id,
            description,
            secret_hash,
            scopes: scopes.iter().map(|&n| known("scope", n, scope_from_stored(n))).collect::<Result<_, _>>()?,
            profile_ids,
            revoked,
            created_at,
            expires_at,
        })
    }
}

impl From<ApiKey> for StoredApiKey {
    fn from(k: ApiKey) -> StoredApiKey {
        let ApiKey { key_id, description, secret_hash, scopes, profile_ids, revoked, created_at, expires_at } = k;
        StoredApiKey {
            key_id,
            description,
            secret_hash,
            scopes: scopes.into_iter().map(scope_to_stored).collect(),
            profile_ids,
            revoked,
            created_at,
            expires_at,
        }
    }
}
