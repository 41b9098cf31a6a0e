//! What `consentd` does on a stopped server's data directory instead of serving: create an
//! admin key when every key is lost, rotate the edge's link key or the receipt key, verify every stored block.
//! Each opens the store itself, which is refused while a server holds the directory, and
//! each works on a standalone directory only (a cluster node's directory is not the
//! cluster's: keys come through the log there).

use crate::api::auth::Scope;
use crate::storage::{StorageError, Store, StoreOptions, system_clock};

/// The offline operations, as the binary's flags name them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `--create-admin-key DESCRIPTION`
    CreateAdminKey(String),
    /// `--rotate-link-key`
    RotateLinkKey,
    /// `--rotate-receipt-key`
    RotateReceiptKey,
    /// `consentd verify`
    Verify,
}

#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error(
        "{0} works on a standalone data directory only; in cluster mode create API keys through AdminService (every local caller may while no key exists) and rotate link or receipt keys with `consentctl key rotate-signing link|receipt` (AdminService.RotateSigningKey), which every node applies alike"
    )]
    ClusterMode(&'static str),
    #[error("`{0}` holds no store to verify")]
    NoStore(String),
    #[error("opening the store (is a server still running on this data directory?): {0}")]
    Open(StorageError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0} column families hold damaged blocks")]
    Damaged(usize),
}

impl Operation {
    pub fn flag(&self) -> &'static str {
        match self {
            Operation::CreateAdminKey(_) => "--create-admin-key",
            Operation::RotateLinkKey => "--rotate-link-key",
            Operation::RotateReceiptKey => "--rotate-receipt-key",
            Operation::Verify => "verify",
        }
    }

    /// Runs the operation on `data_dir`, printing what it did for the operator.
    pub fn run(&self, data_dir: &std::path::Path, cluster_mode: bool) -> Result<(), OfflineError> {
        if cluster_mode && *self != Operation::Verify {
            return Err(OfflineError::ClusterMode(self.flag()));
        }
        match self {
            Operation::CreateAdminKey(description) => {
                println!("{}", create_admin_key(data_dir, description)?);
                Ok(())
            }
            Operation::RotateLinkKey => {
                let store = open(data_dir)?;
                let id = store.rotate_link_key()?;
                store.flush()?;
                println!("link key {id} signs from now on");
                Ok(())
            }
            Operation::RotateReceiptKey => {
                let store = open(data_dir)?;
                let id = store.rotate_receipt_key()?;
                store.flush()?;
                println!("receipt key {id} signs from now on");
                Ok(())
            }
            Operation::Verify => verify(data_dir),
        }
    }
}

fn open(data_dir: &std::path::Path) -> Result<Store, OfflineError> {
    Store::open(data_dir, StoreOptions::new(system_clock())).map(|(s, _)| s).map_err(OfflineError::Open)
}

/// Offline recovery: opens the store in `data_dir` (which fails while a server holds it),
/// adds an unrestricted admin key and returns `<key_id>.<secret>`.
pub fn create_admin_key(data_dir: &std::path::Path, description: &str) -> Result<String, OfflineError> {
    let store = open(data_dir)?;
    let (key_id, secret) = crate::api::auth::new_key_material();
    store.put_api_key_sync(crate::storage::view::ApiKey {
        key_id: key_id.clone(),
        description: description.to_owned(),
        secret_hash: crate::api::auth::hash_secret(&secret),
        scopes: vec![Scope::Check, Scope::Write, Scope::Admin],
        profile_ids: Vec::new(),
        revoked: false,
        created_at: store.now_us().div_euclid(1_000_000),
        expires_at: None,
    })?;
    store.flush()?;
    tracing::warn!(%key_id, "admin key created offline");
    Ok(format!("{key_id}.{secret}"))
}

/// `consentd verify`: reads every block with checksums verified, prints what it found;
/// an error when there is damage.
fn verify(data_dir: &std::path::Path) -> Result<(), OfflineError> {
    if crate::storage::guard::holds_no_store(data_dir) {
        return Err(OfflineError::NoStore(data_dir.display().to_string()));
    }
    let (store, stats) = Store::open(data_dir, StoreOptions::new(system_clock())).map_err(OfflineError::Open)?;
    let report = store.verify();
    println!(
        "{}: revision {}, {} contact points, {} entries ({} MiB) read with checksums verified",
        data_dir.display(),
        stats.revision,
        stats.contacts,
        report.entries,
        report.bytes >> 20
    );
    if report.damage.is_empty() {
        println!("no damage found");
        return Ok(());
    }
    for d in &report.damage {
        println!("damage: {d}");
    }
    Err(OfflineError::Damaged(report.damage.len()))
}
