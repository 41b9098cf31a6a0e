//! The store across restarts: state and revisions survive, tampering with history is
//! detected, and a damaged data directory is refused at start-up.

use consentd::api::pb;
use consentd::api::pb::ConsentStatus::{OptedIn, OptedOut};
use consentd::storage::{Store, StoreOptions, system_clock};

use crate::support::*;

type KeyValue = (Box<[u8]>, Box<[u8]>);

async fn history(consent: &mut Consent, cp: &str) -> pb::GetHistoryResponse {
    consent
        .get_history(pb::GetHistoryRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: cp.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("history")
        .into_inner()
}

#[tokio::test]
async fn state_survives_a_restart_and_tampering_is_detected() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    for status in [OptedIn, OptedOut, OptedIn] {
        set(&mut consent, change("jane@example.com", "newsletter", "", status)).await;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let last = set(&mut consent, change("john@example.com", "newsletter", "", OptedOut)).await;
    let dir = server.stop().await;

    // Restart: decisions, records and the revision come back from disk.
    let server = TestServer::start_in(dir, |_| {}).await;
    let mut d = server.decision(None).await;
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "jane@example.com", "newsletter", "").await),
        pb::Reason::OptedIn
    );
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "john@example.com", "newsletter", "").await),
        pb::Reason::PurposeOptedOut
    );
    let mut consent = server.consent(None).await;
    let next = set(&mut consent, change("new@example.com", "invoices", "", OptedOut)).await;
    assert_eq!(next.revision, last.revision + 1, "revisions continue after a restart");
    assert!(history(&mut consent, "jane@example.com").await.verification.expect("v").intact);
    let dir = server.stop().await;

    // Edit the second event of jane's chain in place, as someone rewriting history would.
    {
        let cfs = ["default", "state", "index", "history", "changes", "config", "idem", "meta"];
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir.path(), cfs).expect("raw open");
        let cf = db.cf_handle("history").expect("cf");
        let entries: Vec<KeyValue> =
            db.iterator_cf(cf, rocksdb::IteratorMode::Start).map(|e| e.expect("entry")).collect();
        let chains: std::collections::BTreeMap<Vec<u8>, usize> =
            entries.iter().fold(Default::default(), |mut m, (k, _)| {
                *m.entry(k[..16].to_vec()).or_default() += 1;
                m
            });
        let jane = chains.iter().find(|(_, n)| **n == 3).map(|(k, _)| k.clone()).expect("jane's chain");
        let (key, value) =
            entries.iter().find(|(k, _)| k[..16] == jane[..] && k[16..] == 2u64.to_be_bytes()).expect("event 2");
        let mut edited = value.to_vec();
        let pos = edited.windows(b"preference".len()).position(|w| w == b"preference").unwrap_or(edited.len() / 2);
        edited[pos] ^= 0x01;
        db.put_cf(cf, key, edited).expect("edit");
        // And remove the only event of every one-event chain (john's among them).
        for (chain, _) in chains.iter().filter(|(_, n)| **n == 1) {
            let mut k = chain.clone();
            k.extend_from_slice(&1u64.to_be_bytes());
            db.delete_cf(cf, k).expect("delete");
        }
        db.flush_cf(cf).expect("flush");
    }
    let server = TestServer::start_in(dir, |_| {}).await;
    let mut consent = server.consent(None).await;
    let v = history(&mut consent, "jane@example.com").await.verification.expect("v");
    assert!(!v.intact, "{v:?}");
    assert_eq!(v.first_broken_seq, 2, "{v:?}");
    let v = history(&mut consent, "john@example.com").await.verification.expect("v");
    assert!(!v.intact && v.first_broken_seq == 1, "{v:?}");
    server.stop().await;
}

async fn history_page(consent: &mut Consent, cp: &str, page_token: String) -> pb::GetHistoryResponse {
    consent
        .get_history(pb::GetHistoryRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: cp.into(),
            page_size: 1,
            page_token,
        })
        .await
        .expect("history")
        .into_inner()
}

/// #23: paging through a long history verifies the whole chain on every page, but reads
/// it once: later pages read only what was appended since. A short chain is read whole
/// each time, and after a restart the first call reads the whole chain again, so damage
/// done while the server was down is found.
#[tokio::test]
async fn paging_a_long_history_reads_its_chain_once() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let requests: Vec<pb::SetConsentRequest> = (0..300)
        .map(|i| pb::SetConsentRequest {
            change: Some(change("jane@example.com", "newsletter", "", if i % 2 == 0 { OptedIn } else { OptedOut })),
            idempotency_key: format!("long-{i}"),
        })
        .collect();
    for chunk in requests.chunks(100) {
        consent
            .batch_set_consent(pb::BatchSetConsentRequest { requests: chunk.to_vec(), validate_only: false })
            .await
            .expect("batch");
    }
    let first = history_page(&mut consent, "jane@example.com", String::new()).await;
    let v = first.verification.expect("v");
    assert!(v.intact && v.events_checked == 300 && v.events_read == 300, "{v:?}");
    let second = history_page(&mut consent, "jane@example.com", first.next_page_token).await;
    assert_eq!(second.events[0].seq, 2);
    let v = second.verification.expect("v");
    assert!(v.intact && v.events_checked == 300 && v.events_read == 0, "{v:?}");
    set(&mut consent, change("jane@example.com", "newsletter", "", OptedOut)).await;
    let v = history_page(&mut consent, "jane@example.com", String::new()).await.verification.expect("v");
    assert!(v.intact && v.events_checked == 301 && v.events_read == 1, "{v:?}");
    for _ in 0..2 {
        set(&mut consent, change("john@example.com", "newsletter", "", OptedOut)).await;
        let v = history_page(&mut consent, "john@example.com", String::new()).await.verification.expect("v");
        assert_eq!(v.events_read, v.events_checked, "a short chain is read whole: {v:?}");
    }
    let dir = server.stop().await;
    // Event 150 edited while the server is down.
    {
        let cfs = ["default", "state", "index", "history", "changes", "config", "idem", "meta"];
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir.path(), cfs).expect("raw open");
        let cf = db.cf_handle("history").expect("cf");
        let entries: Vec<KeyValue> =
            db.iterator_cf(cf, rocksdb::IteratorMode::Start).map(|e| e.expect("entry")).collect();
        let (key, value) = entries.iter().find(|(k, _)| k[16..] == 150u64.to_be_bytes()).expect("event 150");
        let mut edited = value.to_vec();
        let at = edited.len() / 2;
        edited[at] ^= 0x01;
        db.put_cf(cf, key, edited).expect("edit");
        db.flush_cf(cf).expect("flush");
    }
    let server = TestServer::start_in(dir, |_| {}).await;
    let mut consent = server.consent(None).await;
    let v = history_page(&mut consent, "jane@example.com", String::new()).await.verification.expect("v");
    assert!(!v.intact && v.first_broken_seq == 150, "{v:?}");
    server.stop().await;
}

fn open(dir: &std::path::Path) -> Result<(Store, consentd::storage::OpenStats), consentd::storage::StorageError> {
    Store::open(dir, StoreOptions::new(system_clock()))
}

#[tokio::test]
async fn a_damaged_data_directory_is_refused_with_a_clear_message() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    for i in 0..50 {
        set(&mut consent, change(&format!("u{i}@example.com"), "newsletter", "", OptedIn)).await;
    }
    let dir = server.stop().await;
    let ssts: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sst"))
        .collect();
    assert!(!ssts.is_empty(), "a clean stop flushes to table files");

    // Truncate one table file: opening must fail, naming the directory.
    let copy = tempfile::tempdir().expect("dir");
    for e in std::fs::read_dir(dir.path()).expect("ls").filter_map(Result::ok) {
        std::fs::copy(e.path(), copy.path().join(e.file_name())).expect("copy");
    }
    let victim = copy.path().join(ssts[0].file_name().expect("name"));
    let len = std::fs::metadata(&victim).expect("meta").len();
    std::fs::OpenOptions::new().write(true).open(&victim).expect("open").set_len(len / 2).expect("truncate");
    let err = open(copy.path()).err().map(|e| e.to_string()).expect("refused");
    assert!(err.contains("cannot be used") && err.contains(&copy.path().display().to_string()), "{err}");

    // Corrupt bytes in the middle of every table file: refused too (checksums are verified
    // while the hot index is loaded, before any decision is served).
    let copy2 = tempfile::tempdir().expect("dir");
    for e in std::fs::read_dir(dir.path()).expect("ls").filter_map(Result::ok) {
        std::fs::copy(e.path(), copy2.path().join(e.file_name())).expect("copy");
    }
    for sst in &ssts {
        let p = copy2.path().join(sst.file_name().expect("name"));
        let mut bytes = std::fs::read(&p).expect("read");
        for b in bytes.iter_mut().take(200).skip(50) {
            *b ^= 0xff;
        }
        std::fs::write(&p, bytes).expect("write");
    }
    assert!(open(copy2.path()).is_err(), "corrupted tables must not open");

    // The untouched original still opens with every contact.
    let (_store, stats) = open(dir.path()).expect("original opens");
    assert_eq!(stats.contacts, 50);
}
