//! The data directory's guard: consentd never re-initialises a store that existed, and
//! never lets RocksDB delete a file of a store it then refuses.
//!
//! RocksDB alone cannot tell "a new directory" from "a directory whose MANIFEST lost its
//! tail": with a truncated MANIFEST it opens an older or empty version of the database and
//! deletes every table file that version does not name. So consentd keeps its own record:
//!
//! - A marker file, [`MARKER_FILE`], written when a store is created. It holds the highest
//!   acknowledged revision: after each group commit (WAL synced) and before any answer, the
//!   writer overwrites that fixed-width field in place and syncs it ([`AckFile`]), so no
//!   acknowledged change exists that the marker does not cover. A directory with the marker
//!   (or with any RocksDB file) is an existing store and is opened without
//!   `create_if_missing`; a store that opens at a revision below the marker's is refused,
//!   because acknowledged changes are missing (a cut or deleted WAL, a damaged MANIFEST).
//!   RocksDB cannot see a cut in the WAL it is writing: a cut at a record boundary looks like
//!   a torn tail from a power loss, which it must tolerate.
//! - Before an existing store is opened, every file is hard-linked into a fresh folder
//!   `preopen-<time>` under [`GUARD_DIR`]. The links cost no space. If the store opens and
//!   passes the checks, the folder is removed; if not, it stays, holding every file exactly
//!   as it was before this start, and the error names it.
//! - A refused start leaves its copy in place, and later starts refuse at once while any
//!   copy exists: someone has to look before consentd touches the directory again.
//!
//! Must not touch: decisions, or anything beyond the files of the directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Damage;

/// consentd's own marker of an initialised store, beside RocksDB's files.
pub const MARKER_FILE: &str = "CONSENTD-STORE";
/// Where the hard links of the files taken before each open are kept.
pub const GUARD_DIR: &str = "guard";
const MARKER_HEADER: &str = "consentd-store 1\n";
const REVISION_PREFIX: &str = "revision=";
/// The revision is written as 20 digits at this offset, so it is overwritten in place (one
/// small write within a sector, no rename): cheap enough for every group commit.
const REVISION_OFFSET: u64 = (MARKER_HEADER.len() + REVISION_PREFIX.len()) as u64;
const REVISION_DIGITS: usize = 20;

/// What the directory looked like before RocksDB touched it.
#[derive(Debug)]
pub enum DirState {
    /// Nothing of a store: a new one may be created here.
    Fresh,
    /// A store exists; `marker` is `None` for stores made before the marker existed.
    Existing { marker: Option<Marker> },
}

/// The contents of [`MARKER_FILE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marker {
    /// A revision known to be durable: the store must open at this revision or later.
    pub revision: u64,
}

fn is_rocksdb_data_file(name: &str) -> bool {
    name == "CURRENT" || name.starts_with("MANIFEST-") || name.ends_with(".sst") || name.ends_with(".log")
}

/// Looks at the directory without changing it. Refuses the states from which RocksDB would
/// silently create a new, empty store over an old one.
pub fn inspect(dir: &Path) -> Result<DirState, Damage> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DirState::Fresh),
        Err(e) => return Err(Damage(format!("cannot list the directory: {e}"))),
    };
    let mut data_files = Vec::new();
    let mut has_current = false;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list the directory: {e}"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "CURRENT" {
            has_current = true;
        }
        if is_rocksdb_data_file(&name) {
            data_files.push(name);
        }
    }
    let marker = read_marker(dir)?;
    if !has_current && (marker.is_some() || !data_files.is_empty()) {
        data_files.sort();
        let what = if marker.is_some() { format!("`{MARKER_FILE}` says a store was made here") } else { String::new() };
        let files =
            if data_files.is_empty() { String::new() } else { format!("data files ({})", data_files.join(", ")) };
        let joined = [what, files].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" and ");

        return Err(Damage(format!(
            "the file `CURRENT` is missing but {joined} exist: refusing to create a new store over them \
             (no file was changed)"
        )));
    }
    if let Some(old) = leftover_copies(dir).first() {
        return Err(Damage(format!(
            "an earlier start was refused and kept the files as they were in `{}`: find out why (see the log \
             of that start), repair or restore the store, then remove `{}` to start again",
            old.display(),
            dir.join(GUARD_DIR).display()
        )));
    }
    if has_current { Ok(DirState::Existing { marker }) } else { Ok(DirState::Fresh) }
}

/// The MANIFEST file `CURRENT` names, for error messages.
pub fn current_manifest(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("CURRENT"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "the MANIFEST named by CURRENT".to_owned())
}

fn read_marker(dir: &Path) -> Result<Option<Marker>, Damage> {
    let path = dir.join(MARKER_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Damage(format!("cannot read `{MARKER_FILE}`: {e}"))),
    };
    let damaged = || Damage(format!("`{MARKER_FILE}` is damaged: {:?}", text.chars().take(120).collect::<String>()));
    let rest = text.strip_prefix(MARKER_HEADER).ok_or_else(damaged)?;
    let digits = rest
        .strip_prefix(REVISION_PREFIX)
        .and_then(|r| r.get(..REVISION_DIGITS))
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(damaged)?;
    let revision = digits.parse().map_err(|_| damaged())?;
    Ok(Some(Marker { revision }))
}

fn revision_field(revision: u64) -> String {
    format!("{revision:0width$}", width = REVISION_DIGITS)
}

/// Replaces the marker atomically and durably (temporary file, fsync, rename, fsync of the
/// directory), so a crash leaves the old marker or the new one, never half of one.
pub fn write_marker(dir: &Path, marker: Marker) -> std::io::Result<()> {
    let tmp = dir.join(format!("{MARKER_FILE}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    writeln!(f, "{MARKER_HEADER}{REVISION_PREFIX}{}", revision_field(marker.revision))?;
    writeln!(f, "# A consentd store: the highest acknowledged revision. Never delete the files beside this one.")?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(MARKER_FILE))?;
    std::fs::File::open(dir)?.sync_all()
}

/// The marker opened for the writer, which records each acknowledged revision in place.
#[derive(Debug)]
pub struct AckFile {
    file: std::fs::File,
}

impl AckFile {
    pub fn open(dir: &Path) -> std::io::Result<AckFile> {
        Ok(AckFile { file: std::fs::OpenOptions::new().write(true).open(dir.join(MARKER_FILE))? })
    }

    /// Overwrites the revision and syncs it; call after the WAL sync, before answering.
    pub fn record(&mut self, revision: u64) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        self.file.write_all_at(revision_field(revision).as_bytes(), REVISION_OFFSET)?;
        self.file.sync_data()
    }
}

/// Hard links of every file of the store as it was before an open.
#[derive(Debug)]
pub struct PreOpenCopy {
    path: PathBuf,
}

impl PreOpenCopy {
    /// Links every regular file of `dir` (but RocksDB's lock and info logs) into a new
    /// folder under [`GUARD_DIR`].
    pub fn take(dir: &Path, now_us: i64) -> Result<PreOpenCopy, Damage> {
        let path = dir.join(GUARD_DIR).join(format!("preopen-{now_us}"));
        std::fs::create_dir_all(&path).map_err(|e| format!("cannot create `{}`: {e}", path.display()))?;
        let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list the directory: {e}"))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot list the directory: {e}"))?;
            let name = entry.file_name();
            let lossy = name.to_string_lossy();
            let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
            if !is_file || lossy == "LOCK" || lossy.starts_with("LOG") {
                continue;
            }
            std::fs::hard_link(entry.path(), path.join(&name))
                .map_err(|e| format!("cannot link `{lossy}` into `{}`: {e}", path.display()))?;
        }
        Ok(PreOpenCopy { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open succeeded and was checked: the links are no longer needed.
    pub fn release(self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove the pre-open links");
        }
        // The parent stays if earlier, failed starts left their copies in it.
        if let Some(parent) = self.path.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// Copies that failed starts left behind, for a warning at start-up.
pub fn leftover_copies(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join(GUARD_DIR))
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn marker_round_trips_and_damage_is_named() {
        let dir = tempdir();
        assert_eq!(read_marker(dir.path()), Ok(None));
        write_marker(dir.path(), Marker { revision: 42 }).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_marker(dir.path()), Ok(Some(Marker { revision: 42 })));
        let mut ack = AckFile::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        ack.record(7_000_000_001).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_marker(dir.path()), Ok(Some(Marker { revision: 7_000_000_001 })));
        ack.record(3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_marker(dir.path()), Ok(Some(Marker { revision: 3 })));
        std::fs::write(dir.path().join(MARKER_FILE), "garbage").unwrap_or_else(|e| panic!("{e}"));
        assert!(read_marker(dir.path()).is_err_and(|e| e.0.contains(MARKER_FILE)));
    }

    #[test]
    fn a_store_without_current_is_refused_not_recreated() {
        let dir = tempdir();
        assert!(matches!(inspect(dir.path()), Ok(DirState::Fresh)));
        assert!(matches!(inspect(&dir.path().join("absent")), Ok(DirState::Fresh)));
        std::fs::write(dir.path().join("000007.sst"), b"x").unwrap_or_else(|e| panic!("{e}"));
        let err = inspect(dir.path()).err().map(|d| d.0).unwrap_or_default();
        assert!(err.contains("CURRENT") && err.contains("000007.sst"), "{err}");

        let dir = tempdir();
        write_marker(dir.path(), Marker { revision: 1 }).unwrap_or_else(|e| panic!("{e}"));
        assert!(inspect(dir.path()).is_err_and(|e| e.0.contains(MARKER_FILE)));
        std::fs::write(dir.path().join("CURRENT"), "MANIFEST-000005\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(inspect(dir.path()), Ok(DirState::Existing { marker: Some(Marker { revision: 1 }) })));
        assert_eq!(current_manifest(dir.path()), "MANIFEST-000005");
    }

    #[test]
    fn pre_open_copy_keeps_files_until_released() {
        let dir = tempdir();
        std::fs::write(dir.path().join("000001.sst"), b"table").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("LOCK"), b"").unwrap_or_else(|e| panic!("{e}"));
        let copy = PreOpenCopy::take(dir.path(), 1).unwrap_or_else(|e| panic!("{e}"));
        std::fs::remove_file(dir.path().join("000001.sst")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(std::fs::read(copy.path().join("000001.sst")).ok(), Some(b"table".to_vec()));
        assert!(!copy.path().join("LOCK").exists());
        assert_eq!(leftover_copies(dir.path()).len(), 1);
        std::fs::write(dir.path().join("CURRENT"), "MANIFEST-000005\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(inspect(dir.path()).is_err_and(|e| e.0.contains("earlier start was refused")));
        copy.release();
        assert!(leftover_copies(dir.path()).is_empty());
        assert!(!dir.path().join(GUARD_DIR).exists());
    }
}
