//! `AdminService`'s webhook calls: the handlers (`AdminApi` delegates to them), validation,
//! the stored form, and what they answer. Deliveries are `crate::webhook`'s.

use tonic::{Request, Response, Status};

use super::auth::admin;
use super::convert;
use super::convert::mask_paths;
use super::error::not_found;
use super::error::{ApiError, ApiResult};
use super::pb;
use crate::config::Limits;
use crate::storage::webhook::{Expect, WebhookDef, WebhookSecret};
use crate::storage::{Refusal, StorageError, Store};
use crate::webhook::Webhooks;
use crate::webhook::{http, sign};

/// The updatable fields of a subscription.
pub const UPDATABLE: [&str; 6] = ["url", "profile_ids", "event_kinds", "personal_data", "description", "paused"];

/// How long a replaced secret keeps signing when the rotation names no time: a day.
pub const PREVIOUS_SECRET_TTL_SECS: i64 = 86_400;

/// The stored subscription `id`, or NOT_FOUND.
fn def_of(store: &Store, id: &str) -> ApiResult<WebhookDef> {
    store.webhook(id)?.ok_or_else(|| not_found(format!("webhook `{id}`")))
}

/// A subscription as the API shows it.
pub async fn to_pb(store: &Store, hooks: &Webhooks, def: &WebhookDef) -> ApiResult<pb::Webhook> {
    let (position, delivered_by) = hooks.position(def).await?;
    Ok(shown(store, def, position, delivered_by))
}

/// The answer to a write that is done: it must not fail now (a create's or rotation's
/// secret is shown once, and a retry would make a second subscription or rotate again).
/// When the delivery position cannot be read (in a cluster it is in NATS), the answer shows
/// where deliveries start without one, and who delivers is left empty.
async fn to_pb_written(store: &Store, hooks: &Webhooks, def: &WebhookDef) -> pb::Webhook {
    match hooks.position(def).await {
        Ok((position, delivered_by)) => shown(store, def, position, delivered_by),
        Err(e) => {
            tracing::warn!(webhook = %def.webhook_id, error = %e, "the answer shows no delivery position");
            shown(store, def, def.start_position(None), String::new())
        }
    }
}

fn shown(store: &Store, def: &WebhookDef, position: u64, delivered_by: String) -> pb::Webhook {
    let now = store.now_us().div_euclid(1_000_000);
    pb::Webhook {
        webhook_id: def.webhook_id.clone(),
        url: def.url.clone(),
        profile_ids: def.profile_ids.clone(),
        event_kinds: def.event_kinds.clone(),
        personal_data: def.personal_data,
        description: def.description.clone(),
        paused: def.paused,
        delivered_revision: position,
        lag_revisions: store.revision().saturating_sub(position),
        last_error: def.last_error.clone(),
        last_error_time: def.last_error_at.map(convert::ts_from_secs),
        create_time: Some(convert::ts_from_secs(def.created_at)),
        secrets: def.signing_secrets(now).count() as i32,
        delivered_by,
    }
}

/// Checks the caller's fields of a subscription and writes them into `def`.
pub fn apply_fields(store: &Store, def: &mut WebhookDef, w: pb::Webhook, paths: &[String]) -> ApiResult<()> {
    for path in paths {
        match path.as_str() {
            "url" => {
                http::Target::parse(&w.url, Limits::WEBHOOK_URL_BYTES_MAX)
                    .map_err(|why| ApiError::invalid("webhook.url", &w.url, why))?;
                def.url = w.url.clone();
            }
            "profile_ids" => {
                if w.profile_ids.len() > Limits::API_KEY_PROFILES_MAX {
                    return Err(ApiError::invalid_field(
                        "webhook.profile_ids",
                        format!("at most {} profiles", Limits::API_KEY_PROFILES_MAX),
                    ));
                }
                let catalog = store.catalog();
                for id in &w.profile_ids {
                    if catalog.profile(id).is_none() {
                        return Err(ApiError::invalid("webhook.profile_ids", id, "no such profile"));
                    }
                }
                def.profile_ids = w.profile_ids.clone();
            }
            "event_kinds" => {
                for k in &w.event_kinds {
                    match pb::WebhookEventKind::try_from(*k) {
                        Ok(pb::WebhookEventKind::Unspecified) | Err(_) => {
                            return Err(ApiError::invalid("webhook.event_kinds", &k.to_string(), "not an event kind"));
                        }
                        Ok(_) => {}
                    }
                }
                let mut kinds = w.event_kinds.clone();
                kinds.sort_unstable();
                kinds.dedup();
                def.event_kinds = kinds;
            }
            "personal_data" => def.personal_data = w.personal_data,
            "description" => {
                convert::text("webhook.description", &w.description, Limits::TEXT_BYTES_MAX)?;
                def.description = w.description.clone();
            }
            "paused" => {
                def.paused = w.paused;
                if !w.paused {
                    def.last_error.clear();
                    def.last_error_at = None;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A caller's secret, or a generated one: (key bytes, `whsec_...`).
pub fn secret_of(given: &str) -> ApiResult<(Vec<u8>, String)> {
    if given.is_empty() {
        let key = sign::generate();
        let text = sign::encode(&key);
        return Ok((key, text));
    }
    let key = sign::decode(given).map_err(|why| ApiError::invalid_field("secret", why))?;
    Ok((key, given.to_owned()))
}

/// A new subscription's id: `wh_` and 16 random hex digits.
pub fn new_id() -> String {
    format!("wh_{:016x}", rand::random::<u64>())
}

/// Secrets that sign at once, at most: the new one and the two before it (a rotation
/// during a rotation), so `webhook-signature` stays short.
pub const SECRETS_MAX: usize = 3;

/// A rotation: the new secret signs from now on, the current ones until `ttl` has passed.
pub fn rotate(def: &mut WebhookDef, key: Vec<u8>, now: i64, ttl_secs: i64) {
    for s in &mut def.secrets {
        let until = now.saturating_add(ttl_secs);
        s.not_after = Some(s.not_after.map_or(until, |t| t.min(until)));
    }
    // Secrets that no longer sign are forgotten, and the oldest beyond the cap.
    def.secrets.retain(|s| s.not_after.is_none_or(|t| now < t));
    let excess = (def.secrets.len() + 1).saturating_sub(SECRETS_MAX);
    def.secrets.drain(..excess);
    def.secrets.push(WebhookSecret { key, not_after: None });
}

/// A URL for the log: scheme, host and path, without a query (it may carry a token).
pub fn loggable(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// Attempts of a read-modify-write that meets a concurrent change before it answers ABORTED.
const ATTEMPTS: usize = 3;

pub async fn create(
    store: &Store,
    hooks: &Webhooks,
    req: Request<pb::CreateWebhookRequest>,
) -> Result<Response<pb::CreateWebhookResponse>, Status> {
    admin(&req)?.require_unrestricted()?;
    let pb::CreateWebhookRequest { webhook, secret } = req.into_inner();
    let webhook = webhook.ok_or_else(|| ApiError::invalid_field("webhook", "required"))?;
    if webhook.url.is_empty() {
        return Err(ApiError::invalid_field("webhook.url", "required").into());
    }
    let (key, secret) = secret_of(&secret)?;
    let mut def = WebhookDef {
        webhook_id: new_id(),
        created_at: store.now_us().div_euclid(1_000_000),
        secrets: vec![WebhookSecret { key, not_after: None }],
        generation: 1,
        // Deliveries start with the changes after this one.
        resume_from: Some(store.revision()),
        resume_generation: 1,
        ..Default::default()
    };
    let paths: Vec<String> = UPDATABLE.iter().map(|p| (*p).to_owned()).collect();
    apply_fields(store, &mut def, webhook, &paths)?;
    store.put_webhook(def.clone(), Expect::Absent).await.map_err(ApiError::from)?;
    tracing::info!(webhook = %def.webhook_id, url = %loggable(&def.url), "webhook subscription created");
    let webhook = Some(to_pb_written(store, hooks, &def).await);
    Ok(Response::new(pb::CreateWebhookResponse { webhook, secret }))
}

pub async fn list(
    store: &Store,
    hooks: &Webhooks,
    req: Request<pb::ListWebhooksRequest>,
) -> Result<Response<pb::ListWebhooksResponse>, Status> {
    admin(&req)?.require_unrestricted()?;
    let defs = store.webhooks().map_err(ApiError::from)?;
    let mut webhooks = Vec::with_capacity(defs.len());
    for def in &defs {
        webhooks.push(to_pb(store, hooks, def).await?);
    }
    Ok(Response::new(pb::ListWebhooksResponse { webhooks }))
}

/// Reads subscription `id`, changes it with `change` into a new generation and writes it if
/// no one else changed it meanwhile; tries again (reading it again) a few times.
async fn read_modify_write(
    store: &Store,
    id: &str,
    mut change: impl FnMut(&mut WebhookDef) -> ApiResult<()>,
) -> ApiResult<WebhookDef> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut def = def_of(store, id)?;
        let read = def.generation;
        change(&mut def)?;
        def.generation = read + 1;
        match store.put_webhook(def.clone(), Expect::Generation(read)).await {
            Ok(()) => return Ok(def),
            Err(StorageError::Refused(Refusal::Stale(_))) if attempt < ATTEMPTS => {}
            Err(e) => return Err(e.into()),
        }
    }
}

pub async fn update(
    store: &Store,
    hooks: &Webhooks,
    req: Request<pb::UpdateWebhookRequest>,
) -> Result<Response<pb::UpdateWebhookResponse>, Status> {
    admin(&req)?.require_unrestricted()?;
    let pb::UpdateWebhookRequest { webhook, update_mask, rotate_secret, secret, previous_secret_ttl } =
        req.into_inner();
    let webhook = webhook.ok_or_else(|| ApiError::invalid_field("webhook", "required"))?;
    // No mask and a rotation: only the rotation.
    let paths = if update_mask.is_none() && rotate_secret { Vec::new() } else { mask_paths(update_mask, &UPDATABLE)? };
    let rotation = if rotate_secret {
        let ttl = match previous_secret_ttl {
            None => PREVIOUS_SECRET_TTL_SECS,
            Some(d) if (0..=30 * 86_400).contains(&d.seconds) => d.seconds,
            Some(d) => {
                return Err(ApiError::invalid(
                    "previous_secret_ttl",
                    &format!("{}s", d.seconds),
                    "must be 0 to 30 days",
                )
                .into());
            }
        };
        Some((secret_of(&secret)?, ttl))
    } else if !secret.is_empty() {
        return Err(ApiError::invalid_field("secret", "only with rotate_secret").into());
    } else {
        None
    };
    let id = webhook.webhook_id.clone();
    let def = read_modify_write(store, &id, |def| {
        apply_fields(store, def, webhook.clone(), &paths)?;
        if let Some(((key, _), ttl)) = &rotation {
            rotate(def, key.clone(), store.now_us().div_euclid(1_000_000), *ttl);
        }
        Ok(())
    })
    .await?;
    let shown = rotation.map(|((_, text), _)| text).unwrap_or_default();
    let webhook = Some(to_pb_written(store, hooks, &def).await);
    Ok(Response::new(pb::UpdateWebhookResponse { webhook, secret: shown }))
}

pub async fn delete(
    store: &Store,
    hooks: &Webhooks,
    req: Request<pb::DeleteWebhookRequest>,
) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
    admin(&req)?.require_unrestricted()?;
    let pb::DeleteWebhookRequest { webhook_id } = req.into_inner();
    store.delete_webhook(&webhook_id).await.map_err(ApiError::from)?;
    hooks.forget(&webhook_id).await;
    tracing::info!(webhook = %webhook_id, "webhook subscription deleted");
    Ok(Response::new(pb::DeleteWebhookResponse {}))
}

pub async fn replay(
    store: &Store,
    hooks: &Webhooks,
    req: Request<pb::ReplayWebhookRequest>,
) -> Result<Response<pb::ReplayWebhookResponse>, Status> {
    admin(&req)?.require_unrestricted()?;
    let pb::ReplayWebhookRequest { webhook_id, from_revision } = req.into_inner();
    let head = store.revision();
    if from_revision == 0 || from_revision > head.saturating_add(1) {
        return Err(ApiError::invalid(
            "from_revision",
            &from_revision.to_string(),
            format!("must be 1 to {} (the next revision)", head.saturating_add(1)),
        )
        .into());
    }
    // A new generation that resumes after `from_revision - 1`: whichever task (and in a
    // cluster, whichever node) delivers it next starts there, once.
    let def = read_modify_write(store, &webhook_id, |def| {
        def.paused = false;
        def.last_error.clear();
        def.last_error_at = None;
        def.resume_from = Some(from_revision - 1);
        def.resume_generation = def.generation + 1;
        Ok(())
    })
    .await?;
    tracing::info!(webhook = %webhook_id, from_revision, "webhook replay");
    let mut shown = to_pb_written(store, hooks, &def).await;
    // Where the deliveries resume, once the task has restarted.
    shown.delivered_revision = from_revision - 1;
    shown.lag_revisions = head.saturating_sub(from_revision - 1);
    Ok(Response::new(pb::ReplayWebhookResponse { webhook: Some(shown) }))
}

pub async fn test(
    store: &Store,
    hooks: &Webhooks,
    req: Request<pb::TestWebhookRequest>,
) -> Result<Response<pb::TestWebhookResponse>, Status> {
    admin(&req)?.require_unrestricted()?;
    let pb::TestWebhookRequest { webhook_id } = req.into_inner();
    let def = def_of(store, &webhook_id)?;
    let message_id = format!("test_{:016x}", rand::random::<u64>());
    let (code, error) = hooks.test(&def, &message_id).await;
    Ok(Response::new(pb::TestWebhookResponse { status_code: i32::from(code), error, message_id }))
}
