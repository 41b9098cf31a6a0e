//! The vocabulary of a change as the writer applies it: an [`Op`], the [`Entry`] that carries
//! it through the cluster's log, and what applying it answered. The writer, the admin
//! changes, the log's wire encoding and replication all speak it; it imports none of them.

use super::StorageError;
use super::model::{ChangeResult, Confirmation, ConsentChange, SuppressionChange, SuppressionResult, WebhookOp};
use super::token::TokenClaims;
use super::view::ApiKey;
use consentd_core::decision::{Profile, Purpose, Topic};

/// One change of the log.
/// Its encoding on the wire is `wire`'s, never a derive on these types.
#[derive(Clone, Debug)]
pub enum Op {
    Consent(ConsentChange),
    Suppression(SuppressionChange),
    /// A confirmation whose token the receiving node verified.
    Confirm(Confirmation, TokenClaims),
    Profile {
        profile: Profile,
        create: bool,
    },
    Purpose {
        purpose: Purpose,
        create: bool,
    },
    Topic {
        topic: Topic,
        create: bool,
    },
    ApiKey(ApiKey),
    Webhook(WebhookOp),
}

impl Op {
    pub fn is_admin(&self) -> bool {
        matches!(self, Op::Profile { .. } | Op::Purpose { .. } | Op::Topic { .. } | Op::ApiKey(_) | Op::Webhook(_))
    }
}

/// An [`Op`] with what applying it must not draw itself.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The node that received it, and its number there: how that node finds its answer.
    pub origin: String,
    pub request: u64,
    /// The receiving node's clock when it accepted the change (microseconds).
    pub at_us: i64,
    /// The id of a confirmation token this change may issue.
    pub token_id: [u8; 16],
    pub op: Op,
}

/// What applying an entry answered.
#[derive(Clone, Debug)]
pub enum OpResult {
    Change(ChangeResult),
    Suppression(SuppressionResult),
    Profile(Profile),
    Purpose(Purpose),
    Topic(Topic),
    ApiKey,
    Webhook,
}

/// The answer of an entry given to the writer, once its group is committed.
pub type Applied = tokio::sync::oneshot::Receiver<Result<OpResult, StorageError>>;

/// Cluster mode: the log entry an admin change is applied as.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stamp {
    pub revision: u64,
    pub at_us: i64,
}
