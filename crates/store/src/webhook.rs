//! Webhook subscriptions and their delivery positions.
//!
//! Subscriptions are configuration, written like profiles: one by one, synced, serialized
//! by the admin lock, and in cluster mode through the replicated log, so that every node
//! holds the same ones (kept in the meta family, outside the state digest). Every write
//! names what it expects to replace (nothing, or a generation), and is refused alike on
//! every node when the stored subscription is another: two admins, or an admin and a
//! delivery recording a pause, never overwrite each other's change with an old copy.
//!
//! In cluster mode the signing secrets never travel in the clear: the receiving node
//! encrypts them (XChaCha20-Poly1305 under a key derived from the cluster secret, the
//! subscription's id as associated data) before the entry is published, so neither the log
//! nor a snapshot holds them readable; a node decrypts them when it signs.
//!
//! Positions (how far a standalone server's deliveries got) are this node's own and not
//! synced: a position lost in a crash means some changes are delivered again, with the same
//! message ids, which at-least-once delivery allows. A cluster keeps its positions beside
//! the delivery leases, in NATS (see the server's `cluster::leases`).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use prost::Message;
use rand::Rng;
use rocksdb::{Direction, IteratorMode, WriteOptions};

use super::codec::CF_META;
pub use super::model::{Expect, Position, WebhookDef, WebhookOp, WebhookSecret};
use super::op::{Op, OpResult, Stamp};
use super::{Refusal, StorageError, Store};

const DEFINITION_PREFIX: &[u8] = b"webhook/";
const POSITION_PREFIX: &[u8] = b"webhook_at/";

/// Subscriptions a store holds at most (each has a delivery task and a connection).
pub const WEBHOOKS_MAX: usize = 64;

/// The secrets, as encrypted whole in cluster mode.
#[derive(Clone, PartialEq, prost::Message)]
struct SecretList {
    #[prost(message, repeated, tag = "1")]
    secrets: Vec<WebhookSecret>,
}

fn name(prefix: &[u8], id: &str) -> Vec<u8> {
    [prefix, id.as_bytes()].concat()
}

fn cipher(key: &[u8; 32]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.into())
}

impl Store {
    /// Every subscription, by id, with its secrets readable.
    pub fn webhooks(&self) -> Result<Vec<WebhookDef>, StorageError> {
        let s = self.shared();
        let meta = s.cf(CF_META)?;
        let mut out = Vec::new();
        for item in s.db.iterator_cf(meta, IteratorMode::From(DEFINITION_PREFIX, Direction::Forward)) {
            let (k, v) = item.map_err(|e| s.read_error(e))?;
            if !k.starts_with(DEFINITION_PREFIX) {
                break;
            }
            out.push(self.decode_webhook(&v)?);
        }
        Ok(out)
    }

    pub fn webhook(&self, id: &str) -> Result<Option<WebhookDef>, StorageError> {
        let s = self.shared();
        let Some(v) = s.db.get_pinned_cf(s.cf(CF_META)?, name(DEFINITION_PREFIX, id)).map_err(|e| s.read_error(e))?
        else {
            return Ok(None);
        };
        self.decode_webhook(&v).map(Some)
    }

    fn decode_webhook(&self, bytes: &[u8]) -> Result<WebhookDef, StorageError> {
        let s = self.shared();
        let mut def =
            WebhookDef::decode(bytes).map_err(|e| s.undecodable(format!("webhook subscription undecodable: {e}")))?;
        if !def.sealed_secrets.is_empty() {
            def.secrets = self.open_secrets(&def)?;
            def.sealed_secrets.clear();
        }
        Ok(def)
    }

    /// Encrypts the secrets when this store is a cluster node's.
    fn seal_secrets(&self, mut def: WebhookDef) -> WebhookDef {
        let Some(key) = &self.inner.webhook_key else { return def };
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let plain = SecretList { secrets: std::mem::take(&mut def.secrets) }.encode_to_vec();
        let payload = Payload { msg: &plain, aad: def.webhook_id.as_bytes() };
        // Encryption fails only past the cipher's length limit (256 GiB).
        if let Ok(sealed) = cipher(key).encrypt(XNonce::from_slice(&nonce), payload) {
            def.sealed_secrets = [nonce.as_slice(), &sealed].concat();
        }
        def
    }

    fn open_secrets(&self, def: &WebhookDef) -> Result<Vec<WebhookSecret>, StorageError> {
        let s = self.shared();
        let key = self.inner.webhook_key.as_ref().ok_or_else(|| {
            s.undecodable(format!(
                "webhook `{}` holds secrets encrypted with a cluster secret, and this store has none",
                def.webhook_id
            ))
        })?;
        let sealed = &def.sealed_secrets;
        let opened = (sealed.len() > 24)
            .then(|| {
                let payload = Payload { msg: &sealed[24..], aad: def.webhook_id.as_bytes() };
                cipher(key).decrypt(XNonce::from_slice(&sealed[..24]), payload).ok()
            })
            .flatten()
            .ok_or_else(|| {
                s.undecodable(format!(
                    "webhook `{}`: its secrets do not decrypt with this node's cluster secret",
                    def.webhook_id
                ))
            })?;
        SecretList::decode(opened.as_slice())
            .map(|l| l.secrets)
            .map_err(|e| s.undecodable(format!("webhook `{}`: secrets undecodable: {e}", def.webhook_id)))
    }

    /// Writes a subscription if the stored one is what `expect` says; in cluster mode
    /// through the log. Refused (`AlreadyExists`, `NotFound`, `Stale`, `Limit`) alike on
    /// every node.
    pub async fn put_webhook(&self, def: WebhookDef, expect: Expect) -> Result<(), StorageError> {
        let def = self.seal_secrets(def);
        self.change_webhook(WebhookOp::Put { def: Box::new(def), expect }).await
    }

    /// Removes a subscription (and this node's position of it); `NotFound` if there is none.
    pub async fn delete_webhook(&self, webhook_id: &str) -> Result<(), StorageError> {
        self.change_webhook(WebhookOp::Delete { webhook_id: webhook_id.to_owned() }).await
    }

    /// A subscription change: through the log like every admin change, or here.
    async fn change_webhook(&self, op: WebhookOp) -> Result<(), StorageError> {
        if self.replicated() {
            return match self.submit_admin(Op::Webhook(op)).await {
                Some(Ok(OpResult::Webhook)) => Ok(()),
                Some(Err(e)) => Err(e),
                _ => Err(super::admin::unexpected()),
            };
        }
        let _guard = self.admin_guard();
        self.apply_webhook_locked(op, None)
    }

    /// Applies a subscription change under the admin lock; `stamp`: the log entry's.
    pub(super) fn apply_webhook_locked(&self, op: WebhookOp, stamp: Option<Stamp>) -> Result<(), StorageError> {
        let s = self.shared();
        if let Some(refusal) = s.write_refusal() {
            return Err(refusal);
        }
        let meta = s.cf(CF_META)?;
        let mut batch = rocksdb::WriteBatch::default();
        match op {
            WebhookOp::Put { def, expect } => {
                let stored =
                    s.db.get_pinned_cf(meta, name(DEFINITION_PREFIX, &def.webhook_id))
                        .map_err(|e| s.read_error(e))?
                        .map(|v| WebhookDef::decode(v.as_ref()).map(|d| d.generation))
                        .transpose()
                        .map_err(|e| s.undecodable(format!("webhook subscription undecodable: {e}")))?;
                match (expect, stored) {
                    (Expect::Absent, None) => {
                        if self.webhooks()?.len() >= WEBHOOKS_MAX {
                            return Err(StorageError::Refused(Refusal::Limit(format!(
                                "{WEBHOOKS_MAX} webhook subscriptions exist; delete one first"
                            ))));
                        }
                    }
                    (Expect::Absent, Some(_)) => {
                        return Err(Refusal::AlreadyExists(format!("webhook `{}`", def.webhook_id)).into());
                    }
                    (Expect::Generation(_), None) => {
                        return Err(Refusal::NotFound(format!("webhook `{}`", def.webhook_id)).into());
                    }
                    (Expect::Generation(g), Some(stored)) if g != stored => {
                        return Err(Refusal::Stale(format!(
                            "webhook `{}` changed meanwhile (generation {stored}, the change was made on {g}); read it \
                             again and retry",
                            def.webhook_id
                        ))
                        .into());
                    }
                    (Expect::Generation(_), Some(_)) => {}
                }
                batch.put_cf(meta, name(DEFINITION_PREFIX, &def.webhook_id), def.encode_to_vec());
            }
            WebhookOp::Delete { webhook_id } => {
                if s.db
                    .get_pinned_cf(meta, name(DEFINITION_PREFIX, &webhook_id))
                    .map_err(|e| s.read_error(e))?
                    .is_none()
                {
                    return Err(Refusal::NotFound(format!("webhook `{webhook_id}`")).into());
                }
                batch.delete_cf(meta, name(DEFINITION_PREFIX, &webhook_id));
                batch.delete_cf(meta, name(POSITION_PREFIX, &webhook_id));
            }
        }
        if let Some(stamp) = stamp {
            stamp.write(&mut batch, meta);
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        s.db.write_opt(batch, &wo)?;
        if let Some(stamp) = stamp {
            stamp.publish(s);
        }
        self.inner.webhooks_changed.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Told of every subscription change (this node's and, in cluster mode, the log's).
    pub fn subscribe_webhooks(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.webhooks_changed.subscribe()
    }

    /// This node's record of a subscription's deliveries (standalone mode).
    pub fn webhook_position(&self, id: &str) -> Result<Option<Position>, StorageError> {
        let s = self.shared();
        let v = s.db.get_pinned_cf(s.cf(CF_META)?, name(POSITION_PREFIX, id)).map_err(|e| s.read_error(e))?;
        Ok(v.and_then(|v| match v.len() {
            // Written before generations were recorded: of the first.
            8 => Some(Position { revision: u64::from_be_bytes(v[..8].try_into().ok()?), generation: 1 }),
            16 => Some(Position {
                revision: u64::from_be_bytes(v[..8].try_into().ok()?),
                generation: u64::from_be_bytes(v[8..].try_into().ok()?),
            }),
            _ => None,
        }))
    }

    /// Records delivery up to a revision (not synced: see the module's note). Nothing when
    /// the subscription is gone (a task stopping after a delete). Ids that start with `_`
    /// are the server's own feeds, which have no definition.
    pub fn set_webhook_position(&self, id: &str, position: Position) -> Result<(), StorageError> {
        let _guard = self.admin_guard();
        let s = self.shared();
        let meta = s.cf(CF_META)?;
        if !id.starts_with('_')
            && s.db.get_pinned_cf(meta, name(DEFINITION_PREFIX, id)).map_err(|e| s.read_error(e))?.is_none()
        {
            return Ok(());
        }
        let value = [position.revision.to_be_bytes(), position.generation.to_be_bytes()].concat();
        s.db.put_cf(meta, name(POSITION_PREFIX, id), value)?;
        Ok(())
    }
}
