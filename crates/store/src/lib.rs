//! The durable store: RocksDB for everything, the hot index for decisions, one writer
//! thread that orders, group-commits and publishes every change.
//!
//! Owns: the key layout ([`codec`]), the ordering rules ([`apply`]), the history chain
//! ([`history`]), confirmation tokens ([`token`]), the hot index ([`index`]), the data
//! directory's guard ([`guard`]) and the store's health ([`health`]). Must not touch: gRPC
//! or protobuf API types (those stay in `api`).
//!
//! This file holds the handle and its shared state; `open` opens and loads a store, `read`
//! serves reads of stored records, `admin` writes configuration, `writer` is the write path.
//!
//! Writes: callers hand a change to the writer through a bounded queue and wait for its
//! answer. The writer takes every queued change (up to `write_group_max`), applies them in
//! arrival order on an in-memory overlay, writes one RocksDB WriteBatch with a synced WAL
//! (one fsync for the whole group), then updates the hot index and publishes the new
//! revision; the answer goes out once the directory's marker covers that revision. So an
//! answer means the change is on disk, visible to decisions, and its loss would be noticed.
//! In cluster mode a group of log entries alone is written without the sync and answered
//! without the marker: the replicated log holds them durably (see `writer::Group::commit`).

mod admin;
pub mod apply;
mod codec;
pub mod config;
pub mod guard;
pub mod health;
pub mod history;
pub mod index;
pub mod late;
pub mod link;
pub mod model;
pub mod op;
mod open;
pub mod past;
mod read;
pub mod receipt;
pub mod replica;
mod scrub;
pub mod simulate;
pub mod token;
pub mod verify;
pub mod view;
pub mod webhook;
pub mod wire;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use arc_swap::ArcSwap;
use rocksdb::{ColumnFamily, DB};
use tokio::sync::{mpsc, oneshot, watch};

use self::codec::ALL_CFS;
pub use self::codec::ContactKey;
use self::index::{HotIndex, KeyedIndex};
use self::model::{ChangeResult, Confirmation, ConsentChange, SuppressionChange, SuppressionResult};
use self::token::{TokenError, TokenKey};
use self::view::ApiKey;
use consentd_core::decision::{Catalog, Channel, ContactState, StateSource, Status, SuppressionKind};

/// Microseconds since the Unix epoch, from a clock the store is given (tests set it).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        i64::try_from(now.as_micros()).unwrap_or(i64::MAX)
    })
}

/// Limits and tuning of the store.
#[derive(Clone)]
pub struct StoreOptions {
    /// Changes waiting for the writer; callers wait (backpressure) when it is full.
    pub write_queue_max: usize,
    /// Changes committed together with one fsync.
    pub write_group_max: usize,
    pub block_cache_bytes: usize,
    /// Purposes (active or not) one profile may have: purpose numbers are shared by the
    /// whole server, so one tenant must not be able to take them all.
    pub purposes_per_profile_max: usize,
    /// Topics (active or not) one profile may have, for the same reason.
    pub topics_per_profile_max: usize,
    /// Writes are refused while the data directory's file system has less free space.
    pub disk_free_min_bytes: u64,
    pub clock: Clock,
    /// Cluster mode: the secret every node derives its store secrets from.
    pub cluster_secret: Option<replica::ClusterSecret>,
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("write_queue_max", &self.write_queue_max)
            .field("write_group_max", &self.write_group_max)
            .field("block_cache_bytes", &self.block_cache_bytes)
            .field("purposes_per_profile_max", &self.purposes_per_profile_max)
            .field("topics_per_profile_max", &self.topics_per_profile_max)
            .field("disk_free_min_bytes", &self.disk_free_min_bytes)
            .finish_non_exhaustive()
    }
}

impl StoreOptions {
    /// Defaults, each the server's unless its configuration says otherwise
    /// (`config::Limits` names them).
    pub const WRITE_QUEUE_MAX: usize = 8_192;
    pub const WRITE_GROUP_MAX: usize = 1_024;
    pub const BLOCK_CACHE_BYTES: usize = 256 << 20;
    pub const PURPOSES_PER_PROFILE_MAX: usize = 128;
    pub const TOPICS_PER_PROFILE_MAX: usize = 1_024;
    pub const DISK_FREE_MIN_BYTES: u64 = 64 << 20;

    /// The defaults, on `clock`, standalone.
    pub fn new(clock: Clock) -> StoreOptions {
        StoreOptions {
            write_queue_max: Self::WRITE_QUEUE_MAX,
            write_group_max: Self::WRITE_GROUP_MAX,
            block_cache_bytes: Self::BLOCK_CACHE_BYTES,
            purposes_per_profile_max: Self::PURPOSES_PER_PROFILE_MAX,
            topics_per_profile_max: Self::TOPICS_PER_PROFILE_MAX,
            disk_free_min_bytes: Self::DISK_FREE_MIN_BYTES,
            clock,
            cluster_secret: None,
        }
    }
}

/// Why stored data or the data directory cannot be used: a damaged value, a missing
/// piece, a refused start. It becomes [`StorageError::Corrupt`] with the directory's path
/// (see `Shared::undecodable` and `Store::open`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Damage(pub String);

impl Damage {
    pub fn new(detail: impl Into<String>) -> Damage {
        Damage(detail.into())
    }
}

impl From<String> for Damage {
    fn from(detail: String) -> Damage {
        Damage(detail)
    }
}

impl From<&str> for Damage {
    fn from(detail: &str) -> Damage {
        Damage(detail.to_owned())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The request was refused for a reason that depends only on it and the stored state:
    /// the client's to fix, and in cluster mode every node refuses the same entry alike.
    #[error(transparent)]
    Refused(#[from] Refusal),
    // Failures: the store could not do what it should have. Not the client's fault, and in
    // cluster mode not deterministic (another node may well succeed).
    #[error("rocksdb: {0}")]
    Db(#[from] rocksdb::Error),
    #[error("data directory `{path}` cannot be used: {detail}")]
    Corrupt { path: String, detail: String },
    #[error("the store is shutting down")]
    Closed,
    /// Cluster mode: an entry out of order, or applied already (never shown to clients:
    /// the applier starts again from the stored position).
    #[error("replicated log: {0}")]
    Replica(String),
    /// Cluster mode: the replicated log cannot take writes now (no quorum, not reachable).
    #[error("{0}")]
    Unavailable(String),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    /// Writes are refused until the disk has room again (see [`health`]).
    #[error("{0}")]
    DiskFull(String),
    /// RocksDB stopped writing; a restart is needed.
    #[error("{0}")]
    WritesStopped(String),
}

/// Why the store refused a request: typed and comparable, each the same on every node
/// for the same request and state (see [`StorageError::is_deterministic`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("idempotency key was used before with other content")]
    IdempotencyConflict,
    #[error(transparent)]
    Token(TokenError),
    #[error("confirmation token was used already, or its record was replaced by a newer change")]
    TokenUsed,
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// A read-modify-write whose record changed between its read and its write.
    #[error("{0}")]
    Stale(String),
    #[error("limit reached: {0}")]
    Limit(String),
    #[error("{0}")]
    Deactivated(String),
    #[error("invalid `occurred_at`: a confirmation cannot happen before the opt-in request it confirms")]
    ConfirmedBeforeRequest,
}

impl From<TokenError> for StorageError {
    fn from(e: TokenError) -> StorageError {
        StorageError::Refused(Refusal::Token(e))
    }
}

/// A `meta` key that never holds a value: deleting it is the write that probes whether
/// RocksDB writes again after a full disk.
const DISK_PROBE_KEY: &[u8] = b"disk-probe";

/// What the writer thread shares with readers.
struct Shared {
    db: DB,
    /// The data directory's lock (see `guard::lock`), released after `db` closes: fields
    /// drop in order.
    _dir_lock: std::fs::File,
    path: PathBuf,
    /// The hot index and the contact-key secret.
    keyed: KeyedIndex,
    /// Read on every check, replaced whole by admin writes.
    catalog: ArcSwap<Catalog>,
    token_key: TokenKey,
    clock: Clock,
    health: health::Health,
    /// The revision of the last committed change: the writer's, and in cluster mode also
    /// the admin entries' (both bump it only while applying the log in order).
    revision_tx: watch::Sender<u64>,
    /// Cluster mode: the last log entry applied or skipped. Each entry moves the revision
    /// on by one, a batch entry by its number of changes: the two are counted apart.
    position_tx: watch::Sender<u64>,
    /// Chains `GetHistory` verified already (see [`history::VerifiedPrefixes`]).
    verified: history::VerifiedPrefixes,
    /// The revision up to which erasures are scrubbed from the directory's files (see
    /// `scrub`): an erasure is answered once this covers it.
    scrubbed_tx: watch::Sender<u64>,
}

impl Shared {
    /// A RocksDB error met while reading: damage is reported (health, metrics, log) with
    /// the file RocksDB names, then passed on.
    fn read_error(&self, e: rocksdb::Error) -> StorageError {
        if e.kind() == rocksdb::ErrorKind::Corruption {
            self.health.damage(e.as_ref());
        }
        StorageError::Db(e)
    }

    /// An undecodable stored value: reported like a checksum failure.
    fn undecodable(&self, detail: impl std::fmt::Display) -> StorageError {
        let detail = detail.to_string();
        self.health.damage(&detail);
        StorageError::Corrupt { path: self.path.display().to_string(), detail }
    }

    /// Why writes are refused now, if they are.
    fn write_refusal(&self) -> Option<StorageError> {
        match self.health.condition() {
            health::Condition::Healthy => None,
            c @ (health::Condition::DiskLow { .. } | health::Condition::DiskFull { .. }) => {
                Some(StorageError::DiskFull(c.refusal().unwrap_or_default()))
            }
            c @ health::Condition::WritesStopped { .. } => {
                Some(StorageError::WritesStopped(c.refusal().unwrap_or_default()))
            }
        }
    }

    fn cf(&self, name: &str) -> Result<&ColumnFamily, StorageError> {
        self.db.cf_handle(name).ok_or_else(|| StorageError::Corrupt {
            path: self.path.display().to_string(),
            detail: format!("column family `{name}` is missing"),
        })
    }

    fn catalog(&self) -> Arc<Catalog> {
        self.catalog.load_full()
    }
}

struct Inner {
    shared: Arc<Shared>,
    /// `Option` only so that `Drop` can close the queue before joining the writer.
    writer_tx: Option<mpsc::Sender<writer::Job>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    revision: watch::Receiver<u64>,
    /// Read on every call, replaced whole when a key changes.
    api_keys: ArcSwap<HashMap<String, ApiKey>>,
    /// Serializes admin writes (number assignment, read-modify-write of the catalog).
    /// A std Mutex: admin writes are synchronous and never hold it across an await.
    admin_lock: Mutex<()>,
    /// Purposes and topics per profile (see [`StoreOptions`]).
    quotas: (usize, usize),
    /// Told of every API key change, so open streams re-check their key.
    keys_changed: watch::Sender<()>,
    link_keys: ArcSwap<link::LinkKeys>,
    receipt_keys: ArcSwap<receipt::ReceiptKeys>,
    /// Cluster mode: what rotated link and receipt keys are derived from.
    cluster_secret: Option<replica::ClusterSecret>,
    /// Cluster mode: the replicated log every write goes through (see [`replica`]).
    log: std::sync::OnceLock<Arc<dyn replica::Log>>,
    /// Cluster mode: still applying what the log held when this node started.
    catching_up: std::sync::atomic::AtomicBool,
    /// Cluster mode: from the receiving node's stamp to this node's apply, per entry.
    apply_lag: replica::ApplyLag,
    /// Cluster mode: log entries skipped since start (see [`replica::SkippedEntries`]).
    skipped: replica::SkippedEntries,
    /// Bumped by every write of a webhook subscription, so deliveries follow them.
    webhooks_changed: watch::Sender<u64>,
    /// Cluster mode: encrypts webhook signing secrets (see [`webhook`]).
    webhook_key: Option<[u8; 32]>,
    /// Opt-outs received here, by how late they came (see [`late`]).
    opt_out_delays: late::OptOutDelays,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.writer_tx.take();
        let handle = match self.writer.lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some(h) = handle {
            // The writer finishes its group, then sees the closed queue and stops.
            if h.join().is_err() {
                tracing::error!("writer thread panicked");
            }
        }
    }
}

/// A handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.inner.shared.path).finish_non_exhaustive()
    }
}

/// Facts about opening a store, for the start-up log.
#[derive(Clone, Copy, Debug)]
pub struct OpenStats {
    pub contacts: usize,
    pub revision: u64,
    pub load_ms: u128,
}

impl Store {
    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    pub fn now_us(&self) -> i64 {
        (self.shared().clock)()
    }

    pub fn path(&self) -> &Path {
        &self.shared().path
    }

    /// The revision of the last committed change (visible to decisions).
    pub fn revision(&self) -> u64 {
        *self.inner.revision.borrow()
    }

    /// A receiver that sees every new revision; for the change feed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.revision.clone()
    }

    /// Cluster mode: the last log entry applied or skipped (where applying resumes).
    pub fn log_position(&self) -> u64 {
        *self.shared().position_tx.borrow()
    }

    /// Cluster mode: a receiver that sees every new log position.
    pub fn subscribe_log_position(&self) -> watch::Receiver<u64> {
        self.shared().position_tx.subscribe()
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        self.shared().catalog()
    }

    pub fn index(&self) -> &HotIndex {
        self.shared().keyed.index()
    }

    pub fn contact_key(&self, profile: &str, channel: Channel, contact_point: &str) -> ContactKey {
        self.shared().keyed.key(profile, channel, contact_point)
    }

    async fn submit<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StorageError>>) -> writer::Job,
    ) -> Result<T, StorageError> {
        let tx = self.inner.writer_tx.as_ref().ok_or(StorageError::Closed)?;
        let (reply_tx, reply_rx) = oneshot::channel();
        tx.send(make(reply_tx)).await.map_err(|_| StorageError::Closed)?;
        reply_rx.await.map_err(|_| StorageError::Closed)?
    }

    /// Records one consent change; answers once it is durable and visible.
    pub async fn set_consent(&self, change: ConsentChange) -> Result<ChangeResult, StorageError> {
        let opt_out = (change.status == Status::OptedOut).then_some((change.source, change.occurred_at_us));
        let result = match self.log() {
            Some(log) => self.submit_change(log.as_ref(), op::Op::Consent(change)).await,
            None => self.submit(|tx| writer::Job::Consent(Box::new(change), tx)).await,
        };
        if let (Some((source, occurred_us)), Ok(r)) = (opt_out, &result)
            && r.outcome == model::ChangeOutcome::Applied
            && !r.replayed
        {
            self.inner.opt_out_delays.record(source, self.now_us() - occurred_us);
        }
        result
    }

    pub async fn set_suppression(&self, change: SuppressionChange) -> Result<SuppressionResult, StorageError> {
        // A suppression added by a person (STOP, a complaint, an operator) is an opt-out too;
        // a hard bounce is not.
        let opt_out = (change.add && change.kind != SuppressionKind::HardBounce)
            .then_some((change.source, change.occurred_at_us));
        let result = match self.log() {
            Some(log) => self.submit_suppression(log.as_ref(), change).await,
            None => self.submit(|tx| writer::Job::Suppression(Box::new(change), tx)).await,
        };
        if let (Some((source, occurred_us)), Ok(r)) = (opt_out, &result)
            && r.applied
        {
            self.inner.opt_out_delays.record(source, self.now_us() - occurred_us);
        }
        result
    }

    /// Erases a contact point or records a number's reassignment, on one channel of one
    /// profile (see [`apply`]); an erasure answers once its old values are gone from the
    /// directory's files too.
    pub async fn set_life(&self, change: model::LifeChange) -> Result<SuppressionResult, StorageError> {
        let erase = change.event == model::LifeEvent::Erase;
        let result = match self.log() {
            Some(log) => self.submit_life(log.as_ref(), change).await,
            None => self.submit(|tx| writer::Job::Life(Box::new(change), tx)).await,
        }?;
        if erase {
            let mut scrubbed = self.shared().scrubbed_tx.subscribe();
            scrubbed.wait_for(|r| *r >= result.revision).await.map_err(|_| StorageError::Closed)?;
        }
        Ok(result)
    }

    /// How late opt-outs arrived at this node, per source (see [`late`]).
    pub fn opt_out_delays(&self) -> &late::OptOutDelays {
        &self.inner.opt_out_delays
    }

    /// Confirms a double opt-in token: checks signature and expiry here, then lets the
    /// writer check that the record still waits on it (single use).
    pub async fn confirm(&self, confirmation: Confirmation) -> Result<ChangeResult, StorageError> {
        let now = self.now_us().div_euclid(1_000_000);
        let claims = self.shared().token_key.verify(&confirmation.token, now)?;
        if let Some(log) = self.log() {
            return self.submit_change(log.as_ref(), op::Op::Confirm(confirmation, claims)).await;
        }
        self.submit(|tx| writer::Job::Confirm(Box::new((confirmation, claims)), tx)).await
    }

    /// The store's condition (writes allowed, disk low, stopped) and damage found.
    pub fn health(&self) -> &health::Health {
        &self.shared().health
    }

    /// Measures free disk space; writes are refused below the minimum and resume above it.
    /// After a real full disk, once space is back: a tiny synced write (a delete of a key
    /// nothing uses) tells whether RocksDB writes again, and writes resume when it does.
    pub fn check_space(&self) {
        let shared = self.shared();
        let free = shared.health.check_space(&shared.path);
        if !shared.health.is_disk_full() || free.is_none_or(|f| f < shared.health.disk_free_min_bytes()) {
            return;
        }
        let Ok(meta) = shared.cf(codec::CF_META) else { return };
        let mut probe = rocksdb::WriteBatch::default();
        probe.delete_cf(meta, DISK_PROBE_KEY);
        let mut wo = rocksdb::WriteOptions::default();
        wo.set_sync(true);
        match shared.db.write_opt(probe, &wo) {
            Ok(()) => shared.health.recovered(),
            Err(e) => tracing::debug!(error = %e, "the store does not write yet after a full disk"),
        }
    }

    /// A receiver that sees every API key change (creation, revocation).
    pub fn subscribe_keys(&self) -> watch::Receiver<()> {
        self.inner.keys_changed.subscribe()
    }

    /// Flushes memtables so a clean shutdown leaves nothing for WAL replay.
    pub fn flush(&self) -> Result<(), StorageError> {
        let s = self.shared();
        for name in ALL_CFS {
            s.db.flush_cf(s.cf(name)?)?;
        }
        Ok(())
    }
}

/// The store reads decisions through its keyed index.
impl StateSource for Store {
    type Key = ContactKey;

    #[inline]
    fn key(&self, profile: &str, channel: Channel, contact_point: &str) -> ContactKey {
        self.shared().keyed.key(profile, channel, contact_point)
    }

    #[inline]
    fn with_key<R>(&self, key: &ContactKey, f: impl FnOnce(Option<&ContactState>) -> R) -> R {
        self.shared().keyed.with_key(key, f)
    }

    #[inline]
    fn prefetch(&self, key: &ContactKey) {
        self.shared().keyed.prefetch(key);
    }
}
