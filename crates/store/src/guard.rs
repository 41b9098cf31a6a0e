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
//! - A new store is made complete or not at all: [`CREATING_FILE`] is written (synced)
//!   before RocksDB creates anything, and removed only after the marker. A directory that
//!   still has it but no marker is a first start that was cut short (kill, power loss,
//!   full disk): nothing in it was ever acknowledged, because nothing is answered before
//!   the marker exists, so its RocksDB files are removed and the store is created again.
//! - Before an existing store is opened, every file is hard-linked into a folder
//!   `preopen-<time>` under [`GUARD_DIR`]. The links cost no space. The folder is built
//!   under a hidden name and renamed when complete, with [`STARTING_FILE`] in it: a start
//!   is under way. If the store opens and passes the checks, the folder is removed.
//! - A start that finds the store damaged marks its folder refused ([`REFUSED_FILE`], with
//!   the reason) and stops; later starts refuse at once while a refused copy exists: someone
//!   has to look before consentd touches the directory again.
//! - A start that was interrupted (killed, out of memory, power cut: its folder is still
//!   marked starting) or stopped for a reason that passes by itself (a full disk) refused
//!   nothing: the next start resumes it, keeping the same folder (the files as they were
//!   before the first of those starts) until a start succeeds or is refused.
//! - One process at a time: the directory is locked (`flock`) before any of this, so a
//!   second consentd on the same directory is turned away before it looks at the guard.
//!
//! Must not touch: decisions, or anything beyond the files of the directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Damage;

/// consentd's own marker of an initialised store, beside RocksDB's files.
pub const MARKER_FILE: &str = "CONSENTD-STORE";
/// Where the hard links of the files taken before each open are kept.
pub const GUARD_DIR: &str = "guard";
/// In a new directory from before RocksDB creates the store until its marker is written.
pub const CREATING_FILE: &str = "CONSENTD-CREATING";
/// In a pre-open copy whose start is under way (or was interrupted): it may be resumed.
pub const STARTING_FILE: &str = "GUARD-STARTING";
/// In a pre-open copy whose start was refused; it holds the reason.
pub const REFUSED_FILE: &str = "GUARD-REFUSED";
/// A pre-open copy being taken: incomplete until renamed to `preopen-<time>`.
const TAKING_PREFIX: &str = ".taking-";
/// A pre-open copy being removed after a good start: renamed first, so that a kill in the
/// middle of the removal never leaves a copy that looks like a refused one.
const RELEASING_PREFIX: &str = ".releasing-";
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
    /// The first start of this directory was cut short before the store was complete: its
    /// files hold nothing acknowledged (see [`discard_unfinished`]).
    Unfinished,
    /// A store exists; `marker` is `None` for stores made before the marker existed.
    /// `resume` is the copy of an earlier start that was interrupted or stopped for a full
    /// disk: this start goes on with it instead of taking another.
    Existing { marker: Option<Marker>, resume: Option<PreOpenCopy> },
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

/// Every file RocksDB (or the marker's writer) makes in a new store's directory.
fn is_store_file(name: &str) -> bool {
    is_rocksdb_data_file(name)
        || name.starts_with("OPTIONS-")
        || name.starts_with("LOG")
        || name == "LOCK"
        || name == "IDENTITY"
        || name.ends_with(".dbtmp")
        || name == format!("{MARKER_FILE}.tmp")
}

/// Locks the directory for this process (created 0700 if missing): the lock is held as long
/// as the returned file is open. Another process holding it is refused at once.
pub fn lock(dir: &Path) -> Result<std::fs::File, Damage> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => sync_dir(dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
    .map_err(|e| format!("cannot create the directory: {e}"))?;
    let file = std::fs::File::open(dir).map_err(|e| format!("cannot open the directory: {e}"))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(file),
        Err(rustix::io::Errno::WOULDBLOCK) => {
            Err(Damage::new("the directory is in use by another process (lock held)"))
        }
        Err(e) => Err(Damage(format!("cannot lock the directory: {e}"))),
    }
}

/// Whether a start stopped for a reason that passes by itself (a full disk), so that its
/// copy must not be marked refused: the next start resumes instead.
pub fn is_transient(detail: &str) -> bool {
    detail.contains("No space left") || detail.contains("NoSpace") || detail.contains("Disk quota exceeded")
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Writes `name` in `dir` with `text`, synced along with the directory entry.
fn write_synced(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::File::create(dir.join(name))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    sync_dir(dir)
}

/// Marks a directory about to become a new store (see [`CREATING_FILE`]).
pub fn begin_creation(dir: &Path) -> std::io::Result<()> {
    write_synced(dir, CREATING_FILE, "consentd is creating a store here; it is complete once CONSENTD-STORE exists\n")
}

/// The new store is complete (its marker is written): drops [`CREATING_FILE`].
pub fn end_creation(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(dir.join(CREATING_FILE)) {
        Ok(()) => sync_dir(dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether `dir` holds no store yet (no RocksDB `CURRENT`, no marker), or only a first
/// start that was cut short (it held nothing acknowledged).
pub fn holds_no_store(dir: &Path) -> bool {
    (!dir.join("CURRENT").exists() && !dir.join(MARKER_FILE).exists()) || is_unfinished(dir)
}

/// Whether `dir` holds a first start that was cut short: [`CREATING_FILE`] without a marker.
pub fn is_unfinished(dir: &Path) -> bool {
    dir.join(CREATING_FILE).exists() && !dir.join(MARKER_FILE).exists()
}

/// Removes what a cut-short first start left (RocksDB's files and [`CREATING_FILE`]; never
/// anything else), so the store is created again from nothing. Safe because nothing is acknowledged before the
/// marker exists. Returns the files removed.
pub fn discard_unfinished(dir: &Path) -> Result<Vec<String>, Damage> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list the directory: {e}"))?;
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list the directory: {e}"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if is_file && is_store_file(&name) {
            std::fs::remove_file(entry.path()).map_err(|e| format!("cannot remove `{name}`: {e}"))?;
            removed.push(name);
        }
    }
    sync_dir(dir).map_err(|e| format!("cannot sync the directory: {e}"))?;
    // Last: until the files are gone, the directory must still say it is unfinished.
    end_creation(dir).map_err(|e| format!("cannot remove `{CREATING_FILE}`: {e}"))?;
    removed.sort();
    Ok(removed)
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
    if is_unfinished(dir) {
        return Ok(DirState::Unfinished);
    }
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
    let mut resume = None;
    for copy in leftover_copies(dir) {
        match copy_state(&copy) {
            CopyState::Taking => {
                // Cut short while linking, before RocksDB ran (the directory itself is
                // still as this copy would have been), or while being removed after a
                // start that succeeded.
                std::fs::remove_dir_all(&copy).map_err(|e| format!("cannot remove `{}`: {e}", copy.display()))?;
            }
            CopyState::Starting if resume.is_none() => resume = Some(copy),
            CopyState::Starting => {}
            CopyState::Refused(why) => {
                let why = why.map(|w| format!(" (it said: {})", w.trim())).unwrap_or_default();
                return Err(Damage(format!(
                    "an earlier start was refused and kept the files as they were in `{}`{why}: find out why (see \
                     the log of that start), repair or restore the store, then remove `{}` to start again",
                    copy.display(),
                    dir.join(GUARD_DIR).display()
                )));
            }
        }
    }
    if has_current {
        Ok(DirState::Existing { marker, resume: resume.map(|path| PreOpenCopy { path, resumed: true }) })
    } else {
        Ok(DirState::Fresh)
    }
}

/// What a folder under [`GUARD_DIR`] says about the start that made it.
enum CopyState {
    /// Still being linked, or being removed after a good start, when that start ended.
    Taking,
    /// Complete; its start was under way and never finished (it may be resumed).
    Starting,
    /// Its start was refused, with the reason if it was recorded. A folder of an older
    /// consentd (no state file) counts as refused: the old rule, someone has to look.
    Refused(Option<String>),
}

fn copy_state(copy: &Path) -> CopyState {
    let name = copy.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if name.starts_with(TAKING_PREFIX) || name.starts_with(RELEASING_PREFIX) {
        return CopyState::Taking;
    }
    if let Ok(why) = std::fs::read_to_string(copy.join(REFUSED_FILE)) {
        return CopyState::Refused(Some(why));
    }
    if copy.join(STARTING_FILE).is_file() { CopyState::Starting } else { CopyState::Refused(None) }
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
    /// Taken by an earlier start that was interrupted, and resumed by this one.
    resumed: bool,
}

impl PreOpenCopy {
    /// Links every regular file of `dir` (but RocksDB's lock and info logs) into a new
    /// folder under [`GUARD_DIR`].
    pub fn take(dir: &Path, now_us: i64) -> Result<PreOpenCopy, Damage> {
        let guard = dir.join(GUARD_DIR);
        let taking = guard.join(format!("{TAKING_PREFIX}{now_us}"));
        let path = guard.join(format!("preopen-{now_us}"));
        std::fs::create_dir_all(&taking).map_err(|e| format!("cannot create `{}`: {e}", taking.display()))?;
        let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list the directory: {e}"))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot list the directory: {e}"))?;
            let name = entry.file_name();
            let lossy = name.to_string_lossy();
            let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
            if !is_file || lossy == "LOCK" || lossy.starts_with("LOG") {
                continue;
            }
            std::fs::hard_link(entry.path(), taking.join(&name))
                .map_err(|e| format!("cannot link `{lossy}` into `{}`: {e}", taking.display()))?;
        }
        // Complete and durable before RocksDB runs: a crash from here on leaves a copy
        // the next start can resume.
        let done = write_synced(&taking, STARTING_FILE, "a start of consentd is under way (or was interrupted)\n")
            .and_then(|()| std::fs::rename(&taking, &path))
            .and_then(|()| sync_dir(&guard))
            .and_then(|()| sync_dir(dir));
        done.map_err(|e| format!("cannot complete `{}`: {e}", path.display()))?;
        Ok(PreOpenCopy { path, resumed: false })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether an earlier, interrupted start took this copy.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// The start was refused for damage: later starts refuse at once, naming `why`.
    pub fn refused(self, why: &str) {
        if let Err(e) = write_synced(&self.path, REFUSED_FILE, &format!("{why}\n")) {
            // The copy without the mark would be resumed: say so loudly; the error that
            // stops this start names the folder either way.
            tracing::error!(path = %self.path.display(), error = %e, "cannot mark the kept copy as refused");
        }
    }

    /// The open succeeded and was checked: the links are no longer needed.
    pub fn release(self) {
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let releasing = self.path.with_file_name(format!("{RELEASING_PREFIX}{name}"));
        let removed = std::fs::rename(&self.path, &releasing).and_then(|()| std::fs::remove_dir_all(&releasing));
        if let Err(e) = removed {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove the pre-open links");
        }
        // The parent stays if earlier, failed starts left their copies in it.
        if let Some(parent) = self.path.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// Copies that earlier starts left behind, oldest first.
pub fn leftover_copies(dir: &Path) -> Vec<PathBuf> {
    let mut copies: Vec<PathBuf> = std::fs::read_dir(dir.join(GUARD_DIR))
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    let taken_at = |p: &PathBuf| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        name.rsplit('-').next().and_then(|t| t.parse::<i64>().ok()).unwrap_or(i64::MAX)
    };
    copies.sort_by_key(|p| (taken_at(p), p.clone()));
    copies
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
        assert!(matches!(
            inspect(dir.path()),
            Ok(DirState::Existing { marker: Some(Marker { revision: 1 }), resume: None })
        ));
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
        copy.release();
        assert!(leftover_copies(dir.path()).is_empty());
        assert!(!dir.path().join(GUARD_DIR).exists());
    }

    #[test]
    fn an_interrupted_start_is_resumed_and_a_refused_one_is_not() {
        let dir = tempdir();
        std::fs::write(dir.path().join("CURRENT"), "MANIFEST-000005\n").unwrap_or_else(|e| panic!("{e}"));
        // A copy cut short while linking, or while being removed, is dropped.
        std::fs::create_dir_all(dir.path().join(GUARD_DIR).join(".taking-3")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(dir.path().join(GUARD_DIR).join(".releasing-preopen-2"))
            .unwrap_or_else(|e| panic!("{e}"));
        let taken = PreOpenCopy::take(dir.path(), 5).unwrap_or_else(|e| panic!("{e}"));
        let path = taken.path().to_owned();
        drop(taken);
        let resumed = match inspect(dir.path()) {
            Ok(DirState::Existing { resume: Some(copy), .. }) => copy,
            other => panic!("an interrupted start is resumed: {other:?}"),
        };
        assert!(resumed.resumed());
        assert_eq!(resumed.path(), path);
        assert_eq!(leftover_copies(dir.path()), vec![path.clone()], "the cut-short copy is gone");
        resumed.refused("`MANIFEST-000005` is damaged");
        let err = inspect(dir.path()).err().map(|d| d.0).unwrap_or_default();
        assert!(err.contains("earlier start was refused"), "{err}");
        assert!(err.contains("`MANIFEST-000005` is damaged"), "the reason is repeated: {err}");
        // A folder of an older consentd, with no state file, counts as refused.
        let dir = tempdir();
        std::fs::write(dir.path().join("CURRENT"), "MANIFEST-000005\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(dir.path().join(GUARD_DIR).join("preopen-9")).unwrap_or_else(|e| panic!("{e}"));
        assert!(inspect(dir.path()).is_err_and(|e| e.0.contains("earlier start was refused")));
    }

    #[test]
    fn a_cut_short_creation_is_discarded_and_only_store_files_go() {
        let dir = tempdir();
        begin_creation(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        for name in ["CURRENT", "MANIFEST-000001", "000004.log", "OPTIONS-000007", "IDENTITY", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"x").unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(matches!(inspect(dir.path()), Ok(DirState::Unfinished)));
        let removed = discard_unfinished(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(removed, ["000004.log", "CURRENT", "IDENTITY", "MANIFEST-000001", "OPTIONS-000007"]);
        assert!(dir.path().join("notes.txt").exists(), "a file that is not the store's stays");
        // Complete once the marker is written, even before the flag is dropped.
        write_marker(dir.path(), Marker { revision: 0 }).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("CURRENT"), "MANIFEST-000005\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(inspect(dir.path()), Ok(DirState::Existing { .. })));
        end_creation(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert!(!dir.path().join(CREATING_FILE).exists());
    }

    #[test]
    fn a_locked_directory_is_refused() {
        let dir = tempdir();
        let data = dir.path().join("data");
        let held = lock(&data).unwrap_or_else(|e| panic!("{e}"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        assert_eq!(mode, 0o700);
        assert!(lock(&data).is_err_and(|e| e.0.contains("in use by another process")));
        drop(held);
        assert!(lock(&data).is_ok());
    }
}
