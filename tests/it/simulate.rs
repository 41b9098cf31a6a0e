//! Policy simulation over a real socket (`AdminService.SimulateCatalogChange`, consentctl's
//! `--dry-run`): what it predicts is checked against what the real change then does, one
//! Check per contact point and kind of send, before and after.

use std::collections::{BTreeMap, BTreeSet};

use consentd::api::pb;
use consentd::api::pb::ConsentStatus::{OptedIn, OptedOut};

use crate::cli::{ctl, s};
use crate::support::*;

/// (channel, purpose, topic) of a kind of send.
type Send = (i32, &'static str, &'static str);
/// A reason, or "refused" (the request itself fails).
type Answer = Option<pb::Reason>;

const SENDS: [Send; 6] = [
    (pb::Channel::Email as i32, "newsletter", ""),
    (pb::Channel::Email as i32, "newsletter", "events"),
    (pb::Channel::Email as i32, "newsletter", "discounts"),
    (pb::Channel::Email as i32, "invoices", ""),
    (pb::Channel::Sms as i32, "newsletter", ""),
    (pb::Channel::Sms as i32, "newsletter", "discounts"),
];

fn email(i: usize) -> String {
    format!("sim{i}@example.com")
}

fn phone(i: usize) -> String {
    format!("+3161200{i:04}")
}

/// A population with a contact point of every kind the rules tell apart, on email and sms.
async fn populate(server: &TestServer) -> Vec<(pb::Channel, String)> {
    let mut consent = server.consent(None).await;
    let mut members = Vec::new();
    for i in 0..90 {
        let (cp, pick) = (email(i), i % 9);
        let c = |purpose: &str, topic: &str, status| change(&cp, purpose, topic, status);
        match pick {
            0 => drop(set(&mut consent, c("newsletter", "", OptedIn)).await),
            1 => drop(set(&mut consent, c("newsletter", "", OptedOut)).await),
            2 => {
                set(&mut consent, c("newsletter", "", OptedIn)).await;
                set(&mut consent, c("newsletter", "events", OptedIn)).await;
            }
            3 => {
                set(&mut consent, c("newsletter", "", OptedIn)).await;
                set(&mut consent, c("newsletter", "discounts", OptedOut)).await;
            }
            4 => drop(set(&mut consent, c("invoices", "", OptedOut)).await),
            5 => drop(set(&mut consent, c("invoices", "", OptedIn)).await),
            6 | 7 => {
                let kind = if pick == 6 { pb::SuppressionKind::HardBounce } else { pb::SuppressionKind::Manual };
                consent
                    .add_suppression(pb::AddSuppressionRequest {
                        profile_id: "acme".into(),
                        channel: pb::Channel::Email as i32,
                        contact_point: cp.clone(),
                        kind: kind as i32,
                        ..Default::default()
                    })
                    .await
                    .expect("suppress");
            }
            _ => {
                set(&mut consent, c("newsletter", "", OptedIn)).await;
                consent
                    .erase_contact_point(pb::EraseContactPointRequest {
                        profile_id: "acme".into(),
                        channel: pb::Channel::Email as i32,
                        contact_point: cp.clone(),
                    })
                    .await
                    .expect("erase");
            }
        }
        members.push((pb::Channel::Email, cp));
    }
    for i in 0..30 {
        let mut c = change(&phone(i), "newsletter", "", if i % 3 == 0 { OptedOut } else { OptedIn });
        c.channel = pb::Channel::Sms as i32;
        set(&mut consent, c).await;
        members.push((pb::Channel::Sms, phone(i)));
    }
    // Another profile's contact points are not the simulated profile's population.
    let mut admin = server.admin(None).await;
    seed_profile(&mut admin, "beta", None).await;
    for i in 0..20 {
        let mut c = change(&email(i), "newsletter", "", OptedIn);
        c.profile_id = "beta".into();
        set(&mut consent, c).await;
    }
    members
}

/// Every member's answer for every kind of send on its channel.
async fn answers(server: &TestServer, members: &[(pb::Channel, String)]) -> BTreeMap<(Send, String), Answer> {
    let mut d = server.decision(None).await;
    let mut out = BTreeMap::new();
    for (channel, cp) in members {
        for send in SENDS.iter().filter(|s| s.0 == *channel as i32) {
            let answer = d
                .check(pb::CheckRequest {
                    profile_id: "acme".into(),
                    channel: send.0,
                    contact_point: cp.clone(),
                    purpose_id: send.1.into(),
                    topic_id: send.2.into(),
                    ..Default::default()
                })
                .await
                .ok()
                .map(|r| pb::Reason::try_from(r.into_inner().reason).expect("reason"));
            out.insert((*send, cp.clone()), answer);
        }
    }
    out
}

fn proposal() -> pb::SimulateCatalogChangeRequest {
    pb::SimulateCatalogChangeRequest {
        profile_id: "acme".into(),
        purpose_updates: vec![newsletter_non_restrictive_on_email()],
        deactivate_topics: vec![pb::DeactivateTopicRequest {
            profile_id: "acme".into(),
            purpose_id: "newsletter".into(),
            topic_id: "discounts".into(),
        }],
        samples_per_change: Some(100),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_simulated_change_predicts_what_the_real_change_does() {
    let server = TestServer::start().await;
    let mut admin = server.admin(None).await;
    seed(&mut admin, None).await;
    let members = populate(&server).await;
    let before = answers(&server, &members).await;
    let erased: BTreeSet<String> = (0..90).filter(|i| i % 9 == 8).map(email).collect();
    let digest = |r: pb::GetStateDigestResponse| (r.revision, r.digest);
    let state_before =
        digest(admin.get_state_digest(pb::GetStateDigestRequest::default()).await.expect("digest").into_inner());

    let sim = admin.simulate_catalog_change(proposal()).await.expect("simulate").into_inner();
    // Nothing was written.
    let state_after =
        digest(admin.get_state_digest(pb::GetStateDigestRequest::default()).await.expect("digest").into_inner());
    assert_eq!(state_before, state_after);
    let newsletter = admin
        .get_purpose(pb::GetPurposeRequest { profile_id: "acme".into(), purpose_id: "newsletter".into() })
        .await
        .expect("purpose")
        .into_inner()
        .purpose
        .expect("purpose");
    assert!(newsletter.enforcement.iter().all(|e| e.model == pb::EnforcementModel::Restrictive as i32));
    assert_eq!(sim.revision, state_before.0);

    // The real change, then the same checks.
    admin.update_purpose(newsletter_non_restrictive_on_email()).await.expect("update");
    admin.deactivate_topic(proposal().deactivate_topics.remove(0)).await.expect("deactivate");
    let after = answers(&server, &members).await;

    // What changed, worked out from the checks.
    let mut actual: BTreeMap<(Send, Answer, Answer), BTreeSet<String>> = BTreeMap::new();
    for (k, was) in &before {
        let now = after[k];
        if now != *was {
            actual.entry((k.0, *was, now)).or_default().insert(k.1.clone());
        }
    }
    // What the simulation predicted.
    let mut predicted: BTreeMap<(Send, Answer, Answer), u64> = BTreeMap::new();
    let sends: BTreeMap<(i32, String, String), Send> =
        SENDS.iter().map(|s| ((s.0, s.1.to_owned(), s.2.to_owned()), *s)).collect();
    for g in &sim.groups {
        let Some(&send) = sends.get(&(g.channel, g.purpose_id.clone(), g.topic_id.clone())) else {
            // Channels without contact points (discounts on whatsapp, push, ...): nothing to count.
            assert!(g.contact_points == 0 && g.transitions.is_empty(), "{g:?}");
            continue;
        };
        let population = members.iter().filter(|(c, _)| *c as i32 == g.channel).count() as u64;
        assert_eq!(g.contact_points, population, "{g:?}");
        let sending = |a: &Answer| {
            a.is_some_and(|r| {
                matches!(r, pb::Reason::OptedIn | pb::Reason::NotOptedOut | pb::Reason::ConsentNotRequired)
            })
        };
        let of_send: Vec<_> = before.iter().filter(|(k, _)| k.0 == send).collect();
        assert_eq!(g.send_before, of_send.iter().filter(|(_, a)| sending(a)).count() as u64, "{g:?}");
        assert_eq!(g.send_after, of_send.iter().filter(|(k, _)| sending(&after[*k])).count() as u64, "{g:?}");
        for t in &g.transitions {
            let from = Some(pb::Reason::try_from(t.from_reason).expect("reason"));
            let to = match pb::Reason::try_from(t.to_reason).expect("reason") {
                pb::Reason::Unspecified => None,
                r => Some(r),
            };
            predicted.insert((send, from, to), t.contact_points);
            // Every contact point that makes the change is a sample (no cell here has more
            // than 100), an erased one without its address.
            let who: BTreeSet<String> = actual[&(send, from, to)]
                .iter()
                .map(|cp| if erased.contains(cp) { "(erased)".to_owned() } else { cp.clone() })
                .collect();
            let samples: BTreeSet<String> = t.samples.iter().cloned().collect();
            assert_eq!(samples, who, "{t:?}");
            assert_eq!(t.samples.len() as u64, t.contact_points, "{t:?}");
        }
    }
    let actual_counts: BTreeMap<_, u64> = actual.iter().map(|(k, v)| (*k, v.len() as u64)).collect();
    assert_eq!(predicted, actual_counts);
    // Not vacuous: opt-ins that stay sends with another reason, blocks that become sends,
    // refusals, on more than one channel, and an erased sample.
    let refused = predicted.keys().filter(|k| k.2.is_none()).count();
    assert!(refused >= 4, "{predicted:?}");
    assert!(predicted.contains_key(&(SENDS[0], Some(pb::Reason::NoOptIn), Some(pb::Reason::NotOptedOut))));
    assert!(predicted.contains_key(&(SENDS[0], Some(pb::Reason::OptedIn), Some(pb::Reason::NotOptedOut))));
    assert!(sim.groups.iter().any(|g| g.channel == pb::Channel::Sms as i32));
    assert!(sim.groups.iter().flat_map(|g| &g.transitions).flat_map(|t| &t.samples).any(|s| s == "(erased)"));
    let populations: Vec<_> = sim.populations.iter().map(|p| (p.channel, p.contact_points)).collect();
    // Every channel a group is on (discounts is refused on all six), the others empty.
    let want: Vec<(i32, u64)> = (1..=6).map(|c| (c, [90, 30][..].get(c as usize - 1).copied().unwrap_or(0))).collect();
    assert_eq!(populations, want);
    server.stop().await;
}

#[tokio::test]
async fn simulation_requests_are_checked_as_the_changes_they_propose() {
    let server = TestServer::start().await;
    let mut admin = server.admin(None).await;
    seed(&mut admin, None).await;
    let field = |r: Result<tonic::Response<pb::SimulateCatalogChangeResponse>, tonic::Status>| {
        bad_field(&r.expect_err("refused"))
    };
    let mut req = proposal();
    req.samples_per_change = Some(101);
    assert_eq!(field(admin.simulate_catalog_change(req).await), "samples_per_change");
    let mut req = proposal();
    if let Some(p) = req.purpose_updates[0].purpose.as_mut() {
        p.profile_id = "other".into();
    }
    assert_eq!(field(admin.simulate_catalog_change(req).await), "purpose_updates[0].purpose.profile_id");
    let mut req = proposal();
    if let Some(p) = req.purpose_updates[0].purpose.as_mut() {
        p.enforcement[0].model = 9;
    }
    assert_eq!(field(admin.simulate_catalog_change(req).await), "purpose_updates[0].purpose.enforcement[0].model");
    let mut req = proposal();
    req.deactivate_topics[0].topic_id = "nope".into();
    assert_eq!(field(admin.simulate_catalog_change(req).await), "deactivate_topics[0].topic_id");
    let mut req = proposal();
    req.deactivate_purpose_ids = vec!["x".into(); 2_049];
    assert_eq!(field(admin.simulate_catalog_change(req).await), "purpose_updates");
    let mut req = proposal();
    req.profile_id = "nobody".into();
    let status = admin.simulate_catalog_change(req).await.expect_err("unknown profile");
    assert_eq!(status.code(), tonic::Code::NotFound);
    // A profile update changes no decision, and says so; nothing is scanned.
    let region = pb::UpdateProfileRequest {
        profile: Some(pb::Profile { profile_id: "acme".into(), default_region: "BE".into(), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["default_region".into()] }),
    };
    let r = admin
        .simulate_catalog_change(pb::SimulateCatalogChangeRequest {
            profile_id: "acme".into(),
            profile_update: Some(region),
            ..Default::default()
        })
        .await
        .expect("simulate")
        .into_inner();
    assert!(r.groups.is_empty());
    assert!(r.notes.iter().any(|n| n.contains("default_region")), "{:?}", r.notes);
    assert!(r.notes.iter().any(|n| n.contains("no decision changes")), "{:?}", r.notes);
    server.stop().await;
}

#[tokio::test]
async fn consentctl_dry_runs_change_nothing_and_say_what_the_change_would_do() {
    let server = TestServer::start().await;
    let mut admin = server.admin(None).await;
    seed(&mut admin, None).await;
    let mut consent = server.consent(None).await;
    for i in 0..10 {
        set(&mut consent, change(&email(i), "newsletter", "", if i < 4 { OptedIn } else { OptedOut })).await;
    }
    let dry = s(&[
        "--json",
        "purpose",
        "update",
        "--profile",
        "acme",
        "newsletter",
        "--model",
        "email=non-restrictive",
        "--dry-run",
    ]);
    let (code, out) = ctl(&server, dry).await;
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["dry_run"], true);
    let group = &v["groups"][0];
    assert_eq!((group["channel"].as_str(), group["purpose_id"].as_str()), (Some("email"), Some("newsletter")));
    assert_eq!(group["model_after"], "non_restrictive");
    assert_eq!(group["transitions"][0]["from"], "OPTED_IN");
    assert_eq!(group["transitions"][0]["to"], "NOT_OPTED_OUT");
    assert_eq!(group["transitions"][0]["contact_points"], 4);
    // The other channels were not touched by the dry run, nor by the real update after it.
    let models = |p: pb::Purpose| -> Vec<(i32, i32)> { p.enforcement.iter().map(|e| (e.channel, e.model)).collect() };
    let get = pb::GetPurposeRequest { profile_id: "acme".into(), purpose_id: "newsletter".into() };
    let unchanged = models(admin.get_purpose(get.clone()).await.expect("get").into_inner().purpose.expect("p"));
    assert!(unchanged.iter().all(|(_, m)| *m == pb::EnforcementModel::Restrictive as i32));
    let (code, out) =
        ctl(&server, s(&["purpose", "update", "--profile", "acme", "newsletter", "--model", "email=non-restrictive"]))
            .await;
    assert_eq!(code, 0, "{out}");
    let changed = models(admin.get_purpose(get).await.expect("get").into_inner().purpose.expect("p"));
    for (channel, model) in changed {
        let want = if channel == pb::Channel::Email as i32 {
            pb::EnforcementModel::NonRestrictive
        } else {
            pb::EnforcementModel::Restrictive
        };
        assert_eq!(model, want as i32, "channel {channel}");
    }
    // People read a summary; a profile update's dry run says it changes no decision.
    let (code, out) = ctl(
        &server,
        s(&["topic", "deactivate", "--profile", "acme", "--purpose", "newsletter", "events", "--dry-run"]),
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("dry run: nothing was changed"), "{out}");
    assert!(out.contains("newsletter/events: non_restrictive -> refused"), "{out}");
    let (code, out) = ctl(&server, s(&["profile", "update", "acme", "--region", "BE", "--dry-run"])).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no decision changes"), "{out}");
    let (code, _) = ctl(&server, s(&["purpose", "update", "--profile", "acme", "newsletter", "--dry-run"])).await;
    assert_eq!(code, 2, "nothing to update is a usage error");
    server.stop().await;
}
