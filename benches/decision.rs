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

use consentd::storage::index::{HotIndex, KeyedIndex};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

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
        idx.index().put(key, state);
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

criterion_group!(benches, engine, normalization, in_process_check);
criterion_main!(benches);
