//! The load engine: the scenarios `consentctl bench` runs against any deployment and that
//! `cargo bench --bench load` runs against its own server. Real tonic clients on real
//! connections; latencies in HDR histograms; an open loop that charges a stall to every call
//! it delays (no coordinated omission).
//!
//! Layout: this file holds the targets, the population and the scenarios; `record` what a
//! scenario measured (shared recorder, per-task recorders, the outcome); [`report`] the JSON
//! report and `compare`; [`svg`] the latency picture.

mod record;
pub mod report;
pub mod svg;

pub use record::{Local, Outcome, Recorder, Second, histogram};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tonic::transport::Channel;

use crate::bulk::SplitMix;
use consentd_proto::pb;

pub use crate::connect::Key;
use crate::connect::{AdminClient as Admin, Clients, ConsentClient as Consent, DecisionClient as Decision};

/// The deployment under test: one connection per address (several addresses spread the
/// load round robin over the nodes of a cluster), and the API key.
#[derive(Clone)]
pub struct Target {
    pub channels: Vec<Channel>,
    pub key: Key,
}

impl Target {
    fn channel(&self, i: usize) -> Channel {
        self.channels[i % self.channels.len()].clone()
    }

    fn clients(&self, i: usize) -> Clients {
        Clients::new(self.channel(i), self.key.clone())
    }

    pub fn decision(&self, i: usize) -> Decision {
        self.clients(i).decision()
    }

    pub fn consent(&self, i: usize) -> Consent {
        self.clients(i).consent()
    }

    pub fn admin(&self, i: usize) -> Admin {
        self.clients(i).admin()
    }
}

/// Who the load is about: a synthetic population (`size` contact points from `seed`) or the
/// contact points of a file, under one profile and purpose.
#[derive(Clone, Debug)]
pub struct Population {
    pub profile: String,
    pub purpose: String,
    pub topic: String,
    pub size: u64,
    pub seed: u64,
    /// Share of recipients that are in the population (the rest are unknown addresses).
    pub known: f64,
    /// Contact points read from a file (`--population-file`); replaces the synthetic ones.
    pub given: Option<Arc<Vec<String>>>,
}

impl Population {
    /// Contact point `k` of the synthetic population.
    pub fn member(&self, k: u64) -> String {
        format!("bench{}-{k}@example.com", self.seed)
    }

    /// Recipient number `i` of a send: known or unknown by the population's mix, the same
    /// for the same seed.
    pub fn recipient(&self, i: u64) -> String {
        let mut rng = SplitMix::new(self.seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        if let Some(given) = &self.given {
            return given[(rng.next_u64() % given.len().max(1) as u64) as usize].clone();
        }
        if rng.unit() < self.known && self.size > 0 {
            self.member(rng.next_u64() % self.size)
        } else {
            format!("nobody{}-{}@example.org", self.seed, rng.next_u64() % 1_000_000_000)
        }
    }

    /// The status member `k` was given by [`setup`]: two in three opted in.
    pub fn status_of(k: u64) -> pb::ConsentStatus {
        if k.is_multiple_of(3) { pb::ConsentStatus::OptedOut } else { pb::ConsentStatus::OptedIn }
    }
}

/// Creates the profile (active, region NL), its purpose (commercial) and topic, and writes the
/// synthetic population through BatchSetConsent (1,000 per request, 4 in flight).
pub async fn setup(target: &Target, pop: &Population) -> Result<Populated, tonic::Status> {
    let mut admin = target.admin(0);
    admin
        .create_profile(pb::CreateProfileRequest {
            profile: Some(pb::Profile {
                profile_id: pop.profile.clone(),
                display_name: "consentctl bench".into(),
                default_region: "NL".into(),
                ..Default::default()
            }),
        })
        .await?;
    admin
        .create_purpose(pb::CreatePurposeRequest {
            purpose: Some(pb::Purpose {
                profile_id: pop.profile.clone(),
                purpose_id: pop.purpose.clone(),
                kind: pb::PurposeKind::Commercial as i32,
                ..Default::default()
            }),
        })
        .await?;
    if !pop.topic.is_empty() {
        admin
            .create_topic(pb::CreateTopicRequest {
                topic: Some(pb::Topic {
                    profile_id: pop.profile.clone(),
                    purpose_id: pop.purpose.clone(),
                    topic_id: pop.topic.clone(),
                    ..Default::default()
                }),
            })
            .await?;
    }
    populate(target, pop).await
}

/// What writing a population took.
#[derive(Clone, Copy, Debug)]
pub struct Populated {
    pub rows_per_sec: f64,
    /// The highest revision answered: a replica that reached it holds the whole population.
    pub revision: u64,
}

/// Writes the synthetic population (without creating anything).
pub async fn populate(target: &Target, pop: &Population) -> Result<Populated, tonic::Status> {
    let started = Instant::now();
    let (per_request, workers) = (1000u64, 4u64);
    let top = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..workers {
        let mut client = target.consent(w as usize);
        let pop = pop.clone();
        let top = Arc::clone(&top);
        tasks.push(tokio::spawn(async move {
            let mut start = w * per_request;
            while start < pop.size {
                let end = (start + per_request).min(pop.size);
                let requests = (start..end)
                    .map(|k| pb::SetConsentRequest {
                        change: Some(pb::ConsentChange {
                            profile_id: pop.profile.clone(),
                            channel: pb::Channel::Email as i32,
                            contact_point: pop.member(k),
                            purpose_id: pop.purpose.clone(),
                            status: Population::status_of(k) as i32,
                            source: pb::ChangeSource::Import as i32,
                            ..Default::default()
                        }),
                        idempotency_key: String::new(),
                    })
                    .collect();
                let answered =
                    client.batch_set_consent(pb::BatchSetConsentRequest { requests, validate_only: false }).await?;
                for item in answered.into_inner().results {
                    if let Some(pb::batch_set_consent_result::Result::Change(c)) = item.result {
                        top.fetch_max(c.revision, Ordering::Relaxed);
                    }
                }
                start += workers * per_request;
            }
            Ok::<(), tonic::Status>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| tonic::Status::internal(format!("populate task: {e}")))??;
    }
    Ok(Populated {
        rows_per_sec: pop.size as f64 / started.elapsed().as_secs_f64().max(1e-9),
        revision: top.load(Ordering::Relaxed),
    })
}

/// When a scenario stops: after a number of operations (`requests`), else after `duration`.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub requests: Option<u64>,
    pub duration: Duration,
}

impl Run {
    /// `n` operations (calls, or stream batches).
    pub fn count(n: u64) -> Run {
        Run { requests: Some(n), duration: Duration::ZERO }
    }

    /// For `duration`.
    pub fn timed(duration: Duration) -> Run {
        Run { requests: None, duration }
    }
}

/// What a unary scenario calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// `Check` of the next recipient.
    Check,
    /// `SetConsent` of a population member (opt-in and opt-out by turns).
    Write,
    /// `BatchSetConsent` of this many members.
    BatchWrite(u32),
    /// The standard health check: an RPC that does no work (the gRPC floor).
    Noop,
}

async fn call_once(target: &Target, conn: usize, call: Call, pop: &Population, i: u64) -> Result<u64, tonic::Status> {
    let change = |k: u64, n: u64| pb::SetConsentRequest {
        change: Some(pb::ConsentChange {
            profile_id: pop.profile.clone(),
            channel: pb::Channel::Email as i32,
            contact_point: pop.member(k % pop.size.max(1)),
            purpose_id: pop.purpose.clone(),
            status: if n.is_multiple_of(2) { pb::ConsentStatus::OptedIn } else { pb::ConsentStatus::OptedOut } as i32,
            source: pb::ChangeSource::Api as i32,
            ..Default::default()
        }),
        idempotency_key: String::new(),
    };
    match call {
        Call::Check => {
            target
                .decision(conn)
                .check(pb::CheckRequest {
                    profile_id: pop.profile.clone(),
                    channel: pb::Channel::Email as i32,
                    contact_point: pop.recipient(i),
                    purpose_id: pop.purpose.clone(),
                    topic_id: String::new(),
                    min_revision: 0,
                    as_of: None,
                    as_of_clock: 0,
                })
                .await?;
            Ok(1)
        }
        Call::Write => {
            target.consent(conn).set_consent(change(i, i)).await?;
            Ok(1)
        }
        Call::BatchWrite(n) => {
            let n = u64::from(n.max(1));
            // The first pass over the population writes it exactly once (an import of `size`
            // rows ends with a short batch); later passes wrap round it in whole batches.
            let first = i * n;
            let n = if first < pop.size { n.min(pop.size - first) } else { n };
            let requests = (0..n).map(|j| change(first + j, i)).collect();
            target
                .consent(conn)
                .batch_set_consent(pb::BatchSetConsentRequest { requests, validate_only: false })
                .await?;
            Ok(n)
        }
        Call::Noop => {
            let mut health = tonic_health::pb::health_client::HealthClient::new(target.channel(conn));
            health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await?;
            Ok(1)
        }
    }
}

/// Whether a scenario is done: `done` operations started, or the time is up.
fn stop_at(run: Run) -> impl Fn(u64, Instant) -> bool {
    move |done: u64, start: Instant| match run.requests {
        Some(n) => done >= n,
        None => start.elapsed() >= run.duration,
    }
}

/// Closed loop: `concurrency` callers, each waiting for its answer before its next call;
/// recorded into `rec` (so a progress line can watch it).
pub async fn closed_loop(
    target: &Target,
    pop: &Population,
    call: Call,
    concurrency: usize,
    run: Run,
    rec: Arc<Recorder>,
) -> Outcome {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency.max(1) {
        let (target, pop, next, rec) = (target.clone(), pop.clone(), Arc::clone(&next), Arc::clone(&rec));
        let stop = stop_at(run);
        tasks.push(tokio::spawn(async move {
            let mut local = rec.local();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if stop(i, started) {
                    break;
                }
                let t = Instant::now();
                match call_once(&target, w, call, &pop, i).await {
                    Ok(items) => local.ok(t.elapsed().as_micros() as u64, items),
                    Err(s) => local.error(&s),
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    rec.finish(started.elapsed())
}

/// Open loop: calls start at `rate` per second whatever the answers do; a call's latency
/// counts from its intended start, so a stall is charged to every call it delays. The
/// schedule comes from a plain thread (tokio's timer has millisecond granularity). At most
/// `max_in_flight` calls are outstanding; past that the schedule waits and the lateness is
/// charged to the calls.
pub async fn open_loop(
    target: &Target,
    pop: &Population,
    call: Call,
    rate: f64,
    run: Run,
    rec: Arc<Recorder>,
) -> Outcome {
    let rate = rate.max(0.001);
    let total = run.requests.unwrap_or((rate * run.duration.as_secs_f64()).ceil() as u64);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(20_000));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let stopped = Arc::new(AtomicBool::new(false));
    let gen_stop = Arc::clone(&stopped);
    let generator = std::thread::spawn(move || {
        let start = Instant::now();
        for i in 0..total {
            let intended = start + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if intended > now {
                std::thread::sleep(intended - now);
            }
            if gen_stop.load(Ordering::Relaxed) || tx.send((i, intended)).is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    while let Some((i, intended)) = rx.recv().await {
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else { break };
        let (target, pop, rec) = (target.clone(), pop.clone(), Arc::clone(&rec));
        tasks.spawn(async move {
            let result = call_once(&target, i as usize, call, &pop, i).await;
            let mut local = rec.local();
            match result {
                Ok(items) => local.ok(intended.elapsed().as_micros() as u64, items),
                Err(s) => local.error(&s),
            }
            drop(permit);
        });
        // Reap finished calls as we go, so the set stays small.
        while tasks.try_join_next().is_some() {}
    }
    stopped.store(true, Ordering::Relaxed);
    let _ = generator.join();
    while tasks.join_next().await.is_some() {}
    rec.finish(started.elapsed())
}

/// A hot stream's shape.
#[derive(Clone, Copy, Debug)]
pub struct StreamShape {
    pub connections: usize,
    pub streams_per_connection: usize,
    pub batch: usize,
    /// Share of items with a per-item topic override (needs the population's topic).
    pub overrides: f64,
    pub include_links: bool,
    /// Recipients and answers in the packed form (else the listed one, as older clients).
    pub packed: bool,
    /// Ask for a signed receipt with every batch (an answer without one is an error).
    pub receipts: bool,
    /// The revocation fence since this revision: answers name only the changed recipients;
    /// items count the recipients checked, `sends` the changed ones.
    pub fence: Option<u64>,
}

/// Batch `b` of a send.
fn make_batch(pop: &Population, shape: StreamShape, b: u64) -> pb::CheckStreamRequest {
    let first = b * shape.batch as u64;
    let overrides = if shape.overrides > 0.0 && !pop.topic.is_empty() {
        let mut rng = SplitMix::new(pop.seed ^ b);
        (0..shape.batch as u32)
            .filter(|_| rng.unit() < shape.overrides)
            .map(|index| pb::ItemOverride { index, channel: 0, topic_id: pop.topic.clone() })
            .collect()
    } else {
        Vec::new()
    };
    let recipients: Vec<String> = (first..first + shape.batch as u64).map(|i| pop.recipient(i)).collect();
    let packed = if shape.packed { crate::packed::pack(recipients.iter().map(String::as_str)) } else { None };
    let (contact_points, contact_points_packed) = match packed {
        Some(bytes) => (Vec::new(), bytes),
        None => (recipients, Vec::new()),
    };
    pb::CheckStreamRequest {
        batch_id: b,
        profile_id: pop.profile.clone(),
        channel: pb::Channel::Email as i32,
        purpose_id: pop.purpose.clone(),
        topic_id: String::new(),
        contact_points,
        overrides,
        min_revision: 0,
        include_links: shape.include_links,
        contact_points_packed,
        packed_answers: shape.packed,
        receipts: shape.receipts,
        changed_since_revision: shape.fence,
        ..Default::default()
    }
}

/// Where a stream's batches come from: built before the clock starts, so making recipients
/// is not measured. A run of N batches builds all N and hands each stream its share; a timed
/// run builds a pool of up to 256 and sends copies round robin.
enum Batches {
    Owned(Vec<pb::CheckStreamRequest>),
    Pool(Arc<Vec<pb::CheckStreamRequest>>, Arc<AtomicU64>),
}

impl Batches {
    fn next(&mut self) -> Option<pb::CheckStreamRequest> {
        match self {
            Batches::Owned(v) => v.pop(),
            Batches::Pool(pool, next) => {
                let b = next.fetch_add(1, Ordering::Relaxed);
                let mut req = pool[(b % pool.len() as u64) as usize].clone();
                req.batch_id = b;
                Some(req)
            }
        }
    }
}

/// `CheckStream` over `connections × streams_per_connection` streams, each sending batches
/// of recipients and reading the answers (up to four batches in flight per stream); the
/// latency is a batch's, from sending it to its answer; items are decisions.
pub async fn stream(target: &Target, pop: &Population, shape: StreamShape, run: Run, rec: Arc<Recorder>) -> Outcome {
    let streams = shape.connections.max(1) * shape.streams_per_connection.max(1);
    let mut sources: Vec<Batches> = match run.requests {
        Some(n) => {
            let mut shares: Vec<Vec<pb::CheckStreamRequest>> = (0..streams).map(|_| Vec::new()).collect();
            for b in 0..n {
                shares[(b % streams as u64) as usize].push(make_batch(pop, shape, b));
            }
            // `next` pops from the end: reverse so each stream sends in batch order.
            shares
                .into_iter()
                .map(|mut v| {
                    v.reverse();
                    Batches::Owned(v)
                })
                .collect()
        }
        None => {
            let pool: Arc<Vec<_>> = Arc::new((0..256u64).map(|b| make_batch(pop, shape, b)).collect());
            let next = Arc::new(AtomicU64::new(0));
            (0..streams).map(|_| Batches::Pool(Arc::clone(&pool), Arc::clone(&next))).collect()
        }
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..streams {
        let Some(mut source) = sources.pop() else { break };
        let (target, rec) = (target.clone(), Arc::clone(&rec));
        let conn = s % shape.connections.max(1);
        tasks.push(tokio::spawn(async move {
            let (tx, rx) = tokio::sync::mpsc::channel::<pb::CheckStreamRequest>(4);
            let sent: Arc<std::sync::Mutex<std::collections::VecDeque<Instant>>> = Arc::default();
            let sent_w = Arc::clone(&sent);
            let writer = tokio::spawn(async move {
                while run.requests.is_some() || started.elapsed() < run.duration {
                    let Some(req) = source.next() else { break };
                    if let Ok(mut q) = sent_w.lock() {
                        q.push_back(Instant::now());
                    }
                    if tx.send(req).await.is_err() {
                        break;
                    }
                }
            });
            let mut local = rec.local();
            match target.decision(conn).check_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).await {
                Ok(answers) => {
                    let mut answers = answers.into_inner();
                    loop {
                        match answers.message().await {
                            Ok(Some(a)) => {
                                let t = sent.lock().ok().and_then(|mut q| q.pop_front());
                                let us = t.map_or(0, |t| t.elapsed().as_micros() as u64);
                                let send = pb::Decision::Send as i32;
                                let (items, sends) = if shape.fence.is_some() {
                                    (shape.batch, a.fenced.len())
                                } else if shape.packed {
                                    let sends =
                                        a.outcomes.iter().filter(|b| crate::packed::answer(**b).0 == send).count();
                                    (a.outcomes.len(), sends)
                                } else {
                                    (a.decisions.len(), a.decisions.iter().filter(|d| **d == send).count())
                                };
                                local.ok(us, items as u64);
                                if shape.include_links && a.links.len() != sends {
                                    local.error(&tonic::Status::data_loss(
                                        "an answer without one set of links per SEND",
                                    ));
                                }
                                if shape.receipts && a.receipt.is_none() {
                                    local.error(&tonic::Status::data_loss("an answer without its receipt"));
                                }
                                local.sends(sends as u64);
                            }
                            Ok(None) => break,
                            Err(s) => {
                                local.error(&s);
                                break;
                            }
                        }
                    }
                }
                Err(s) => local.error(&s),
            }
            writer.abort();
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    rec.finish(started.elapsed())
}

/// Sends prepared `BatchSetConsent` calls (an import of a given file), `in_flight` at a
/// time; items are the changes applied, and a refused item counts as an error of its code.
pub async fn batches(
    target: &Target,
    calls: Vec<pb::BatchSetConsentRequest>,
    in_flight: usize,
    rec: Arc<Recorder>,
) -> Outcome {
    let queue = Arc::new(std::sync::Mutex::new(calls.into_iter().rev().collect::<Vec<_>>()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..in_flight.max(1) {
        let (target, queue, rec) = (target.clone(), Arc::clone(&queue), Arc::clone(&rec));
        tasks.push(tokio::spawn(async move {
            let mut local = rec.local();
            let mut client = target.consent(w);
            // The guard is consumed inside `and_then`: the queue is not held while calling.
            while let Some(call) = queue.lock().ok().and_then(|mut q| q.pop()) {
                let t = Instant::now();
                match client.batch_set_consent(call).await {
                    Ok(r) => {
                        let mut applied = 0;
                        for item in r.into_inner().results {
                            match item.result {
                                Some(pb::batch_set_consent_result::Result::Change(_)) => applied += 1,
                                Some(pb::batch_set_consent_result::Result::Error(e)) => {
                                    local.error(&tonic::Status::new(tonic::Code::from(e.code), e.message));
                                }
                                Some(pb::batch_set_consent_result::Result::Validated(_)) => {
                                    local.error(&tonic::Status::internal("a write answered as validated only"));
                                }
                                None => local.error(&tonic::Status::internal("an item without a result")),
                            }
                        }
                        local.ok(t.elapsed().as_micros() as u64, applied);
                    }
                    Err(s) => local.error(&s),
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    rec.finish(started.elapsed())
}

/// Reads the server's revision as a client sees it (the `revision` of a `Check` answer).
pub async fn revision(target: &Target, pop: &Population) -> Option<u64> {
    probe(target, pop).await.ok()
}

/// One check of the population's first recipient: the server's revision, or why it
/// refuses the run's profile and purpose (asked before a run, so that a typo fails once
/// instead of in every call of a run).
pub async fn probe(target: &Target, pop: &Population) -> Result<u64, tonic::Status> {
    let r = target
        .decision(0)
        .check(pb::CheckRequest {
            profile_id: pop.profile.clone(),
            channel: pb::Channel::Email as i32,
            contact_point: pop.recipient(0),
            purpose_id: pop.purpose.clone(),
            topic_id: String::new(),
            min_revision: 0,
            as_of: None,
            as_of_clock: 0,
        })
        .await?;
    Ok(r.into_inner().revision)
}

/// The server's version, as `AdminService.GetServerInfo` tells it (older servers: `None`).
pub async fn server_version(target: &Target) -> Option<String> {
    let r = target.admin(0).get_server_info(pb::GetServerInfoRequest {}).await.ok()?;
    Some(r.into_inner().version)
}

/// Whether an address names this machine (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(addr: &str) -> bool {
    let rest = addr.split_once("://").map_or(addr, |(_, r)| r);
    let host = if let Some(v6) = rest.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        rest.split([':', '/']).next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses() {
        for a in ["http://127.0.0.1:50051", "https://localhost:443", "http://[::1]:50051", "127.0.0.2:1"] {
            assert!(is_loopback(a), "{a}");
        }
        for a in ["http://10.0.0.5:50051", "https://consent.example.com", "http://[2001:db8::1]:1"] {
            assert!(!is_loopback(a), "{a}");
        }
    }

    #[test]
    fn recipients_are_deterministic_and_mixed() {
        let pop = Population {
            profile: "p".into(),
            purpose: "n".into(),
            topic: String::new(),
            size: 1000,
            seed: 7,
            known: 0.5,
            given: None,
        };
        let a: Vec<String> = (0..1000).map(|i| pop.recipient(i)).collect();
        let b: Vec<String> = (0..1000).map(|i| pop.recipient(i)).collect();
        assert_eq!(a, b);
        let known = a.iter().filter(|r| r.starts_with("bench7-")).count();
        assert!((400..600).contains(&known), "{known} of 1000 known");
    }
}
