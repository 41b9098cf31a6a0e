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

use super::codec::CF_META;
use super::{Refusal, StorageError, Store};

/// The meta key prefix of receipt keys: the id byte follows; the value is the 32-byte seed.
pub(super) const META_RECEIPT_KEY_PREFIX: &[u8] = b"receipt_key/";

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
    pub fn signing(&self) -> &ReceiptKey {
        // `load` never makes an empty set.
        &self.keys[self.keys.len() - 1]
    }

    pub fn all(&self) -> &[ReceiptKey] {
        &self.keys
    }
}

fn key_name(id: u8) -> Vec<u8> {
    [META_RECEIPT_KEY_PREFIX, &[id]].concat()
}

fn new_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    seed
}

/// The store's receipt keys; a store without one gets its first (`first`, derived from
/// the cluster secret, or a new random one), stored synced.
pub(super) fn load(db: &DB, first: Option<[u8; 32]>) -> Result<ReceiptKeys, String> {
    let meta = db.cf_handle(CF_META).ok_or("column family `meta` is missing")?;
    let mut keys = Vec::new();
    for item in db.prefix_iterator_cf(meta, META_RECEIPT_KEY_PREFIX) {
        let (k, v) = item.map_err(|e| format!("reading receipt keys: {e}"))?;
        let Some(id) = k.strip_prefix(META_RECEIPT_KEY_PREFIX) else { break };
        let (&[id], Ok(seed)) = (id, <[u8; 32]>::try_from(v.as_ref())) else {
            return Err(format!("receipt key `{}` is damaged", String::from_utf8_lossy(&k)));
        };
        keys.push(ReceiptKey::from_seed(id, &seed));
    }
    if keys.is_empty() {
        let seed = first.unwrap_or_else(new_seed);
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

    /// Adds a receipt key, which signs from now on; the older ones still verify.
    pub fn rotate_receipt_key(&self) -> Result<u8, StorageError> {
        let _guard = self.admin_guard();
        let current = self.receipt_keys();
        let id = current.signing().id.checked_add(1).ok_or_else(|| {
            StorageError::Refused(Refusal::Limit("255 receipt keys exist; no further rotation".to_owned()))
        })?;
        let seed = new_seed();
        let s = self.shared();
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        s.db.put_cf_opt(s.cf(CF_META)?, key_name(id), seed, &wo)?;
        let mut keys = current.all().to_vec();
        keys.push(ReceiptKey::from_seed(id, &seed));
        self.inner.receipt_keys.store(Arc::new(ReceiptKeys { keys }));
        Ok(id)
    }
}
