//! The public HTTP edge through real sockets: links minted over gRPC, used over HTTP the
//! way a mail client (RFC 8058 POST), a link scanner (GET) and a browser (forms) use them.

use std::net::SocketAddr;

use consentd::api::pb;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::support::*;

/// One HTTP/1.1 answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// Sends one request on `stream` (connection: close) and reads the whole answer.
pub async fn http_on<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Answer { status, head: head.to_owned(), body: body.to_owned() }
}

pub async fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect to the edge");
    http_on(stream, method, path, headers, body).await
}

/// The path of a URL the server minted (`http://host:port/u/...` → `/u/...`).
pub fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/".to_owned(), |i| rest[i..].to_owned())
}

pub async fn start_with_edge() -> (TestServer, SocketAddr) {
    let port = free_port();
    let http_addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let server = TestServer::start_with(|c| c.http_addr = Some(http_addr)).await;
    (server, http_addr)
}

pub async fn mint(server: &TestServer, contact: &str, purpose: &str, topic: &str) -> pb::MintLinksResponse {
    server
        .decision(None)
        .await
        .mint_links(pb::MintLinksRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: contact.into(),
            purpose_id: purpose.into(),
            topic_id: topic.into(),
        })
        .await
        .expect("mint links")
        .into_inner()
}

async fn history_len(server: &TestServer, contact: &str) -> usize {
    history(server, contact).await.len()
}

async fn history(server: &TestServer, contact: &str) -> Vec<pb::HistoryEvent> {
    server
        .consent(None)
        .await
        .get_history(pb::GetHistoryRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: contact.into(),
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .expect("history")
        .into_inner()
        .events
}

#[tokio::test]
async fn one_click_post_blocks_the_next_check_and_a_get_changes_nothing() {
    let (server, edge) = start_with_edge().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let mut decision = server.decision(None).await;
    set(&mut consent, change("Jane@Example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    let links = mint(&server, "Jane@Example.com", "newsletter", "").await;
    assert_eq!(links.list_unsubscribe, format!("<{}>", links.unsubscribe_url));
    assert_eq!(links.list_unsubscribe_post, "List-Unsubscribe=One-Click");
    assert!(!links.unsubscribe_url.to_lowercase().contains("jane"), "the address is in the link: {links:?}");
    let unsubscribe = path_of(&links.unsubscribe_url);

    // A link scanner's GET: a page with one button, and nothing changed.
    let before = history_len(&server, "jane@example.com").await;
    let page = http(edge, "GET", &unsubscribe, &[], "").await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("<form method=\"post\"") && page.body.contains("One-Click"), "{}", page.body);
    assert_eq!(page.header("referrer-policy").as_deref(), Some("no-referrer"));
    assert!(page.header("content-security-policy").is_some_and(|c| c.contains("default-src 'none'")));
    assert_eq!(history_len(&server, "jane@example.com").await, before, "a GET changed the history");
    let r = check(&mut decision, pb::Channel::Email, "jane@example.com", "newsletter", "").await;
    assert_eq!(reason(&r), pb::Reason::OptedIn);

    // The mail client's RFC 8058 POST.
    let form = [("content-type", "application/x-www-form-urlencoded"), ("user-agent", "MailClient/1.0")];
    let done = http(edge, "POST", &unsubscribe, &form, "List-Unsubscribe=One-Click").await;
    assert_eq!(done.status, 200, "{done:?}");
    let r = check(&mut decision, pb::Channel::Email, "jane@example.com", "newsletter", "").await;
    assert_eq!(reason(&r), pb::Reason::PurposeOptedOut);
    let events = history(&server, "jane@example.com").await;
    let last = events.last().expect("an event");
    assert_eq!(last.source, pb::ChangeSource::OneClickUnsubscribe as i32);
    let proof = last.proof.clone().expect("proof");
    assert_eq!(proof.ip_address, "127.0.0.1");
    assert_eq!(proof.user_agent, "MailClient/1.0");

    // Again: still 200, still blocked.
    let again = http(edge, "POST", &unsubscribe, &form, "List-Unsubscribe=One-Click").await;
    assert_eq!(again.status, 200);
    let r = check(&mut decision, pb::Channel::Email, "jane@example.com", "newsletter", "").await;
    assert_eq!(reason(&r), pb::Reason::PurposeOptedOut);
    server.stop().await;
}

#[tokio::test]
async fn tampered_foreign_and_misused_tokens_change_nothing() {
    let (server, edge) = start_with_edge().await;
    seed(&mut server.admin(None).await, None).await;
    let (other, _) = start_with_edge().await;
    seed(&mut other.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    set(&mut consent, change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    let links = mint(&server, "jane@example.com", "newsletter", "").await;
    let foreign = mint(&other, "jane@example.com", "newsletter", "").await;
    let unsubscribe = path_of(&links.unsubscribe_url);
    let before = history_len(&server, "jane@example.com").await;

    let mut tampered: Vec<char> = unsubscribe.chars().collect();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let body = "List-Unsubscribe=One-Click";
    let form = [("content-type", "application/x-www-form-urlencoded")];
    for (what, path) in [
        ("tampered", tampered),
        ("from another server", path_of(&foreign.unsubscribe_url)),
        ("a preference link used to unsubscribe", path_of(&links.preferences_url).replacen("/p/", "/u/", 1)),
        ("garbage", "/u/not-a-token".to_owned()),
    ] {
        let a = http(edge, "POST", &path, &form, body).await;
        assert!((400..500).contains(&a.status), "{what}: {a:?}");
        assert!(a.body.contains("<h1>"), "{what}: not a clear page: {}", a.body);
    }
    // The right link without the RFC 8058 body.
    let a = http(edge, "POST", &unsubscribe, &form, "").await;
    assert_eq!(a.status, 400, "{a:?}");
    assert_eq!(history_len(&server, "jane@example.com").await, before, "a refused request changed the history");
    let mut decision = server.decision(None).await;
    let r = check(&mut decision, pb::Channel::Email, "jane@example.com", "newsletter", "").await;
    assert_eq!(reason(&r), pb::Reason::OptedIn);
    other.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn double_opt_in_page_confirms_only_on_post() {
    let (server, edge) = start_with_edge().await;
    seed(&mut server.admin(None).await, Some(pb::DoubleOptInMode::EveryOptIn)).await;
    let mut consent = server.consent(None).await;
    let mut decision = server.decision(None).await;
    let pending = set(&mut consent, change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    let token = pending.confirmation_token;
    assert!(!token.is_empty());
    let page = http(edge, "GET", &format!("/c/{token}"), &[("accept-language", "nl-NL,nl;q=0.9")], "").await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("lang=\"nl\"") && page.body.contains("Bevestigen"), "{}", page.body);
    let r = check(&mut decision, pb::Channel::Email, "jane@example.com", "newsletter", "").await;
    assert_eq!(reason(&r), pb::Reason::PendingConfirmation, "a GET confirmed the opt-in");

    let done = http(edge, "POST", &format!("/c/{token}"), &[("user-agent", "Browser/2")], "").await;
    assert_eq!(done.status, 200, "{done:?}");
    let r = check(&mut decision, pb::Channel::Email, "jane@example.com", "newsletter", "").await;
    assert_eq!(reason(&r), pb::Reason::OptedIn);
    let used = http(edge, "POST", &format!("/c/{token}"), &[], "").await;
    assert_eq!(used.status, 409, "{used:?}");
    let forged = http(edge, "GET", "/c/AAAA.BBBB", &[], "").await;
    assert_eq!(forged.status, 400, "{forged:?}");
    server.stop().await;
}

#[tokio::test]
async fn preference_center_form_and_json_api_change_state_with_history() {
    let (server, edge) = start_with_edge().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let mut decision = server.decision(None).await;
    set(&mut consent, change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    set(&mut consent, change("jane@example.com", "newsletter", "events", pb::ConsentStatus::OptedIn)).await;
    let links = mint(&server, "jane@example.com", "newsletter", "").await;
    let prefs = path_of(&links.preferences_url);
    let page = http(edge, "GET", &prefs, &[("accept-language", "en")], "").await;
    assert_eq!(page.status, 200, "{page:?}");
    for needle in ["newsletter/", "newsletter/events", "newsletter/discounts", "<label", "form_token"] {
        assert!(page.body.contains(needle), "{needle} missing in {}", page.body);
    }
    let form_token = page
        .body
        .split("name=\"form_token\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("form token")
        .to_owned();

    // A form without its form token changes nothing.
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let before = history_len(&server, "jane@example.com").await;
    let refused = http(edge, "POST", &prefs, &form, "on=newsletter%2F&do=save").await;
    assert_eq!(refused.status, 400);
    assert_eq!(history_len(&server, "jane@example.com").await, before);

    // What the browser sends: every box still ticked (newsletter, invoices), events
    // unticked, discounts ticked.
    let body = format!("form_token={form_token}&on=newsletter%2F&on=invoices%2F&on=newsletter%2Fdiscounts&do=save");
    let saved = http(edge, "POST", &prefs, &form, &body).await;
    assert_eq!(saved.status, 200, "{saved:?}");
    let events = check(&mut decision, pb::Channel::Email, "jane@example.com", "newsletter", "events").await;
    assert_eq!(reason(&events), pb::Reason::TopicOptedOut);
    let discounts = check(&mut decision, pb::Channel::Email, "jane@example.com", "newsletter", "discounts").await;
    assert_eq!(reason(&discounts), pb::Reason::OptedIn);
    assert_eq!(history_len(&server, "jane@example.com").await, before + 2, "exactly the two toggles are recorded");

    // The JSON API shows the same truth and changes it.
    let api = format!("/api/v1/preferences/{}", prefs.trim_start_matches("/p/"));
    let got = http(edge, "GET", &api, &[], "").await;
    assert_eq!(got.status, 200, "{got:?}");
    let v: serde_json::Value = serde_json::from_str(&got.body).expect("json");
    let discounts = v["items"].as_array().expect("items").iter().find(|i| i["topic_id"] == "discounts").cloned();
    assert_eq!(discounts.expect("discounts")["subscribed"], true);
    let posted = http(
        edge,
        "POST",
        &api,
        &[("content-type", "application/json")],
        r#"{"changes":[{"purpose_id":"newsletter","topic_id":"","subscribed":false}]}"#,
    )
    .await;
    assert_eq!(posted.status, 200, "{posted:?}");
    let r = check(&mut decision, pb::Channel::Email, "jane@example.com", "newsletter", "").await;
    assert_eq!(reason(&r), pb::Reason::PurposeOptedOut);
    let bad = http(edge, "POST", &api, &[], r#"{"changes":[{"purpose_id":"nope","subscribed":true}]}"#).await;
    assert_eq!(bad.status, 400, "{bad:?}");
    server.stop().await;
}

#[tokio::test]
async fn get_of_any_edge_url_changes_nothing_and_floods_are_limited() {
    let (server, edge) = start_with_edge().await;
    seed(&mut server.admin(None).await, Some(pb::DoubleOptInMode::EveryOptIn)).await;
    let mut consent = server.consent(None).await;
    let pending = set(&mut consent, change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    let links = mint(&server, "jane@example.com", "newsletter", "").await;
    let revision = || async {
        server
            .decision(None)
            .await
            .check(pb::CheckRequest {
                profile_id: "acme".into(),
                channel: pb::Channel::Email as i32,
                contact_point: "x@example.com".into(),
                purpose_id: "newsletter".into(),
                topic_id: String::new(),
                min_revision: 0,
            })
            .await
            .expect("check")
            .into_inner()
            .revision
    };
    let before = revision().await;
    let token = links.preferences_url.rsplit('/').next().expect("token").to_owned();
    for path in [
        path_of(&links.unsubscribe_url),
        path_of(&links.preferences_url),
        format!("/c/{}", pending.confirmation_token),
        format!("/api/v1/preferences/{token}"),
        "/nothing".to_owned(),
    ] {
        let a = http(edge, "GET", &path, &[], "").await;
        assert!(a.status < 500, "{path}: {a:?}");
    }
    assert_eq!(revision().await, before, "a GET changed state");
    // A burst from one address meets the limit.
    let mut limited = 0;
    for _ in 0..60 {
        if http(edge, "GET", "/nothing", &[], "").await.status == 429 {
            limited += 1;
        }
    }
    assert!(limited > 0, "60 requests at once were never limited");
    server.stop().await;
}

#[tokio::test]
async fn check_stream_returns_links_for_every_send_and_they_work() {
    let (server, edge) = start_with_edge().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    set(&mut consent, change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    set(&mut consent, change("kim@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    let mut decision = server.decision(None).await;
    let batch = pb::CheckStreamRequest {
        batch_id: 1,
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        purpose_id: "newsletter".into(),
        contact_points: vec!["jane@example.com".into(), "nobody@example.com".into(), "Kim@Example.com".into()],
        include_links: true,
        ..Default::default()
    };
    let mut answers = decision.check_stream(tokio_stream::iter(vec![batch])).await.expect("stream").into_inner();
    let answer = answers.message().await.expect("answer").expect("one batch");
    let indexes: Vec<u32> = answer.links.iter().map(|l| l.index).collect();
    assert_eq!(indexes, vec![0, 2], "links for the two SENDs only: {answer:?}");
    let kim = path_of(&answer.links[1].unsubscribe_url);
    let done = http(
        edge,
        "POST",
        &kim,
        &[("content-type", "application/x-www-form-urlencoded")],
        "List-Unsubscribe=One-Click",
    )
    .await;
    assert_eq!(done.status, 200, "{done:?}");
    let r = check(&mut decision, pb::Channel::Email, "kim@example.com", "newsletter", "").await;
    assert_eq!(reason(&r), pb::Reason::PurposeOptedOut);
    let jane = check(&mut decision, pb::Channel::Email, "jane@example.com", "newsletter", "").await;
    assert_eq!(reason(&jane), pb::Reason::OptedIn, "only the link's own recipient changed");
    server.stop().await;
}

#[tokio::test]
async fn links_need_the_edge() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let err = server
        .decision(None)
        .await
        .mint_links(pb::MintLinksRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "jane@example.com".into(),
            purpose_id: "newsletter".into(),
            topic_id: String::new(),
        })
        .await
        .expect_err("no edge");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("--http-addr"), "{err:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_rotated_link_key_keeps_old_links_working_across_restarts() {
    use consentd::storage::link::LinkAction;
    use consentd::storage::{Store, StoreOptions, system_clock};
    let dir = tempfile::tempdir().expect("dir");
    let subject = consentd::decision::Subject { purpose: 1, topic: 0 };
    let (old_link, new_link) = {
        let (store, _) = Store::open(dir.path(), StoreOptions::new(system_clock())).expect("open");
        let old = consentd::edge::links::mint(
            &store,
            "",
            "acme",
            consentd::decision::Channel::Email,
            "jane@example.com",
            subject,
            1,
        );
        assert_eq!(store.rotate_link_key().expect("rotate"), 2);
        let new = consentd::edge::links::mint(
            &store,
            "",
            "acme",
            consentd::decision::Channel::Email,
            "jane@example.com",
            subject,
            1,
        );
        store.flush().expect("flush");
        (old.unsubscribe_url, new.unsubscribe_url)
    };
    let (store, _) = Store::open(dir.path(), StoreOptions::new(system_clock())).expect("reopen");
    let keys = store.link_keys();
    for link in [&old_link, &new_link] {
        let claims = keys.verify(link.trim_start_matches("/u/"), 2, 100).expect("verifies after rotation and restart");
        assert_eq!(claims.action, LinkAction::Unsubscribe);
        assert_eq!(claims.contact_point, "jane@example.com");
    }
    assert_ne!(old_link, new_link);
}

#[tokio::test]
async fn the_profile_sets_the_pages_colour_and_language() {
    let (server, edge) = start_with_edge().await;
    let mut admin = server.admin(None).await;
    seed(&mut admin, None).await;
    let update = |color: &str, language: &str| pb::UpdateProfileRequest {
        profile: Some(pb::Profile {
            profile_id: "acme".into(),
            brand_color: color.into(),
            default_language: language.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["brand_color".into(), "default_language".into()] }),
    };
    let err = admin.update_profile(update("red", "")).await.expect_err("not a colour");
    assert_eq!(bad_field(&err), "profile.brand_color");
    let err = admin.update_profile(update("", "de")).await.expect_err("no German pages");
    assert_eq!(bad_field(&err), "profile.default_language");
    let p = admin.update_profile(update("#AA3300", "en")).await.expect("update").into_inner().profile.expect("profile");
    assert_eq!((p.brand_color.as_str(), p.default_language.as_str()), ("#aa3300", "en"));

    let links = mint(&server, "jane@example.com", "newsletter", "").await;
    // Region NL would mean Dutch; the profile's language says English.
    let page = http(edge, "GET", &path_of(&links.unsubscribe_url), &[], "").await;
    assert!(page.body.contains("lang=\"en\"") && page.body.contains("--brand:#aa3300"), "{}", page.body);
    // The browser's own language still wins.
    let nl = http(edge, "GET", &path_of(&links.unsubscribe_url), &[("accept-language", "nl")], "").await;
    assert!(nl.body.contains("lang=\"nl\""), "{}", nl.body);
    server.stop().await;
}
