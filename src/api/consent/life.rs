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
use crate::decision::Channel;
use crate::storage::model::{LifeChange, LifeEvent, Source};

/// Numbers one `ReportReassignedNumbers` request may carry.
pub const REASSIGNED_NUMBERS_MAX: usize = 1000;

impl ConsentApi {
    pub(super) async fn erase(
        &self,
        principal: &Principal,
        req: pb::EraseContactPointRequest,
    ) -> ApiResult<pb::EraseContactPointResponse> {
        let pb::EraseContactPointRequest { profile_id, channel, contact_point } = req;
        let contact = contact_ref(&self.store.catalog(), principal, "", &profile_id, channel, &contact_point)?;
        let kind = contact.channel.contact_kind();
        let channels: Vec<Channel> = Channel::ALL.into_iter().filter(|c| c.contact_kind() == kind).collect();
        let mut revision = 0;
        for channel in &channels {
            let change = LifeChange {
                profile_id: profile_id.clone(),
                channel: *channel,
                key: self.store.contact_key(&profile_id, *channel, &contact.contact_point),
                event: LifeEvent::Erase,
                source: Source::Api,
                actor: principal.key_id.clone(),
            };
            revision = self.store.set_life(change).await?.revision;
        }
        Ok(pb::EraseContactPointResponse {
            channels: channels.into_iter().map(|c| convert::channel_to_pb(c) as i32).collect(),
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
                        for channel in Channel::ALL.into_iter().filter(|c| c.contact_kind() == contact::Kind::Phone) {
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
