//! Opening a store: the guard checks of the data directory (see [`super::guard`]), RocksDB's
//! options, first-time bootstrap (secrets, format marker), the consistency checks, and
//! loading the catalog, the API keys and the hot index before anything is served.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use prost::Message;
use rand::Rng;
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, DBCompressionType, DBRecoveryMode, IteratorMode, Options,
    WriteOptions,
};
use tokio::sync::{mpsc, watch};

use super::codec::{
    self, ALL_CFS, CF_CHANGES, CF_CONFIG, CF_IDEM, CF_INDEX, CF_META, CF_STATE, ContactKey, FORMAT_VERSION,
    FORMAT_VERSION_1, FORMAT_VERSION_2, FORMAT_VERSION_3, META_CONTACT_KEY, META_FORMAT, META_LINK_KEY_PREFIX,
    META_LOG_POSITION, META_REVISION, META_TOKEN_KEY,
};
use super::index::{HotIndex, KeyedIndex, SHARDS};
use super::link::{LinkKey, LinkKeys};
use super::link::{link_key_name, new_link_key};
use super::token::TokenKey;
use super::view::ApiKey;
use super::{Damage, Inner, OpenStats, Shared, StorageError, Store, StoreOptions, guard, health, writer};
use consentd_core::decision::Catalog;

/// How a start refused because another process holds the directory begins its message.
const IN_USE: &str = "the directory is in use by another process";

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
        let dir_lock = guard::lock(path).map_err(|d| corrupt(d.0))?;
        let mut dir_state = guard::inspect(path).map_err(|d| corrupt(d.0))?;
        if let guard::DirState::Unfinished = dir_state {
            let removed = guard::discard_unfinished(path).map_err(|d| corrupt(d.0))?;
            tracing::warn!(
                removed = removed.join(", "),
                "the first start of this directory was cut short before the store was complete (nothing in it \
                 was acknowledged): creating it again"
            );
            dir_state = guard::DirState::Fresh;
        }
        let (marker, copy) = match dir_state {
            guard::DirState::Fresh | guard::DirState::Unfinished => {
                guard::begin_creation(path)
                    .map_err(|e| corrupt(format!("cannot write `{}`: {e}", guard::CREATING_FILE)))?;
                (None, None)
            }
            guard::DirState::Existing { marker, resume: Some(copy) } => {
                tracing::warn!(
                    kept = %copy.path().display(),
                    "an earlier start was interrupted (killed, or stopped for a full disk) before it served: resuming it"
                );
                (marker, Some(copy))
            }
            guard::DirState::Existing { marker, resume: None } => {
                let copy = guard::PreOpenCopy::take(path, (options.clock)()).map_err(|d| corrupt(d.0))?;
                (marker, Some(copy))
            }
        };
        // The store holds the lock from here (a second descriptor of the same lock); this
        // one keeps it until the copy is marked, even when the open fails.
        let store_lock = dir_lock.try_clone().map_err(|e| corrupt(format!("cannot hold the directory's lock: {e}")))?;
        match Store::open_guarded(path, options, started, marker, copy.as_ref(), store_lock) {
            Ok(opened) => {
                if let Some(copy) = copy {
                    copy.release();
                }
                if let Err(e) = guard::end_creation(path) {
                    tracing::warn!(error = %e, "cannot remove `{}`", guard::CREATING_FILE);
                }
                Ok(opened)
            }
            Err(e) => {
                let text = e.to_string();
                match copy {
                    // A full disk passes by itself, and RocksDB's lock taken by a process
                    // that is not consentd touched nothing: the next start resumes.
                    Some(_) if guard::is_transient(&text) || text.contains(IN_USE) => {}
                    Some(copy) => copy.refused(&text),
                    None => {}
                }
                if guard::is_transient(&text) {
                    return Err(corrupt(format!(
                        "the disk is full ({text}); nothing is damaged: start again once there is space, and the \
                         start resumes"
                    )));
                }
                Err(e)
            }
        }
    }

    /// The open proper, once the guard has looked at the directory: `copy` is the pre-open
    /// copy of an existing store (`None`: a new store is created).
    fn open_guarded(
        path: &Path,
        options: StoreOptions,
        started: Instant,
        marker: Option<guard::Marker>,
        copy: Option<&guard::PreOpenCopy>,
        dir_lock: std::fs::File,
    ) -> Result<(Store, OpenStats), StorageError> {
        let corrupt = |detail: String| StorageError::Corrupt { path: path.display().to_string(), detail };
        // A refusal after RocksDB has run keeps the links, and says where they are.
        let refuse = |detail: String| match copy {
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
            // Another process holds RocksDB's lock: RocksDB touched nothing.
            Err(e) if e.to_string().contains("LOCK") => return Err(corrupt(format!("{IN_USE}: {e}"))),
            Err(e) => return Err(refuse(e.to_string())),
        };

        let meta = db.cf_handle(CF_META).ok_or_else(|| refuse("column family `meta` is missing".to_owned()))?;
        let (contact_secret, token_secret) = match db.get_cf(meta, META_FORMAT)? {
            Some(format)
                if [FORMAT_VERSION, FORMAT_VERSION_3, FORMAT_VERSION_2, FORMAT_VERSION_1]
                    .contains(&format.as_slice()) =>
            {
                let stored = (db.get_cf(meta, META_CONTACT_KEY)?, db.get_cf(meta, META_TOKEN_KEY)?);
                let (c, t) = match (stored, &options.cluster_secret) {
                    ((Some(c), Some(t)), _) => (c, t),
                    // A cluster snapshot carries no keys (see `Store::checkpoint`): every node
                    // derives them from the cluster secret.
                    ((None, None), Some(cluster)) => {
                        let (c, t) = (cluster.contact_key(), cluster.token_key());
                        let mut batch = rocksdb::WriteBatch::default();
                        batch.put_cf(meta, META_CONTACT_KEY, c);
                        batch.put_cf(meta, META_TOKEN_KEY, t);
                        let mut wo = WriteOptions::default();
                        wo.set_sync(true);
                        db.write_opt(batch, &wo)?;
                        (c.to_vec(), t.to_vec())
                    }
                    ((None, _), _) => return Err(refuse("contact key is missing".to_owned())),
                    ((_, None), _) => return Err(refuse("token key is missing".to_owned())),
                };
                let c = <[u8; 16]>::try_from(c.as_slice()).map_err(|_| refuse("contact key is damaged".to_owned()))?;
                let t = <[u8; 32]>::try_from(t.as_slice()).map_err(|_| refuse("token key is damaged".to_owned()))?;
                if let Some(cluster) = &options.cluster_secret
                    && (cluster.contact_key() != c || cluster.token_key() != t)
                {
                    return Err(refuse(
                        "its secrets are not the cluster's: it was made standalone or with another cluster \
                         secret (start it with the secret it was made with, or give the node an empty \
                         directory)"
                            .to_owned(),
                    ));
                }
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
                let (c, t) = match &options.cluster_secret {
                    // Every node of a cluster derives the same secrets: the same contact keys,
                    // hash chains and confirmation tokens on every replica.
                    Some(cluster) => (cluster.contact_key(), cluster.token_key()),
                    None => {
                        let mut rng = rand::rng();
                        let mut c = [0u8; 16];
                        let mut t = [0u8; 32];
                        rng.fill_bytes(&mut c);
                        rng.fill_bytes(&mut t);
                        (c, t)
                    }
                };
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
        // Before batch entries every log entry took one revision, so a store without its
        // own position was at the position of its revision. Such a store (`consentd-1`) is
        // upgraded now, with its position, so that an earlier release refuses it from now
        // on instead of reading a revision as a position.
        let position = match db.get_cf(meta, META_LOG_POSITION)? {
            Some(v) => codec::decode_u64(&v).ok_or_else(|| refuse("log position is damaged".to_owned()))?,
            None => revision,
        };
        if db.get_cf(meta, META_FORMAT)?.as_deref() != Some(FORMAT_VERSION) {
            // Before `consentd-4` index entries had no origin: rewrite them all from `state`
            // first, so that a crash before the new format is stored redoes the rewrite.
            let started = Instant::now();
            let rewritten = rebuild_index(&db).map_err(|d| refuse(d.0))?;
            tracing::info!(
                contacts = rewritten,
                ms = started.elapsed().as_millis() as u64,
                "upgraded the store's format: rebuilt the index family with each entry's profile and channel"
            );
            let mut batch = rocksdb::WriteBatch::default();
            batch.put_cf(meta, META_LOG_POSITION, position.to_be_bytes());
            batch.put_cf(meta, META_FORMAT, FORMAT_VERSION);
            let mut wo = WriteOptions::default();
            wo.set_sync(true);
            db.write_opt(batch, &wo).map_err(|e| refuse(format!("cannot upgrade the store's format: {e}")))?;
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

        let (catalog, api_keys) = load_config(&db).map_err(|d| refuse(d.0))?;
        // A directory from before the catalog kept its history starts it now.
        super::past::seed_catalog_history(&db).map_err(refuse)?;
        let link_keys = load_link_keys(&db, options.cluster_secret.as_ref()).map_err(|d| refuse(d.0))?;
        let receipt_keys = super::receipt::load(&db, options.cluster_secret.as_ref()).map_err(refuse)?;
        let scrubbed = super::scrub::finish_pending(&db).map_err(refuse)?;
        if scrubbed > 0 {
            tracing::info!(
                contacts = scrubbed,
                "removed erased data an interrupted erasure left in the directory's files"
            );
        }
        let index = load_index(&db).map_err(|d| refuse(d.0))?;
        let contacts = index.len();
        // Checked and loaded: record the revision, and drop the pre-open links. In cluster
        // mode log entries are applied without a WAL sync, so the WAL is synced first: the
        // marker must never name a revision the disk may not hold.
        db.flush_wal(true).map_err(|e| refuse(format!("cannot sync the write-ahead log: {e}")))?;
        guard::write_marker(path, guard::Marker { revision })
            .map_err(|e| refuse(format!("cannot write `{}`: {e}", guard::MARKER_FILE)))?;
        let ack = guard::AckFile::open(path)
            .map_err(|e| refuse(format!("cannot open `{}` for writing: {e}", guard::MARKER_FILE)))?;
        let shared = Arc::new(Shared {
            db,
            _dir_lock: dir_lock,
            path: path.to_owned(),
            keyed: KeyedIndex::new(contact_secret, index),
            catalog: ArcSwap::from_pointee(catalog),
            token_key: TokenKey { id: 1, secret: token_secret },
            clock: options.clock.clone(),
            health: health::Health::new(options.disk_free_min_bytes),
            revision_tx: watch::Sender::new(revision),
            position_tx: watch::Sender::new(position),
            verified: super::history::VerifiedPrefixes::default(),
            scrubbed_tx: watch::Sender::new(revision),
        });
        shared.health.check_space(path);
        let (tx, rx) = mpsc::channel(options.write_queue_max.max(1));
        let rev_rx = shared.revision_tx.subscribe();
        let writer_shared = Arc::clone(&shared);
        let group_max = options.write_group_max.max(1);
        let handle = std::thread::Builder::new()
            .name("consentd-writer".to_owned())
            .spawn(move || writer::run(&writer_shared, rx, ack, group_max))
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
                link_keys: ArcSwap::from_pointee(link_keys),
                receipt_keys: ArcSwap::from_pointee(receipt_keys),
                log: std::sync::OnceLock::new(),
                catching_up: std::sync::atomic::AtomicBool::new(false),
                apply_lag: super::replica::ApplyLag::default(),
                skipped: super::replica::SkippedEntries::default(),
                webhooks_changed: watch::Sender::new(0),
                webhook_key: options.cluster_secret.as_ref().map(|c| c.webhook_key()),
                cluster_secret: options.cluster_secret.clone(),
                opt_out_delays: super::late::OptOutDelays::default(),
            }),
        };
        let stats = OpenStats { contacts, revision, load_ms: started.elapsed().as_millis() };
        Ok((store, stats))
    }
}

fn load_config(db: &DB) -> Result<(Catalog, HashMap<String, ApiKey>), Damage> {
    let cf = db.cf_handle(CF_CONFIG).ok_or("column family `config` is missing")?;
    let mut catalog = Catalog::default();
    let mut keys = HashMap::new();
    for item in db.iterator_cf(cf, IteratorMode::Start) {
        let (k, v) = item.map_err(|e| format!("reading configuration: {e}"))?;
        super::config::add_config_entry(&mut catalog, Some(&mut keys), &k, &v)?;
    }
    Ok((catalog, keys))
}

/// Loads the `index` family on several threads at once: shards follow key order, so each
/// thread reads one key range and fills whole shards, each sized to its exact count.
fn load_index(db: &DB) -> Result<HotIndex, Damage> {
    let cf = db.cf_handle(CF_INDEX).ok_or("column family `index` is missing")?;
    let index = HotIndex::default();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, LOAD_THREADS_MAX);
    let per_thread = SHARDS.div_ceil(threads);
    let results: Vec<Result<(), Damage>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..SHARDS)
            .step_by(per_thread)
            .map(|first| {
                let (index, cf) = (&index, &cf);
                scope.spawn(move || load_shards(db, cf, index, first..(first + per_thread).min(SHARDS)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Damage::new("a loader thread panicked".to_owned()))))
            .collect()
    });
    results.into_iter().collect::<Result<Vec<()>, Damage>>()?;
    Ok(index)
}

/// Rewrites the whole `index` family from `state` (every entry with its origin), in
/// unsynced batches: the caller stores the new format, synced, only after it returns.
fn rebuild_index(db: &DB) -> Result<usize, Damage> {
    let state_cf = db.cf_handle(CF_STATE).ok_or("column family `state` is missing")?;
    let index_cf = db.cf_handle(CF_INDEX).ok_or("column family `index` is missing")?;
    let write = |batch: rocksdb::WriteBatch| db.write(batch).map_err(|e| Damage(format!("rewriting the index: {e}")));
    // Entries without a state behind them cannot exist, but a rebuild leaves none either way.
    let mut batch = rocksdb::WriteBatch::default();
    batch.delete_range_cf(index_cf, &[0u8; 16][..], &[0xffu8; 17][..]);
    write(std::mem::take(&mut batch))?;
    let mut read = rocksdb::ReadOptions::default();
    read.fill_cache(false);
    let mut iter = db.raw_iterator_cf_opt(state_cf, read);
    iter.seek_to_first();
    let mut count = 0;
    while let (Some(k), Some(v)) = (iter.key(), iter.value()) {
        let key = ContactKey::from_slice(k).ok_or("state key is damaged")?;
        let contact = codec::StoredContact::decode(v)
            .map_err(|e| Damage(format!("state entry {} is damaged: {e}", key.log_tag())))?;
        let origin = super::view::origin_of(&contact)
            .ok_or_else(|| Damage(format!("state entry {} has an unknown channel", key.log_tag())))?;
        let state = super::apply::index_state(&contact);
        if !state.is_empty() {
            batch.put_cf(index_cf, k, codec::encode_index_entry(&state, origin));
            count += 1;
        }
        if batch.len() >= 10_000 {
            write(std::mem::take(&mut batch))?;
        }
        iter.next();
    }
    iter.status().map_err(|e| format!("reading the state: {e}"))?;
    write(batch)?;
    Ok(count)
}

/// Start-up readers of the index family; more than cores gains nothing.
const LOAD_THREADS_MAX: usize = 8;

/// Reads the keys of `shards` (one key range) and fills each shard from them. A raw
/// iterator: the boxed iterator allocates a key and a value per entry.
fn load_shards(
    db: &DB,
    cf: &impl rocksdb::AsColumnFamilyRef,
    index: &HotIndex,
    shards: std::ops::Range<usize>,
) -> Result<(), Damage> {
    let mut read = rocksdb::ReadOptions::default();
    // A one-time scan: keep the block cache for the blocks that serve requests.
    read.fill_cache(false);
    read.set_readahead_size(4 << 20);
    if shards.end < SHARDS {
        read.set_iterate_upper_bound(HotIndex::first_key_of(shards.end).0.to_vec());
    }
    let mut iter = db.raw_iterator_cf_opt(cf, read);
    iter.seek(HotIndex::first_key_of(shards.start).0);
    let mut shard = shards.start;
    let mut entries = Vec::new();
    while let (Some(k), Some(v)) = (iter.key(), iter.value()) {
        let key = ContactKey::from_slice(k).ok_or("index key is damaged")?;
        let (state, origin) =
            codec::decode_index_entry(v).ok_or_else(|| format!("index entry {} is damaged", key.log_tag()))?;
        let of = HotIndex::shard_of(&key);
        if of != shard {
            index.fill_shard(shard, std::mem::take(&mut entries));
            shard = of;
        }
        entries.push((key, origin, state));
        iter.next();
    }
    iter.status().map_err(|e| format!("reading the index: {e}"))?;
    index.fill_shard(shard, entries);
    Ok(())
}

/// Every link key of the store; a store without one (new, or made before links existed)
/// gets its first (derived from the cluster secret, or a new random one). A key stored
/// without its secret (a cluster's rotated key, or any key of a restored snapshot) is
/// derived from the cluster secret.
fn load_link_keys(db: &DB, cluster: Option<&super::replica::ClusterSecret>) -> Result<LinkKeys, Damage> {
    let meta = db.cf_handle(CF_META).ok_or("column family `meta` is missing")?;
    let mut keys = Vec::new();
    for item in db.prefix_iterator_cf(meta, META_LINK_KEY_PREFIX) {
        let (k, v) = item.map_err(|e| Damage(format!("reading link keys: {e}")))?;
        let Some(id) = k.strip_prefix(META_LINK_KEY_PREFIX) else { break };
        let &[id] = id else {
            return Err(Damage(format!("link key `{}` is damaged", String::from_utf8_lossy(&k))));
        };
        let secret = codec::stored_key(&k, &v, cluster.map(|c| move || c.link_key_of(id))).map_err(Damage)?;
        keys.push(LinkKey { id, secret });
    }
    if keys.is_empty() {
        let key = cluster.map(|c| LinkKey { id: 1, secret: c.link_key() }).unwrap_or_else(|| new_link_key(1));
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        db.put_cf_opt(meta, link_key_name(1), key.secret, &wo)
            .map_err(|e| Damage(format!("cannot store a link key: {e}")))?;
        keys.push(key);
    }
    LinkKeys::new(keys).ok_or_else(|| Damage::new("no link key"))
}
