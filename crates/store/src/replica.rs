//! The store's side of cluster mode: what the replicated log carries, and how an entry of
//! it is applied.
//!
//! An [`Entry`] is a change already validated and normalized by the node that received
//! it, stamped there with its time and any random it needs (a confirmation token's id), so
//! that applying it reads no clock and draws no random: every node that applies the log in
//! order reaches the same state, the same hash chains and the same tokens.
//!
//! Revisions and log positions are counted apart, and both deterministically: every entry
//! (applied, refused or skipped) moves the revision on by one, and a batch entry of n
//! changes by n, one per change in its order. So every node gives each change the same
//! revision, the change feed has one key per change as in standalone mode, `min_revision`
//! means "this change and everything before it" on every node, and the digests (which
//! cover the feed) compare as before. Before batch entries the two numbers were equal,
//! which is how a store without a stored position reads it (see `open`). The applied
//! position (`meta/log_position`) is stored in the same batch as the state it produced, so
//! a node that restarts resumes exactly after it, and applying an entry twice is refused,
//! not repeated.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::codec::{ALL_CFS, CF_META, META_REVISION};
use super::model::{ChangeResult, LifeChange, SuppressionChange, SuppressionResult};
use super::op::{Applied, Entry, Op, OpResult, Stamp};
use super::{StorageError, Store, writer};

/// Upper bounds of [`ApplyLag`]'s buckets, in microseconds (1 ms to 10 s; above: `+Inf`).
pub const APPLY_LAG_BOUNDS_US: [u64; 15] = [
    1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 50_000, 75_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000,
];

/// Replica lag as this node sees it: for each applied log entry, the time from its stamp
/// on the receiving node (at publish) to applied here, as the last value and a histogram.
/// Clock skew between machines is part of it; a negative lag counts as zero.
#[derive(Debug, Default)]
pub struct ApplyLag {
    last_us: AtomicU64,
    sum_us: AtomicU64,
    /// Per bucket (not cumulative); the last one is `+Inf`.
    buckets: [AtomicU64; APPLY_LAG_BOUNDS_US.len() + 1],
}

impl ApplyLag {
    fn record(&self, lag_us: i64) {
        let lag = u64::try_from(lag_us).unwrap_or(0);
        self.last_us.store(lag, Ordering::Relaxed);
        self.sum_us.fetch_add(lag, Ordering::Relaxed);
        let bucket = APPLY_LAG_BOUNDS_US.partition_point(|&bound| bound < lag);
        if let Some(b) = self.buckets.get(bucket) {
            b.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Of the last entry applied (µs).
    pub fn last_us(&self) -> u64 {
        self.last_us.load(Ordering::Relaxed)
    }

    /// Sum (µs) and per-bucket counts (not cumulative, `+Inf` last) of every entry so far.
    pub fn totals(&self) -> (u64, Vec<u64>) {
        (self.sum_us.load(Ordering::Relaxed), self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect())
    }
}

/// Log entries this node skipped since it started, by kind, and the last one: an alert,
/// since a skipped entry is one that something other than a cluster node published (or a
/// node whose publish reached the log too late; its client was told to retry).
#[derive(Debug, Default)]
pub struct SkippedEntries {
    counts: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
    last: std::sync::Mutex<Option<(u64, String)>>,
}

impl SkippedEntries {
    /// Every kind an entry is skipped for.
    pub const KINDS: [&'static str; 3] = ["unauthentic", "invalid", "stale"];

    fn record(&self, seq: u64, kind: &'static str, why: &str) {
        *lock(&self.counts).entry(kind).or_default() += 1;
        *lock(&self.last) = Some((seq, why.to_owned()));
    }

    /// Per kind (`unauthentic`, `invalid`, `stale`).
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        lock(&self.counts).iter().map(|(k, n)| (*k, *n)).collect()
    }

    pub fn total(&self) -> u64 {
        lock(&self.counts).values().sum()
    }

    /// The stream position of the last skipped entry, and why it was skipped.
    pub fn last(&self) -> Option<(u64, String)> {
        lock(&self.last).clone()
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The secret a cluster's nodes share; the store's own secrets (contact keys, token and
/// link keys) are derived from it, never drawn by one node.
#[derive(Clone)]
pub struct ClusterSecret([u8; 32]);

impl std::fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterSecret(..)")
    }
}

/// SHA-256 of secrets that were published (one was committed to this project's
/// repository once): anyone can forge links, tokens and log entries with them.
const PUBLISHED_SECRETS_SHA256: [[u8; 32]; 1] = [[
    0x22, 0xac, 0xb9, 0x95, 0xff, 0x1a, 0x06, 0x3e, 0x51, 0xa8, 0x15, 0xb2, 0xc3, 0xe8, 0x3d, 0x79, 0x6e, 0xee, 0xe4,
    0x1a, 0xcd, 0x61, 0x89, 0xc7, 0x6c, 0x6e, 0xe1, 0xa9, 0xd6, 0x18, 0x04, 0xf5,
]];

impl ClusterSecret {
    /// At least 32 bytes of secret (e.g. `openssl rand -hex 32`); hashed to the key.
    pub fn from_text(text: &str) -> Result<ClusterSecret, String> {
        let text = text.trim();
        if text.len() < 32 {
            return Err(format!("{} characters; at least 32 are needed", text.len()));
        }
        let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        if PUBLISHED_SECRETS_SHA256.contains(&digest) {
            return Err("this secret was published (it was once committed to consentd's repository): make a new \
                        one with `openssl rand -hex 32`"
                .to_owned());
        }
        Ok(ClusterSecret(digest))
    }

    /// Reads the secret from `path`, which only its owner may read: a secret that others on
    /// the machine can read lets them forge every token, link and log entry.
    pub fn read_file(path: &std::path::Path) -> Result<ClusterSecret, String> {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(|e| e.to_string())?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "the file's mode is {:04o}: others can read the secret; make it readable by its owner only (chmod 600)",
                mode & 0o7777
            ));
        }
        ClusterSecret::from_text(&std::fs::read_to_string(path).map_err(|e| e.to_string())?)
    }

    fn derive(&self, label: &str) -> [u8; 32] {
        // HMAC accepts a key of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub(super) fn contact_key(&self) -> [u8; 16] {
        let full = self.derive("consentd contact key");
        let mut k = [0u8; 16];
        k.copy_from_slice(&full[..16]);
        k
    }

    pub(super) fn token_key(&self) -> [u8; 32] {
        self.derive("consentd token key")
    }

    pub(super) fn link_key(&self) -> [u8; 32] {
        self.link_key_of(1)
    }

    /// Link key `id`: every node derives the same one, so rotating it through the log
    /// carries no key.
    pub(super) fn link_key_of(&self, id: u8) -> [u8; 32] {
        self.derive(&format!("consentd link key {id}"))
    }

    /// The seed of receipt key `id`, derived like [`ClusterSecret::link_key_of`].
    pub(super) fn receipt_seed_of(&self, id: u8) -> [u8; 32] {
        self.derive(&format!("consentd receipt key {id}"))
    }

    pub(super) fn webhook_key(&self) -> [u8; 32] {
        self.derive("consentd webhook secrets key 1")
    }

    /// The key that authenticates log entries and snapshots, with its id (a fingerprint
    /// of the key, so it names the key without revealing it).
    pub fn log_key(&self) -> super::wire::LogKey {
        let mac = self.derive("consentd log mac key 1");
        let fingerprint = Sha256::digest([b"consentd log key id".as_slice(), &mac].concat());
        let mut id = [0u8; 8];
        id.copy_from_slice(&fingerprint[..8]);
        super::wire::LogKey::new(id, mac)
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The replicated log, as the store sees it: a write is submitted and answered once this
/// node has applied it. A client's retry (same idempotency key) is a new entry of the log:
/// applying it answers the first attempt's answer, or refuses it when its content differs,
/// on every node alike and however late it comes, exactly as a standalone store does.
pub trait Log: Send + Sync {
    fn submit(&self, op: Op) -> BoxFuture<'_, Result<OpResult, StorageError>>;
}

/// A digest of the replicated state, to compare replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateDigest {
    pub revision: u64,
    pub digest: [u8; 32],
    pub keys: u64,
}

fn unexpected(what: &str) -> StorageError {
    StorageError::Replica(format!("the log answered a {what} with another kind of result"))
}

impl Store {
    /// Cluster mode: from now on every write goes through `log`. Set once, before serving.
    pub fn attach_log(&self, log: std::sync::Arc<dyn Log>) {
        if self.inner.log.set(log).is_err() {
            tracing::warn!("a replicated log was attached twice; the first one stays");
        }
    }

    /// Whether writes go through a replicated log.
    pub fn replicated(&self) -> bool {
        self.inner.log.get().is_some()
    }

    pub(super) fn log(&self) -> Option<&std::sync::Arc<dyn Log>> {
        self.inner.log.get()
    }

    pub(super) async fn submit_change(&self, log: &dyn Log, op: Op) -> Result<ChangeResult, StorageError> {
        match log.submit(op).await? {
            OpResult::Change(r) => Ok(r),
            _ => Err(unexpected("consent change")),
        }
    }

    /// The store's clock (the receiving node stamps entries with it).
    pub fn clock(&self) -> super::Clock {
        self.shared().clock.clone()
    }

    /// Cluster mode: whether this node is still applying what the log held at its start
    /// (health reports NOT_SERVING meanwhile).
    pub fn catching_up(&self) -> bool {
        self.inner.catching_up.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Cluster mode: how long applied entries took from their stamp to here.
    pub fn apply_lag(&self) -> &ApplyLag {
        &self.inner.apply_lag
    }

    pub fn record_apply_lag(&self, stamped_at_us: i64) {
        self.inner.apply_lag.record((self.clock())() - stamped_at_us);
    }

    pub fn set_catching_up(&self, behind: bool) {
        self.inner.catching_up.store(behind, std::sync::atomic::Ordering::Release);
    }

    pub(super) async fn submit_suppression(
        &self,
        log: &dyn Log,
        change: SuppressionChange,
    ) -> Result<SuppressionResult, StorageError> {
        match log.submit(Op::Suppression(change)).await? {
            OpResult::Suppression(r) => Ok(r),
            _ => Err(unexpected("suppression")),
        }
    }

    pub(super) async fn submit_life(
        &self,
        log: &dyn Log,
        change: LifeChange,
    ) -> Result<SuppressionResult, StorageError> {
        match log.submit(Op::Life(change)).await? {
            OpResult::Suppression(r) => Ok(r),
            _ => Err(unexpected("erasure or reassignment")),
        }
    }

    /// Hands log entry `seq` to the writer (entries must be handed over in log order) and
    /// returns where its answer will come. Admin entries are applied here, at once: the
    /// caller waits until entry `seq - 1` is applied before handing one over.
    pub async fn apply_entry(&self, seq: u64, entry: Entry) -> Result<Applied, StorageError> {
        let Entry { at_us, token_id, op, .. } = entry;
        let (tx, rx) = tokio::sync::oneshot::channel();
        if op.is_admin() {
            let _ = tx.send(self.apply_admin(seq, at_us, op));
            return Ok(rx);
        }
        let job = writer::Replicated { seq, at_us, token_id, op };
        let queue = self.inner.writer_tx.as_ref().ok_or(StorageError::Closed)?;
        queue.send(writer::Job::Replicated(Box::new(job), tx)).await.map_err(|_| StorageError::Closed)?;
        Ok(rx)
    }

    fn apply_admin(&self, seq: u64, at_us: i64, op: Op) -> Result<OpResult, StorageError> {
        let current = self.log_position();
        if seq <= current {
            return Err(StorageError::Replica(format!("entry {seq} is applied already (at {current})")));
        }
        if seq != current + 1 {
            return Err(StorageError::Replica(format!("entry {seq} does not follow the applied entry {current}")));
        }
        let stamp = Stamp { revision: self.revision() + 1, position: seq, at_us };
        let _guard = self.admin_guard();
        let result = match op {
            Op::Profile { profile, create } => {
                self.put_profile_locked(profile, create, Some(stamp)).map(OpResult::Profile)
            }
            Op::Purpose { purpose, create } => {
                self.put_purpose_locked(purpose, create, Some(stamp)).map(OpResult::Purpose)
            }
            Op::Topic { topic, create } => self.put_topic_locked(topic, create, Some(stamp)).map(OpResult::Topic),
            Op::ApiKey(key) => self.put_api_key_locked(key, Some(stamp)).map(|()| OpResult::ApiKey),
            Op::Webhook(op) => self.apply_webhook_locked(op, Some(stamp)).map(|()| OpResult::Webhook),
            Op::RotateKey(kind) => self.rotate_key_locked(kind, Some(stamp)).map(OpResult::KeyRotated),
            Op::Consent(_) | Op::Suppression(_) | Op::Confirm(..) | Op::Life(_) | Op::Batch(_) => {
                return Err(StorageError::Replica("a consent entry reached the admin path".to_owned()));
            }
        };
        match result {
            Ok(r) => Ok(r),
            // Refused the same way on every node: the entry is applied as a refusal, and the
            // position moves on with nothing else written.
            Err(e) if e.is_deterministic() => {
                self.write_position(stamp)?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Records that entry `stamp.position` is applied when it changed nothing: it still
    /// takes its revision, as every entry does.
    fn write_position(&self, stamp: Stamp) -> Result<(), StorageError> {
        let s = self.shared();
        let mut wo = rocksdb::WriteOptions::default();
        wo.set_sync(true);
        let mut batch = rocksdb::WriteBatch::default();
        stamp.write(&mut batch, s.cf(CF_META)?);
        s.db.write_opt(batch, &wo)?;
        stamp.publish(s);
        Ok(())
    }

    /// Records that log entry `seq` was skipped: it is not applied (not authentic, not a
    /// valid entry, or stamped too long before the log stored it), and every node skips it
    /// alike. The caller waits until entry `seq - 1` is applied first.
    pub fn skip_entry(&self, seq: u64, kind: &'static str, why: &str) -> Result<(), StorageError> {
        let _guard = self.admin_guard();
        let current = self.log_position();
        if seq != current + 1 {
            return Err(StorageError::Replica(format!("entry {seq} does not follow the applied entry {current}")));
        }
        self.write_position(Stamp { revision: self.revision() + 1, position: seq, at_us: 0 })?;
        self.inner.skipped.record(seq, kind, why);
        Ok(())
    }

    /// Cluster mode: the log entries this node skipped since it started.
    pub fn skipped_entries(&self) -> &SkippedEntries {
        &self.inner.skipped
    }

    /// A SHA-256 over every replicated key and value (all column families but `meta`, which
    /// holds the node's position and secrets),
    /// read from one snapshot together with its revision. Equal revisions and equal digests
    /// mean equal replicas.
    pub fn digest(&self) -> Result<StateDigest, StorageError> {
        let s = self.shared();
        let snapshot = s.db.snapshot();
        let revision = snapshot
            .get_cf(s.cf(CF_META)?, META_REVISION)?
            .and_then(|v| super::codec::decode_u64(&v))
            .ok_or_else(|| s.undecodable("revision is missing"))?;
        let mut hash = Sha256::new();
        let mut keys = 0u64;
        for name in ALL_CFS.iter().filter(|n| **n != CF_META) {
            hash.update(name.as_bytes());
            for item in snapshot.iterator_cf(s.cf(name)?, rocksdb::IteratorMode::Start) {
                let (k, v) = item.map_err(|e| s.read_error(e))?;
                hash.update((k.len() as u64).to_be_bytes());
                hash.update(&k);
                hash.update((v.len() as u64).to_be_bytes());
                hash.update(&v);
                keys += 1;
            }
        }
        Ok(StateDigest { revision, digest: hash.finalize().into(), keys })
    }
}

impl StorageError {
    /// Refusals depend only on the entry and the replicated state, so every node refuses
    /// the entry alike; a failure (I/O, a full disk) leaves it unapplied here. The type
    /// says which is which: a new refusal is deterministic by being a [`Refusal`].
    pub fn is_deterministic(&self) -> bool {
        matches!(self, StorageError::Refused(_))
    }
}

impl Store {
    /// A RocksDB checkpoint of the store in `dir` (hard links where it can), and a log
    /// position it holds at least: read before the checkpoint, whose state is at or after it
    /// (the exact one is in the checkpoint's `meta`, read when it is opened). A lower bound
    /// is what trimming the log needs: every entry up to it is in the checkpoint.
    ///
    /// The checkpoint leaves the node, so it is scrubbed of the store's keys (contact,
    /// token, link and receipt keys: in cluster mode every node derives them from the
    /// cluster secret, which never travels): they are deleted (link and receipt keys keep
    /// their ids, so a rotated key is derived again) and the `meta` family compacted, so no
    /// file of the checkpoint holds them (its write-ahead log holds the deletions only). A
    /// receipt key in a snapshot would let anyone who can read the snapshot's bucket sign
    /// receipts the cluster never gave.
    pub fn checkpoint(&self, dir: &std::path::Path) -> Result<u64, StorageError> {
        let covered = self.log_position();
        rocksdb::checkpoint::Checkpoint::new(&self.shared().db)?.create_checkpoint(dir)?;
        let cfs = ALL_CFS.iter().map(|name| rocksdb::ColumnFamilyDescriptor::new(*name, rocksdb::Options::default()));
        let db = rocksdb::DB::open_cf_descriptors(&rocksdb::Options::default(), dir, cfs)?;
        let meta = db.cf_handle(CF_META).ok_or(StorageError::Closed)?;
        let mut batch = rocksdb::WriteBatch::default();
        batch.delete_cf(meta, super::codec::META_CONTACT_KEY);
        batch.delete_cf(meta, super::codec::META_TOKEN_KEY);
        // Link and receipt keys keep their ids with an empty value: "derived from the
        // cluster secret", as every cluster node's keys are (see `open`).
        for prefix in [super::codec::META_LINK_KEY_PREFIX, super::codec::META_RECEIPT_KEY_PREFIX] {
            for item in db.prefix_iterator_cf(meta, prefix) {
                let (k, _) = item?;
                if !k.starts_with(prefix) {
                    break;
                }
                batch.put_cf(meta, &k, []);
            }
        }
        db.write(batch)?;
        db.flush_cf(meta)?;
        let mut compact = rocksdb::CompactOptions::default();
        compact.set_bottommost_level_compaction(rocksdb::BottommostLevelCompaction::Force);
        db.compact_range_cf_opt(meta, None::<&[u8]>, None::<&[u8]>, &compact);
        db.flush_wal(true)?;
        drop(db);
        Ok(covered)
    }
}

#[cfg(test)]
mod tests {
    use super::{ALL_CFS, APPLY_LAG_BOUNDS_US, ApplyLag, CF_META, ClusterSecret, META_REVISION};

    /// A snapshot leaves the node: none of its files may hold the store's keys, and it
    /// opens again with the cluster secret alone, with the same state.
    #[test]
    fn a_checkpoint_holds_no_key_and_opens_again_from_the_cluster_secret() {
        use crate::{Store, StoreOptions, system_clock};
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = ClusterSecret::from_text("a-test-cluster-secret-0123456789abcdef").expect("secret");
        let mut options = StoreOptions::new(system_clock());
        options.cluster_secret = Some(secret.clone());
        let (store, _) = Store::open(&dir.path().join("data"), options.clone()).expect("open");
        // A key rotated through the log (key 2): stored without its seed, derived again.
        let stamp = crate::op::Stamp { revision: 1, position: 1, at_us: 0 };
        let rotated = store.rotate_key_locked(crate::op::SigningKeyKind::Receipt, Some(stamp)).expect("rotate");
        assert_eq!(rotated, 2);
        let before = store.digest().expect("digest");
        let receipt_public = store.receipt_keys().signing().public_key();
        let checkpoint = dir.path().join("checkpoint");
        store.checkpoint(&checkpoint).expect("checkpoint");
        drop(store);
        let keys = [
            secret.contact_key().to_vec(),
            secret.token_key().to_vec(),
            secret.link_key().to_vec(),
            secret.receipt_seed_of(1).to_vec(),
            secret.receipt_seed_of(2).to_vec(),
        ];
        let mut files = 0;
        for entry in std::fs::read_dir(&checkpoint).expect("read_dir") {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("read");
            files += 1;
            for key in &keys {
                assert!(!bytes.windows(key.len()).any(|w| w == key.as_slice()), "{} holds a key", path.display());
            }
        }
        assert!(files > 3, "the checkpoint has its files");
        let (restored, _) = Store::open(&checkpoint, options).expect("reopen");
        let after = restored.digest().expect("digest");
        assert_eq!((after.revision, after.digest), (before.revision, before.digest));
        // The receipt keys come back from the secret: receipts signed before still verify.
        assert_eq!(restored.receipt_keys().signing().id, 2);
        assert_eq!(restored.receipt_keys().signing().public_key(), receipt_public);
        assert_eq!(restored.receipt_keys().all().len(), 2);
    }

    /// A store from before batch entries (format `consentd-1`, no stored log position)
    /// reads its position as its revision, the two being one number then, and is marked
    /// `consentd-2` so that a release which would take the revision for the position
    /// refuses it from now on.
    #[test]
    fn a_store_from_before_batch_entries_reads_its_position_as_its_revision_and_is_marked() {
        use crate::codec::{FORMAT_VERSION, FORMAT_VERSION_1, META_FORMAT, META_LOG_POSITION};
        use crate::{Store, StoreOptions, system_clock};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("data");
        let (store, _) = Store::open(&path, StoreOptions::new(system_clock())).expect("open");
        drop(store);
        let raw = |f: &dyn Fn(&rocksdb::DB, &rocksdb::ColumnFamily)| {
            let cfs = ALL_CFS.iter().map(|n| rocksdb::ColumnFamilyDescriptor::new(*n, rocksdb::Options::default()));
            let db = rocksdb::DB::open_cf_descriptors(&rocksdb::Options::default(), &path, cfs).expect("raw open");
            f(&db, db.cf_handle(CF_META).expect("meta"));
        };
        raw(&|db, meta| {
            db.put_cf(meta, META_FORMAT, FORMAT_VERSION_1).expect("format");
            db.put_cf(meta, META_REVISION, 7u64.to_be_bytes()).expect("revision");
            db.delete_cf(meta, META_LOG_POSITION).expect("position");
            db.flush_wal(true).expect("sync");
        });
        let (store, _) = Store::open(&path, StoreOptions::new(system_clock())).expect("reopen");
        assert_eq!((store.revision(), store.log_position()), (7, 7));
        drop(store);
        raw(&|db, meta| {
            assert_eq!(db.get_cf(meta, META_FORMAT).expect("read").as_deref(), Some(FORMAT_VERSION));
            assert_eq!(
                db.get_cf(meta, META_LOG_POSITION).expect("read").as_deref(),
                Some(7u64.to_be_bytes().as_slice())
            );
        });
    }

    #[test]
    fn the_secret_once_committed_to_the_repository_is_refused() {
        let published = "81d4620e084cee8bf0e5a41a76e95ac10ba86184a8cb5fa7f2aef009878558c1";
        let err = ClusterSecret::from_text(&format!("{published}\n")).err().unwrap_or_default();
        assert!(err.contains("published"), "{err}");
        assert!(ClusterSecret::from_text("81d4620e084cee8bf0e5a41a76e95ac10ba86184a8cb5fa7f2aef009878558c2").is_ok());
    }

    #[test]
    fn apply_lag_counts_each_entry_in_the_bucket_of_its_upper_bound() {
        let lag = ApplyLag::default();
        // Bounds are inclusive (Prometheus `le`); a negative lag (clock skew) counts as zero.
        for us in [-5, 0, 1_000, 1_001, 50_000, 10_000_000, 10_000_001, 3_600_000_000] {
            lag.record(us);
        }
        let (sum, buckets) = lag.totals();
        assert_eq!(buckets.len(), APPLY_LAG_BOUNDS_US.len() + 1);
        let mut expected = vec![0u64; buckets.len()];
        expected[0] = 3; // -5, 0, 1_000
        expected[1] = 1; // 1_001
        expected[6] = 1; // 50_000
        expected[14] = 1; // 10 s
        expected[15] = 2; // above 10 s: +Inf
        assert_eq!(buckets, expected);
        assert_eq!(sum, 1_000 + 1_001 + 50_000 + 10_000_000 + 10_000_001 + 3_600_000_000);
        assert_eq!(lag.last_us(), 3_600_000_000);
    }
}
