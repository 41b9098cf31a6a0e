//! A contact point's life (DECISION-RULES.md): erasure at its owner's request, and phone
//! numbers reported as permanently disconnected. Each fans out into one change per channel
//! (and, for a number, per profile): the store changes one contact point at a time, each with
//! a revision of its own, so the change feed and the fence see every one of them.

use futures_util::future::join_all;

use super::ConsentApi;
use super::change::contact_ref;
use crate::api::auth::Principal;
use crate::api::convert;
use crate::api::error::{ApiError, ApiResult};
use crate::api::pb;
use crate::contact;
use crate::decision::{Channel, DoubleOptInMode, Status, Subject, SuppressionKind};
use crate::storage::model::{ConsentChange, ContactRef, LifeChange, LifeEvent, Source, SuppressionChange};

/// Numbers one `ReportReassignedNumbers` request may carry.
pub const REASSIGNED_NUMBERS_MAX: usize = 1000;

impl ConsentApi {
    pub(super) async fn erase(
        &self,
        principal: &Principal,
        req: pb::EraseContactPointRequest,
    ) -> ApiResult<pb::EraseContactPointResponse> {
        let pb::EraseContactPointRequest { profile_id, channel, contact_point } = req;
        principal.may(&profile_id)?;
        // A deactivated profile still answers its erasure requests.
        let catalog = self.store.catalog();
        let profile = catalog.profile(&profile_id).ok_or_else(|| {
            ApiError::invalid("profile_id", &profile_id, format!("profile `{profile_id}` does not exist"))
        })?;
        let channel = convert::channel("channel", channel)?;
        let kind = channel.contact_kind();
        let normalized = contact::normalize(kind, &contact_point, profile.default_region.as_deref())
            .map_err(|e| ApiError::invalid("contact_point", &contact_point, e))?;
        let channels: Vec<Channel> = Channel::of_kind(kind).collect();
        // Sent together: one write group, and one scrub of the directory's files for all.
        let answers = join_all(channels.iter().map(|channel| {
            let change = LifeChange {
                profile_id: profile_id.clone(),
                channel: *channel,
                key: self.store.contact_key(&profile_id, *channel, normalized.as_str()),
                event: LifeEvent::Erase,
                source: Source::Api,
                actor: principal.key_id.clone(),
            };
            self.store.set_life(change)
        }))
        .await;
        let mut revision = 0;
        for answer in answers {
            revision = revision.max(answer?.revision);
        }
        Ok(pb::EraseContactPointResponse {
            channels: channels.into_iter().map(|c| convert::channel_to_pb(c) as i32).collect(),
            revision,
        })
    }

    /// Copies the records and the person's own suppressions of `from` to `to` on every
    /// channel of their kind, as changes with their original times (so the ordering rules
    /// decide against what `to` holds already, and a repeat is superseded), then suppresses
    /// `from` with kind `moved`. Pending opt-ins stay behind: their tokens name `from`.
    pub(super) async fn move_contact(
        &self,
        principal: &Principal,
        req: pb::MoveContactPointRequest,
    ) -> ApiResult<pb::MoveContactPointResponse> {
        let pb::MoveContactPointRequest { profile_id, channel, from, to, proof, occurred_at, source } = req;
        let catalog = self.store.catalog();
        let from_ref = contact_ref(&catalog, principal, "", &profile_id, channel, &from)
            .map_err(|e| e.renamed("contact_point", "from"))?;
        let to_ref = contact_ref(&catalog, principal, "", &profile_id, channel, &to)
            .map_err(|e| e.renamed("contact_point", "to"))?;
        if from_ref.contact_point == to_ref.contact_point {
            return Err(ApiError::invalid("to", &to, "is the contact point it moves from"));
        }
        let proof = convert::proof("proof", proof)?;
        let now_us = self.store.now_us();
        let occurred_at_us = convert::occurred_at("occurred_at", occurred_at, now_us)?;
        let source = convert::source("source", source)?;
        let kind = from_ref.channel.contact_kind();
        let channels: Vec<Channel> = Channel::of_kind(kind).collect();
        let (mut moved, mut suppressed, mut revision) = (0u32, false, 0u64);
        for channel in &channels {
            let at = |r: &ContactRef| ContactRef { channel: *channel, ..r.clone() };
            let (from_c, to_c) = (at(&from_ref), at(&to_ref));
            let key = self.store.contact_key(&profile_id, *channel, &from_c.contact_point);
            let Some(stored) = self.store.get_contact(&key)? else { continue };
            let reason = format!("moved from {}", from_c.contact_point);
            for r in stored.records.iter().filter(|r| r.status != Status::Pending) {
                let (Ok(purpose_no), Ok(topic_no)) = (u16::try_from(r.purpose_no), u16::try_from(r.topic_no)) else {
                    continue;
                };
                let Some(purpose) = catalog.purpose_by_no(purpose_no) else { continue };
                let topic_id = match topic_no {
                    0 => String::new(),
                    no => match catalog.topic_by_no(no) {
                        Some(t) => t.id.clone(),
                        None => continue,
                    },
                };
                let change = ConsentChange {
                    contact: to_c.clone(),
                    purpose_id: purpose.id.clone(),
                    topic_id,
                    subject: Subject { purpose: purpose_no, topic: topic_no },
                    status: r.status,
                    occurred_at_us: r.occurred_at_us,
                    // The source of the consent moved, so the proof says how it was given.
                    source: r.source,
                    actor: principal.key_id.clone(),
                    reason: reason.clone(),
                    proof: proof.clone(),
                    expires_at: r.expires_at,
                    // Consent verified on the old address is not asked for again.
                    double_opt_in: DoubleOptInMode::Off,
                    confirmation_validity_secs: 0,
                    idempotency: None,
                };
                let result = self.store.set_consent(change).await?;
                if result.outcome != crate::storage::model::ChangeOutcome::Superseded {
                    moved += 1;
                }
                revision = revision.max(result.revision);
            }
            let objections = [SuppressionKind::SmsStop, SuppressionKind::SpamComplaint, SuppressionKind::Manual];
            for s in stored.suppressions.iter().filter(|s| s.active && objections.contains(&s.kind)) {
                let change = SuppressionChange {
                    contact: to_c.clone(),
                    kind: s.kind,
                    add: true,
                    occurred_at_us: s.occurred_at_us,
                    source,
                    actor: principal.key_id.clone(),
                    reason: reason.clone(),
                };
                let r = self.store.set_suppression(change).await?;
                moved += u32::from(r.changed);
                revision = revision.max(r.revision);
            }
            let change = SuppressionChange {
                contact: from_c,
                kind: SuppressionKind::Moved,
                add: true,
                occurred_at_us,
                source,
                actor: principal.key_id.clone(),
                reason: format!("moved to {}", to_c.contact_point),
            };
            let r = self.store.set_suppression(change).await?;
            suppressed |= r.changed;
            revision = revision.max(r.revision);
        }
        Ok(pb::MoveContactPointResponse {
            channels: channels.into_iter().map(|c| convert::channel_to_pb(c) as i32).collect(),
            moved,
            suppressed,
            revision,
        })
    }

    pub(super) async fn report_reassigned(
        &self,
        principal: &Principal,
        req: pb::ReportReassignedNumbersRequest,
    ) -> ApiResult<pb::ReportReassignedNumbersResponse> {
        let pb::ReportReassignedNumbersRequest { numbers, default_region } = req;
        if numbers.len() > REASSIGNED_NUMBERS_MAX {
            return Err(ApiError::invalid(
                "numbers",
                &numbers.len().to_string(),
                format!("at most {REASSIGNED_NUMBERS_MAX} numbers per request"),
            ));
        }
        let region = (!default_region.is_empty()).then_some(default_region.as_str());
        if let Some(r) = region
            && !(r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(ApiError::invalid("default_region", r, "an ISO 3166-1 alpha-2 region, e.g. `US`"));
        }
        let catalog = self.store.catalog();
        // Every profile this key may write, active or not: a deactivated profile's records
        // must not come back to life with the previous owner's consent either.
        let profiles: Vec<String> =
            catalog.profiles().filter(|p| principal.allows(&p.id)).map(|p| p.id.clone()).collect();
        let now_us = self.store.now_us();
        let mut results = Vec::with_capacity(numbers.len());
        let mut changes = Vec::new();
        for (i, pb::ReassignedNumber { number, disconnected_at }) in numbers.into_iter().enumerate() {
            let checked =
                contact::normalize(contact::Kind::Phone, &number, region).map_err(|e| e.to_string()).and_then(|n| {
                    let at = convert::occurred_at(&format!("numbers[{i}].disconnected_at"), disconnected_at, now_us)
                        .map_err(|e| e.to_string())?;
                    if disconnected_at.is_none() {
                        return Err(format!("`numbers[{i}].disconnected_at` is required"));
                    }
                    Ok((n.into_string(), at))
                });
            match checked {
                Err(error) => results.push(pb::ReassignedNumberResult { number, applied: false, error }),
                Ok((e164, at_us)) => {
                    for profile in &profiles {
                        for channel in Channel::of_kind(contact::Kind::Phone) {
                            changes.push((
                                results.len(),
                                LifeChange {
                                    profile_id: profile.clone(),
                                    channel,
                                    key: self.store.contact_key(profile, channel, &e164),
                                    event: LifeEvent::Reassign { at_us },
                                    source: Source::Import,
                                    actor: principal.key_id.clone(),
                                },
                            ));
                        }
                    }
                    results.push(pb::ReassignedNumberResult { number: e164, applied: false, error: String::new() });
                }
            }
        }
        // Sent together: the writer commits them in shared groups (one sync for many).
        let answers = join_all(changes.into_iter().map(|(i, change)| {
            let store = self.store.clone();
            async move { (i, store.set_life(change).await) }
        }))
        .await;
        let mut revision = self.store.revision();
        for (i, answer) in answers {
            match answer {
                Ok(r) => {
                    results[i].applied |= r.applied;
                    revision = revision.max(r.revision);
                }
                Err(e) => {
                    let e = ApiError::from(e);
                    if results[i].error.is_empty() {
                        results[i].error = e.to_string();
                    }
                }
            }
        }
        Ok(pb::ReportReassignedNumbersResponse { results, revision })
    }
}
