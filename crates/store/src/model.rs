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
}
