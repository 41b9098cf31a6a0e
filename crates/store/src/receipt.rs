//! The keys that sign decision receipts (Ed25519; the format is `consentd_client::receipt`).
//!
//! Kept like the edge's link keys: ids from 1, the newest signs, every kept key's public
//! half verifies, so receipts signed before a rotation still verify. A standalone store
//! makes its first key at random; every node of a cluster derives key 1 from the cluster
//! secret, so a receipt from any node verifies with the cluster's keys.

use std::sync::Arc;

use ed25519_dalek::{Signer as _, SigningKey};
use rand::Rng;
use rocksdb::{DB, WriteOptions};

use super::codec::{CF_META, META_RECEIPT_KEY_PREFIX};
use super::{StorageError, Store};

/// One receipt key.
#[derive(Clone)]
pub struct ReceiptKey {
    pub id: u8,
    key: SigningKey,
}

impl std::fmt::Debug for ReceiptKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReceiptKey({})", self.id)
    }
}

impl ReceiptKey {
    pub fn from_seed(id: u8, seed: &[u8; 32]) -> ReceiptKey {
        ReceiptKey { id, key: SigningKey::from_bytes(seed) }
    }

    pub fn sign(&self, body: &[u8]) -> [u8; 64] {
        self.key.sign(body).to_bytes()
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }
}

/// Every kept receipt key, in id order; the last one signs.
#[derive(Clone, Debug)]
pub struct ReceiptKeys {
    keys: Vec<ReceiptKey>,
}

impl ReceiptKeys {
    /// `keys` in id order.
    pub(super) fn new(mut keys: Vec<ReceiptKey>) -> ReceiptKeys {
        keys.sort_by_key(|k| k.id);
        ReceiptKeys { keys }
    }

    pub fn signing(&self) -> &ReceiptKey {
        // `load` never makes an empty set.
        &self.keys[self.keys.len() - 1]
    }

    pub fn all(&self) -> &[ReceiptKey] {
        &self.keys
    }
}

pub(super) fn key_name(id: u8) -> Vec<u8> {
    [META_RECEIPT_KEY_PREFIX, &[id]].concat()
}

pub(super) fn new_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    seed
}

/// The store's receipt keys; a store without one gets its first (derived from the
/// cluster secret, or a new random one), stored synced. A key stored without its seed (a
/// cluster's rotated key, or any key of a restored snapshot) is derived from the secret.
pub(super) fn load(db: &DB, cluster: Option<&super::replica::ClusterSecret>) -> Result<ReceiptKeys, String> {
    let meta = db.cf_handle(CF_META).ok_or("column family `meta` is missing")?;
    let mut keys = Vec::new();
    for item in db.prefix_iterator_cf(meta, META_RECEIPT_KEY_PREFIX) {
        let (k, v) = item.map_err(|e| format!("reading receipt keys: {e}"))?;
        let Some(id) = k.strip_prefix(META_RECEIPT_KEY_PREFIX) else { break };
        let &[id] = id else {
            return Err(format!("receipt key `{}` is damaged", String::from_utf8_lossy(&k)));
        };
        let seed = super::codec::stored_key(&k, &v, cluster.map(|c| move || c.receipt_seed_of(id)))?;
        keys.push(ReceiptKey::from_seed(id, &seed));
    }
    if keys.is_empty() {
        let seed = cluster.map(|c| c.receipt_seed_of(1)).unwrap_or_else(new_seed);
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        db.put_cf_opt(meta, key_name(1), seed, &wo).map_err(|e| format!("cannot store a receipt key: {e}"))?;
        keys.push(ReceiptKey::from_seed(1, &seed));
    }
    keys.sort_by_key(|k| k.id);
    Ok(ReceiptKeys { keys })
}

impl Store {
    /// The keys that sign and verify decision receipts.
    pub fn receipt_keys(&self) -> Arc<ReceiptKeys> {
        self.inner.receipt_keys.load_full()
    }

    /// Adds a receipt key, which signs from now on; the older ones still verify. Offline
    /// (standalone): see [`Store::rotate_signing_key`].
    pub fn rotate_receipt_key(&self) -> Result<u8, StorageError> {
        let _guard = self.admin_guard();
        self.rotate_key_locked(super::op::SigningKeyKind::Receipt, None)
    }
}
