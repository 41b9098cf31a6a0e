//! The durable store: RocksDB for everything, the hot index for decisions, one writer
//! thread that orders, group-commits and publishes every change.
//!
//! Owns: the key layout ([`codec`]), the ordering rules ([`apply`]), the history chain
//! ([`history`]), confirmation tokens ([`token`]) and the hot index ([`index`]). Must not
//! touch: gRPC or protobuf API types (those stay in `api`).
//!
//! Writes: callers hand a change to the writer through a bounded queue and wait for its
//! answer. The writer takes every queued change (up to `write_group_max`), applies them in
//! arrival order on an in-memory overlay, writes one RocksDB WriteBatch with a synced WAL
//! (one fsync for the whole group), then updates the hot index, publishes the new revision
//! and answers. So an answer means the change is on disk and visible to decisions.

pub mod apply;
pub mod codec;
pub mod config;
pub mod guard;
pub mod health;
pub mod history;
pub mod index;
pub mod model;
pub mod token;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use std::thread::JoinHandle;
use std::time::Instant;

use prost::Message;
use rand::RngCore;
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType, DBRecoveryMode, Direction,
    IteratorMode, Options, WriteOptions,
};
use tokio::sync::{mpsc, oneshot, watch};

use self::codec::{
    ALL_CFS, CF_CHANGES, CF_CONFIG, CF_HISTORY, CF_IDEM, CF_INDEX, CF_META, CF_STATE, ContactKey, EventBody,
    FORMAT_VERSION, META_CONTACT_KEY, META_FORMAT, META_REVISION, META_TOKEN_KEY, StoredApiKey, StoredContact,
    StoredEvent, StoredProfile, StoredPurpose, StoredTopic,
};
use self::history::ChainVerification;
use self::index::{HotIndex, KeyedIndex};
use self::model::{ChangeResult, Confirmation, ConsentChange, SuppressionChange, SuppressionResult};
use self::token::{TokenError, TokenKey};
use crate::decision::{Catalog, Channel, ContactState, Profile, Purpose, StateSource, Subject, Topic};

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
    pub fn new(clock: Clock) -> StoreOptions {
        StoreOptions::from_limits(clock, &crate::config::Limits::DEFAULT)
    }

    /// The store's share of the server's limits.
    pub fn from_limits(clock: Clock, l: &crate::config::Limits) -> StoreOptions {
        StoreOptions {
            write_queue_max: l.write_queue_max,
            write_group_max: l.write_group_max,
            block_cache_bytes: l.block_cache_bytes,
            purposes_per_profile_max: l.purposes_per_profile_max,
            topics_per_profile_max: l.topics_per_profile_max,
            disk_free_min_bytes: l.disk_free_min_bytes,
            clock,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("rocksdb: {0}")]
    Db(#[from] rocksdb::Error),
    #[error("data directory `{path}` cannot be used: {detail}")]
    Corrupt { path: String, detail: String },
    #[error("the store is shutting down")]
    Closed,
    #[error("idempotency key was used before with other content")]
    IdempotencyConflict,
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("confirmation token was used already, or its record was replaced by a newer change")]
    TokenUsed,
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("limit reached: {0}")]
    Limit(String),
    #[error("{0}")]
    Deactivated(String),
    #[error("invalid `occurred_at`: a confirmation cannot happen before the opt-in request it confirms")]
    ConfirmedBeforeRequest,
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    /// Writes are refused until the disk has room again (see [`health`]).
    #[error("{0}")]
    DiskFull(String),
    /// RocksDB stopped writing; a restart is needed.
    #[error("{0}")]
    WritesStopped(String),
}

/// What the writer thread shares with readers.
struct Shared {
    db: DB,
    path: PathBuf,
    /// The hot index and the contact-key secret.
    keyed: KeyedIndex,
    /// Read on every check, replaced whole by admin writes.
    catalog: ArcSwap<Catalog>,
    token_key: TokenKey,
    clock: Clock,
    health: health::Health,
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
    fn undecodable(&self, detail: String) -> StorageError {
        self.health.damage(&detail);
        StorageError::Corrupt { path: self.path.display().to_string(), detail }
    }

    /// Why writes are refused now, if they are.
    fn write_refusal(&self) -> Option<StorageError> {
        match self.health.condition() {
            health::Condition::Healthy => None,
            c @ health::Condition::DiskLow { .. } => Some(StorageError::DiskFull(c.refusal().unwrap_or_default())),
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
    api_keys: ArcSwap<HashMap<String, StoredApiKey>>,
    /// Serializes admin writes (number assignment, read-modify-write of the catalog).
    /// A std Mutex: admin writes are synchronous and never hold it across an await.
    admin_lock: Mutex<()>,
    /// Purposes and topics per profile (see [`StoreOptions`]).
    quotas: (usize, usize),
    /// Told of every API key change, so open streams re-check their key.
    keys_changed: watch::Sender<()>,
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

fn db_options(cache: &Cache, point_lookups: bool, compress: bool) -> Options {
    let mut opts = Options::default();
    let mut block = BlockBasedOptions::default();
    block.set_block_cache(cache);
    if point_lookups {
        // Most lookups of a new sender's contacts miss: a bloom filter answers them in memory.
        block.set_bloom_filter(10.0, false);
        block.set_cache_index_and_filter_blocks(true);
        block.set_pin_l0_filter_and_index_blocks_in_cache(true);
        // The same for the memtable: the writer's lookups of new contacts and unused
        // idempotency keys otherwise walk the skiplist (14% of writer CPU in a profile).
        opts.set_memtable_whole_key_filtering(true);
        opts.set_memtable_prefix_bloom_ratio(0.1);
    }
    opts.set_block_based_table_factory(&block);
    opts.set_compression_type(if compress { DBCompressionType::Lz4 } else { DBCompressionType::None });
    opts
}

impl Store {
    /// Opens (or creates) the store in `path` and loads the hot index. Refuses a directory
    /// it cannot read whole: it never serves decisions from partial state, and never
    /// re-initialises a store that existed (see [`guard`]).
    pub fn open(path: &Path, options: StoreOptions) -> Result<(Store, OpenStats), StorageError> {
        let started = Instant::now();
        let corrupt = |detail: String| StorageError::Corrupt { path: path.display().to_string(), detail };
        let dir_state = guard::inspect(path).map_err(corrupt)?;
        let (marker, copy) = match dir_state {
            guard::DirState::Fresh => (None, None),
            guard::DirState::Existing { marker } => {
                let copy = guard::PreOpenCopy::take(path, (options.clock)()).map_err(corrupt)?;
                (marker, Some(copy))
            }
        };
        // A refusal after RocksDB has run keeps the links, and says where they are.
        let refuse = |detail: String| match &copy {
            Some(c) => {
                corrupt(format!("{detail}; every file as it was before this start is kept in `{}`", c.path().display()))
            }
            None => corrupt(detail),
        };
        if copy.is_some() {
            let manifest = guard::current_manifest(path);
            let listed =
                DB::list_cf(&Options::default(), path).map_err(|e| refuse(format!("cannot read `{manifest}`: {e}")))?;
            if let Some(missing) = ALL_CFS.iter().find(|cf| !listed.iter().any(|l| l == *cf)) {
                return Err(refuse(format!(
                    "`{manifest}` does not list the column family `{missing}`: the MANIFEST is damaged \
                     (truncated?); refusing to open a partial store"
                )));
            }
        }
        let cache = Cache::new_lru_cache(options.block_cache_bytes);
        let mut db_opts = Options::default();
        // Only a fresh directory may become a new store.
        db_opts.create_if_missing(copy.is_none());
        db_opts.create_missing_column_families(copy.is_none());
        db_opts.set_paranoid_checks(true);
        // A torn last WAL record (power loss mid-write of an unacknowledged group) is
        // dropped; corruption anywhere else refuses to open rather than lose changes.
        db_opts.set_wal_recovery_mode(DBRecoveryMode::TolerateCorruptedTailRecords);
        // The MANIFEST records every WAL and its synced size: a deleted or cut WAL that
        // held acknowledged changes stops the open instead of being replayed short.
        db_opts.set_track_and_verify_wals_in_manifest(true);
        // Open every table file at start-up so a damaged one is found now, not mid-send.
        db_opts.set_max_open_files(-1);
        db_opts.increase_parallelism(2);
        let cfs = ALL_CFS.iter().map(|name| {
            let opts = match *name {
                CF_STATE | CF_INDEX | CF_IDEM => db_options(&cache, true, true),
                _ => db_options(&cache, false, true),
            };
            ColumnFamilyDescriptor::new(*name, opts)
        });
        let db = match DB::open_cf_descriptors(&db_opts, path, cfs) {
            Ok(db) => db,
            // Another process holds the directory: RocksDB touched nothing, keep no copy.
            Err(e) if e.to_string().contains("LOCK") => {
                if let Some(copy) = copy {
                    copy.release();
                }
                return Err(corrupt(format!("the directory is in use by another process: {e}")));
            }
            Err(e) => return Err(refuse(e.to_string())),
        };

        let meta = db.cf_handle(CF_META).ok_or_else(|| refuse("column family `meta` is missing".to_owned()))?;
        let (contact_secret, token_secret) = match db.get_cf(meta, META_FORMAT)? {
            Some(format) if format == FORMAT_VERSION => {
                let c =
                    db.get_cf(meta, META_CONTACT_KEY)?.ok_or_else(|| refuse("contact key is missing".to_owned()))?;
                let t = db.get_cf(meta, META_TOKEN_KEY)?.ok_or_else(|| refuse("token key is missing".to_owned()))?;
                let c = <[u8; 16]>::try_from(c.as_slice()).map_err(|_| refuse("contact key is damaged".to_owned()))?;
                let t = <[u8; 32]>::try_from(t.as_slice()).map_err(|_| refuse("token key is damaged".to_owned()))?;
                (c, t)
            }
            Some(other) => {
                return Err(refuse(format!("unknown format `{}`", String::from_utf8_lossy(&other))));
            }
            None if copy.is_some() => {
                return Err(refuse(format!(
                    "the store's metadata is missing although the directory held a store: `{}` or the \
                     write-ahead log is damaged",
                    guard::current_manifest(path)
                )));
            }
            None => {
                let mut rng = rand::rng();
                let mut c = [0u8; 16];
                let mut t = [0u8; 32];
                rng.fill_bytes(&mut c);
                rng.fill_bytes(&mut t);
                let mut batch = rocksdb::WriteBatch::default();
                batch.put_cf(meta, META_CONTACT_KEY, c);
                batch.put_cf(meta, META_TOKEN_KEY, t);
                batch.put_cf(meta, META_REVISION, 0u64.to_be_bytes());
                batch.put_cf(meta, META_FORMAT, FORMAT_VERSION);
                let mut wo = WriteOptions::default();
                wo.set_sync(true);
                db.write_opt(batch, &wo)?;
                (c, t)
            }
        };
        let revision = match db.get_cf(meta, META_REVISION)? {
            Some(v) => codec::decode_u64(&v).ok_or_else(|| refuse("revision is damaged".to_owned()))?,
            None => return Err(refuse("revision is missing".to_owned())),
        };
        if let Some(m) = marker
            && revision < m.revision
        {
            return Err(refuse(format!(
                "the store opened at revision {revision}, but revision {} was durable before: acknowledged \
                 changes are missing (a damaged `{}` or write-ahead log?)",
                m.revision,
                guard::current_manifest(path)
            )));
        }
        // The change feed must not run ahead of the stored revision.
        let changes =
            db.cf_handle(CF_CHANGES).ok_or_else(|| refuse("column family `changes` is missing".to_owned()))?;
        if let Some(last) = db.iterator_cf(changes, IteratorMode::End).next() {
            let (k, _) = last?;
            let last_rev = codec::decode_u64(&k).ok_or_else(|| refuse("change feed key is damaged".to_owned()))?;
            if last_rev > revision {
                return Err(refuse(format!(
                    "change feed reaches revision {last_rev} beyond stored revision {revision}"
                )));
            }
        }

        let (catalog, api_keys) = load_config(&db).map_err(refuse)?;
        let index = load_index(&db).map_err(refuse)?;
        let contacts = index.len();
        // Checked and loaded: record the revision, and drop the pre-open links.
        guard::write_marker(path, guard::Marker { revision })
            .map_err(|e| refuse(format!("cannot write `{}`: {e}", guard::MARKER_FILE)))?;
        let ack = guard::AckFile::open(path)
            .map_err(|e| refuse(format!("cannot open `{}` for writing: {e}", guard::MARKER_FILE)))?;
        if let Some(copy) = copy {
            copy.release();
        }

        let shared = Arc::new(Shared {
            db,
            path: path.to_owned(),
            keyed: KeyedIndex::new(contact_secret, index),
            catalog: ArcSwap::from_pointee(catalog),
            token_key: TokenKey { id: 1, secret: token_secret },
            clock: options.clock.clone(),
            health: health::Health::new(options.disk_free_min_bytes),
        });
        shared.health.check_space(path);
        let (tx, rx) = mpsc::channel(options.write_queue_max.max(1));
        let (rev_tx, rev_rx) = watch::channel(revision);
        let writer_shared = Arc::clone(&shared);
        let group_max = options.write_group_max.max(1);
        let handle = std::thread::Builder::new()
            .name("consentd-writer".to_owned())
            .spawn(move || writer::run(&writer_shared, rx, &rev_tx, ack, revision, group_max))
            .map_err(|e| corrupt(format!("cannot start the writer thread: {e}")))?;
        let store = Store {
            inner: Arc::new(Inner {
                shared,
                writer_tx: Some(tx),
                writer: Mutex::new(Some(handle)),
                revision: rev_rx,
                api_keys: ArcSwap::from_pointee(api_keys),
                admin_lock: Mutex::new(()),
                quotas: (options.purposes_per_profile_max, options.topics_per_profile_max),
                keys_changed: watch::Sender::new(()),
            }),
        };
        let stats = OpenStats { contacts, revision, load_ms: started.elapsed().as_millis() };
        Ok((store, stats))
    }

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
        self.submit(|tx| writer::Job::Consent(Box::new(change), tx)).await
    }

    pub async fn set_suppression(&self, change: SuppressionChange) -> Result<SuppressionResult, StorageError> {
        self.submit(|tx| writer::Job::Suppression(Box::new(change), tx)).await
    }

    /// Confirms a double opt-in token: checks signature and expiry here, then lets the
    /// writer check that the record still waits on it (single use).
    pub async fn confirm(&self, confirmation: Confirmation) -> Result<ChangeResult, StorageError> {
        let now = self.now_us().div_euclid(1_000_000);
        let claims = self.shared().token_key.verify(&confirmation.token, now)?;
        self.submit(|tx| writer::Job::Confirm(Box::new((confirmation, claims)), tx)).await
    }

    /// The profile of the contact point a valid token names (for access checks before
    /// confirming); `None` when the record no longer exists.
    pub fn token_profile(&self, token: &str) -> Result<Option<String>, StorageError> {
        let now = self.now_us().div_euclid(1_000_000);
        let claims = self.shared().token_key.verify(token, now)?;
        Ok(self.get_contact(&claims.contact)?.map(|c| c.profile_id))
    }

    pub fn get_contact(&self, key: &ContactKey) -> Result<Option<StoredContact>, StorageError> {
        let s = self.shared();
        match s.db.get_pinned_cf(s.cf(CF_STATE)?, key.0).map_err(|e| s.read_error(e))? {
            None => Ok(None),
            Some(bytes) => StoredContact::decode(bytes.as_ref())
                .map(Some)
                .map_err(|e| s.undecodable(format!("contact {} is undecodable: {e}", key.log_tag()))),
        }
    }

    /// History events of one contact point with `seq > after_seq`, at most `limit`.
    pub fn history(
        &self,
        key: &ContactKey,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<(EventBody, StoredEvent)>, StorageError> {
        let mut out = Vec::new();
        for item in self.history_iter(key, after_seq)? {
            if out.len() >= limit {
                break;
            }
            let (_, event) = item?;
            out.push((self.decode_body(&event.body)?, event));
        }
        Ok(out)
    }

    fn decode_body(&self, body: &[u8]) -> Result<EventBody, StorageError> {
        EventBody::decode(body).map_err(|e| self.shared().undecodable(format!("history event undecodable: {e}")))
    }

    fn history_iter(
        &self,
        key: &ContactKey,
        after_seq: u64,
    ) -> Result<impl Iterator<Item = Result<(u64, StoredEvent), StorageError>> + '_, StorageError> {
        let s = self.shared();
        let start = codec::history_key(key, after_seq.saturating_add(1));
        let prefix = key.0;
        let iter = s.db.iterator_cf(s.cf(CF_HISTORY)?, IteratorMode::From(&start, Direction::Forward));
        Ok(iter
            .map_while(move |item| match item {
                Ok((k, v)) if k.len() == 24 && k[..16] == prefix => Some(Ok((k, v))),
                Ok(_) => None,
                Err(e) => Some(Err(s.read_error(e))),
            })
            .map(|item| {
                let (k, v) = item?;
                let seq = codec::decode_u64(&k[16..]).unwrap_or(0);
                let event = StoredEvent::decode(v.as_ref())
                    .map_err(|e| s.undecodable(format!("history event {seq} undecodable: {e}")))?;
                Ok((seq, event))
            }))
    }

    /// Verifies the whole hash chain of one contact point against its stored head.
    pub fn verify_history(&self, key: &ContactKey) -> Result<ChainVerification, StorageError> {
        let (len, head) = match self.get_contact(key)? {
            Some(c) => (c.history_len, c.last_hash),
            None => (0, Vec::new()),
        };
        let mut events = Vec::new();
        for item in self.history_iter(key, 0)? {
            match item {
                Ok(e) => events.push(e),
                Err(StorageError::Corrupt { detail, .. }) => {
                    return Ok(ChainVerification {
                        intact: false,
                        events_checked: events.len() as u64,
                        first_broken_seq: events.len() as u64 + 1,
                        detail,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Ok(history::verify_chain(events, len, &head))
    }

    /// Applied changes with a revision greater than `after`, in revision order, at most `limit`.
    pub fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<(u64, EventBody, StoredEvent)>, StorageError> {
        let s = self.shared();
        let start = codec::revision_key(after.saturating_add(1));
        let mut out = Vec::new();
        for item in s.db.iterator_cf(s.cf(CF_CHANGES)?, IteratorMode::From(&start, Direction::Forward)) {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item.map_err(|e| s.read_error(e))?;
            let bad = || s.undecodable("change feed entry is damaged".to_owned());
            let rev = codec::decode_u64(&k).ok_or_else(bad)?;
            let hist = s.db.get_pinned_cf(s.cf(CF_HISTORY)?, &*v).map_err(|e| s.read_error(e))?.ok_or_else(bad)?;
            let event = StoredEvent::decode(hist.as_ref()).map_err(|_| bad())?;
            out.push((rev, self.decode_body(&event.body)?, event));
        }
        Ok(out)
    }

    /// Every stored contact point, in key order, for export.
    pub fn for_each_contact(&self, mut f: impl FnMut(StoredContact) -> bool) -> Result<(), StorageError> {
        let s = self.shared();
        for item in s.db.iterator_cf(s.cf(CF_STATE)?, IteratorMode::Start) {
            let (_, v) = item.map_err(|e| s.read_error(e))?;
            let contact =
                StoredContact::decode(v.as_ref()).map_err(|e| s.undecodable(format!("contact undecodable: {e}")))?;
            if !f(contact) {
                break;
            }
        }
        Ok(())
    }

    // ---- configuration -------------------------------------------------------------

    fn admin_guard(&self) -> std::sync::MutexGuard<'_, ()> {
        match self.inner.admin_lock.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn write_config(&self, key: Vec<u8>, value: Vec<u8>, catalog: Option<Catalog>) -> Result<(), StorageError> {
        let s = self.shared();
        if let Some(refusal) = s.write_refusal() {
            return Err(refusal);
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        let mut batch = rocksdb::WriteBatch::default();
        batch.put_cf(s.cf(CF_CONFIG)?, key, value);
        s.db.write_opt(batch, &wo)?;
        if let Some(catalog) = catalog {
            s.catalog.store(Arc::new(catalog));
        }
        Ok(())
    }

    /// Creates (`create`) or replaces a profile.
    pub fn put_profile(&self, profile: Profile, create: bool) -> Result<Profile, StorageError> {
        let _guard = self.admin_guard();
        self.put_profile_locked(profile, create)
    }

    /// [`Store::put_profile`] with the admin lock already held.
    fn put_profile_locked(&self, mut profile: Profile, create: bool) -> Result<Profile, StorageError> {
        let mut catalog = (*self.catalog()).clone();
        let now = self.now_us().div_euclid(1_000_000);
        match (catalog.profile(&profile.id), create) {
            (Some(_), true) => return Err(StorageError::AlreadyExists(format!("profile `{}`", profile.id))),
            (None, false) => return Err(StorageError::NotFound(format!("profile `{}`", profile.id))),
            (Some(old), false) => profile.created_at = old.created_at,
            (None, true) => profile.created_at = now,
        }
        profile.updated_at = now;
        catalog.insert_profile(profile.clone());
        let value = StoredProfile::from(&profile).encode_to_vec();
        self.write_config(config::profile_key(&profile.id), value, Some(catalog))?;
        Ok(profile)
    }

    /// Creates (`create`: a new number is assigned) or replaces a purpose.
    pub fn put_purpose(&self, purpose: Purpose, create: bool) -> Result<Purpose, StorageError> {
        let _guard = self.admin_guard();
        self.put_purpose_locked(purpose, create)
    }

    /// [`Store::put_purpose`] with the admin lock already held.
    fn put_purpose_locked(&self, mut purpose: Purpose, create: bool) -> Result<Purpose, StorageError> {
        let mut catalog = (*self.catalog()).clone();
        if catalog.profile(&purpose.profile_id).is_none() {
            return Err(StorageError::NotFound(format!("profile `{}`", purpose.profile_id)));
        }
        let now = self.now_us().div_euclid(1_000_000);
        match (catalog.purpose(&purpose.profile_id, &purpose.id), create) {
            (Some(_), true) => return Err(StorageError::AlreadyExists(format!("purpose `{}`", purpose.id))),
            (None, false) => return Err(StorageError::NotFound(format!("purpose `{}`", purpose.id))),
            (Some(old), false) => {
                purpose.no = old.no;
                purpose.created_at = old.created_at;
            }
            (None, true) => {
                let max = self.inner.quotas.0;
                if catalog.purposes_of(&purpose.profile_id).count() >= max {
                    return Err(StorageError::Limit(format!(
                        "profile `{}` has {max} purposes, the most one profile may have",
                        purpose.profile_id
                    )));
                }
                let next = catalog.max_numbers().0 + 1;
                if next > Subject::PURPOSE_NO_MAX {
                    return Err(StorageError::Limit(format!(
                        "at most {} purposes per server",
                        Subject::PURPOSE_NO_MAX
                    )));
                }
                purpose.no = next;
                purpose.created_at = now;
            }
        }
        purpose.updated_at = now;
        catalog.insert_purpose(purpose.clone());
        let value = StoredPurpose::from(&purpose).encode_to_vec();
        self.write_config(config::purpose_key(&purpose.profile_id, &purpose.id), value, Some(catalog))?;
        Ok(purpose)
    }

    /// Creates (`create`: a new number is assigned) or replaces a topic.
    pub fn put_topic(&self, topic: Topic, create: bool) -> Result<Topic, StorageError> {
        let _guard = self.admin_guard();
        self.put_topic_locked(topic, create)
    }

    /// [`Store::put_topic`] with the admin lock already held.
    fn put_topic_locked(&self, mut topic: Topic, create: bool) -> Result<Topic, StorageError> {
        let mut catalog = (*self.catalog()).clone();
        if catalog.purpose(&topic.profile_id, &topic.purpose_id).is_none() {
            return Err(StorageError::NotFound(format!("purpose `{}`", topic.purpose_id)));
        }
        let now = self.now_us().div_euclid(1_000_000);
        match (catalog.topic(&topic.profile_id, &topic.purpose_id, &topic.id), create) {
            (Some(_), true) => return Err(StorageError::AlreadyExists(format!("topic `{}`", topic.id))),
            (None, false) => return Err(StorageError::NotFound(format!("topic `{}`", topic.id))),
            (Some(old), false) => {
                topic.no = old.no;
                topic.created_at = old.created_at;
            }
            (None, true) => {
                let quota = self.inner.quotas.1;
                let used = catalog.topics().filter(|t| t.profile_id == topic.profile_id).count();
                if used >= quota {
                    return Err(StorageError::Limit(format!(
                        "profile `{}` has {quota} topics, the most one profile may have",
                        topic.profile_id
                    )));
                }
                let max = catalog.max_numbers().1;
                topic.no = max.checked_add(1).ok_or_else(|| {
                    StorageError::Limit(format!("at most {} topics per server", Subject::TOPIC_NO_MAX))
                })?;
                topic.created_at = now;
            }
        }
        topic.updated_at = now;
        catalog.insert_topic(topic.clone());
        let value = StoredTopic::from(&topic).encode_to_vec();
        self.write_config(config::topic_key(&topic.profile_id, &topic.purpose_id, &topic.id), value, Some(catalog))?;
        Ok(topic)
    }

    /// Changes a stored profile in place: read, `change` and write happen under the admin
    /// lock, so two concurrent updates of different fields both land.
    pub fn update_profile(&self, id: &str, change: impl FnOnce(&mut Profile)) -> Result<Profile, StorageError> {
        let _guard = self.admin_guard();
        let mut current =
            self.catalog().profile(id).cloned().ok_or_else(|| StorageError::NotFound(format!("profile `{id}`")))?;
        change(&mut current);
        self.put_profile_locked(current, false)
    }

    /// Changes a stored purpose in place, like [`Store::update_profile`].
    pub fn update_purpose(
        &self,
        profile: &str,
        id: &str,
        change: impl FnOnce(&mut Purpose),
    ) -> Result<Purpose, StorageError> {
        let _guard = self.admin_guard();
        let mut current = self
            .catalog()
            .purpose(profile, id)
            .cloned()
            .ok_or_else(|| StorageError::NotFound(format!("purpose `{id}`")))?;
        change(&mut current);
        self.put_purpose_locked(current, false)
    }

    /// Changes a stored topic in place, like [`Store::update_profile`].
    pub fn update_topic(
        &self,
        profile: &str,
        purpose: &str,
        id: &str,
        change: impl FnOnce(&mut Topic),
    ) -> Result<Topic, StorageError> {
        let _guard = self.admin_guard();
        let mut current = self
            .catalog()
            .topic(profile, purpose, id)
            .cloned()
            .ok_or_else(|| StorageError::NotFound(format!("topic `{id}`")))?;
        change(&mut current);
        self.put_topic_locked(current, false)
    }

    /// Changes a stored API key in place (revocation), like [`Store::update_profile`].
    pub fn update_api_key(
        &self,
        key_id: &str,
        change: impl FnOnce(&mut StoredApiKey),
    ) -> Result<StoredApiKey, StorageError> {
        let _guard = self.admin_guard();
        let mut key = self
            .api_keys()
            .get(key_id)
            .cloned()
            .ok_or_else(|| StorageError::NotFound(format!("API key `{key_id}`")))?;
        change(&mut key);
        self.put_api_key_locked(key.clone())?;
        Ok(key)
    }

    pub fn api_keys(&self) -> Arc<HashMap<String, StoredApiKey>> {
        self.inner.api_keys.load_full()
    }

    /// Stores an API key (new or revoked).
    pub fn put_api_key(&self, key: StoredApiKey) -> Result<(), StorageError> {
        let _guard = self.admin_guard();
        self.put_api_key_locked(key)
    }

    fn put_api_key_locked(&self, key: StoredApiKey) -> Result<(), StorageError> {
        let mut keys = (*self.api_keys()).clone();
        self.write_config(config::api_key_key(&key.key_id), key.encode_to_vec(), None)?;
        keys.insert(key.key_id.clone(), key);
        self.inner.api_keys.store(Arc::new(keys));
        self.inner.keys_changed.send_replace(());
        Ok(())
    }

    /// The store's condition (writes allowed, disk low, stopped) and damage found.
    pub fn health(&self) -> &health::Health {
        &self.shared().health
    }

    /// Measures free disk space; writes are refused below the minimum and resume above it.
    pub fn check_space(&self) {
        self.shared().health.check_space(&self.shared().path);
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

impl StateSource for Store {
    #[inline]
    fn with_state<R>(
        &self,
        profile: &str,
        channel: Channel,
        contact_point: &str,
        f: impl FnOnce(Option<&ContactState>) -> R,
    ) -> R {
        self.shared().keyed.with_state(profile, channel, contact_point, f)
    }
}

fn load_config(db: &DB) -> Result<(Catalog, HashMap<String, StoredApiKey>), String> {
    let cf = db.cf_handle(CF_CONFIG).ok_or("column family `config` is missing")?;
    let mut catalog = Catalog::default();
    let mut keys = HashMap::new();
    for item in db.iterator_cf(cf, IteratorMode::Start) {
        let (k, v) = item.map_err(|e| format!("reading configuration: {e}"))?;
        let name = String::from_utf8_lossy(&k).into_owned();
        let bad = |e: String| format!("configuration entry `{name}` is damaged: {e}");
        if name.starts_with("profile/") {
            let p = StoredProfile::decode(v.as_ref()).map_err(|e| bad(e.to_string()))?;
            catalog.insert_profile(Profile::from(&p));
        } else if name.starts_with("purpose/") {
            let p = StoredPurpose::decode(v.as_ref()).map_err(|e| bad(e.to_string()))?;
            catalog.insert_purpose(Purpose::try_from(&p).map_err(bad)?);
        } else if name.starts_with("topic/") {
            let t = StoredTopic::decode(v.as_ref()).map_err(|e| bad(e.to_string()))?;
            catalog.insert_topic(Topic::try_from(&t).map_err(bad)?);
        } else if name.starts_with("apikey/") {
            let key = StoredApiKey::decode(v.as_ref()).map_err(|e| bad(e.to_string()))?;
            keys.insert(key.key_id.clone(), key);
        } else {
            return Err(bad("unknown entry".to_owned()));
        }
    }
    Ok((catalog, keys))
}

fn load_index(db: &DB) -> Result<HotIndex, String> {
    let cf = db.cf_handle(CF_INDEX).ok_or("column family `index` is missing")?;
    // The estimate sizes the table once instead of rehashing it repeatedly while loading.
    let estimate = db
        .property_int_value_cf(cf, "rocksdb.estimate-num-keys")
        .ok()
        .flatten()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let index = HotIndex::with_capacity(estimate);
    for item in db.iterator_cf(cf, IteratorMode::Start) {
        let (k, v) = item.map_err(|e| format!("reading the index: {e}"))?;
        let key = ContactKey::from_slice(&k).ok_or("index key is damaged")?;
        let state = codec::decode_index_entry(&v).ok_or_else(|| format!("index entry {} is damaged", key.log_tag()))?;
        index.put(key, state);
    }
    Ok(index)
}
