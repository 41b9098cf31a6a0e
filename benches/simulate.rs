//! The policy simulation (`AdminService.SimulateCatalogChange`) over a hot index of 10M
//! contact points: the scan that decides every contact point of a profile under the
//! catalog as it is and as proposed, on every core and on one (their ratio is the figure
//! README quotes beside the absolute time, which differs between machines).
//!
//! Run: `cargo bench --bench simulate` (`CONSENTD_BENCH_CONTACTS` sets the size).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmarks fail loudly on purpose")]

use consentd::decision::simulate::Scenario;
use consentd::decision::{
    Catalog, Channel, ContactState, EnforcementModel, Profile, Purpose, PurposeKind, Record, Status, Subject,
    SuppressionKind, Suppressions, Topic,
};
use consentd::storage::ContactKey;
use consentd::storage::index::{HotIndex, KeyedIndex, Origin, SHARDS};
use consentd::storage::simulate::scan;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const NOW: i64 = 1_767_225_600;

fn catalog() -> Catalog {
    let mut c = Catalog::default();
    for profile in ["acme", "beta"] {
        c.insert_profile(Profile::new(profile));
    }
    c.insert_purpose(Purpose::new("acme", "news", PurposeKind::Commercial, 1));
    c.insert_purpose(Purpose::new("acme", "orders", PurposeKind::Transactional, 2));
    c.insert_purpose(Purpose::new("beta", "news", PurposeKind::Commercial, 3));
    for (no, id) in [(1, "events"), (2, "discounts")] {
        c.insert_topic(Topic {
            profile_id: "acme".into(),
            purpose_id: "news".into(),
            id: id.into(),
            display_name: String::new(),
            active: true,
            no,
            created_at: 0,
            updated_at: 0,
        });
    }
    c
}

/// `n` contact points: nine in ten of acme (seven in ten of those on email, the rest on
/// sms), one in ten of beta; opted in, opted out, suppressed, with topics, or with orders
/// only, in turn.
fn population(n: usize) -> HotIndex {
    let keyed = KeyedIndex::new([7; 16], HotIndex::default());
    let record = |status| Record { status, expires_at: None };
    let (news, events, orders) = (Subject::purpose(1), Subject { purpose: 1, topic: 1 }, Subject::purpose(2));
    let mut shards: Vec<Vec<(ContactKey, Origin, ContactState)>> = vec![Vec::new(); SHARDS];
    for i in 0..n {
        let (profile, channel) = match i % 10 {
            9 => ("beta", Channel::Email),
            0..=6 => ("acme", Channel::Email),
            _ => ("acme", Channel::Sms),
        };
        let state = match (profile, i % 7) {
            ("beta", _) => ContactState::new(Suppressions::NONE, [(Subject::purpose(3), record(Status::OptedIn))]),
            (_, 0 | 1) => ContactState::new(Suppressions::NONE, [(news, record(Status::OptedIn))]),
            (_, 2) => ContactState::new(Suppressions::NONE, [(news, record(Status::OptedOut))]),
            (_, 3) => ContactState::new(Suppressions::NONE.with(SuppressionKind::HardBounce), []),
            (_, 4) => ContactState::new(
                Suppressions::NONE,
                [(news, record(Status::OptedIn)), (events, record(Status::OptedOut))],
            ),
            _ => ContactState::new(Suppressions::NONE, [(orders, record(Status::OptedIn))]),
        };
        let key = keyed.key(profile, channel, &format!("user{i}@example.com"));
        shards[HotIndex::shard_of(&key)].push((key, Origin::new(profile, channel), state));
    }
    let index = HotIndex::default();
    for (shard, entries) in shards.into_iter().enumerate() {
        index.fill_shard(shard, entries);
    }
    index
}

fn simulate(c: &mut Criterion) {
    let n: usize = std::env::var("CONSENTD_BENCH_CONTACTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let index = population(n);
    println!("hot index: {n} contact points, {} bytes per contact point with origins", index.approx_bytes() / n);
    let current = catalog();
    // The change marketing asks about: news goes from opt-in to opt-out based on email.
    let mut proposed = current.clone();
    let mut news = current.purpose("acme", "news").cloned().expect("news");
    news.models[Channel::Email.index()] = EnforcementModel::NonRestrictive;
    proposed.insert_purpose(news);
    let scenario = Scenario::new(&current, &proposed, "acme");
    assert_eq!(scenario.groups().len(), 3, "news, news/events and news/discounts on email");
    let tag = (Origin::profile_tag("acme"), false);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let check = scan(&index, &scenario, tag, NOW, 5, cores);
    assert_eq!(check.tally.population[Channel::Email.index()], (0..n).filter(|i| i % 10 <= 6).count() as u64);

    let mut group = c.benchmark_group(format!("simulate_{n}"));
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(format!("scan_{cores}_threads"), |b| b.iter(|| scan(&index, &scenario, tag, NOW, 5, cores)));
    group.bench_function("scan_1_thread", |b| b.iter(|| scan(&index, &scenario, tag, NOW, 5, 1)));
    // The widest change: the profile deactivated, every send of it refused (4 kinds of send
    // on each of the two channels with contact points).
    let mut off = current.clone();
    let mut acme = current.profile("acme").cloned().expect("acme");
    acme.active = false;
    off.insert_profile(acme);
    let wide = Scenario::new(&current, &off, "acme");
    assert_eq!(wide.groups().len(), 4 * Channel::COUNT);
    group.bench_function(format!("profile_deactivated_{cores}_threads"), |b| {
        b.iter(|| scan(&index, &wide, tag, NOW, 5, cores))
    });
    group.finish();
}

criterion_group!(benches, simulate);
criterion_main!(benches);
