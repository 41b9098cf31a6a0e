//! Decisions as of a past moment, over a real socket: the two clocks on a late opt-out,
//! the catalog of the moment, the stream and the CLI, agreement with the live decision
//! now, and the refusals.

use consentd::api::pb;
use consentd::api::pb::ConsentStatus::{OptedIn, OptedOut};

use crate::cli::{ctl_at, s};
use crate::support::*;

fn ask(contact_point: &str, purpose: &str, topic: &str, as_of: Option<(i64, pb::Clock)>) -> pb::CheckRequest {
    pb::CheckRequest {
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        contact_point: contact_point.into(),
        purpose_id: purpose.into(),
        topic_id: topic.into(),
        min_revision: 0,
        as_of: as_of.map(|(us, _)| ts(us)),
        as_of_clock: as_of.map_or(0, |(_, c)| c as i32),
    }
}

async fn reason_of(d: &mut Decision, req: pb::CheckRequest) -> pb::Reason {
    reason(&d.check(req).await.expect("check").into_inner())
}

fn stream_batch(contact_points: &[&str], as_of: Option<(i64, pb::Clock)>) -> pb::CheckStreamRequest {
    pb::CheckStreamRequest {
        batch_id: 1,
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        purpose_id: "newsletter".into(),
        contact_points_packed: contact_points.iter().flat_map(|c| format!("{c}\n").into_bytes()).collect(),
        packed_answers: true,
        as_of: as_of.map(|(us, _)| ts(us)),
        as_of_clock: as_of.map_or(0, |(_, c)| c as i32),
        ..Default::default()
    }
}

async fn stream_reasons(d: &mut Decision, batch: pb::CheckStreamRequest) -> Result<Vec<i32>, tonic::Status> {
    let mut answers = d.check_stream(tokio_stream::iter([batch])).await?.into_inner();
    let a = answers.message().await?.expect("an answer");
    Ok(a.outcomes.iter().map(|b| i32::from(b & 63)).collect())
}

#[tokio::test]
async fn a_late_opt_out_shows_between_the_clocks_and_the_catalog_is_that_of_the_moment() {
    let server = TestServer::start().await;
    let mut admin = server.admin(None).await;
    seed(&mut admin, None).await;
    let mut consent = server.consent(None).await;
    let mut d = server.decision(None).await;
    let server_now = || now_us() + server.clock_us.load(std::sync::atomic::Ordering::SeqCst);

    // Monday: Jane opts in. An hour later (the moment asked about) nothing else is known.
    let before = server_now();
    server.advance(1);
    let t0 = server_now();
    set(&mut consent, change("jane@example.com", "newsletter", "", OptedIn)).await;
    set(&mut consent, change("jane@example.com", "newsletter", "events", OptedIn)).await;
    server.advance(3600);
    let moment = server_now();
    server.advance(3600);
    // Two hours after the opt-in a CRM syncs an opt-out Jane clicked half an hour after it.
    let mut late = change("jane@example.com", "newsletter", "", OptedOut);
    late.occurred_at = Some(ts(t0 + 1_800_000_000));
    set(&mut consent, late).await;
    // And the newsletter becomes opt-out based (non-restrictive) on email after the moment.
    admin.update_purpose(crate::support::newsletter_non_restrictive_on_email()).await.expect("update purpose");

    let jane = |as_of| ask("jane@example.com", "newsletter", "", as_of);
    assert_eq!(reason_of(&mut d, jane(None)).await, pb::Reason::PurposeOptedOut);
    // What consentd knew at the moment: the opt-in.
    assert_eq!(reason_of(&mut d, jane(Some((moment, pb::Clock::Recorded)))).await, pb::Reason::OptedIn);
    // What had happened by then: the opt-out, half an hour before. The exposure.
    assert_eq!(reason_of(&mut d, jane(Some((moment, pb::Clock::Occurred)))).await, pb::Reason::PurposeOptedOut);
    // Before the opt-in was recorded, and before it occurred: none.
    assert_eq!(reason_of(&mut d, jane(Some((before, pb::Clock::Recorded)))).await, pb::Reason::NoOptIn);
    assert_eq!(reason_of(&mut d, jane(Some((before, pb::Clock::Occurred)))).await, pb::Reason::NoOptIn);
    // The clock defaults to recorded.
    let mut req = jane(Some((moment, pb::Clock::Recorded)));
    req.as_of_clock = 0;
    assert_eq!(reason_of(&mut d, req).await, pb::Reason::OptedIn);

    // Bob never said anything: at the moment the newsletter needed an opt-in on email; now it does not.
    let bob = |as_of| ask("bob@example.com", "newsletter", "", as_of);
    assert_eq!(reason_of(&mut d, bob(None)).await, pb::Reason::NotOptedOut);
    assert_eq!(reason_of(&mut d, bob(Some((moment, pb::Clock::Recorded)))).await, pb::Reason::NoOptIn);
    assert_eq!(reason_of(&mut d, bob(Some((server_now(), pb::Clock::Recorded)))).await, pb::Reason::NotOptedOut);

    // The stream answers alike, item by item.
    let people = ["jane@example.com", "bob@example.com", "not-an-address"];
    let reasons =
        stream_reasons(&mut d, stream_batch(&people, Some((moment, pb::Clock::Occurred)))).await.expect("stream");
    let expected = [pb::Reason::PurposeOptedOut, pb::Reason::NoOptIn, pb::Reason::InvalidContactPoint];
    assert_eq!(reasons, expected.map(|r| r as i32));
    let reasons =
        stream_reasons(&mut d, stream_batch(&people, Some((moment, pb::Clock::Recorded)))).await.expect("stream");
    let expected = [pb::Reason::OptedIn, pb::Reason::NoOptIn, pb::Reason::InvalidContactPoint];
    assert_eq!(reasons, expected.map(|r| r as i32));

    // As of now, on either clock, every answer is the live one.
    let now = server_now();
    for (cp, purpose, topic) in [
        ("jane@example.com", "newsletter", ""),
        ("jane@example.com", "newsletter", "events"),
        ("jane@example.com", "newsletter", "discounts"),
        ("jane@example.com", "invoices", ""),
        ("bob@example.com", "newsletter", "events"),
    ] {
        let live = reason_of(&mut d, ask(cp, purpose, topic, None)).await;
        for clock in [pb::Clock::Recorded, pb::Clock::Occurred] {
            assert_eq!(
                reason_of(&mut d, ask(cp, purpose, topic, Some((now, clock)))).await,
                live,
                "{cp} {purpose} {topic} {clock:?}"
            );
        }
    }

    // The CLI: Unix seconds or RFC 3339, and the clock.
    let addr = format!("http://{}", server.addr);
    let secs = (moment.div_euclid(1_000_000) + 1).to_string();
    let base = [
        "check",
        "--profile",
        "acme",
        "--channel",
        "email",
        "--contact",
        "jane@example.com",
        "--purpose",
        "newsletter",
    ];
    let (code, out, _) = ctl_at(&addr, s(&[&base[..], &["--as-of", &secs]].concat())).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("opted_in"), "{out}");
    let (code, out, _) = ctl_at(&addr, s(&[&base[..], &["--as-of", &secs, "--clock", "occurred"]].concat())).await;
    assert_eq!(code, 10, "{out}");
    assert!(out.contains("purpose_opted_out"), "{out}");
    let (code, _, err) = ctl_at(&addr, s(&[&base[..], &["--clock", "occurred"]].concat())).await;
    assert_eq!(code, 2, "--clock needs --as-of: {err}");
    // check-file splits a send list as of the moment: on the occurred clock Jane is pulled back.
    let dir = tempfile::tempdir().expect("dir");
    let input = dir.path().join("send.csv");
    std::fs::write(&input, "email\njane@example.com\nbob@example.com\n").expect("write");
    let (allowed, blocked) = (dir.path().join("allowed.csv"), dir.path().join("blocked.csv"));
    let path = |p: &std::path::Path| p.display().to_string();
    for (clock, want_allowed) in [("recorded", "email\njane@example.com\n"), ("occurred", "email\n")] {
        let args = [
            "check-file",
            "--quiet",
            "--profile",
            "acme",
            "--channel",
            "email",
            "--purpose",
            "newsletter",
            "--file",
            &path(&input),
            "--allowed",
            &path(&allowed),
            "--blocked",
            &path(&blocked),
            "--as-of",
            &secs,
            "--clock",
            clock,
        ];
        let (code, out, _) = ctl_at(&addr, s(&args)).await;
        assert_eq!(code, 0, "{out}");
        assert_eq!(std::fs::read_to_string(&allowed).expect("allowed"), want_allowed, "{clock}");
        assert!(std::fs::read_to_string(&blocked).expect("blocked").contains("bob@example.com"), "{clock}");
    }
    server.stop().await;
}

#[tokio::test]
async fn as_of_refuses_the_future_a_clock_alone_and_links() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut d = server.decision(None).await;
    let future = now_us() + 3_600_000_000;
    let err = d
        .check(ask("jane@example.com", "newsletter", "", Some((future, pb::Clock::Recorded))))
        .await
        .expect_err("future");
    assert_eq!((err.code(), bad_field(&err).as_str()), (tonic::Code::InvalidArgument, "as_of"), "{err:?}");
    let mut alone = ask("jane@example.com", "newsletter", "", None);
    alone.as_of_clock = pb::Clock::Occurred as i32;
    let err = d.check(alone).await.expect_err("clock alone");
    assert_eq!(bad_field(&err), "as_of_clock", "{err:?}");
    let mut odd = ask("jane@example.com", "newsletter", "", Some((now_us() - 1_000_000, pb::Clock::Recorded)));
    odd.as_of_clock = 7;
    assert_eq!(bad_field(&d.check(odd).await.expect_err("unknown clock")), "as_of_clock");

    let mut with_links = stream_batch(&["jane@example.com"], Some((now_us() - 1_000_000, pb::Clock::Recorded)));
    with_links.include_links = true;
    let err = stream_reasons(&mut d, with_links).await.expect_err("links as of a past moment");
    assert_eq!(bad_field(&err), "include_links", "{err:?}");
    let err = stream_reasons(&mut d, stream_batch(&["jane@example.com"], Some((future, pb::Clock::Occurred))))
        .await
        .expect_err("future");
    assert_eq!(bad_field(&err), "as_of", "{err:?}");
    // Before the purpose existed, its name is unknown.
    let err = d
        .check(ask("jane@example.com", "newsletter", "", Some((now_us() - 86_400_000_000, pb::Clock::Recorded))))
        .await
        .expect_err("no purpose then");
    assert_eq!(bad_field(&err), "profile_id", "{err:?}");
    assert!(err.message().contains("as of the moment asked"), "{err:?}");
    server.stop().await;
}

/// Every case of the decision corpus, written into a real store the way changes arrive
/// (opt-ins with their expiry, opt-outs, double opt-ins pending until their deadline,
/// suppressions; the catalog created and deactivated through the store): the live
/// decision at the case's moment is the corpus's answer, and the decision as of that
/// moment, on either clock, is the live one.
#[tokio::test]
async fn as_of_the_moment_agrees_with_the_live_decision_on_the_whole_corpus() {
    use consentd::decision::{
        Catalog, Channel, DoubleOptInMode, EnforcementModel, Profile, Purpose, PurposeKind, StateSource, Status,
        SuppressionKind, Target, Topic, check,
    };
    use consentd::storage::model::{ConsentChange, ContactRef, LifeChange, LifeEvent, Source, SuppressionChange};
    use consentd::storage::past::{AsOf, Clock};
    use consentd::storage::{Store, StoreOptions};
    use serde_json::Value;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    fn answer<S: StateSource>(catalog: &Catalog, req: &Value, profile: &str, source: &S, now: i64) -> String {
        let channel = Channel::parse(req["channel"].as_str().unwrap()).unwrap();
        let (purpose, topic) = (req["purpose"].as_str().unwrap(), req["topic"].as_str().unwrap_or(""));
        match catalog.resolve(req["profile"].as_str().unwrap_or(profile), purpose, topic) {
            Err(e) => format!("error {}", e.field()),
            Ok(resolved) => {
                let d = check(&Target::new(&resolved, channel), req["contact_point"].as_str().unwrap(), source, now);
                format!("{} {:?}", d.reason.as_str(), d.suppression.map(|k| k.as_str()))
            }
        }
    }

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let path = entry.expect("entry").path();
        let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let profile_id = file["profile"]["id"].as_str().unwrap().to_owned();
        for case in file["cases"].as_array().unwrap() {
            cases += 1;
            let name = format!("{} / {}", path.display(), case["name"].as_str().unwrap());
            let now = case["now"].as_i64().unwrap();
            let clock_us = Arc::new(AtomicI64::new((now - 100_000) * 1_000_000));
            let c = Arc::clone(&clock_us);
            let data = tempfile::tempdir().expect("dir");
            let (store, _) =
                Store::open(data.path(), StoreOptions::new(Arc::new(move || c.load(Ordering::SeqCst)))).expect("open");

            // The catalog, through the store, all active while the state is written.
            let mut profile = Profile::new(&profile_id);
            profile.default_region = file["profile"]["default_region"].as_str().map(str::to_owned);
            let profile = store.put_profile(profile, true).await.expect("profile");
            let mut inactive = Vec::new();
            for spec in file["purposes"].as_array().unwrap() {
                let id = spec["id"].as_str().unwrap();
                let kind = PurposeKind::parse(spec["kind"].as_str().unwrap()).unwrap();
                let mut purpose = Purpose::new(&profile_id, id, kind, 0);
                for (channel, model) in spec["models"].as_object().into_iter().flatten() {
                    purpose.models[Channel::parse(channel).unwrap().index()] =
                        EnforcementModel::parse(model.as_str().unwrap()).unwrap();
                }
                let purpose = store.put_purpose(purpose, true).await.expect("purpose");
                if file["profile"]["inactive_purposes"].as_array().into_iter().flatten().any(|p| p == id) {
                    inactive.push((purpose.clone(), None));
                }
                let topics = spec["topics"].as_array().into_iter().flatten();
                for (t, active) in topics
                    .map(|t| (t, true))
                    .chain(spec["inactive_topics"].as_array().into_iter().flatten().map(|t| (t, false)))
                {
                    let topic = Topic {
                        profile_id: profile_id.clone(),
                        purpose_id: id.to_owned(),
                        id: t.as_str().unwrap().to_owned(),
                        display_name: String::new(),
                        active: true,
                        no: 0,
                        created_at: 0,
                        updated_at: 0,
                    };
                    let topic = store.put_topic(topic, true).await.expect("topic");
                    if !active {
                        inactive.push((purpose.clone(), Some(topic)));
                    }
                }
            }

            // The state, as changes recorded before the moment.
            let req = &case["request"];
            let channel = Channel::parse(req["channel"].as_str().unwrap()).unwrap();
            let state = &case["state"];
            let raw = state["contact_point"].as_str().or(req["contact_point"].as_str()).unwrap();
            let normalized =
                consentd::contact::normalize(channel.contact_kind(), raw, profile.default_region.as_deref());
            if let (false, Ok(cp)) = (state.is_null(), normalized) {
                let contact = ContactRef { profile_id: profile_id.clone(), channel, contact_point: cp.into_string() };
                let catalog = store.catalog();
                for r in state["records"].as_array().into_iter().flatten() {
                    let purpose = catalog.purpose(&profile_id, r["purpose"].as_str().unwrap()).unwrap();
                    let topic = r["topic"].as_str().map(|t| catalog.topic(&profile_id, &purpose.id, t).unwrap());
                    let status = Status::parse(r["status"].as_str().unwrap()).unwrap();
                    let expires_at = r["expires_at"].as_i64();
                    // A pending record is an opt-in under double opt-in, recorded so that its
                    // deadline is the record's expiry, and before the moment.
                    let recorded = match (status, expires_at) {
                        (Status::Pending, Some(e)) => e.min(now) - 10,
                        _ => now - 50_000,
                    };
                    clock_us.store(recorded * 1_000_000, Ordering::SeqCst);
                    let pending = status == Status::Pending;
                    let change = ConsentChange {
                        contact: contact.clone(),
                        purpose_id: purpose.id.clone(),
                        topic_id: topic.map(|t| t.id.clone()).unwrap_or_default(),
                        subject: consentd::decision::Subject { purpose: purpose.no, topic: topic.map_or(0, |t| t.no) },
                        status: if pending { Status::OptedIn } else { status },
                        // A reassigned number's records say when they occurred.
                        occurred_at_us: r["occurred_at"].as_i64().unwrap_or(recorded) * 1_000_000,
                        source: Source::Api,
                        actor: "corpus".into(),
                        reason: String::new(),
                        proof: None,
                        expires_at: if pending { None } else { expires_at },
                        double_opt_in: if pending { DoubleOptInMode::EveryOptIn } else { DoubleOptInMode::Off },
                        confirmation_validity_secs: expires_at.map_or(86_400 * 365, |e| e - recorded),
                        idempotency: None,
                    };
                    store.set_consent(change).await.expect("record");
                }
                clock_us.store((now - 40_000) * 1_000_000, Ordering::SeqCst);
                for s in state["suppressions"].as_array().into_iter().flatten() {
                    let change = SuppressionChange {
                        contact: contact.clone(),
                        kind: SuppressionKind::parse(s.as_str().unwrap()).unwrap(),
                        add: true,
                        occurred_at_us: (now - 40_000) * 1_000_000,
                        source: Source::Api,
                        actor: "corpus".into(),
                        reason: String::new(),
                    };
                    store.set_suppression(change).await.expect("suppression");
                }
                if let Some(d) = state["reassigned_at"].as_i64() {
                    let change = LifeChange {
                        profile_id: profile_id.clone(),
                        channel,
                        key: store.contact_key(&profile_id, channel, &contact.contact_point),
                        event: LifeEvent::Reassign { at_us: d * 1_000_000 },
                        source: Source::Import,
                        actor: "corpus".into(),
                    };
                    store.set_life(change).await.expect("reassignment");
                }
            }
            clock_us.store((now - 30_000) * 1_000_000, Ordering::SeqCst);
            for (mut purpose, topic) in inactive {
                match topic {
                    None => {
                        purpose.active = false;
                        store.put_purpose(purpose, false).await.expect("deactivate purpose");
                    }
                    Some(mut t) => {
                        t.active = false;
                        store.put_topic(t, false).await.expect("deactivate topic");
                    }
                }
            }

            // Decided at the moment: live, and as of the moment on both clocks.
            let catalog = store.catalog();
            let live = answer(&catalog, req, &profile_id, &store, now);
            let expect = &case["expect"];
            let want = match expect["error"].as_str() {
                Some(field) => format!("error {field}"),
                None => format!("{} {:?}", expect["reason"].as_str().unwrap(), expect["suppression"].as_str()),
            };
            if expect["suppression"].is_null() && expect["error"].is_null() {
                assert_eq!(live.split(' ').next(), want.split(' ').next(), "live, {name}");
            } else {
                assert_eq!(live, want, "live, {name}");
            }
            for clock in [Clock::Recorded, Clock::Occurred] {
                let as_of = AsOf { at_us: now * 1_000_000, clock };
                let then = store.catalog_as_of(as_of.at_us).expect("catalog then");
                let past = store.past(as_of, &catalog);
                let got = answer(&then, req, &profile_id, &past, now);
                assert!(past.error().is_none(), "{name}");
                assert_eq!(got, live, "as of the moment ({clock:?}), {name}");
            }
            drop(store);
        }
    }
    assert!(cases >= 50, "the corpus has {cases} cases");
}

/// README's "Proof after the fact" runs as written (with this build's consentctl) against a
/// server with the profile of "Try it", and answers as it says.
#[tokio::test]
async fn the_readme_example_answers_the_regulators_question() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let section = readme.split("## Proof after the fact").nth(1).expect("the section");
    let start = section.find("```sh\n").expect("a snippet") + 6;
    let block = section[start..].split("```").next().expect("its end").to_owned();
    assert!(block.starts_with("C=target/release/consentctl\n"), "{block}");
    let script =
        block.replacen("C=target/release/consentctl", &format!("C={}", crate::support::consentctl_bin().display()), 1);
    let addr = format!("http://{}", server.addr);
    // The snippet writes its send list, receipts and keys where it runs.
    let dir = tempfile::tempdir().expect("dir");
    let cwd = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .args(["-c", &script])
            .current_dir(cwd)
            .env("CONSENTD_ADDR", addr)
            .env_remove("CONSENTD_API_KEY")
            .output()
            .expect("bash")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let sent =
        stdout.find("decision: send\nreason: opted_in").unwrap_or_else(|| panic!("a send as recorded: {stdout}"));
    let blocked = stdout
        .find("decision: block\nreason: purpose_opted_out")
        .unwrap_or_else(|| panic!("a block as occurred: {stdout}"));
    assert!(sent < blocked, "{stdout}");
    assert!(stdout.contains("source: crm_sync") && stdout.contains("verification.intact: true"), "{stdout}");
    // The receipt verifies offline, replays as recorded without a difference, and as
    // occurred names Jane.
    assert!(stdout.contains("\"valid\":true"), "{stdout}");
    let replayed: Vec<&str> = stdout.lines().filter(|l| l.contains("\"replay\"")).collect();
    assert_eq!(replayed.len(), 1, "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(replayed[0].contains("jane@example.com") && replayed[0].contains("block/purpose_opted_out"), "{stdout}");
    assert!(out.status.code() == Some(3), "the last command found a difference: {:?}", out.status);
    server.stop().await;
}

/// Opt-outs that arrive late: counted per source on /metrics, and listed by
/// `consentctl report late-opt-outs` against each channel's deadline.
#[tokio::test]
async fn late_opt_outs_are_counted_by_source_and_reported_against_their_deadline() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let now = now_us();
    let days = |n: i64| ts(now - n * 86_400_000_000);
    // Synced by a CRM five days after the click: past email's 48 hours.
    let mut crm = change("late@example.com", "newsletter", "", OptedOut);
    crm.occurred_at = Some(days(5));
    crm.source = pb::ChangeSource::CrmSync as i32;
    set(&mut consent, crm).await;
    // A click recorded an hour later: in time.
    let mut form = change("prompt@example.com", "newsletter", "", OptedOut);
    form.occurred_at = Some(ts(now - 3_600_000_000));
    form.source = pb::ChangeSource::Form as i32;
    set(&mut consent, form).await;
    // An opt-in, however late, is no opt-out.
    let mut opt_in = change("in@example.com", "newsletter", "", OptedIn);
    opt_in.occurred_at = Some(days(9));
    set(&mut consent, opt_in).await;
    // An SMS opt-out five days late is within the ten business days of the TCPA.
    let mut sms = change("+31612345678", "newsletter", "", OptedOut);
    sms.channel = pb::Channel::Sms as i32;
    sms.occurred_at = Some(days(5));
    set(&mut consent, sms).await;

    let metrics = scrape_metrics(server.metrics_addr).await;
    let count =
        |source: &str| metric_value(&metrics, &format!("consentd_opt_out_delay_seconds_count{{source=\"{source}\"}}"));
    assert_eq!(count("crm_sync"), 1.0, "{metrics}");
    assert_eq!(count("form"), 1.0, "{metrics}");
    assert_eq!(count("preference_center"), 1.0, "the SMS opt-out: {metrics}");
    assert_eq!(
        metric_value(&metrics, "consentd_opt_out_delay_seconds_bucket{source=\"crm_sync\",le=\"86400\"}"),
        0.0,
        "five days late is not within a day: {metrics}"
    );

    let (code, out) = crate::cli::ctl(&server, s(&["report", "late-opt-outs"])).await;
    assert_eq!(code, 3, "findings: {out}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert_eq!(lines[0]["contact_point"], "late@example.com");
    assert_eq!((lines[0]["source"].as_str(), lines[0]["deadline"].as_str()), (Some("crm_sync"), Some("48h")));
    assert!(lines[0]["late_by_hours"].as_f64().is_some_and(|h| (71.0..73.0).contains(&h)), "{out}");
    // A longer deadline for email, a shorter one for SMS.
    let (code, out) =
        crate::cli::ctl(&server, s(&["report", "late-opt-outs", "--deadline", "email=200h", "--deadline", "sms=2bd"]))
            .await;
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("+31612345678") && !out.contains("late@example.com"), "{out}");
    // Only what was recorded since a moment after these.
    let later = (now / 1_000_000 + 3600).to_string();
    let (code, out) = crate::cli::ctl(&server, s(&["report", "late-opt-outs", "--since", &later])).await;
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, _) = crate::cli::ctl(&server, s(&["report", "late-opt-outs", "--deadline", "email=2 days"])).await;
    assert_eq!(code, 2, "a deadline that is neither hours nor business days");
    server.stop().await;
}
