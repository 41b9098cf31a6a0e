//! The hot index: the whole current decision state in memory, so that a decision never
//! touches RocksDB and "no entry" is an authoritative `not_set`.
//!
//! A DashMap (sharded `RwLock<HashMap>`): readers of one shard are blocked only while a
//! writer replaces one entry in it, and no guard is ever held across an await (the index
//! is only touched from synchronous code). The key is already a uniform keyed hash, so the
//! table hashes it by taking its first eight bytes instead of hashing again.

use std::hash::{BuildHasherDefault, Hasher};

use dashmap::DashMap;

use super::codec::ContactKey;
use crate::decision::{Channel, ContactState, StateSource};

/// Shards: more than cores by a wide margin, so a writer rarely shares a shard with a reader.
const SHARDS: usize = 128;

/// Takes the `u64` that [`ContactKey`]'s `Hash` writes as the hash itself.
#[derive(Default, Clone, Copy)]
pub struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached if a key type other than ContactKey were used: mix the bytes in.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub type IndexMap = DashMap<ContactKey, ContactState, BuildHasherDefault<PassThroughHasher>>;

#[derive(Debug)]
pub struct HotIndex {
    map: IndexMap,
}

impl Default for HotIndex {
    fn default() -> Self {
        HotIndex::with_capacity(0)
    }
}

impl HotIndex {
    pub fn with_capacity(capacity: usize) -> HotIndex {
        HotIndex { map: DashMap::with_capacity_and_hasher_and_shard_amount(capacity, Default::default(), SHARDS) }
    }

    /// Runs `f` on the entry of `key` (`None`: nothing recorded) under a shard read lock.
    #[inline]
    pub fn with<R>(&self, key: &ContactKey, f: impl FnOnce(Option<&ContactState>) -> R) -> R {
        match self.map.get(key) {
            Some(entry) => f(Some(entry.value())),
            None => f(None),
        }
    }

    /// Replaces the entry of `key`; an empty state removes it.
    pub fn put(&self, key: ContactKey, state: ContactState) {
        if state.is_empty() {
            self.map.remove(&key);
        } else {
            self.map.insert(key, state);
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes of table memory: buckets of (key, value) plus one control byte each, and the
    /// heap slices of entries with more than two records. Allocator overhead is not counted.
    pub fn approx_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(ContactKey, ContactState)>() + 1;
        let buckets = self.map.capacity();
        // hashbrown keeps capacity at 7/8 of its (power of two) bucket count.
        let buckets = buckets * 8 / 7;
        let heap: usize = self.map.iter().map(|e| e.value().heap_bytes()).sum();
        buckets * slot + heap
    }
}

/// The hot index together with the secret its keys are derived with: the decision state
/// source the server reads, usable without RocksDB (benchmarks build one directly).
#[derive(Debug)]
pub struct KeyedIndex {
    secret: [u8; 16],
    index: HotIndex,
}

impl KeyedIndex {
    pub fn new(secret: [u8; 16], index: HotIndex) -> KeyedIndex {
        KeyedIndex { secret, index }
    }

    pub fn key(&self, profile: &str, channel: Channel, contact_point: &str) -> ContactKey {
        ContactKey::derive(&self.secret, profile, channel, contact_point)
    }

    pub fn index(&self) -> &HotIndex {
        &self.index
    }
}

impl StateSource for KeyedIndex {
    #[inline]
    fn with_state<R>(
        &self,
        profile: &str,
        channel: Channel,
        contact_point: &str,
        f: impl FnOnce(Option<&ContactState>) -> R,
    ) -> R {
        self.index.with(&self.key(profile, channel, contact_point), f)
    }
}
