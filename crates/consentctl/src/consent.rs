//! consentctl's one-record commands: set, get, history, check, suppressions, confirm, SMS
//! keywords and the change feed.

use std::io::Write;

use consentd_proto::pb;
use serde_json::{Value, json};

use crate::args::{
    ChannelArg, CheckArgs, ContactArgs, Deadline, LateOptOutsArgs, LinkField, MintLinksArgs, SetArgs, SuppressionCmd,
};
use crate::client::{Clients, Failure, exit};
use crate::render::{enum_name, print, record_json, result_json, ts};

pub(crate) async fn set(c: &Clients, a: SetArgs, j: bool) -> Result<u8, Failure> {
    let change = pb::ConsentChange {
        profile_id: a.contact.profile,
        channel: a.contact.channel.pb(),
        contact_point: a.contact.contact,
        purpose_id: a.purpose,
        topic_id: a.topic,
        status: a.status.pb(),
        occurred_at: a.occurred_at,
        source: a.source.pb(),
        reason: a.reason,
        ..Default::default()
    };
    // Every call carries a key, made here when none is given: a write that fails
    // UNAVAILABLE may still have been applied, and only a retry with the same key is safe
    // (it replays the first answer instead of writing twice). So the key is printed, on
    // success and with the failure.
    let idempotency_key = if a.idempotency_key.is_empty() { generated_idempotency_key() } else { a.idempotency_key };
    let r = c
        .consent()
        .set_consent(pb::SetConsentRequest { change: Some(change), idempotency_key: idempotency_key.clone() })
        .await
        .map_err(|status| {
            let mut f = Failure::from(status);
            f.message = format!("{} (idempotency key `{idempotency_key}`: to retry safely, run the same command with --idempotency-key {idempotency_key})", f.message);
            f
        })?
        .into_inner();
    let mut out = r.result.as_ref().map(result_json).unwrap_or_default();
    if let Value::Object(m) = &mut out {
        m.insert("idempotency_key".to_owned(), json!(idempotency_key));
    }
    print(&out, j);
    // A double opt-in waits for the recipient: say how it gets to them.
    if let Some(r) = r.result.as_ref().filter(|r| r.outcome == pb::ChangeOutcome::PendingConfirmation as i32)
        && !j
    {
        if r.confirmation_url.is_empty() {
            eprintln!(
                "the opt-in waits for the recipient's confirmation: send them the confirmation token (confirmed \
                 with `consentctl confirm TOKEN`), or start consentd with the HTTP edge (--http-addr \
                 and --public-url) to get a confirmation page's URL"
            );
        } else {
            eprintln!("the opt-in waits for the recipient's confirmation: send them {}", r.confirmation_url);
        }
    }
    Ok(exit::OK)
}

/// A fresh idempotency key for one `set`: `ctl-` and 128 random bits in hex.
fn generated_idempotency_key() -> String {
    let bits: u128 = rand::random();
    format!("ctl-{bits:032x}")
}

pub(crate) async fn get(c: &Clients, a: ContactArgs, j: bool) -> Result<u8, Failure> {
    let r = c
        .consent()
        .get_consent(pb::GetConsentRequest { profile_id: a.profile, channel: a.channel.pb(), contact_point: a.contact })
        .await?
        .into_inner();
    let suppressions: Vec<Value> = r
        .suppressions
        .iter()
        .map(|s| {
            json!({
                "kind": enum_name(pb::SuppressionKind::try_from(s.kind).unwrap_or_default().as_str_name(), "SUPPRESSION_KIND_"),
                "reason": s.reason,
                "revision": s.revision,
            })
        })
        .collect();
    print(
        &json!({
            "contact_point": r.contact_point,
            "revision": r.revision,
            "records": r.records.iter().map(record_json).collect::<Vec<_>>(),
            "suppressions": suppressions,
        }),
        j,
    );
    Ok(exit::OK)
}

/// Every page of the history; exit code 3 when the chain does not verify.
pub(crate) async fn history(c: &Clients, a: ContactArgs, j: bool) -> Result<u8, Failure> {
    let mut token = String::new();
    let mut events = Vec::new();
    let verification = loop {
        let r = c
            .consent()
            .get_history(pb::GetHistoryRequest {
                profile_id: a.profile.clone(),
                channel: a.channel.pb(),
                contact_point: a.contact.clone(),
                page_size: 1000,
                page_token: token,
            })
            .await?
            .into_inner();
        events.extend(r.events.iter().map(|e| {
            json!({
                "seq": e.seq,
                "kind": enum_name(pb::EventKind::try_from(e.kind).unwrap_or_default().as_str_name(), "EVENT_KIND_"),
                "applied": e.applied,
                "revision": e.revision,
                "purpose": e.purpose_id,
                "topic": e.topic_id,
                "status": enum_name(pb::ConsentStatus::try_from(e.status).unwrap_or_default().as_str_name(), "CONSENT_STATUS_"),
                "occurred_at": ts(&e.occurred_at),
                "recorded_at": ts(&e.recorded_at),
                "source": enum_name(pb::ChangeSource::try_from(e.source).unwrap_or_default().as_str_name(), "CHANGE_SOURCE_"),
                "actor": e.actor,
                // The evidence a change was recorded with (and a double opt-in's click).
                "proof": e.proof.as_ref().map(proof_json),
                "confirmation_proof": e.confirmation_proof.as_ref().map(proof_json),
                "hash": e.hash,
            })
        }));
        token = r.next_page_token;
        if token.is_empty() {
            break r.verification;
        }
    };
    let v = verification.unwrap_or_default();
    print(
        &json!({
            "events": events,
            "verification": {
                "intact": v.intact,
                "events_checked": v.events_checked,
                "first_broken_seq": v.first_broken_seq,
                "detail": v.detail,
            },
        }),
        j,
    );
    Ok(if v.intact { exit::OK } else { exit::FINDINGS })
}

/// One decision; exit code 10 when it is block.
pub(crate) async fn check(c: &Clients, a: CheckArgs, j: bool) -> Result<u8, Failure> {
    let (as_of, as_of_clock) = a.as_of.pb();
    let r = c
        .decision()
        .check(pb::CheckRequest {
            profile_id: a.contact.profile,
            channel: a.contact.channel.pb(),
            contact_point: a.contact.contact,
            purpose_id: a.purpose,
            topic_id: a.topic,
            min_revision: a.min_revision,
            as_of,
            as_of_clock,
        })
        .await?
        .into_inner();
    let send = r.decision == pb::Decision::Send as i32;
    print(
        &json!({
            "decision": if send { "send" } else { "block" },
            "reason": enum_name(pb::Reason::try_from(r.reason).unwrap_or_default().as_str_name(), "REASON_"),
            // Empty (and so not printed) unless the reason is SUPPRESSED.
            "suppression": match pb::SuppressionKind::try_from(r.suppression_kind).unwrap_or_default() {
                pb::SuppressionKind::Unspecified => String::new(),
                k => enum_name(k.as_str_name(), "SUPPRESSION_KIND_"),
            },
            "revision": r.revision,
        }),
        j,
    );
    Ok(if send { exit::OK } else { exit::BLOCKED })
}

pub(crate) async fn suppression(c: &Clients, cmd: SuppressionCmd, j: bool) -> Result<u8, Failure> {
    let (changed, revision) = match cmd {
        SuppressionCmd::Add(s) => {
            let r = c
                .consent()
                .add_suppression(pb::AddSuppressionRequest {
                    profile_id: s.contact.profile,
                    channel: s.contact.channel.pb(),
                    contact_point: s.contact.contact,
                    kind: s.kind.pb(),
                    reason: s.reason,
                    source: pb::ChangeSource::Admin as i32,
                    occurred_at: None,
                    validate_only: false,
                })
                .await?
                .into_inner();
            (r.changed, r.revision)
        }
        SuppressionCmd::Lift(s) => {
            let r = c
                .consent()
                .lift_suppression(pb::LiftSuppressionRequest {
                    profile_id: s.contact.profile,
                    channel: s.contact.channel.pb(),
                    contact_point: s.contact.contact,
                    kind: s.kind.pb(),
                    reason: s.reason,
                    source: pb::ChangeSource::Admin as i32,
                    occurred_at: None,
                })
                .await?
                .into_inner();
            (r.changed, r.revision)
        }
    };
    print(&json!({"changed": changed, "revision": revision}), j);
    Ok(exit::OK)
}

pub(crate) async fn confirm(
    c: &Clients,
    token: String,
    ip: String,
    user_agent: String,
    j: bool,
) -> Result<u8, Failure> {
    let r = c
        .consent()
        .confirm_opt_in(pb::ConfirmOptInRequest { token, ip_address: ip, user_agent, occurred_at: None })
        .await?
        .into_inner();
    print(&r.result.as_ref().map(result_json).unwrap_or_default(), j);
    Ok(exit::OK)
}

pub(crate) async fn sms(c: &Clients, profile: String, from: String, body: String, j: bool) -> Result<u8, Failure> {
    let r = c
        .consent()
        .handle_inbound_sms(pb::HandleInboundSmsRequest {
            profile_id: profile,
            from_number: from,
            body,
            occurred_at: None,
        })
        .await?
        .into_inner();
    print(
        &json!({
            "keyword_class": enum_name(pb::KeywordClass::try_from(r.keyword_class).unwrap_or_default().as_str_name(), "KEYWORD_CLASS_"),
            "keyword": r.keyword,
            "changed": r.changed,
            "revision": r.revision,
        }),
        j,
    );
    Ok(exit::OK)
}

/// Tails the change feed as JSON lines until the server ends the stream.
pub(crate) async fn watch(c: &Clients, after: u64, profile_ids: Vec<String>) -> Result<u8, Failure> {
    let mut stream =
        c.consent().watch_changes(pb::WatchChangesRequest { after_revision: after, profile_ids }).await?.into_inner();
    while let Some(ch) = stream.message().await? {
        let e = ch.event.unwrap_or_default();
        let line = json!({
                "revision": ch.revision,
                "profile_id": ch.profile_id,
                "channel": enum_name(pb::Channel::try_from(ch.channel).unwrap_or_default().as_str_name(), "CHANNEL_"),
                "contact_point": ch.contact_point,
                "kind": enum_name(pb::EventKind::try_from(e.kind).unwrap_or_default().as_str_name(), "EVENT_KIND_"),
                "purpose": e.purpose_id,
                "topic": e.topic_id,
                "status": enum_name(pb::ConsentStatus::try_from(e.status).unwrap_or_default().as_str_name(), "CONSENT_STATUS_"),
                "occurred_at": ts(&e.occurred_at),
            })
            .to_string();
        // A reader that has seen enough (`| head`) closes the pipe: that ends the tail.
        if let Err(e) = writeln!(std::io::stdout(), "{line}") {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(exit::OK);
            }
            return Err(crate::files::io_err("watch", e));
        }
    }
    Ok(exit::OK)
}

/// The deadline of `channel`: as given, else the rule senders face on it.
fn deadline_of(given: &[(ChannelArg, Deadline)], channel: pb::Channel) -> Deadline {
    if let Some((_, d)) = given.iter().find(|(c, _)| c.pb() == channel as i32) {
        return *d;
    }
    match channel {
        pb::Channel::Sms | pb::Channel::Whatsapp | pb::Channel::Voice => Deadline::BusinessDays(10),
        _ => Deadline::Hours(48),
    }
}

/// The moment `deadline` after `occurred_s` (Unix seconds, UTC): business days count
/// Monday to Friday, each a whole day later.
pub(crate) fn due(occurred_s: i64, deadline: Deadline) -> i64 {
    const DAY: i64 = 86_400;
    match deadline {
        Deadline::Hours(h) => occurred_s + i64::from(h) * 3600,
        Deadline::BusinessDays(n) => {
            let (mut at, mut left) = (occurred_s, n);
            while left > 0 {
                at += DAY;
                // 1970-01-01 was a Thursday: day 0 is weekday 4 with Sunday as 0.
                let weekday = (at.div_euclid(DAY) + 4).rem_euclid(7);
                if (1..=5).contains(&weekday) {
                    left -= 1;
                }
            }
            at
        }
    }
}

/// Opt-outs recorded after their deadline, read from the change feed up to the revision the
/// server had applied when the report started.
pub(crate) async fn late_opt_outs(c: &Clients, a: LateOptOutsArgs) -> Result<u8, Failure> {
    let until = c.admin().get_server_info(pb::GetServerInfoRequest {}).await?.into_inner().revision;
    let since = a.since.map_or(i64::MIN, |t| t.seconds);
    let (mut read, mut late) = (0u64, 0u64);
    if until > 0 {
        let request = pb::WatchChangesRequest { after_revision: 0, profile_ids: a.profile.clone() };
        let mut stream = c.consent().watch_changes(request).await?.into_inner();
        // The feed is a tail: it ends here at the revision read first, or once it has been
        // quiet a while (the last changes may be of profiles this report does not read).
        let quiet = std::time::Duration::from_secs(3);
        while let Ok(next) = tokio::time::timeout(quiet, stream.message()).await {
            let Some(ch) = next? else { break };
            let e = ch.event.unwrap_or_default();
            let opt_out = match pb::EventKind::try_from(e.kind) {
                Ok(pb::EventKind::Consent) => e.status == pb::ConsentStatus::OptedOut as i32,
                Ok(pb::EventKind::SuppressionAdded) => e.suppression_kind != pb::SuppressionKind::HardBounce as i32,
                _ => false,
            };
            let (occurred, recorded) = (e.occurred_at.unwrap_or_default(), e.recorded_at.unwrap_or_default());
            if opt_out && recorded.seconds >= since {
                read += 1;
                let channel = pb::Channel::try_from(ch.channel).unwrap_or_default();
                let deadline = deadline_of(&a.deadlines, channel);
                let due_s = due(occurred.seconds, deadline);
                if recorded.seconds > due_s {
                    late += 1;
                    let line = json!({
                        "revision": ch.revision,
                        "profile_id": ch.profile_id,
                        "channel": enum_name(channel.as_str_name(), "CHANNEL_"),
                        "contact_point": ch.contact_point,
                        "kind": enum_name(pb::EventKind::try_from(e.kind).unwrap_or_default().as_str_name(), "EVENT_KIND_"),
                        "purpose": e.purpose_id,
                        "topic": e.topic_id,
                        "source": enum_name(pb::ChangeSource::try_from(e.source).unwrap_or_default().as_str_name(), "CHANGE_SOURCE_"),
                        "occurred_at": ts(&e.occurred_at),
                        "recorded_at": ts(&e.recorded_at),
                        "late_by_hours": ((recorded.seconds - due_s) as f64 / 3600.0 * 10.0).round() / 10.0,
                        "deadline": match deadline {
                            Deadline::Hours(h) => format!("{h}h"),
                            Deadline::BusinessDays(d) => format!("{d}bd"),
                        },
                    });
                    if let Err(err) = writeln!(std::io::stdout(), "{line}") {
                        if err.kind() == std::io::ErrorKind::BrokenPipe {
                            return Ok(exit::FINDINGS);
                        }
                        return Err(crate::files::io_err("report", err));
                    }
                }
            }
            if ch.revision >= until {
                break;
            }
        }
    }
    eprintln!("{late} late of {read} opt-outs recorded since then, up to revision {until}");
    let exposed = match &a.receipts {
        Some(dir) => {
            let n = crate::proof::exposed_sends(c, dir, since).await?;
            eprintln!("{n} sends allowed by kept receipts before an opt-out made earlier was recorded");
            n
        }
        None => 0,
    };
    Ok(if late > 0 || exposed > 0 { exit::FINDINGS } else { exit::OK })
}

/// The links of one recipient, from `DecisionService.MintLinks`.
pub(crate) async fn mint_links(c: &Clients, a: MintLinksArgs, j: bool) -> Result<u8, Failure> {
    let r = c
        .decision()
        .mint_links(pb::MintLinksRequest {
            profile_id: a.contact.profile,
            channel: a.contact.channel.pb(),
            contact_point: a.contact.contact,
            purpose_id: a.purpose,
            topic_id: a.topic,
        })
        .await?
        .into_inner();
    // The JSON API reads the preference center's token.
    let api_url = r.preferences_url.replacen("/p/", "/api/v1/preferences/", 1);
    let value = |f: LinkField| match f {
        LinkField::UnsubscribeUrl => r.unsubscribe_url.as_str(),
        LinkField::ListUnsubscribe => r.list_unsubscribe.as_str(),
        LinkField::ListUnsubscribePost => r.list_unsubscribe_post.as_str(),
        LinkField::PreferencesUrl => r.preferences_url.as_str(),
        LinkField::PreferencesApiUrl => api_url.as_str(),
    };
    match a.print {
        Some(f) => println!("{}", value(f)),
        None => print(
            &json!({
                "unsubscribe_url": value(LinkField::UnsubscribeUrl),
                "list_unsubscribe": value(LinkField::ListUnsubscribe),
                "list_unsubscribe_post": value(LinkField::ListUnsubscribePost),
                "preferences_url": value(LinkField::PreferencesUrl),
                "preferences_api_url": value(LinkField::PreferencesApiUrl),
            }),
            j,
        ),
    }
    Ok(exit::OK)
}

/// A change's proof, its empty fields left out.
fn proof_json(p: &pb::Proof) -> Value {
    let pb::Proof { ip_address, user_agent, notice_id, notice_version, notice_hash, notice_text } = p;
    let fields = [
        ("ip_address", ip_address),
        ("user_agent", user_agent),
        ("notice_id", notice_id),
        ("notice_version", notice_version),
        ("notice_hash", notice_hash),
        ("notice_text", notice_text),
    ];
    Value::Object(fields.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| ((*k).to_owned(), json!(v))).collect())
}

/// What the server is: version, applied revision, cluster mode.
pub(crate) async fn server_info(c: &Clients, j: bool) -> Result<u8, Failure> {
    let pb::GetServerInfoResponse {
        version,
        revision,
        cluster,
        cluster_entries_skipped,
        cluster_last_skipped_seq,
        cluster_last_skipped_reason,
        receipt_keys,
    } = c.admin().get_server_info(pb::GetServerInfoRequest {}).await?.into_inner();
    let signing = receipt_keys.iter().find(|k| k.signing).map_or(0, |k| k.id);
    let mut info = json!({"version": version, "revision": revision, "cluster": cluster, "receipt_key": signing});
    if cluster {
        // An alert when not 0: entries something other than a cluster node published.
        info["cluster_entries_skipped"] = json!(cluster_entries_skipped);
        if cluster_last_skipped_seq > 0 {
            info["cluster_last_skipped_seq"] = json!(cluster_last_skipped_seq);
            info["cluster_last_skipped_reason"] = json!(cluster_last_skipped_reason);
        }
    }
    print(&info, j);
    Ok(exit::OK)
}

/// The digest of the whole state; equal on every node of a cluster at the same revision.
pub(crate) async fn digest(c: &Clients, min_revision: u64, j: bool) -> Result<u8, Failure> {
    let r = c.admin().get_state_digest(pb::GetStateDigestRequest { min_revision }).await?.into_inner();
    print(&json!({"revision": r.revision, "digest": r.digest, "keys": r.keys}), j);
    Ok(exit::OK)
}

/// `health`: the gRPC health check's answer for the whole server or one service.
pub(crate) async fn health(c: &Clients, service: String, j: bool) -> Result<u8, Failure> {
    let mut client = tonic_health::pb::health_client::HealthClient::new(c.channel.clone());
    let r = client.check(tonic_health::pb::HealthCheckRequest { service: service.clone() }).await?.into_inner();
    let status = tonic_health::pb::health_check_response::ServingStatus::try_from(r.status).unwrap_or_default();
    let name = enum_name(status.as_str_name(), "");
    print(
        &json!({"service": if service.is_empty() { "(the whole server)" } else { service.as_str() }, "status": name}),
        j,
    );
    Ok(if status == tonic_health::pb::health_check_response::ServingStatus::Serving { exit::OK } else { exit::FAILURE })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_days_skip_weekends() {
        // Friday 2026-03-06 12:00 UTC.
        let friday = 1_772_798_400;
        assert_eq!(due(friday, Deadline::Hours(48)), friday + 2 * 86_400);
        // One business day after Friday is Monday; ten is the Friday two weeks on.
        assert_eq!(due(friday, Deadline::BusinessDays(1)), friday + 3 * 86_400);
        assert_eq!(due(friday, Deadline::BusinessDays(10)), friday + 14 * 86_400);
        // From a Saturday, the first business day is Monday.
        assert_eq!(due(friday + 86_400, Deadline::BusinessDays(1)), friday + 3 * 86_400);
    }
}
