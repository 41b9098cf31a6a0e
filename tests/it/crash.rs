//! Crash test: a real `consentd` process takes writes and is killed with SIGKILL at random
//! moments; after every restart on the same directory every acknowledged change must be
//! there and the revision must never go backwards.
//!
//! Every other cycle also kills the next start at a random moment of its start-up (a third
//! of all kills), and the very first start of the empty directory is killed too: every later start must serve by
//! itself, with nothing for a person to do (#23).
//!
//! `CONSENTD_CRASH_CYCLES` sets the number of cycles (CI runs a few; docs/operations.md has a long run).

use std::sync::Arc;
use std::time::{Duration, Instant};

use consentd::api::pb;
use consentd::api::pb::ConsentStatus::{OptedIn, OptedOut};
use tokio::sync::Mutex;

use crate::support::{connect, free_port, spawn};

/// Older acknowledged writes checked again after each cycle (all are checked at the end).
const SAMPLE_PER_CYCLE: usize = 2_000;

/// A tiny deterministic generator, so a failing run can be replayed from its seed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_sigkill() {
    let cycles: usize = std::env::var("CONSENTD_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let seed = std::env::var("CONSENTD_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| crate::support::now_us() as u64);
    let mut rng = Lcg(seed);
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    // The first start of the empty directory, killed before or while it creates the store.
    let first = spawn(dir.path(), port, &[]);
    tokio::time::sleep(Duration::from_micros(rng.next() % 80_000)).await;
    kill(first);
    let mut child = spawn(dir.path(), port, &[]);
    {
        let ch = connect(port).await;
        let mut admin = pb::admin_service_client::AdminServiceClient::new(ch);
        admin
            .create_profile(pb::CreateProfileRequest {
                profile: Some(pb::Profile { profile_id: "acme".into(), ..Default::default() }),
            })
            .await
            .expect("profile");
        admin
            .create_purpose(pb::CreatePurposeRequest {
                purpose: Some(pb::Purpose {
                    profile_id: "acme".into(),
                    purpose_id: "newsletter".into(),
                    kind: pb::PurposeKind::Commercial as i32,
                    ..Default::default()
                }),
            })
            .await
            .expect("purpose");
    }
    // (contact point, status) of every acknowledged write, and the highest revision acked.
    let acked: Arc<Mutex<Vec<(String, i32, u64)>>> = Arc::default();
    let mut last_revision = 0u64;
    let mut next_id = 0u64;
    // How long the last start took until it answered; kills during start-up fall within it.
    let mut startup = Duration::from_millis(100);
    let mut startup_kills = 0;
    let mut checked_before = 0;
    let mut interrupted = 0;
    for cycle in 0..cycles {
        let ch = connect(port).await;
        let run_ms = 100 + rng.next() % 400;
        let mut writers = Vec::new();
        for w in 0..8u64 {
            let ch = ch.clone();
            let acked = Arc::clone(&acked);
            let base = next_id + w * 1_000_000;
            writers.push(tokio::spawn(async move {
                let mut client = pb::consent_service_client::ConsentServiceClient::new(ch);
                for i in 0.. {
                    let cp = format!("c{}@example.com", base + i);
                    let status = if i % 2 == 0 { OptedIn } else { OptedOut } as i32;
                    let req = pb::SetConsentRequest {
                        change: Some(pb::ConsentChange {
                            profile_id: "acme".into(),
                            channel: pb::Channel::Email as i32,
                            contact_point: cp.clone(),
                            purpose_id: "newsletter".into(),
                            status,
                            ..Default::default()
                        }),
                        idempotency_key: String::new(),
                    };
                    match client.set_consent(req).await {
                        Ok(r) => {
                            let rev = r.into_inner().result.map(|r| r.revision).unwrap_or(0);
                            acked.lock().await.push((cp, status, rev));
                        }
                        Err(_) => return,
                    }
                }
            }));
        }
        next_id += 8 * 1_000_000;
        tokio::time::sleep(Duration::from_millis(run_ms)).await;
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        for w in writers {
            let _ = w.await;
        }

        let during_startup = rng.next().is_multiple_of(2);
        if during_startup {
            let starting = spawn(dir.path(), port, &[]);
            tokio::time::sleep(Duration::from_micros(rng.next() % (startup.as_micros() as u64 + 1))).await;
            kill(starting);
            startup_kills += 1;
            // Killed between the pre-open copy and serving: the start was cut mid-way.
            interrupted += usize::from(dir.path().join("guard").exists());
        }

        let spawned = Instant::now();
        child = spawn(dir.path(), port, &[]);
        let ch = connect(port).await;
        let mut consent = pb::consent_service_client::ConsentServiceClient::new(ch.clone());
        let mut served = false;
        for _ in 0..3000 {
            if let Some(status) = child.try_wait().expect("try_wait") {
                panic!("cycle {cycle} (seed {seed}): the restart did not serve by itself: {status}");
            }
            let probe = consent.get_consent(pb::GetConsentRequest {
                profile_id: "acme".into(),
                channel: pb::Channel::Email as i32,
                contact_point: "nobody@example.com".into(),
            });
            if tokio::time::timeout(Duration::from_millis(100), probe).await.is_ok_and(|r| r.is_ok()) {
                served = true;
                break;
            }
        }
        assert!(served, "cycle {cycle} (seed {seed}): the restart did not serve");
        startup = spawned.elapsed();
        let acked_now = acked.lock().await.clone();
        let max_acked = acked_now.iter().map(|a| a.2).max().unwrap_or(0);
        // This cycle's writes, which the kill put at risk, and a sample of the older ones
        // (all of them are checked once more at the end): checking everything after every
        // cycle would make a long run quadratic.
        let fresh = acked_now.len() - checked_before;
        let sample = (0..SAMPLE_PER_CYCLE.min(checked_before)).map(|_| (rng.next() as usize) % checked_before);
        let to_check: Vec<usize> = (checked_before..acked_now.len()).chain(sample).collect();
        for i in to_check {
            let (cp, status, rev) = &acked_now[i];
            let got = consent
                .get_consent(pb::GetConsentRequest {
                    profile_id: "acme".into(),
                    channel: pb::Channel::Email as i32,
                    contact_point: cp.clone(),
                })
                .await
                .expect("get")
                .into_inner();
            assert_eq!(
                got.records.first().map(|r| (r.status, r.revision)),
                Some((*status, *rev)),
                "cycle {cycle} (seed {seed}): acknowledged write to {cp} lost"
            );
        }
        checked_before = acked_now.len();
        // The revision never goes backwards: a new write gets more than anything acked before.
        let probe = consent
            .set_consent(pb::SetConsentRequest {
                change: Some(pb::ConsentChange {
                    profile_id: "acme".into(),
                    channel: pb::Channel::Email as i32,
                    contact_point: format!("probe{cycle}@example.com"),
                    purpose_id: "newsletter".into(),
                    status: OptedOut as i32,
                    ..Default::default()
                }),
                idempotency_key: String::new(),
            })
            .await
            .expect("probe")
            .into_inner()
            .result
            .expect("r");
        assert!(probe.revision > max_acked.max(last_revision), "cycle {cycle}: revision went backwards");
        last_revision = probe.revision;
        let how = if during_startup { " and again during start-up" } else { "" };
        println!("crash cycle {cycle}: killed after {run_ms} ms{how}, {fresh} new acknowledged writes checked");
    }
    // Every acknowledged write, once more, after the last restart.
    let all = acked.lock().await.clone();
    let mut consent = pb::consent_service_client::ConsentServiceClient::new(connect(port).await);
    for (cp, status, rev) in &all {
        let got = consent
            .get_consent(pb::GetConsentRequest {
                profile_id: "acme".into(),
                channel: pb::Channel::Email as i32,
                contact_point: cp.clone(),
            })
            .await
            .expect("get")
            .into_inner();
        assert_eq!(
            got.records.first().map(|r| (r.status, r.revision)),
            Some((*status, *rev)),
            "(seed {seed}): acknowledged write to {cp} lost by the end"
        );
    }
    child.kill().expect("kill");
    let _ = child.wait();
    let total = all.len();
    println!(
        "crash test: {cycles} cycles ({startup_kills} with a kill during start-up, {interrupted} of them while \
         the store was being opened), {total} acknowledged writes checked, every restart served by itself (seed \
         {seed})"
    );
    assert!(total > 0, "no write was acknowledged; the test proved nothing");
}

fn kill(mut child: std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}
