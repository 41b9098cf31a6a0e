use std::collections::HashMap;

use prost::Message;

use super::*;
use crate::codec::{ALL_CFS, CF_INDEX, CF_META, FORMAT_VERSION, FORMAT_VERSION_3, META_FORMAT, decode_index_entry};
use crate::model::{ConsentChange, ContactRef, Source, SuppressionChange};
use crate::{StoreOptions, system_clock};
use consentd_core::decision::simulate::REFUSED;
use consentd_core::decision::{
    Catalog, EnforcementModel, Profile, Purpose, PurposeKind, Reason, Status, Subject, SuppressionKind, Topic, decide,
};

type Member = (String, Channel, String);

fn change(store: &Store, who: &Member, subject: Subject, status: Status) -> ConsentChange {
    let contact = ContactRef { profile_id: who.0.clone(), channel: who.1, contact_point: who.2.clone() };
    ConsentChange::example(contact, subject, status, store.now_us())
}

async fn suppress(store: &Store, who: &Member, kind: SuppressionKind) {
    let contact = ContactRef { profile_id: who.0.clone(), channel: who.1, contact_point: who.2.clone() };
    let s = SuppressionChange {
        contact,
        kind,
        add: true,
        occurred_at_us: store.now_us(),
        source: Source::Api,
        actor: "test".into(),
        reason: String::new(),
    };
    store.set_suppression(s).await.expect("suppress");
}

/// Two profiles: `acme` (news = 1, restrictive, with topic events = 1; orders = 2,
/// transactional) and `other` (news = 3). Contact points of every kind on email and sms.
async fn populated(store: &Store, acme: &str, other: &str) -> Vec<Member> {
    store.put_profile(Profile::new(acme), true).await.expect("profile");
    store.put_profile(Profile::new(other), true).await.expect("profile");
    for (profile, id, kind) in [
        (acme, "news", PurposeKind::Commercial),
        (acme, "orders", PurposeKind::Transactional),
        (other, "news", PurposeKind::Commercial),
    ] {
        store.put_purpose(Purpose::new(profile, id, kind, 0), true).await.expect("purpose");
    }
    let events = Topic {
        profile_id: acme.into(),
        purpose_id: "news".into(),
        id: "events".into(),
        display_name: String::new(),
        active: true,
        no: 0,
        created_at: 0,
        updated_at: 0,
    };
    store.put_topic(events, true).await.expect("topic");
    let (news, orders, events, other_news) =
        (Subject::purpose(1), Subject::purpose(2), Subject { purpose: 1, topic: 1 }, Subject::purpose(3));
    let mut members = Vec::new();
    for i in 0..200 {
        for (profile, channel, cp) in [
            (acme, Channel::Email, format!("user{i}@example.com")),
            (acme, Channel::Sms, format!("+3161234{i:04}")),
            (other, Channel::Email, format!("user{i}@example.com")),
        ] {
            let who = (profile.to_owned(), channel, cp);
            let set = |subject, status| store.set_consent(change(store, &who, subject, status));
            match (profile == acme, i % 6) {
                (true, 0) => drop(set(news, Status::OptedIn).await.expect("write")),
                (true, 1) => drop(set(news, Status::OptedOut).await.expect("write")),
                (true, 2) => drop(set(orders, Status::OptedIn).await.expect("write")),
                (_, 3) => suppress(store, &who, SuppressionKind::Manual).await,
                (true, 4) => {
                    set(news, Status::OptedIn).await.expect("write");
                    set(events, Status::OptedOut).await.expect("write");
                }
                (true, _) => continue,
                (false, _) => drop(set(other_news, Status::OptedIn).await.expect("write")),
            }
            members.push(who);
        }
    }
    members
}

/// News on email becomes non-restrictive and orders is deactivated.
fn proposal(current: &Catalog, acme: &str) -> Catalog {
    let mut proposed = current.clone();
    let mut news = current.purpose(acme, "news").cloned().expect("news");
    news.models[Channel::Email.index()] = EnforcementModel::NonRestrictive;
    proposed.insert_purpose(news);
    let mut orders = current.purpose(acme, "orders").cloned().expect("orders");
    orders.active = false;
    proposed.insert_purpose(orders);
    proposed
}

/// The counts worked out one contact point at a time from its own lookup.
fn expected(store: &Store, scenario: &Scenario, members: &[Member], acme: &str) -> Tally {
    let now = store.now_us().div_euclid(1_000_000);
    let mut tally = scenario.new_tally();
    for (profile, channel, cp) in members.iter().filter(|m| m.0 == acme) {
        let key = store.contact_key(profile, *channel, cp);
        let Some(state) = store.index().with(&key, |s| s.cloned()) else { continue };
        tally.population[channel.index()] += 1;
        for (g, group) in scenario.groups().iter().enumerate().filter(|(_, g)| g.channel == *channel) {
            let before = decide(group.before, Some(&state), group.subject, now).reason;
            let after = group.after.as_ref().ok().map(|m| decide(*m, Some(&state), group.subject, now).reason);
            tally.cells[Tally::cell(g, before, after)] += 1;
        }
    }
    tally
}

#[tokio::test]
async fn the_scan_counts_what_deciding_each_contact_point_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = Store::open(&dir.path().join("data"), StoreOptions::new(system_clock())).expect("open");
    let members = populated(&store, "acme", "other").await;
    let current = (*store.catalog()).clone();
    let scenario = Scenario::new(&current, &proposal(&current, "acme"), "acme");
    // News on email (purpose and topic), orders on all six channels.
    assert_eq!(scenario.groups().len(), 2 + Channel::COUNT);

    let sim = store.simulate(&scenario, "acme", (3, 1000)).expect("simulate");
    let want = expected(&store, &scenario, &members, "acme");
    assert_eq!(sim.tally, want);
    // Not a vacuous agreement: acme's email and sms contact points, and changes of each kind.
    assert_eq!(sim.tally.population[Channel::Email.index()], 167);
    assert_eq!(sim.tally.population[Channel::Sms.index()], 167);
    let news_email = 0;
    assert_eq!(sim.tally.cells[Tally::cell(news_email, Reason::OptedIn, Some(Reason::NotOptedOut))], 67);
    assert_eq!(sim.tally.cells[Tally::cell(news_email, Reason::NoOptIn, Some(Reason::NotOptedOut))], 33);
    assert_eq!(sim.tally.cells[Tally::cell(news_email, Reason::Suppressed, Some(Reason::Suppressed))], 33);
    assert_eq!(sim.tally.cells[Tally::cell(news_email, Reason::PurposeOptedOut, Some(Reason::PurposeOptedOut))], 34);

    // Samples: at most three per changed cell, each one a contact point of that cell.
    let by_cp: HashMap<&str, &Member> = members.iter().filter(|m| m.0 == "acme").map(|m| (m.2.as_str(), m)).collect();
    let mut per_cell: HashMap<usize, usize> = HashMap::new();
    let now = store.now_us().div_euclid(1_000_000);
    for (cell, cp) in &sim.samples {
        let (group, before, after) = Tally::parts(*cell);
        assert_ne!(Some(before), after);
        let member = by_cp[cp.as_deref().expect("not erased")];
        let g = &scenario.groups()[group];
        assert_eq!(member.1, g.channel);
        let state = store.index().with(&store.contact_key(&member.0, member.1, &member.2), |s| s.cloned());
        assert_eq!(decide(g.before, state.as_ref(), g.subject, now).reason, before);
        *per_cell.entry(*cell).or_default() += 1;
    }
    assert!(per_cell.values().all(|n| *n == 3), "{per_cell:?}");
    let changed_cells = (0..sim.tally.cells.len()).filter(|c| sim.tally.cells[*c] > 0 && Tally::is_change(*c)).count();
    assert_eq!(per_cell.len(), changed_cells);
    assert!(changed_cells >= 6, "orders' refusals on two channels and news' changes");
    // The overall cap holds.
    assert_eq!(store.simulate(&scenario, "acme", (3, 4)).expect("simulate").samples.len(), 4);
    // Every refusal is counted in the refused column.
    let refused: u64 = (0..sim.tally.cells.len())
        .filter(|c| c % consentd_core::decision::simulate::AFTER_COLUMNS == REFUSED)
        .map(|c| sim.tally.cells[c])
        .sum();
    assert_eq!(refused, 167 * 2, "orders on email and sms");
}

/// Two profiles whose ids share a tag: contact points with records are told apart by their
/// purposes, and those with suppressions alone by their stored profile.
#[tokio::test]
async fn profiles_that_share_a_tag_are_told_apart() {
    let mut seen = HashMap::new();
    let (acme, twin) = (0..1_000u32)
        .map(|i| format!("p{i}"))
        .find_map(|id| seen.insert(Origin::profile_tag(&id), id.clone()).map(|first| (first, id)))
        .expect("a pair among 5-bit tags");
    assert_eq!(Origin::profile_tag(&acme), Origin::profile_tag(&twin));
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = Store::open(&dir.path().join("data"), StoreOptions::new(system_clock())).expect("open");
    // The twin has records (its own purpose) and suppression-only contact points alike.
    let members = populated(&store, &acme, &twin).await;
    let current = (*store.catalog()).clone();
    let scenario = Scenario::new(&current, &proposal(&current, &acme), &acme);
    let sim = store.simulate(&scenario, &acme, (3, 1000)).expect("simulate");
    assert_eq!(sim.tally, expected(&store, &scenario, &members, &acme));
    assert_eq!(sim.tally.population[Channel::Email.index()], 167);
}

/// A store of `consentd-3` has index entries without their origin: opening it rewrites
/// them from `state`, and the simulation counts the same afterwards.
#[tokio::test]
async fn a_store_before_origins_has_its_index_rebuilt_when_it_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data");
    let (store, _) = Store::open(&path, StoreOptions::new(system_clock())).expect("open");
    let members = populated(&store, "acme", "other").await;
    let current = (*store.catalog()).clone();
    let scenario = Scenario::new(&current, &proposal(&current, "acme"), "acme");
    let before = store.simulate(&scenario, "acme", (0, 0)).expect("simulate").tally;
    drop(store);
    let raw = |f: &dyn Fn(&rocksdb::DB)| {
        let cfs = ALL_CFS.iter().map(|n| rocksdb::ColumnFamilyDescriptor::new(*n, rocksdb::Options::default()));
        let db = rocksdb::DB::open_cf_descriptors(&rocksdb::Options::default(), &path, cfs).expect("raw open");
        f(&db);
    };
    raw(&|db| {
        // The old form: suppression bits and records, no origin.
        let index = db.cf_handle(CF_INDEX).expect("index");
        let entries: Vec<_> = db.iterator_cf(index, rocksdb::IteratorMode::Start).map(|e| e.expect("read")).collect();
        assert!(entries.len() > 300);
        for (k, v) in entries {
            let mut old = vec![v[0]];
            old.extend_from_slice(&v[2..]);
            db.put_cf(index, k, old).expect("put");
        }
        db.put_cf(db.cf_handle(CF_META).expect("meta"), META_FORMAT, FORMAT_VERSION_3).expect("format");
        db.flush_wal(true).expect("sync");
    });
    let (store, stats) = Store::open(&path, StoreOptions::new(system_clock())).expect("reopen");
    assert_eq!(stats.contacts, members.len());
    assert_eq!(store.simulate(&scenario, "acme", (0, 0)).expect("simulate").tally, before);
    drop(store);
    raw(&|db| {
        let meta = db.cf_handle(CF_META).expect("meta");
        assert_eq!(db.get_cf(meta, META_FORMAT).expect("read").as_deref(), Some(FORMAT_VERSION));
        let index = db.cf_handle(CF_INDEX).expect("index");
        for entry in db.iterator_cf(index, rocksdb::IteratorMode::Start) {
            let (k, v) = entry.expect("read");
            let (_, origin) = decode_index_entry(&v).expect("the new form");
            let state = db.get_cf(db.cf_handle(crate::codec::CF_STATE).expect("state"), &k).expect("read");
            let contact = crate::codec::StoredContact::decode(state.expect("state").as_slice()).expect("decode");
            assert_eq!(Some(origin), crate::view::origin_of(&contact));
        }
    });
}
