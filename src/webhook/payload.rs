//! The JSON body of a delivery, schema `consentd.webhook.v1` (README, "Keeping other
//! systems in sync"): one change per message, named with the API's enum names in lower case
//! (`email`, `opted_out`, `preference_center`), times in RFC 3339 (UTC, microseconds).

use serde_json::{Value, json};

use consentd_proto::pb::WebhookEventKind;

use crate::storage::model::EventKind;
use crate::storage::view::Event;

pub const SCHEMA: &str = "consentd.webhook.v1";

/// The event kinds of the API (`WebhookEventKind`), as stored in a subscription.
pub fn kind_of(kind: EventKind) -> WebhookEventKind {
    use WebhookEventKind as K;
    match kind {
        EventKind::Consent => K::Consent,
        EventKind::Confirmation => K::Confirmation,
        EventKind::SuppressionAdded | EventKind::SuppressionLifted => K::Suppression,
        EventKind::Erased | EventKind::Reassigned => K::Life,
    }
}

pub fn rfc3339(us: i64) -> String {
    consentd_client::bulk::time::rfc3339_us(us)
}

/// The message's `type`.
fn type_of(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Consent => "consent.changed",
        EventKind::Confirmation => "consent.confirmed",
        EventKind::SuppressionAdded => "suppression.added",
        EventKind::SuppressionLifted => "suppression.lifted",
        EventKind::Erased => "contact_point.erased",
        EventKind::Reassigned => "contact_point.reassigned",
    }
}

/// The body for the change at `revision`. `contact_key`: the contact point's keyed hash
/// (hex), always sent; the contact point itself, the IP address and the user agent only
/// with `personal_data`.
pub fn body(revision: u64, event: &Event, contact_key: &str, personal_data: bool) -> Value {
    let mut data = json!({
        "profile_id": event.profile_id,
        "channel": event.channel.as_str(),
        "contact_key": contact_key,
        "purpose_id": event.purpose_id,
        "topic_id": event.topic_id,
        "source": event.source.as_str(),
        "actor": event.actor,
        "occurred_at": rfc3339(event.occurred_at_us),
        "recorded_at": rfc3339(event.recorded_at_us),
    });
    let set = |data: &mut Value, key: &str, value: Value| {
        if let Some(map) = data.as_object_mut() {
            map.insert(key.to_owned(), value);
        }
    };
    if personal_data {
        set(&mut data, "contact_point", json!(event.contact_point));
    }
    if let Some(status) = event.status {
        set(&mut data, "status", json!(status.as_str()));
    }
    if let Some(kind) = event.suppression_kind {
        set(&mut data, "suppression_kind", json!(kind.as_str()));
    }
    if let Some(expires) = event.expires_at {
        set(&mut data, "expires_at", json!(rfc3339(expires.saturating_mul(1_000_000))));
    }
    if let Some(at) = event.confirmed_at_us {
        set(&mut data, "confirmed_at", json!(rfc3339(at)));
    }
    // The proof's summary: which notice, and (with personal data) the click's evidence.
    if let Some(p) = &event.proof {
        let mut proof = json!({
            "notice_id": p.notice_id, "notice_version": p.notice_version, "notice_hash": p.notice_hash,
        });
        if personal_data && let Some(map) = proof.as_object_mut() {
            map.insert("ip_address".to_owned(), json!(p.ip_address));
            map.insert("user_agent".to_owned(), json!(p.user_agent));
        }
        set(&mut data, "proof", proof);
    }
    json!({
        "schema": SCHEMA,
        "type": type_of(event.kind),
        "revision": revision,
        "timestamp": rfc3339(event.recorded_at_us),
        "data": data,
    })
}
