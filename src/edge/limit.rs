//! Requests per client address: a token bucket each, refilled at
//! `Limits::EDGE_REQUESTS_PER_SEC` up to `Limits::EDGE_REQUEST_BURST`. The table is bounded:
//! past `Limits::EDGE_CLIENTS_TRACKED_MAX` addresses the full buckets (idle clients) are
//! dropped first, and if that is not enough, all of them.

use std::net::IpAddr;
use std::time::Instant;

use dashmap::DashMap;

use crate::config::Limits;

#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: DashMap<IpAddr, (f64, Instant)>,
}

impl RateLimiter {
    pub fn new() -> RateLimiter {
        RateLimiter::default()
    }

    /// Takes one token from `ip`'s bucket; `false` when it is empty.
    pub fn allow(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        if self.buckets.len() >= Limits::EDGE_CLIENTS_TRACKED_MAX && !self.buckets.contains_key(&ip) {
            self.prune(now);
        }
        let mut entry = self.buckets.entry(ip).or_insert((Limits::EDGE_REQUEST_BURST, now));
        let (tokens, last) = *entry;
        let refilled = (tokens + now.duration_since(last).as_secs_f64() * Limits::EDGE_REQUESTS_PER_SEC)
            .min(Limits::EDGE_REQUEST_BURST);
        if refilled < 1.0 {
            *entry = (refilled, now);
            return false;
        }
        *entry = (refilled - 1.0, now);
        true
    }

    fn prune(&self, now: Instant) {
        let full_after = Limits::EDGE_REQUEST_BURST / Limits::EDGE_REQUESTS_PER_SEC;
        self.buckets.retain(|_, (_, last)| now.duration_since(*last).as_secs_f64() < full_after);
        if self.buckets.len() >= Limits::EDGE_CLIENTS_TRACKED_MAX {
            self.buckets.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusals_per_address() {
        let limiter = RateLimiter::new();
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        let allowed = (0..100).filter(|_| limiter.allow(a)).count();
        // The burst, plus what refills while the loop runs (a few at most).
        assert!((30..=32).contains(&allowed), "{allowed}");
        assert!(limiter.allow(b), "another address has its own bucket");
    }
}
