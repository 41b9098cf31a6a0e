//! A node that comes back by itself (#23): kills during start-up and during the very first
//! start, a start refused for a full disk, and health while writes are refused. The real
//! binary on real directories; the disk-full tests on a small tmpfs of their own.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use consentd::api::pb;
use consentd::api::pb::ConsentStatus::OptedIn;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::*;

/// A tiny deterministic generator, so a failing run can be replayed from its seed.
struct Lcg(u64);

impl Lcg {
    fn from_env() -> (Lcg, u64) {
        let seed = std::env::var("CONSENTD_CRASH_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| crate::support::now_us() as u64);
        (Lcg(seed), seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// A moment in `[0, max]`.
    fn moment(&mut self, max: Duration) -> Duration {
        let us = u64::try_from(max.as_micros()).unwrap_or(u64::MAX).max(1);
        Duration::from_micros(self.next() % (us + 1))
    }
}

/// A `consentd` process, killed when dropped: a failing test leaves none behind.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn launch(dir: &Path, port: u16, extra: &[&str]) -> Node {
    Node(spawn(dir, port, extra))
}

/// The health of `service` (`""`: the whole server), or `None` while nothing answers.
async fn health(port: u16, service: &str) -> Option<i32> {
    let ep = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("url")
        .connect_timeout(Duration::from_millis(500))
        .timeout(Duration::from_millis(500));
    let ch = ep.connect().await.ok()?;
    let mut client = tonic_health::pb::health_client::HealthClient::new(ch);
    let r = client.check(tonic_health::pb::HealthCheckRequest { service: service.into() }).await.ok()?;
    Some(r.into_inner().status)
}

/// Waits until the child serves (health answers), or says why it never will (it exited).
async fn wait_serving(node: &mut Node, port: u16) -> Result<(), String> {
    let child = &mut node.0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Err(format!("consentd exited during start-up: {status}"));
        }
        if health(port, "").await.is_some() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("consentd did not serve within 60 s".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Starts the binary and waits until it serves; returns how long start-up took.
async fn start_serving(dir: &Path, port: u16, extra: &[&str]) -> (Node, Duration) {
    let started = Instant::now();
    let mut child = launch(dir, port, extra);
    if let Err(e) = wait_serving(&mut child, port).await {
        panic!("{e} on `{}`", dir.display());
    }
    (child, started.elapsed())
}

fn kill(node: Node) {
    drop(node);
}

async fn consent_client(port: u16) -> Consent {
    pb::consent_service_client::ConsentServiceClient::with_interceptor(connect(port).await, TestServer::auth(None))
}

async fn admin_client(port: u16) -> Admin {
    pb::admin_service_client::AdminServiceClient::with_interceptor(connect(port).await, TestServer::auth(None))
}

fn noticed(contact: &str, notice_bytes: usize) -> pb::ConsentChange {
    let mut c = change(contact, "newsletter", "", OptedIn);
    c.proof = Some(pb::Proof { notice_text: "n".repeat(notice_bytes), ..Default::default() });
    c
}

/// Writes `contacts` opt-ins with notices of `notice_bytes` from four clients at once.
async fn write_noticed(port: u16, contacts: usize, notice_bytes: usize) {
    let mut tasks = Vec::new();
    for w in 0..4 {
        let mut consent = consent_client(port).await;
        tasks.push(tokio::spawn(async move {
            for i in (w..contacts).step_by(4) {
                set(&mut consent, noticed(&format!("u{i}@example.com"), notice_bytes)).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
}

async fn count_opted_in(port: u16, contacts: usize) -> usize {
    let mut consent = consent_client(port).await;
    let mut n = 0;
    for i in 0..contacts {
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

/// Copies the guard kept of interrupted or refused starts.
fn guard_copies(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join("guard"))
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_killed_at_any_moment_resumes_by_itself() {
    const CONTACTS: usize = 320;
    let (mut rng, seed_no) = Lcg::from_env();
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    // About 19 MB of WAL that no table file holds yet: the next start replays it, so
    // start-up lasts long enough to be killed in the middle.
    let (child, _) = start_serving(dir.path(), port, &[]).await;
    seed(&mut admin_client(port).await, None).await;
    write_noticed(port, CONTACTS, 60_000).await;
    kill(child);

    let (child, startup) = start_serving(dir.path(), port, &[]).await;
    kill(child);
    // Kills at random moments of start-up, until three of them left a start unfinished
    // (its pre-open copy still there).
    let mut interrupted = 0;
    let mut kills = 0;
    while interrupted < 3 {
        assert!(
            kills < 60,
            "(seed {seed_no}) no kill landed inside start-up in {kills} tries; the test proved nothing"
        );
        kills += 1;
        let at = rng.moment(startup);
        let mut child = launch(dir.path(), port, &[]);
        tokio::time::sleep(at).await;
        let exited = child.0.try_wait().expect("try_wait");
        kill(child);
        if let Some(status) = exited {
            panic!("(seed {seed_no}) start {kills} exited by itself after a start killed in the middle: {status}");
        }
        if !guard_copies(dir.path()).is_empty() {
            interrupted += 1;
        }
    }
    // The next start resumes: it serves by itself with every acknowledged write.
    let (child, _) = start_serving(dir.path(), port, &[]).await;
    assert_eq!(count_opted_in(port, CONTACTS).await, CONTACTS, "(seed {seed_no})");
    assert!(guard_copies(dir.path()).is_empty(), "a start that succeeded keeps no copy");
    println!("{kills} kills during start-up, {interrupted} left it unfinished; the next start served (seed {seed_no})");
    kill(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_killed_at_any_moment_starts_next_time() {
    let (mut rng, seed_no) = Lcg::from_env();
    let port = free_port();
    let probe = tempfile::tempdir().expect("dir");
    let (child, first_start) = start_serving(&probe.path().join("data"), port, &[]).await;
    kill(child);
    for round in 0..12 {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path().join("data");
        // Spread over the first start: each twelfth of it, at a random moment within.
        let slice = first_start / 12;
        let at = slice * round + rng.moment(slice);
        let child = launch(&data, port, &[]);
        tokio::time::sleep(at).await;
        kill(child);
        let mut child = launch(&data, port, &[]);
        if let Err(e) = wait_serving(&mut child, port).await {
            panic!(
                "(seed {seed_no}) round {round}, first start killed after {at:?}: the next start did not serve: {e}"
            );
        }
        // The store is whole: configuration and consent can be written.
        seed(&mut admin_client(port).await, None).await;
        set(&mut consent_client(port).await, change("u0@example.com", "newsletter", "", OptedIn)).await;
        assert_eq!(count_opted_in(port, 1).await, 1);
        kill(child);
    }
}

/// A tmpfs of `mib` MiB mounted on a fresh directory, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` where mounting is not allowed (not root): the caller skips, saying so, unless
    /// `CONSENTD_DISK_TESTS=require` asks for a failure instead.
    fn mount(mib: u64) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("dir");
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m,mode=0755"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert_ne!(
                std::env::var("CONSENTD_DISK_TESTS").as_deref(),
                Ok("require"),
                "cannot mount a tmpfs for the disk-full tests"
            );
            eprintln!("skipped: cannot mount a tmpfs here (needs root); the disk-full tests did not run");
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system but `leave` bytes with one file; returns its path.
    fn fill_leaving(&self, leave: u64) -> PathBuf {
        let path = self.fill();
        let len = std::fs::metadata(&path).expect("filler").len();
        std::fs::OpenOptions::new().write(true).open(&path).expect("filler").set_len(len - leave).expect("shrink");
        path
    }

    /// Fills the file system to the last byte with one file; returns its path.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path).expect("filler");
        for chunk in [1 << 20, 4096, 1] {
            let buf = vec![0u8; chunk];
            while f.write_all(&buf).is_ok() {}
        }
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_refused_for_a_full_disk_starts_once_space_is_back() {
    let Some(fs) = Tmpfs::mount(48) else { return };
    let data = fs.path().join("data");
    let port = free_port();
    let no_floor = ["--disk-free-min-bytes", "0"];
    let (child, _) = start_serving(&data, port, &no_floor).await;
    seed(&mut admin_client(port).await, None).await;
    write_noticed(port, 40, 1000).await;
    kill(child);

    let filler = fs.fill();
    let mut child = launch(&data, port, &no_floor);
    let refused = wait_serving(&mut child, port).await;
    kill(child);
    assert!(refused.is_err(), "a start on a full disk served: the test proved nothing");
    // Tried again while still full: refused again, and nothing sticks.
    let mut child = launch(&data, port, &no_floor);
    assert!(wait_serving(&mut child, port).await.is_err());
    kill(child);

    std::fs::remove_file(filler).expect("free the disk");
    let (child, _) = start_serving(&data, port, &no_floor).await;
    assert_eq!(count_opted_in(port, 40).await, 40);
    assert!(guard_copies(&data).is_empty(), "a start that succeeded keeps no copy");
    kill(child);
}

/// Polls health of `service` until it is `want` (or gives up after ten seconds).
async fn health_becomes(port: u16, service: &str, want: ServingStatus) -> bool {
    for _ in 0..100 {
        if health(port, service).await == Some(want as i32) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_not_serving_while_writes_are_refused() {
    let Some(fs) = Tmpfs::mount(48) else { return };
    let data = fs.path().join("data");
    let port = free_port();
    // A floor of 8 MiB: the filler takes the disk below it.
    let (child, _) = start_serving(&data, port, &["--disk-free-min-bytes", &(8u64 << 20).to_string()]).await;
    seed(&mut admin_client(port).await, None).await;
    assert!(health_becomes(port, "", ServingStatus::Serving).await);
    let filler = fs.fill();
    for service in ["", "consentd.storage", "consent.v1.ConsentService"] {
        assert!(health_becomes(port, service, ServingStatus::NotServing).await, "`{service}` still serving");
    }
    // Decisions are still answered, and say so.
    assert!(health_becomes(port, "consent.v1.DecisionService", ServingStatus::Serving).await);
    std::fs::remove_file(filler).expect("free the disk");
    assert!(health_becomes(port, "", ServingStatus::Serving).await, "health did not come back");
    kill(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_is_private() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let port = free_port();
    let (child, _) = start_serving(&data, port, &[]).await;
    seed(&mut admin_client(port).await, None).await;
    set(&mut consent_client(port).await, change("u0@example.com", "newsletter", "", OptedIn)).await;
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "the data directory");
    let mut files = 0;
    for entry in std::fs::read_dir(&data).expect("ls") {
        let path = entry.expect("entry").path();
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), want, "`{}`", path.display());
        files += 1;
    }
    assert!(files > 3, "the store's files are there");
    kill(child);
}

/// Four clients write opt-ins with 32 KiB notices until the server refuses; returns the
/// contacts acknowledged and the refusals (code, message).
async fn write_until_refused(port: u16, tag: &str) -> (Vec<String>, Vec<tonic::Status>) {
    let mut tasks = Vec::new();
    for w in 0..4 {
        let mut consent = consent_client(port).await;
        let tag = tag.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..100_000 {
                let cp = format!("{tag}{w}-{i}@example.com");
                let req =
                    pb::SetConsentRequest { change: Some(noticed(&cp, 32 << 10)), idempotency_key: String::new() };
                match consent.set_consent(req).await {
                    Ok(_) => acked.push(cp),
                    Err(e) => return (acked, e),
                }
            }
            panic!("the disk never filled");
        }));
    }
    let mut acked = Vec::new();
    let mut refusals = Vec::new();
    for t in tasks {
        let (a, e) = t.await.expect("writer");
        acked.extend(a);
        refusals.push(e);
    }
    (acked, refusals)
}

/// Retries one write until it is taken (writes resume by themselves), for up to 60 s.
async fn write_resumes(port: u16) -> bool {
    let mut consent = consent_client(port).await;
    for _ in 0..600 {
        let req = pb::SetConsentRequest {
            change: Some(change("after@example.com", "newsletter", "", OptedIn)),
            idempotency_key: String::new(),
        };
        if consent.set_consent(req).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn all_opted_in(port: u16, contacts: &[String]) -> bool {
    let mut consent = consent_client(port).await;
    for cp in contacts {
        let got = consent
            .get_consent(pb::GetConsentRequest {
                profile_id: "acme".into(),
                channel: pb::Channel::Email as i32,
                contact_point: cp.clone(),
            })
            .await
            .expect("get")
            .into_inner();
        if !got.records.iter().any(|r| r.status == OptedIn as i32) {
            return false;
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_writers_stop_at_the_floor_and_resume_when_space_is_back() {
    let Some(fs) = Tmpfs::mount(128) else { return };
    let data = fs.path().join("data");
    let port = free_port();
    let floor = 16u64 << 20;
    let (child, _) = start_serving(&data, port, &["--disk-free-min-bytes", &floor.to_string()]).await;
    seed(&mut admin_client(port).await, None).await;
    // 40 MiB free: 24 MiB above the floor for four writers of 32 KiB notices.
    let filler = fs.fill_leaving(40 << 20);
    let (acked, refusals) = write_until_refused(port, "f").await;
    assert!(!acked.is_empty(), "some writes fit above the floor");
    for e in &refusals {
        // Refused at the floor, before RocksDB met a full disk.
        assert_eq!(e.code(), tonic::Code::ResourceExhausted, "{e:?}");
        assert!(e.message().contains("nearly full"), "the floor did not hold: {e:?}");
    }
    std::fs::remove_file(filler).expect("free the disk");
    assert!(write_resumes(port).await, "writes did not resume by themselves");
    assert!(all_opted_in(port, &acked).await, "an acknowledged write is missing");
    kill(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_filled_by_another_process_stops_writes_until_space_is_back_without_a_restart() {
    let Some(fs) = Tmpfs::mount(96) else { return };
    let data = fs.path().join("data");
    let port = free_port();
    // No floor at all: only each group's own bytes are reserved.
    let (child, _) = start_serving(&data, port, &["--disk-free-min-bytes", "0"]).await;
    seed(&mut admin_client(port).await, None).await;
    let filler = fs.fill_leaving(8 << 20);
    let (acked, refusals) = write_until_refused(port, "r").await;
    assert!(!acked.is_empty(), "some writes fit");
    assert!(refusals.iter().all(|e| e.code() == tonic::Code::ResourceExhausted), "{refusals:?}");
    assert!(health_becomes(port, "", ServingStatus::NotServing).await, "health says SERVING on a full disk");
    std::fs::remove_file(filler).expect("free the disk");
    assert!(write_resumes(port).await, "writes did not resume by themselves after the disk had room again");
    assert!(health_becomes(port, "", ServingStatus::Serving).await);
    assert!(all_opted_in(port, &acked).await, "an acknowledged write is missing");
    kill(child);
}

#[tokio::test]
async fn every_repeated_field_of_a_key_or_profile_is_bounded() {
    let server = TestServer::start().await;
    let mut admin = server.admin(None).await;
    // 100,000 scopes: a key that would cost every call it makes.
    let scopes = vec![pb::ApiKeyScope::Check as i32; 100_000];
    let err = admin
        .create_api_key(pb::CreateApiKeyRequest { description: "many".into(), scopes, ..Default::default() })
        .await
        .expect_err("100,000 scopes");
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("scopes"), "{err:?}");
    let twice = vec![pb::ApiKeyScope::Check as i32, pb::ApiKeyScope::Check as i32];
    let err = admin
        .create_api_key(pb::CreateApiKeyRequest { description: "twice".into(), scopes: twice, ..Default::default() })
        .await
        .expect_err("a scope twice");
    assert!(err.message().contains("named twice"), "{err:?}");
    let err = admin
        .create_api_key(pb::CreateApiKeyRequest {
            description: "profiles".into(),
            scopes: vec![pb::ApiKeyScope::Check as i32],
            profile_ids: (0..1000).map(|i| format!("p{i}")).collect(),
            ..Default::default()
        })
        .await
        .expect_err("1,000 profiles");
    assert!(err.message().contains("profile_ids"), "{err:?}");
    // Nested repeats are refused by the codec before a profile is built from them.
    let err = admin
        .create_profile(pb::CreateProfileRequest {
            profile: Some(pb::Profile {
                profile_id: "acme".into(),
                extra_stop_keywords: vec![String::new(); 1_000_000],
                ..Default::default()
            }),
        })
        .await
        .expect_err("a million keywords");
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("#1.#6"), "refused by the wire count: {err:?}");
    let err = admin
        .update_purpose(pb::UpdatePurposeRequest {
            purpose: Some(pb::Purpose {
                profile_id: "acme".into(),
                purpose_id: "newsletter".into(),
                kind: pb::PurposeKind::Commercial as i32,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into(); 10] }),
        })
        .await
        .expect_err("ten paths");
    assert!(err.message().contains("update_mask"), "{err:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_start_refused_for_an_open_address_creates_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let out = std::process::Command::new(consentd_bin())
        .args(["--listen-addr", &format!("0.0.0.0:{}", free_port()), "--metrics-addr", "off", "--data-dir"])
        .arg(&data)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run consentd");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an open address without keys was served: {said}");
    let left: Vec<_> =
        std::fs::read_dir(&data).map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "a refused start left {left:?} in the data directory");
}

#[tokio::test]
async fn a_field_of_the_request_itself_is_named_without_a_dot() {
    let server = TestServer::start().await;
    let mut consent = server.consent(None).await;
    let err = consent
        .confirm_opt_in(pb::ConfirmOptInRequest {
            token: "t".into(),
            ip_address: "not an address".into(),
            ..Default::default()
        })
        .await
        .expect_err("a bad address");
    assert!(err.message().contains("`ip_address`") || err.message().starts_with("ip_address"), "{err:?}");
    assert!(!err.message().contains(".ip_address"), "{err:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_follows_the_open_file_limit() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    // 1,024 descriptors: the cap must leave the store its share (512 connections here).
    let mut child = Node(std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 1024 && exec {} --listen-addr 127.0.0.1:{port} --metrics-addr off --handshake-timeout-ms 60000 \
             --connection-idle-ms 60000 --data-dir {}",
            consentd_bin().display(),
            dir.path().display()
        ))
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("spawn"));
    if let Err(e) = wait_serving(&mut child, port).await {
        panic!("{e}");
    }
    // 700 silent connections: with the cap at 512 the rest are closed at once.
    let mut conns = Vec::new();
    for _ in 0..700 {
        conns.push(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect"));
    }
    let mut closed = 0;
    for c in &mut conns {
        let mut buf = [0u8; 64];
        use tokio::io::AsyncReadExt;
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(20), c.read(&mut buf)).await {
            closed += 1;
        }
    }
    drop(conns);
    kill(child);
    assert!(closed >= 100, "{closed} of 700 connections were closed: the cap did not follow the open-file limit");
}

#[tokio::test]
async fn event_times_outside_the_window_are_refused() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let mut year_one = change("u@example.com", "newsletter", "", OptedIn);
    // 0001-01-01T00:00:00Z
    year_one.occurred_at = Some(prost_types::Timestamp { seconds: -62_135_596_800, nanos: 0 });
    let req = pb::SetConsentRequest { change: Some(year_one), idempotency_key: String::new() };
    let err = consent.set_consent(req).await.expect_err("year 1");
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("occurred_at"), "{err:?}");
    let mut lapsed = change("u@example.com", "newsletter", "", OptedIn);
    lapsed.expires_at = Some(prost_types::Timestamp { seconds: 1_000, nanos: 0 });
    let req = pb::SetConsentRequest { change: Some(lapsed), idempotency_key: String::new() };
    let err = consent.set_consent(req).await.expect_err("expired in 1970");
    assert!(err.message().contains("expires_at"), "{err:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_large_events_are_cut_by_bytes() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    // 300 events with 60 KB notices: 18 MB of history for one contact point.
    const EVENTS: u64 = 300;
    for i in 0..EVENTS {
        let mut c = noticed("big@example.com", 60_000);
        c.status = if i % 2 == 0 { OptedIn } else { pb::ConsentStatus::OptedOut } as i32;
        c.occurred_at = Some(prost_types::Timestamp { seconds: 1_700_000_000 + i as i64, nanos: 0 });
        set(&mut consent, c).await;
    }
    let mut seqs = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = consent
            .get_history(pb::GetHistoryRequest {
                profile_id: "acme".into(),
                channel: pb::Channel::Email as i32,
                contact_point: "big@example.com".into(),
                page_size: 1000,
                page_token: token.clone(),
            })
            .await
            .expect("a page of large events")
            .into_inner();
        pages += 1;
        seqs.extend(page.events.iter().map(|e| e.seq));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert!(pages > 1, "18 MB of events in one page?");
    assert_eq!(seqs, (1..=EVENTS).collect::<Vec<_>>(), "every event once, in order");
    let mut stream = consent
        .export_records(pb::ExportRecordsRequest { profile_id: "acme".into(), include_history: true })
        .await
        .expect("export")
        .into_inner();
    let mut exported = Vec::new();
    while let Some(m) = stream.message().await.expect("an export message of large events") {
        exported.extend(m.events.iter().map(|e| e.seq));
    }
    assert_eq!(exported, (1..=EVENTS).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn a_key_without_the_scope_is_refused_before_its_request_is_decoded() {
    let server = TestServer::start().await;
    let mut admin = server.admin(None).await;
    let created = admin
        .create_api_key(pb::CreateApiKeyRequest {
            description: "checks only".into(),
            scopes: vec![pb::ApiKeyScope::Check as i32],
            ..Default::default()
        })
        .await
        .expect("key")
        .into_inner();
    let mut checker = server.admin(Some(&created.secret)).await;
    // A body the codec would refuse (a million nested items): the answer is about the key.
    let err = checker
        .create_profile(pb::CreateProfileRequest {
            profile: Some(pb::Profile {
                profile_id: "acme".into(),
                extra_stop_keywords: vec![String::new(); 1_000_000],
                ..Default::default()
            }),
        })
        .await
        .expect_err("a check-only key");
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");
    // Any authenticated caller may still ask for the server's description.
    checker.get_server_info(pb::GetServerInfoRequest::default()).await.expect("server info");
    server.stop().await;
}

/// Load balancers and Kubernetes probe over HTTP: `/livez` while the process serves at all,
/// `/readyz` only while the whole server is SERVING (here: refused writes make it not ready,
/// room again makes it ready, without a restart).
#[tokio::test]
async fn livez_and_readyz_follow_the_servers_health() {
    let server = TestServer::start().await;
    let live = http_get(server.metrics_addr, "/livez").await;
    assert!(live.starts_with("HTTP/1.1 200"), "{live}");
    let mut answer = String::new();
    for _ in 0..100 {
        answer = http_get(server.metrics_addr, "/readyz").await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("ready\n"), "{answer}");
    server.stop().await;

    // A free-space floor above what the disk has: writes are refused, the server not ready.
    let server = TestServer::start_with(|c| c.limits.disk_free_min_bytes = u64::MAX / 2).await;
    for _ in 0..100 {
        answer = http_get(server.metrics_addr, "/readyz").await;
        if answer.starts_with("HTTP/1.1 503") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answer.starts_with("HTTP/1.1 503") && answer.contains("not ready"), "{answer}");
    let live = http_get(server.metrics_addr, "/livez").await;
    assert!(live.starts_with("HTTP/1.1 200"), "alive all the same: {live}");
    server.stop().await;
}
