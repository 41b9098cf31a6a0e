//! `AdminService`'s webhook calls: validation, the stored form, and what they answer.
//! Deliveries are `crate::webhook`'s.

use super::convert;
use super::error::{ApiError, ApiResult};
use super::pb;
use crate::config::Limits;
use crate::storage::Store;
use crate::storage::webhook::{WebhookDef, WebhookSecret};
use crate::webhook::{http, sign};

/// The updatable fields of a subscription.
pub const UPDATABLE: [&str; 6] = ["url", "profile_ids", "event_kinds", "personal_data", "description", "paused"];

/// How long a replaced secret keeps signing when the rotation names no time: a day.
pub const PREVIOUS_SECRET_TTL_SECS: i64 = 86_400;

/// A subscription as the API shows it.
pub fn to_pb(store: &Store, def: &WebhookDef) -> ApiResult<pb::Webhook> {
    let position = store.webhook_position(&def.webhook_id)?;
    let now = store.now_us().div_euclid(1_000_000);
    Ok(pb::Webhook {
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
    })
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
