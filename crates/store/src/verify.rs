//! Verification of every stored block. RocksDB checks a block's checksum when it reads the
//! block, so damage in a block nothing has read yet stays hidden until a request needs it
//! (start-up reads only the `index`, `config` and `meta` families whole). A scan of every
//! column family with checksums verified and the block cache bypassed reads each data block
//! once: damage is then found after start, reported through health and metrics
//! ([`super::health::Health::damage`]), before a request meets it. RocksDB's own
//! `VerifyChecksum` is not in its C API, which the `rocksdb` crate wraps; the scan reads the
//! same blocks.
//!
//! Must not touch: any state. Reads only, through the block cache's back door (no fill), so
//! the blocks serving requests stay cached.

use std::sync::atomic::Ordering;

use super::Store;
use super::codec::ALL_CFS;

/// What one verification read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries read, every column family together.
    pub entries: u64,
    /// Bytes of keys and values read.
    pub bytes: u64,
    /// Damage found: one line per column family that has some, naming the file when RocksDB
    /// does. A scan stops at the first damaged block of a family.
    pub damage: Vec<String>,
}

impl Store {
    /// Reads every block of every column family, checksums verified; reports damage to the
    /// store's health as it is found. Takes as long as reading the whole store once.
    pub fn verify(&self) -> VerifyReport {
        let shared = self.shared();
        let mut report = VerifyReport::default();
        for name in ALL_CFS {
            let Some(cf) = shared.db.cf_handle(name) else {
                report.damage.push(format!("column family `{name}` is missing"));
                continue;
            };
            let mut read = rocksdb::ReadOptions::default();
            read.set_verify_checksums(true);
            read.fill_cache(false);
            read.set_readahead_size(2 << 20);
            let mut iter = shared.db.raw_iterator_cf_opt(cf, read);
            iter.seek_to_first();
            while let (Some(k), Some(v)) = (iter.key(), iter.value()) {
                report.entries += 1;
                report.bytes += (k.len() + v.len()) as u64;
                iter.next();
            }
            if let Err(e) = iter.status() {
                let detail = format!("column family `{name}`: {e}");
                shared.health.damage(&detail);
                report.damage.push(detail);
            }
        }
        shared.health.verified_runs.fetch_add(1, Ordering::Relaxed);
        report
    }
}
