//! Removing erased data from the data directory's files (DECISION-RULES.md, "Erasure").
//!
//! An erasure rewrites a contact point's state and history without its personal data, but
//! RocksDB keeps the old values in the write-ahead log and in older table files until they
//! are compacted away, which may take weeks on a quiet store. So after the group that erased
//! is committed, a thread of its own (writes go on meanwhile):
//! 1. flushes every column family, after which no write-ahead log file is needed any more
//!    and RocksDB deletes them (this store neither archives nor recycles them);
//! 2. compacts the erased keys' ranges in `state` and `history` down to the last level,
//!    which drops every older version of them (no snapshot is held across writes);
//! 3. deletes the erasure's marker, `scrub/<key>` in `meta`, written with the erasure.
//!
//! A marker left by a crash between commit and scrub is scrubbed at the next start, before
//! the store serves. Only the key ranges are compacted (a contact point's history is one
//! range), so the cost is a flush and a few table files per level, not the store.
//!
//! The alternative, encrypting each contact point's personal data under a key of its own and
//! deleting the key, needs the same scrub for the key itself (it lives in the same files),
//! and costs an encryption on every write of the hot path for an operation that is rare.

use rocksdb::{BottommostLevelCompaction, CompactOptions, Direction, FlushOptions, IteratorMode};

use super::codec::{ALL_CFS, CF_HISTORY, CF_META, CF_STATE, ContactKey, history_key};
use super::{Shared, StorageError};

const MARKER_PREFIX: &[u8] = b"scrub/";

/// The `meta` key that says `key` was erased and its old values may still be in files.
pub(super) fn marker(key: &ContactKey) -> Vec<u8> {
    [MARKER_PREFIX, &key.0].concat()
}

/// The scrub thread: takes the erased keys of each committed group (with the group's
/// revision), scrubs all that queued up together, then moves `scrubbed` on. A failure is
/// logged and the erasure answered anyway: it is committed, its tombstone stands, and its
/// marker has the next start scrub it.
pub(super) fn run(shared: &Shared, rx: &std::sync::mpsc::Receiver<(u64, Vec<ContactKey>)>) {
    while let Ok(first) = rx.recv() {
        let mut revision = first.0;
        let mut keys = first.1;
        for (r, more) in rx.try_iter() {
            revision = revision.max(r);
            keys.extend(more);
        }
        if let Err(e) = scrub_db(&shared.db, &keys).map_err(StorageError::Db) {
            tracing::error!(error = %e, "cannot remove erased data from the data directory's files yet; retried at the next start");
        }
        shared.scrubbed_tx.send_if_modified(|r| {
            let forward = revision > *r;
            *r = (*r).max(revision);
            forward
        });
    }
}

fn scrub_db(db: &rocksdb::DB, keys: &[ContactKey]) -> Result<(), rocksdb::Error> {
    let cfs: Vec<_> = ALL_CFS.iter().filter_map(|name| db.cf_handle(name)).collect();
    let mut flush = FlushOptions::default();
    flush.set_wait(true);
    db.flush_cfs_opt(&cfs, &flush)?;
    let mut compact = CompactOptions::default();
    compact.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
    compact.set_exclusive_manual_compaction(false);
    if let (Some(state), Some(history)) = (db.cf_handle(CF_STATE), db.cf_handle(CF_HISTORY)) {
        for key in keys {
            db.compact_range_cf_opt(state, Some(key.0), Some(key.0), &compact);
            db.compact_range_cf_opt(history, Some(history_key(key, 0)), Some(history_key(key, u64::MAX)), &compact);
        }
    }
    if let Some(meta) = db.cf_handle(CF_META) {
        let mut batch = rocksdb::WriteBatch::default();
        for key in keys {
            batch.delete_cf(meta, marker(key));
        }
        db.write(batch)?;
    }
    Ok(())
}

/// At open: scrubs what an erasure committed before a crash left unscrubbed.
pub(super) fn finish_pending(db: &rocksdb::DB) -> Result<usize, String> {
    let meta = db.cf_handle(CF_META).ok_or("column family `meta` is missing")?;
    let mut keys = Vec::new();
    for item in db.iterator_cf(meta, IteratorMode::From(MARKER_PREFIX, Direction::Forward)) {
        let (k, _) = item.map_err(|e| format!("reading erasure markers: {e}"))?;
        if !k.starts_with(MARKER_PREFIX) {
            break;
        }
        let key = ContactKey::from_slice(&k[MARKER_PREFIX.len()..]).ok_or("an erasure marker is damaged")?;
        keys.push(key);
    }
    if !keys.is_empty() {
        scrub_db(db, &keys).map_err(|e| format!("cannot remove erased data from the directory's files: {e}"))?;
    }
    Ok(keys.len())
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use crate::codec::{ALL_CFS, CF_HISTORY, CF_META, CF_STATE, EventBody, StoredContact, StoredEvent, history_key};
    use crate::model::{ConsentChange, ContactRef, Source};
    use crate::{Store, StoreOptions, system_clock};
    use consentd_core::decision::{Channel, Status, Subject};

    fn files_holding(dir: &std::path::Path, needle: &[u8]) -> usize {
        std::fs::read_dir(dir)
            .expect("dir")
            .flatten()
            .filter(|e| std::fs::read(e.path()).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)))
            .count()
    }

    /// A crash after an erasure was committed and before its scrub: its marker has the next
    /// start scrub it, so the old values are gone from every file before the store serves.
    #[tokio::test]
    async fn an_erasure_interrupted_before_its_scrub_is_scrubbed_at_the_next_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("data");
        let address = "interrupted-9c1@example.com";
        let (store, _) = Store::open(&path, StoreOptions::new(system_clock())).expect("open");
        let contact = ContactRef { profile_id: "acme".into(), channel: Channel::Email, contact_point: address.into() };
        let change = ConsentChange {
            purpose_id: "newsletter".into(),
            source: Source::Form,
            ..ConsentChange::example(contact, Subject::purpose(1), Status::OptedIn, store.now_us())
        };
        store.set_consent(change).await.expect("write");
        store.flush().expect("flush");
        let key = store.contact_key("acme", Channel::Email, address);
        drop(store);
        assert!(files_holding(&path, address.as_bytes()) > 0, "the address is in a table file");

        // What the erasure committed, without its scrub: redacted values and the marker.
        {
            let cfs = ALL_CFS.iter().map(|n| rocksdb::ColumnFamilyDescriptor::new(*n, rocksdb::Options::default()));
            let db = rocksdb::DB::open_cf_descriptors(&rocksdb::Options::default(), &path, cfs).expect("raw open");
            let (state, history, meta) = (
                db.cf_handle(CF_STATE).expect("state"),
                db.cf_handle(CF_HISTORY).expect("h"),
                db.cf_handle(CF_META).expect("m"),
            );
            let mut stored = StoredContact::decode(db.get_cf(state, key.0).expect("read").expect("state").as_slice())
                .expect("decode");
            stored.contact_point.clear();
            db.put_cf(state, key.0, stored.encode_to_vec()).expect("put");
            let hkey = history_key(&key, 1);
            let mut event = StoredEvent::decode(db.get_cf(history, hkey).expect("read").expect("event").as_slice())
                .expect("decode");
            let mut body = EventBody::decode(event.body.as_slice()).expect("body");
            crate::apply::redact(&mut body);
            (event.body, event.redacted) = (body.encode_to_vec(), true);
            db.put_cf(history, hkey, event.encode_to_vec()).expect("put");
            db.put_cf(meta, super::marker(&key), []).expect("marker");
            db.flush_wal(true).expect("sync");
        }
        assert!(files_holding(&path, address.as_bytes()) > 0, "not scrubbed yet");

        let (store, _) = Store::open(&path, StoreOptions::new(system_clock())).expect("reopen");
        assert_eq!(files_holding(&path, address.as_bytes()), 0, "scrubbed at start");
        drop(store);
    }
}
