//! Snapshots of a node's store in a JetStream object store, so that a new node starts from
//! the newest snapshot and replays only the log's tail, and the log can be trimmed.
//!
//! A snapshot is a RocksDB checkpoint packed as a flat archive (per file: name length
//! (u16), name, size (u64), bytes; big-endian), stored as object `snapshot` in bucket
//! `<stream>-snapshots` with the log position it holds in the object's metadata. Any node
//! may take one when the stored one is older than the interval; after storing one at
//! position P the taker trims the log to keep the entries after `P - retain`.
//!
//! A snapshot is authenticated like a log entry: its metadata carries the id of the log
//! key and an HMAC-SHA256 over its position, its time and the whole archive, and a node
//! refuses a snapshot whose MAC does not match before anything of it is used. It carries
//! no secrets: the store's keys are scrubbed from the checkpoint (`Store::checkpoint`) and
//! derived from the cluster secret by the node that restores it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_nats::jetstream::{self, object_store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::storage::Store;
use crate::storage::wire::{LogKey, SnapshotMac};

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

/// What the stored snapshot's metadata says.
struct Described {
    /// The log position the snapshot holds at least (what trimming needs).
    position: u64,
    taken_at_us: i64,
    key_id: String,
    mac: String,
}

/// The stored snapshot's description, if there is one. An error is not "none": a node
/// that took it for none would replay a log that may be trimmed.
async fn stored(b: &object_store::ObjectStore) -> Result<Option<Described>, String> {
    let info = match b.info(OBJECT).await {
        Ok(info) => info,
        Err(e) if e.kind() == object_store::InfoErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("reading the stored snapshot's description: {e}")),
    };
    let field = |name: &str| {
        info.metadata.get(name).cloned().ok_or_else(|| format!("the stored snapshot has no `{name}` in its metadata"))
    };
    let number =
        |name: &str| field(name)?.parse::<u64>().map_err(|_| format!("the stored snapshot's `{name}` is not a number"));
    Ok(Some(Described {
        // `revision` in snapshots taken before batch entries, when the two were one number.
        position: number("log_position").or_else(|_| number("revision"))?,
        taken_at_us: number("taken_at_us")? as i64,
        key_id: field("key_id")?,
        mac: field("mac")?,
    }))
}

/// Whether `data_dir` holds no store yet (no RocksDB `CURRENT`, no consentd marker), or
/// only a first start that was cut short (it held nothing acknowledged).
pub fn is_empty_store_dir(data_dir: &Path) -> bool {
    crate::storage::guard::holds_no_store(data_dir)
}

/// A node whose store the trimmed log has left behind: moves its data directory aside (to
/// `<dir>.superseded`, replacing an earlier one), so the start restores the newest snapshot
/// into a new one. Everything in it came from the log, whose newest snapshot holds it too;
/// it is kept until the node has started from the snapshot (see [`forget_superseded`]).
pub fn supersede(data_dir: &Path) -> Result<PathBuf, String> {
    let aside = sibling(data_dir, "superseded");
    // One an earlier start moved aside and never saw replaced (it stopped before it ran from
    // the snapshot) may be the only full copy: never removed here.
    if aside.exists() {
        return Err(format!(
            "{} exists (an earlier start moved its store there); the directory is left as it is",
            aside.display()
        ));
    }
    std::fs::rename(data_dir, &aside)
        .map_err(|e| format!("cannot move {} aside to {}: {e}", data_dir.display(), aside.display()))?;
    Ok(aside)
}

/// The log position the stored snapshot holds (`None`: there is none). An error is not
/// "none" (see [`stored`]).
pub async fn stored_position(js: &jetstream::Context, stream: &str, replicas: usize) -> Result<Option<u64>, String> {
    let b = bucket(js, stream, replicas).await?;
    Ok(stored(&b).await?.map(|d| d.position))
}

/// After a start from the snapshot: the directory [`supersede`] moved aside goes.
pub fn forget_superseded(aside: &Path) {
    match std::fs::remove_dir_all(aside) {
        Ok(()) => tracing::info!(removed = %aside.display(), "removed the data directory the snapshot replaced"),
        Err(e) => {
            tracing::warn!(dir = %aside.display(), error = %e, "cannot remove the data directory the snapshot replaced")
        }
    }
}

/// A new node: fills an empty `data_dir` from the newest snapshot. Returns its log position,
/// or `None` when there is no snapshot (the node then replays the whole log).
pub async fn restore(
    js: &jetstream::Context,
    stream: &str,
    replicas: usize,
    data_dir: &Path,
    key: &LogKey,
) -> Result<Option<u64>, String> {
    let (b, found) = super::until_ready("looking for a snapshot", || async {
        let b = bucket(js, stream, replicas).await?;
        let found = stored(&b).await?;
        Ok((b, found))
    })
    .await?;
    let Some(described) = found else { return Ok(None) };
    let revision = described.position;
    if described.key_id != key.id_hex() {
        return Err(format!(
            "the stored snapshot is signed with key `{}`, not this cluster's `{}`: refused",
            described.key_id,
            key.id_hex()
        ));
    }
    let mut mac = SnapshotMac::new(key, revision, described.taken_at_us);
    let mut object = b.get(OBJECT).await.map_err(|e| e.to_string())?;
    let tmp = sibling(data_dir, "restoring");
    if tmp.exists() {
        tokio::fs::remove_dir_all(&tmp).await.map_err(|e| e.to_string())?;
    }
    tokio::fs::create_dir_all(&tmp).await.map_err(|e| e.to_string())?;
    let unpacked = unpack(&mut object, &tmp, &mut mac).await;
    if let Err(e) = unpacked.and_then(|()| {
        mac.verify(&described.mac).then_some(()).ok_or_else(|| {
            "its MAC does not match its content: it was not written by a node of this cluster, or it was changed"
                .to_owned()
        })
    }) {
        let _ = tokio::fs::remove_dir_all(&tmp).await;
        return Err(format!("the stored snapshot at revision {revision} is refused: {e}"));
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

/// Unpacks the archive into `dir`, feeding every byte to `mac`; a file name that is not a
/// plain name is refused before anything is written under it.
async fn unpack(
    object: &mut (impl tokio::io::AsyncRead + Unpin),
    dir: &Path,
    mac: &mut SnapshotMac,
) -> Result<(), String> {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let len = match object.read_u16().await {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        mac.update(&len.to_be_bytes());
        let mut name = vec![0u8; usize::from(len)];
        object.read_exact(&mut name).await.map_err(|e| e.to_string())?;
        mac.update(&name);
        let name = String::from_utf8(name).map_err(|_| "a snapshot file name is not UTF-8".to_owned())?;
        if name.is_empty() || name.len() > NAME_BYTES_MAX || name.contains('/') || name.starts_with('.') {
            return Err(format!("the snapshot names a file `{name}`, which is not a plain file name"));
        }
        let size = object.read_u64().await.map_err(|e| e.to_string())?;
        mac.update(&size.to_be_bytes());
        let mut file = tokio::fs::File::create(dir.join(&name)).await.map_err(|e| e.to_string())?;
        let mut left = size;
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let n = object.read(&mut buf[..want]).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!("the snapshot ends inside `{name}`"));
            }
            mac.update(&buf[..n]);
            file.write_all(&buf[..n]).await.map_err(|e| e.to_string())?;
            left -= n as u64;
        }
        file.sync_all().await.map_err(|e| e.to_string())?;
    }
}

/// The MAC of the archive `pack` writes for these files, read from disk once before the
/// upload (the object's metadata goes first; the checkpoint's files do not change).
fn archive_mac(dir: &Path, names: &[String], mut mac: SnapshotMac) -> std::io::Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; 1 << 16];
    for name in names {
        let mut f = std::fs::File::open(dir.join(name))?;
        let size = f.metadata()?.len();
        mac.update(&(name.len() as u16).to_be_bytes());
        mac.update(name.as_bytes());
        mac.update(&size.to_be_bytes());
        let mut left = size;
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let n = f.read(&mut buf[..want])?;
            if n == 0 {
                return Err(std::io::Error::other(format!("`{name}` changed while packing")));
            }
            mac.update(&buf[..n]);
            left -= n as u64;
        }
    }
    Ok(mac.finish_hex())
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
    (interval, retain): (Duration, u64),
    key: LogKey,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if store.catching_up() {
            continue;
        }
        match take(&js, &log, &store, &stream, replicas, (interval, retain), &key).await {
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
    (interval, retain): (Duration, u64),
    key: &LogKey,
) -> Result<Option<u64>, String> {
    let b = bucket(js, stream, replicas).await?;
    let now = (store.clock())();
    if let Some(d) = stored(&b).await?
        && (now - d.taken_at_us < interval.as_micros() as i64 || d.position >= store.log_position())
    {
        return Ok(None);
    }
    let dir = sibling(store.path(), &format!("checkpoint-{now}"));
    let (s, d) = (store.clone(), dir.clone());
    let revision = tokio::task::spawn_blocking(move || s.checkpoint(&d))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let result = upload(&b, &dir, revision, now, key).await;
    let _ = tokio::fs::remove_dir_all(&dir).await;
    result?;
    // Trim only below what the stored snapshot covers (another node may have replaced ours).
    if let Some(d) = stored(&b).await? {
        let keep_from = d.position.saturating_sub(retain) + 1;
        if keep_from > 1 {
            log.purge().sequence(keep_from).await.map_err(|e| e.to_string())?;
        }
    }
    Ok(Some(revision))
}

async fn upload(
    b: &object_store::ObjectStore,
    dir: &Path,
    revision: u64,
    now: i64,
    key: &LogKey,
) -> Result<(), String> {
    let mut names = Vec::new();
    let mut entries = tokio::fs::read_dir(dir).await.map_err(|e| e.to_string())?;
    while let Some(e) = entries.next_entry().await.map_err(|e| e.to_string())? {
        if e.file_type().await.map_err(|e| e.to_string())?.is_file() {
            names.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    let mac = {
        let (dir, names, mac) = (dir.to_owned(), names.clone(), SnapshotMac::new(key, revision, now));
        tokio::task::spawn_blocking(move || archive_mac(&dir, &names, mac))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
    };
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
        description: Some(format!("consentd store at log position {revision} or later")),
        metadata: [
            ("log_position".to_owned(), revision.to_string()),
            ("taken_at_us".to_owned(), now.to_string()),
            ("key_id".to_owned(), key.id_hex()),
            ("mac".to_owned(), mac),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let put = b.put(meta, &mut reader).await.map_err(|e| e.to_string());
    pack.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    put.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::supersede;

    /// A directory moved aside by an earlier start may be the only copy: a second move
    /// refuses and leaves both as they are.
    #[test]
    fn supersede_never_replaces_what_an_earlier_start_moved_aside() {
        let root = tempfile::tempdir().expect("tempdir");
        let data = root.path().join("data");
        std::fs::create_dir(&data).expect("data");
        std::fs::write(data.join("CURRENT"), "first").expect("write");
        let aside = supersede(&data).expect("moved");
        assert_eq!(std::fs::read_to_string(aside.join("CURRENT")).expect("kept"), "first");
        std::fs::create_dir(&data).expect("data again");
        std::fs::write(data.join("CURRENT"), "second").expect("write");
        let refused = supersede(&data).expect_err("an earlier copy is there");
        assert!(refused.contains("superseded"), "{refused}");
        assert_eq!(std::fs::read_to_string(aside.join("CURRENT")).expect("kept"), "first");
        assert_eq!(std::fs::read_to_string(data.join("CURRENT")).expect("left"), "second");
    }
}
