//! The vocabulary of a change as the writer applies it: an [`Op`], the [`Entry`] that carries
//! it through the cluster's log, and what applying it answered. The writer, the admin
//! changes, the log's wire encoding and replication all speak it; it imports none of them.

use super::StorageError;
use super::model::{
    ChangeResult, Confirmation, ConsentChange, LifeChange, SuppressionChange, SuppressionResult, WebhookOp,
};
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
    /// An erasure or a reassignment of one contact point (by its keyed hash).
    Life(LifeChange),
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
    /// A new link or receipt key signs from now on; in a cluster every node derives it
    /// from the cluster secret with its id.
    RotateKey(SigningKeyKind),
    /// Cluster mode: consent, suppression and confirmation changes that reached one node
    /// together, carried by one log entry and applied in their order. Each takes a revision
    /// of its own (see `replica`); never nested, never an admin change.
    Batch(Vec<BatchItem>),
}

/// Which signing key [`Op::RotateKey`] rotates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningKeyKind {
    /// The edge's link tokens.
    Link,
    /// Decision receipts.
    Receipt,
}

/// One change of an [`Op::Batch`], with the token id it may issue.
#[derive(Clone, Debug)]
pub struct BatchItem {
    pub token_id: [u8; 16],
    pub op: Op,
}

impl Op {
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Op::Profile { .. }
                | Op::Purpose { .. }
                | Op::Topic { .. }
                | Op::ApiKey(_)
                | Op::Webhook(_)
                | Op::RotateKey(_)
        )
    }

    /// A change a batch entry may carry: one contact point's consent, suppression,
    /// confirmation, erasure or reassignment.
    pub fn batchable(&self) -> bool {
        matches!(self, Op::Consent(_) | Op::Suppression(_) | Op::Confirm(..) | Op::Life(_))
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
#[derive(Debug)]
pub enum OpResult {
    Change(ChangeResult),
    Suppression(SuppressionResult),
    Profile(Profile),
    Purpose(Purpose),
    Topic(Topic),
    ApiKey,
    Webhook,
    /// The id of the new signing key.
    KeyRotated(u8),
    /// Of an [`Op::Batch`]: each change's answer, in its order (a refusal is one change's).
    Batch(Vec<Result<OpResult, StorageError>>),
}

/// The answer of an entry given to the writer, once its group is committed.
pub type Applied = tokio::sync::oneshot::Receiver<Result<OpResult, StorageError>>;

/// Cluster mode: the log entry an admin change is applied as.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stamp {
    /// The revision the change takes.
    pub revision: u64,
    /// The entry's position in the log.
    pub position: u64,
    pub at_us: i64,
}

impl Stamp {
    /// Puts the entry's revision and position into the batch that applies it.
    pub(super) fn write(&self, batch: &mut rocksdb::WriteBatch, meta: &impl rocksdb::AsColumnFamilyRef) {
        batch.put_cf(meta, super::codec::META_REVISION, self.revision.to_be_bytes());
        batch.put_cf(meta, super::codec::META_LOG_POSITION, self.position.to_be_bytes());
    }

    /// Once that batch is written: the position last, since the applier waits on it and
    /// then reads the revision.
    pub(super) fn publish(&self, shared: &super::Shared) {
        shared.revision_tx.send_replace(self.revision);
        shared.position_tx.send_replace(self.position);
    }
}
