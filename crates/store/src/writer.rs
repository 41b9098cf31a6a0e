//! The writer thread: the only code that changes consent state. One thread, so ordering
//! and revision assignment need no locks; one synced WriteBatch per group of queued
//! changes, so concurrent writers share an fsync.
//! One file because the group (overlay, batch, revision counter) and its kinds of job share
//! one invariant: nothing is visible or answered before the group is durable (its sync, or
//! for log entries alone in cluster mode, the log's).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use prost::Message;
use rand::Rng;
use rocksdb::{WriteBatch, WriteOptions};
use tokio::sync::{mpsc, oneshot};

use super::apply::{self, ConfirmRefusal};
use super::codec::{
    CF_CHANGES, CF_HISTORY, CF_IDEM, CF_INDEX, CF_META, CF_STATE, ContactKey, EventBody, META_LOG_POSITION,
    META_REVISION, StoredContact, StoredEvent, StoredIdem, encode_index_entry, history_key, revision_key,
};
use super::guard::AckFile;
use super::history::{GENESIS_HASH, chain_hash};
use super::model::{
    ChangeOutcome, ChangeResult, Confirmation, ConsentChange, ContactRef, LifeChange, LifeEvent, SuppressionChange,
    SuppressionResult,
};
use super::op::{BatchItem, Op, OpResult};
use super::token::{TokenClaims, TokenError};
use super::view::{self, Record};
use super::{Refusal, Shared, StorageError};

type Reply<T> = oneshot::Sender<Result<T, StorageError>>;

pub(super) enum Job {
    Consent(Box<ConsentChange>, Reply<ChangeResult>),
    Suppression(Box<SuppressionChange>, Reply<SuppressionResult>),
    Confirm(Box<(Confirmation, TokenClaims)>, Reply<ChangeResult>),
    /// An erasure or a reassignment of one contact point.
    Life(Box<LifeChange>, Reply<SuppressionResult>),
    /// Cluster mode: entry `seq` of the replicated log.
    Replicated(Box<Replicated>, Reply<OpResult>),
}

/// A log entry's change with the time and token id its receiving node stamped on it.
pub(super) struct Replicated {
    pub seq: u64,
    pub at_us: i64,
    pub token_id: [u8; 16],
    pub op: Op,
}

enum Pending {
    Change(Reply<ChangeResult>, Result<ChangeResult, StorageError>),
    Suppression(Reply<SuppressionResult>, Result<SuppressionResult, StorageError>),
    Replicated(Reply<OpResult>, Result<OpResult, StorageError>),
}

pub(super) fn run(shared: &Arc<Shared>, mut rx: mpsc::Receiver<Job>, ack: AckFile, group_max: usize) {
    let revision_tx = &shared.revision_tx;
    // Answers go out from a second thread once the marker covers their revision, so the
    // next group's WAL sync overlaps this group's marker sync (see `acknowledge`).
    let (answers, answers_rx) = std::sync::mpsc::channel::<(u64, Vec<Pending>)>();
    let acker =
        std::thread::Builder::new().name("consentd-ack".to_owned()).spawn(move || acknowledge(ack, &answers_rx));
    if let Err(e) = &acker {
        tracing::error!(error = %e, "cannot start the acknowledgement thread; writes cannot be answered");
    }
    // Erased values are scrubbed from the files on a thread of their own: a flush and a
    // compaction take long enough to stall every write behind them.
    let (scrubs, scrubs_rx) = std::sync::mpsc::channel::<(u64, Vec<ContactKey>)>();
    let scrub_shared = Arc::clone(shared);
    let scrubber = std::thread::Builder::new()
        .name("consentd-scrub".to_owned())
        .spawn(move || super::scrub::run(&scrub_shared, &scrubs_rx));
    if let Err(e) = &scrubber {
        tracing::error!(error = %e, "cannot start the scrub thread; erasures cannot be answered");
    }
    let mut jobs = Vec::with_capacity(group_max);
    while let Some(first) = rx.blocking_recv() {
        // At most `group_max` changes, counting each change of a batch entry.
        let mut changes = first.changes();
        jobs.push(first);
        while changes < group_max {
            match rx.try_recv() {
                Ok(job) => {
                    changes += job.changes();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        if let Some(refusal) = shared.write_refusal() {
            for job in jobs.drain(..) {
                job.refuse(&refusal);
            }
            continue;
        }
        // Read at every group: in cluster mode admin entries move it between groups.
        let revision = *revision_tx.borrow();
        let mut group = Group::new(shared, revision);
        let pending: Vec<Pending> = jobs.drain(..).map(|job| group.apply(job)).collect();
        let position = group.next_position;
        let erased = std::mem::take(&mut group.erased);
        let committed = group.commit().map_err(|e| classify(shared, e));
        // An erasure is answered once no file of the directory holds what it removed.
        if let Ok((next, _)) = &committed
            && !erased.is_empty()
        {
            let _ = scrubs.send((*next, erased));
        }
        match committed {
            Ok((next, false)) => {
                // Log entries alone: durable in the log, so answered without the marker,
                // which only covers what this node's disk holds for certain. The position
                // last: the applier waits on it and then reads the revision. Only forward:
                // a group that changed nothing brings back the values it started from.
                advance(revision_tx, next);
                advance(&shared.position_tx, position);
                for p in pending {
                    p.send();
                }
            }
            Ok((next, true)) => {
                // Durable in the WAL and visible to decisions: readers may see it now;
                // writers hear back once the marker covers it.
                advance(revision_tx, next);
                advance(&shared.position_tx, position);
                if let Err(std::sync::mpsc::SendError((_, pending))) = answers.send((next, pending)) {
                    for p in pending {
                        p.fail(&StorageError::Closed);
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "write group failed; nothing of it was applied");
                for p in pending {
                    p.fail(&e);
                }
            }
        }
    }
    // The queue closed: the store is closing. A scrub under way finishes first, so the
    // directory is not closed (and its lock not released) behind its back.
    drop(scrubs);
    if let Ok(handle) = scrubber
        && handle.join().is_err()
    {
        tracing::error!("the scrub thread panicked");
    }
}

/// Moves a revision or position watch forward to `to`, never back.
fn advance(tx: &tokio::sync::watch::Sender<u64>, to: u64) {
    tx.send_if_modified(|v| {
        let forward = to > *v;
        if forward {
            *v = to;
        }
        forward
    });
}

/// Records each committed revision in the directory's marker (synced), then answers its
/// writers: no acknowledged change exists that the marker does not cover, so a WAL cut
/// later is found at the next start (see `guard`). Groups that queued up meanwhile share
/// one marker sync. The changes are stored either way; a failed marker write is logged.
fn acknowledge(mut ack: AckFile, rx: &std::sync::mpsc::Receiver<(u64, Vec<Pending>)>) {
    while let Ok(first) = rx.recv() {
        let mut ready = vec![first];
        ready.extend(rx.try_iter());
        let revision = ready.iter().map(|(r, _)| *r).max().unwrap_or(0);
        if let Err(e) = ack.record(revision) {
            tracing::error!(error = %e, revision, "cannot record the acknowledged revision");
        }
        for p in ready.into_iter().flat_map(|(_, pending)| pending) {
            p.send();
        }
    }
}

/// A failed commit, as the health report and the client need it: a full disk or damage
/// found is reported; RocksDB refuses every later write after a failed WAL write, so that
/// stops writes until a restart (free space is checked every second so that this rarely
/// happens: see `health`).
fn classify(shared: &Shared, e: StorageError) -> StorageError {
    let StorageError::Db(db) = &e else { return e };
    let text = db.to_string();
    match db.kind() {
        rocksdb::ErrorKind::Corruption => {
            shared.health.damage(&text);
            e
        }
        // RocksDB recovers from a full disk by itself once there is space (its error
        // handler's no-space recovery); the health probe sees when it writes again.
        rocksdb::ErrorKind::IOError if text.contains("No space left") || text.contains("NoSpace") => {
            shared.health.disk_full(text.clone());
            StorageError::DiskFull(format!("the server's disk is full; the change was not stored ({text})"))
        }
        _ => {
            if text.contains("background error") || text.contains("read-only") {
                shared.health.writes_stopped(text);
            }
            e
        }
    }
}

impl Job {
    /// The changes the job holds: a batch entry's, or one.
    fn changes(&self) -> usize {
        match self {
            Job::Replicated(r, _) => match &r.op {
                Op::Batch(items) => items.len().max(1),
                _ => 1,
            },
            _ => 1,
        }
    }

    /// Answers without applying: writes are refused for now.
    fn refuse(self, why: &StorageError) {
        let err = || why.duplicate();
        match self {
            Job::Consent(_, tx) | Job::Confirm(_, tx) => drop(tx.send(Err(err()))),
            Job::Suppression(_, tx) | Job::Life(_, tx) => drop(tx.send(Err(err()))),
            Job::Replicated(_, tx) => drop(tx.send(Err(err()))),
        }
    }
}

impl StorageError {
    /// The same error again, for each of several waiters: every waiter of a write group, or
    /// every change of a batch log entry (a closed queue stays `Closed`).
    pub fn duplicate(&self) -> StorageError {
        match self {
            StorageError::Db(db) => StorageError::Db(db.clone()),
            StorageError::Closed => StorageError::Closed,
            StorageError::Corrupt { path, detail } => {
                StorageError::Corrupt { path: path.clone(), detail: detail.clone() }
            }
            StorageError::Io { what, source } => {
                StorageError::Io { what: what.clone(), source: std::io::Error::new(source.kind(), source.to_string()) }
            }
            StorageError::DiskFull(m) => StorageError::DiskFull(m.clone()),
            StorageError::WritesStopped(m) => StorageError::WritesStopped(m.clone()),
            StorageError::Refused(Refusal::IdempotencyConflict) => StorageError::Refused(Refusal::IdempotencyConflict),
            StorageError::Refused(Refusal::Token(t)) => StorageError::Refused(Refusal::Token(t.clone())),
            StorageError::Refused(Refusal::TokenUsed) => StorageError::Refused(Refusal::TokenUsed),
            StorageError::Refused(Refusal::NotFound(m)) => StorageError::Refused(Refusal::NotFound(m.clone())),
            StorageError::Refused(Refusal::AlreadyExists(m)) => {
                StorageError::Refused(Refusal::AlreadyExists(m.clone()))
            }
            StorageError::Refused(Refusal::Limit(m)) => StorageError::Refused(Refusal::Limit(m.clone())),
            StorageError::Refused(Refusal::Stale(m)) => StorageError::Refused(Refusal::Stale(m.clone())),
            StorageError::Refused(Refusal::Deactivated(m)) => StorageError::Refused(Refusal::Deactivated(m.clone())),
            StorageError::Refused(Refusal::ConfirmedBeforeRequest) => {
                StorageError::Refused(Refusal::ConfirmedBeforeRequest)
            }
            StorageError::Replica(m) => StorageError::Replica(m.clone()),
            StorageError::Unavailable(m) => StorageError::Unavailable(m.clone()),
        }
    }
}

impl Pending {
    fn send(self) {
        // A caller that went away no longer needs its answer; its change is stored anyway.
        match self {
            Pending::Change(tx, r) => drop(tx.send(r)),
            Pending::Suppression(tx, r) => drop(tx.send(r)),
            Pending::Replicated(tx, r) => drop(tx.send(r)),
        }
    }

    fn fail(self, e: &StorageError) {
        match self {
            Pending::Change(tx, _) => drop(tx.send(Err(e.duplicate()))),
            Pending::Suppression(tx, _) => drop(tx.send(Err(e.duplicate()))),
            Pending::Replicated(tx, _) => drop(tx.send(Err(e.duplicate()))),
        }
    }
}

/// The answer an idempotency entry recorded, given again to a retry.
pub(super) fn replayed(shared: &Shared, prev: StoredIdem) -> Result<ChangeResult, StorageError> {
    let bad = |e: String| shared.undecodable(format!("idempotency entry undecodable: {e}"));
    Ok(ChangeResult {
        outcome: view::outcome_from_stored(prev.outcome)
            .ok_or_else(|| bad(format!("unknown outcome {}", prev.outcome)))?,
        revision: prev.revision,
        confirmation_token: (!prev.confirmation_token.is_empty()).then_some(prev.confirmation_token),
        confirmation_expires_at: prev.confirmation_expires_at,
        record: prev.record.as_ref().map(Record::try_from).transpose().map_err(|d| bad(d.0))?,
        replayed: true,
    })
}

/// One group of changes, applied on an overlay of the stored state, committed at once.
struct Group<'a> {
    shared: &'a Shared,
    now_us: i64,
    base_revision: u64,
    next_revision: u64,
    /// Cluster mode: the log position applied before the group, and after its entries.
    base_position: u64,
    next_position: u64,
    /// A batch entry failed half-way (I/O): nothing of the group may be committed.
    poisoned: Option<StorageError>,
    contacts: HashMap<ContactKey, StoredContact>,
    touched: HashSet<ContactKey>,
    idem: HashMap<[u8; 32], StoredIdem>,
    batch: SortedBatch,
    /// Cluster mode: the token id the entry being applied brought.
    token_id: Option<[u8; 16]>,
    /// Contact points erased by this group: their old values are scrubbed from the
    /// directory's files once it is committed (see `scrub`).
    erased: Vec<ContactKey>,
    /// Whether the group holds a change this node answers for alone (not a log entry),
    /// which must be on disk before it is answered; see [`Group::commit`].
    local: bool,
}

/// The writes of one group, handed to RocksDB in (column family, key) order. In arrival
/// order the keys are random (keyed hashes), and a profile of an import showed 20% of the
/// writer's CPU in the memtable skiplist's `RecomputeSpliceLevels`; sorted, consecutive
/// inserts reuse the previous position instead of searching from the top.
#[derive(Default)]
struct SortedBatch {
    ops: Vec<BatchOp>,
}

/// Column family, key, and the value to put (`None`: delete).
type BatchOp = (&'static str, Vec<u8>, Option<Vec<u8>>);

impl SortedBatch {
    fn put(&mut self, cf: &'static str, key: &[u8], value: Vec<u8>) {
        self.ops.push((cf, key.to_vec(), Some(value)));
    }

    fn delete(&mut self, cf: &'static str, key: &[u8]) {
        self.ops.push((cf, key.to_vec(), None));
    }

    fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    fn into_write_batch(mut self, shared: &Shared) -> Result<WriteBatch, StorageError> {
        // Stable: of two writes to one key the later still lands last.
        self.ops.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut batch = WriteBatch::default();
        for (cf, key, value) in self.ops {
            let handle = shared.cf(cf)?;
            match value {
                Some(v) => batch.put_cf(handle, key, v),
                None => batch.delete_cf(handle, key),
            }
        }
        Ok(batch)
    }
}

impl<'a> Group<'a> {
    fn new(shared: &'a Shared, revision: u64) -> Group<'a> {
        let position = *shared.position_tx.borrow();
        Group {
            shared,
            now_us: (shared.clock)(),
            base_revision: revision,
            next_revision: revision,
            base_position: position,
            next_position: position,
            poisoned: None,
            contacts: HashMap::new(),
            touched: HashSet::new(),
            idem: HashMap::new(),
            batch: SortedBatch::default(),
            token_id: None,
            erased: Vec::new(),
            local: false,
        }
    }

    fn apply(&mut self, job: Job) -> Pending {
        self.local |= !matches!(job, Job::Replicated(..));
        match job {
            Job::Consent(change, tx) => {
                let r = self.consent(&change);
                Pending::Change(tx, r)
            }
            Job::Suppression(change, tx) => {
                let r = self.suppression(&change);
                Pending::Suppression(tx, r)
            }
            Job::Confirm(boxed, tx) => {
                let (confirmation, claims) = *boxed;
                let r = self.confirm(&confirmation, &claims);
                Pending::Change(tx, r)
            }
            Job::Life(change, tx) => {
                let r = self.life(&change);
                Pending::Suppression(tx, r)
            }
            Job::Replicated(job, tx) => {
                let r = self.replicated(*job);
                Pending::Replicated(tx, r)
            }
        }
    }

    /// Applies log entry `seq`, only right after entry `seq - 1`. Every entry takes the
    /// next revision whatever its outcome, a batch entry one per change (in its order), and
    /// a deterministic refusal is a change's outcome on every node. Anything else fails the
    /// whole group, which commits nothing (the failing change, or a batch's earlier
    /// changes, may already be in the overlay); the applier then starts again from the
    /// stored position.
    fn replicated(&mut self, job: Replicated) -> Result<OpResult, StorageError> {
        let Replicated { seq, at_us, token_id, op } = job;
        let at = self.next_position;
        if seq <= at {
            return Err(StorageError::Replica(format!("entry {seq} is applied already (at {at})")));
        }
        if seq != at + 1 {
            return Err(StorageError::Replica(format!("entry {seq} does not follow the applied entry {at}")));
        }
        self.now_us = at_us;
        let base = self.next_revision;
        let r = match op {
            Op::Batch(items) => {
                let mut results = Vec::with_capacity(items.len());
                for (i, BatchItem { token_id, op }) in items.into_iter().enumerate() {
                    let r = self.one_replicated(token_id, op);
                    if let Err(e) = &r
                        && !e.is_deterministic()
                    {
                        self.poisoned = Some(e.duplicate());
                        return r;
                    }
                    self.next_revision = base + i as u64 + 1;
                    results.push(r);
                }
                Ok(OpResult::Batch(results))
            }
            op => {
                let r = self.one_replicated(token_id, op);
                match &r {
                    // The change may have written to the overlay before it failed.
                    Err(e) if !e.is_deterministic() => {
                        self.poisoned = Some(e.duplicate());
                        return r;
                    }
                    _ => self.next_revision = base + 1,
                }
                r
            }
        };
        self.next_position = seq;
        r
    }

    /// One consent, suppression or confirmation change of a log entry.
    fn one_replicated(&mut self, token_id: [u8; 16], op: Op) -> Result<OpResult, StorageError> {
        self.token_id = Some(token_id);
        let r = match op {
            Op::Consent(c) => self.consent(&c).map(OpResult::Change),
            Op::Suppression(c) => self.suppression(&c).map(OpResult::Suppression),
            Op::Confirm(c, claims) => self.confirm(&c, &claims).map(OpResult::Change),
            Op::Life(c) => self.life(&c).map(OpResult::Suppression),
            // Admin entries are applied outside the writer, and a batch never nests (`wire`).
            _ => Err(StorageError::Replica("an admin or nested batch entry reached the writer".to_owned())),
        };
        self.token_id = None;
        r
    }

    /// The contact's state as of this group: overlay first, then the store, else new.
    fn load(
        &mut self,
        key: ContactKey,
        contact: Option<&ContactRef>,
    ) -> Result<Option<&mut StoredContact>, StorageError> {
        if !self.contacts.contains_key(&key) {
            let stored =
                match self.shared.db.get_pinned_cf(self.shared.cf(CF_STATE)?, key.0)? {
                    Some(bytes) => Some(StoredContact::decode(bytes.as_ref()).map_err(|e| {
                        self.shared.undecodable(format!("contact {} is undecodable: {e}", key.log_tag()))
                    })?),
                    None => contact.map(|c| StoredContact {
                        profile_id: c.profile_id.clone(),
                        channel: view::channel_to_stored(c.channel),
                        contact_point: c.contact_point.clone(),
                        ..StoredContact::default()
                    }),
                };
            match stored {
                Some(s) => {
                    self.contacts.insert(key, s);
                }
                None => return Ok(None),
            }
        }
        Ok(self.contacts.get_mut(&key))
    }

    fn idem_lookup(&mut self, key_hash: &[u8; 32]) -> Result<Option<StoredIdem>, StorageError> {
        if let Some(found) = self.idem.get(key_hash) {
            return Ok(Some(found.clone()));
        }
        match self.shared.db.get_pinned_cf(self.shared.cf(CF_IDEM)?, key_hash)? {
            None => Ok(None),
            Some(bytes) => StoredIdem::decode(bytes.as_ref())
                .map(Some)
                .map_err(|e| self.shared.undecodable(format!("idempotency entry undecodable: {e}"))),
        }
    }

    /// Appends an event to the contact's chain (and to the change feed when applied).
    fn append(&mut self, key: ContactKey, mut body: EventBody) -> Result<(), StorageError> {
        let contact = self.contacts.get_mut(&key).ok_or(StorageError::Closed)?;
        let seq = contact.history_len + 1;
        body.seq = seq;
        let bytes = body.encode_to_vec();
        let prev = if contact.last_hash.is_empty() { GENESIS_HASH.to_vec() } else { contact.last_hash.clone() };
        let hash = chain_hash(&prev, &bytes);
        let hkey = history_key(&key, seq);
        let event = StoredEvent { body: bytes, prev_hash: prev, hash: hash.to_vec(), redacted: false };
        self.batch.put(CF_HISTORY, &hkey, event.encode_to_vec());
        if body.applied && body.revision > 0 {
            self.batch.put(CF_CHANGES, &revision_key(body.revision), hkey.to_vec());
        }
        contact.history_len = seq;
        contact.last_hash = hash.to_vec();
        self.touched.insert(key);
        Ok(())
    }

    fn consent(&mut self, change: &ConsentChange) -> Result<ChangeResult, StorageError> {
        if let Some(idem) = &change.idempotency
            && let Some(prev) = self.idem_lookup(&idem.key_hash)?
        {
            if prev.content_hash != idem.content_hash {
                return Err(StorageError::Refused(Refusal::IdempotencyConflict));
            }
            return replayed(self.shared, prev);
        }
        let c = &change.contact;
        let key = self.shared.keyed.key(&c.profile_id, c.channel, &c.contact_point);
        let revision = self.next_revision + 1;
        let token_id = self.token_id.unwrap_or_else(|| {
            let mut id = [0u8; 16];
            rand::rng().fill_bytes(&mut id);
            id
        });
        let now_us = self.now_us;
        let contact = self.load(key, Some(c))?.ok_or(StorageError::Closed)?;
        let applied = apply::apply_consent(contact, change, revision, now_us, token_id);
        let is_applied = applied.outcome != ChangeOutcome::Superseded;
        if is_applied {
            self.next_revision = revision;
        }
        self.append(key, applied.event)?;
        let confirmation_token = applied.pending.map(|(token_id, expires_at)| {
            self.shared.token_key.sign(&TokenClaims { contact: key, subject: change.subject, token_id, expires_at })
        });
        let result = ChangeResult {
            outcome: applied.outcome,
            revision: self.next_revision,
            confirmation_expires_at: applied.pending.map(|(_, e)| e),
            confirmation_token,
            record: applied
                .record
                .as_ref()
                .map(Record::try_from)
                .transpose()
                .map_err(|e| self.shared.undecodable(e))?,
            replayed: false,
        };
        if let Some(idem) = &change.idempotency {
            let stored = StoredIdem {
                content_hash: idem.content_hash.to_vec(),
                outcome: view::outcome_to_stored(result.outcome),
                revision: result.revision,
                confirmation_token: result.confirmation_token.clone().unwrap_or_default(),
                confirmation_expires_at: result.confirmation_expires_at,
                record: applied.record,
            };
            self.batch.put(CF_IDEM, &idem.key_hash, stored.encode_to_vec());
            self.idem.insert(idem.key_hash, stored);
        }
        Ok(result)
    }

    fn suppression(&mut self, change: &SuppressionChange) -> Result<SuppressionResult, StorageError> {
        let c = &change.contact;
        let key = self.shared.keyed.key(&c.profile_id, c.channel, &c.contact_point);
        let revision = self.next_revision + 1;
        let now_us = self.now_us;
        let contact = self.load(key, Some(c))?.ok_or(StorageError::Closed)?;
        let (applied, changed, event) = apply::apply_suppression(contact, change, revision, now_us);
        if applied {
            self.next_revision = revision;
        }
        self.append(key, event)?;
        Ok(SuppressionResult { changed, applied, revision: self.next_revision })
    }

    /// An erasure or a reassignment. Either leaves a state for the key even where nothing
    /// was stored (keyed hash only, no plaintext), so that a late change is judged by it.
    fn life(&mut self, change: &LifeChange) -> Result<SuppressionResult, StorageError> {
        let key = change.key;
        let revision = self.next_revision + 1;
        let now_us = self.now_us;
        let blank =
            ContactRef { profile_id: change.profile_id.clone(), channel: change.channel, contact_point: String::new() };
        self.load(key, Some(&blank))?.ok_or(StorageError::Closed)?;
        let (applied, event) = match change.event {
            LifeEvent::Erase => {
                let digest = self.redact_history(key)?;
                let contact = self.contacts.get_mut(&key).ok_or(StorageError::Closed)?;
                let mut event = apply::apply_erasure(contact, change, revision, now_us);
                event.redacted_digest = digest;
                self.batch.put(CF_META, &super::scrub::marker(&key), Vec::new());
                self.erased.push(key);
                self.shared.verified.forget(&key.0);
                (true, event)
            }
            LifeEvent::Reassign { at_us } => {
                let contact = self.contacts.get_mut(&key).ok_or(StorageError::Closed)?;
                apply::apply_reassignment(contact, change, at_us, revision, now_us)
            }
        };
        if applied {
            self.next_revision = revision;
        }
        self.append(key, event)?;
        Ok(SuppressionResult { changed: applied, applied, revision: self.next_revision })
    }

    /// Rewrites every earlier event of `key` without its personal data ([`apply::redact`]),
    /// keeping each one's hash; gives the digest of all redacted bodies (earlier erasures'
    /// included), which the erasure event then names. Reads the stored events and those
    /// this group appended.
    fn redact_history(&mut self, key: ContactKey) -> Result<Vec<u8>, StorageError> {
        let len = self.contacts.get(&key).map_or(0, |c| c.history_len);
        let mut events: std::collections::BTreeMap<u64, Vec<u8>> = std::collections::BTreeMap::new();
        let start = history_key(&key, 1);
        let cf = self.shared.cf(CF_HISTORY)?;
        for item in self.shared.db.iterator_cf(cf, rocksdb::IteratorMode::From(&start, rocksdb::Direction::Forward)) {
            let (k, v) = item?;
            if k.len() != 24 || k[..16] != key.0 {
                break;
            }
            events.insert(super::codec::decode_u64(&k[16..]).unwrap_or(0), v.to_vec());
        }
        // This group's own events for the key: later writes to one key land last.
        for (cf, k, v) in &self.batch.ops {
            if *cf == CF_HISTORY
                && k.len() == 24
                && k[..16] == key.0
                && let Some(v) = v
            {
                events.insert(super::codec::decode_u64(&k[16..]).unwrap_or(0), v.clone());
            }
        }
        let mut digest = super::history::RedactionDigest::default();
        for seq in 1..=len {
            let bad = |e: String| self.shared.undecodable(format!("history event {seq} of {} {e}", key.log_tag()));
            let bytes = events.get(&seq).ok_or_else(|| bad("is missing".to_owned()))?;
            let mut stored = StoredEvent::decode(bytes.as_slice()).map_err(|e| bad(format!("is undecodable: {e}")))?;
            if !stored.redacted {
                let mut body =
                    EventBody::decode(stored.body.as_slice()).map_err(|e| bad(format!("is undecodable: {e}")))?;
                apply::redact(&mut body);
                let redacted = body.encode_to_vec();
                if redacted == stored.body {
                    // Nothing personal in it: it keeps a hash that still covers it.
                    continue;
                }
                stored.body = redacted;
                stored.redacted = true;
                self.batch.put(CF_HISTORY, &history_key(&key, seq), stored.encode_to_vec());
            }
            digest.add(seq, &stored.body);
        }
        Ok(digest.value())
    }

    fn confirm(&mut self, confirmation: &Confirmation, claims: &TokenClaims) -> Result<ChangeResult, StorageError> {
        let catalog = self.shared.catalog();
        let purpose = catalog.purpose_by_no(claims.subject.purpose);
        let topic = match claims.subject.topic {
            0 => None,
            no => catalog.topic_by_no(no),
        };
        // A purpose, topic or profile deactivated since the request takes no new consent:
        // the token was valid for something that is no longer offered.
        let profile_active = purpose.and_then(|p| catalog.profile(&p.profile_id)).is_some_and(|p| p.active);
        if !profile_active || !purpose.is_some_and(|p| p.active) || topic.is_some_and(|t| !t.active) {
            return Err(StorageError::Refused(Refusal::Deactivated(
                "the purpose, topic or profile this token confirms was deactivated".to_owned(),
            )));
        }
        let purpose = purpose.map(|p| p.id.clone()).unwrap_or_default();
        let topic = topic.map(|t| t.id.clone()).unwrap_or_default();
        let revision = self.next_revision + 1;
        let now_us = self.now_us;
        let contact = self.load(claims.contact, None)?.ok_or(StorageError::Refused(Refusal::TokenUsed))?;
        let (event, record) =
            apply::apply_confirmation(contact, claims, confirmation, revision, now_us, (&purpose, &topic)).map_err(
                |refusal| match refusal {
                    ConfirmRefusal::NotPending => StorageError::Refused(Refusal::TokenUsed),
                    ConfirmRefusal::Expired => StorageError::Refused(Refusal::Token(TokenError::Expired)),
                    ConfirmRefusal::BeforeRequest => StorageError::Refused(Refusal::ConfirmedBeforeRequest),
                },
            )?;
        self.next_revision = revision;
        self.append(claims.contact, event)?;
        Ok(ChangeResult {
            outcome: ChangeOutcome::Applied,
            revision,
            confirmation_token: None,
            confirmation_expires_at: None,
            record: Some(Record::try_from(&record).map_err(|e| self.shared.undecodable(e))?),
            replayed: false,
        })
    }

    /// Writes the group with one WAL write, then makes it visible to decisions; gives the
    /// new revision and whether the write was synced.
    ///
    /// Synced when the group holds a local change. A group of log entries alone is not:
    /// their durability is the log's (JetStream, replicated and synced before any node
    /// applies an entry), and the entries' position is stored in the same batch, so a node
    /// whose unsynced tail a power loss takes resumes from the position it kept and applies
    /// the same entries again. Sparing the fsync takes this node's disk off the path
    /// between a write and its visibility on every replica (docs/operations.md, "Running a cluster").
    fn commit(self) -> Result<(u64, bool), StorageError> {
        let Group {
            shared,
            mut batch,
            contacts,
            touched,
            next_revision,
            base_revision,
            next_position,
            base_position,
            local,
            poisoned,
            ..
        } = self;
        if let Some(e) = poisoned {
            return Err(e);
        }
        if touched.is_empty() && next_revision == base_revision && next_position == base_position && batch.is_empty() {
            return Ok((next_revision, local));
        }
        let mut states = Vec::with_capacity(touched.len());
        for key in &touched {
            if let Some(contact) = contacts.get(key) {
                let state = apply::index_state(contact);
                let origin = super::view::origin_of(contact)
                    .ok_or_else(|| shared.undecodable(format!("contact {} has an unknown channel", key.log_tag())))?;
                batch.put(CF_STATE, &key.0, contact.encode_to_vec());
                if state.is_empty() {
                    batch.delete(CF_INDEX, &key.0);
                } else {
                    batch.put(CF_INDEX, &key.0, encode_index_entry(&state, origin));
                }
                states.push((*key, origin, state));
            }
        }
        batch.put(CF_META, META_REVISION, next_revision.to_be_bytes().to_vec());
        if next_position != base_position {
            batch.put(CF_META, META_LOG_POSITION, next_position.to_be_bytes().to_vec());
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(local);
        let batch = batch.into_write_batch(shared)?;
        // The floor holds against fast writers: every group's bytes count before they are
        // written, not a sample of free space a second old (see `health`).
        if !shared.health.reserve(&shared.path, batch.size_in_bytes() as u64) {
            return Err(shared.write_refusal().unwrap_or_else(|| {
                StorageError::DiskFull(
                    "the server's disk is nearly full: the change was not stored; retry later".into(),
                )
            }));
        }
        shared.db.write_opt(batch, &wo)?;
        for (key, origin, state) in states {
            shared.keyed.index().put(key, origin, state);
        }
        Ok((next_revision, local))
    }
}
