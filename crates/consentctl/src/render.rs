//! What consentctl prints: API messages as JSON values, shown as JSON lines (`--json`) or
//! as `path: value` lines for people.

use consentd_proto::pb;
use serde_json::{Value, json};

pub(crate) fn enum_name(upper: &str, prefix: &str) -> String {
    upper.strip_prefix(prefix).unwrap_or(upper).to_ascii_lowercase()
}

/// A time as RFC 3339 in UTC (`2026-01-15T10:32:00Z`), as people and JSON tools read it.
pub(crate) fn ts(t: &Option<prost_types::Timestamp>) -> Value {
    match t {
        Some(t) => json!(t.to_string()),
        None => Value::Null,
    }
}

/// A key's scopes by name (`check`, `write`, `admin`).
fn scope_names(scopes: &[i32]) -> Vec<String> {
    scopes
        .iter()
        .map(|s| match pb::ApiKeyScope::try_from(*s) {
            Ok(scope) => enum_name(scope.as_str_name(), "API_KEY_SCOPE_"),
            Err(_) => format!("unknown({s})"),
        })
        .collect()
}

pub(crate) fn record_json(r: &pb::ConsentRecord) -> Value {
    json!({
        "purpose": r.purpose_id,
        "topic": r.topic_id,
        "status": enum_name(pb::ConsentStatus::try_from(r.status).unwrap_or_default().as_str_name(), "CONSENT_STATUS_"),
        "occurred_at": ts(&r.occurred_at),
        "expires_at": ts(&r.expires_at),
        "revision": r.revision,
    })
}

pub(crate) fn result_json(r: &pb::ChangeResult) -> Value {
    json!({
        "outcome": enum_name(pb::ChangeOutcome::try_from(r.outcome).unwrap_or_default().as_str_name(), "CHANGE_OUTCOME_"),
        "revision": r.revision,
        "confirmation_token": r.confirmation_token,
        "confirmation_url": r.confirmation_url,
        "confirmation_expires_at": ts(&r.confirmation_expires_at),
        "replayed": r.replayed,
        "record": r.record.as_ref().map(record_json),
    })
}

pub(crate) fn profile_json(p: &pb::Profile) -> Value {
    json!({"profile_id": p.profile_id, "display_name": p.display_name, "default_region": p.default_region, "active": p.active})
}

pub(crate) fn purpose_json(p: &pb::Purpose) -> Value {
    let models: serde_json::Map<String, Value> = p
        .enforcement
        .iter()
        .map(|e| {
            (
                enum_name(pb::Channel::try_from(e.channel).unwrap_or_default().as_str_name(), "CHANNEL_"),
                json!(enum_name(
                    pb::EnforcementModel::try_from(e.model).unwrap_or_default().as_str_name(),
                    "ENFORCEMENT_MODEL_"
                )),
            )
        })
        .collect();
    json!({
        "profile_id": p.profile_id,
        "purpose_id": p.purpose_id,
        "kind": enum_name(pb::PurposeKind::try_from(p.kind).unwrap_or_default().as_str_name(), "PURPOSE_KIND_"),
        "enforcement": models,
        "active": p.active,
    })
}

pub(crate) fn key_json(k: &pb::ApiKey) -> Value {
    json!({"key_id": k.key_id, "description": k.description, "scopes": scope_names(&k.scopes), "profiles": k.profile_ids,
        "expires_at": ts(&k.expire_time), "revoked": k.revoked})
}

pub(crate) fn print(value: &Value, as_json: bool) {
    if as_json {
        println!("{value}");
        return;
    }
    fn walk(prefix: &str, v: &Value) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&p, v);
                }
            }
            Value::Array(items) if items.iter().all(|i| i.is_object()) && !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), item);
                }
            }
            Value::String(s) if s.is_empty() => {}
            Value::Null => {}
            other => println!("{prefix}: {}", other.to_string().trim_matches('"')),
        }
    }
    walk("", value);
}

pub(crate) fn topic_json(t: &pb::Topic) -> Value {
    json!({"profile_id": t.profile_id, "purpose_id": t.purpose_id, "topic_id": t.topic_id, "active": t.active})
}
