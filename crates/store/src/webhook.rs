//! Webhook subscriptions and their delivery positions. Both are this node's own (kept in
//! the meta family, not replicated, not in the state digest): a subscription is a place
//! this node delivers to, and its position is how far it got. Definitions are written
//! synced; positions are not (a position lost in a crash means some changes are delivered
//! again, with the same message ids, which at-least-once delivery allows).

use prost::Message;
use rocksdb::{Direction, IteratorMode, WriteOptions};

use super::codec::CF_META;
use super::{StorageError, Store};

const DEFINITION_PREFIX: &[u8] = b"webhook/";
const POSITION_PREFIX: &[u8] = b"webhook_at/";

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
}

impl WebhookDef {
    /// The secrets that sign at `now` (seconds).
    pub fn signing_secrets(&self, now: i64) -> impl Iterator<Item = &[u8]> {
        self.secrets.iter().filter(move |s| s.not_after.is_none_or(|t| now < t)).map(|s| s.key.as_slice())
    }
}

fn name(prefix: &[u8], id: &str) -> Vec<u8> {
    [prefix, id.as_bytes()].concat()
}

impl Store {
    /// Every subscription, by id.
    pub fn webhooks(&self) -> Result<Vec<WebhookDef>, StorageError> {
        let s = self.shared();
        let meta = s.cf(CF_META)?;
        let mut out = Vec::new();
        for item in s.db.iterator_cf(meta, IteratorMode::From(DEFINITION_PREFIX, Direction::Forward)) {
            let (k, v) = item.map_err(|e| s.read_error(e))?;
            if !k.starts_with(DEFINITION_PREFIX) {
                break;
            }
            out.push(
                WebhookDef::decode(v.as_ref())
                    .map_err(|e| s.undecodable(format!("webhook subscription undecodable: {e}")))?,
            );
        }
        Ok(out)
    }

    pub fn webhook(&self, id: &str) -> Result<Option<WebhookDef>, StorageError> {
        let s = self.shared();
        let Some(v) = s.db.get_pinned_cf(s.cf(CF_META)?, name(DEFINITION_PREFIX, id)).map_err(|e| s.read_error(e))?
        else {
            return Ok(None);
        };
        WebhookDef::decode(v.as_ref())
            .map(Some)
            .map_err(|e| s.undecodable(format!("webhook subscription undecodable: {e}")))
    }

    /// Writes a subscription (synced). `position`: where its deliveries start or resume.
    pub fn put_webhook(&self, def: &WebhookDef, position: Option<u64>) -> Result<(), StorageError> {
        let s = self.shared();
        if let Some(refusal) = s.write_refusal() {
            return Err(refusal);
        }
        let meta = s.cf(CF_META)?;
        let mut batch = rocksdb::WriteBatch::default();
        batch.put_cf(meta, name(DEFINITION_PREFIX, &def.webhook_id), def.encode_to_vec());
        if let Some(p) = position {
            batch.put_cf(meta, name(POSITION_PREFIX, &def.webhook_id), p.to_be_bytes());
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        s.db.write_opt(batch, &wo)?;
        Ok(())
    }

    /// Removes a subscription and its position; whether it existed.
    pub fn delete_webhook(&self, id: &str) -> Result<bool, StorageError> {
        let existed = self.webhook(id)?.is_some();
        let s = self.shared();
        let meta = s.cf(CF_META)?;
        let mut batch = rocksdb::WriteBatch::default();
        batch.delete_cf(meta, name(DEFINITION_PREFIX, id));
        batch.delete_cf(meta, name(POSITION_PREFIX, id));
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        s.db.write_opt(batch, &wo)?;
        Ok(existed)
    }

    /// The last revision delivered to a subscription.
    pub fn webhook_position(&self, id: &str) -> Result<u64, StorageError> {
        let s = self.shared();
        let v = s.db.get_pinned_cf(s.cf(CF_META)?, name(POSITION_PREFIX, id)).map_err(|e| s.read_error(e))?;
        Ok(v.and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok()).map_or(0, u64::from_be_bytes))
    }

    /// Records delivery up to `revision` (not synced: see the module's note).
    pub fn set_webhook_position(&self, id: &str, revision: u64) -> Result<(), StorageError> {
        let s = self.shared();
        s.db.put_cf(s.cf(CF_META)?, name(POSITION_PREFIX, id), revision.to_be_bytes())?;
        Ok(())
    }
}
