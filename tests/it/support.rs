//! Starts real servers in-process on `127.0.0.1:0` with a fresh data directory and a
//! clock the test controls, and builds authenticated clients.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use consentd::api::pb;
use consentd::config::{Config, Limits, LogFormat};
use consentd::storage::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::Channel;

/// The clients every test uses: consentctl's and the load engine's (`consentd-client`).
pub use consentd_client::connect::{
    AdminClient as Admin, Clients, ConsentClient as Consent, DecisionClient as Decision, Key as Auth,
};

pub fn test_config(dir: &Path, addr: SocketAddr) -> Config {
    Config {
        listen_addr: addr,
        metrics_addr: None,
        http_addr: None,
        public_url: None,
        data_dir: dir.to_owned(),
        insecure: false,
        tls: None,
        log_format: LogFormat::Text,
        otlp: None,
        cluster: None,
        changes: None,
        limits: Limits::DEFAULT,
    }
}

/// A running server; stopped (and its store closed) by [`TestServer::stop`].
pub struct TestServer {
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    /// Offset added to real time by the server's clock.
    pub clock_us: Arc<AtomicI64>,
    pub dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<Result<(), consentd::server::ServerError>>,
}

pub fn now_us() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    d.as_micros() as i64
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        TestServer::start_in(dir, tune).await
    }

    /// Starts on an existing data directory (restarts keep data).
    pub async fn start_in(dir: tempfile::TempDir, tune: impl FnOnce(&mut Config)) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let metrics = TcpListener::bind("127.0.0.1:0").await.expect("bind metrics");
        let addr = listener.local_addr().expect("addr");
        let metrics_addr = metrics.local_addr().expect("addr");
        let mut config = test_config(dir.path(), addr);
        tune(&mut config);
        // The server's clock runs with real time plus an offset the test can advance.
        let clock_us = Arc::new(AtomicI64::new(0));
        let c = Arc::clone(&clock_us);
        let options = config.limits.store_options(Arc::new(move || now_us() + c.load(Ordering::SeqCst)));
        let (store, _) = Store::open(dir.path(), options).expect("open store");
        let (tx, rx) = oneshot::channel::<()>();
        let handle =
            tokio::spawn(consentd::server::run_with_store(config, store, listener, Some(metrics), async move {
                let _ = rx.await;
            }));
        TestServer { addr, metrics_addr, clock_us, dir, shutdown: Some(tx), handle }
    }

    pub fn advance(&self, secs: i64) {
        self.clock_us.fetch_add(secs * 1_000_000, Ordering::SeqCst);
    }

    pub async fn channel(&self) -> Channel {
        let url = format!("http://{}", self.addr);
        for _ in 0..50 {
            if let Ok(ch) = Channel::from_shared(url.clone()).expect("url").connect().await {
                return ch;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server at {url} did not come up");
    }

    pub fn auth(key: Option<&str>) -> Auth {
        Auth::bearer(key).expect("key")
    }

    pub async fn decision(&self, key: Option<&str>) -> Decision {
        Clients::new(self.channel().await, Self::auth(key)).decision()
    }

    pub async fn consent(&self, key: Option<&str>) -> Consent {
        Clients::new(self.channel().await, Self::auth(key)).consent()
    }

    pub async fn admin(&self, key: Option<&str>) -> Admin {
        Clients::new(self.channel().await, Self::auth(key)).admin()
    }

    /// One metric value from `/metrics` over plain HTTP.
    pub async fn metric(&self, name: &str) -> f64 {
        metric_value(&scrape_metrics(self.metrics_addr).await, name)
    }

    /// Starts stopping (the drain begins) without waiting for the end.
    pub fn begin_stop(mut self) -> Stopping {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        Stopping { dir: self.dir, handle: self.handle }
    }

    /// Whether health reports `service` NOT_SERVING within 5 s (the store's state is
    /// mirrored once a second).
    pub async fn reports_not_serving(&self, service: &str) -> bool {
        let mut health = tonic_health::pb::health_client::HealthClient::new(self.channel().await);
        let not_serving = tonic_health::pb::health_check_response::ServingStatus::NotServing as i32;
        for _ in 0..50 {
            let r = health.check(tonic_health::pb::HealthCheckRequest { service: service.into() }).await;
            if r.is_ok_and(|r| r.into_inner().status == not_serving) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Stops the server and returns its data directory for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let r = tokio::time::timeout(Duration::from_secs(30), &mut self.handle).await;
        match r {
            Ok(Ok(Ok(()))) => {}
            other => panic!("server did not stop cleanly: {other:?}"),
        }
        self.dir
    }
}

/// A server whose drain has begun.
pub struct Stopping {
    dir: tempfile::TempDir,
    handle: tokio::task::JoinHandle<Result<(), consentd::server::ServerError>>,
}

impl Stopping {
    /// Whether the server has stopped already.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    pub async fn finish(self) -> tempfile::TempDir {
        match tokio::time::timeout(Duration::from_secs(30), self.handle).await {
            Ok(Ok(Ok(()))) => self.dir,
            other => panic!("server did not stop cleanly: {other:?}"),
        }
    }
}

/// Creates profile `acme` (region NL) with purposes `newsletter` (commercial, topics
/// `events` and `discounts`) and `invoices` (transactional).
pub async fn seed(admin: &mut Admin, doi: Option<pb::DoubleOptInMode>) {
    seed_profile(admin, "acme", doi).await;
}

pub async fn seed_profile(admin: &mut Admin, profile_id: &str, doi: Option<pb::DoubleOptInMode>) {
    let double_opt_in = doi
        .map(|m| vec![pb::DoubleOptInSetting { channel: pb::Channel::Email as i32, mode: m as i32 }])
        .unwrap_or_default();
    admin
        .create_profile(pb::CreateProfileRequest {
            profile: Some(pb::Profile {
                profile_id: profile_id.into(),
                display_name: "Acme".into(),
                default_region: "NL".into(),
                double_opt_in,
                extra_stop_keywords: vec!["afmelden".into()],
                ..Default::default()
            }),
        })
        .await
        .expect("create profile");
    for (id, kind) in [("newsletter", pb::PurposeKind::Commercial), ("invoices", pb::PurposeKind::Transactional)] {
        admin
            .create_purpose(pb::CreatePurposeRequest {
                purpose: Some(pb::Purpose {
                    profile_id: profile_id.into(),
                    purpose_id: id.into(),
                    kind: kind as i32,
                    ..Default::default()
                }),
            })
            .await
            .expect("create purpose");
    }
    for t in ["events", "discounts"] {
        admin
            .create_topic(pb::CreateTopicRequest {
                topic: Some(pb::Topic {
                    profile_id: profile_id.into(),
                    purpose_id: "newsletter".into(),
                    topic_id: t.into(),
                    ..Default::default()
                }),
            })
            .await
            .expect("create topic");
    }
}

pub fn change(contact_point: &str, purpose: &str, topic: &str, status: pb::ConsentStatus) -> pb::ConsentChange {
    pb::ConsentChange {
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        contact_point: contact_point.into(),
        purpose_id: purpose.into(),
        topic_id: topic.into(),
        status: status as i32,
        source: pb::ChangeSource::PreferenceCenter as i32,
        ..Default::default()
    }
}

pub async fn set(consent: &mut Consent, c: pb::ConsentChange) -> pb::ChangeResult {
    consent
        .set_consent(pb::SetConsentRequest { change: Some(c), idempotency_key: String::new() })
        .await
        .expect("set consent")
        .into_inner()
        .result
        .expect("result")
}

pub async fn check(
    decision: &mut Decision,
    channel: pb::Channel,
    contact_point: &str,
    purpose: &str,
    topic: &str,
) -> pb::CheckResponse {
    decision
        .check(pb::CheckRequest {
            profile_id: "acme".into(),
            channel: channel as i32,
            contact_point: contact_point.into(),
            purpose_id: purpose.into(),
            topic_id: topic.into(),
            min_revision: 0,
            as_of: None,
            as_of_clock: 0,
        })
        .await
        .expect("check")
        .into_inner()
}

pub fn reason(r: &pb::CheckResponse) -> pb::Reason {
    pb::Reason::try_from(r.reason).expect("reason")
}

/// The field named in a status's BadRequest details.
pub fn bad_field(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .and_then(|b| b.field_violations.first().map(|v| v.field.clone()))
        .unwrap_or_else(|| panic!("no field violation in {status:?}"))
}

// ---- the real binary -------------------------------------------------------------------

/// The Prometheus text a server's `/metrics` serves at `addr`, over plain HTTP.
pub async fn scrape_metrics(addr: impl tokio::net::ToSocketAddrs) -> String {
    http_get(addr, "/metrics").await
}

/// The whole HTTP/1.1 answer (status line, headers, body) to `GET path`.
pub async fn http_get(addr: impl tokio::net::ToSocketAddrs, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("metrics connect");
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut body = String::new();
    s.read_to_string(&mut body).await.expect("read");
    body
}

/// The value of the sample `name` (with its labels, if any) in Prometheus text.
pub fn metric_value(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")).map(|v| v.trim().parse().expect("number")))
        .unwrap_or_else(|| panic!("metric {name} missing in {text}"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

/// The `consentd` binary the tests run: this build's, or `CONSENTD_BIN` (e.g. an older
/// build, to see a new test fail against it; the target directory may also be shared).
pub fn consentd_bin() -> std::path::PathBuf {
    std::env::var_os("CONSENTD_BIN").map_or_else(|| env!("CARGO_BIN_EXE_consentd").into(), Into::into)
}

/// Starts the real `consentd` binary on `127.0.0.1:port` with `dir` as its data directory.
pub fn spawn(dir: &Path, port: u16, extra: &[&str]) -> std::process::Child {
    std::process::Command::new(consentd_bin())
        .args(["--listen-addr", &format!("127.0.0.1:{port}"), "--metrics-addr", "off", "--data-dir"])
        .arg(dir)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("spawn consentd")
}

/// Runs the binary on `dir` expecting it to refuse to start; returns what it said.
pub fn refused_start(dir: &Path) -> String {
    let port = free_port();
    let out = std::process::Command::new(consentd_bin())
        .args(["--listen-addr", &format!("127.0.0.1:{port}"), "--metrics-addr", "off", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run consentd");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "consentd started on a damaged directory; it said:\n{stderr}");
    stderr
}

/// Sends a signal to a child process with `kill(1)`.
pub fn signal(child: &std::process::Child, name: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -{name} failed");
}

pub async fn connect(port: u16) -> Channel {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ep = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}")).expect("url");
        if let Ok(ch) = ep.connect().await {
            return ch;
        }
        assert!(std::time::Instant::now() < deadline, "consentd did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The consentctl binary of this build. consentctl is a crate of its own (it has no
/// RocksDB), so cargo does not hand its path to this package's tests: it sits beside them,
/// built by the workspace's `cargo build --all-targets` (`scripts/dev.sh test` builds first).
pub fn consentctl_bin() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/it-<hash> -> target/<profile>/consentctl
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join(format!("consentctl{}", std::env::consts::EXE_SUFFIX)))
        .expect("target directory");
    assert!(
        bin.exists(),
        "{} is missing: build the workspace first (cargo build --release --all-targets)",
        bin.display()
    );
    bin
}

/// A protobuf timestamp of `us` microseconds since the Unix epoch.
pub fn ts(us: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: us.div_euclid(1_000_000), nanos: (us.rem_euclid(1_000_000) * 1000) as i32 }
}

/// Makes `newsletter` of `acme` opt-out based (non-restrictive) on email: a model change.
pub fn newsletter_non_restrictive_on_email() -> pb::UpdatePurposeRequest {
    pb::UpdatePurposeRequest {
        purpose: Some(pb::Purpose {
            profile_id: "acme".into(),
            purpose_id: "newsletter".into(),
            kind: pb::PurposeKind::Commercial as i32,
            enforcement: vec![pb::ChannelEnforcement {
                channel: pb::Channel::Email as i32,
                model: pb::EnforcementModel::NonRestrictive as i32,
            }],
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["enforcement".into()] }),
    }
}
