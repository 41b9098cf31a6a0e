//! `scripts/fuzz.sh` links the RocksDB archive the main build already compiled
//! (`ROCKSDB_LIB_DIR`), instead of compiling RocksDB's C++ a second time; that archive
//! needs the C++ standard library, which only RocksDB's own compile step would add.
fn main() {
    println!("cargo:rerun-if-env-changed=ROCKSDB_LIB_DIR");
    if std::env::var_os("ROCKSDB_LIB_DIR").is_some() {
        println!("cargo:rustc-link-lib=stdc++");
    }
}
