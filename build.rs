//! `scripts/release.sh` links the RocksDB archive an earlier `--release` build compiled
//! (`ROCKSDB_LIB_DIR`) instead of compiling RocksDB's C++ again for the `dist` profile; that
//! archive needs the C++ standard library, which only RocksDB's own compile step names.
fn main() {
    println!("cargo:rerun-if-env-changed=ROCKSDB_LIB_DIR");
    if std::env::var_os("ROCKSDB_LIB_DIR").is_some() {
        println!("cargo:rustc-link-lib=stdc++");
    }
}
