//! Damaged data directories, with the real binary on a real directory: a start that would
//! lose acknowledged changes is refused with a message naming the file, and no file is
//! lost by trying.

use std::collections::BTreeSet;
use std::path::Path;

use consentd::api::pb;
use consentd::api::pb::ConsentStatus::OptedIn;

use crate::support::*;

const CONTACTS: usize = 40;

fn files(dir: &Path, ext: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("ls")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ext))
        .collect()
}

/// The pre-open copy a refused start left behind.
fn kept_copy(dir: &Path) -> std::path::PathBuf {
    let guard = dir.join("guard");
    let mut copies: Vec<_> = std::fs::read_dir(&guard).expect("guard dir").filter_map(|e| e.ok()).collect();
    assert_eq!(copies.len(), 1, "one kept copy per refused start");
    copies.remove(0).path()
}

async fn consent_client(port: u16) -> Consent {
    pb::consent_service_client::ConsentServiceClient::with_interceptor(connect(port).await, TestServer::auth(None))
}

/// Starts the binary, creates the profile and writes `CONTACTS` opt-ins; returns the child.
async fn populate(dir: &Path) -> (std::process::Child, u16) {
    let port = free_port();
    let child = spawn(dir, port, &[]);
    let mut admin =
        pb::admin_service_client::AdminServiceClient::with_interceptor(connect(port).await, TestServer::auth(None));
    seed(&mut admin, None).await;
    let mut consent = consent_client(port).await;
    for i in 0..CONTACTS {
        set(&mut consent, change(&format!("u{i}@example.com"), "newsletter", "", OptedIn)).await;
    }
    (child, port)
}

async fn count_opted_in(port: u16) -> usize {
    let mut consent = consent_client(port).await;
    let mut n = 0;
    for i in 0..CONTACTS {
        let got = consent
            .get_consent(pb::GetConsentRequest {
                profile_id: "acme".into(),
                channel: pb::Channel::Email as i32,
                contact_point: format!("u{i}@example.com"),
            })
            .await
            .expect("get")
            .into_inner();
        n += usize::from(got.records.iter().any(|r| r.status == OptedIn as i32));
    }
    n
}

fn stop(mut child: std::process::Child) {
    signal(&child, "TERM");
    let status = child.wait().expect("wait");
    assert!(status.success(), "clean stop failed: {status}");
}

#[tokio::test]
async fn a_truncated_manifest_is_refused_and_every_file_is_kept() {
    let dir = tempfile::tempdir().expect("dir");
    let (child, _) = populate(dir.path()).await;
    stop(child);
    let tables = files(dir.path(), ".sst");
    assert!(!tables.is_empty(), "a clean stop flushes to table files");
    let manifest = std::fs::read_to_string(dir.path().join("CURRENT")).expect("CURRENT").trim().to_owned();
    let original = std::fs::read(dir.path().join(&manifest)).expect("manifest");
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join(&manifest))
        .expect("open")
        .set_len(131)
        .expect("truncate");

    let said = refused_start(dir.path());
    assert!(said.contains(&manifest), "the message names the MANIFEST: {said}");
    assert!(said.contains("guard"), "the message says where the files are kept: {said}");
    // Every table file is still there, and a copy of the directory as it was.
    assert!(tables.is_subset(&files(dir.path(), ".sst")), "table files were deleted");
    let copy = kept_copy(dir.path());
    assert!(tables.is_subset(&files(&copy, ".sst")));
    // A second try refuses again and changes nothing either.
    refused_start(dir.path());
    assert!(tables.is_subset(&files(dir.path(), ".sst")));

    // With the MANIFEST repaired (here: put back), the store opens with every contact.
    std::fs::write(dir.path().join(&manifest), original).expect("restore");
    std::fs::remove_dir_all(dir.path().join("guard")).expect("clear guard");
    let port = free_port();
    let child = spawn(dir.path(), port, &[]);
    assert_eq!(count_opted_in(port).await, CONTACTS);
    stop(child);
}

#[tokio::test]
async fn a_missing_current_file_is_not_a_new_store() {
    let dir = tempfile::tempdir().expect("dir");
    let (child, _) = populate(dir.path()).await;
    stop(child);
    let tables = files(dir.path(), ".sst");
    std::fs::remove_file(dir.path().join("CURRENT")).expect("rm CURRENT");
    let said = refused_start(dir.path());
    assert!(said.contains("CURRENT"), "{said}");
    assert_eq!(files(dir.path(), ".sst"), tables);
}

/// After a kill -9, the newest WAL holds acknowledged changes that are in no table file.
async fn killed_with_unflushed_writes(dir: &Path) -> String {
    // Killed right after the last acknowledged write.
    let (mut child, _) = populate(dir).await;
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let logs = files(dir, ".log");
    logs.into_iter().max().expect("a WAL file")
}

#[tokio::test]
async fn a_deleted_wal_with_acknowledged_writes_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let wal = killed_with_unflushed_writes(dir.path()).await;
    std::fs::remove_file(dir.path().join(&wal)).expect("rm wal");
    let said = refused_start(dir.path());
    assert!(said.contains("cannot be used"), "{said}");
    assert!(dir.path().join("guard").exists(), "the files before the start are kept");
}

#[tokio::test]
async fn a_cut_wal_with_acknowledged_writes_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let wal = killed_with_unflushed_writes(dir.path()).await;
    let path = dir.path().join(&wal);
    let len = std::fs::metadata(&path).expect("meta").len();
    assert!(len > 50, "the WAL holds the writes");
    std::fs::OpenOptions::new().write(true).open(&path).expect("open").set_len(len - 50).expect("cut");
    let said = refused_start(dir.path());
    assert!(said.contains("cannot be used"), "{said}");
}

#[tokio::test]
async fn an_intact_directory_after_a_kill_opens_with_every_write() {
    let dir = tempfile::tempdir().expect("dir");
    killed_with_unflushed_writes(dir.path()).await;
    let port = free_port();
    let child = spawn(dir.path(), port, &[]);
    assert_eq!(count_opted_in(port).await, CONTACTS);
    assert!(!dir.path().join("guard").exists(), "a good start keeps no copy");
    stop(child);
}

#[tokio::test]
async fn damage_found_at_run_time_is_named_and_reported() {
    let (dir, _) = with_a_damaged_state_block().await;
    let server = TestServer::start_in(dir, |_| {}).await;
    let mut consent = server.consent(None).await;
    // Some contact's record sits in the damaged block.
    let mut failures = Vec::new();
    for i in 0..CONTACTS {
        let r = consent
            .get_consent(pb::GetConsentRequest {
                profile_id: "acme".into(),
                channel: pb::Channel::Email as i32,
                contact_point: format!("u{i}@example.com"),
            })
            .await;
        if let Err(e) = r {
            failures.push(e);
        }
    }
    let err = failures.first().expect("a read of the damaged block fails");
    assert_eq!(err.code(), tonic::Code::Internal, "{err:?}");
    // Each failed read is counted (and the verification after start may have found it too).
    assert!(server.metric("consentd_storage_damage_found_total").await >= failures.len() as f64);
    assert!(server.reports_not_serving("consentd.storage").await, "health must report damage");
    server.stop().await;
}

/// Writes `CONTACTS` opt-ins through a test server, stops it and flips bytes inside the data
/// blocks of its `state` table file; returns the directory and that file's path.
async fn with_a_damaged_state_block() -> (tempfile::TempDir, std::path::PathBuf) {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    for i in 0..CONTACTS {
        set(&mut consent, change(&format!("u{i}@example.com"), "newsletter", "", OptedIn)).await;
    }
    let dir = server.stop().await;
    // Start-up only reads the index and the table metadata, so the damage shows when a
    // record is read.
    let state_file = {
        let cfs = ["default", "state", "index", "history", "changes", "config", "idem", "meta"];
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir.path(), cfs).expect("raw open");
        let files = db.live_files().expect("live files");
        files.into_iter().find(|f| f.column_family_name == "state").expect("a state table").name
    };
    let path = dir.path().join(state_file.trim_start_matches('/'));
    let mut bytes = std::fs::read(&path).expect("read");
    for b in bytes.iter_mut().skip(100).take(64) {
        *b ^= 0x55;
    }
    std::fs::write(&path, bytes).expect("write");
    (dir, path)
}

#[tokio::test]
async fn damage_no_request_has_read_is_found_after_start() {
    let (dir, path) = with_a_damaged_state_block().await;
    let file = path.file_name().expect("name").to_string_lossy().into_owned();
    // Offline, while no server runs: `consentd verify` names the file and exits 1.
    let out = std::process::Command::new(consentd_bin())
        .arg("verify")
        .args(["--metrics-addr", "off", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "error")
        .output()
        .expect("consentd verify");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "verify found nothing: {said}");
    assert!(said.contains("state") && said.contains(&file), "verify names the family and the file: {said}");
    // A server finds it by itself after start, before any request reads the block.
    let server = TestServer::start_in(dir, |_| {}).await;
    assert!(server.reports_not_serving("consentd.storage").await, "health must report damage found by verification");
    assert!(server.metric("consentd_storage_damage_found_total").await >= 1.0);
    server.stop().await;
}

#[tokio::test]
async fn verify_passes_an_intact_store() {
    let dir = tempfile::tempdir().expect("dir");
    let (child, _) = populate(dir.path()).await;
    stop(child);
    let out = std::process::Command::new(consentd_bin())
        .arg("verify")
        .args(["--metrics-addr", "off", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("consentd verify");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.contains("no damage found"), "{said}");
}
