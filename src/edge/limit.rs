//! Token buckets, one per key, in a bounded table: requests per client address (refilled
//! at `Limits::EDGE_REQUESTS_PER_SEC` up to `Limits::EDGE_REQUEST_BURST`) and changes per
//! contact point written through its links (`Limits::EDGE_LINK_CHANGES_PER_SEC`, burst
//! `Limits::EDGE_LINK_CHANGE_BURST`). Past the table's size the full buckets (idle keys)
//! are dropped first, and if that is not enough, all of them.
//!
//! Client addresses are bucketed by network, not by address: an IPv6 host is handed a
//! whole /64 (RFC 6177), so keying on the full address would give one client 2^64 buckets.

use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use dashmap::DashMap;

/// The IPv6 prefix one client is taken to control.
const IPV6_CLIENT_PREFIX_BITS: u32 = 64;

#[derive(Debug)]
pub struct RateLimiter<K: Eq + Hash> {
    buckets: DashMap<K, (f64, Instant)>,
    per_sec: f64,
    burst: f64,
    tracked_max: usize,
}

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    pub fn new(per_sec: f64, burst: f64, tracked_max: usize) -> RateLimiter<K> {
        RateLimiter { buckets: DashMap::new(), per_sec, burst, tracked_max }
    }

    /// Takes one token from `key`'s bucket; `false` when it is empty.
    pub fn allow(&self, key: K) -> bool {
        self.take(key, 1.0, false).is_ok()
    }

    /// Takes `n` tokens from `key`'s bucket if it holds at least one, going into debt for
    /// the rest (so one large request is possible, and the next waits until it is paid);
    /// with `overdraw`, also when it is empty. `Err` says how long until the bucket holds a
    /// token again.
    pub fn take(&self, key: K, n: f64, overdraw: bool) -> Result<(), Duration> {
        let now = Instant::now();
        if self.buckets.len() >= self.tracked_max && !self.buckets.contains_key(&key) {
            self.prune(now);
        }
        let mut entry = self.buckets.entry(key).or_insert((self.burst, now));
        let (tokens, last) = *entry;
        let refilled = (tokens + now.duration_since(last).as_secs_f64() * self.per_sec).min(self.burst);
        if refilled < 1.0 && !overdraw {
            *entry = (refilled, now);
            return Err(Duration::from_secs_f64((1.0 - refilled) / self.per_sec));
        }
        *entry = (refilled - n, now);
        Ok(())
    }

    fn prune(&self, now: Instant) {
        let (per_sec, burst) = (self.per_sec, self.burst);
        self.buckets.retain(|_, (tokens, last)| *tokens + now.duration_since(*last).as_secs_f64() * per_sec < burst);
        if self.buckets.len() >= self.tracked_max {
            self.buckets.clear();
        }
    }
}

/// The bucket a client address counts against: an IPv4 address itself (also when it comes
/// as an IPv4-mapped IPv6 address), an IPv6 address's /64.
pub fn client_bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mask = u128::MAX << (128 - IPV6_CLIENT_PREFIX_BITS);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;

    fn per_address() -> RateLimiter<IpAddr> {
        RateLimiter::new(Limits::EDGE_REQUESTS_PER_SEC, Limits::EDGE_REQUEST_BURST, Limits::EDGE_CLIENTS_TRACKED_MAX)
    }

    #[test]
    fn a_burst_then_refusals_per_address() {
        let limiter = per_address();
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        let allowed = (0..100).filter(|_| limiter.allow(a)).count();
        // The burst, plus what refills while the loop runs (a few at most).
        assert!((30..=32).contains(&allowed), "{allowed}");
        assert!(limiter.allow(b), "another address has its own bucket");
    }

    #[test]
    fn one_ipv6_slash_64_is_one_client() {
        let limiter = per_address();
        let in_net = |i: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, i, i, i, i));
        // A client walking through the addresses of its own /64.
        let allowed = (0..100).filter(|&i| limiter.allow(client_bucket(in_net(i)))).count();
        assert!((30..=32).contains(&allowed), "{allowed}");
        let next_net = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1));
        assert!(limiter.allow(client_bucket(next_net)), "another /64 has its own bucket");
        let v4: IpAddr = [192, 0, 2, 1].into();
        assert_eq!(client_bucket(IpAddr::V6(std::net::Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped())), v4);
    }

    #[test]
    fn a_large_take_is_allowed_once_then_waits_for_its_debt() {
        let limiter: RateLimiter<u8> = RateLimiter::new(1.0, 5.0, 10);
        assert!(limiter.take(1, 50.0, false).is_ok(), "one change more than the burst is not refused");
        let wait = limiter.take(1, 1.0, false).expect_err("in debt");
        assert!(wait > Duration::from_secs(40), "{wait:?}");
        assert!(limiter.take(1, 1.0, true).is_ok(), "an overdraw is never refused");
        assert!(limiter.take(2, 1.0, false).is_ok(), "another key has its own bucket");
    }
}
