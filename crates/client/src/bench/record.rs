//! What a scenario measured: one [`Recorder`] shared by its tasks, a [`Local`] per task
//! (merged each second and at the end, so recording takes no lock), and the [`Outcome`]:
//! totals, errors by gRPC code, the HDR histogram and the per-second timeline.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Microseconds, 1 µs to 60 s, three significant digits.
#[expect(clippy::expect_used, reason = "constant bounds hdrhistogram accepts")]
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

/// What happened, second by second and in total, shared by the tasks of a scenario.
pub struct Recorder {
    started: Instant,
    ok: AtomicU64,
    items: AtomicU64,
    sends: AtomicU64,
    errors: std::sync::Mutex<BTreeMap<String, u64>>,
    total: std::sync::Mutex<Histogram<u64>>,
    /// Per second since the start: latencies (two significant digits) and errors.
    seconds: std::sync::Mutex<Vec<(Histogram<u64>, u64)>>,
}

/// One task's own recorder, merged into the shared one each second and at the end.
pub struct Local<'r> {
    shared: &'r Recorder,
    second: u64,
    hist: Histogram<u64>,
    per_second: Histogram<u64>,
    errors: u64,
}

/// As [`histogram`] with two significant digits: one per second of the timeline.
#[expect(clippy::expect_used, reason = "constant bounds hdrhistogram accepts")]
fn second_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 2).expect("histogram bounds")
}

impl Recorder {
    pub fn new() -> Arc<Recorder> {
        Arc::new(Recorder {
            started: Instant::now(),
            ok: AtomicU64::new(0),
            items: AtomicU64::new(0),
            sends: AtomicU64::new(0),
            errors: std::sync::Mutex::new(BTreeMap::new()),
            total: std::sync::Mutex::new(histogram()),
            seconds: std::sync::Mutex::new(Vec::new()),
        })
    }

    pub fn local(&self) -> Local<'_> {
        Local { shared: self, second: 0, hist: histogram(), per_second: second_histogram(), errors: 0 }
    }

    /// Operations and items (decisions, rows) so far, and errors: for the progress line.
    pub fn counts(&self) -> (u64, u64, u64) {
        let errors = self.errors.lock().map(|e| e.values().sum()).unwrap_or(0);
        (self.ok.load(Ordering::Relaxed), self.items.load(Ordering::Relaxed), errors)
    }

    /// The p99 of the seconds completed so far (µs).
    pub fn p99_so_far(&self) -> u64 {
        self.total.lock().map(|h| h.value_at_quantile(0.99)).unwrap_or(0)
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The result: totals, the histogram, errors by code and the timeline.
    pub fn finish(&self, elapsed: Duration) -> Outcome {
        let seconds = self.seconds.lock().map(|s| s.clone()).unwrap_or_default();
        Outcome {
            ok: self.ok.load(Ordering::Relaxed),
            items: self.items.load(Ordering::Relaxed),
            sends: self.sends.load(Ordering::Relaxed),
            seconds: elapsed.as_secs_f64(),
            errors: self.errors.lock().map(|e| e.clone()).unwrap_or_default(),
            histogram: self.total.lock().map(|h| h.clone()).unwrap_or_else(|_| histogram()),
            timeline: seconds
                .iter()
                .enumerate()
                .map(|(i, (h, e))| Second {
                    second: i as u64,
                    count: h.len(),
                    errors: *e,
                    p50_us: h.value_at_quantile(0.5),
                    p99_us: h.value_at_quantile(0.99),
                })
                .collect(),
        }
    }
}

impl Local<'_> {
    /// One finished operation of `items` items that took `us` microseconds.
    pub fn ok(&mut self, us: u64, items: u64) {
        self.roll();
        self.hist.saturating_record(us.max(1));
        self.per_second.saturating_record(us.max(1));
        self.shared.ok.fetch_add(1, Ordering::Relaxed);
        self.shared.items.fetch_add(items, Ordering::Relaxed);
    }

    /// Decisions of an answer that were SEND.
    pub fn sends(&mut self, n: u64) {
        self.shared.sends.fetch_add(n, Ordering::Relaxed);
    }

    pub fn error(&mut self, status: &tonic::Status) {
        self.roll();
        self.errors += 1;
        if let Ok(mut e) = self.shared.errors.lock() {
            *e.entry(format!("{:?}", status.code())).or_default() += 1;
        }
    }

    fn roll(&mut self) {
        let now = self.shared.started.elapsed().as_secs();
        if now != self.second {
            self.flush();
            self.second = now;
        }
    }

    fn flush(&mut self) {
        if let Ok(mut secs) = self.shared.seconds.lock() {
            let i = self.second as usize;
            while secs.len() <= i {
                secs.push((second_histogram(), 0));
            }
            let _ = secs[i].0.add(&self.per_second);
            secs[i].1 += self.errors;
        }
        if let Ok(mut t) = self.shared.total.lock() {
            let _ = t.add(&self.hist);
        }
        self.hist.reset();
        self.per_second.reset();
        self.errors = 0;
    }
}

impl Drop for Local<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// One second of the timeline.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Second {
    pub second: u64,
    pub count: u64,
    pub errors: u64,
    pub p50_us: u64,
    pub p99_us: u64,
}

/// What a scenario measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Operations answered (calls, batches).
    pub ok: u64,
    /// Items in them (decisions, rows).
    pub items: u64,
    /// Decisions that were SEND (streams).
    pub sends: u64,
    pub seconds: f64,
    pub errors: BTreeMap<String, u64>,
    pub histogram: Histogram<u64>,
    pub timeline: Vec<Second>,
}

impl Outcome {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.seconds.max(1e-9)
    }

    pub fn item_rate(&self) -> f64 {
        self.items as f64 / self.seconds.max(1e-9)
    }
}
