//! The end-to-end load suite: a real `consentd` process on loopback, driven by real tonic
//! clients, with the in-process engine as the baseline measured in the same run.
//!
//! `cargo bench --bench load` runs the full scale; `CONSENTD_LOAD=small` a quick one (CI).
//! Each scenario prints a table row; the whole report is written as JSON to
//! `CONSENTD_LOAD_REPORT` (default `target/load-report.json`); `CONSENTD_LOAD_SERVER` names
//! another consentd binary to measure (an older build, for a before/after in one sitting).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a load tool fails loudly on purpose")]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use consentd::api::pb;
use consentd::decision::{
    Catalog, Channel, ContactState, Profile, Purpose, PurposeKind, Record, Status, Subject, Suppressions, Target, check,
};

use consentd::storage::index::{HotIndex, KeyedIndex};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tonic::transport::{Channel as GrpcChannel, Endpoint};

#[derive(Clone, Copy, Debug)]
struct Scale {
    contacts: u64,
    stream_recipients: u64,
    batch: usize,
    connections: usize,
    unary_requests: u64,
    unary_concurrency: usize,
    open_loop_secs: f64,
    write_rate: u64,
}

const SMALL: Scale = Scale {
    contacts: 20_000,
    stream_recipients: 200_000,
    batch: 4096,
    connections: 2,
    unary_requests: 4_000,
    unary_concurrency: 8,
    open_loop_secs: 1.0,
    write_rate: 200,
};
const FULL: Scale = Scale {
    contacts: 1_000_000,
    stream_recipients: 6_000_000,
    batch: 4096,
    connections: 2,
    unary_requests: 60_000,
    unary_concurrency: 16,
    open_loop_secs: 5.0,
    write_rate: 1_000,
};

fn recipient(i: u64, contacts: u64) -> String {
    // Half the recipients are known contacts, half unknown, spread over the key space.
    format!("user{}@example.com", i.wrapping_mul(2_654_435_761) % (2 * contacts))
}

fn status_of(i: u64) -> Status {
    if i.is_multiple_of(3) { Status::OptedOut } else { Status::OptedIn }
}

struct Server {
    child: Child,
    addr: String,
    /// Whether the HTTP edge runs (links can be minted).
    edge: bool,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().expect("dir");
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
        // `CONSENTD_LOAD_SERVER` runs another build of the server (A/B comparisons in one sitting).
        let server =
            std::env::var("CONSENTD_LOAD_SERVER").unwrap_or_else(|_| env!("CARGO_BIN_EXE_consentd").to_owned());
        let mut cmd = Command::new(&server);
        cmd.args(["--listen-addr", &format!("127.0.0.1:{port}"), "--metrics-addr", "off", "--data-dir"])
            .arg(dir.path());
        // The HTTP edge, for the link-minting scenario (older builds have no edge).
        let edge = std::env::var("CONSENTD_LOAD_SERVER").is_err();
        if edge {
            let http = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("port");
            cmd.args(["--http-addr", &format!("127.0.0.1:{http}")]);
        }
        let child = cmd.env("RUST_LOG", "warn").stdout(Stdio::null()).spawn().expect("spawn consentd");
        Server { child, addr: format!("http://127.0.0.1:{port}"), edge, _dir: dir }
    }

    async fn channel(&self) -> GrpcChannel {
        for _ in 0..500 {
            if let Ok(ch) = Endpoint::from_shared(self.addr.clone()).expect("url").tcp_nodelay(true).connect().await {
                return ch;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("consentd did not start");
    }

    /// User plus system CPU seconds the server has used so far.
    fn cpu_secs(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let after = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // Fields 14 and 15 of /proc/PID/stat (1-based), in clock ticks of 1/100 s.
        (ticks(11) + ticks(12)) / 100.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn setup(ch: &GrpcChannel) {
    let mut admin = pb::admin_service_client::AdminServiceClient::new(ch.clone());
    admin
        .create_profile(pb::CreateProfileRequest {
            profile: Some(pb::Profile { profile_id: "acme".into(), default_region: "NL".into(), ..Default::default() }),
        })
        .await
        .expect("profile");
    admin
        .create_purpose(pb::CreatePurposeRequest {
            purpose: Some(pb::Purpose {
                profile_id: "acme".into(),
                purpose_id: "newsletter".into(),
                kind: pb::PurposeKind::Commercial as i32,
                ..Default::default()
            }),
        })
        .await
        .expect("purpose");
}

/// Loads the population through BatchSetConsent; returns rows per second.
async fn populate(ch: &GrpcChannel, scale: Scale) -> f64 {
    let started = Instant::now();
    let per_request = 1000u64;
    let workers = 4u64;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let ch = ch.clone();
        tasks.push(tokio::spawn(async move {
            let mut client =
                pb::consent_service_client::ConsentServiceClient::new(ch).max_encoding_message_size(64 << 20);
            let mut start = w * per_request;
            while start < scale.contacts {
                let end = (start + per_request).min(scale.contacts);
                let requests = (start..end)
                    .map(|i| pb::SetConsentRequest {
                        change: Some(pb::ConsentChange {
                            profile_id: "acme".into(),
                            channel: pb::Channel::Email as i32,
                            contact_point: format!("user{i}@example.com"),
                            purpose_id: "newsletter".into(),
                            status: if status_of(i) == Status::OptedIn {
                                pb::ConsentStatus::OptedIn
                            } else {
                                pb::ConsentStatus::OptedOut
                            } as i32,
                            source: pb::ChangeSource::Import as i32,
                            ..Default::default()
                        }),
                        idempotency_key: String::new(),
                    })
                    .collect();
                client.batch_set_consent(pb::BatchSetConsentRequest { requests }).await.expect("batch set");
                start += workers * per_request;
            }
        }));
    }
    for t in tasks {
        t.await.expect("populate");
    }
    scale.contacts as f64 / started.elapsed().as_secs_f64()
}

/// The floor any in-process engine should beat: a plain `HashMap<String, _>` of the
/// population, looked up with each recipient as given (no normalization), one thread.
fn naive_map_floor(scale: Scale, recipients: &[String]) -> f64 {
    let map: std::collections::HashMap<String, Status> =
        (0..scale.contacts).map(|i| (format!("user{i}@example.com"), status_of(i))).collect();
    let started = Instant::now();
    let sends = recipients.iter().filter(|r| map.get(r.as_str()).is_none_or(|s| *s == Status::OptedIn)).count();
    std::hint::black_box(sends);
    recipients.len() as f64 / started.elapsed().as_secs_f64()
}

/// The storage floor for import: the same rows written straight to RocksDB (default
/// options) as WriteBatches of 1,000 with a synced WAL, one key and a small value per row.
fn rocksdb_floor(contacts: u64) -> f64 {
    let dir = tempfile::tempdir().expect("dir");
    let mut opts = rocksdb::Options::default();
    opts.create_if_missing(true);
    let db = rocksdb::DB::open(&opts, dir.path()).expect("open");
    let mut wo = rocksdb::WriteOptions::default();
    wo.set_sync(true);
    let started = Instant::now();
    let mut i = 0;
    while i < contacts {
        let mut batch = rocksdb::WriteBatch::default();
        for j in i..(i + 1000).min(contacts) {
            batch.put(format!("user{j}@example.com"), [u8::from(status_of(j) == Status::OptedIn); 24]);
        }
        db.write_opt(batch, &wo).expect("write");
        i += 1000;
    }
    contacts as f64 / started.elapsed().as_secs_f64()
}

/// The engine plus hot index on the same recipients, without gRPC: decisions per second
/// with one thread and with two.
fn baseline(scale: Scale, recipients: &[String]) -> (f64, f64) {
    let local = KeyedIndex::new([9; 16], HotIndex::with_capacity(scale.contacts as usize));
    for i in 0..scale.contacts {
        let key = local.key("acme", Channel::Email, &format!("user{i}@example.com"));
        local.index().put(
            key,
            ContactState::new(
                Suppressions::NONE,
                [(Subject::purpose(1), Record { status: status_of(i), expires_at: None })],
            ),
        );
    }
    let mut catalog = Catalog::default();
    catalog.insert_profile(Profile::new("acme"));
    catalog.insert_purpose(Purpose::new("acme", "newsletter", PurposeKind::Commercial, 1));
    let resolved = catalog.resolve("acme", "newsletter", "").expect("resolve");
    let target = Target::new(&resolved, Channel::Email);
    let now = 1_767_225_600;
    let run = |part: &[String]| {
        part.iter().filter(|r| check(&target, r, &local, now).outcome() == consentd::decision::Outcome::Send).count()
    };
    let started = Instant::now();
    std::hint::black_box(run(recipients));
    let one = recipients.len() as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let (a, b) = recipients.split_at(recipients.len() / 2);
    std::thread::scope(|s| {
        let h = s.spawn(|| run(a));
        std::hint::black_box(run(b));
        std::hint::black_box(h.join().expect("thread"));
    });
    let two = recipients.len() as f64 / started.elapsed().as_secs_f64();
    (one, two)
}

fn batches(recipients: &[String], batch: usize, first_id: u64, include_links: bool) -> Vec<pb::CheckStreamRequest> {
    recipients
        .chunks(batch)
        .enumerate()
        .map(|(i, chunk)| pb::CheckStreamRequest {
            batch_id: first_id + i as u64,
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            purpose_id: "newsletter".into(),
            topic_id: String::new(),
            contact_points: chunk.to_vec(),
            overrides: vec![],
            min_revision: 0,
            include_links,
        })
        .collect()
}

/// Streams `recipients` over `connections` connections; returns (decisions/s, sends).
async fn hot_stream(server: &Server, recipients: &[String], batch: usize, connections: usize) -> (f64, u64) {
    stream_checks(server, recipients, batch, connections, false).await
}

/// As [`hot_stream`]; with `include_links`, every SEND also gets its minted links.
async fn stream_checks(
    server: &Server,
    recipients: &[String],
    batch: usize,
    connections: usize,
    include_links: bool,
) -> (f64, u64) {
    let mut channels = Vec::new();
    for _ in 0..connections {
        channels.push(server.channel().await);
    }
    let per = recipients.len().div_ceil(connections);
    let prepared: Vec<Vec<pb::CheckStreamRequest>> =
        recipients.chunks(per).map(|part| batches(part, batch, 0, include_links)).collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (ch, work) in channels.into_iter().zip(prepared) {
        tasks.push(tokio::spawn(async move {
            let mut client = pb::decision_service_client::DecisionServiceClient::new(ch)
                .max_decoding_message_size(64 << 20)
                .max_encoding_message_size(64 << 20);
            let expected = work.len();
            let mut inbound = client.check_stream(tokio_stream::iter(work)).await.expect("stream").into_inner();
            let mut sends = 0u64;
            let mut answers = 0;
            while let Some(a) = inbound.message().await.expect("answer") {
                let batch_sends = a.decisions.iter().filter(|d| **d == pb::Decision::Send as i32).count();
                if include_links {
                    assert_eq!(a.links.len(), batch_sends, "one set of links per SEND");
                }
                sends += batch_sends as u64;
                answers += 1;
            }
            assert_eq!(answers, expected, "every batch answered");
            sends
        }));
    }
    let mut sends = 0;
    for t in tasks {
        sends += t.await.expect("stream task");
    }
    (recipients.len() as f64 / started.elapsed().as_secs_f64(), sends)
}

/// The no-op stream floor: a `DecisionService` whose `CheckStream` answers every batch
/// SEND without looking anything up, shaped like the real one (a task per stream reading
/// batches, answers through a queue of four), served by this bench binary in a child process
/// with the server's gRPC settings. What is left is decoding, encoding and transport.
struct Echo;

#[tonic::async_trait]
impl pb::decision_service_server::DecisionService for Echo {
    async fn check(
        &self,
        _: tonic::Request<pb::CheckRequest>,
    ) -> Result<tonic::Response<pb::CheckResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("echo floor"))
    }

    type CheckStreamStream = tokio_stream::wrappers::ReceiverStream<Result<pb::CheckStreamResponse, tonic::Status>>;

    async fn check_stream(
        &self,
        req: tonic::Request<tonic::Streaming<pb::CheckStreamRequest>>,
    ) -> Result<tonic::Response<Self::CheckStreamStream>, tonic::Status> {
        let mut inbound = req.into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            while let Ok(Some(b)) = inbound.message().await {
                let n = b.contact_points.len();
                let answer = pb::CheckStreamResponse {
                    batch_id: b.batch_id,
                    revision: 0,
                    decisions: vec![pb::Decision::Send as i32; n],
                    reasons: vec![pb::Reason::NotOptedOut as i32; n],
                    suppressed: vec![],
                    links: vec![],
                };
                if tx.send(Ok(answer)).await.is_err() {
                    return;
                }
            }
        });
        Ok(tonic::Response::new(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

    async fn mint_links(
        &self,
        _: tonic::Request<pb::MintLinksRequest>,
    ) -> Result<tonic::Response<pb::MintLinksResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("echo floor"))
    }
}

/// Serves [`Echo`] on `addr` with the settings of consentd's gRPC server, until killed.
async fn serve_echo(addr: std::net::SocketAddr) {
    let limits = consentd::config::Limits::DEFAULT;
    let service = pb::decision_service_server::DecisionServiceServer::new(Echo)
        .max_decoding_message_size(limits.message_bytes_max)
        .max_encoding_message_size(limits.message_bytes_max);
    tonic::transport::Server::builder()
        .max_concurrent_streams(Some(limits.streams_per_connection_max))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .tcp_nodelay(true)
        .add_service(service)
        .serve(addr)
        .await
        .expect("echo server");
}

/// The echo floor's child process (this binary with `CONSENTD_ECHO_LISTEN`).
fn start_echo() -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let child = Command::new(std::env::current_exe().expect("bench binary"))
        .env("CONSENTD_ECHO_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn echo server");
    Server { child, addr: format!("http://127.0.0.1:{port}"), edge: false, _dir: tempfile::tempdir().expect("dir") }
}

fn percentiles(h: &Histogram<u64>) -> Value {
    json!({"p50_us": h.value_at_quantile(0.50), "p99_us": h.value_at_quantile(0.99), "p999_us": h.value_at_quantile(0.999), "max_us": h.max()})
}

fn check_req(cp: String) -> pb::CheckRequest {
    pb::CheckRequest {
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        contact_point: cp,
        purpose_id: "newsletter".into(),
        topic_id: String::new(),
        min_revision: 0,
    }
}

/// Closed loop: `concurrency` callers each waiting for its answer before the next call.
async fn unary_closed(ch: &GrpcChannel, scale: Scale, total: u64, concurrency: usize) -> (f64, Histogram<u64>) {
    unary_loop(ch, scale, total, concurrency, false).await
}

/// As [`unary_closed`], calling `Check` or (`noop`) the server's `grpc.health.v1` check:
/// a tonic unary RPC on the same server, settings and client that does no work, the floor.
async fn unary_loop(
    ch: &GrpcChannel,
    scale: Scale,
    total: u64,
    concurrency: usize,
    noop: bool,
) -> (f64, Histogram<u64>) {
    let hist = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("hist")));
    let started = Instant::now();
    let per = total / concurrency as u64;
    let mut tasks = Vec::new();
    for w in 0..concurrency as u64 {
        let mut client = pb::decision_service_client::DecisionServiceClient::new(ch.clone());
        let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
        let hist = Arc::clone(&hist);
        tasks.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("hist");
            for i in 0..per {
                let t = Instant::now();
                if noop {
                    health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.expect("noop");
                } else {
                    client.check(check_req(recipient(w * per + i, scale.contacts))).await.expect("check");
                }
                local.saturating_record(t.elapsed().as_micros() as u64);
            }
            hist.lock().await.add(&local).expect("merge");
        }));
    }
    for t in tasks {
        t.await.expect("unary task");
    }
    let rate = (per * concurrency as u64) as f64 / started.elapsed().as_secs_f64();
    let h = hist.lock().await.clone();
    (rate, h)
}

/// Open loop: calls start at a fixed rate whatever the answers do; latency counts from
/// the intended start, so a stall is charged to every call it delays (no coordinated omission).
/// The schedule comes from a plain thread (tokio's timer has 1 ms granularity, which
/// would add up to a millisecond of generator lateness to every call).
async fn unary_open(ch: &GrpcChannel, scale: Scale, rate: f64, secs: f64) -> Histogram<u64> {
    let hist = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("hist")));
    let total = (rate * secs) as u64;
    let in_flight = Arc::new(tokio::sync::Semaphore::new(20_000));
    let mut tasks = Vec::with_capacity(total as usize);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let generator = std::thread::spawn(move || {
        let start = Instant::now();
        for i in 0..total {
            let intended = start + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if intended > now {
                std::thread::sleep(intended - now);
            }
            if tx.send((i, intended)).is_err() {
                return;
            }
        }
    });
    while let Some((i, intended)) = rx.recv().await {
        let mut client = pb::decision_service_client::DecisionServiceClient::new(ch.clone());
        let hist = Arc::clone(&hist);
        let permit = Arc::clone(&in_flight).acquire_owned().await.expect("permit");
        tasks.push(tokio::spawn(async move {
            client.check(check_req(recipient(i, scale.contacts))).await.expect("check");
            let us = intended.elapsed().as_micros() as u64;
            hist.lock().await.saturating_record(us);
            drop(permit);
        }));
    }
    generator.join().expect("generator");
    for t in tasks {
        t.await.expect("open task");
    }
    hist.lock().await.clone()
}

/// Writes at a fixed rate until `stop` flips; returns the number written.
async fn writer(ch: GrpcChannel, rate: u64, stop: Arc<std::sync::atomic::AtomicBool>) -> u64 {
    let mut client = pb::consent_service_client::ConsentServiceClient::new(ch);
    let start = tokio::time::Instant::now();
    let mut n = 0u64;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        tokio::time::sleep_until(start + Duration::from_secs_f64(n as f64 / rate as f64)).await;
        let change = pb::ConsentChange {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: format!("writer{n}@example.com"),
            purpose_id: "newsletter".into(),
            status: pb::ConsentStatus::OptedIn as i32,
            ..Default::default()
        };
        client
            .set_consent(pb::SetConsentRequest { change: Some(change), idempotency_key: String::new() })
            .await
            .expect("write");
        n += 1;
    }
    n
}

fn row(name: &str, value: String, note: String) {
    println!("| {name:<44} | {value:>22} | {note} |");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Ok(addr) = std::env::var("CONSENTD_ECHO_LISTEN") {
        serve_echo(addr.parse().expect("CONSENTD_ECHO_LISTEN")).await;
        return;
    }
    let small = std::env::var("CONSENTD_LOAD").map(|v| v == "small").unwrap_or(false);
    let scale = if small { SMALL } else { FULL };
    let server = Server::start();
    let ch = server.channel().await;
    setup(&ch).await;
    println!("consentd load suite ({}), scale {scale:?}", if small { "small" } else { "full" });
    println!("| scenario | result | notes |\n|---|---:|---|");

    let import_rate = populate(&ch, scale).await;
    let import_floor = rocksdb_floor(scale.contacts);
    row(
        "import via BatchSetConsent (1000/request, 4 in flight)",
        format!("{import_rate:.0} rows/s"),
        format!(
            "{} contacts, fsync per group; {:.2}x of the RocksDB floor ({import_floor:.0} rows/s: the rows as synced WriteBatches of 1000)",
            scale.contacts,
            import_rate / import_floor
        ),
    );

    let recipients: Vec<String> = (0..scale.stream_recipients).map(|i| recipient(i, scale.contacts)).collect();
    let (base1, base2) = baseline(scale, &recipients);
    let naive = naive_map_floor(scale, &recipients);
    row(
        "in-process baseline, 1 thread",
        format!("{base1:.0} dec/s"),
        format!("engine + hot index, no gRPC; {:.2}x of a naive HashMap<String, _> ({naive:.0}/s)", base1 / naive),
    );
    row("in-process baseline, 2 threads", format!("{base2:.0} dec/s"), "engine + hot index, no gRPC".into());
    // The denominator of every ratio: the better of the two, so ratios are never flattered.
    let base2 = base1.max(base2);

    let cpu0 = server.cpu_secs();
    let (hot, sends) = hot_stream(&server, &recipients, scale.batch, scale.connections).await;
    let cpu = server.cpu_secs() - cpu0;
    let cpu_per_m = cpu / (scale.stream_recipients as f64 / 1e6);
    row(
        &format!("hot stream, batch {}, {} connections", scale.batch, scale.connections),
        format!("{hot:.0} dec/s"),
        format!("{:.2}x of baseline; server {cpu_per_m:.2} CPU-s per million; {sends} sends", hot / base2),
    );

    // The transport floor: the same batches over the same connections to a server that
    // answers without deciding.
    let echo = start_echo();
    let _ = echo.channel().await;
    let cpu0 = echo.cpu_secs();
    let (echo_rate, _) = hot_stream(&echo, &recipients, scale.batch, scale.connections).await;
    let echo_cpu_per_m = (echo.cpu_secs() - cpu0) / (scale.stream_recipients as f64 / 1e6);
    drop(echo);
    row(
        "floor: no-op stream echo, same batches",
        format!("{echo_rate:.0} dec/s"),
        format!(
            "hot stream is {:.2}x of it; echo server {echo_cpu_per_m:.2} CPU-s per million ({:.2}x of consentd's)",
            hot / echo_rate,
            echo_cpu_per_m / cpu_per_m
        ),
    );

    // Link minting in the same pass: two signed, sealed tokens per SEND.
    let links = if server.edge {
        let n = (scale.stream_recipients / 4) as usize;
        let (plain, _) = hot_stream(&server, &recipients[..n], scale.batch, scale.connections).await;
        let (with_links, link_sends) =
            stream_checks(&server, &recipients[..n], scale.batch, scale.connections, true).await;
        let per_million_s = 1e6 / with_links - 1e6 / plain;
        row(
            "hot stream with include_links",
            format!("{with_links:.0} dec/s"),
            format!(
                "{:.1}% of the same stream without links ({plain:.0} dec/s); +{per_million_s:.2} s per million recipients; {link_sends} link sets",
                100.0 * with_links / plain
            ),
        );
        json!({"decisions_per_s": with_links, "without_links_per_s": plain, "added_s_per_million": per_million_s, "link_sets": link_sends})
    } else {
        Value::Null
    };

    let mut sweep = Vec::new();
    for b in [1usize, 64, 1024, 4096, 16384] {
        let n = if b == 1 { (scale.stream_recipients / 20).min(50_000) } else { scale.stream_recipients / 2 } as usize;
        let (rate, _) = hot_stream(&server, &recipients[..n], b, 1).await;
        row(
            &format!("batch sweep: {b} per batch, 1 connection"),
            format!("{rate:.0} dec/s"),
            format!("{n} recipients; {:.2}x of baseline", rate / base2),
        );
        sweep.push(json!({"batch": b, "recipients": n, "decisions_per_s": rate, "ratio_to_baseline": rate / base2}));
    }

    let cpu0 = server.cpu_secs();
    let (noop_max, noop) = unary_loop(&ch, scale, scale.unary_requests, scale.unary_concurrency, true).await;
    let noop_cpu = (server.cpu_secs() - cpu0) / (scale.unary_requests as f64 / 1000.0);
    row(
        &format!("floor: no-op unary (health check), concurrency {}", scale.unary_concurrency),
        format!("{noop_max:.0} req/s"),
        format!(
            "p50 {} us, p99 {} us; server {:.3} CPU-s per thousand calls",
            noop.value_at_quantile(0.5),
            noop.value_at_quantile(0.99),
            noop_cpu
        ),
    );
    let cpu0 = server.cpu_secs();
    let (unary_max, closed) = unary_closed(&ch, scale, scale.unary_requests, scale.unary_concurrency).await;
    let unary_cpu = (server.cpu_secs() - cpu0) / (scale.unary_requests as f64 / 1000.0);
    row(
        &format!("unary closed loop, concurrency {}", scale.unary_concurrency),
        format!("{unary_max:.0} req/s"),
        format!(
            "{:.2}x of the no-op floor; p50 {} us, p99 {} us, p999 {} us; server {unary_cpu:.3} CPU-s per thousand calls",
            unary_max / noop_max,
            closed.value_at_quantile(0.5),
            closed.value_at_quantile(0.99),
            closed.value_at_quantile(0.999)
        ),
    );
    let open_rate = unary_max / 2.0;
    let open = unary_open(&ch, scale, open_rate, scale.open_loop_secs).await;
    row(
        &format!("unary open loop at {open_rate:.0} req/s (half max)"),
        format!("p99 {} us", open.value_at_quantile(0.99)),
        format!(
            "p50 {} us, p999 {} us, max {} us",
            open.value_at_quantile(0.5),
            open.value_at_quantile(0.999),
            open.max()
        ),
    );

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let w = tokio::spawn(writer(server.channel().await, scale.write_rate, Arc::clone(&stop)));
    let (hot_with_writes, _) = hot_stream(&server, &recipients, scale.batch, scale.connections).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = w.await.expect("writer");
    row(
        &format!("mixed: hot stream with {} writes/s", scale.write_rate),
        format!("{hot_with_writes:.0} dec/s"),
        format!("{:.1}% of the pure hot stream; {written} writes", 100.0 * hot_with_writes / hot),
    );

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let bg_stop = Arc::clone(&stop);
    let bg_recipients = recipients.clone();
    let stream_server_addr = server.addr.clone();
    let background = tokio::spawn(async move {
        let ch = Endpoint::from_shared(stream_server_addr).expect("url").connect().await.expect("connect");
        let mut rounds = 0;
        while !bg_stop.load(std::sync::atomic::Ordering::Relaxed) {
            let mut client = pb::decision_service_client::DecisionServiceClient::new(ch.clone())
                .max_decoding_message_size(64 << 20)
                .max_encoding_message_size(64 << 20);
            let work = batches(&bg_recipients[..bg_recipients.len() / 4], scale.batch, 0, false);
            let mut inbound = client.check_stream(tokio_stream::iter(work)).await.expect("stream").into_inner();
            while inbound.message().await.expect("answer").is_some() {}
            rounds += 1;
        }
        rounds
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, under_load) = unary_closed(&ch, scale, scale.unary_requests / 4, 4).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = background.await;
    row(
        "mixed: unary (concurrency 4) during a hot stream",
        format!("p99 {} us", under_load.value_at_quantile(0.99)),
        format!("p50 {} us, p999 {} us", under_load.value_at_quantile(0.5), under_load.value_at_quantile(0.999)),
    );

    let report = json!({
        "scale": format!("{scale:?}"),
        "import_rows_per_s": import_rate,
        "floors": {"rocksdb_import_rows_per_s": import_floor, "naive_map_checks_per_s": naive, "noop_unary": {"requests_per_s": noop_max, "latency": percentiles(&noop), "server_cpu_s_per_thousand": noop_cpu}, "noop_stream_echo": {"decisions_per_s": echo_rate, "server_cpu_s_per_million": echo_cpu_per_m, "hot_stream_ratio": hot / echo_rate}},
        "unary_server_cpu_s_per_thousand": unary_cpu,
        "baseline_1_thread_decisions_per_s": base1,
        "baseline_2_threads_decisions_per_s": base2,
        "hot_stream": {"decisions_per_s": hot, "ratio_to_baseline": hot / base2, "server_cpu_s_per_million": cpu_per_m, "batch": scale.batch, "connections": scale.connections},
        "batch_sweep": sweep,
        "hot_stream_with_links": links,
        "unary_closed": {"requests_per_s": unary_max, "concurrency": scale.unary_concurrency, "latency": percentiles(&closed)},
        "unary_open": {"rate": open_rate, "latency": percentiles(&open)},
        "mixed_stream_with_writes": {"decisions_per_s": hot_with_writes, "ratio_to_pure": hot_with_writes / hot, "writes": written},
        "mixed_unary_during_stream": percentiles(&under_load),
    });
    let path = std::env::var("CONSENTD_LOAD_REPORT").unwrap_or_else(|_| "target/load-report.json".into());
    if let Some(parent) = std::path::Path::new(&path).parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&path, serde_json::to_string_pretty(&report).expect("json")).expect("write report");
    println!("report written to {path}");
    assert!(hot > 0.0 && sends > 0, "the hot stream made no decisions");
}
