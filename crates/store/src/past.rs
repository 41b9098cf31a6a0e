//! Decisions as of a past moment: the state a contact point had then, rebuilt from its
//! history (never from the hot index, so the live path pays nothing), and the catalog as
//! it stood then. Two clocks (docs/DECISION-RULES.md, "Decisions as of a past moment"):
//!
//! - *recorded*: what consentd knew at `T`: the changes applied with a recording time up to
//!   `T`, in the order they were applied. Each applied event carries the record it wrote
//!   (a pending opt-in with its deadline, a confirmation with its expiry), so replaying
//!   them gives exactly the state the index held.
//! - *occurred*: what had happened by `T` in event time, whenever it was recorded: of the
//!   consent changes (applied or superseded) that occurred up to `T`, the one the ordering
//!   rules rank first per subject (newer wins, an opt-out wins a tie; on an exact tie the
//!   later recorded, where the live order uses the content hash), and per suppression kind
//!   the newest change (adding wins a tie). A pending opt-in is confirmed by a confirmation
//!   of its token that occurred up to `T`.
//!
//! Expiry is the decision's business: the caller decides at `T`.

use std::cell::RefCell;
use std::collections::BTreeMap;

use prost::Message;
use rocksdb::{Direction, IteratorMode, WriteBatch};

use super::codec::{self, CF_CHANGES, CF_CONFIG, CF_HISTORY, CF_META, ContactKey, EventBody, StoredEvent};
use super::model::EventKind;
use super::view::{
    event_kind_from_stored, status_from_stored, suppression_kind_from_stored, suppression_kind_to_stored,
};
use super::{StorageError, Store};
use consentd_core::decision::{
    Catalog, Channel, ContactState, Record, StateSource, Status, Subject, SuppressionKind, Suppressions,
    after_reassignment,
};

/// Which clock a past moment is read on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    Recorded,
    Occurred,
    /// The recorded clock bounded by a revision instead of a time: the state right after
    /// the change of this revision, as a receipt or a fence names it (the moment's `at_us`
    /// is then only when the decision is made).
    Revision(u64),
}

/// A past moment (microseconds since the Unix epoch) on one clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsOf {
    pub at_us: i64,
    pub clock: Clock,
}

/// The key prefix of the catalog's history in `meta`: `catalog_at/`, the time (8 bytes,
/// big-endian, sign bit flipped so that keys sort by time), then the `config` key the
/// change wrote; the value is what it wrote.
const CATALOG_AT: &[u8] = b"catalog_at/";

fn catalog_at_key(at_us: i64, config_key: &[u8]) -> Vec<u8> {
    let t = (at_us as u64) ^ (1 << 63);
    [CATALOG_AT, &t.to_be_bytes(), config_key].concat()
}

/// Adds a catalog change at `at_us` to `batch` (written with the change itself).
pub(super) fn record_catalog_change(
    batch: &mut WriteBatch,
    meta: &impl rocksdb::AsColumnFamilyRef,
    at_us: i64,
    config_key: &[u8],
    value: &[u8],
) {
    batch.put_cf(meta, catalog_at_key(at_us, config_key), value);
}

/// A directory from before the catalog kept its history: its catalog as it is now counts
/// from the beginning of time (written once, at open).
pub(super) fn seed_catalog_history(db: &rocksdb::DB) -> Result<(), String> {
    let meta = db.cf_handle(CF_META).ok_or("column family `meta` is missing")?;
    let config = db.cf_handle(CF_CONFIG).ok_or("column family `config` is missing")?;
    let mut any = db.iterator_cf(meta, IteratorMode::From(CATALOG_AT, Direction::Forward));
    if matches!(any.next(), Some(Ok((k, _))) if k.starts_with(CATALOG_AT)) {
        return Ok(());
    }
    let mut batch = WriteBatch::default();
    for item in db.iterator_cf(config, IteratorMode::Start) {
        let (k, v) = item.map_err(|e| format!("reading configuration: {e}"))?;
        if is_catalog_entry(&k) {
            batch.put_cf(meta, catalog_at_key(i64::MIN, &k), v);
        }
    }
    if !batch.is_empty() {
        db.write(batch).map_err(|e| format!("writing the catalog's history: {e}"))?;
    }
    Ok(())
}

fn is_catalog_entry(config_key: &[u8]) -> bool {
    [b"profile/".as_slice(), b"purpose/", b"topic/"].iter().any(|p| config_key.starts_with(p))
}

impl Store {
    /// The catalog as it stood at `at_us`: every catalog change recorded up to then.
    pub fn catalog_as_of(&self, at_us: i64) -> Result<Catalog, StorageError> {
        let s = self.shared();
        let end = catalog_at_key(at_us.saturating_add(1), b"");
        let mut latest: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for item in s.db.iterator_cf(s.cf(CF_META)?, IteratorMode::From(CATALOG_AT, Direction::Forward)) {
            let (k, v) = item.map_err(|e| s.read_error(e))?;
            if !k.starts_with(CATALOG_AT) || k.as_ref() >= end.as_slice() {
                break;
            }
            latest.insert(k[CATALOG_AT.len() + 8..].to_vec(), v.to_vec());
        }
        let mut catalog = Catalog::default();
        for (k, v) in &latest {
            super::config::add_config_entry(&mut catalog, None, k, v)
                .map_err(|d| s.undecodable(format!("the catalog's history: {}", d.0)))?;
        }
        Ok(catalog)
    }

    /// A source of decision states as of `as_of`, read from history. `catalog` names the
    /// subjects of history events (purpose and topic numbers never change).
    pub fn past<'a>(&'a self, as_of: AsOf, catalog: &'a Catalog) -> PastSource<'a> {
        PastSource { store: self, as_of, catalog, error: RefCell::new(None) }
    }

    /// When revision `r` was recorded: the recording time of the last change at or before
    /// it (`None`: no change is that old).
    pub fn revision_time(&self, r: u64) -> Result<Option<i64>, StorageError> {
        let s = self.shared();
        let start = codec::revision_key(r);
        let mut it = s.db.iterator_cf(s.cf(CF_CHANGES)?, IteratorMode::From(&start, Direction::Reverse));
        let Some(item) = it.next() else { return Ok(None) };
        let (_, v) = item.map_err(|e| s.read_error(e))?;
        let bad = || s.undecodable("change feed entry is damaged".to_owned());
        let hist = s.db.get_pinned_cf(s.cf(CF_HISTORY)?, &*v).map_err(|e| s.read_error(e))?.ok_or_else(bad)?;
        let event =
            StoredEvent::decode(hist.as_ref()).and_then(|e| EventBody::decode(e.body.as_slice())).map_err(|_| bad())?;
        Ok(Some(event.recorded_at_us))
    }

    /// Adds to `into` every contact point changed after revision `after`, with the history
    /// sequence number of its first change since (kept when already there), from the change
    /// feed (no history read); answers the last revision read, or `after` when none.
    /// Refuses to read more than `max` changes.
    pub fn contacts_changed_after(
        &self,
        after: u64,
        max: usize,
        into: &mut std::collections::HashMap<ContactKey, u64>,
    ) -> Result<u64, StorageError> {
        let s = self.shared();
        let start = codec::revision_key(after.saturating_add(1));
        let mut last = after;
        for (n, item) in s.db.iterator_cf(s.cf(CF_CHANGES)?, IteratorMode::From(&start, Direction::Forward)).enumerate()
        {
            if n >= max {
                return Err(StorageError::Refused(super::Refusal::Limit(format!(
                    "more than {max} changes since revision {after}"
                ))));
            }
            let (k, v) = item.map_err(|e| s.read_error(e))?;
            let bad = || s.undecodable("change feed entry is damaged".to_owned());
            last = codec::decode_u64(&k).ok_or_else(bad)?;
            let key: [u8; 16] = v.get(..16).and_then(|k| k.try_into().ok()).ok_or_else(bad)?;
            let seq = v.get(16..24).and_then(codec::decode_u64).ok_or_else(bad)?;
            into.entry(ContactKey(key)).or_insert(seq);
        }
        Ok(last)
    }

    /// The decision state of `key` right after revision `r`, when its first change after
    /// `r` is its history event `first_after` (as the change feed names it): the events
    /// before that one decide it, read by key (a batched point read, no iterator); `catalog`
    /// names their subjects. `None`: no event before it.
    pub fn state_before(
        &self,
        key: &ContactKey,
        first_after: u64,
        r: u64,
        catalog: &Catalog,
    ) -> Result<Option<ContactState>, StorageError> {
        let s = self.shared();
        let n = first_after.saturating_sub(1);
        if n == 0 {
            return Ok(None);
        }
        let events = if n > 256 {
            // A long history: one iterator is cheaper than that many point reads.
            let mut all = self.history_events(key)?;
            all.truncate(n as usize);
            all
        } else {
            let cf = s.cf(CF_HISTORY)?;
            let mut events = Vec::with_capacity(n as usize);
            for (seq, v) in (1..=n).zip(s.db.multi_get_cf((1..=n).map(|seq| (cf, codec::history_key(key, seq))))) {
                let bad = |e: String| s.undecodable(format!("history event {seq} of {} {e}", key.log_tag()));
                let v = v.map_err(|e| s.read_error(e))?.ok_or_else(|| bad("is missing".to_owned()))?;
                let event = StoredEvent::decode(v.as_slice())
                    .and_then(|e| EventBody::decode(e.body.as_slice()))
                    .map_err(|e| bad(format!("is undecodable: {e}")))?;
                events.push(event);
            }
            events
        };
        let as_of = AsOf { at_us: i64::MAX, clock: Clock::Revision(r) };
        Ok(Some(state_as_of(&events, |e| subject_of(catalog, e), as_of)))
    }

    fn history_events(&self, key: &ContactKey) -> Result<Vec<EventBody>, StorageError> {
        let s = self.shared();
        let start = codec::history_key(key, 1);
        let mut out = Vec::new();
        for item in s.db.iterator_cf(s.cf(CF_HISTORY)?, IteratorMode::From(&start, Direction::Forward)) {
            let (k, v) = item.map_err(|e| s.read_error(e))?;
            if k.len() != 24 || k[..16] != key.0 {
                break;
            }
            let event = StoredEvent::decode(v.as_ref())
                .and_then(|e| EventBody::decode(e.body.as_slice()))
                .map_err(|e| s.undecodable(format!("history event of {} undecodable: {e}", key.log_tag())))?;
            out.push(event);
        }
        Ok(out)
    }
}

/// Decision states as of a past moment, for [`consentd_core::decision::check`] and
/// `check_many`. A read error is kept (the first one) and the contact point reads as
/// unknown meanwhile; callers must ask [`PastSource::error`] before answering.
pub struct PastSource<'a> {
    store: &'a Store,
    as_of: AsOf,
    catalog: &'a Catalog,
    error: RefCell<Option<StorageError>>,
}

impl PastSource<'_> {
    /// The first read error met, if any: then no answer of this source may be given.
    pub fn error(self) -> Option<StorageError> {
        self.error.into_inner()
    }

    fn state(&self, key: &ContactKey) -> Option<ContactState> {
        match self.store.history_events(key) {
            Ok(events) if events.is_empty() => None,
            Ok(events) => {
                let subject_of = |e: &EventBody| subject_of(self.catalog, e);
                Some(state_as_of(&events, subject_of, self.as_of))
            }
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                None
            }
        }
    }
}

impl StateSource for PastSource<'_> {
    type Key = ContactKey;

    fn key(&self, profile: &str, channel: Channel, contact_point: &str) -> ContactKey {
        self.store.shared().keyed.key(profile, channel, contact_point)
    }

    fn with_key<R>(&self, key: &ContactKey, f: impl FnOnce(Option<&ContactState>) -> R) -> R {
        f(self.state(key).as_ref())
    }
}

/// The subject an event names, by the catalog's numbers.
fn subject_of(catalog: &Catalog, e: &EventBody) -> Option<Subject> {
    let purpose = catalog.purpose(&e.profile_id, &e.purpose_id)?;
    let topic = if e.topic_id.is_empty() { 0 } else { catalog.topic(&e.profile_id, &e.purpose_id, &e.topic_id)?.no };
    Some(Subject { purpose: purpose.no, topic })
}

/// The record a consent event leaves: expiry only on an opt-in (its own) and a pending one
/// (the confirmation deadline), as the writer stores it.
fn record_of(e: &EventBody, status: Status) -> Record {
    let expires_at = if matches!(status, Status::OptedIn | Status::Pending) { e.expires_at } else { None };
    Record { status, expires_at }
}

/// The decision state one contact point had as of `as_of`, from its history in recording
/// order. Pure: the property tests replay random change sets through the writer and
/// compare.
pub fn state_as_of(
    events: &[EventBody],
    subject_of: impl Fn(&EventBody) -> Option<Subject>,
    as_of: AsOf,
) -> ContactState {
    // Per subject: the record and when the change that set it occurred (what a
    // reassignment is compared with; a confirmation keeps its request's).
    let mut records: BTreeMap<Subject, (Record, i64)> = BTreeMap::new();
    let mut suppressions: BTreeMap<u32, bool> = BTreeMap::new();
    let mut reassigned: Option<i64> = None;
    // Suppression events store the kind + 1.
    let erased_kind = suppression_kind_to_stored(SuppressionKind::Erased) + 1;
    match as_of.clock {
        Clock::Recorded | Clock::Revision(_) => {
            let up_to = |e: &EventBody| match as_of.clock {
                Clock::Revision(r) => e.revision <= r,
                _ => e.recorded_at_us <= as_of.at_us,
            };
            for e in events.iter().filter(|e| e.applied && up_to(e)) {
                match event_kind_from_stored(e.kind) {
                    Some(kind @ (EventKind::Consent | EventKind::Confirmation)) => {
                        if let (Some(subject), Some(status)) = (subject_of(e), status_from_stored(e.status)) {
                            let occurred = match (kind, records.get(&subject)) {
                                (EventKind::Confirmation, Some((_, requested))) => *requested,
                                _ => e.occurred_at_us,
                            };
                            records.insert(subject, (record_of(e, status), occurred));
                        }
                        if e.lifts_erasure {
                            suppressions.insert(erased_kind, false);
                        }
                    }
                    Some(kind @ (EventKind::SuppressionAdded | EventKind::SuppressionLifted)) => {
                        suppressions.insert(e.suppression_kind, kind == EventKind::SuppressionAdded);
                    }
                    Some(EventKind::Erased) => {
                        records.clear();
                        suppressions.insert(erased_kind, true);
                    }
                    Some(EventKind::Reassigned) => {
                        reassigned = reassigned.max(Some(e.occurred_at_us));
                    }
                    None => {}
                }
            }
        }
        Clock::Occurred => {
            let happened = events.iter().enumerate().filter(|(_, e)| e.occurred_at_us <= as_of.at_us);
            // An erasure that had happened supersedes every change that occurred up to it,
            // and removed every record (and lifted no tombstone) recorded before it.
            let erasure = happened
                .clone()
                .filter(|(_, e)| event_kind_from_stored(e.kind) == Some(EventKind::Erased))
                .map(|(i, e)| (e.occurred_at_us, i))
                .max();
            let erased_at = erasure.map(|(t, _)| t);
            let before_erasure = |i: usize| erasure.is_some_and(|(_, at)| i < at);
            // Per subject the winning consent event: (occurred, opt-out, recording order).
            let mut winners: BTreeMap<Subject, (i64, bool, usize)> = BTreeMap::new();
            // Per suppression kind: (occurred, added, recording order).
            let mut kinds: BTreeMap<u32, (i64, bool, usize)> = BTreeMap::new();
            let mut rank_kind = |kind: u32, rank: (i64, bool, usize)| {
                let w = kinds.entry(kind).or_insert(rank);
                *w = (*w).max(rank);
            };
            for (i, e) in happened.clone() {
                let kind = event_kind_from_stored(e.kind);
                if e.lifts_erasure && !before_erasure(i) {
                    rank_kind(erased_kind, (e.occurred_at_us, false, i));
                }
                match kind {
                    Some(EventKind::Consent) => {
                        if erased_at.is_some_and(|t| e.occurred_at_us <= t) || before_erasure(i) {
                            continue;
                        }
                        let Some(subject) = subject_of(e) else { continue };
                        let rank = (e.occurred_at_us, status_from_stored(e.status) == Some(Status::OptedOut), i);
                        let w = winners.entry(subject).or_insert(rank);
                        *w = (*w).max(rank);
                    }
                    Some(kind @ (EventKind::SuppressionAdded | EventKind::SuppressionLifted)) => {
                        rank_kind(e.suppression_kind, (e.occurred_at_us, kind == EventKind::SuppressionAdded, i));
                    }
                    Some(EventKind::Erased) => rank_kind(erased_kind, (e.occurred_at_us, true, i)),
                    Some(EventKind::Reassigned) => reassigned = reassigned.max(Some(e.occurred_at_us)),
                    Some(EventKind::Confirmation) | None => {}
                }
            }
            for (subject, (occurred, _, i)) in winners {
                let e = &events[i];
                let Some(status) = status_from_stored(e.status) else { continue };
                let confirmed = (status == Status::Pending && !e.token_id.is_empty())
                    .then(|| {
                        happened.clone().map(|(_, c)| c).find(|c| {
                            event_kind_from_stored(c.kind) == Some(EventKind::Confirmation) && c.token_id == e.token_id
                        })
                    })
                    .flatten();
                let record = match confirmed {
                    Some(c) => record_of(c, Status::OptedIn),
                    None => record_of(e, status),
                };
                records.insert(subject, (record, occurred));
            }
            for (kind, (_, added, _)) in kinds {
                suppressions.insert(kind, added);
            }
        }
    }
    let mut active = Suppressions::NONE;
    for (stored, added) in suppressions {
        if added && let Some(kind) = stored.checked_sub(1).and_then(suppression_kind_from_stored) {
            active = active.with(kind);
        }
    }
    let records = records
        .into_iter()
        .filter_map(|(subject, (record, occurred))| after_reassignment(subject, record, occurred, reassigned))
        .collect();
    ContactState::from_packed(active, records)
}

#[cfg(test)]
mod tests;
