//! The end-to-end load suite: a real `consentd` process on loopback, driven by the load
//! engine `consentctl bench` uses (`consentd::bench`, real tonic clients), with the floors
//! and the in-process engine as the baselines measured in the same run.
//!
//! `cargo bench --bench load` runs the full scale; `CONSENTD_LOAD=small` a quick one (CI).
//! Each scenario prints a table row; the whole report is written as JSON to
//! `CONSENTD_LOAD_REPORT` (default `target/load-report.json`); `CONSENTD_LOAD_SERVER` names
//! another consentd binary to measure (an older build, for a before/after in one sitting).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a load tool fails loudly on purpose")]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use consentd::api::pb;
use consentd::bench::{self, Call, Key, Population, Recorder, Run, StreamShape, Target as Deployment};
use consentd::decision::{
    Catalog, Channel, ContactState, Profile, Purpose, PurposeKind, Record, Status, Subject, Suppressions, Target,
    check_many,
};

use consentd::storage::index::{HotIndex, KeyedIndex, Origin};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
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

/// The suite's population: `contacts` members under profile `acme`, purpose `newsletter`;
/// half of the recipients of a send are members.
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

fn status_of(k: u64) -> Status {
    if Population::status_of(k) == pb::ConsentStatus::OptedIn { Status::OptedIn } else { Status::OptedOut }
}

struct Server {
    child: Child,
    addr: String,
    /// The population the suite loads (the echo floor ignores it).
    contacts: u64,
    /// Whether the HTTP edge runs (links can be minted).
    edge: bool,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(contacts: u64) -> Server {
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
        Server { child, addr: format!("http://127.0.0.1:{port}"), contacts, edge, _dir: dir }
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

    async fn target(&self) -> Deployment {
        Deployment { channels: vec![self.channel().await], key: Key(None) }
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

/// The floor any in-process engine should beat: a plain `HashMap<String, _>` of the
/// population, looked up with each recipient as given (no normalization), one thread.
fn naive_map_floor(scale: Scale, recipients: &[String]) -> f64 {
    let pop = population(scale.contacts);
    let map: std::collections::HashMap<String, Status> =
        (0..scale.contacts).map(|i| (pop.member(i), status_of(i))).collect();
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
    let pop = population(contacts);
    while i < contacts {
        let mut batch = rocksdb::WriteBatch::default();
        for j in i..(i + 1000).min(contacts) {
            batch.put(pop.member(j), [u8::from(status_of(j) == Status::OptedIn); 24]);
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
    let pop = population(scale.contacts);
    for i in 0..scale.contacts {
        let key = local.key("acme", Channel::Email, &pop.member(i));
        local.index().put(
            key,
            Origin::new("acme", Channel::Email),
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
    // The server's batch path: windows of recipients with their lookups prefetched.
    let run = |part: &[String]| {
        let mut sends = 0usize;
        check_many(
            |_| &target,
            part,
            &local,
            now,
            |_, d| {
                sends += usize::from(d.outcome() == consentd::decision::Outcome::Send);
            },
        );
        sends
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

/// A hot stream of the first `n` recipients of the population's send, in batches of
/// `batch` over `connections` connections; returns (decisions/s, sends).
async fn hot_stream(server: &Server, n: usize, batch: usize, connections: usize) -> (f64, u64) {
    stream_checks(server, n, batch, connections, false, true).await
}

/// As [`hot_stream`]; with `include_links`, every SEND also gets its minted links (the
/// engine counts an answer without them as an error).
async fn stream_checks(
    server: &Server,
    n: usize,
    batch: usize,
    connections: usize,
    include_links: bool,
    packed: bool,
) -> (f64, u64) {
    let shape = StreamShape {
        connections,
        streams_per_connection: 1,
        batch,
        overrides: 0.0,
        include_links,
        packed,
        receipts: false,
        fence: None,
    };
    shaped(server, n, shape).await
}

/// `n` recipients of the send in batches shaped by `shape`; (items/s, sends).
async fn shaped(server: &Server, n: usize, shape: StreamShape) -> (f64, u64) {
    let batch = shape.batch;
    let batches = n.div_ceil(batch) as u64;
    let run = Run::count(batches);
    let pop = population(server.contacts);
    let o = bench::stream(&server.target().await, &pop, shape, run, Recorder::new()).await;
    assert!(o.errors.is_empty(), "stream errors: {:?}", o.errors);
    assert_eq!(o.ok, batches, "every batch answered");
    (o.item_rate(), o.sends)
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
                // As the server reads them: the listed form, or the packed lines.
                let n = match std::str::from_utf8(&b.contact_points_packed) {
                    Ok(text) if !text.is_empty() => text.split_terminator('\n').count(),
                    _ => b.contact_points.len(),
                };
                let (send, reason) = (pb::Decision::Send as i32, pb::Reason::NotOptedOut as i32);
                let answer = if b.packed_answers {
                    pb::CheckStreamResponse {
                        batch_id: b.batch_id,
                        outcomes: vec![((send << 6) | reason) as u8; n],
                        ..Default::default()
                    }
                } else {
                    pb::CheckStreamResponse {
                        batch_id: b.batch_id,
                        decisions: vec![send; n],
                        reasons: vec![reason; n],
                        ..Default::default()
                    }
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
    consentd::server::grpc_settings(tonic::transport::Server::builder(), &limits)
        .add_service(service)
        .serve(addr)
        .await
        .expect("echo server");
}

/// The echo floor's child process (this binary with `CONSENTD_ECHO_LISTEN`).
fn start_echo(contacts: u64) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let child = Command::new(std::env::current_exe().expect("bench binary"))
        .env("CONSENTD_ECHO_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn echo server");
    Server {
        child,
        addr: format!("http://127.0.0.1:{port}"),
        contacts,
        edge: false,
        _dir: tempfile::tempdir().expect("dir"),
    }
}

fn percentiles(h: &Histogram<u64>) -> Value {
    json!({"p50_us": h.value_at_quantile(0.50), "p99_us": h.value_at_quantile(0.99), "p999_us": h.value_at_quantile(0.999), "max_us": h.max()})
}

/// Closed loop: `concurrency` callers each waiting for its answer before the next call.
async fn unary_closed(server: &Server, total: u64, concurrency: usize) -> (f64, Histogram<u64>) {
    unary_loop(server, total, concurrency, false).await
}

/// As [`unary_closed`], calling `Check` or (`noop`) the server's `grpc.health.v1` check:
/// a tonic unary RPC on the same server, settings and client that does no work, the floor.
async fn unary_loop(server: &Server, total: u64, concurrency: usize, noop: bool) -> (f64, Histogram<u64>) {
    let call = if noop { Call::Noop } else { Call::Check };
    let run = Run::count(total);
    let pop = population(server.contacts);
    let o = bench::closed_loop(&server.target().await, &pop, call, concurrency, run, Recorder::new()).await;
    assert!(o.errors.is_empty(), "unary errors: {:?}", o.errors);
    (o.rate(), o.histogram)
}

/// Open loop at `rate` for `secs` (latency from each call's intended start).
async fn unary_open(server: &Server, rate: f64, secs: f64) -> Histogram<u64> {
    let run = Run::timed(Duration::from_secs_f64(secs));
    let pop = population(server.contacts);
    let o = bench::open_loop(&server.target().await, &pop, Call::Check, rate, run, Recorder::new()).await;
    assert!(o.errors.is_empty(), "open loop errors: {:?}", o.errors);
    o.histogram
}

/// A webhook receiver in this process: answers 200, counts deliveries, and keeps each
/// revision's arrival time.
#[derive(Clone)]
struct Sink {
    url: String,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
    arrived: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<u64, Instant>>>,
}

async fn sink() -> Sink {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
    let sink = Sink {
        url: format!("http://{}/hook", listener.local_addr().expect("addr")),
        count: Default::default(),
        arrived: Default::default(),
    };
    let s = sink.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let s = s.clone();
            async move {
                let at = Instant::now();
                s.count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let revision = headers
                    .get("webhook-id")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("msg_"))
                    .and_then(|v| v.parse::<u64>().ok());
                if let Some(r) = revision {
                    s.arrived.lock().expect("lock").entry(r).or_insert(at);
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    sink
}

async fn subscribe(target: &Deployment, sink: &Sink) {
    target
        .admin(0)
        .create_webhook(pb::CreateWebhookRequest {
            webhook: Some(pb::Webhook { url: sink.url.clone(), ..Default::default() }),
            secret: String::new(),
        })
        .await
        .expect("create webhook");
}

/// Writes at `rate` for `duration` with one subscription to a fresh receiver; the lag from
/// sending each write to its delivery's arrival (us: the write's own commit included),
/// and the receiver.
async fn webhook_lag(target: &Deployment, pop: &Population, rate: u64, duration: Duration) -> (Histogram<u64>, Sink) {
    let receiver = sink().await;
    subscribe(target, &receiver).await;
    let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(u64, Instant)>::new()));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut n = 0u64;
    while started.elapsed() < duration {
        tick.tick().await;
        let mut consent = target.consent(n as usize);
        let change = pb::ConsentChange {
            profile_id: pop.profile.clone(),
            channel: pb::Channel::Email as i32,
            contact_point: pop.member(n % pop.size.max(1)),
            purpose_id: pop.purpose.clone(),
            status: if n.is_multiple_of(2) { pb::ConsentStatus::OptedOut } else { pb::ConsentStatus::OptedIn } as i32,
            source: pb::ChangeSource::Api as i32,
            ..Default::default()
        };
        let answered = std::sync::Arc::clone(&answered);
        tasks.spawn(async move {
            let sent = Instant::now();
            let r = consent
                .set_consent(pb::SetConsentRequest { change: Some(change), idempotency_key: String::new() })
                .await;
            if let Some(result) = r.ok().and_then(|r| r.into_inner().result) {
                answered.lock().expect("lock").push((result.revision, sent));
            }
        });
        n += 1;
    }
    while tasks.join_next().await.is_some() {}
    let answered = answered.lock().expect("lock").clone();
    // Wait for the last delivery (at most 10 s).
    let last = answered.iter().map(|a| a.0).max().unwrap_or(0);
    for _ in 0..1000 {
        if receiver.arrived.lock().expect("lock").contains_key(&last) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let arrived = receiver.arrived.lock().expect("lock").clone();
    let mut lag = Histogram::<u64>::new(3).expect("histogram");
    for (revision, at) in answered {
        if let Some(got) = arrived.get(&revision) {
            lag.record(got.saturating_duration_since(at).as_micros() as u64).expect("record");
        }
    }
    (lag, receiver)
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
    let server = Server::start(scale.contacts);
    let pop = population(scale.contacts);
    println!("consentd load suite ({}), scale {scale:?}", if small { "small" } else { "full" });
    println!("| scenario | result | notes |\n|---|---:|---|");

    let import_rate = bench::setup(&server.target().await, &pop).await.expect("setup and import").rows_per_sec;
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

    let recipients: Vec<String> = (0..scale.stream_recipients).map(|i| pop.recipient(i)).collect();
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
    let (hot, sends) = hot_stream(&server, recipients.len(), scale.batch, scale.connections).await;
    let cpu = server.cpu_secs() - cpu0;
    let cpu_per_m = cpu / (scale.stream_recipients as f64 / 1e6);
    row(
        &format!("hot stream, batch {}, {} connections", scale.batch, scale.connections),
        format!("{hot:.0} dec/s"),
        format!("{:.2}x of baseline; server {cpu_per_m:.2} CPU-s per million; {sends} sends", hot / base2),
    );

    // The listed form (a string per recipient each way) against the packed one, same run.
    let cpu0 = server.cpu_secs();
    let (listed, _) = stream_checks(&server, recipients.len(), scale.batch, scale.connections, false, false).await;
    let listed_cpu_per_m = (server.cpu_secs() - cpu0) / (scale.stream_recipients as f64 / 1e6);
    row(
        "hot stream, listed form (repeated string, one enum each way)",
        format!("{listed:.0} dec/s"),
        format!(
            "the packed form is {:.2}x of it; server {listed_cpu_per_m:.2} CPU-s per million (packed: {cpu_per_m:.2})",
            hot / listed
        ),
    );

    // Signed receipts: one Ed25519 signature and a SHA-256 over the batch's keys per batch.
    let shape = StreamShape {
        connections: scale.connections,
        streams_per_connection: 1,
        batch: scale.batch,
        overrides: 0.0,
        include_links: false,
        packed: true,
        receipts: true,
        fence: None,
    };
    // Alternated, best of two each: the difference is smaller than this machine's drift.
    let (mut plain, mut with_receipts) = (0f64, 0f64);
    for _ in 0..2 {
        plain = plain.max(hot_stream(&server, recipients.len() / 2, scale.batch, scale.connections).await.0);
        with_receipts = with_receipts.max(shaped(&server, recipients.len() / 2, shape).await.0);
    }
    row(
        "hot stream with receipts",
        format!("{with_receipts:.0} dec/s"),
        format!("{:.2}x of the same stream without them ({plain:.0} dec/s), best of two each", with_receipts / plain),
    );
    let receipts = json!({"decisions_per_s": with_receipts, "without_per_s": plain, "ratio": with_receipts / plain});

    // The transport floor: the same batches over the same connections to a server that
    // answers without deciding.
    let echo = start_echo(scale.contacts);
    let _ = echo.channel().await;
    let cpu0 = echo.cpu_secs();
    let (echo_rate, _) = hot_stream(&echo, recipients.len(), scale.batch, scale.connections).await;
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
        let (plain, _) = hot_stream(&server, n, scale.batch, scale.connections).await;
        let (with_links, link_sends) = stream_checks(&server, n, scale.batch, scale.connections, true, true).await;
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
        let (rate, _) = hot_stream(&server, n, b, 1).await;
        row(
            &format!("batch sweep: {b} per batch, 1 connection"),
            format!("{rate:.0} dec/s"),
            format!("{n} recipients; {:.2}x of baseline", rate / base2),
        );
        sweep.push(json!({"batch": b, "recipients": n, "decisions_per_s": rate, "ratio_to_baseline": rate / base2}));
    }

    let cpu0 = server.cpu_secs();
    let (noop_max, noop) = unary_loop(&server, scale.unary_requests, scale.unary_concurrency, true).await;
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
    let (unary_max, closed) = unary_closed(&server, scale.unary_requests, scale.unary_concurrency).await;
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
    let open = unary_open(&server, open_rate, scale.open_loop_secs).await;
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

    // Writes at a fixed rate (members opting in and out by turns) for as long as the pure
    // stream took, while the same stream runs again.
    let target = server.target().await;
    let write_run = Run::timed(Duration::from_secs_f64(scale.stream_recipients as f64 / hot));
    let ((hot_with_writes, _), writes) = tokio::join!(
        hot_stream(&server, recipients.len(), scale.batch, scale.connections),
        bench::open_loop(&target, &pop, Call::Write, scale.write_rate as f64, write_run, Recorder::new()),
    );
    assert!(writes.errors.is_empty(), "write errors: {:?}", writes.errors);
    let written = writes.ok;
    row(
        &format!("mixed: hot stream with {} writes/s", scale.write_rate),
        format!("{hot_with_writes:.0} dec/s"),
        format!("{:.1}% of the pure hot stream; {written} writes", 100.0 * hot_with_writes / hot),
    );

    // Unary checks while a stream keeps the server busy (a timed stream outlasting them).
    let background = Run::timed(Duration::from_secs_f64((scale.unary_requests / 4) as f64 / unary_max * 3.0 + 1.0));
    let shape = StreamShape {
        connections: 1,
        streams_per_connection: 1,
        batch: scale.batch,
        overrides: 0.0,
        include_links: false,
        packed: true,
        receipts: false,
        fence: None,
    };
    let (_, (_, under_load)) = tokio::join!(bench::stream(&target, &pop, shape, background, Recorder::new()), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        unary_closed(&server, scale.unary_requests / 4, 4).await
    });
    row(
        "mixed: unary (concurrency 4) during a hot stream",
        format!("p99 {} us", under_load.value_at_quantile(0.99)),
        format!("p50 {} us, p999 {} us", under_load.value_at_quantile(0.5), under_load.value_at_quantile(0.999)),
    );

    // The revocation fence: a send list decided at revision R, fenced after 1% of it changed
    // (1 M recipients after 10 k changes at full scale), against checking it all again.
    let fence_n = (scale.contacts as usize).min(recipients.len());
    let changes = (fence_n / 100) as f64;
    let since =
        target.admin(0).get_server_info(pb::GetServerInfoRequest {}).await.expect("server info").into_inner().revision;
    let rate = (scale.write_rate * 5) as f64;
    let changed = bench::open_loop(
        &target,
        &pop,
        Call::Write,
        rate,
        Run::timed(Duration::from_secs_f64(changes / rate)),
        Recorder::new(),
    )
    .await;
    assert!(changed.errors.is_empty(), "write errors: {:?}", changed.errors);
    let shape = StreamShape {
        connections: scale.connections,
        streams_per_connection: 1,
        batch: scale.batch,
        overrides: 0.0,
        include_links: false,
        packed: true,
        receipts: false,
        fence: Some(since),
    };
    let (mut recheck, mut fence_rate, mut fenced) = (0f64, 0f64, 0);
    for _ in 0..2 {
        recheck = recheck.max(hot_stream(&server, fence_n, scale.batch, scale.connections).await.0);
        let (rate, answers) = shaped(&server, fence_n, shape).await;
        (fence_rate, fenced) = (fence_rate.max(rate), answers);
    }
    row(
        &format!("revocation fence: {fence_n} recipients after {} changes", changed.ok),
        format!("{fence_rate:.0} rec/s"),
        format!(
            "{:.2}x of checking them all again ({recheck:.0} dec/s), best of two each; {fenced} answers instead of {fence_n}",
            fence_rate / recheck
        ),
    );
    let fence = json!({"recipients": fence_n, "changes": changed.ok, "fenced_per_s": fence_rate, "recheck_per_s": recheck, "ratio": fence_rate / recheck, "answers": fenced});

    // Webhooks: delivery lag at the write rate to one receiver, then the mixed run again
    // with ten subscriptions delivering every write.
    let (lag, sink) = webhook_lag(&target, &pop, scale.write_rate, write_run.duration).await;
    row(
        &format!("webhook delivery lag at {} writes/s, one receiver", scale.write_rate),
        format!("p99 {} us", lag.value_at_quantile(0.99)),
        format!(
            "p50 {} us, max {} us; from sending the write (its fsync included) to the receiver's arrival; {} deliveries",
            lag.value_at_quantile(0.5),
            lag.max(),
            lag.len()
        ),
    );
    for _ in 0..10 {
        subscribe(&target, &sink).await;
    }
    // The deliveries restart once per change of the subscriptions: let them settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ((hot_with_hooks, _), hooked_writes) = tokio::join!(
        hot_stream(&server, recipients.len(), scale.batch, scale.connections),
        bench::open_loop(&target, &pop, Call::Write, scale.write_rate as f64, write_run, Recorder::new()),
    );
    assert!(hooked_writes.errors.is_empty(), "write errors: {:?}", hooked_writes.errors);
    row(
        &format!("mixed with 10 webhook subscriptions ({} writes/s)", scale.write_rate),
        format!("{hot_with_hooks:.0} dec/s"),
        format!(
            "{:.2}x of the same mixed run without them; {} deliveries",
            hot_with_hooks / hot_with_writes,
            sink.count.load(std::sync::atomic::Ordering::Relaxed)
        ),
    );

    let report = json!({
        "scale": format!("{scale:?}"),
        "webhooks": {
            "delivery_lag_us": {"rate": scale.write_rate, "p50": lag.value_at_quantile(0.5), "p99": lag.value_at_quantile(0.99), "max": lag.max(), "deliveries": lag.len()},
            "mixed_with_10_subscriptions": {"decisions_per_s": hot_with_hooks, "ratio_to_without": hot_with_hooks / hot_with_writes},
        },
        "import_rows_per_s": import_rate,
        "floors": {"rocksdb_import_rows_per_s": import_floor, "naive_map_checks_per_s": naive, "noop_unary": {"requests_per_s": noop_max, "latency": percentiles(&noop), "server_cpu_s_per_thousand": noop_cpu}, "noop_stream_echo": {"decisions_per_s": echo_rate, "server_cpu_s_per_million": echo_cpu_per_m, "hot_stream_ratio": hot / echo_rate}},
        "unary_server_cpu_s_per_thousand": unary_cpu,
        "baseline_1_thread_decisions_per_s": base1,
        "baseline_2_threads_decisions_per_s": base2,
        "hot_stream": {"decisions_per_s": hot, "ratio_to_baseline": hot / base2, "server_cpu_s_per_million": cpu_per_m, "batch": scale.batch, "connections": scale.connections, "form": "packed", "listed_form_decisions_per_s": listed, "listed_form_server_cpu_s_per_million": listed_cpu_per_m},
        "batch_sweep": sweep,
        "hot_stream_with_links": links,
        "hot_stream_with_receipts": receipts,
        "revocation_fence": fence,
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
