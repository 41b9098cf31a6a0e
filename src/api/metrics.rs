//! Prometheus metrics: counters and histograms on atomics, rendered as the text format on
//! a separate plain-HTTP port so scraping never competes with gRPC for a stream slot.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::decision::Reason;
use crate::storage::Store;

/// Upper bounds of the latency buckets, in microseconds.
const BUCKETS_US: [u64; 14] =
    [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000];
/// Largest HTTP request head the metrics endpoint reads.
const REQUEST_BYTES_MAX: usize = 8 * 1024;

#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS_US.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        if let Some(i) = BUCKETS_US.iter().position(|b| us <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, bound) in BUCKETS_US.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let le = *bound as f64 / 1e6;
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{le}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum{{{}}} {}",
            labels.trim_end_matches(','),
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{{{}}} {count}", labels.trim_end_matches(','));
    }
}

/// Every metric of the server.
#[derive(Debug, Default)]
pub struct Metrics {
    decisions: [AtomicU64; Reason::ALL.len()],
    rpc: DashMap<&'static str, Histogram>,
    pub write_latency: Histogram,
    /// Open `CheckStream` calls whose server task still runs.
    pub check_streams_active: AtomicI64,
    /// `CheckStream` batches evaluated.
    pub check_batches: AtomicU64,
    /// Open, refused and timed-out client connections (kept by `net`).
    pub connections: Arc<crate::net::ConnectionStats>,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    /// Adds decision counts, indexed like [`Reason::ALL`]; callers count a batch locally first.
    pub fn add_decisions(&self, counts: &[u64; Reason::ALL.len()]) {
        for (slot, n) in self.decisions.iter().zip(counts) {
            if *n > 0 {
                slot.fetch_add(*n, Ordering::Relaxed);
            }
        }
    }

    pub fn observe_rpc(&self, method: &'static str, d: Duration) {
        // A shard read lock on the common path; the write lock only for a method's first call.
        if let Some(h) = self.rpc.get(method) {
            h.observe(d);
            return;
        }
        self.rpc.entry(method).or_default().observe(d);
    }

    pub fn render(&self, store: &Store) -> String {
        let mut out = String::new();
        out.push_str("# HELP consentd_decisions_total Decisions by outcome and reason.\n# TYPE consentd_decisions_total counter\n");
        for (i, reason) in Reason::ALL.iter().enumerate() {
            let outcome = match reason.outcome() {
                crate::decision::Outcome::Send => "send",
                crate::decision::Outcome::Block => "block",
            };
            let _ = writeln!(
                out,
                "consentd_decisions_total{{outcome=\"{outcome}\",reason=\"{}\"}} {}",
                reason.as_str(),
                self.decisions[i].load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP consentd_rpc_duration_seconds RPC latency by method.\n# TYPE consentd_rpc_duration_seconds histogram\n");
        let mut methods: Vec<_> = self.rpc.iter().map(|e| *e.key()).collect();
        methods.sort_unstable();
        for m in methods {
            if let Some(h) = self.rpc.get(m) {
                h.render(&mut out, "consentd_rpc_duration_seconds", &format!("method=\"{m}\","));
            }
        }
        out.push_str("# HELP consentd_write_duration_seconds Durable write latency (queue, apply, fsync).\n# TYPE consentd_write_duration_seconds histogram\n");
        self.write_latency.render(&mut out, "consentd_write_duration_seconds", "");
        let _ = writeln!(
            out,
            "# HELP consentd_check_streams_active Open CheckStream calls.\n# TYPE consentd_check_streams_active gauge\nconsentd_check_streams_active {}",
            self.check_streams_active.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP consentd_check_batches_total CheckStream batches evaluated.\n# TYPE consentd_check_batches_total counter\nconsentd_check_batches_total {}",
            self.check_batches.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP consentd_index_contacts Contact points in the hot index.\n# TYPE consentd_index_contacts gauge\nconsentd_index_contacts {}",
            store.index().len()
        );
        let _ = writeln!(
            out,
            "# HELP consentd_revision Revision of the last committed change.\n# TYPE consentd_revision gauge\nconsentd_revision {}",
            store.revision()
        );
        let c = &self.connections;
        let gauges = [
            ("connections_open", "gauge", "Open client connections.", c.open.load(Ordering::Relaxed) as u64),
            (
                "connections_refused_total",
                "counter",
                "Connections closed at once: over connections_max.",
                c.refused.load(Ordering::Relaxed),
            ),
            (
                "connections_timed_out_total",
                "counter",
                "Connections closed for silence (no handshake, or idle).",
                c.timed_out.load(Ordering::Relaxed),
            ),
            (
                "accept_errors_total",
                "counter",
                "Failed accepts (e.g. out of file descriptors).",
                c.accept_errors.load(Ordering::Relaxed),
            ),
            (
                "storage_writes_refused",
                "gauge",
                "1 while writes are refused (disk low or store stopped).",
                u64::from(store.health().condition() != crate::storage::health::Condition::Healthy),
            ),
            (
                "storage_damage_found_total",
                "counter",
                "Checksum failures and undecodable records found at run time.",
                store.health().damage_found.load(Ordering::Relaxed),
            ),
        ];
        for (name, kind, help, value) in gauges {
            let _ =
                writeln!(out, "# HELP consentd_{name} {help}\n# TYPE consentd_{name} {kind}\nconsentd_{name} {value}");
        }
        out
    }
}

/// Serves `GET /metrics` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    store: Store,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut shutdown = shutdown;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((mut stream, _)) = accepted else { continue };
        let metrics = Arc::clone(&metrics);
        let store = store.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; REQUEST_BYTES_MAX];
            let mut len = 0;
            let read = tokio::time::timeout(Duration::from_secs(5), async {
                while len < buf.len() {
                    match stream.read(&mut buf[len..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => len += n,
                    }
                    if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            })
            .await;
            if read.is_err() {
                return;
            }
            let head = String::from_utf8_lossy(&buf[..len]);
            let (status, body) = if head.starts_with("GET /metrics ") {
                ("200 OK", metrics.render(&store))
            } else {
                ("404 Not Found", "not found; try /metrics\n".to_owned())
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}
