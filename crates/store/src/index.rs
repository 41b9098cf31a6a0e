//! The hot index: the whole current decision state in memory, so that a decision never
//! touches RocksDB and "no entry" is an authoritative `not_set`.
//!
//! A table of our own rather than a general-purpose map, for two measured reasons (docs/performance.md):
//! memory and cache misses. Each of [`SHARDS`] shards is a bucketized
//! cuckoo table: a key sits in one of two buckets of two 32-byte slots (one cache line
//! each), chosen by two independent parts of the key, which is already a uniform keyed
//! hash. A lookup reads both lines at once, so a hit and a miss alike cost one memory round
//! trip, at ~84 % load; bucket counts are not rounded to a power of two (multiply-shift, not
//! a mask), so start-up sizes each shard to its exact count: ~38 B per contact point, where
//! a SwissTable rounds up to the next power of two (55-69 B per contact point measured).
//!
//! The shard of a key is the key's first ten bits, which is also RocksDB's key order, so
//! start-up loads the `index` family in key ranges on several threads, each filling whole
//! shards sized to their exact count ([`HotIndex::fill_shard`]).
//!
//! Each entry also has an [`Origin`] (its profile and channel, which its key hides), kept
//! in an array beside the buckets rather than in them: a lookup never reads it, so
//! decisions keep their one cache line per bucket, and scans by profile and channel
//! ([`HotIndex::scan`], the policy simulation) read it, for one byte a slot.
//!
//! Concurrency: readers take a shard's read lock; the single writer (and the loaders, each
//! on its own shards) takes its write lock to replace one entry. No guard is held across an
//! await: the index is only touched from synchronous code.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::codec::ContactKey;
pub use super::codec::Origin;
use consentd_core::decision::{Channel, ContactState, StateSource};

/// Shards (a power of two): a writer rarely shares a shard with a reader, each shard's
/// growth rehashes 1/1024 of the table, and 1024 lock words (64 KB) stay in cache.
pub const SHARDS: usize = 1024;
const SHARD_BITS: u32 = SHARDS.trailing_zeros();

/// Slots per bucket: two 32-byte slots, one cache line.
const BUCKET: usize = 2;
const BUCKETS_MIN: usize = 4;

/// Load factors in per mille. A shard grows by half past `LOAD_MAX`; start-up sizes each
/// shard to `LOAD_FILL`. Two-choice buckets of two hold up to ~89 % before inserts start to
/// fail; an insert that fails below `LOAD_GROW_ON_FAILURE` (keys whose buckets coincide,
/// which a keyed hash makes a matter of chance) goes to the shard's stash instead of
/// growing a table that would not help.
const LOAD_MAX: usize = 880;
const LOAD_FILL: usize = 840;
const LOAD_GROW_ON_FAILURE: usize = 600;

/// Kicks before an insert gives up on the current size.
const KICKS_MAX: usize = 256;

#[derive(Debug)]
pub struct HotIndex {
    shards: Box<[Padded]>,
}

/// One shard per cache line, so that a writer on one shard does not slow readers of the next.
#[derive(Debug)]
#[repr(align(64))]
struct Padded {
    lock: RwLock<Shard>,
    /// The bucket table's address and length as of the shard's last write, for
    /// [`HotIndex::prefetch`] to read without the lock. A hint only: a pair read during a
    /// write may name a table no longer in use, and prefetching it reads nothing and
    /// cannot fault; lookups always go through the lock.
    table: AtomicPtr<Bucket>,
    buckets: AtomicUsize,
}

impl Padded {
    fn new(shard: Shard) -> Padded {
        // Moving the shard in moves its table's handle, not the table.
        let (table, buckets) = (shard.buckets.as_ptr().cast_mut(), shard.buckets.len());
        Padded { lock: RwLock::new(shard), table: AtomicPtr::new(table), buckets: AtomicUsize::new(buckets) }
    }

    fn read(&self) -> RwLockReadGuard<'_, Shard> {
        self.lock.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The shard for writing; the prefetch hint is brought up to date when it is dropped.
    fn write(&self) -> ShardWrite<'_> {
        ShardWrite { guard: self.lock.write().unwrap_or_else(PoisonError::into_inner), padded: self }
    }
}

/// A write lock on a shard that publishes the shard's table for [`HotIndex::prefetch`]
/// before it unlocks.
struct ShardWrite<'a> {
    guard: RwLockWriteGuard<'a, Shard>,
    padded: &'a Padded,
}

impl std::ops::Deref for ShardWrite<'_> {
    type Target = Shard;
    fn deref(&self) -> &Shard {
        &self.guard
    }
}

impl std::ops::DerefMut for ShardWrite<'_> {
    fn deref_mut(&mut self) -> &mut Shard {
        &mut self.guard
    }
}

impl Drop for ShardWrite<'_> {
    fn drop(&mut self) {
        self.padded.table.store(self.guard.buckets.as_ptr().cast_mut(), Ordering::Relaxed);
        self.padded.buckets.store(self.guard.buckets.len(), Ordering::Relaxed);
    }
}

/// An entry on the move between slots (inserts, kicks, growth, the stash).
#[derive(Clone, Debug, Default)]
struct Entry {
    slot: Slot,
    origin: Origin,
}

/// A slot: the all-zero key marks it empty (a real key that is all zeros, probability
/// 2^-128, is kept aside in [`Shard::zero`]).
#[derive(Clone, Debug)]
struct Slot {
    key: ContactKey,
    state: ContactState,
}

/// Aligned so that a bucket is exactly one cache line.
#[derive(Clone, Debug, Default)]
#[repr(align(64))]
struct Bucket([Slot; BUCKET]);

#[derive(Debug)]
struct Shard {
    buckets: Vec<Bucket>,
    /// The origin of each slot of `buckets` (same index), moved with it.
    origins: Vec<[Origin; BUCKET]>,
    /// Entries, the zero key and the stash included.
    len: usize,
    zero: Option<(ContactState, Origin)>,
    /// Keys no bucket could take at a low load (practically never; see `LOAD_GROW_ON_FAILURE`).
    stash: Vec<Entry>,
    /// State of the xorshift that picks which resident a full bucket moves on.
    rng: u64,
}

const EMPTY: ContactKey = ContactKey([0; 16]);

/// Where a key sits in a shard: slot `.1` of bucket `.0`, or a stash position.
#[derive(Clone, Copy)]
enum At {
    Bucket(usize, usize),
    Stash(usize),
}

impl Default for HotIndex {
    fn default() -> Self {
        HotIndex::with_capacity(0)
    }
}

impl HotIndex {
    /// A table for about `capacity` contact points.
    pub fn with_capacity(capacity: usize) -> HotIndex {
        let per_shard = capacity.div_ceil(SHARDS);
        let shards = (0..SHARDS).map(|_| Padded::new(Shard::with_capacity(per_shard))).collect();
        HotIndex { shards }
    }

    /// The shard `key` belongs to: its first ten bits, so shards follow RocksDB's key order.
    #[inline]
    pub fn shard_of(key: &ContactKey) -> usize {
        usize::from(u16::from_be_bytes([key.0[0], key.0[1]]) >> (16 - SHARD_BITS))
    }

    /// The smallest key of `shard` (where a loader of that shard seeks to).
    pub fn first_key_of(shard: usize) -> ContactKey {
        let mut key = [0u8; 16];
        // Shards are below 2^10: the shifted value fits the first two bytes.
        let prefix = ((shard as u16) << (16 - SHARD_BITS)).to_be_bytes();
        key[..2].copy_from_slice(&prefix);
        ContactKey(key)
    }

    /// Runs `f` on the entry of `key` (`None`: nothing recorded) under a shard read lock.
    #[inline]
    pub fn with<R>(&self, key: &ContactKey, f: impl FnOnce(Option<&ContactState>) -> R) -> R {
        let shard = self.read(key);
        f(shard.get(key))
    }

    /// Starts loading both buckets of `key` into the cache without waiting for them, so a
    /// batch's lookups overlap their memory reads ([`consentd_core::decision::check_many`]).
    #[inline]
    pub fn prefetch(&self, key: &ContactKey) {
        // Without the lock: one lock word less to touch per lookup (see `Padded::table`).
        let padded = &self.shards[HotIndex::shard_of(key)];
        let table = padded.table.load(Ordering::Relaxed);
        let buckets = padded.buckets.load(Ordering::Relaxed);
        let (a, b) = hashes(key);
        for h in [a, b] {
            // An address only: `wrapping_add` computes it without claiming it is in bounds.
            prefetch_line(table.wrapping_add(bucket(h, buckets)).cast_const().cast());
        }
    }

    /// Replaces the entry of `key` (whose origin is `origin`); an empty state removes it.
    pub fn put(&self, key: ContactKey, origin: Origin, state: ContactState) {
        let mut shard = self.write(&key);
        if state.is_empty() {
            shard.remove(&key);
        } else {
            shard.insert(Entry { slot: Slot { key, state }, origin });
        }
    }

    /// Replaces shard `shard` with exactly `entries` (all of which belong to it, no
    /// duplicates), sized to their count: how start-up loads the table.
    pub fn fill_shard(&self, shard: usize, entries: Vec<(ContactKey, Origin, ContactState)>) {
        let mut table = Shard::with_capacity(entries.len());
        for (key, origin, state) in entries {
            debug_assert_eq!(HotIndex::shard_of(&key), shard);
            if !state.is_empty() {
                table.insert(Entry { slot: Slot { key, state }, origin });
            }
        }
        if let Some(padded) = self.shards.get(shard) {
            *padded.write() = table;
        }
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len).sum()
    }

    /// Runs `f` on every entry of the shards in `shards` (clamped to [`SHARDS`]), one shard
    /// read lock at a time: a writer waits for at most one shard's scan. Entries written
    /// during the scan may or may not be seen; each entry is seen at most once.
    pub fn scan(&self, shards: std::ops::Range<usize>, mut f: impl FnMut(&ContactKey, Origin, &ContactState)) {
        for padded in self.shards.get(shards.start.min(SHARDS)..shards.end.min(SHARDS)).unwrap_or_default() {
            let shard = padded.read();
            for (bucket, origins) in shard.buckets.iter().zip(&shard.origins) {
                for (slot, origin) in bucket.0.iter().zip(origins) {
                    if !slot.is_empty() {
                        f(&slot.key, *origin, &slot.state);
                    }
                }
            }
            for entry in &shard.stash {
                f(&entry.slot.key, entry.origin, &entry.slot.state);
            }
            if let Some((state, origin)) = &shard.zero {
                f(&EMPTY, *origin, state);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of table memory: every slot (used or not) with its origin, the heap slices of
    /// entries with more than two records, and the shard headers. Allocator overhead is not counted.
    pub fn approx_bytes(&self) -> usize {
        let headers = self.shards.len() * std::mem::size_of::<Padded>();
        let tables: usize = self
            .shards
            .iter()
            .map(|s| {
                let shard = s.read();
                let slots = shard.buckets.iter().flat_map(|b| b.0.iter()).chain(shard.stash.iter().map(|e| &e.slot));
                let heap: usize = slots.map(|slot| slot.state.heap_bytes()).sum();
                shard.buckets.capacity() * std::mem::size_of::<Bucket>()
                    + shard.origins.capacity() * std::mem::size_of::<[Origin; BUCKET]>()
                    + shard.stash.capacity() * std::mem::size_of::<Entry>()
                    + heap
            })
            .sum();
        headers + tables
    }

    fn read(&self, key: &ContactKey) -> RwLockReadGuard<'_, Shard> {
        // shard_of is below SHARDS by construction, and `shards` has SHARDS entries.
        self.shards[HotIndex::shard_of(key)].read()
    }

    fn write(&self, key: &ContactKey) -> ShardWrite<'_> {
        self.shards[HotIndex::shard_of(key)].write()
    }
}

impl Default for Slot {
    fn default() -> Self {
        Slot { key: EMPTY, state: ContactState::default() }
    }
}

impl Slot {
    #[inline]
    fn is_empty(&self) -> bool {
        self.key == EMPTY
    }
}

/// A prefetch hint for the cache line at `p`. The one `unsafe` of the crate: measured in
/// docs/performance.md (batch checks against 1 M contacts).
#[cfg(target_arch = "x86_64")]
#[inline]
#[expect(unsafe_code, reason = "a prefetch hint needs the intrinsic; it reads nothing and cannot fault")]
fn prefetch_line(p: *const i8) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    // SAFETY: SSE is part of every x86_64 target, and a prefetch never dereferences `p` in
    // the program's sense: it cannot fault, even on an invalid address, and changes no data.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p) }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn prefetch_line(_p: *const i8) {}

/// The two bucket hashes of a key: bytes 8..16 and bytes 0..8 (whose top bits chose the
/// shard; multiply-shift reads mostly the other end of the word).
#[inline]
fn hashes(key: &ContactKey) -> (u64, u64) {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&key.0[8..]);
    b.copy_from_slice(&key.0[..8]);
    (u64::from_le_bytes(a), u64::from_le_bytes(b))
}

/// The bucket hash `h` maps to among `buckets` (multiply-shift: uniform over any count).
#[inline]
fn bucket(h: u64, buckets: usize) -> usize {
    ((u128::from(h) * buckets as u128) >> 64) as usize
}

impl Shard {
    fn with_capacity(entries: usize) -> Shard {
        let buckets = (entries * 1000).div_ceil(LOAD_FILL * BUCKET).max(BUCKETS_MIN);
        Shard {
            buckets: vec![Bucket::default(); buckets],
            origins: vec![[Origin::default(); BUCKET]; buckets],
            len: 0,
            zero: None,
            stash: Vec::new(),
            rng: 0x9e37_79b9,
        }
    }

    fn slot_count(&self) -> usize {
        self.buckets.len() * BUCKET
    }

    /// The two buckets `key` may sit in.
    #[inline]
    fn buckets_of(&self, key: &ContactKey) -> (usize, usize) {
        let (a, b) = hashes(key);
        (bucket(a, self.buckets.len()), bucket(b, self.buckets.len()))
    }

    /// Where `key` sits.
    #[inline]
    fn find(&self, key: &ContactKey) -> Option<At> {
        let (a, b) = self.buckets_of(key);
        // Both buckets' addresses are known before either is read, so their cache misses
        // overlap: a hit or a miss costs one memory round trip.
        let (first, second) = (&self.buckets[a].0, &self.buckets[b].0);
        if let Some(i) = first.iter().position(|s| s.key == *key) {
            return Some(At::Bucket(a, i));
        }
        if let Some(i) = second.iter().position(|s| s.key == *key) {
            return Some(At::Bucket(b, i));
        }
        self.stash.iter().position(|e| e.slot.key == *key).map(At::Stash)
    }

    #[inline]
    fn get(&self, key: &ContactKey) -> Option<&ContactState> {
        if *key == EMPTY {
            return self.zero.as_ref().map(|(state, _)| state);
        }
        self.find(key).map(|at| match at {
            At::Bucket(b, i) => &self.buckets[b].0[i].state,
            At::Stash(i) => &self.stash[i].slot.state,
        })
    }

    fn insert(&mut self, entry: Entry) {
        if entry.slot.key == EMPTY {
            self.len += usize::from(self.zero.replace((entry.slot.state, entry.origin)).is_none());
            return;
        }
        if let Some(at) = self.find(&entry.slot.key) {
            match at {
                At::Bucket(b, i) => {
                    self.buckets[b].0[i].state = entry.slot.state;
                    self.origins[b][i] = entry.origin;
                }
                At::Stash(i) => self.stash[i] = entry,
            }
            return;
        }
        if (self.len + 1) * 1000 > self.slot_count() * LOAD_MAX {
            self.grow();
        }
        let mut carried = entry;
        while let Some(homeless) = self.place(carried) {
            if self.len * 1000 > self.slot_count() * LOAD_GROW_ON_FAILURE {
                self.grow();
                carried = homeless;
            } else {
                self.stash.push(homeless);
                break;
            }
        }
        self.len += 1;
    }

    /// Puts slot `i` of bucket `at` to `entry`, giving back what it held.
    #[inline]
    fn swap(&mut self, at: usize, i: usize, entry: &mut Entry) {
        std::mem::swap(&mut self.buckets[at].0[i], &mut entry.slot);
        std::mem::swap(&mut self.origins[at][i], &mut entry.origin);
    }

    /// An empty slot of bucket `at`.
    #[inline]
    fn free_in(&self, at: usize) -> Option<usize> {
        self.buckets[at].0.iter().position(Slot::is_empty)
    }

    /// Puts a key that is not in the table into one of its buckets, moving residents to
    /// their other bucket as needed (a random walk); gives back the key left without a
    /// place when the walk gets too long (not necessarily the one it started with).
    fn place(&mut self, mut carried: Entry) -> Option<Entry> {
        let (a, b) = self.buckets_of(&carried.slot.key);
        for at in [a, b] {
            if let Some(free) = self.free_in(at) {
                self.swap(at, free, &mut carried);
                return None;
            }
        }
        let mut at = a;
        for _ in 0..KICKS_MAX {
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            let victim = (self.rng % BUCKET as u64) as usize;
            self.swap(at, victim, &mut carried);
            let (x, y) = self.buckets_of(&carried.slot.key);
            at = if x == at { y } else { x };
            if let Some(free) = self.free_in(at) {
                self.swap(at, free, &mut carried);
                return None;
            }
        }
        Some(carried)
    }

    fn remove(&mut self, key: &ContactKey) {
        if *key == EMPTY {
            self.len -= usize::from(self.zero.take().is_some());
            return;
        }
        match self.find(key) {
            Some(At::Bucket(b, i)) => {
                self.buckets[b].0[i] = Slot::default();
                self.origins[b][i] = Origin::default();
            }
            Some(At::Stash(i)) => {
                self.stash.swap_remove(i);
            }
            None => return,
        }
        self.len -= 1;
    }

    fn grow(&mut self) {
        let buckets = (self.buckets.len() * 3 / 2).max(BUCKETS_MIN);
        let old = std::mem::replace(&mut self.buckets, vec![Bucket::default(); buckets]);
        let old_origins = std::mem::replace(&mut self.origins, vec![[Origin::default(); BUCKET]; buckets]);
        let stash = std::mem::take(&mut self.stash);
        let entries = old
            .into_iter()
            .zip(old_origins)
            .flat_map(|(b, o)| b.0.into_iter().zip(o))
            .filter(|(slot, _)| !slot.is_empty())
            .map(|(slot, origin)| Entry { slot, origin });
        for entry in entries.chain(stash) {
            if let Some(homeless) = self.place(entry) {
                self.stash.push(homeless);
            }
        }
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
    type Key = ContactKey;

    #[inline]
    fn key(&self, profile: &str, channel: Channel, contact_point: &str) -> ContactKey {
        KeyedIndex::key(self, profile, channel, contact_point)
    }

    #[inline]
    fn with_key<R>(&self, key: &ContactKey, f: impl FnOnce(Option<&ContactState>) -> R) -> R {
        self.index.with(key, f)
    }

    #[inline]
    fn prefetch(&self, key: &ContactKey) {
        self.index.prefetch(key);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;
    use consentd_core::decision::{Record, Status, Subject, Suppressions};

    fn origin(n: u32) -> Origin {
        Origin::new(&format!("p{}", n % 7), Channel::ALL[(n % 6) as usize])
    }

    fn state(n: u32) -> ContactState {
        let record = Record { status: Status::OptedIn, expires_at: None };
        ContactState::new(Suppressions::from_bits((n % 3) as u8), [(Subject::purpose((n % 900 + 1) as u16), record)])
    }

    /// Keys crowded into few shards and few buckets (`a` and `b` choose the two), so full
    /// buckets, kicks, growth and the stash are exercised, not only the easy case.
    fn crowded_key(shard: u8, a: u8, b: u8) -> ContactKey {
        let mut k = [0u8; 16];
        k[0] = shard;
        k[7] = b.wrapping_mul(11);
        k[15] = a.wrapping_mul(11);
        ContactKey(k)
    }

    #[derive(Clone, Debug)]
    enum Op {
        Put(ContactKey, Option<u32>),
        Get(ContactKey),
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = (0u8..2, 0u8..24, 0u8..24).prop_map(|(s, h, t)| crowded_key(s, h, t));
        prop_oneof![
            (key.clone(), proptest::option::of(1u32..1000)).prop_map(|(k, v)| Op::Put(k, v)),
            key.prop_map(Op::Get),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// The table behaves as a map under any sequence of puts, removals and lookups.
        #[test]
        fn behaves_as_a_map(ops in proptest::collection::vec(op(), 1..600)) {
            let index = HotIndex::default();
            let mut model: HashMap<ContactKey, (Origin, ContactState)> = HashMap::new();
            for op in ops {
                match op {
                    Op::Put(k, Some(v)) => {
                        index.put(k, origin(v), state(v));
                        model.insert(k, (origin(v), state(v)));
                    }
                    Op::Put(k, None) => {
                        index.put(k, origin(0), ContactState::default());
                        model.remove(&k);
                    }
                    Op::Get(k) => prop_assert_eq!(index.with(&k, |s| s.cloned()), model.get(&k).map(|e| e.1.clone())),
                }
                prop_assert_eq!(index.len(), model.len());
            }
            for (k, (_, v)) in &model {
                prop_assert_eq!(index.with(k, |s| s.cloned()), Some(v.clone()));
            }
            // A scan sees every entry once, with the origin it was put with, through kicks,
            // growth and the stash.
            let mut scanned = HashMap::new();
            index.scan(0..SHARDS, |k, o, s| {
                assert!(scanned.insert(*k, (o, s.clone())).is_none(), "{k:?} scanned twice");
            });
            prop_assert_eq!(scanned, model);
        }
    }

    /// `Origin::new("acme", Channel::Sms)` as stored.
    const ORIGIN_ACME_SMS: u8 = 57;

    #[test]
    fn the_all_zero_key_is_a_key_like_any_other() {
        let index = HotIndex::default();
        assert!(index.with(&EMPTY, |s| s.is_none()));
        index.put(EMPTY, origin(5), state(5));
        assert_eq!(index.with(&EMPTY, |s| s.cloned()), Some(state(5)));
        assert_eq!(index.len(), 1);
        let mut seen = Vec::new();
        index.scan(0..SHARDS, |k, o, s| seen.push((*k, o, s.clone())));
        assert_eq!(seen, vec![(EMPTY, origin(5), state(5))]);
        index.put(EMPTY, origin(5), ContactState::default());
        assert!(index.with(&EMPTY, |s| s.is_none()));
    }

    #[test]
    fn origins_keep_profile_tag_and_channel() {
        for channel in Channel::ALL {
            let o = Origin::new("brand-a", channel);
            assert_eq!(o.channel(), Some(channel));
            assert_eq!(o.tag(), Origin::profile_tag("brand-a"));
            assert_eq!(Origin::from_bits(o.to_bits()), Some(o));
        }
        // Part of the store's format: the tag of a profile id never changes.
        assert_eq!(Origin::new("acme", Channel::Sms).to_bits(), ORIGIN_ACME_SMS);
        assert_eq!(Origin::from_bits(7), None);
        assert!(Origin::profile_tag("acme") < 32);
    }

    #[test]
    fn shards_follow_key_order() {
        assert_eq!(HotIndex::shard_of(&HotIndex::first_key_of(0)), 0);
        for shard in [1, 2, 511, 1023] {
            let first = HotIndex::first_key_of(shard);
            assert_eq!(HotIndex::shard_of(&first), shard);
            let mut before = first;
            // The key just below `first` belongs to the shard before.
            let mut n = u128::from_be_bytes(before.0);
            n -= 1;
            before.0 = n.to_be_bytes();
            assert_eq!(HotIndex::shard_of(&before), shard - 1);
        }
    }

    #[test]
    fn filled_shards_are_sized_to_their_count() {
        let index = HotIndex::default();
        let entries: Vec<_> = (0..10_000u32)
            .map(|i| {
                // Uniform keys, as ContactKey::derive makes them (splitmix64), in shard 256.
                let mix = |x: u64| {
                    let x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    let x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                    x ^ (x >> 31)
                };
                let mut k = [0u8; 16];
                k[..8].copy_from_slice(&mix(u64::from(i)).to_be_bytes());
                k[8..].copy_from_slice(&mix(u64::from(i) + (1 << 40)).to_be_bytes());
                k[0] = 0x40;
                k[1] &= 0x3f;
                (ContactKey(k), origin(i), state(i + 1))
            })
            .collect();
        index.fill_shard(256, entries.clone());
        assert_eq!(index.len(), 10_000);
        for (k, _, v) in &entries {
            assert_eq!(index.with(k, |s| s.cloned()).as_ref(), Some(v));
        }
        let slot_bytes =
            index.approx_bytes() - SHARDS * std::mem::size_of::<Padded>() - (SHARDS - 1) * BUCKETS_MIN * (64 + 2);
        assert!(slot_bytes / 10_000 <= 40, "{} bytes per entry", slot_bytes / 10_000);
    }
}
