//! The store's own health, as operators and load balancers need to see it: is there room
//! to write, and has a read or write found damage.
//!
//! - **Disk space** is checked before it runs out, not after: RocksDB stops writing for
//!   good after a failed WAL write (only a restart, which needs space, brings it back). So
//!   [`Health::check_space`] (called every second) refuses writes while the data
//!   directory's file system has less than `disk_free_min_bytes` free, and lets them
//!   through again as soon as space returns, by itself.
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
    damaged: AtomicBool,
    last_damage: Mutex<Option<String>>,
}

impl Health {
    pub fn new(disk_free_min_bytes: u64) -> Health {
        Health {
            condition: watch::Sender::new(Condition::Healthy),
            disk_free_min_bytes,
            damage_found: AtomicU64::new(0),
            damaged: AtomicBool::new(false),
            last_damage: Mutex::new(None),
        }
    }

    pub fn condition(&self) -> Condition {
        self.condition.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Condition> {
        self.condition.subscribe()
    }

    /// Measures the free space under `dir` and refuses or allows writes accordingly. A
    /// stopped store stays stopped.
    pub fn check_space(&self, dir: &Path) {
        let free = match rustix::fs::statvfs(dir) {
            Ok(s) => s.f_bavail.saturating_mul(s.f_frsize),
            Err(e) => {
                tracing::warn!(error = %e, "cannot measure free disk space");
                return;
            }
        };
        let min = self.disk_free_min_bytes;
        self.condition.send_if_modified(|c| {
            let next = match c {
                Condition::WritesStopped { .. } => return false,
                _ if free < min => Condition::DiskLow { free_bytes: free, min_bytes: min },
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
    fn damage_is_kept_for_reports() {
        let h = Health::new(0);
        assert_eq!(h.last_damage(), None);
        h.damage("block checksum mismatch in /x/000012.sst");
        assert_eq!(h.damage_found.load(Ordering::Relaxed), 1);
        assert!(h.last_damage().is_some_and(|d| d.contains("000012.sst")));
    }
}
