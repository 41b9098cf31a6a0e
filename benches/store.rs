//! Store benchmarks: durable write throughput with 1, 8 and 64 concurrent writers (every
//! write fsynced before it is acknowledged; concurrent writers share fsyncs), hot-index
//! lookups, and start-up load time and bytes per contact point.
//!
//! Run: `cargo bench --bench store`. Sizes: `CONSENTD_BENCH_CONTACTS` (default 1000000;
//! set 10000000 for the 10M figure, which needs ~15 GB of disk and several minutes).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmarks fail loudly on purpose")]

use std::time::{Duration, Instant};

use consentd::decision::{Channel, DoubleOptInMode, Profile, Purpose, PurposeKind, Status, Subject};
use consentd::storage::model::{ConsentChange, ContactRef, Source};
use consentd::storage::{Store, StoreOptions, system_clock};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn open(dir: &std::path::Path) -> Store {
    Store::open(dir, StoreOptions::new(system_clock())).expect("open").0
}

fn setup(rt: &tokio::runtime::Runtime, store: &Store) -> Subject {
    let _ = rt.block_on(store.put_profile(Profile::new("acme"), true));
    let p = match rt.block_on(store.put_purpose(Purpose::new("acme", "newsletter", PurposeKind::Commercial, 0), true)) {
        Ok(p) => p,
        Err(_) => store.catalog().purpose("acme", "newsletter").cloned().expect("purpose"),
    };
    Subject::purpose(p.no)
}

fn change(subject: Subject, i: u64, status: Status) -> ConsentChange {
    ConsentChange {
        contact: ContactRef {
            profile_id: "acme".into(),
            channel: Channel::Email,
            contact_point: format!("user{i}@example.com"),
        },
        purpose_id: "newsletter".into(),
        topic_id: String::new(),
        subject,
        status,
        occurred_at_us: 1_700_000_000_000_000 + i as i64,
        source: Source::Import,
        actor: "bench".into(),
        reason: String::new(),
        proof: None,
        expires_at: None,
        double_opt_in: DoubleOptInMode::Off,
        confirmation_validity_secs: 3600,
        idempotency: None,
    }
}

/// `total` writes from `writers` concurrent tasks; returns the elapsed time.
async fn write_many(store: &Store, subject: Subject, writers: u64, total: u64, offset: u64) -> Duration {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            // Writer w takes every `writers`-th id, so exactly `total` writes happen.
            for i in (w..total).step_by(writers as usize) {
                let id = offset + i;
                store
                    .set_consent(change(
                        subject,
                        id,
                        if id.is_multiple_of(3) { Status::OptedOut } else { Status::OptedIn },
                    ))
                    .await
                    .expect("write");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    started.elapsed()
}

fn durable_writes(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path());
    let subject = setup(&rt, &store);
    let mut group = c.benchmark_group("durable_write");
    group.sample_size(10).measurement_time(Duration::from_secs(8));
    let mut offset = 0u64;
    for writers in [1u64, 8, 64] {
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("writers_{writers}"), |b| {
            b.iter_custom(|iters| {
                let total = iters.max(writers);
                let d = rt.block_on(write_many(&store, subject, writers, total, offset));
                offset += total + writers;
                d.mul_f64(iters as f64 / total as f64)
            })
        });
    }
    group.finish();
}

fn startup_and_memory(c: &mut Criterion) {
    let n: u64 = std::env::var("CONSENTD_BENCH_CONTACTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    {
        let store = open(dir.path());
        let subject = setup(&rt, &store);
        let started = Instant::now();
        rt.block_on(write_many(&store, subject, 256, n, 0));
        store.flush().expect("flush");
        println!(
            "populated {n} contact points through the durable write path in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let mut group = c.benchmark_group("startup");
    group.sample_size(10);
    group.bench_function(format!("open_and_load_{n}_contacts"), |b| {
        b.iter(|| {
            let (store, stats) = Store::open(dir.path(), StoreOptions::new(system_clock())).expect("open");
            assert_eq!(stats.contacts as u64, n);
            drop(store);
        })
    });
    group.finish();
    let (store, stats) = Store::open(dir.path(), StoreOptions::new(system_clock())).expect("open");
    let bytes = store.index().approx_bytes();
    println!(
        "hot index: {} contact points, {} bytes per contact point (table slots and heap; load took {} ms)",
        stats.contacts,
        bytes / stats.contacts.max(1),
        stats.load_ms
    );
    let keys: Vec<_> = (0..100_000u64)
        .map(|i| store.contact_key("acme", Channel::Email, &format!("user{}@example.com", i * 7 % (2 * n))))
        .collect();
    let mut group = c.benchmark_group("index_lookup");
    group.throughput(Throughput::Elements(keys.len() as u64));
    group.bench_function(format!("100k_lookups_in_{n}"), |b| {
        b.iter(|| keys.iter().filter(|k| store.index().with(k, |s| s.is_some())).count())
    });
    group.finish();
}

criterion_group!(benches, durable_writes, startup_and_memory);
criterion_main!(benches);
