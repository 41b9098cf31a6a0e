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
//! address is rate limited; bodies are capped. Connections go through `net::accept`, so the
//! edge has the gRPC listener's connection cap, deadlines and TLS (HTTP/1.1 by ALPN).
//!
//! Longer than most files because it holds every route's handler: each is a short
//! translation between HTTP and `prefs`/`pages`, and reading them side by side is how one
//! checks that no GET writes and every POST verifies its token first.

mod limit;
pub mod links;
pub mod pages;
pub mod prefs;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use axum::{Extension, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tonic::transport::server::Connected;

use self::limit::RateLimiter;
use self::pages::{Lang, Look};
use self::prefs::{EdgeError, Evidence, Preferences};
use crate::config::Limits;
use crate::decision::Status;
use crate::net::{ConnectionLimits, ConnectionStats};
use crate::storage::link::{LinkAction, LinkClaims, LinkError};
use crate::storage::model::{Confirmation, Source};
use crate::storage::token::TokenError;
use crate::storage::{StorageError, Store};

/// The client's address, put into each request by the connection it came on.
#[derive(Clone, Copy, Debug)]
struct ClientAddr(Option<SocketAddr>);

#[derive(Clone)]
struct Edge {
    store: Store,
    limiter: Arc<RateLimiter>,
}

/// The edge's routes, with their limits and headers.
fn router(store: Store) -> Router {
    let edge = Edge { store, limiter: Arc::new(RateLimiter::new()) };
    Router::new()
        .route("/u/{token}", get(unsubscribe_page).post(unsubscribe))
        .route("/c/{token}", get(confirm_page).post(confirm))
        .route("/p/{token}", get(preferences_page).post(save_preferences))
        .route("/api/v1/preferences/{token}", get(api_get).post(api_post))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .layer(axum::middleware::from_fn_with_state(edge.clone(), guard))
        .layer(DefaultBodyLimit::max(Limits::EDGE_BODY_BYTES_MAX))
        .with_state(edge)
}

/// Rate limit per client address, then the security headers on every answer.
async fn guard(
    State(edge): State<Edge>,
    Extension(client): Extension<ClientAddr>,
    req: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> Response {
    let lang = Lang::negotiate(req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()), Lang::En);
    let look = Look { lang, color: None };
    let mut response = match client.0.map(|a| a.ip()) {
        Some(ip) if !edge.limiter.allow(ip) => {
            let t = pages::texts(lang);
            let mut r =
                (StatusCode::TOO_MANY_REQUESTS, Html(pages::message(&look, t.busy_title, t.busy_body))).into_response();
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        _ => next.run(req).await,
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

fn evidence(client: ClientAddr, headers: &HeaderMap) -> Evidence {
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
        EdgeError::Storage(StorageError::TokenUsed) => (StatusCode::CONFLICT, t.used_title, t.used_body),
        EdgeError::Storage(StorageError::Token(TokenError::Expired)) => {
            (StatusCode::GONE, t.expired_title, t.expired_body)
        }
        EdgeError::Storage(StorageError::Token(_)) => (StatusCode::BAD_REQUEST, t.invalid_title, t.invalid_body),
        EdgeError::Storage(StorageError::Deactivated(_)) => (StatusCode::GONE, t.used_title, t.used_body),
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
    Extension(client): Extension<ClientAddr>,
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
    let t = pages::texts(lang.lang);
    html(StatusCode::OK, pages::message(&lang, t.unsubscribed_title, t.unsubscribed_body))
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
    Extension(client): Extension<ClientAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let profile = edge.store.token_profile(&token).ok().flatten();
    let lang = language(&edge.store, profile.as_deref(), &headers);
    let ev = evidence(client, &headers);
    let confirmation = Confirmation {
        token,
        ip_address: ev.ip,
        user_agent: ev.user_agent.chars().take(Limits::TEXT_CHARS_MAX).collect(),
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
    Extension(client): Extension<ClientAddr>,
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
    match apply(&edge.store, &claims, &current, &wanted, &evidence(client, &headers)).await {
        Ok(p) => html(StatusCode::OK, render_preferences(&edge.store, &lang, &p, &token, true)),
        Err(e) => error_page(&lang, &e),
    }
}

/// Writes every item whose wanted state differs from what the person receives now; an
/// item already opted out is never written again.
async fn apply(
    store: &Store,
    claims: &LinkClaims,
    current: &Preferences,
    wanted: &[(String, String, bool)],
    evidence: &Evidence,
) -> Result<Preferences, EdgeError> {
    for (purpose_id, topic_id, subscribe) in wanted {
        let Some(item) = current.items.iter().find(|i| &i.purpose_id == purpose_id && &i.topic_id == topic_id) else {
            continue;
        };
        let status = match (subscribe, item.subscribed) {
            (true, false) if item.status != "pending" => Status::OptedIn,
            (false, true) => Status::OptedOut,
            (false, false) if item.status == "pending" => Status::OptedOut,
            _ => continue,
        };
        prefs::set(store, claims, purpose_id, topic_id, status, Source::PreferenceCenter, evidence).await?;
    }
    prefs::read(store, claims)
}

// ---- JSON API -----------------------------------------------------------------------

fn api_error(e: &EdgeError) -> Response {
    let status = match e {
        EdgeError::Invalid => StatusCode::BAD_REQUEST,
        EdgeError::Expired | EdgeError::Gone => StatusCode::GONE,
        EdgeError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    if let EdgeError::Storage(s) = e {
        tracing::error!(error = %s, "edge: storage failed");
    }
    (status, Json(serde_json::json!({ "error": e.to_string() }))).into_response()
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

async fn api_post(
    State(edge): State<Edge>,
    Extension(client): Extension<ClientAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let claims = match verify(&edge.store, &token, LinkAction::Preferences) {
        Ok(c) => c,
        Err(e) => return api_error(&e),
    };
    let req: ApiChanges = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": format!("invalid body: {e}") })))
                .into_response();
        }
    };
    if req.changes.len() > Limits::EDGE_CHANGES_MAX {
        let error = format!("at most {} changes per request", Limits::EDGE_CHANGES_MAX);
        return (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": error }))).into_response();
    }
    let current = match prefs::read(&edge.store, &claims) {
        Ok(p) => p,
        Err(e) => return api_error(&e),
    };
    for c in &req.changes {
        if !current.items.iter().any(|i| i.purpose_id == c.purpose_id && i.topic_id == c.topic_id) {
            let error = format!("unknown purpose/topic `{}/{}`", c.purpose_id, c.topic_id);
            return (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": error }))).into_response();
        }
    }
    let wanted: Vec<_> = req.changes.into_iter().map(|c| (c.purpose_id, c.topic_id, c.subscribed)).collect();
    match apply(&edge.store, &claims, &current, &wanted, &evidence(client, &headers)).await {
        Ok(p) => Json(p).into_response(),
        Err(e) => api_error(&e),
    }
}

// ---- serving ------------------------------------------------------------------------

/// Serves the edge on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    store: Store,
    limits: ConnectionLimits,
    stats: Arc<ConnectionStats>,
    tls: Option<Arc<crate::tls::ReloadingTls>>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let app = router(store);
    let mut incoming = crate::net::accept(listener, limits, stats, tls);
    loop {
        let conn = tokio::select! {
            c = incoming.next() => c,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let Some(Ok(conn)) = conn else {
            if conn.is_none() {
                return;
            }
            continue;
        };
        let client = ClientAddr(conn.connect_info().remote_addr());
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(client);
                let app = app.clone();
                async move { tower::ServiceExt::oneshot(app, req).await }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10))
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(conn), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(error = %e, "edge connection ended with an error");
            }
        });
    }
}
