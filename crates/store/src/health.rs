//! The store's own health, as operators and load balancers need to see it: is there room
//! to write, and has a read or write found damage.
//!
//! - **Disk space** is checked before it runs out, not after: a failed WAL write stops
//!   RocksDB's writes until it recovers. So each group of writes reserves its bytes first
//!   ([`Health::reserve`], a `statvfs` per group: a sample once a second let four fast
//!   writers run through a 144 MB floor in 1.4 s): a group that would take the free space
//!   below `disk_free_min_bytes` (counting its bytes twice: once in the WAL, once in the
//!   table file its memtable becomes) is refused, and so is every write while free space
//!   stays below the floor. [`Health::check_space`] (every second) lets writes through
//!   again as soon as space returns, by itself.
//! - **A real full disk** (another process filled it, or the floor was set too low): RocksDB
//!   refuses every write until it has recovered, which it does by itself once space is
//!   back. Writes are refused meanwhile ([`Condition::DiskFull`]); once a second, while
//!   space is back above the floor, a tiny synced write probes whether RocksDB writes
//!   again, and writes resume when it does, without a restart.
//! - **Damage** (a checksum mismatch, an undecodable record) is reported once per kind with
//!   the file RocksDB names, kept for health and metrics, and logged.
//!
//! Must not touch: decisions (the hot index keeps answering while writes are refused).

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::watch;

/// What the store can do now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    Healthy,
    /// Writes are refused until free space is back above the minimum.
    DiskLow {
        free_bytes: u64,
        min_bytes: u64,
    },
    /// RocksDB met a full disk and refuses writes until it has recovered (see the module
    /// comment: probed once a second while space is back).
    DiskFull {
        detail: String,
    },
    /// RocksDB stopped writing after an error it does not recover from by itself.
    WritesStopped {
        detail: String,
    },
}

impl Condition {
    /// Writes refused, for this reason (an answer for clients).
    pub fn refusal(&self) -> Option<String> {
        match self {
            Condition::Healthy => None,
            Condition::DiskLow { free_bytes, min_bytes } => Some(format!(
                "the server's disk is nearly full ({} MiB free, {} MiB needed): the change was not stored; \
                 retry later",
                free_bytes >> 20,
                min_bytes >> 20
            )),
            Condition::DiskFull { detail } => Some(format!(
                "the server's disk filled up ({detail}): the change was not stored; writes resume by themselves once \
                 there is space, retry later"
            )),
            Condition::WritesStopped { detail } => {
                Some(format!("the store stopped writing after an error ({detail}); the server needs a restart"))
            }
        }
    }
}

/// Shared by the writer, the readers and the server's status reporting.
#[derive(Debug)]
pub struct Health {
    condition: watch::Sender<Condition>,
    disk_free_min_bytes: u64,
    /// Damage found at run time (checksum mismatches, undecodable records).
    pub damage_found: AtomicU64,
    /// Complete verifications of every block (see `storage::verify`).
    pub verified_runs: AtomicU64,
    /// The bytes of the largest group refused since writes were last allowed: writes resume
    /// once that much is free above the floor, not at the first free byte (or the refusal
    /// and the next second's check would alternate while health shows SERVING).
    refused_need: AtomicU64,
    damaged: AtomicBool,
    last_damage: Mutex<Option<String>>,
}

impl Health {
    pub fn new(disk_free_min_bytes: u64) -> Health {
        Health {
            condition: watch::Sender::new(Condition::Healthy),
            disk_free_min_bytes,
            damage_found: AtomicU64::new(0),
            verified_runs: AtomicU64::new(0),
            refused_need: AtomicU64::new(0),
            damaged: AtomicBool::new(false),
            last_damage: Mutex::new(None),
        }
    }

    /// Writes are refused while less is free.
    pub fn disk_free_min_bytes(&self) -> u64 {
        self.disk_free_min_bytes
    }

    pub fn condition(&self) -> Condition {
        self.condition.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Condition> {
        self.condition.subscribe()
    }

    /// Measures the free space under `dir` and refuses or allows writes accordingly. A
    /// stopped store stays stopped; a store that met a full disk stays so until
    /// [`Health::recovered`]. Returns the free bytes.
    pub fn check_space(&self, dir: &Path) -> Option<u64> {
        let free = match rustix::fs::statvfs(dir) {
            Ok(s) => s.f_bavail.saturating_mul(s.f_frsize),
            Err(e) => {
                tracing::warn!(error = %e, "cannot measure free disk space");
                return None;
            }
        };
        self.update(free, 0);
        Some(free)
    }

    /// Before a group of writes of `bytes`: whether the free space under `dir` stays above
    /// the floor after it. Refuses (and reports DiskLow) when it would not.
    pub fn reserve(&self, dir: &Path, bytes: u64) -> bool {
        match rustix::fs::statvfs(dir) {
            Ok(s) => self.update(s.f_bavail.saturating_mul(s.f_frsize), bytes.saturating_mul(2)),
            // Unmeasurable: RocksDB's own error is the last word.
            Err(_) => true,
        }
    }

    /// RocksDB wrote again after a full disk: writes resume.
    pub fn recovered(&self) {
        self.condition.send_if_modified(|c| {
            if !matches!(c, Condition::DiskFull { .. }) {
                return false;
            }
            tracing::warn!("the store writes again after a full disk");
            *c = Condition::Healthy;
            true
        });
    }

    /// Whether RocksDB met a full disk and has not been seen writing since.
    pub fn is_disk_full(&self) -> bool {
        matches!(*self.condition.borrow(), Condition::DiskFull { .. })
    }

    /// Records RocksDB's full-disk error: writes are refused until it writes again.
    pub fn disk_full(&self, detail: String) {
        tracing::error!(%detail, "the disk filled up: refusing writes until RocksDB writes again");
        self.condition.send_replace(Condition::DiskFull { detail });
    }

    /// The floor's verdict on `free` bytes with `need` more to be written; whether writes
    /// may go ahead.
    fn update(&self, free: u64, need: u64) -> bool {
        let min = self.disk_free_min_bytes;
        let low = free < min.saturating_add(need.max(self.refused_need.load(Ordering::Relaxed)));
        if low {
            self.refused_need.fetch_max(need, Ordering::Relaxed);
        } else {
            self.refused_need.store(0, Ordering::Relaxed);
        }
        let mut allowed = !low;
        self.condition.send_if_modified(|c| {
            let next = match c {
                Condition::WritesStopped { .. } | Condition::DiskFull { .. } => {
                    allowed = false;
                    return false;
                }
                _ if low => Condition::DiskLow { free_bytes: free, min_bytes: min },
                _ => Condition::Healthy,
            };
            // Report changes of state, not every new free-byte count.
            let changed = std::mem::discriminant(c) != std::mem::discriminant(&next);
            match (&next, changed) {
                (Condition::DiskLow { .. }, true) => {
                    tracing::error!(free_bytes = free, min_bytes = min, "disk nearly full: refusing writes");
                }
                (Condition::Healthy, true) => tracing::warn!(free_bytes = free, "disk space is back: writing again"),
                _ => {}
            }
            *c = next;
            changed
        });
        allowed
    }

    /// Records a write error RocksDB does not recover from by itself.
    pub fn writes_stopped(&self, detail: String) {
        tracing::error!(%detail, "the store stopped writing");
        self.condition.send_replace(Condition::WritesStopped { detail });
    }

    /// Records damage found while reading or writing; `detail` names the file when RocksDB
    /// does.
    pub fn damage(&self, detail: &str) {
        self.damage_found.fetch_add(1, Ordering::Relaxed);
        self.damaged.store(true, Ordering::Relaxed);
        tracing::error!(detail, "data damage found in the store");
        if let Ok(mut last) = self.last_damage.lock() {
            *last = Some(detail.to_owned());
        }
    }

    /// The last damage found, if any.
    pub fn last_damage(&self) -> Option<String> {
        if !self.damaged.load(Ordering::Relaxed) {
            return None;
        }
        self.last_damage.lock().ok().and_then(|g| g.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_disk_refuses_and_recovers_by_itself() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let h = Health::new(u64::MAX);
        h.check_space(dir.path());
        assert!(matches!(h.condition(), Condition::DiskLow { .. }));
        assert!(h.condition().refusal().is_some_and(|r| r.contains("disk")));
        let h2 = Health { disk_free_min_bytes: 0, ..Health::new(0) };
        h2.condition.send_replace(Condition::DiskLow { free_bytes: 0, min_bytes: 1 });
        h2.check_space(dir.path());
        assert_eq!(h2.condition(), Condition::Healthy);
        h2.writes_stopped("boom".to_owned());
        h2.check_space(dir.path());
        assert!(matches!(h2.condition(), Condition::WritesStopped { .. }));
    }

    #[test]
    fn a_group_reserves_its_bytes_and_a_full_disk_waits_for_rocksdb() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let free = rustix::fs::statvfs(dir.path()).map(|s| s.f_bavail * s.f_frsize).unwrap_or_else(|e| panic!("{e}"));
        // A floor just below the free space: a small group fits, a large one does not.
        let h = Health::new(free.saturating_sub(64 << 20));
        assert!(h.reserve(dir.path(), 1 << 20));
        assert_eq!(h.condition(), Condition::Healthy);
        assert!(!h.reserve(dir.path(), 64 << 20));
        assert!(matches!(h.condition(), Condition::DiskLow { .. }));
        assert!(h.check_space(dir.path()).is_some());
        assert!(matches!(h.condition(), Condition::DiskLow { .. }), "not before the refused group fits");
        let h = Health::new(free.saturating_sub(64 << 20));
        assert!(!h.reserve(dir.path(), 64 << 20));
        h.refused_need.store(0, Ordering::Relaxed);
        assert!(h.check_space(dir.path()).is_some());
        assert_eq!(h.condition(), Condition::Healthy, "space is back");
        h.disk_full("No space left on device".to_owned());
        assert!(h.is_disk_full() && !h.reserve(dir.path(), 1));
        h.check_space(dir.path());
        assert!(h.is_disk_full(), "only RocksDB writing again ends it");
        assert!(h.condition().refusal().is_some_and(|r| r.contains("resume by themselves")));
        h.recovered();
        assert_eq!(h.condition(), Condition::Healthy);
    }

    #[test]
    fn damage_is_kept_for_reports() {
        let h = Health::new(0);
        assert_eq!(h.last_damage(), None);
        h.damage("block checksum mismatch in /x/000012.sst");
        assert_eq!(h.damage_found.load(Ordering::Relaxed), 1);
        assert!(h.last_damage().is_some_and(|d| d.contains("000012.sst")));
    }
}
