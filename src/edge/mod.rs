//! The public HTTP edge (`--http-addr`): the recipient's door to consentd. No API key: every
//! action is authorised by a signed link token (`storage::link`) or, for double opt-in, by
//! the confirmation token (`storage::token`).
//!
//! - `GET /u/{token}` shows a page with one button; it never changes anything (mail
//!   security gateways prefetch links). `POST /u/{token}` with `List-Unsubscribe=One-Click`
//!   (RFC 8058) records the opt-out at once, source `one_click_unsubscribe`.
//! - `GET /c/{token}` shows the double opt-in page; its button POSTs the confirmation.
//! - `GET /p/{token}` the preference center; its form POSTs back (source
//!   `preference_center`), bound to the link by a form token.
//! - `GET`/`POST /api/v1/preferences/{token}`: the same as JSON, for senders' own apps.
//!
//! Every response carries a strict CSP (no scripts at all), `Referrer-Policy: no-referrer`
//! (the token never leaks to another site) and `Cache-Control: no-store`. Each client
//! network is rate limited (an IPv6 /64 is one client); bodies are capped and must arrive
//! within `Limits::edge_body_read_ms`. Changes written through the links of one contact
//! point are rate limited too, and a change that changes nothing writes nothing. The JSON
//! API takes only `application/json` and refuses browsers on other sites (`Origin`,
//! `Sec-Fetch-Site`): a link in a holder's browser must not be usable by any page it visits.
//! Connections go through `net::serve_http1`, so the edge has the gRPC listener's
//! connection cap, deadlines, TLS (HTTP/1.1 by ALPN) and drain.
//!
//! Longer than most files because it holds every route's handler: each is a short
//! translation between HTTP and `prefs`/`pages`, and reading them side by side is how one
//! checks that no GET writes and every POST verifies its token first.

mod limit;
pub mod pages;
pub mod prefs;

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use self::limit::RateLimiter;
use self::pages::{Lang, Look};
use self::prefs::{EdgeError, Evidence, Preferences};
use crate::config::Limits;
use crate::decision::Status;
use crate::net::{ConnectionLimits, ConnectionStats, Peer};
use crate::storage::link::{LinkAction, LinkClaims, LinkError};
use crate::storage::model::{Confirmation, Source};
use crate::storage::token::TokenError;
use crate::storage::{ContactKey, Refusal, StorageError, Store};

/// How the edge is reached and served, besides its listener and store.
#[derive(Clone, Debug)]
pub struct EdgeOptions {
    /// The edge's URL as recipients reach it: its origin is the only one a browser may
    /// send the JSON API a change from.
    pub public_url: String,
    /// A request's body must arrive within this of its headers.
    pub body_read_timeout: Duration,
    pub connections: ConnectionLimits,
    pub tls: Option<Arc<crate::tls::ReloadingTls>>,
}

#[derive(Clone)]
struct Edge {
    store: Store,
    /// Requests per client network.
    limiter: Arc<RateLimiter<IpAddr>>,
    /// Changes written through the links of one contact point.
    link_writes: Arc<RateLimiter<ContactKey>>,
    /// `scheme://host[:port]` of the public URL.
    origin: Arc<str>,
    body_read_timeout: Duration,
}

/// The edge's routes, with their limits and headers.
fn router(store: Store, options: &EdgeOptions) -> Router {
    let edge = Edge {
        store,
        limiter: Arc::new(RateLimiter::new(
            Limits::EDGE_REQUESTS_PER_SEC,
            Limits::EDGE_REQUEST_BURST,
            Limits::EDGE_CLIENTS_TRACKED_MAX,
        )),
        link_writes: Arc::new(RateLimiter::new(
            Limits::EDGE_LINK_CHANGES_PER_SEC,
            Limits::EDGE_LINK_CHANGE_BURST,
            Limits::EDGE_LINKS_TRACKED_MAX,
        )),
        origin: origin_of(&options.public_url).into(),
        body_read_timeout: options.body_read_timeout,
    };
    Router::new()
        .route("/u/{token}", get(unsubscribe_page).post(unsubscribe))
        .route("/c/{token}", get(confirm_page).post(confirm))
        .route("/p/{token}", get(preferences_page).post(save_preferences))
        .route("/api/v1/preferences/{token}", get(api_get).post(api_post))
        .route("/receipt-keys", get(receipt_keys))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .layer(axum::middleware::from_fn_with_state(edge.clone(), guard))
        .layer(DefaultBodyLimit::max(Limits::EDGE_BODY_BYTES_MAX))
        .with_state(edge)
}

/// Rate limit per client network, the body read within its deadline, then the security
/// headers on every answer.
async fn guard(
    State(edge): State<Edge>,
    Extension(client): Extension<Peer>,
    req: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let lang = Lang::negotiate(req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()), Lang::En);
    let look = Look { lang, color: None };
    let mut response = match client.0.map(|a| limit::client_bucket(a.ip())) {
        Some(network) if !edge.limiter.allow(network) => busy_page(&look, 1),
        _ => match read_body(req, edge.body_read_timeout).await {
            Ok(req) => next.run(req).await,
            Err(refused) => *refused,
        },
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn busy_page(look: &Look, retry_after_secs: u64) -> Response {
    let t = pages::texts(look.lang);
    let mut r = (StatusCode::TOO_MANY_REQUESTS, Html(pages::message(look, t.busy_title, t.busy_body))).into_response();
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    r
}

/// Reads the whole body (at most `Limits::EDGE_BODY_BYTES_MAX`) within `deadline` of the
/// headers. Without the deadline a body sent a byte at a time held its connection for as
/// long as the client liked, and a few dozen of them shut honest clients out.
async fn read_body(req: Request<Body>, deadline: Duration) -> Result<Request<Body>, Box<Response>> {
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, Limits::EDGE_BODY_BYTES_MAX)).await {
        Ok(Ok(bytes)) => Ok(Request::from_parts(parts, Body::from(bytes))),
        // Over the cap; a connection that broke gets no answer anyway.
        Ok(Err(_)) => Err(Box::new((StatusCode::PAYLOAD_TOO_LARGE, "the body is too large\n").into_response())),
        Err(_) => {
            let mut r = (StatusCode::REQUEST_TIMEOUT, "the body did not arrive in time\n").into_response();
            // The rest of the body may still come: the connection cannot carry another request.
            r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            Err(Box::new(r))
        }
    }
}

/// The origin a browser names in `Origin` for pages under `url`: `scheme://host[:port]`,
/// lower-case, without the scheme's default port.
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("").to_ascii_lowercase();
    let authority = match (scheme.as_str(), authority.rsplit_once(':')) {
        ("https", Some((host, "443"))) | ("http", Some((host, "80"))) => host.to_owned(),
        _ => authority,
    };
    format!("{scheme}://{authority}")
}

/// Why a state-changing request from a browser on another site is refused, if it is one.
/// A page the link holder visits could otherwise send their link a change (the link is in
/// their mail, history or a forwarded message). Current browsers say where a request comes
/// from in `Sec-Fetch-Site`, older ones in `Origin`; a client that is no browser sends
/// neither and is served.
fn cross_site(headers: &HeaderMap, own_origin: &str) -> Option<String> {
    let shown = |v: &HeaderValue| v.to_str().unwrap_or("?").chars().take(100).collect::<String>();
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return Some(format!("cross-origin requests are refused (Sec-Fetch-Site `{}`)", shown(site)));
    }
    if let Some(origin) = headers.get(header::ORIGIN)
        && !origin.to_str().is_ok_and(|o| o.eq_ignore_ascii_case(own_origin))
    {
        return Some(format!("cross-origin requests are refused (Origin `{}`)", shown(origin)));
    }
    None
}

/// Whether the body is declared JSON. A browser on another site can send `text/plain` or a
/// form without asking first, but not `application/json` (that needs a CORS preflight,
/// which the edge never grants).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

fn evidence(client: Peer, headers: &HeaderMap) -> Evidence {
    Evidence {
        ip: client.0.map(|a| a.ip().to_string()).unwrap_or_default(),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned(),
    }
}

/// The page's look: the language the browser asks for, else the profile's language (or its
/// region's), and the profile's colour.
fn language(store: &Store, profile_id: Option<&str>, headers: &HeaderMap) -> Look {
    let catalog = store.catalog();
    let profile = profile_id.and_then(|id| catalog.profile(id));
    let fallback = match profile.and_then(|p| p.default_language.as_deref()) {
        Some("nl") => Lang::Nl,
        Some(_) => Lang::En,
        None => profile
            .and_then(|p| p.default_region.as_deref())
            .map_or(Lang::En, |r| if matches!(r, "NL" | "BE" | "SR") { Lang::Nl } else { Lang::En }),
    };
    Look {
        lang: Lang::negotiate(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()), fallback),
        color: profile.and_then(|p| p.brand_color.clone()),
    }
}

fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

/// The page for an error, with the status a client can act on.
fn error_page(look: &Look, e: &EdgeError) -> Response {
    let t = pages::texts(look.lang);
    let (status, title, body) = match e {
        EdgeError::Invalid => (StatusCode::BAD_REQUEST, t.invalid_title, t.invalid_body),
        EdgeError::Expired => (StatusCode::GONE, t.expired_title, t.expired_body),
        EdgeError::Gone => (StatusCode::GONE, t.used_title, t.used_body),
        EdgeError::Storage(StorageError::Refused(Refusal::TokenUsed)) => {
            (StatusCode::CONFLICT, t.used_title, t.used_body)
        }
        EdgeError::Storage(StorageError::Refused(Refusal::Token(TokenError::Expired))) => {
            (StatusCode::GONE, t.expired_title, t.expired_body)
        }
        EdgeError::Storage(StorageError::Refused(Refusal::Token(_))) => {
            (StatusCode::BAD_REQUEST, t.invalid_title, t.invalid_body)
        }
        EdgeError::Storage(StorageError::Refused(Refusal::Deactivated(_))) => {
            (StatusCode::GONE, t.used_title, t.used_body)
        }
        EdgeError::Busy { retry_after_secs } => return busy_page(look, *retry_after_secs),
        EdgeError::Storage(other) => {
            tracing::error!(error = %other, "edge: storage failed");
            (StatusCode::SERVICE_UNAVAILABLE, t.error_title, t.error_body)
        }
    };
    html(status, pages::message(look, title, body))
}

/// Verifies a link token for `action`; the contact key inside must match the sealed
/// contact point, or the link was not made by this store.
fn verify(store: &Store, token: &str, action: LinkAction) -> Result<LinkClaims, EdgeError> {
    let now = store.now_us().div_euclid(1_000_000);
    let claims = store.link_keys().verify(token, now, Limits::LINK_VALIDITY_SECS).map_err(|e| match e {
        LinkError::Expired => EdgeError::Expired,
        LinkError::Malformed | LinkError::BadSignature => EdgeError::Invalid,
    })?;
    let key = store.contact_key(&claims.profile_id, claims.channel, &claims.contact_point);
    if claims.action != action || key != claims.contact {
        return Err(EdgeError::Invalid);
    }
    Ok(claims)
}

/// Verifies a link for `action` and picks the page's look (the link's profile's, when it
/// verifies); a link that does not verify becomes its error page.
fn open_link(
    store: &Store,
    token: &str,
    action: LinkAction,
    headers: &HeaderMap,
) -> Result<(Look, LinkClaims), Box<Response>> {
    let claims = verify(store, token, action);
    let look = language(store, claims.as_ref().ok().map(|c| c.profile_id.as_str()), headers);
    match claims {
        Ok(c) => Ok((look, c)),
        Err(e) => Err(Box::new(error_page(&look, &e))),
    }
}

// ---- one-click unsubscribe ----------------------------------------------------------

async fn unsubscribe_page(State(edge): State<Edge>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let (lang, claims) = match open_link(&edge.store, &token, LinkAction::Unsubscribe, &headers) {
        Ok(opened) => opened,
        Err(page) => return *page,
    };
    let t = pages::texts(lang.lang);
    let name = profile_name(&edge.store, &claims.profile_id);
    html(
        StatusCode::OK,
        pages::one_button(
            &lang,
            t.unsubscribe_title,
            &format!("{} {name}.", t.unsubscribe_intro),
            &format!("/u/{token}"),
            &[("List-Unsubscribe", "One-Click")],
            t.unsubscribe_button,
        ),
    )
}

fn profile_name(store: &Store, id: &str) -> String {
    store.catalog().profile(id).map(prefs::shown_name).unwrap_or_default()
}

/// RFC 8058: the body must say `List-Unsubscribe=One-Click`; no cookie, no login.
async fn unsubscribe(
    State(edge): State<Edge>,
    Extension(client): Extension<Peer>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (lang, claims) = match open_link(&edge.store, &token, LinkAction::Unsubscribe, &headers) {
        Ok(opened) => opened,
        Err(page) => return *page,
    };
    let one_click = form_urlencoded::parse(&body).any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click");
    if !one_click {
        return (StatusCode::BAD_REQUEST, "the body must be List-Unsubscribe=One-Click\n").into_response();
    }
    let Some((purpose_id, topic_id)) = prefs::subject_ids(&edge.store, &claims) else {
        return error_page(&lang, &EdgeError::Gone);
    };
    let t = pages::texts(lang.lang);
    let done = || html(StatusCode::OK, pages::message(&lang, t.unsubscribed_title, t.unsubscribed_body));
    // A replay (a second click, a mail client retrying, anyone holding the link) changes
    // nothing, so it writes nothing: no revision, no history event. In cluster mode this
    // reads this node's replica, as every page of the edge does: an opt-in another node
    // applied in the last moments (the replication lag) is not seen yet.
    match prefs::subject_status(&edge.store, &claims) {
        Ok(Some(Status::OptedOut)) => return done(),
        Ok(_) => {}
        Err(e) => return error_page(&lang, &e),
    }
    // An opt-out is never refused (the sender must stop either way); it is counted, so
    // the opt-ins that could undo it are bounded.
    let _ = edge.link_writes.take(claims.contact, 1.0, true);
    if let Err(e) = prefs::set(
        &edge.store,
        &claims,
        &purpose_id,
        &topic_id,
        Status::OptedOut,
        Source::OneClickUnsubscribe,
        &evidence(client, &headers),
    )
    .await
    {
        return error_page(&lang, &e);
    }
    tracing::info!(contact = %claims.contact.log_tag(), purpose = %purpose_id, topic = %topic_id, "one-click unsubscribe");
    done()
}

// ---- double opt-in ------------------------------------------------------------------

async fn confirm_page(State(edge): State<Edge>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let profile = edge.store.token_profile(&token);
    let lang = language(&edge.store, profile.as_ref().ok().and_then(|p| p.as_deref()), &headers);
    match profile {
        Ok(Some(_)) => {}
        Ok(None) => return error_page(&lang, &EdgeError::Gone),
        Err(e) => return error_page(&lang, &EdgeError::Storage(e)),
    }
    let t = pages::texts(lang.lang);
    html(
        StatusCode::OK,
        pages::one_button(&lang, t.confirm_title, t.confirm_intro, &format!("/c/{token}"), &[], t.confirm_button),
    )
}

async fn confirm(
    State(edge): State<Edge>,
    Extension(client): Extension<Peer>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let profile = edge.store.token_profile(&token).ok().flatten();
    let lang = language(&edge.store, profile.as_deref(), &headers);
    let ev = evidence(client, &headers);
    let confirmation = Confirmation {
        token,
        ip_address: ev.ip,
        user_agent: clip(&ev.user_agent, Limits::TEXT_BYTES_MAX),
        occurred_at_us: edge.store.now_us(),
        actor: prefs::EDGE_ACTOR.to_owned(),
    };
    match edge.store.confirm(confirmation).await {
        Ok(_) => {
            let t = pages::texts(lang.lang);
            html(StatusCode::OK, pages::message(&lang, t.confirmed_title, t.confirmed_body))
        }
        Err(e) => error_page(&lang, &EdgeError::Storage(e)),
    }
}

// ---- preference center --------------------------------------------------------------

async fn preferences_page(State(edge): State<Edge>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let (lang, claims) = match open_link(&edge.store, &token, LinkAction::Preferences, &headers) {
        Ok(opened) => opened,
        Err(page) => return *page,
    };
    match prefs::read(&edge.store, &claims) {
        Ok(p) => html(StatusCode::OK, render_preferences(&edge.store, &lang, &p, &token, false)),
        Err(e) => error_page(&lang, &e),
    }
}

fn render_preferences(store: &Store, look: &Look, p: &Preferences, token: &str, saved: bool) -> String {
    pages::preferences(look, p, &format!("/p/{token}"), &store.link_keys().form_token(token), saved)
}

async fn save_preferences(
    State(edge): State<Edge>,
    Extension(client): Extension<Peer>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (lang, claims) = match open_link(&edge.store, &token, LinkAction::Preferences, &headers) {
        Ok(opened) => opened,
        Err(page) => return *page,
    };
    let mut on = HashSet::new();
    let (mut form_token, mut all_off) = (String::new(), false);
    for (k, v) in form_urlencoded::parse(&body) {
        match &*k {
            "on" => {
                on.insert(v.into_owned());
            }
            "form_token" => form_token = v.into_owned(),
            "do" => all_off = v == "all_off",
            _ => {}
        }
    }
    if !edge.store.link_keys().form_token_ok(&token, &form_token) {
        return error_page(&lang, &EdgeError::Invalid);
    }
    let current = match prefs::read(&edge.store, &claims) {
        Ok(p) => p,
        Err(e) => return error_page(&lang, &e),
    };
    let wanted: Vec<(String, String, bool)> = current
        .items
        .iter()
        .map(|i| {
            let keep = if all_off {
                !i.commercial && i.subscribed
            } else {
                on.contains(&format!("{}/{}", i.purpose_id, i.topic_id))
            };
            (i.purpose_id.clone(), i.topic_id.clone(), keep)
        })
        .collect();
    match apply(&edge, &claims, &current, &wanted, &evidence(client, &headers)).await {
        Ok((p, _)) => html(StatusCode::OK, render_preferences(&edge.store, &lang, &p, &token, true)),
        Err(e) => error_page(&lang, &e),
    }
}

/// Writes every item whose wanted state differs from what the person receives now, and
/// nothing else: a request that changes nothing writes nothing (no revision, no history
/// event); an item already opted out is never written again. The changes count against
/// the link's contact point (`Limits::EDGE_LINK_CHANGES_PER_SEC`): a request that opts in
/// while its bucket is empty is refused whole, before anything is written. Returns the
/// preferences after, and how many changes were written.
async fn apply(
    edge: &Edge,
    claims: &LinkClaims,
    current: &Preferences,
    wanted: &[(String, String, bool)],
    evidence: &Evidence,
) -> Result<(Preferences, usize), EdgeError> {
    let mut plan = Vec::new();
    for (purpose_id, topic_id, subscribe) in wanted {
        let Some(item) = current.items.iter().find(|i| &i.purpose_id == purpose_id && &i.topic_id == topic_id) else {
            continue;
        };
        // A topic already opted in under a purpose opted out is not received, yet opting it
        // in again would change nothing: only its purpose can.
        let status = match (subscribe, item.subscribed) {
            (true, false) if !matches!(item.status, "pending" | "opted_in") => Status::OptedIn,
            (false, true) => Status::OptedOut,
            (false, false) if item.status == "pending" => Status::OptedOut,
            _ => continue,
        };
        plan.push((purpose_id, topic_id, status));
    }
    if plan.is_empty() {
        return Ok((current.clone(), 0));
    }
    let opts_in = plan.iter().any(|(_, _, status)| *status == Status::OptedIn);
    edge.link_writes
        .take(claims.contact, plan.len() as f64, !opts_in)
        .map_err(|wait| EdgeError::Busy { retry_after_secs: wait.as_secs_f64().ceil() as u64 })?;
    for (purpose_id, topic_id, status) in &plan {
        prefs::set(&edge.store, claims, purpose_id, topic_id, *status, Source::PreferenceCenter, evidence).await?;
    }
    Ok((prefs::read(&edge.store, claims)?, plan.len()))
}

// ---- JSON API -----------------------------------------------------------------------

fn api_error(e: &EdgeError) -> Response {
    let status = match e {
        EdgeError::Invalid => StatusCode::BAD_REQUEST,
        EdgeError::Expired | EdgeError::Gone => StatusCode::GONE,
        EdgeError::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
        EdgeError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    if let EdgeError::Storage(s) = e {
        tracing::error!(error = %s, "edge: storage failed");
    }
    let mut r = api_refusal(status, e.to_string());
    if let EdgeError::Busy { retry_after_secs } = e {
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
    r
}

fn api_refusal(status: StatusCode, error: String) -> Response {
    (status, Json(serde_json::json!({ "error": error }))).into_response()
}

/// The public keys that verify decision receipts (docs/receipts.md): anyone holding a
/// receipt may check it, so they are served without a key.
async fn receipt_keys(State(edge): State<Edge>) -> Response {
    let keys = edge.store.receipt_keys();
    let signing = keys.signing().id;
    let keys = keys.all().iter().map(|k| (u32::from(k.id), k.public_key(), k.id == signing));
    Json(consentd_client::receipt::keys_json(keys)).into_response()
}

async fn api_get(State(edge): State<Edge>, Path(token): Path<String>) -> Response {
    match verify(&edge.store, &token, LinkAction::Preferences).and_then(|c| prefs::read(&edge.store, &c)) {
        Ok(p) => Json(p).into_response(),
        Err(e) => api_error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct ApiChanges {
    changes: Vec<ApiChange>,
}

#[derive(Debug, Deserialize)]
struct ApiChange {
    purpose_id: String,
    #[serde(default)]
    topic_id: String,
    subscribed: bool,
}

/// The answer to a POST: the preferences after it, and how many changes it wrote (0 when
/// it asked for what already was).
#[derive(Serialize)]
struct ApiSaved<'a> {
    #[serde(flatten)]
    preferences: &'a Preferences,
    changes_written: usize,
}

/// Every change names an item of the page, each at most once: copies are refused rather
/// than merged, since two different answers for one item have no right one (and copies of
/// one answer were each written as a revision of their own).
fn validate_changes(current: &Preferences, changes: &[ApiChange]) -> Result<(), String> {
    let mut seen = HashSet::with_capacity(changes.len());
    for c in changes {
        if !current.items.iter().any(|i| i.purpose_id == c.purpose_id && i.topic_id == c.topic_id) {
            return Err(format!("unknown purpose/topic `{}/{}`", c.purpose_id, c.topic_id));
        }
        if !seen.insert((c.purpose_id.as_str(), c.topic_id.as_str())) {
            return Err(format!(
                "purpose/topic `{}/{}` appears more than once; send each at most once",
                c.purpose_id, c.topic_id
            ));
        }
    }
    Ok(())
}

async fn api_post(
    State(edge): State<Edge>,
    Extension(client): Extension<Peer>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refusal) = cross_site(&headers, &edge.origin) {
        return api_refusal(StatusCode::FORBIDDEN, refusal);
    }
    if !is_json(&headers) {
        return api_refusal(StatusCode::UNSUPPORTED_MEDIA_TYPE, "the body must be `application/json`".to_owned());
    }
    let claims = match verify(&edge.store, &token, LinkAction::Preferences) {
        Ok(c) => c,
        Err(e) => return api_error(&e),
    };
    let req: ApiChanges = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return api_refusal(StatusCode::BAD_REQUEST, format!("invalid body: {e}")),
    };
    if req.changes.len() > Limits::EDGE_CHANGES_MAX {
        return api_refusal(
            StatusCode::BAD_REQUEST,
            format!("at most {} changes per request", Limits::EDGE_CHANGES_MAX),
        );
    }
    let current = match prefs::read(&edge.store, &claims) {
        Ok(p) => p,
        Err(e) => return api_error(&e),
    };
    if let Err(error) = validate_changes(&current, &req.changes) {
        return api_refusal(StatusCode::BAD_REQUEST, error);
    }
    let wanted: Vec<_> = req.changes.into_iter().map(|c| (c.purpose_id, c.topic_id, c.subscribed)).collect();
    match apply(&edge, &claims, &current, &wanted, &evidence(client, &headers)).await {
        Ok((p, changes_written)) => Json(ApiSaved { preferences: &p, changes_written }).into_response(),
        Err(e) => api_error(&e),
    }
}

// ---- serving ------------------------------------------------------------------------

/// Serves the edge on `listener` until `drain` turns true, then lets the requests in flight
/// finish (`net::serve_http1`).
pub async fn serve(
    listener: TcpListener,
    store: Store,
    options: EdgeOptions,
    stats: Arc<ConnectionStats>,
    drain: crate::app::Until,
) {
    let app = router(store, &options);
    crate::net::serve_http1(listener, app, options.connections, stats, options.tls, drain).await;
}

/// `text` cut to at most `max` bytes, at a character boundary: the edge keeps what a
/// browser sent as proof within the same byte bound the gRPC API enforces.
pub(crate) fn clip(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_as_browsers_send_them() {
        assert_eq!(origin_of("https://Consent.Example.com/"), "https://consent.example.com");
        assert_eq!(origin_of("https://consent.example.com:443/x"), "https://consent.example.com");
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(origin_of("http://[::1]:80"), "http://[::1]");
    }

    #[test]
    fn other_sites_are_refused_and_clients_that_are_no_browser_are_not() {
        let own = "https://consent.example.com";
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            cross_site(&h, own)
        };
        assert_eq!(with(&[]), None);
        assert_eq!(with(&[("origin", "https://consent.example.com"), ("sec-fetch-site", "same-origin")]), None);
        assert!(with(&[("origin", "https://evil.example")]).is_some());
        assert!(with(&[("origin", "null")]).is_some());
        assert!(with(&[("sec-fetch-site", "cross-site")]).is_some());
        assert!(with(&[("sec-fetch-site", "same-site")]).is_some());
    }
}
