//! Micro-benchmarks of the decision hot path: the pure engine, contact normalization, and
//! the in-process check (normalize, keyed hash, index lookup, decide) against a populated
//! hot index. The last is the baseline the load suite divides end-to-end figures by.
//!
//! Run: `cargo bench --bench decision`

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmarks fail loudly on purpose")]

use std::hint::black_box;

use consentd::contact;
use consentd::decision::{
    Catalog, Channel, ContactState, EnforcementModel, Profile, Purpose, PurposeKind, Record, Status, Subject,
    Suppressions, Target, check, check_many, decide,
};

use std::hash::BuildHasherDefault;

use consentd::storage::ContactKey;
use consentd::storage::index::{HotIndex, KeyedIndex, Origin, SHARDS};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use dashmap::DashMap;

const NOW: i64 = 1_767_225_600;

fn populated(n: usize) -> KeyedIndex {
    let idx = KeyedIndex::new([7; 16], HotIndex::with_capacity(n));
    for i in 0..n {
        let status = if i % 3 == 0 { Status::OptedOut } else { Status::OptedIn };
        let state = ContactState::new(
            Suppressions::NONE,
            [
                (Subject::purpose(1), Record { status, expires_at: None }),
                (Subject { purpose: 1, topic: 1 }, Record { status: Status::OptedIn, expires_at: Some(NOW + 86_400) }),
            ],
        );
        let key = idx.key("acme", Channel::Email, &format!("user{i}@example.com"));
        idx.index().put(key, Origin::new("acme", Channel::Email), state);
    }
    idx
}

fn catalog() -> Catalog {
    let mut c = Catalog::default();
    let mut p = Profile::new("acme");
    p.default_region = Some("NL".into());
    c.insert_profile(p);
    c.insert_purpose(Purpose::new("acme", "newsletter", PurposeKind::Commercial, 1));
    c
}

fn engine(c: &mut Criterion) {
    let state = ContactState::new(
        Suppressions::NONE,
        [
            (Subject::purpose(1), Record { status: Status::OptedIn, expires_at: None }),
            (Subject { purpose: 1, topic: 2 }, Record { status: Status::OptedIn, expires_at: Some(NOW + 10) }),
        ],
    );
    c.bench_function("decide/restrictive_topic_opted_in", |b| {
        b.iter(|| {
            decide(
                black_box(EnforcementModel::Restrictive),
                Some(black_box(&state)),
                Subject { purpose: 1, topic: 2 },
                NOW,
            )
        })
    });
    c.bench_function("decide/no_state", |b| {
        b.iter(|| decide(black_box(EnforcementModel::NonRestrictive), None, Subject::purpose(1), NOW))
    });
}

fn normalization(c: &mut Criterion) {
    c.bench_function("normalize/email", |b| {
        b.iter(|| contact::normalize(Channel::Email.contact_kind(), black_box(" Jane.Doe+news@Example.com "), None))
    });
    c.bench_function("normalize/phone_nl_national", |b| {
        b.iter(|| contact::normalize(Channel::Sms.contact_kind(), black_box("06 12345678"), Some("NL")))
    });
    // What bulk SMS senders send: valid numbers already in E.164 (the fast path), per country
    // and mixed, one call per number.
    let country = |c: usize| -> Vec<String> {
        (0..4096u64)
            .map(|i| {
                let n = i.wrapping_mul(2_654_435_761) % 10_000_000;
                match c {
                    0 => format!("+3161{n:07}"),
                    1 => format!("+447911{:06}", n % 1_000_000),
                    2 => format!("+1650253{:04}", n % 10_000),
                    _ => format!("+491512{n:07}"),
                }
            })
            .filter(|s| contact::normalize(Channel::Sms.contact_kind(), s, None).is_ok())
            .take(256)
            .collect()
    };
    let sets: Vec<(&str, Vec<String>)> =
        vec![("nl", country(0)), ("gb", country(1)), ("us", country(2)), ("de", country(3))];
    let mixed: Vec<String> = (0..256).flat_map(|i| sets.iter().map(move |(_, v)| v[i % v.len()].clone())).collect();
    let mut group = c.benchmark_group("normalize_e164");
    for (name, numbers) in sets.iter().map(|(n, v)| (*n, v)).chain([("mixed", &mixed)]) {
        group.throughput(Throughput::Elements(numbers.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                numbers
                    .iter()
                    .filter(|s| {
                        contact::normalize(Channel::Sms.contact_kind(), black_box(s.as_str()), Some("NL")).is_ok()
                    })
                    .count()
            })
        });
    }
    group.finish();
}

fn in_process_check(c: &mut Criterion) {
    let n = 1_000_000;
    let idx = populated(n);
    let catalog = catalog();
    let resolved = catalog.resolve("acme", "newsletter", "").expect("resolve");
    let target = Target::new(&resolved, Channel::Email);
    // Half hits, half misses, in a shuffled order so the cache sees a realistic spread.
    let recipients: Vec<String> = (0..16_384)
        .map(|i: usize| {
            let k = i.wrapping_mul(2_654_435_761) % (2 * n);
            format!("user{k}@example.com")
        })
        .collect();
    let mut group = c.benchmark_group("check_in_process");
    group.throughput(Throughput::Elements(recipients.len() as u64));
    group.bench_function("batch_16k_of_1m_contacts", |b| {
        b.iter_batched(
            || (),
            |()| {
                let mut sends = 0usize;
                for r in &recipients {
                    if check(&target, r, &idx, NOW).outcome() == consentd::decision::Outcome::Send {
                        sends += 1;
                    }
                }
                sends
            },
            BatchSize::SmallInput,
        )
    });
    // The server's batch path: the same recipients in prefetched windows.
    group.bench_function("batch_16k_of_1m_contacts_windowed", |b| {
        b.iter(|| {
            let mut sends = 0usize;
            check_many(
                |_| &target,
                &recipients,
                &idx,
                NOW,
                |_, d| {
                    sends += usize::from(d.outcome() == consentd::decision::Outcome::Send);
                },
            );
            sends
        })
    });
    group.finish();
    let bytes = idx.index().approx_bytes();
    println!("hot index: {n} contacts with two records each, {} bytes per contact point", bytes / n);
}

/// The hot index against the DashMap it replaced, built from the same keys in one sitting:
/// lookups one at a time, and ours in prefetched windows of 16 as batch checks use it.
/// `CONSENTD_BENCH_CONTACTS` sets the size (default 1M; README quotes 10M too).
fn index_against_dashmap(c: &mut Criterion) {
    let n: usize = std::env::var("CONSENTD_BENCH_CONTACTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let keyed = KeyedIndex::new([7; 16], HotIndex::default());
    let key = |i: usize| keyed.key("acme", Channel::Email, &format!("user{i}@example.com"));
    let state = ContactState::new(
        Suppressions::NONE,
        [(Subject::purpose(1), Record { status: Status::OptedIn, expires_at: None })],
    );
    // Filled as start-up fills it: whole shards at their exact count.
    let origin = Origin::new("acme", Channel::Email);
    let mut shards: Vec<Vec<(ContactKey, Origin, ContactState)>> = vec![Vec::new(); SHARDS];
    for i in 0..n {
        let k = key(i);
        shards[HotIndex::shard_of(&k)].push((k, origin, state.clone()));
    }
    let ours = HotIndex::default();
    let theirs: DashMap<ContactKey, ContactState, BuildHasherDefault<FirstWord>> =
        DashMap::with_capacity_and_hasher_and_shard_amount(n, Default::default(), 128);
    for (shard, entries) in shards.into_iter().enumerate() {
        for (k, _, v) in &entries {
            theirs.insert(*k, v.clone());
        }
        ours.fill_shard(shard, entries);
    }
    let probes: Vec<ContactKey> = (0..100_000).map(|i: usize| key(i.wrapping_mul(7) % (2 * n))).collect();
    let mut group = c.benchmark_group(format!("index_{n}"));
    group.throughput(Throughput::Elements(probes.len() as u64));
    group.bench_function("hot_index_single", |b| {
        b.iter(|| probes.iter().filter(|k| ours.with(k, |s| s.is_some())).count())
    });
    group.bench_function("dashmap_single", |b| b.iter(|| probes.iter().filter(|k| theirs.get(*k).is_some()).count()));
    group.bench_function("hot_index_prefetched_16", |b| {
        b.iter(|| {
            let mut found = 0;
            for window in probes.chunks(16) {
                for k in window {
                    ours.prefetch(k);
                }
                found += window.iter().filter(|k| ours.with(k, |s| s.is_some())).count();
            }
            found
        })
    });
    group.finish();
    let dash_bytes = theirs.capacity() * 8 / 7 * (std::mem::size_of::<(ContactKey, ContactState)>() + 1);
    println!(
        "index at {n}: hot index {} B per contact point, DashMap {} B per contact point",
        ours.approx_bytes() / n,
        dash_bytes / n
    );
}

/// DashMap's hasher for the comparison: the key's first word, as the old index used it.
#[derive(Default)]
struct FirstWord(u64);

impl std::hash::Hasher for FirstWord {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

criterion_group!(benches, engine, normalization, in_process_check, index_against_dashmap);
criterion_main!(benches);
