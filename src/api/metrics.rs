//! Prometheus metrics with `prometheus-client`: one registry per server (no globals, so
//! several servers in one process keep their own counts), served by axum as the classic
//! text format on a separate plain-HTTP port so scraping never competes with gRPC.
//!
//! Hot-path metrics are plain handles (a counter clone shares its atomic); what the store
//! and the connection layer already count is read at scrape time by collectors, as are
//! the process metrics (`process_*`, from `/proc/self`).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use crate::decision::{Outcome, Reason};
use crate::net::ConnectionStats;
use crate::storage::Store;
use crate::storage::health::Condition;

/// Upper bounds of the latency buckets, in seconds (50 µs to 1 s).
const BUCKETS_S: [f64; 14] =
    [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS_S)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    outcome: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    method: &'static str,
}

/// Every metric of the server, and the registry that renders them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Indexed like [`Reason::ALL`].
    decisions: Vec<Counter>,
    rpc: Family<RpcLabels, Histogram, fn() -> Histogram>,
    pub write_latency: Histogram,
    /// Open `CheckStream` calls whose server task still runs.
    pub check_streams_active: Gauge,
    /// `CheckStream` batches evaluated.
    pub check_batches: Counter,
    /// Open, refused and timed-out client connections (kept by `net`).
    pub connections: Arc<ConnectionStats>,
    /// The webhook deliveries, once the server has started them.
    webhooks: Arc<std::sync::OnceLock<Arc<crate::webhook::Webhooks>>>,
}

impl Metrics {
    pub fn new(store: Store) -> Arc<Metrics> {
        let mut registry = Registry::default();
        let decision_family = Family::<DecisionLabels, Counter>::default();
        let decisions = Reason::ALL
            .iter()
            .map(|r| {
                let outcome = match r.outcome() {
                    Outcome::Send => "send",
                    Outcome::Block => "block",
                };
                decision_family.get_or_create_owned(&DecisionLabels { outcome, reason: r.as_str() })
            })
            .collect();
        registry.register("consentd_decisions", "Decisions by outcome and reason", decision_family);
        let rpc = Family::<RpcLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register("consentd_rpc_duration_seconds", "RPC latency by method", rpc.clone());
        let write_latency = latency_histogram();
        registry.register(
            "consentd_write_duration_seconds",
            "Durable write latency (queue, apply, fsync)",
            write_latency.clone(),
        );
        let check_streams_active = Gauge::default();
        registry.register("consentd_check_streams_active", "Open CheckStream calls", check_streams_active.clone());
        let check_batches = Counter::default();
        registry.register("consentd_check_batches", "CheckStream batches evaluated", check_batches.clone());
        let connections = Arc::new(ConnectionStats::default());
        let webhooks = Arc::new(std::sync::OnceLock::new());
        registry.register_collector(Box::new(ServerState {
            store,
            connections: Arc::clone(&connections),
            webhooks: Arc::clone(&webhooks),
        }));
        registry.register_collector(Box::new(ProcessCollector));
        Arc::new(Metrics {
            registry,
            decisions,
            rpc,
            write_latency,
            check_streams_active,
            check_batches,
            connections,
            webhooks,
        })
    }

    /// Reports these deliveries' figures from now on.
    pub fn set_webhooks(&self, webhooks: Arc<crate::webhook::Webhooks>) {
        let _ = self.webhooks.set(webhooks);
    }

    /// Adds decision counts, indexed like [`Reason::ALL`]; callers count a batch locally first.
    pub fn add_decisions(&self, counts: &[u64; Reason::ALL.len()]) {
        for (counter, n) in self.decisions.iter().zip(counts) {
            if *n > 0 {
                counter.inc_by(*n);
            }
        }
    }

    pub fn observe_rpc(&self, method: &'static str, d: Duration) {
        self.rpc.get_or_create(&RpcLabels { method }).observe(d.as_secs_f64());
    }

    /// The Prometheus text format (version 0.0.4) of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "metrics could not be rendered");
        }
        out
    }
}

/// A metric family of the webhook deliveries: name, help, type, and its value of one
/// subscription's figures at the current revision.
type WebhookFamily = (&'static str, &'static str, MetricType, fn(&crate::webhook::Stats, u64) -> u64);

/// What the store and the connection layer count, read at scrape time.
#[derive(Debug)]
struct ServerState {
    store: Store,
    connections: Arc<ConnectionStats>,
    webhooks: Arc<std::sync::OnceLock<Arc<crate::webhook::Webhooks>>>,
}

fn emit(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric: &impl EncodeMetric,
) -> Result<(), std::fmt::Error> {
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for ServerState {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.connections;
        let health = self.store.health();
        let gauge = |v: u64| ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX));
        emit(
            &mut e,
            "consentd_index_contacts",
            "Contact points in the hot index",
            &gauge(self.store.index().len() as u64),
        )?;
        emit(&mut e, "consentd_revision", "Revision of the last committed change", &gauge(self.store.revision()))?;
        if self.store.replicated() {
            emit(
                &mut e,
                "consentd_cluster_catching_up",
                "1 while this node applies the log's backlog it found at start",
                &gauge(u64::from(self.store.catching_up())),
            )?;
            emit(
                &mut e,
                "consentd_cluster_apply_lag_seconds",
                "Of the last applied log entry: from the receiving node's stamp to applied here",
                &ConstGauge::new(self.store.apply_lag().last_us() as f64 / 1e6),
            )?;
            emit(
                &mut e,
                "consentd_cluster_entry_lag_seconds",
                "Log entries applied here, by the time from the receiving node's stamp to applied here",
                &{
                    let (sum_us, per_bucket) = self.store.apply_lag().totals();
                    LagHistogram { sum_us, per_bucket }
                },
            )?;
            let counts = self.store.skipped_entries().counts();
            let mut skipped = e.encode_descriptor(
                "consentd_cluster_entries_skipped",
                "Log entries skipped by this node since start, by why: unauthentic (no valid MAC: not written by a \
                 node of this cluster), invalid, stale (reached the log too late: a copy published again)",
                None,
                MetricType::Counter,
            )?;
            for kind in crate::storage::replica::SkippedEntries::KINDS {
                let n = counts.iter().find(|(k, _)| *k == kind).map_or(0, |(_, n)| *n);
                ConstCounter::new(n).encode(skipped.encode_family(&[("kind", kind)])?)?;
            }
        }
        {
            use crate::storage::late::OPT_OUT_DELAY_BOUNDS_S;
            let mut family = e.encode_descriptor(
                "consentd_opt_out_delay_seconds",
                "Opt-outs (and suppressions a person asked for) received by this node, by source, by the time \
                 from when they occurred to when they were recorded here",
                None,
                MetricType::Histogram,
            )?;
            for (source, sum_ms, per_bucket) in self.store.opt_out_delays().totals() {
                let bounds = OPT_OUT_DELAY_BOUNDS_S.iter().map(|&s| s as f64).chain([f64::INFINITY]);
                let buckets: Vec<(f64, u64)> = bounds.zip(per_bucket.iter().copied()).collect();
                family
                    .encode_family(&[("source", source.as_str())])?
                    .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                        sum_ms as f64 / 1e3,
                        per_bucket.iter().sum(),
                        &buckets,
                        None,
                    )?;
            }
        }
        if let Some(webhooks) = self.webhooks.get() {
            let stats = webhooks.stats();
            let revision = self.store.revision();
            let families: [WebhookFamily; 4] = [
                (
                    "consentd_webhook_lag_revisions",
                    "Revisions applied but not yet delivered, per webhook subscription (`_changes`: the public change subject; in a cluster, on the node delivering it)",
                    MetricType::Gauge,
                    |s, revision| revision.saturating_sub(s.position),
                ),
                (
                    "consentd_webhook_deliveries",
                    "Messages delivered (answered 2xx) since start, per webhook subscription",
                    MetricType::Counter,
                    |s, _| s.delivered,
                ),
                (
                    "consentd_webhook_failed_attempts",
                    "Delivery attempts that failed (no answer, or not 2xx) since start, per webhook subscription",
                    MetricType::Counter,
                    |s, _| s.failed_attempts,
                ),
                (
                    "consentd_webhook_paused",
                    "1 while a webhook subscription is paused (by an admin, or after its retry budget ran out)",
                    MetricType::Gauge,
                    |s, _| u64::from(s.paused),
                ),
            ];
            for (name, help, kind, value) in families {
                let mut family = e.encode_descriptor(name, help, None, kind)?;
                for (id, s) in &stats {
                    let v = value(s, revision);
                    let labels = [("webhook", id.as_str())];
                    match kind {
                        MetricType::Counter => ConstCounter::new(v).encode(family.encode_family(&labels)?)?,
                        _ => ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX))
                            .encode(family.encode_family(&labels)?)?,
                    }
                }
            }
        }
        emit(&mut e, "consentd_connections_open", "Open client connections", &ConstGauge::new(c.open.load(Relaxed)))?;
        emit(
            &mut e,
            "consentd_connections_refused",
            "Connections closed at once: over connections_max",
            &ConstCounter::new(c.refused.load(Relaxed)),
        )?;
        emit(
            &mut e,
            "consentd_connections_timed_out",
            "Connections closed for silence (no handshake, or idle)",
            &ConstCounter::new(c.timed_out.load(Relaxed)),
        )?;
        emit(
            &mut e,
            "consentd_accept_errors",
            "Failed accepts (e.g. out of file descriptors)",
            &ConstCounter::new(c.accept_errors.load(Relaxed)),
        )?;
        emit(
            &mut e,
            "consentd_storage_writes_refused",
            "1 while writes are refused (disk low or store stopped)",
            &gauge(u64::from(health.condition() != Condition::Healthy)),
        )?;
        emit(
            &mut e,
            "consentd_storage_damage_found",
            "Checksum failures and undecodable records found at run time",
            &ConstCounter::new(health.damage_found.load(Relaxed)),
        )?;
        emit(
            &mut e,
            "consentd_storage_verifications",
            "Complete reads of every stored block with checksums verified (after start, then daily)",
            &ConstCounter::new(health.verified_runs.load(Relaxed)),
        )
    }
}

/// [`crate::storage::replica::ApplyLag`]'s totals as a Prometheus histogram (the store
/// counts in plain atomics; Prometheus types stay in this layer).
#[derive(Debug)]
struct LagHistogram {
    sum_us: u64,
    /// Per bucket of `APPLY_LAG_BOUNDS_US`, not cumulative, `+Inf` last.
    per_bucket: Vec<u64>,
}

impl EncodeMetric for LagHistogram {
    fn encode(&self, mut encoder: prometheus_client::encoding::MetricEncoder) -> Result<(), std::fmt::Error> {
        use crate::storage::replica::APPLY_LAG_BOUNDS_US;
        let bounds = APPLY_LAG_BOUNDS_US.iter().map(|&us| us as f64 / 1e6).chain([f64::INFINITY]);
        let buckets: Vec<(f64, u64)> = bounds.zip(self.per_bucket.iter().copied()).collect();
        encoder.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
            self.sum_us as f64 / 1e6,
            self.per_bucket.iter().sum(),
            &buckets,
            None,
        )
    }

    fn metric_type(&self) -> prometheus_client::metrics::MetricType {
        prometheus_client::metrics::MetricType::Histogram
    }
}

/// The standard `process_*` metrics of this process, from `/proc/self` (Linux; elsewhere
/// nothing is reported).
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(p) = process_stats() else { return Ok(()) };
        emit(
            &mut e,
            "process_cpu_seconds",
            "User and system CPU time spent, in seconds",
            &ConstCounter::new(p.cpu_seconds),
        )?;
        emit(
            &mut e,
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            &ConstGauge::new(p.resident_bytes),
        )?;
        emit(
            &mut e,
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes",
            &ConstGauge::new(p.virtual_bytes),
        )?;
        emit(&mut e, "process_open_fds", "Open file descriptors", &ConstGauge::new(p.open_fds))?;
        if let Some(max) = p.max_fds {
            emit(&mut e, "process_max_fds", "Maximum number of open file descriptors", &ConstGauge::new(max))?;
        }
        emit(
            &mut e,
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds",
            &ConstGauge::new(p.start_time_seconds),
        )
    }
}

struct ProcessStats {
    cpu_seconds: f64,
    resident_bytes: i64,
    virtual_bytes: i64,
    open_fds: i64,
    max_fds: Option<i64>,
    start_time_seconds: i64,
}

fn process_stats() -> Option<ProcessStats> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split_whitespace().collect();
    // Field n of proc(5) is fields[n - 3] here.
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    let page = rustix::param::page_size() as u64;
    let boot_time = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse::<u64>().ok()))?;
    let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let max_fds = rlimit::getrlimit(rlimit::Resource::NOFILE).ok().map(|(soft, _)| to_i64(soft));
    Some(ProcessStats {
        cpu_seconds: (field(14)? + field(15)?) as f64 / ticks,
        resident_bytes: to_i64(field(24)? * page),
        virtual_bytes: to_i64(field(23)?),
        open_fds: std::fs::read_dir("/proc/self/fd").map(|d| d.count() as i64).unwrap_or(0),
        max_fds,
        start_time_seconds: to_i64(boot_time + (field(22)? as f64 / ticks) as u64),
    })
}

/// Serves `GET /metrics` until `shutdown` is reached, on connections taken like the other
/// listeners' (`net::serve_http1`: connection cap, deadlines, TLS when configured). Its
/// connections are counted apart, so scrapes do not show in the client connection metrics.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    ready: Arc<std::sync::atomic::AtomicBool>,
    limits: crate::net::ConnectionLimits,
    tls: Option<Arc<crate::tls::ReloadingTls>>,
    shutdown: crate::app::Until,
) {
    use axum::http::StatusCode;
    use axum::routing::get;
    const TEXT: [(axum::http::header::HeaderName, &str); 1] =
        [(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = Arc::clone(&metrics);
                async move { ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render()) }
            }),
        )
        // Kubernetes and load balancers: alive while this answers at all; ready while the
        // gRPC health of the whole server (`""`) is SERVING (not draining, not catching up
        // with a cluster's log, writes taken).
        .route("/livez", get(|| async { (StatusCode::OK, TEXT, "alive\n") }))
        .route(
            "/readyz",
            get(move || {
                let ready = ready.load(std::sync::atomic::Ordering::Acquire);
                async move {
                    if ready {
                        (StatusCode::OK, TEXT, "ready\n")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, TEXT, "not ready: draining, catching up, or writes refused\n")
                    }
                }
            }),
        );
    let stats = Arc::new(ConnectionStats::default());
    crate::net::serve_http1(listener, app, limits, stats, tls, shutdown).await;
}
