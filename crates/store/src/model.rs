//! The store's write-path types: what a change says and what applying it answered.

use consentd_core::decision::{Channel, DoubleOptInMode, Status, Subject, SuppressionKind, UnixSeconds};

/// Evidence of how a change was given: the click or form and the notice the person saw.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Proof {
    pub ip_address: String,
    pub user_agent: String,
    pub notice_id: String,
    pub notice_version: String,
    pub notice_hash: String,
    pub notice_text: String,
}

/// The current consent record of one purpose or topic.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub purpose_no: u32,
    pub topic_no: u32,
    pub status: Status,
    pub occurred_at_us: i64,
    /// Seconds: opt-in lapse, or the confirmation deadline of a pending record.
    pub expires_at: Option<i64>,
    pub revision: u64,
    pub source: Source,
}

/// Where a change came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Source {
    PreferenceCenter,
    Form,
    Import,
    SmsKeyword,
    OneClickUnsubscribe,
    Admin,
    Api,
    CrmSync,
    DoubleOptInConfirmation,
}

impl Source {
    /// Every source.
    pub const ALL: [Source; 9] = [
        Source::PreferenceCenter,
        Source::Form,
        Source::Import,
        Source::SmsKeyword,
        Source::OneClickUnsubscribe,
        Source::Admin,
        Source::Api,
        Source::CrmSync,
        Source::DoubleOptInConfirmation,
    ];

    /// The API's name in lower case (`CHANGE_SOURCE_CRM_SYNC` -> `crm_sync`).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::PreferenceCenter => "preference_center",
            Source::Form => "form",
            Source::Import => "import",
            Source::SmsKeyword => "sms_keyword",
            Source::OneClickUnsubscribe => "one_click_unsubscribe",
            Source::Admin => "admin",
            Source::Api => "api",
            Source::CrmSync => "crm_sync",
            Source::DoubleOptInConfirmation => "double_opt_in_confirmation",
        }
    }
}

/// Where a contact point lives: profile, channel and normalized value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ContactRef {
    pub profile_id: String,
    pub channel: Channel,
    pub contact_point: String,
}

/// Retry safety: a hash of (actor, key) and a hash of the request's content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Idempotency {
    pub key_hash: [u8; 32],
    pub content_hash: [u8; 32],
}

/// One consent change, validated and resolved by the caller.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConsentChange {
    pub contact: ContactRef,
    pub purpose_id: String,
    pub topic_id: String,
    pub subject: Subject,
    /// `OptedIn` or `OptedOut`; pending comes from double opt-in.
    pub status: Status,
    pub occurred_at_us: i64,
    pub source: Source,
    pub actor: String,
    pub reason: String,
    pub proof: Option<Proof>,
    /// Opt-ins only.
    pub expires_at: Option<UnixSeconds>,
    pub double_opt_in: DoubleOptInMode,
    pub confirmation_validity_secs: i64,
    pub idempotency: Option<Idempotency>,
}

/// A change as the store's tests write one: from the API, without proof, double opt-in or
/// idempotency key (each test overrides what it is about).
#[cfg(test)]
impl ConsentChange {
    pub(crate) fn example(contact: ContactRef, subject: Subject, status: Status, occurred_at_us: i64) -> ConsentChange {
        ConsentChange {
            contact,
            purpose_id: String::new(),
            topic_id: String::new(),
            subject,
            status,
            occurred_at_us,
            source: Source::Api,
            actor: "test".into(),
            reason: String::new(),
            proof: None,
            expires_at: None,
            double_opt_in: DoubleOptInMode::Off,
            confirmation_validity_secs: 0,
            idempotency: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeOutcome {
    Applied,
    PendingConfirmation,
    Superseded,
}

/// What a consent write answered.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeResult {
    pub outcome: ChangeOutcome,
    /// The new revision when applied; the store's revision at evaluation when superseded.
    pub revision: u64,
    pub confirmation_token: Option<String>,
    pub confirmation_expires_at: Option<UnixSeconds>,
    /// The subject's record after the change was evaluated.
    pub record: Option<Record>,
    pub replayed: bool,
}

/// Adds (`add`) or lifts one kind of suppression.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SuppressionChange {
    pub contact: ContactRef,
    pub kind: SuppressionKind,
    pub add: bool,
    pub occurred_at_us: i64,
    pub source: Source,
    pub actor: String,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuppressionResult {
    /// Whether the kind's active flag flipped.
    pub changed: bool,
    /// Whether the change was applied (false: an older change than the stored one).
    pub applied: bool,
    pub revision: u64,
}

/// A double opt-in confirmation: the token and the confirming click's evidence.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Confirmation {
    pub token: String,
    pub ip_address: String,
    pub user_agent: String,
    pub occurred_at_us: i64,
    pub actor: String,
}

/// History event kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Consent,
    Confirmation,
    SuppressionAdded,
    SuppressionLifted,
    /// The contact point was erased; its earlier events were redacted.
    Erased,
    /// The phone number was reassigned; `occurred_at` is the reassignment date.
    Reassigned,
}

/// A change to a contact point's life on one channel of one profile (DECISION-RULES.md,
/// "A contact point's life"). Named by its keyed hash only: an erasure carries no
/// plaintext, in the writer's queue or in the cluster's log.
#[derive(Clone, Debug, PartialEq)]
pub struct LifeChange {
    pub profile_id: String,
    pub channel: Channel,
    pub key: super::ContactKey,
    pub event: LifeEvent,
    pub source: Source,
    pub actor: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifeEvent {
    /// Erasure at the time the store applies it.
    Erase,
    /// The number was disconnected (and may be someone else's) at `at_us`.
    Reassign { at_us: i64 },
}

/// One signing secret; `not_after` (seconds) ends a secret replaced by a rotation.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WebhookSecret {
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    #[prost(int64, optional, tag = "2")]
    pub not_after: Option<i64>,
}

/// A subscription as stored.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WebhookDef {
    #[prost(string, tag = "1")]
    pub webhook_id: String,
    #[prost(string, tag = "2")]
    pub url: String,
    #[prost(string, repeated, tag = "3")]
    pub profile_ids: Vec<String>,
    /// The API's `WebhookEventKind` numbers; empty: every kind.
    #[prost(int32, repeated, tag = "4")]
    pub event_kinds: Vec<i32>,
    #[prost(bool, tag = "5")]
    pub personal_data: bool,
    #[prost(string, tag = "6")]
    pub description: String,
    #[prost(bool, tag = "7")]
    pub paused: bool,
    /// In the clear; empty when stored encrypted (`sealed_secrets`).
    #[prost(message, repeated, tag = "8")]
    pub secrets: Vec<WebhookSecret>,
    #[prost(int64, tag = "9")]
    pub created_at: i64,
    #[prost(string, tag = "10")]
    pub last_error: String,
    #[prost(int64, optional, tag = "11")]
    pub last_error_at: Option<i64>,
    /// Bumped by every change an admin makes: a delivery task knows whether the
    /// subscription it runs is still the stored one.
    #[prost(uint64, tag = "12")]
    pub generation: u64,
    /// Deliveries of generation `resume_generation` (and later ones, until the next resume)
    /// start after this revision: set on creation (the revision then) and by a replay.
    #[prost(uint64, optional, tag = "13")]
    pub resume_from: Option<u64>,
    #[prost(uint64, tag = "14")]
    pub resume_generation: u64,
    /// Cluster mode: the secrets, encrypted (a 24-byte nonce, then the ciphertext).
    #[prost(bytes = "vec", tag = "15")]
    pub sealed_secrets: Vec<u8>,
}

impl WebhookDef {
    /// The secrets that sign at `now` (seconds).
    pub fn signing_secrets(&self, now: i64) -> impl Iterator<Item = &[u8]> {
        self.secrets.iter().filter(move |s| s.not_after.is_none_or(|t| now < t)).map(|s| s.key.as_slice())
    }

    /// Where this generation's deliveries start, given the position recorded last and the
    /// generation that recorded it: a resume newer than that record wins.
    pub fn start_position(&self, recorded: Option<Position>) -> u64 {
        match recorded {
            Some(p) if p.generation >= self.resume_generation => p.revision,
            _ => self.resume_from.unwrap_or(0),
        }
    }
}

/// How far a subscription's deliveries got, and the generation that delivered them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub revision: u64,
    pub generation: u64,
}

/// What a subscription write expects to replace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Nothing: a new subscription.
    Absent,
    /// The subscription at this generation.
    Generation(u64),
}

/// A subscription change, as the log carries it.
#[derive(Clone, Debug)]
pub enum WebhookOp {
    Put { def: Box<WebhookDef>, expect: Expect },
    Delete { webhook_id: String },
}
