//! Validation of `ConsentService` writes: a request's contact point, profile, purpose,
//! topic, times and proof checked and resolved into the store's change types, each error
//! naming its field.

use prost::Message;
use sha2::{Digest, Sha256};

use super::ConsentApi;
use crate::api::auth::Principal;
use crate::api::convert;
use crate::api::error::{ApiError, ApiResult};
use crate::api::pb;
use crate::config::Limits;
use crate::contact;
use crate::decision::{Catalog, Status as ConsentStatus};
use crate::storage::model::{ConsentChange, ContactRef, Idempotency, SuppressionChange};

/// A contact point named by a request, normalized with its profile's region.
pub(super) fn contact_ref(
    catalog: &Catalog,
    principal: &Principal,
    prefix: &str,
    profile_id: &str,
    channel: i32,
    raw: &str,
) -> ApiResult<ContactRef> {
    principal.may(profile_id)?;
    let profile = catalog.active_profile(profile_id).map_err(|e| ApiError::resolve(prefix, &e))?;
    let channel = convert::channel(&format!("{prefix}channel"), channel)?;
    let normalized = contact::normalize(channel.contact_kind(), raw, profile.default_region.as_deref())
        .map_err(|e| ApiError::invalid(format!("{prefix}contact_point"), raw, e))?;
    Ok(ContactRef { profile_id: profile_id.to_owned(), channel, contact_point: normalized.into_string() })
}

impl ConsentApi {
    pub(super) fn now_secs(&self) -> i64 {
        self.store.now_us().div_euclid(1_000_000)
    }

    /// A write's answer, with the confirmation page's address when the edge is on.
    pub(super) fn result_to_pb(&self, catalog: &Catalog, r: crate::storage::model::ChangeResult) -> pb::ChangeResult {
        let mut answer = convert::change_result_to_pb(catalog, r, self.now_secs());
        if let Some(url) = &self.edge_url
            && !answer.confirmation_token.is_empty()
        {
            answer.confirmation_url = crate::links::confirmation_url(url, &answer.confirmation_token);
        }
        answer
    }

    /// Validates and resolves one change; `prefix` names its place in the request.
    pub(super) fn change(
        &self,
        catalog: &Catalog,
        principal: &Principal,
        prefix: &str,
        req: pb::SetConsentRequest,
    ) -> ApiResult<ConsentChange> {
        let pb::SetConsentRequest { change, idempotency_key } = req;
        let mut change = change.ok_or_else(|| ApiError::invalid_field(format!("{prefix}change"), "required"))?;
        let p = format!("{prefix}change.");
        let contact = contact_ref(catalog, principal, &p, &change.profile_id, change.channel, &change.contact_point)?;
        // The content hash covers the request as sent, before any server default, but with
        // the contact point normalized: a retry that spells the address differently
        // (`Jane@Example.com `) is the same change.
        change.contact_point.clone_from(&contact.contact_point);
        let content_hash: [u8; 32] = Sha256::digest(change.encode_to_vec()).into();
        // `channel` and `contact_point` were normalized into `contact` above.
        let pb::ConsentChange {
            profile_id,
            channel: _,
            contact_point: _,
            purpose_id,
            topic_id,
            status,
            occurred_at,
            source,
            reason,
            proof,
            expires_at,
        } = change;
        let resolved = catalog.resolve(&profile_id, &purpose_id, &topic_id).map_err(|e| ApiError::resolve(&p, &e))?;
        let status = convert::write_status(&format!("{p}status"), status)?;
        let now_us = self.store.now_us();
        let occurred_at_us = convert::occurred_at(&format!("{p}occurred_at"), occurred_at, now_us)?;
        // Stored in whole seconds, rounded up: an opt-in lapses at its time or just after,
        // never before it.
        let expires_at = convert::ts_to_us(&format!("{p}expires_at"), expires_at)?
            .map(|us| us.div_euclid(1_000_000) + i64::from(us.rem_euclid(1_000_000) != 0));
        if expires_at.is_some() && status != ConsentStatus::OptedIn {
            return Err(ApiError::invalid_field(
                format!("{p}expires_at"),
                "only an opt-in expires; an opt-out never does",
            ));
        }
        // An opt-in that lapsed before it was given (a 1970 default) is a mistake.
        if let Some(at) = expires_at
            && at.saturating_mul(1_000_000) <= occurred_at_us
        {
            return Err(ApiError::invalid(
                format!("{p}expires_at"),
                &at.to_string(),
                "must lie after the change's `occurred_at`",
            ));
        }
        convert::text(&format!("{p}reason"), &reason, Limits::TEXT_BYTES_MAX)?;
        let idempotency = if idempotency_key.is_empty() {
            None
        } else {
            if idempotency_key.len() > Limits::IDEMPOTENCY_KEY_BYTES_MAX {
                return Err(ApiError::invalid_field(
                    format!("{prefix}idempotency_key"),
                    format!("longer than {} bytes", Limits::IDEMPOTENCY_KEY_BYTES_MAX),
                ));
            }
            let mut h = Sha256::new();
            h.update(principal.key_id.as_bytes());
            h.update([0]);
            h.update(idempotency_key.as_bytes());
            Some(Idempotency { key_hash: h.finalize().into(), content_hash })
        };
        Ok(ConsentChange {
            subject: resolved.subject(),
            double_opt_in: resolved.profile.double_opt_in[contact.channel.index()],
            confirmation_validity_secs: resolved.profile.confirmation_validity_secs,
            contact,
            purpose_id,
            topic_id,
            status,
            occurred_at_us,
            source: convert::source(&format!("{p}source"), source)?,
            actor: principal.key_id.clone(),
            reason,
            proof: convert::proof(&format!("{p}proof"), proof)?,
            expires_at,
            idempotency,
        })
    }

    #[expect(clippy::too_many_arguments, reason = "the fields of two near-identical request messages")]
    /// Validates and resolves one suppression change.
    pub(super) fn suppression(
        &self,
        principal: &Principal,
        profile_id: &str,
        channel: i32,
        raw: &str,
        kind: i32,
        reason: String,
        occurred_at: Option<prost_types::Timestamp>,
        source: i32,
        add: bool,
    ) -> ApiResult<SuppressionChange> {
        let contact = contact_ref(&self.store.catalog(), principal, "", profile_id, channel, raw)?;
        let kind = convert::suppression_kind("kind", kind)?;
        convert::text("reason", &reason, Limits::TEXT_BYTES_MAX)?;
        let now_us = self.store.now_us();
        Ok(SuppressionChange {
            contact,
            kind,
            add,
            occurred_at_us: convert::occurred_at("occurred_at", occurred_at, now_us)?,
            source: convert::source("source", source)?,
            actor: principal.key_id.clone(),
            reason,
        })
    }
}
