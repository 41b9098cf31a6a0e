//! Webhook deliveries to a real HTTP receiver started by the test: signatures checked the
//! way a receiver checks them (Standard Webhooks), order, retries, the pause after the
//! retry budget, replay, no personal data, and a restart in the middle.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use consentd::api::pb;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::support::*;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub(crate) struct Got {
    pub(crate) id: String,
    timestamp: String,
    signature: String,
    pub(crate) body: String,
}

impl Got {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    pub(crate) fn revision(&self) -> u64 {
        self.json()["revision"].as_u64().expect("revision")
    }

    /// Whether one of the signatures verifies with `secret` (`whsec_<base64>`), as a
    /// receiver verifies it.
    pub(crate) fn signed_by(&self, secret: &str) -> bool {
        let key = base64::engine::general_purpose::STANDARD
            .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
            .expect("base64 secret");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("key");
        mac.update(format!("{}.{}.{}", self.id, self.timestamp, self.body).as_bytes());
        let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
        self.signature.split(' ').any(|s| s == expected)
    }
}

/// An HTTP receiver: records every request, answers the queued statuses first, then
/// `otherwise`.
#[derive(Clone)]
pub(crate) struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Got>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
    otherwise: Arc<Mutex<u16>>,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
        let r = Receiver {
            addr: listener.local_addr().expect("addr"),
            got: Arc::default(),
            answers: Arc::default(),
            otherwise: Arc::new(Mutex::new(200)),
        };
        let me = r.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let me = me.clone();
                async move {
                    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    me.got.lock().expect("lock").push(Got {
                        id: h("webhook-id"),
                        timestamp: h("webhook-timestamp"),
                        signature: h("webhook-signature"),
                        body,
                    });
                    let status =
                        me.answers.lock().expect("lock").pop_front().unwrap_or(*me.otherwise.lock().expect("lock"));
                    axum::http::StatusCode::from_u16(status).expect("status")
                }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        r
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub(crate) fn got(&self) -> Vec<Got> {
        self.got.lock().expect("lock").clone()
    }

    /// The requests answered 2xx are not known here; what arrived, at least `n` of them.
    async fn wait_for(&self, n: usize) -> Vec<Got> {
        for _ in 0..300 {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the receiver got {} requests, expected {n}: {:?}", self.got().len(), self.got());
    }

    fn answer(&self, statuses: &[u16], otherwise: u16) {
        self.answers.lock().expect("lock").extend(statuses);
        *self.otherwise.lock().expect("lock") = otherwise;
    }
}

async fn create(server: &TestServer, w: pb::Webhook) -> pb::CreateWebhookResponse {
    server
        .admin(None)
        .await
        .create_webhook(pb::CreateWebhookRequest { webhook: Some(w), secret: String::new() })
        .await
        .expect("create webhook")
        .into_inner()
}

async fn listed(server: &TestServer, id: &str) -> pb::Webhook {
    let all = server.admin(None).await.list_webhooks(pb::ListWebhooksRequest {}).await.expect("list").into_inner();
    all.webhooks.into_iter().find(|w| w.webhook_id == id).expect("listed")
}

/// The subscription once `done` holds of it, or as it is after 10 s.
async fn listed_when(server: &TestServer, id: &str, done: impl Fn(&pb::Webhook) -> bool) -> pb::Webhook {
    let mut w = listed(server, id).await;
    for _ in 0..100 {
        if done(&w) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        w = listed(server, id).await;
    }
    w
}

async fn suppress(consent: &mut Consent, contact: &str) -> u64 {
    consent
        .add_suppression(pb::AddSuppressionRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: contact.into(),
            kind: pb::SuppressionKind::HardBounce as i32,
            ..Default::default()
        })
        .await
        .expect("suppress")
        .into_inner()
        .revision
}

#[tokio::test]
async fn every_change_reaches_the_receiver_in_order_signed_and_counted() {
    let receiver = Receiver::start().await;
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let created = create(&server, pb::Webhook { url: receiver.url(), personal_data: true, ..Default::default() }).await;
    let id = created.webhook.expect("webhook").webhook_id;
    assert!(created.secret.starts_with("whsec_"), "{}", created.secret);
    let mut consent = server.consent(None).await;
    let mut revisions = Vec::new();
    for i in 0..8 {
        let status = if i % 2 == 0 { pb::ConsentStatus::OptedIn } else { pb::ConsentStatus::OptedOut };
        revisions
            .push(set(&mut consent, change(&format!("User{i}@Example.com"), "newsletter", "", status)).await.revision);
    }
    revisions.push(suppress(&mut consent, "user1@example.com").await);
    let got = receiver.wait_for(revisions.len()).await;
    assert_eq!(got.iter().map(Got::revision).collect::<Vec<_>>(), revisions, "in revision order, each once");
    for g in &got {
        assert!(g.signed_by(&created.secret), "signature does not verify: {g:?}");
        assert_eq!(g.id, format!("msg_{}", g.revision()));
        let now = now_us() / 1_000_000;
        let ts: i64 = g.timestamp.parse().expect("timestamp");
        assert!((now - ts).abs() < 300, "timestamp {ts} is not now ({now})");
    }
    let first = got[0].json();
    assert_eq!(first["schema"], "consentd.webhook.v1");
    assert_eq!(first["type"], "consent.changed");
    assert_eq!(first["data"]["contact_point"], "user0@example.com");
    assert_eq!(first["data"]["status"], "opted_in");
    assert_eq!(first["data"]["channel"], "email");
    assert_eq!(first["data"]["purpose_id"], "newsletter");
    assert_eq!(got[1].json()["data"]["status"], "opted_out");
    let last = got[8].json();
    assert_eq!(
        (last["type"].as_str(), last["data"]["suppression_kind"].as_str()),
        (Some("suppression.added"), Some("hard_bounce"))
    );
    // Its position and the metrics say so (the receiver records a request before it answers).
    let w = listed_when(&server, &id, |w| w.delivered_revision == revisions[8]).await;
    assert_eq!((w.delivered_revision, w.lag_revisions, w.paused), (revisions[8], 0, false));
    let metrics = scrape_metrics(server.metrics_addr).await;
    assert_eq!(metric_value(&metrics, &format!("consentd_webhook_deliveries_total{{webhook=\"{id}\"}}")), 9.0);
    assert_eq!(metric_value(&metrics, &format!("consentd_webhook_lag_revisions{{webhook=\"{id}\"}}")), 0.0);
    // A test message, signed the same way.
    let test = server
        .admin(None)
        .await
        .test_webhook(pb::TestWebhookRequest { webhook_id: id.clone() })
        .await
        .expect("test")
        .into_inner();
    assert_eq!((test.status_code, test.error.as_str()), (200, ""));
    let got = receiver.wait_for(10).await;
    assert_eq!(got[9].id, test.message_id);
    assert!(got[9].signed_by(&created.secret));
    server.stop().await;
}

#[tokio::test]
async fn a_failing_receiver_is_retried_then_paused_and_a_replay_delivers_what_it_missed() {
    let receiver = Receiver::start().await;
    let server = TestServer::start_with(|c| c.limits.webhook_retry_secs = 2).await;
    seed(&mut server.admin(None).await, None).await;
    let created = create(&server, pb::Webhook { url: receiver.url(), ..Default::default() }).await;
    let id = created.webhook.expect("webhook").webhook_id;
    let mut consent = server.consent(None).await;
    // Two failures, then accepted: one message, three attempts with the same id.
    receiver.answer(&[500, 503], 200);
    let r1 = set(&mut consent, change("a@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await.revision;
    let got = receiver.wait_for(3).await;
    assert!(got.iter().all(|g| g.id == format!("msg_{r1}") && g.signed_by(&created.secret)), "{got:?}");
    // Down for longer than the retry budget: paused, with its error, and nothing after it sent.
    receiver.answer(&[], 500);
    let r2 = set(&mut consent, change("b@example.com", "newsletter", "", pb::ConsentStatus::OptedOut)).await.revision;
    let w = listed_when(&server, &id, |w| w.paused).await;
    assert!(w.paused, "not paused after its retry budget: {w:?}");
    assert!(w.last_error.contains("500"), "{w:?}");
    assert_eq!(w.delivered_revision, r1);
    let metrics = scrape_metrics(server.metrics_addr).await;
    assert_eq!(metric_value(&metrics, &format!("consentd_webhook_paused{{webhook=\"{id}\"}}")), 1.0);
    assert!(metric_value(&metrics, &format!("consentd_webhook_failed_attempts_total{{webhook=\"{id}\"}}")) >= 3.0);
    // The receiver is back; a change while paused waits.
    receiver.answer(&[], 200);
    let r3 = set(&mut consent, change("c@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await.revision;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = receiver.got().len();
    assert!(receiver.got().iter().all(|g| g.revision() != r3), "delivered while paused");
    // Replay from the first missed change: both, in order.
    let replayed = server
        .admin(None)
        .await
        .replay_webhook(pb::ReplayWebhookRequest { webhook_id: id.clone(), from_revision: r2 })
        .await
        .expect("replay")
        .into_inner();
    assert!(!replayed.webhook.expect("webhook").paused);
    let got = receiver.wait_for(before + 2).await;
    let tail: Vec<u64> = got[before..].iter().map(Got::revision).collect();
    assert_eq!(tail, vec![r2, r3]);
    let w = listed_when(&server, &id, |w| w.delivered_revision == r3).await;
    assert_eq!(w.delivered_revision, r3, "{w:?}");
    assert!(!w.paused && w.last_error.is_empty(), "{w:?}");
    // A replay from beyond the next revision would skip changes: refused.
    let err = server
        .admin(None)
        .await
        .replay_webhook(pb::ReplayWebhookRequest { webhook_id: id.clone(), from_revision: r3 + 100 })
        .await
        .expect_err("refused");
    assert!(err.message().contains("from_revision"), "{err:?}");
    server.stop().await;
}

#[tokio::test]
async fn without_personal_data_a_receiver_gets_keyed_hashes_only() {
    let receiver = Receiver::start().await;
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    create(&server, pb::Webhook { url: receiver.url(), personal_data: false, ..Default::default() }).await;
    let mut consent = server.consent(None).await;
    let mut c = change("Private.Person@Example.com", "newsletter", "", pb::ConsentStatus::OptedIn);
    c.proof = Some(pb::Proof {
        ip_address: "203.0.113.77".into(),
        user_agent: "SecretBrowser/9".into(),
        notice_id: "privacy".into(),
        notice_version: "3".into(),
        ..Default::default()
    });
    set(&mut consent, c).await;
    let got = receiver.wait_for(1).await;
    let body = &got[0].body;
    for personal in ["private.person", "Private.Person", "203.0.113.77", "SecretBrowser"] {
        assert!(!body.contains(personal), "`{personal}` was sent: {body}");
    }
    let data = got[0].json()["data"].clone();
    let key = data["contact_key"].as_str().expect("contact_key");
    assert!(key.len() == 32 && key.chars().all(|c| c.is_ascii_hexdigit()), "{key}");
    assert_eq!(
        (data["proof"]["notice_id"].as_str(), data["proof"]["notice_version"].as_str()),
        (Some("privacy"), Some("3"))
    );
    server.stop().await;
}

#[tokio::test]
async fn changes_made_while_deliveries_fail_arrive_after_a_restart() {
    let receiver = Receiver::start().await;
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let created = create(&server, pb::Webhook { url: receiver.url(), ..Default::default() }).await;
    receiver.answer(&[], 503);
    let mut consent = server.consent(None).await;
    let mut revisions = Vec::new();
    for i in 0..5 {
        revisions.push(
            set(&mut consent, change(&format!("r{i}@example.com"), "newsletter", "", pb::ConsentStatus::OptedIn))
                .await
                .revision,
        );
    }
    // At least one attempt was made before the stop.
    receiver.wait_for(1).await;
    let dir = server.stop().await;
    receiver.answer(&[], 200);
    let server = TestServer::start_in(dir, |_| {}).await;
    for _ in 0..300 {
        let delivered: std::collections::BTreeSet<u64> = receiver
            .got()
            .iter()
            .filter(|g| g.revision() == *revisions.last().expect("some"))
            .map(Got::revision)
            .collect();
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = receiver.got();
    // Every change arrived; a change that arrived more than once came with the same id and body.
    for r in &revisions {
        let copies: Vec<&Got> = got.iter().filter(|g| g.revision() == *r).collect();
        assert!(!copies.is_empty(), "revision {r} never arrived");
        assert!(copies.iter().all(|g| g.id == copies[0].id && g.body == copies[0].body), "{copies:?}");
        assert!(copies.iter().all(|g| g.signed_by(&created.secret)));
    }
    // And the first arrivals are in revision order.
    let mut firsts: Vec<u64> = Vec::new();
    for g in &got {
        if !firsts.contains(&g.revision()) {
            firsts.push(g.revision());
        }
    }
    assert_eq!(firsts, revisions);
    server.stop().await;
}

#[tokio::test]
async fn urls_secrets_and_rotations_are_checked_and_both_secrets_sign_during_a_rotation() {
    let receiver = Receiver::start().await;
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut admin = server.admin(None).await;
    let refused = |w: pb::Webhook, secret: &str| pb::CreateWebhookRequest { webhook: Some(w), secret: secret.into() };
    for (req, field) in [
        (refused(pb::Webhook { url: "http://crm.example.com/hook".into(), ..Default::default() }, ""), "webhook.url"),
        (refused(pb::Webhook { url: receiver.url(), ..Default::default() }, "not-a-secret"), "secret"),
        (
            refused(pb::Webhook { url: receiver.url(), profile_ids: vec!["nope".into()], ..Default::default() }, ""),
            "webhook.profile_ids",
        ),
        (
            refused(pb::Webhook { url: receiver.url(), event_kinds: vec![42], ..Default::default() }, ""),
            "webhook.event_kinds",
        ),
    ] {
        let err = admin.create_webhook(req).await.expect_err("refused");
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
        assert!(err.message().contains(field), "{field}: {}", err.message());
    }
    // Created with consentctl, secret from a file.
    let dir = tempfile::tempdir().expect("dir");
    let secret_file = dir.path().join("secret");
    let first = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    std::fs::write(&secret_file, first).expect("write secret");
    let url = receiver.url();
    let args = vec!["--json", "webhook", "create", "--url", &url, "--kind", "consent", "--secret-file"];
    let mut args: Vec<String> = args.into_iter().map(str::to_owned).collect();
    args.push(secret_file.display().to_string());
    let (code, stdout) = crate::cli::ctl(&server, args).await;
    assert_eq!(code, 0, "{stdout}");
    let shown: Value = serde_json::from_str(&stdout).expect("json");
    assert!(shown.get("secret").is_none(), "a given secret is not printed back: {shown}");
    let id = shown["webhook_id"].as_str().expect("id").to_owned();
    // Rotation: the new secret signs beside the old one.
    let rotated = admin
        .update_webhook(pb::UpdateWebhookRequest {
            webhook: Some(pb::Webhook { webhook_id: id.clone(), ..Default::default() }),
            rotate_secret: true,
            ..Default::default()
        })
        .await
        .expect("rotate")
        .into_inner();
    assert_eq!(rotated.webhook.expect("webhook").secrets, 2);
    let mut consent = server.consent(None).await;
    set(&mut consent, change("rot@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    // A suppression is not a subscribed kind.
    suppress(&mut consent, "rot@example.com").await;
    let got = receiver.wait_for(1).await;
    assert!(got[0].signed_by(first) && got[0].signed_by(&rotated.secret), "{:?}", got[0]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.got().len(), 1, "an unsubscribed kind was delivered");
    // consentctl test: exit 0 on a 2xx answer.
    let (code, stdout) = crate::cli::ctl(&server, vec!["webhook".into(), "test".into(), id.clone()]).await;
    assert_eq!(code, 0, "{stdout}");
    server.stop().await;
}

/// The fenced block of `lang` in README's webhook section.
fn readme_snippet(lang: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let section = readme.split("## Keeping other systems in sync").nth(1).expect("the webhook section");
    let start = section.find(&format!("```{lang}\n")).expect("a snippet") + lang.len() + 4;
    section[start..].split("```").next().expect("its end").to_owned()
}

#[tokio::test]
async fn the_readme_verification_snippets_accept_a_delivery_and_refuse_a_forgery() {
    let receiver = Receiver::start().await;
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let created = create(&server, pb::Webhook { url: receiver.url(), ..Default::default() }).await;
    set(&mut server.consent(None).await, change("snip@example.com", "newsletter", "", pb::ConsentStatus::OptedIn))
        .await;
    let got = receiver.wait_for(1).await.remove(0);
    let dir = tempfile::tempdir().expect("dir");
    let body = dir.path().join("body");
    std::fs::write(&body, &got.body).expect("body");
    // The README's portal, imported (its server starts only when it is run).
    std::fs::write(dir.path().join("portal.py"), readme_snippet("python")).expect("portal.py");
    let python = "import sys\nsys.path.insert(0, sys.argv[0].rsplit('/', 1)[0])\nfrom portal import verify\n\
         h = {'webhook-id': sys.argv[2], 'webhook-timestamp': sys.argv[3], 'webhook-signature': sys.argv[4]}\n\
         sys.exit(0 if verify(sys.argv[1], h, open(sys.argv[5], 'rb').read()) else 1)\n";
    let node = format!(
        "{}\nconst a = process.argv.slice(2);\nconst h = {{'webhook-id': a[1], 'webhook-timestamp': a[2], 'webhook-signature': a[3]}};\n\
         process.exit(verify(a[0], h, require('node:fs').readFileSync(a[4])) ? 0 : 1);\n",
        readme_snippet("js")
    );
    std::fs::write(dir.path().join("verify.py"), python).expect("py");
    std::fs::write(dir.path().join("verify.js"), node).expect("js");
    for (runner, script) in [("python3", "verify.py"), ("node", "verify.js")] {
        if std::process::Command::new(runner).arg("--version").output().is_err() {
            // CI installs both (scripts/dev.sh); a machine without one checks the other.
            eprintln!("{runner} is not installed: its README snippet is not checked here");
            continue;
        }
        let run = |id: &str| {
            std::process::Command::new(runner)
                .arg(dir.path().join(script))
                .args([created.secret.as_str(), id, got.timestamp.as_str(), got.signature.as_str()])
                .arg(&body)
                .status()
                .unwrap_or_else(|e| panic!("{runner}: {e}"))
                .code()
        };
        assert_eq!(run(&got.id), Some(0), "{runner}: the README's snippet refused a genuine delivery");
        assert_eq!(run("msg_forged"), Some(1), "{runner}: the README's snippet accepted a forged id");
    }
    server.stop().await;
}

/// The README's portal backend, run as it says, receives a delivery and verifies it.
#[tokio::test]
async fn the_readme_portal_receives_and_verifies_changes() {
    if std::process::Command::new("python3").arg("--version").output().is_err() {
        eprintln!("python3 is not installed: the README's portal is not run here");
        return;
    }
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hooks/consent");
    let created = create(&server, pb::Webhook { url, personal_data: true, ..Default::default() }).await;
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("portal.py"), readme_snippet("python")).expect("portal.py");
    let mut portal = std::process::Command::new("python3")
        .arg(dir.path().join("portal.py"))
        .env("WEBHOOK_SECRET", &created.secret)
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 portal.py");
    // Its first line, read on a blocking thread (this test's runtime also runs the server).
    let stdout = portal.stdout.take().expect("stdout");
    let first_line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).map(|_| line)
    });
    // Deliveries retry until the portal listens.
    let r = set(
        &mut server.consent(None).await,
        change("portal@example.com", "newsletter", "", pb::ConsentStatus::OptedOut),
    )
    .await
    .revision;
    let line = tokio::time::timeout(Duration::from_secs(60), first_line)
        .await
        .map(|r| r.expect("join").expect("read"))
        .unwrap_or_else(|_| {
            let _ = portal.kill();
            panic!("the portal printed no change within a minute")
        });
    let line = line.trim_end().to_owned();
    assert_eq!(line, format!("{r} consent.changed opted_out"));
    let w = listed_when(&server, &created.webhook.expect("w").webhook_id, |w| w.delivered_revision == r).await;
    assert_eq!((w.delivered_revision, w.paused), (r, false), "{w:?}");
    let _ = portal.kill();
    let _ = portal.wait();
    server.stop().await;
}

#[tokio::test]
async fn a_change_while_deliveries_retry_wins_over_the_pause_and_a_delete_stays_deleted() {
    let receiver = Receiver::start().await;
    let server = TestServer::start_with(|c| c.limits.webhook_retry_secs = 2).await;
    seed(&mut server.admin(None).await, None).await;
    receiver.answer(&[], 500);
    let kept = create(&server, pb::Webhook { url: receiver.url(), ..Default::default() }).await.webhook.expect("w");
    let dropped = create(&server, pb::Webhook { url: receiver.url(), ..Default::default() }).await.webhook.expect("w");
    let mut consent = server.consent(None).await;
    set(&mut consent, change("busy@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    receiver.wait_for(2).await;
    // While both retry: one is renamed, the other deleted.
    let mut admin = server.admin(None).await;
    admin
        .update_webhook(pb::UpdateWebhookRequest {
            webhook: Some(pb::Webhook {
                webhook_id: kept.webhook_id.clone(),
                description: "renamed".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["description".into()] }),
            ..Default::default()
        })
        .await
        .expect("update");
    admin.delete_webhook(pb::DeleteWebhookRequest { webhook_id: dropped.webhook_id.clone() }).await.expect("delete");
    let w = listed_when(&server, &kept.webhook_id, |w| w.paused).await;
    assert!(w.paused, "the retry budget ran out, so it pauses: {w:?}");
    assert_eq!(w.description, "renamed", "the pause wrote back an old copy of the subscription");
    let all = admin.list_webhooks(pb::ListWebhooksRequest {}).await.expect("list").into_inner().webhooks;
    assert!(all.iter().all(|x| x.webhook_id != dropped.webhook_id), "a deleted subscription came back: {all:?}");
    server.stop().await;
}
