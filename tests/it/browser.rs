//! The edge's pages in a real browser: headless Chromium driven through WebDriver
//! (`chromedriver`, Debian's `chromium-driver`). Opens an unsubscribe link and clicks,
//! confirms a double opt-in, changes two toggles in the preference center, and checks each
//! result over gRPC. Screenshots of every page in English and Dutch go to
//! `$CARGO_TARGET_TMPDIR/edge-screenshots/`.
//!
//! Needs `chromedriver` and `chromium` on the PATH (`scripts/dev.sh` installs them); set
//! `CONSENTD_SKIP_BROWSER=1` to skip on a machine without them.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use consentd::api::pb;
use fantoccini::{Client, ClientBuilder, Locator};

use crate::edge::{mint, start_with_edge};
use crate::support::*;

/// A chromedriver process, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn driver() -> Option<Driver> {
    if std::env::var("CONSENTD_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        return None;
    }
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start chromedriver ({e}): install chromium and chromium-driver, or set CONSENTD_SKIP_BROWSER=1"
            )
        });
    Some(Driver { child, port })
}

async fn browser(driver: &Driver, lang: &str) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=900,900", format!("--accept-lang={lang}"), format!("--lang={lang}")],
            "prefs": { "intl.accept_languages": lang },
        }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
            Ok(c) => return c,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("chromedriver at {url} did not answer");
}

fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("edge-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

async fn shot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    std::fs::write(shots_dir().join(format!("{name}.png")), png).expect("write screenshot");
}

/// Waits (up to 10 s) until the page's heading is `want`: after a click the old page may
/// still be there for a moment, and its elements go stale as the new one loads.
async fn wait_heading(client: &Client, want: &str) {
    let mut seen = String::new();
    for _ in 0..200 {
        if let Ok(h1) = client.find(Locator::Css("h1")).await
            && let Ok(text) = h1.text().await
        {
            if text == want {
                return;
            }
            seen = text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page's heading stayed `{seen}`, not `{want}`");
}

#[tokio::test]
async fn unsubscribe_confirm_and_preferences_in_a_real_browser() {
    let Some(driver) = driver() else { return };
    let (server, _edge) = start_with_edge().await;
    seed(&mut server.admin(None).await, None).await;
    seed_profile(&mut server.admin(None).await, "beta", Some(pb::DoubleOptInMode::EveryOptIn)).await;
    let mut consent = server.consent(None).await;
    let mut decision = server.decision(None).await;
    set(&mut consent, change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    set(&mut consent, change("bob@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    set(&mut consent, change("bob@example.com", "newsletter", "events", pb::ConsentStatus::OptedIn)).await;
    let pending = set(
        &mut consent,
        pb::ConsentChange {
            profile_id: "beta".into(),
            ..change("ann@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)
        },
    )
    .await;

    let en = browser(&driver, "en").await;
    // Unsubscribe: the page, one click, blocked.
    let jane = mint(&server, "jane@example.com", "newsletter", "").await;
    en.goto(&jane.unsubscribe_url).await.expect("open unsubscribe link");
    wait_heading(&en, "Unsubscribe").await;
    shot(&en, "unsubscribe-en").await;
    en.find(Locator::Css("button[type=submit]")).await.expect("button").click().await.expect("click");
    wait_heading(&en, "You are unsubscribed").await;
    shot(&en, "unsubscribed-en").await;
    let r = check(&mut decision, pb::Channel::Email, "jane@example.com", "newsletter", "").await;
    assert_eq!(reason(&r), pb::Reason::PurposeOptedOut);

    // Double opt-in: the page, one click, confirmed.
    let confirm_url =
        format!("{}/c/{}", jane.unsubscribe_url.split("/u/").next().expect("base"), pending.confirmation_token);
    en.goto(&confirm_url).await.expect("open confirmation link");
    wait_heading(&en, "Confirm your subscription").await;
    shot(&en, "confirm-en").await;
    en.find(Locator::Css("button[type=submit]")).await.expect("button").click().await.expect("click");
    wait_heading(&en, "Thank you").await;
    let ann = decision
        .check(pb::CheckRequest {
            profile_id: "beta".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "ann@example.com".into(),
            purpose_id: "newsletter".into(),
            topic_id: String::new(),
            min_revision: 0,
            as_of: None,
            as_of_clock: 0,
        })
        .await
        .expect("check")
        .into_inner();
    assert_eq!(reason(&ann), pb::Reason::OptedIn);

    // Preference center: untick events, tick discounts, save.
    let bob = mint(&server, "bob@example.com", "newsletter", "").await;
    en.goto(&bob.preferences_url).await.expect("open preference center");
    wait_heading(&en, "Your preferences").await;
    shot(&en, "preferences-en").await;
    let boxes = en.find_all(Locator::Css("input[type=checkbox]")).await.expect("checkboxes");
    let mut clicked = 0;
    for b in boxes {
        let value = b.attr("value").await.expect("value").unwrap_or_default();
        if value == "newsletter/events" || value == "newsletter/discounts" {
            b.click().await.expect("toggle");
            clicked += 1;
        }
    }
    assert_eq!(clicked, 2, "both topic checkboxes are on the page");
    en.find(Locator::Css("button[value=save]")).await.expect("save").click().await.expect("click save");
    en.wait().for_element(Locator::Css("[role=status]")).await.expect("saved notice");
    shot(&en, "preferences-saved-en").await;
    let events = check(&mut decision, pb::Channel::Email, "bob@example.com", "newsletter", "events").await;
    assert_eq!(reason(&events), pb::Reason::TopicOptedOut);
    let discounts = check(&mut decision, pb::Channel::Email, "bob@example.com", "newsletter", "discounts").await;
    assert_eq!(reason(&discounts), pb::Reason::OptedIn);
    let history = consent
        .get_history(pb::GetHistoryRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "bob@example.com".into(),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .expect("history")
        .into_inner()
        .events;
    // Links minted in protected mode name the local operator as their minter.
    let from_center: Vec<_> = history
        .iter()
        .filter(|e| e.source == pb::ChangeSource::PreferenceCenter as i32 && e.actor == "edge:local")
        .collect();
    assert_eq!(from_center.len(), 2, "{history:#?}");
    assert!(from_center.iter().all(|e| e.proof.as_ref().is_some_and(|p| p.ip_address == "127.0.0.1")));
    en.close().await.expect("close");

    // The same pages in Dutch.
    let nl = browser(&driver, "nl").await;
    let carl = mint(&server, "carl@example.com", "newsletter", "").await;
    nl.goto(&carl.unsubscribe_url).await.expect("open");
    wait_heading(&nl, "Afmelden").await;
    shot(&nl, "unsubscribe-nl").await;
    nl.goto(&carl.preferences_url).await.expect("open");
    wait_heading(&nl, "Uw voorkeuren").await;
    shot(&nl, "preferences-nl").await;
    let pending = set(
        &mut consent,
        pb::ConsentChange {
            profile_id: "beta".into(),
            ..change("dirk@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)
        },
    )
    .await;
    nl.goto(&format!("{}/c/{}", carl.unsubscribe_url.split("/u/").next().expect("base"), pending.confirmation_token))
        .await
        .expect("open");
    wait_heading(&nl, "Bevestig uw inschrijving").await;
    shot(&nl, "confirm-nl").await;
    nl.close().await.expect("close");
    server.stop().await;
}
