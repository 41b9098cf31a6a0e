//! Snapshots of a node's store in a JetStream object store, so that a new node starts from
//! the newest snapshot and replays only the log's tail, and the log can be trimmed.
//!
//! A snapshot is a RocksDB checkpoint packed as a flat archive (per file: name length
//! (u16), name, size (u64), bytes; big-endian), stored as object `snapshot` in bucket
//! `<stream>-snapshots` with its revision in the object's metadata. Any node may take one
//! when the stored one is older than the interval; after storing one at revision R the
//! taker trims the log to keep the entries after `R - retain`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_nats::jetstream::{self, object_store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::storage::Store;

const OBJECT: &str = "snapshot";
const NAME_BYTES_MAX: usize = 255;

pub fn bucket_name(stream: &str) -> String {
    format!("{stream}-snapshots")
}

async fn bucket(js: &jetstream::Context, stream: &str, replicas: usize) -> Result<object_store::ObjectStore, String> {
    let name = bucket_name(stream);
    if let Ok(b) = js.get_object_store(&name).await {
        return Ok(b);
    }
    js.create_object_store(object_store::Config {
        bucket: name,
        num_replicas: replicas,
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| e.to_string())
}

/// The stored snapshot's revision and when it was taken (µs), if there is one. An error
/// is not "none": a node that took it for none would replay a log that may be trimmed.
async fn stored(b: &object_store::ObjectStore) -> Result<Option<(u64, i64)>, String> {
    let info = match b.info(OBJECT).await {
        Ok(info) => info,
        Err(e) if e.kind() == object_store::InfoErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("reading the stored snapshot's description: {e}")),
    };
    let field = |name: &str| {
        info.metadata
            .get(name)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("the stored snapshot has no valid `{name}` in its metadata"))
    };
    Ok(Some((field("revision")?, field("taken_at_us")? as i64)))
}

/// Whether `data_dir` holds no store yet (no RocksDB `CURRENT`, no consentd marker), or
/// only a first start that was cut short (it held nothing acknowledged).
pub fn is_empty_store_dir(data_dir: &Path) -> bool {
    crate::storage::guard::holds_no_store(data_dir)
}

/// A new node: fills an empty `data_dir` from the newest snapshot. Returns its revision,
/// or `None` when there is no snapshot (the node then replays the whole log).
pub async fn restore(
    js: &jetstream::Context,
    stream: &str,
    replicas: usize,
    data_dir: &Path,
) -> Result<Option<u64>, String> {
    let (b, found) = super::until_ready("looking for a snapshot", || async {
        let b = bucket(js, stream, replicas).await?;
        let found = stored(&b).await?;
        Ok((b, found))
    })
    .await?;
    let Some((revision, _)) = found else { return Ok(None) };
    let mut object = b.get(OBJECT).await.map_err(|e| e.to_string())?;
    let tmp = sibling(data_dir, "restoring");
    if tmp.exists() {
        tokio::fs::remove_dir_all(&tmp).await.map_err(|e| e.to_string())?;
    }
    tokio::fs::create_dir_all(&tmp).await.map_err(|e| e.to_string())?;
    loop {
        let len = match object.read_u16().await {
            Ok(n) => n as usize,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e.to_string()),
        };
        let mut name = vec![0u8; len];
        object.read_exact(&mut name).await.map_err(|e| e.to_string())?;
        let name = String::from_utf8(name).map_err(|_| "a snapshot file name is not UTF-8".to_owned())?;
        if name.is_empty() || name.len() > NAME_BYTES_MAX || name.contains('/') || name.starts_with('.') {
            return Err(format!("the snapshot names a file `{name}`, which is not a plain file name"));
        }
        let size = object.read_u64().await.map_err(|e| e.to_string())?;
        let mut file = tokio::fs::File::create(tmp.join(&name)).await.map_err(|e| e.to_string())?;
        let copied = tokio::io::copy(&mut (&mut object).take(size), &mut file).await.map_err(|e| e.to_string())?;
        if copied != size {
            return Err(format!("the snapshot ends inside `{name}`"));
        }
        file.sync_all().await.map_err(|e| e.to_string())?;
    }
    // An empty directory may already exist (created by the operator or a test), or one a
    // cut-short first start left.
    if crate::storage::guard::is_unfinished(data_dir) {
        crate::storage::guard::discard_unfinished(data_dir).map_err(|d| d.0)?;
    }
    if data_dir.exists() {
        tokio::fs::remove_dir(data_dir).await.map_err(|e| format!("{} is not empty: {e}", data_dir.display()))?;
    }
    tokio::fs::rename(&tmp, data_dir).await.map_err(|e| e.to_string())?;
    Ok(Some(revision))
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "data".to_owned());
    dir.with_file_name(format!("{name}.{suffix}"))
}

/// Takes snapshots on a schedule: every `interval`, if the stored snapshot is older than
/// `interval` (another node may have taken one), checkpoint, upload, trim the log.
pub async fn schedule(
    js: jetstream::Context,
    log: jetstream::stream::Stream,
    store: Store,
    stream: String,
    replicas: usize,
    interval: Duration,
    retain: u64,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if store.catching_up() {
            continue;
        }
        match take(&js, &log, &store, &stream, replicas, interval, retain).await {
            Ok(Some(r)) => tracing::info!(revision = r, "snapshot stored"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "taking a snapshot failed; trying again at the next interval"),
        }
    }
}

async fn take(
    js: &jetstream::Context,
    log: &jetstream::stream::Stream,
    store: &Store,
    stream: &str,
    replicas: usize,
    interval: Duration,
    retain: u64,
) -> Result<Option<u64>, String> {
    let b = bucket(js, stream, replicas).await?;
    let now = (store.clock())();
    if let Some((revision, taken)) = stored(&b).await?
        && (now - taken < interval.as_micros() as i64 || revision >= store.revision())
    {
        return Ok(None);
    }
    let dir = sibling(store.path(), &format!("checkpoint-{now}"));
    let (s, d) = (store.clone(), dir.clone());
    let revision = tokio::task::spawn_blocking(move || s.checkpoint(&d))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let result = upload(&b, &dir, revision, now).await;
    let _ = tokio::fs::remove_dir_all(&dir).await;
    result?;
    // Trim only below what the stored snapshot covers (another node may have replaced ours).
    if let Some((stored_revision, _)) = stored(&b).await? {
        let keep_from = stored_revision.saturating_sub(retain) + 1;
        if keep_from > 1 {
            log.purge().sequence(keep_from).await.map_err(|e| e.to_string())?;
        }
    }
    Ok(Some(revision))
}

async fn upload(b: &object_store::ObjectStore, dir: &Path, revision: u64, now: i64) -> Result<(), String> {
    let mut names = Vec::new();
    let mut entries = tokio::fs::read_dir(dir).await.map_err(|e| e.to_string())?;
    while let Some(e) = entries.next_entry().await.map_err(|e| e.to_string())? {
        if e.file_type().await.map_err(|e| e.to_string())?.is_file() {
            names.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    let (mut writer, mut reader) = tokio::io::duplex(1 << 20);
    let dir = dir.to_owned();
    let pack = tokio::spawn(async move {
        for name in names {
            let mut f = tokio::fs::File::open(dir.join(&name)).await?;
            let size = f.metadata().await?.len();
            writer.write_u16(name.len() as u16).await?;
            writer.write_all(name.as_bytes()).await?;
            writer.write_u64(size).await?;
            let copied = tokio::io::copy(&mut (&mut f).take(size), &mut writer).await?;
            if copied != size {
                return Err(std::io::Error::other(format!("`{name}` changed while packing")));
            }
        }
        writer.shutdown().await
    });
    let meta = object_store::ObjectMetadata {
        name: OBJECT.to_owned(),
        description: Some(format!("consentd store at revision {revision} or later")),
        metadata: [("revision".to_owned(), revision.to_string()), ("taken_at_us".to_owned(), now.to_string())]
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let put = b.put(meta, &mut reader).await.map_err(|e| e.to_string());
    pack.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    put.map(|_| ())
}
