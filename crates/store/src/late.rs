//! How late opt-outs reach consentd: per source, the time from an opt-out's event time
//! (`occurred_at`) to its recording here, counted by the node that received it. A CRM whose
//! sync runs days behind shows here before a regulator asks. Plain atomics; the metrics
//! layer renders them (`consentd_opt_out_delay_seconds`).

use std::sync::atomic::{AtomicU64, Ordering};

use super::model::Source;

/// Upper bounds of the buckets (seconds): a minute, ten minutes, an hour, six hours, a day,
/// two days (the mailbox providers' deadline), a week, two weeks (about ten business days:
/// the US TCPA's), thirty days.
pub const OPT_OUT_DELAY_BOUNDS_S: [u64; 9] = [60, 600, 3_600, 21_600, 86_400, 172_800, 604_800, 1_209_600, 2_592_000];

#[derive(Debug, Default)]
struct Delays {
    sum_ms: AtomicU64,
    /// Per bucket (not cumulative); the last one is `+Inf`.
    buckets: [AtomicU64; OPT_OUT_DELAY_BOUNDS_S.len() + 1],
}

/// Opt-out delays per source since this process started.
#[derive(Debug, Default)]
pub struct OptOutDelays {
    per_source: [Delays; Source::ALL.len()],
}

impl OptOutDelays {
    /// An opt-out from `source` recorded `delay_us` after it occurred (a change dated
    /// ahead of the clock counts as no delay).
    pub fn record(&self, source: Source, delay_us: i64) {
        let Some(i) = Source::ALL.iter().position(|s| *s == source) else { return };
        let delay_ms = u64::try_from(delay_us / 1000).unwrap_or(0);
        let d = &self.per_source[i];
        d.sum_ms.fetch_add(delay_ms, Ordering::Relaxed);
        let bucket = OPT_OUT_DELAY_BOUNDS_S.partition_point(|&bound| bound * 1000 < delay_ms);
        if let Some(b) = d.buckets.get(bucket) {
            b.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Per source that saw an opt-out: the sum of delays (ms) and the per-bucket counts
    /// (not cumulative, `+Inf` last).
    pub fn totals(&self) -> Vec<(Source, u64, Vec<u64>)> {
        Source::ALL
            .iter()
            .zip(&self.per_source)
            .map(|(s, d)| {
                let counts: Vec<u64> = d.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
                (*s, d.sum_ms.load(Ordering::Relaxed), counts)
            })
            .filter(|(_, _, counts)| counts.iter().any(|n| *n > 0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_land_in_their_bucket_per_source() {
        let d = OptOutDelays::default();
        d.record(Source::CrmSync, 3 * 86_400 * 1_000_000);
        d.record(Source::CrmSync, 30 * 1_000_000);
        d.record(Source::Form, -5);
        let totals = d.totals();
        assert_eq!(totals.len(), 2, "{totals:?}");
        let (_, sum_ms, counts) = totals.iter().find(|(s, _, _)| *s == Source::CrmSync).expect("crm");
        assert_eq!(*sum_ms, 3 * 86_400_000 + 30_000);
        assert_eq!(counts[0], 1, "30 s: the first bucket");
        assert_eq!(counts[6], 1, "three days: the week's bucket");
        let (_, _, form) = totals.iter().find(|(s, _, _)| *s == Source::Form).expect("form");
        assert_eq!(form[0], 1, "ahead of the clock counts as no delay");
    }
}
