//! The public HTTP edge through real sockets: links minted over gRPC, used over HTTP the
//! way a mail client (RFC 8058 POST), a link scanner (GET) and a browser (forms) use them.

use std::net::SocketAddr;

use consentd::api::pb;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

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
    history_as(server, None, contact).await
}

async fn history_as(server: &TestServer, key: Option<&str>, contact: &str) -> Vec<pb::HistoryEvent> {
    server
        .consent(key)
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
async fn a_stop_answers_the_edge_request_in_flight_and_takes_no_new_one() {
    let (server, edge) = start_with_edge().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    set(&mut consent, change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    let unsubscribe = path_of(&mint(&server, "jane@example.com", "newsletter", "").await.unsubscribe_url);
    // A one-click POST whose body is still on its way when the stop begins.
    let body = "List-Unsubscribe=One-Click";
    let mut stream = TcpStream::connect(edge).await.expect("connect to the edge");
    let head = format!(
        "POST {unsubscribe} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\
         content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(&body.as_bytes()[..4]).await.expect("write part of the body");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let stopping = server.begin_stop();
    // The edge stops accepting: a new connection is refused within a few seconds.
    let mut refused = false;
    for _ in 0..100 {
        if TcpStream::connect(edge).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(refused, "the edge still accepts connections while the server drains");
    // Longer than the stop waits for tasks that were told to end: only the drain holds it.
    tokio::time::sleep(std::time::Duration::from_millis(consentd::app::App::JOIN_MS + 500)).await;
    assert!(!stopping.is_finished(), "the server stopped with an edge request in flight");
    // The rest of the body arrives: the request is answered and its opt-out written.
    stream.write_all(&body.as_bytes()[4..]).await.expect("write the rest");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read the answer");
    let answer = String::from_utf8_lossy(&raw);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let dir = stopping.finish().await;
    let server = TestServer::start_in(dir, |_| {}).await;
    let r = check(&mut server.decision(None).await, pb::Channel::Email, "jane@example.com", "newsletter", "").await;
    assert_eq!(reason(&r), pb::Reason::PurposeOptedOut, "the drained request's opt-out was lost");
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
    // The answer names the page to send the recipient (#24).
    assert_eq!(pending.confirmation_url, format!("http://{edge}/c/{token}"));
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
    let json = [("content-type", "application/json")];
    let bad = http(edge, "POST", &api, &json, r#"{"changes":[{"purpose_id":"nope","subscribed":true}]}"#).await;
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
                as_of: None,
                as_of_clock: 0,
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
        let old = consentd::links::mint(
            &store,
            "",
            "acme",
            consentd::decision::Channel::Email,
            "jane@example.com",
            subject,
            1,
            "ck_test",
        );
        assert_eq!(store.rotate_link_key().expect("rotate"), 2);
        let new = consentd::links::mint(
            &store,
            "",
            "acme",
            consentd::decision::Channel::Email,
            "jane@example.com",
            subject,
            1,
            "ck_test",
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

// ---- the right to write (#22) ---------------------------------------------------------

async fn new_key(admin: &mut Admin, scopes: &[pb::ApiKeyScope]) -> String {
    admin
        .create_api_key(pb::CreateApiKeyRequest {
            description: "test".into(),
            scopes: scopes.iter().map(|s| *s as i32).collect(),
            profile_ids: Vec::new(),
            expire_time: None,
        })
        .await
        .expect("create key")
        .into_inner()
        .secret
}

fn key_id(key: &str) -> &str {
    key.split_once('.').map_or(key, |(id, _)| id)
}

fn mint_request(contact: &str) -> pb::MintLinksRequest {
    pb::MintLinksRequest {
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        contact_point: contact.into(),
        purpose_id: "newsletter".into(),
        topic_id: String::new(),
    }
}

/// The path of the JSON API for a minted preferences URL.
fn api_path(preferences_url: &str) -> String {
    format!("/api/v1/preferences/{}", path_of(preferences_url).trim_start_matches("/p/"))
}

const JSON: [(&str, &str); 1] = [("content-type", "application/json")];

/// The revision a check answers: the store's global revision, which only a write moves.
async fn revision(server: &TestServer, key: Option<&str>) -> u64 {
    check_as(server, key, "x@example.com").await.revision
}

async fn check_as(server: &TestServer, key: Option<&str>, contact: &str) -> pb::CheckResponse {
    server
        .decision(key)
        .await
        .check(pb::CheckRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: contact.into(),
            purpose_id: "newsletter".into(),
            topic_id: String::new(),
            min_revision: 0,
            as_of: None,
            as_of_clock: 0,
        })
        .await
        .expect("check")
        .into_inner()
}

#[tokio::test]
async fn minting_links_takes_the_write_scope_and_history_names_the_minting_key() {
    let (server, edge) = start_with_edge().await;
    let mut local = server.admin(None).await;
    seed(&mut local, None).await;
    let root = new_key(&mut local, &[pb::ApiKeyScope::Admin, pb::ApiKeyScope::Write, pb::ApiKeyScope::Check]).await;
    let mut admin = server.admin(Some(&root)).await;
    let checker = new_key(&mut admin, &[pb::ApiKeyScope::Check]).await;
    let sender = new_key(&mut admin, &[pb::ApiKeyScope::Check, pb::ApiKeyScope::Write]).await;
    let mut consent = server.consent(Some(&sender)).await;
    set(&mut consent, change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    set(&mut consent, change("kim@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;

    // A key that may only check cannot hand out links that write.
    let err = server.decision(Some(&checker)).await.mint_links(mint_request("jane@example.com")).await;
    let err = err.expect_err("minted with the check scope only");
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");
    assert!(err.message().contains("`write`"), "{err:?}");
    let batch = pb::CheckStreamRequest {
        batch_id: 1,
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        purpose_id: "newsletter".into(),
        contact_points: vec!["kim@example.com".into()],
        include_links: true,
        ..Default::default()
    };
    let mut checker_decision = server.decision(Some(&checker)).await;
    let mut answers =
        checker_decision.check_stream(tokio_stream::iter(vec![batch.clone()])).await.expect("stream").into_inner();
    let err = answers.message().await.expect_err("links with the check scope only");
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");
    // The same key still checks without links.
    let plain = pb::CheckStreamRequest { include_links: false, ..batch.clone() };
    let mut answers =
        checker_decision.check_stream(tokio_stream::iter(vec![plain])).await.expect("stream").into_inner();
    assert_eq!(answers.message().await.expect("answer").expect("batch").decisions.len(), 1);

    // A key that may write mints; what its links change names it in history.
    let minted_by = format!("edge:{}", key_id(&sender));
    let links = server.decision(Some(&sender)).await.mint_links(mint_request("jane@example.com")).await;
    let links = links.expect("minted with the write scope").into_inner();
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let done = http(edge, "POST", &path_of(&links.unsubscribe_url), &form, "List-Unsubscribe=One-Click").await;
    assert_eq!(done.status, 200, "{done:?}");
    let events = history_as(&server, Some(&root), "jane@example.com").await;
    let last = events.last().expect("an event");
    assert_eq!(last.source, pb::ChangeSource::OneClickUnsubscribe as i32);
    assert_eq!(last.actor, minted_by);

    let mut answers = server
        .decision(Some(&sender))
        .await
        .check_stream(tokio_stream::iter(vec![batch]))
        .await
        .expect("stream")
        .into_inner();
    let answer = answers.message().await.expect("answer").expect("batch");
    let kim = api_path(&answer.links.first().expect("a link for the SEND").preferences_url);
    let body = r#"{"changes":[{"purpose_id":"newsletter","topic_id":"","subscribed":false}]}"#;
    let posted = http(edge, "POST", &kim, &JSON, body).await;
    assert_eq!(posted.status, 200, "{posted:?}");
    let events = history_as(&server, Some(&root), "kim@example.com").await;
    let last = events.last().expect("an event");
    assert_eq!(last.source, pb::ChangeSource::PreferenceCenter as i32);
    assert_eq!(last.actor, minted_by);
    server.stop().await;
}

#[tokio::test]
async fn a_change_that_changes_nothing_writes_nothing() {
    let (server, edge) = start_with_edge().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    set(&mut consent, change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    let links = mint(&server, "jane@example.com", "newsletter", "").await;
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let unsubscribe = path_of(&links.unsubscribe_url);
    let done = http(edge, "POST", &unsubscribe, &form, "List-Unsubscribe=One-Click").await;
    assert_eq!(done.status, 200, "{done:?}");
    let events = history_len(&server, "jane@example.com").await;
    let rev = revision(&server, None).await;

    // Replays of the link: the same answer, and nothing written.
    for _ in 0..3 {
        let again = http(edge, "POST", &unsubscribe, &form, "List-Unsubscribe=One-Click").await;
        assert_eq!(again.status, 200, "{again:?}");
    }
    assert_eq!(history_len(&server, "jane@example.com").await, events, "a replay added history");
    assert_eq!(revision(&server, None).await, rev, "a replay took a revision");

    // The JSON API asked for what already is: newsletter is out, invoices (transactional,
    // not set) is received.
    let api = api_path(&links.preferences_url);
    let same = r#"{"changes":[{"purpose_id":"newsletter","topic_id":"","subscribed":false},
                              {"purpose_id":"invoices","topic_id":"","subscribed":true}]}"#;
    let posted = http(edge, "POST", &api, &JSON, same).await;
    assert_eq!(posted.status, 200, "{posted:?}");
    let v: serde_json::Value = serde_json::from_str(&posted.body).expect("json");
    assert_eq!(v["changes_written"], 0, "{v}");
    assert_eq!(history_len(&server, "jane@example.com").await, events, "a no-op added history");
    assert_eq!(revision(&server, None).await, rev, "a no-op took a revision");

    // Copies of one change in one request are refused, not written once each.
    let copies = r#"{"changes":[{"purpose_id":"newsletter","topic_id":"discounts","subscribed":true},
                                {"purpose_id":"newsletter","topic_id":"discounts","subscribed":true}]}"#;
    let refused = http(edge, "POST", &api, &JSON, copies).await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(refused.body.contains("newsletter/discounts") && refused.body.contains("more than once"), "{refused:?}");
    assert_eq!(history_len(&server, "jane@example.com").await, events, "a refused request added history");

    // One real change is one event; asking for it again is none, also while the topic
    // stays unreceived under its opted-out purpose.
    let once = r#"{"changes":[{"purpose_id":"newsletter","topic_id":"discounts","subscribed":true}]}"#;
    for written in [1, 0] {
        let posted = http(edge, "POST", &api, &JSON, once).await;
        assert_eq!(posted.status, 200, "{posted:?}");
        let v: serde_json::Value = serde_json::from_str(&posted.body).expect("json");
        assert_eq!(v["changes_written"], written, "{v}");
    }
    assert_eq!(history_len(&server, "jane@example.com").await, events + 1);
    server.stop().await;
}

#[tokio::test]
async fn link_holders_do_not_see_the_global_revision() {
    let (server, edge) = start_with_edge().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    for i in 0..5 {
        set(&mut consent, change(&format!("p{i}@example.com"), "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    }
    let links = mint(&server, "jane@example.com", "newsletter", "").await;
    let api = api_path(&links.preferences_url);
    let got = http(edge, "GET", &api, &[], "").await;
    assert_eq!(got.status, 200, "{got:?}");
    let v: serde_json::Value = serde_json::from_str(&got.body).expect("json");
    assert!(v.get("revision").is_none(), "the global revision is shown: {v}");
    let body = r#"{"changes":[{"purpose_id":"newsletter","topic_id":"","subscribed":false}]}"#;
    let posted = http(edge, "POST", &api, &JSON, body).await;
    let v: serde_json::Value = serde_json::from_str(&posted.body).expect("json");
    assert!(v.get("revision").is_none(), "the global revision is shown: {v}");
    server.stop().await;
}

#[tokio::test]
async fn writes_through_the_links_of_one_contact_point_are_bounded() {
    let (server, edge) = start_with_edge().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    for topic in ["", "events", "discounts"] {
        set(&mut consent, change("jane@example.com", "newsletter", topic, pb::ConsentStatus::OptedIn)).await;
    }
    let api = api_path(&mint(&server, "jane@example.com", "newsletter", "").await.preferences_url);
    let before = history_len(&server, "jane@example.com").await;
    // A link holder flipping all three commercial items, off and on.
    let mut limited = None;
    for i in 0..16 {
        let on = i % 2 == 1;
        let body = format!(
            r#"{{"changes":[{{"purpose_id":"newsletter","topic_id":"","subscribed":{on}}},
                           {{"purpose_id":"newsletter","topic_id":"events","subscribed":{on}}},
                           {{"purpose_id":"newsletter","topic_id":"discounts","subscribed":{on}}}]}}"#
        );
        let a = http(edge, "POST", &api, &JSON, &body).await;
        if a.status == 429 {
            limited = Some(a);
            break;
        }
        assert_eq!(a.status, 200, "{a:?}");
    }
    let limited = limited.expect("the flips were never limited");
    assert!(limited.body.contains("too many changes through this link"), "{limited:?}");
    assert!(limited.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n > 0)), "{limited:?}");
    let written = history_len(&server, "jane@example.com").await - before;
    // The burst (20), the last requests' overdraw and what refills meanwhile (one change
    // per 10 s); never the 48 asked for.
    assert!(written <= 30, "{written} changes written");
    // Opting out is never refused, also while opt-ins wait: the sender opts the person in
    // again (its own write), and the link still takes it back.
    set(&mut consent, change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    let body = r#"{"changes":[{"purpose_id":"newsletter","topic_id":"","subscribed":false}]}"#;
    let out = http(edge, "POST", &api, &JSON, body).await;
    assert_eq!(out.status, 200, "an opt-out was refused: {out:?}");
    let r = check(&mut server.decision(None).await, pb::Channel::Email, "jane@example.com", "newsletter", "").await;
    assert_eq!(reason(&r), pb::Reason::PurposeOptedOut);
    server.stop().await;
}

#[tokio::test]
async fn the_json_api_takes_only_json_and_only_from_its_own_site() {
    let (server, edge) = start_with_edge().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    set(&mut consent, change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    let api = api_path(&mint(&server, "jane@example.com", "newsletter", "").await.preferences_url);
    let before = history_len(&server, "jane@example.com").await;
    let body = r#"{"changes":[{"purpose_id":"newsletter","topic_id":"","subscribed":false}]}"#;
    // What a page on another site can send without asking first: a form or text/plain.
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
        let a = http(edge, "POST", &api, &[("content-type", content_type)], body).await;
        assert_eq!(a.status, 415, "{content_type}: {a:?}");
    }
    let a = http(edge, "POST", &api, &[], body).await;
    assert_eq!(a.status, 415, "no content type: {a:?}");
    // A browser on another site.
    for headers in [
        [("content-type", "application/json"), ("origin", "https://evil.example")],
        [("content-type", "application/json"), ("origin", "null")],
        [("content-type", "application/json"), ("sec-fetch-site", "cross-site")],
    ] {
        let a = http(edge, "POST", &api, &headers, body).await;
        assert_eq!(a.status, 403, "{headers:?}: {a:?}");
        assert!(a.body.contains("cross-origin"), "{a:?}");
    }
    assert_eq!(history_len(&server, "jane@example.com").await, before, "a refused request changed the history");
    // The edge's own origin, and a client that is no browser, are served.
    let own = format!("http://{edge}");
    let headers = [
        ("content-type", "application/json; charset=utf-8"),
        ("origin", own.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];
    let a = http(edge, "POST", &api, &headers, body).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(history_len(&server, "jane@example.com").await, before + 1);
    server.stop().await;
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_refused() {
    let port = free_port();
    let http_addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let server = TestServer::start_with(|c| {
        c.http_addr = Some(http_addr);
        c.limits.edge_body_read_ms = 300;
    })
    .await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    set(&mut consent, change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    let links = mint(&server, "jane@example.com", "newsletter", "").await;
    let before = history_len(&server, "jane@example.com").await;
    // A client that sends the headers and the start of its body, then nothing.
    let mut s = TcpStream::connect(http_addr).await.expect("connect");
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 26\r\n\r\nList-",
        path_of(&links.unsubscribe_url)
    );
    s.write_all(head.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), s.read_to_end(&mut raw)).await;
    assert!(read.is_ok(), "the connection was still open after 30 s");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert_eq!(history_len(&server, "jane@example.com").await, before);
    server.stop().await;
}

#[tokio::test]
async fn edge_requests_in_flight_finish_when_the_server_stops() {
    let dir = tempfile::tempdir().expect("dir");
    let (port, http_port) = (free_port(), free_port());
    let mut child = spawn(dir.path(), port, &["--http-addr", &format!("127.0.0.1:{http_port}")]);
    let ch = connect(port).await;
    seed(&mut pb::admin_service_client::AdminServiceClient::with_interceptor(ch.clone(), TestServer::auth(None)), None)
        .await;
    let mut consent =
        pb::consent_service_client::ConsentServiceClient::with_interceptor(ch.clone(), TestServer::auth(None));
    set(&mut consent, change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    let links = pb::decision_service_client::DecisionServiceClient::new(ch.clone())
        .mint_links(mint_request("jane@example.com"))
        .await
        .expect("mint")
        .into_inner();

    // A one-click POST whose body is not all there when the stop begins. `100-continue`
    // makes the server say when it starts reading the body: the request is in flight.
    let mut s = TcpStream::connect(("127.0.0.1", http_port)).await.expect("connect");
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: localhost\r\nexpect: 100-continue\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 26\r\n\r\n",
        path_of(&links.unsubscribe_url)
    );
    s.write_all(head.as_bytes()).await.expect("write");
    let mut cont = [0u8; 25];
    s.read_exact(&mut cont).await.expect("100 Continue");
    assert!(cont.starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&cont));
    s.write_all(b"List-Unsubscribe=").await.expect("write");

    signal(&child, "TERM");
    // The stop has begun once the edge takes no new connections.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", http_port)).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "the edge still accepts after SIGTERM");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let _ = s.write_all(b"One-Click").await;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("HTTP/1.1 200"), "the request in flight was cut: {text:?}");
    let status = tokio::task::spawn_blocking(move || child.wait()).await.expect("join").expect("wait");
    assert!(status.success(), "{status:?}");
}
