//! The policy simulation's scan: every hot-index entry of one profile decided under the
//! catalog as it is and as proposed ([`consentd_core::decision::simulate`]), on all cores,
//! without a read of RocksDB but for the samples' contact points.
//!
//! An entry belongs to the profile when its [`Origin`] carries the profile's tag and, if it
//! has records, when their purpose is one of the profile's (purpose numbers are unique in a
//! server). Profiles may share a tag (five bits); then an entry with suppressions alone is
//! ambiguous, and is decided after the scan from its stored profile.

use consentd_core::decision::simulate::{Scenario, Tally};
use consentd_core::decision::{Channel, ContactState, UnixSeconds};

use super::codec::{CF_STATE, ContactKey, Origin};
use super::index::{HotIndex, SHARDS};
use super::{StorageError, Store};

/// What one scan found.
#[derive(Debug)]
pub struct Scan {
    pub tally: Tally,
    pub samples: Samples,
    /// Entries whose profile their origin cannot tell (another profile shares the tag).
    pub unresolved: Vec<(ContactKey, Channel, ContactState)>,
}

impl Scan {
    fn new(scenario: &Scenario, samples_per_cell: usize) -> Scan {
        let tally = scenario.new_tally();
        let samples = Samples::new(tally.cells.len(), samples_per_cell);
        Scan { tally, samples, unresolved: Vec::new() }
    }

    /// Counts `state` (of the profile, on `channel`) and keeps `key` as a sample of each
    /// change it makes, while that change has fewer than it may.
    fn count(
        &mut self,
        scenario: &Scenario,
        channel: Channel,
        state: &ContactState,
        now: UnixSeconds,
        key: ContactKey,
    ) {
        let samples = &mut self.samples;
        scenario.tally(channel, state, now, &mut self.tally, |cell| samples.offer(cell, key));
    }
}

/// Up to a number of keys per changed cell of [`Tally::cells`], in the order offered.
#[derive(Debug)]
pub struct Samples {
    per_cell: usize,
    taken: Vec<usize>,
    keys: Vec<(usize, ContactKey)>,
}

impl Samples {
    fn new(cells: usize, per_cell: usize) -> Samples {
        Samples { per_cell, taken: vec![0; cells], keys: Vec::new() }
    }

    fn offer(&mut self, cell: usize, key: ContactKey) {
        if self.taken[cell] < self.per_cell {
            self.taken[cell] += 1;
            self.keys.push((cell, key));
        }
    }

    /// (cell, key) pairs, in the order kept.
    pub fn keys(&self) -> &[(usize, ContactKey)] {
        &self.keys
    }
}

/// Scans every shard of `index` on `threads` threads for the entries of the profile whose
/// tag is `tag`: `tag_shared` when another profile of the catalog has the same tag.
pub fn scan(
    index: &HotIndex,
    scenario: &Scenario,
    (tag, tag_shared): (u8, bool),
    now: UnixSeconds,
    samples_per_cell: usize,
    threads: usize,
) -> Scan {
    let threads = threads.clamp(1, SHARDS);
    let per_thread = SHARDS.div_ceil(threads);
    let parts: Vec<Scan> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..SHARDS)
            .step_by(per_thread)
            .map(|first| {
                scope.spawn(move || {
                    let shards = first..(first + per_thread).min(SHARDS);
                    scan_shards(index, scenario, (tag, tag_shared), now, samples_per_cell, shards)
                })
            })
            .collect();
        // A scan closure does not panic (no indexing past the scenario's own tables); if
        // one did, its shards would be missing from the counts, so say so loudly.
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let mut all = Scan::new(scenario, samples_per_cell);
    for part in parts {
        all.tally.merge(&part.tally);
        for (cell, key) in part.samples.keys {
            all.samples.offer(cell, key);
        }
        all.unresolved.extend(part.unresolved);
    }
    all
}

fn scan_shards(
    index: &HotIndex,
    scenario: &Scenario,
    (tag, tag_shared): (u8, bool),
    now: UnixSeconds,
    samples_per_cell: usize,
    shards: std::ops::Range<usize>,
) -> Scan {
    let mut out = Scan::new(scenario, samples_per_cell);
    index.scan(shards, |key, origin, state| {
        if origin.tag() != tag {
            return;
        }
        let Some(channel) = origin.channel().filter(|c| scenario.covers(*c)) else { return };
        match scenario.owns(state) {
            Some(false) => return,
            None if tag_shared => {
                out.unresolved.push((*key, channel, state.clone()));
                return;
            }
            Some(true) | None => {}
        }
        out.count(scenario, channel, state, now, *key);
    });
    out
}

/// A finished simulation: counts, and samples as contact points.
#[derive(Debug)]
pub struct Simulation {
    pub tally: Tally,
    /// Per changed cell, up to the asked number of contact points; `None` for an erased
    /// one (only its keyed hash is kept).
    pub samples: Vec<(usize, Option<String>)>,
    /// The store's revision when the scan began: changes after it may or may not be counted.
    pub revision: u64,
}

/// Keys of one read of the stored profiles of ambiguous entries.
const RESOLVE_BATCH: usize = 4_096;

/// Threads a simulation scans with: every core, up to this many.
const THREADS_MAX: usize = 16;

impl Store {
    /// Runs `scenario` (built for `profile`) over every contact point of the profile in
    /// the hot index, with up to `samples_per_cell` samples of each change and at most
    /// `samples_max` in all (the first groups' first). CPU-bound for up to seconds: call it
    /// off the async runtime.
    pub fn simulate(
        &self,
        scenario: &Scenario,
        profile: &str,
        (samples_per_cell, samples_max): (usize, usize),
    ) -> Result<Simulation, StorageError> {
        let revision = self.revision();
        let now = self.now_us().div_euclid(1_000_000);
        let tag = Origin::profile_tag(profile);
        let shared = self.catalog().profiles().any(|p| p.id != profile && Origin::profile_tag(&p.id) == tag);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(THREADS_MAX);
        let mut scan = scan(self.index(), scenario, (tag, shared), now, samples_per_cell, threads);
        // Suppression-only entries of a profile that shares the tag: their stored profile,
        // read in sorted batches (one pass over the `state` family's blocks).
        let mut unresolved = std::mem::take(&mut scan.unresolved);
        unresolved.sort_by_key(|(key, _, _)| *key);
        let s = self.shared();
        let cf = s.cf(CF_STATE)?;
        for batch in unresolved.chunks(RESOLVE_BATCH) {
            let values = s.db.batched_multi_get_cf(cf, batch.iter().map(|(key, _, _)| &key.0), true);
            for ((key, channel, state), value) in batch.iter().zip(values) {
                let Some(bytes) = value.map_err(|e| s.read_error(e))? else { continue };
                if self.decode_stored(key, bytes.as_ref())?.profile_id == profile {
                    scan.count(scenario, *channel, state, now, *key);
                }
            }
        }
        let mut kept = scan.samples.keys;
        kept.sort_by_key(|(cell, _)| *cell);
        kept.truncate(samples_max);
        let mut samples = Vec::with_capacity(kept.len());
        for (cell, key) in kept {
            // Gone since the scan: no sample rather than a wrong one.
            if let Some(contact) = self.get_stored(&key)? {
                samples.push((cell, Some(contact.contact_point).filter(|c| !c.is_empty())));
            }
        }
        Ok(Simulation { tally: scan.tally, samples, revision })
    }
}

#[cfg(test)]
mod tests;
