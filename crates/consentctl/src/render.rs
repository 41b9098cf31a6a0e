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

/// A policy simulation (a dry run): JSON as the API answers it, or a summary per group
/// with each change of reason and its samples.
pub(crate) fn print_simulation(r: &pb::SimulateCatalogChangeResponse, as_json: bool) {
    let channel = |c: i32| enum_name(pb::Channel::try_from(c).unwrap_or_default().as_str_name(), "CHANNEL_");
    let model =
        |m: i32| enum_name(pb::EnforcementModel::try_from(m).unwrap_or_default().as_str_name(), "ENFORCEMENT_MODEL_");
    let reason = |m: i32| match pb::Reason::try_from(m).unwrap_or_default() {
        pb::Reason::Unspecified => "REFUSED".to_owned(),
        r => r.as_str_name().trim_start_matches("REASON_").to_owned(),
    };
    if as_json {
        let value = json!({
            "dry_run": true,
            "revision": r.revision,
            "evaluate_time": ts(&r.evaluate_time),
            "populations": r.populations.iter().map(|p| json!({"channel": channel(p.channel), "contact_points": p.contact_points})).collect::<Vec<_>>(),
            "groups": r.groups.iter().map(|g| json!({
                "channel": channel(g.channel),
                "purpose_id": g.purpose_id,
                "topic_id": g.topic_id,
                "model_before": model(g.model_before),
                "model_after": if g.refused_because.is_empty() { json!(model(g.model_after)) } else { Value::Null },
                "refused_because": g.refused_because,
                "contact_points": g.contact_points,
                "send_before": g.send_before,
                "send_after": g.send_after,
                "decision_changed": g.decision_changed,
                "transitions": g.transitions.iter().map(|t| json!({
                    "from": reason(t.from_reason),
                    "to": reason(t.to_reason),
                    "contact_points": t.contact_points,
                    "samples": t.samples,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "notes": r.notes,
            "samples_truncated": r.samples_truncated,
        });
        println!("{value}");
        return;
    }
    println!("dry run: nothing was changed (as of revision {})", r.revision);
    let (held, empty): (Vec<&pb::SimulatedPopulation>, Vec<_>) =
        r.populations.iter().partition(|p| p.contact_points > 0);
    for p in held {
        println!(
            "{}: {} contact point{}",
            channel(p.channel),
            p.contact_points,
            if p.contact_points == 1 { "" } else { "s" }
        );
    }
    if !empty.is_empty() {
        let names: Vec<_> = empty.iter().map(|p| channel(p.channel)).collect();
        println!("{}: no contact points (the change applies there too; --json lists it)", names.join(", "));
    }
    for g in r.groups.iter().filter(|g| g.contact_points > 0) {
        let what =
            if g.topic_id.is_empty() { g.purpose_id.clone() } else { format!("{}/{}", g.purpose_id, g.topic_id) };
        let after = if g.refused_because.is_empty() {
            model(g.model_after)
        } else {
            format!("refused ({})", g.refused_because)
        };
        println!(
            "{} {what}: {} -> {after}: {} send before, {} after, {} change decision",
            channel(g.channel),
            model(g.model_before),
            g.send_before,
            g.send_after,
            g.decision_changed
        );
        for t in &g.transitions {
            let samples =
                if t.samples.is_empty() { String::new() } else { format!(" (e.g. {})", t.samples.join(", ")) };
            println!("  {} -> {}: {}{samples}", reason(t.from_reason), reason(t.to_reason), t.contact_points);
        }
    }
    for n in &r.notes {
        println!("note: {n}");
    }
    if r.samples_truncated {
        println!("note: samples stop at 10,000 in all; later groups have fewer");
    }
}
