//! The machine-readable report of a bench run (`--out report.json`) and `compare`: two
//! reports side by side, the change in each figure, and whether any got worse than a
//! threshold allows (a CI pipeline's regression gate).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Outcome, Second};

/// Latency figures in microseconds.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
}

/// One measured phase of a scenario (`mixed` has two: the stream alone and with writes).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Phase {
    pub name: String,
    /// Calls or batches answered.
    pub operations: u64,
    /// Decisions or rows in them.
    pub items: u64,
    pub seconds: f64,
    pub operations_per_s: f64,
    pub items_per_s: f64,
    /// Failed calls by gRPC code.
    pub errors: BTreeMap<String, u64>,
    pub latency: Latency,
    /// The percentile curve: (quantile, µs) pairs, from HdrHistogram's quantile iteration.
    pub percentiles: Vec<(f64, u64)>,
    pub timeline: Vec<Second>,
}

impl Phase {
    pub fn from_outcome(name: &str, o: &Outcome) -> Phase {
        let h = &o.histogram;
        let latency = if h.is_empty() {
            Latency::default()
        } else {
            Latency {
                p50_us: h.value_at_quantile(0.5),
                p90_us: h.value_at_quantile(0.9),
                p99_us: h.value_at_quantile(0.99),
                p999_us: h.value_at_quantile(0.999),
                max_us: h.max(),
                mean_us: h.mean(),
            }
        };
        let percentiles = if h.is_empty() {
            Vec::new()
        } else {
            h.iter_quantiles(2).map(|v| (v.quantile_iterated_to(), v.value_iterated_to())).collect()
        };
        Phase {
            name: name.to_owned(),
            operations: o.ok,
            items: o.items,
            seconds: o.seconds,
            operations_per_s: o.rate(),
            items_per_s: o.item_rate(),
            errors: o.errors.clone(),
            latency,
            percentiles,
            timeline: o.timeline.clone(),
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// A whole run: what was asked, against what, and what came out.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub tool: String,
    pub scenario: String,
    /// The settings as given (addresses, rate, concurrency, batch, sizes, seed, ...).
    pub settings: serde_json::Value,
    /// The profile the run wrote under (created by `--setup`), if any.
    pub profile: String,
    /// The server's revision before and after, as its answers report it.
    pub revision_before: Option<u64>,
    pub revision_after: Option<u64>,
    /// The server's version, as `AdminService.GetServerInfo` tells it.
    pub server_version: Option<String>,
    pub phases: Vec<Phase>,
    /// Derived figures (e.g. `mixed`: what the writes cost the stream).
    pub derived: BTreeMap<String, f64>,
}

impl Report {
    /// The table people read: one line per phase.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| phase | ops/s | items/s | errors | p50 | p90 | p99 | p99.9 | max |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for p in &self.phases {
            let errors = if p.errors.is_empty() {
                "0".to_owned()
            } else {
                p.errors.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
            };
            let l = &p.latency;
            out.push_str(&format!(
                "| {} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} |\n",
                p.name,
                p.operations_per_s,
                p.items_per_s,
                errors,
                us(l.p50_us),
                us(l.p90_us),
                us(l.p99_us),
                us(l.p999_us),
                us(l.max_us)
            ));
        }
        for (k, v) in &self.derived {
            out.push_str(&format!("{k}: {v:.3}\n"));
        }
        out
    }
}

/// `1234` µs as `1.23 ms`.
pub fn us(v: u64) -> String {
    if v >= 1_000_000 {
        format!("{:.2} s", v as f64 / 1e6)
    } else if v >= 1_000 {
        format!("{:.2} ms", v as f64 / 1e3)
    } else {
        format!("{v} µs")
    }
}

/// One compared figure.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    pub phase: String,
    pub figure: String,
    pub old: f64,
    pub new: f64,
    /// Percent change, new against old.
    pub change_pct: f64,
    /// Worse by more than the threshold (throughput down, latency or errors up).
    pub regressed: bool,
}

/// Compares phases of the same name: throughput (lower is worse), latency percentiles and
/// errors (higher is worse). `threshold_pct` is how much worse a figure may get.
pub fn compare(old: &Report, new: &Report, threshold_pct: f64) -> Vec<Change> {
    let mut out = Vec::new();
    for n in &new.phases {
        let Some(o) = old.phases.iter().find(|p| p.name == n.name) else { continue };
        let figures: [(&str, f64, f64, bool); 7] = [
            ("items/s", o.items_per_s, n.items_per_s, true),
            ("ops/s", o.operations_per_s, n.operations_per_s, true),
            ("p50 µs", o.latency.p50_us as f64, n.latency.p50_us as f64, false),
            ("p90 µs", o.latency.p90_us as f64, n.latency.p90_us as f64, false),
            ("p99 µs", o.latency.p99_us as f64, n.latency.p99_us as f64, false),
            ("p99.9 µs", o.latency.p999_us as f64, n.latency.p999_us as f64, false),
            ("errors", o.error_count() as f64, n.error_count() as f64, false),
        ];
        for (figure, a, b, higher_is_better) in figures {
            let change_pct = if a == 0.0 { if b == 0.0 { 0.0 } else { 100.0 } } else { (b - a) / a * 100.0 };
            let regressed = if higher_is_better { change_pct < -threshold_pct } else { change_pct > threshold_pct };
            // New errors where there were none are a regression whatever the threshold.
            let regressed = regressed || (figure == "errors" && a == 0.0 && b > 0.0);
            out.push(Change {
                phase: n.name.clone(),
                figure: figure.to_owned(),
                old: a,
                new: b,
                change_pct,
                regressed,
            });
        }
    }
    out
}

/// The side-by-side table of [`compare`].
pub fn compare_table(changes: &[Change]) -> String {
    let mut out = String::from("| phase | figure | old | new | change | |\n|---|---|---:|---:|---:|---|\n");
    for c in changes {
        out.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} | {:+.1}% | {} |\n",
            c.phase,
            c.figure,
            c.old,
            c.new,
            c.change_pct,
            if c.regressed { "REGRESSED" } else { "" }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rate: f64, p99: u64) -> Report {
        Report {
            tool: "consentctl bench".into(),
            scenario: "unary".into(),
            settings: serde_json::json!({}),
            profile: String::new(),
            revision_before: None,
            revision_after: None,
            server_version: None,
            phases: vec![Phase {
                name: "unary".into(),
                operations: 1000,
                items: 1000,
                seconds: 1000.0 / rate,
                operations_per_s: rate,
                items_per_s: rate,
                errors: BTreeMap::new(),
                latency: Latency { p50_us: 100, p90_us: 200, p99_us: p99, p999_us: 900, max_us: 1000, mean_us: 120.0 },
                percentiles: vec![],
                timeline: vec![],
            }],
            derived: BTreeMap::new(),
        }
    }

    #[test]
    fn compare_flags_a_planted_regression_only() {
        let old = report(10_000.0, 500);
        assert!(compare(&old, &report(9_500.0, 520), 10.0).iter().all(|c| !c.regressed), "within 10%");
        let slower = compare(&old, &report(8_000.0, 500), 10.0);
        assert!(slower.iter().any(|c| c.regressed && c.figure == "items/s"));
        let later = compare(&old, &report(10_000.0, 700), 10.0);
        assert_eq!(later.iter().filter(|c| c.regressed).map(|c| c.figure.as_str()).collect::<Vec<_>>(), ["p99 µs"]);
        let text = compare_table(&later);
        assert!(text.contains("REGRESSED") && text.contains("+40.0%"), "{text}");
    }
}
