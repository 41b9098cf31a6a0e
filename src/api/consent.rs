//! `ConsentService`: writes (validated here, ordered and stored by the writer), reads of
//! state and history, double opt-in confirmation, suppressions, SMS keywords and the
//! change feed.

use std::sync::Arc;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prost::Message;
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::auth::{Principal, Scope, principal, still_valid};
use super::convert;
use super::error::{ApiError, ApiResult};
use super::metrics::Metrics;
use super::pb;
use crate::config::Limits;
use crate::contact;
use crate::decision::keywords::{self, KeywordClass};
use crate::decision::{Catalog, Channel, Status as ConsentStatus, SuppressionKind};
use crate::storage::Store;
use crate::storage::model::{
    ChangeResult, Confirmation, ConsentChange, ContactRef, Idempotency, Source, SuppressionChange,
};

/// Changes read from the store per step of a watch stream.
const WATCH_PAGE: usize = 256;

#[derive(Clone, Debug)]
pub struct ConsentApi {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
    pub watch_slots: Arc<Semaphore>,
}

/// A contact point named by a request, normalized with its profile's region.
fn contact_ref(
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

fn result_to_pb(catalog: &Catalog, r: ChangeResult, now_secs: i64) -> pb::ChangeResult {
    let ChangeResult { outcome, revision, confirmation_token, confirmation_expires_at, record, replayed } = r;
    pb::ChangeResult {
        outcome: match outcome {
            crate::storage::model::ChangeOutcome::Applied => pb::ChangeOutcome::Applied,
            crate::storage::model::ChangeOutcome::PendingConfirmation => pb::ChangeOutcome::PendingConfirmation,
            crate::storage::model::ChangeOutcome::Superseded => pb::ChangeOutcome::Superseded,
        } as i32,
        revision,
        confirmation_token: confirmation_token.unwrap_or_default(),
        confirmation_expires_at: confirmation_expires_at.map(convert::ts_from_secs),
        record: record.as_ref().map(|r| convert::record_to_pb(catalog, r, now_secs)),
        replayed,
    }
}

impl ConsentApi {
    fn now_secs(&self) -> i64 {
        self.store.now_us().div_euclid(1_000_000)
    }

    /// Validates and resolves one change; `prefix` names its place in the request.
    fn change(
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
        convert::text(&format!("{p}reason"), &reason, Limits::TEXT_CHARS_MAX)?;
        let idempotency = if idempotency_key.is_empty() {
            None
        } else {
            if idempotency_key.len() > Limits::IDEMPOTENCY_KEY_CHARS_MAX {
                return Err(ApiError::invalid_field(
                    format!("{prefix}idempotency_key"),
                    format!("longer than {} bytes", Limits::IDEMPOTENCY_KEY_CHARS_MAX),
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
    async fn suppression(
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
    ) -> ApiResult<(bool, u64)> {
        let contact = contact_ref(&self.store.catalog(), principal, "", profile_id, channel, raw)?;
        let kind = convert::suppression_kind("kind", kind)?;
        convert::text("reason", &reason, Limits::TEXT_CHARS_MAX)?;
        let now_us = self.store.now_us();
        let change = SuppressionChange {
            contact,
            kind,
            add,
            occurred_at_us: convert::occurred_at("occurred_at", occurred_at, now_us)?,
            source: convert::source("source", source)?,
            actor: principal.key_id.clone(),
            reason,
        };
        let r = self.store.set_suppression(change).await?;
        Ok((r.changed, r.revision))
    }
}

fn write_principal<T>(req: &Request<T>) -> ApiResult<Principal> {
    let p = principal(req)?;
    p.require(Scope::Write)?;
    Ok(p)
}

#[tonic::async_trait]
impl pb::consent_service_server::ConsentService for ConsentApi {
    async fn set_consent(
        &self,
        req: Request<pb::SetConsentRequest>,
    ) -> Result<Response<pb::SetConsentResponse>, Status> {
        let started = Instant::now();
        let principal = write_principal(&req)?;
        let catalog = self.store.catalog();
        let change = self.change(&catalog, &principal, "", req.into_inner())?;
        let result = self.store.set_consent(change).await.map_err(ApiError::from)?;
        self.metrics.write_latency.observe(started.elapsed());
        self.metrics.observe_rpc("SetConsent", started.elapsed());
        Ok(Response::new(pb::SetConsentResponse { result: Some(result_to_pb(&catalog, result, self.now_secs())) }))
    }

    async fn batch_set_consent(
        &self,
        req: Request<pb::BatchSetConsentRequest>,
    ) -> Result<Response<pb::BatchSetConsentResponse>, Status> {
        let started = Instant::now();
        let principal = write_principal(&req)?;
        let pb::BatchSetConsentRequest { requests } = req.into_inner();
        if requests.len() > self.limits.set_batch_items_max {
            return Err(ApiError::invalid(
                "requests",
                &format!("{} items", requests.len()),
                format!("at most {} changes per batch", self.limits.set_batch_items_max),
            )
            .into());
        }
        // Validate every item, then hand all valid ones to the writer together so that
        // they share group commits instead of waiting for one fsync each.
        let catalog = self.store.catalog();
        let prepared: Vec<ApiResult<ConsentChange>> = requests
            .into_iter()
            .enumerate()
            .map(|(i, r)| self.change(&catalog, &principal, &format!("requests[{i}]."), r))
            .collect();
        let futures = prepared.into_iter().map(|p| async {
            match p {
                Ok(change) => self.store.set_consent(change).await.map_err(ApiError::from),
                Err(e) => Err(e),
            }
        });
        let outcomes = futures_util::future::join_all(futures).await;
        let now_secs = self.now_secs();
        let results = outcomes
            .into_iter()
            .map(|r| pb::BatchSetConsentResult {
                result: Some(match r {
                    Ok(c) => pb::batch_set_consent_result::Result::Change(result_to_pb(&catalog, c, now_secs)),
                    Err(e) => {
                        let field = match &e {
                            ApiError::Invalid { field, .. } => field.clone(),
                            _ => String::new(),
                        };
                        if let ApiError::Storage(s) = &e {
                            tracing::error!(error = %s, "batch item failed in storage");
                        }
                        let message = match &e {
                            ApiError::Storage(
                                crate::storage::StorageError::Db(_)
                                | crate::storage::StorageError::Corrupt { .. }
                                | crate::storage::StorageError::Io { .. },
                            ) => "internal error; see the server log".to_owned(),
                            other => other.to_string(),
                        };
                        pb::batch_set_consent_result::Result::Error(pb::ItemError {
                            code: e.code() as i32,
                            field,
                            message,
                        })
                    }
                }),
            })
            .collect();
        self.metrics.observe_rpc("BatchSetConsent", started.elapsed());
        Ok(Response::new(pb::BatchSetConsentResponse { results }))
    }

    async fn get_consent(
        &self,
        req: Request<pb::GetConsentRequest>,
    ) -> Result<Response<pb::GetConsentResponse>, Status> {
        let principal = write_principal(&req)?;
        let pb::GetConsentRequest { profile_id, channel, contact_point } = req.into_inner();
        let c = contact_ref(&self.store.catalog(), &principal, "", &profile_id, channel, &contact_point)?;
        let revision = self.store.revision();
        let key = self.store.contact_key(&c.profile_id, c.channel, &c.contact_point);
        let stored = self.store.get_contact(&key).map_err(ApiError::from)?;
        let catalog = self.store.catalog();
        let (records, suppressions) = match stored {
            None => (Vec::new(), Vec::new()),
            Some(s) => convert::contact_to_pb(&catalog, &s, self.now_secs()),
        };
        Ok(Response::new(pb::GetConsentResponse { contact_point: c.contact_point, records, suppressions, revision }))
    }

    async fn get_history(
        &self,
        req: Request<pb::GetHistoryRequest>,
    ) -> Result<Response<pb::GetHistoryResponse>, Status> {
        let principal = write_principal(&req)?;
        let pb::GetHistoryRequest { profile_id, channel, contact_point, page_size, page_token } = req.into_inner();
        let c = contact_ref(&self.store.catalog(), &principal, "", &profile_id, channel, &contact_point)?;
        let limit = match page_size {
            0 => Limits::HISTORY_PAGE_DEFAULT,
            n if n < 0 || n as usize > Limits::HISTORY_PAGE_MAX => {
                return Err(ApiError::invalid(
                    "page_size",
                    &n.to_string(),
                    format!("must be 0 to {}", Limits::HISTORY_PAGE_MAX),
                )
                .into());
            }
            n => n as usize,
        };
        let after_seq = if page_token.is_empty() {
            0
        } else {
            URL_SAFE_NO_PAD
                .decode(&page_token)
                .ok()
                .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| ApiError::invalid("page_token", &page_token, "not a token this server issued"))?
        };
        let key = self.store.contact_key(&c.profile_id, c.channel, &c.contact_point);
        let page = self.store.history(&key, after_seq, limit).map_err(ApiError::from)?;
        let v = self.store.verify_history(&key).map_err(ApiError::from)?;
        let next_page_token = match page.last() {
            Some(event) if page.len() == limit => URL_SAFE_NO_PAD.encode(event.seq.to_be_bytes()),
            _ => String::new(),
        };
        let events = page.into_iter().map(convert::event_to_pb).collect();
        Ok(Response::new(pb::GetHistoryResponse {
            events,
            next_page_token,
            verification: Some(pb::ChainVerification {
                intact: v.intact,
                events_checked: v.events_checked,
                first_broken_seq: v.first_broken_seq,
                detail: v.detail,
            }),
        }))
    }

    async fn confirm_opt_in(
        &self,
        req: Request<pb::ConfirmOptInRequest>,
    ) -> Result<Response<pb::ConfirmOptInResponse>, Status> {
        let principal = write_principal(&req)?;
        let pb::ConfirmOptInRequest { token, ip_address, user_agent, occurred_at } = req.into_inner();
        if token.is_empty() {
            return Err(ApiError::invalid_field("token", "required").into());
        }
        let proof =
            convert::proof("", Some(pb::Proof { ip_address, user_agent, ..Default::default() }))?.unwrap_or_default();
        if let Some(profile) = self.store.token_profile(&token).map_err(ApiError::from)? {
            principal.may(&profile)?;
        }
        let now_us = self.store.now_us();
        let confirmation = Confirmation {
            token,
            ip_address: proof.ip_address,
            user_agent: proof.user_agent,
            occurred_at_us: convert::occurred_at("occurred_at", occurred_at, now_us)?,
            actor: principal.key_id.clone(),
        };
        let result = self.store.confirm(confirmation).await.map_err(ApiError::from)?;
        Ok(Response::new(pb::ConfirmOptInResponse {
            result: Some(result_to_pb(&self.store.catalog(), result, self.now_secs())),
        }))
    }

    async fn add_suppression(
        &self,
        req: Request<pb::AddSuppressionRequest>,
    ) -> Result<Response<pb::AddSuppressionResponse>, Status> {
        let principal = write_principal(&req)?;
        let pb::AddSuppressionRequest { profile_id, channel, contact_point, kind, reason, occurred_at, source } =
            req.into_inner();
        let (changed, revision) = self
            .suppression(&principal, &profile_id, channel, &contact_point, kind, reason, occurred_at, source, true)
            .await?;
        Ok(Response::new(pb::AddSuppressionResponse { changed, revision }))
    }

    async fn lift_suppression(
        &self,
        req: Request<pb::LiftSuppressionRequest>,
    ) -> Result<Response<pb::LiftSuppressionResponse>, Status> {
        let principal = write_principal(&req)?;
        let pb::LiftSuppressionRequest { profile_id, channel, contact_point, kind, reason, occurred_at, source } =
            req.into_inner();
        let (changed, revision) = self
            .suppression(&principal, &profile_id, channel, &contact_point, kind, reason, occurred_at, source, false)
            .await?;
        Ok(Response::new(pb::LiftSuppressionResponse { changed, revision }))
    }

    async fn handle_inbound_sms(
        &self,
        req: Request<pb::HandleInboundSmsRequest>,
    ) -> Result<Response<pb::HandleInboundSmsResponse>, Status> {
        let principal = write_principal(&req)?;
        let pb::HandleInboundSmsRequest { profile_id, from_number, body, occurred_at } = req.into_inner();
        if body.len() > Limits::SMS_BODY_CHARS_MAX {
            return Err(
                ApiError::invalid_field("body", format!("longer than {} bytes", Limits::SMS_BODY_CHARS_MAX)).into()
            );
        }
        let contact =
            contact_ref(&self.store.catalog(), &principal, "", &profile_id, pb::Channel::Sms as i32, &from_number)
                .map_err(|e| match e {
                    ApiError::Invalid { field, description } if field == "contact_point" => {
                        ApiError::Invalid { field: "from_number".to_owned(), description }
                    }
                    other => other,
                })?;
        let catalog = self.store.catalog();
        let profile = catalog.active_profile(&profile_id).map_err(|e| ApiError::resolve("", &e))?;
        let (class, keyword) = keywords::classify(&body, profile);
        let pb_class = match class {
            KeywordClass::None => pb::KeywordClass::None,
            KeywordClass::Stop => pb::KeywordClass::Stop,
            KeywordClass::Start => pb::KeywordClass::Start,
            KeywordClass::Help => pb::KeywordClass::Help,
        };
        let add = match class {
            KeywordClass::Stop => true,
            KeywordClass::Start => false,
            KeywordClass::None | KeywordClass::Help => {
                return Ok(Response::new(pb::HandleInboundSmsResponse {
                    keyword_class: pb_class as i32,
                    keyword,
                    changed: false,
                    revision: self.store.revision(),
                }));
            }
        };
        let now_us = self.store.now_us();
        let change = SuppressionChange {
            contact: ContactRef { channel: Channel::Sms, ..contact },
            kind: SuppressionKind::SmsStop,
            add,
            occurred_at_us: convert::occurred_at("occurred_at", occurred_at, now_us)?,
            source: Source::SmsKeyword,
            actor: principal.key_id.clone(),
            reason: format!("inbound SMS keyword {keyword}"),
        };
        let r = self.store.set_suppression(change).await.map_err(ApiError::from)?;
        Ok(Response::new(pb::HandleInboundSmsResponse {
            keyword_class: pb_class as i32,
            keyword,
            changed: r.changed,
            revision: r.revision,
        }))
    }

    type ExportRecordsStream = ReceiverStream<Result<pb::ExportRecordsResponse, Status>>;

    async fn export_records(
        &self,
        req: Request<pb::ExportRecordsRequest>,
    ) -> Result<Response<Self::ExportRecordsStream>, Status> {
        let principal = write_principal(&req)?;
        let pb::ExportRecordsRequest { profile_id, include_history } = req.into_inner();
        principal.may(&profile_id)?;
        self.store
            .catalog()
            .profile(&profile_id)
            .ok_or_else(|| ApiError::resolve("", &crate::decision::ResolveError::UnknownProfile(profile_id.clone())))?;
        // A bounded channel: a slow reader holds the scan, never server memory.
        let (tx, rx) = mpsc::channel(256);
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let catalog = store.catalog();
            let now_secs = store.now_us().div_euclid(1_000_000);
            let result = store.for_each_contact(|c| {
                if c.profile_id != profile_id {
                    return true;
                }
                let channel = c.channel;
                let (records, suppressions) = convert::contact_to_pb(&catalog, &c, now_secs);
                let mut msg = pb::ExportRecordsResponse {
                    channel: convert::channel_to_pb(channel) as i32,
                    contact_point: c.contact_point,
                    records,
                    suppressions,
                    events: Vec::new(),
                };
                if !include_history {
                    return tx.blocking_send(Ok(msg)).is_ok();
                }
                // A long history goes out in pages: the first message carries the records,
                // the next ones only further events of the same contact point, so no
                // contact can outgrow the message limit.
                let key = store.contact_key(&profile_id, channel, &msg.contact_point);
                let mut after_seq = 0;
                loop {
                    // One more than a page tells whether another page follows.
                    let mut page = match store.history(&key, after_seq, Limits::EXPORT_EVENTS_PER_MESSAGE_MAX + 1) {
                        Ok(page) => page,
                        Err(e) => {
                            let _ = tx.blocking_send(Err(Status::from(e)));
                            return false;
                        }
                    };
                    let full = page.len() > Limits::EXPORT_EVENTS_PER_MESSAGE_MAX;
                    page.truncate(Limits::EXPORT_EVENTS_PER_MESSAGE_MAX);
                    after_seq = page.last().map_or(after_seq, |event| event.seq);
                    msg.events = page.into_iter().map(convert::event_to_pb).collect();
                    let next = pb::ExportRecordsResponse {
                        channel: msg.channel,
                        contact_point: msg.contact_point.clone(),
                        ..Default::default()
                    };
                    if tx.blocking_send(Ok(std::mem::replace(&mut msg, next))).is_err() {
                        return false;
                    }
                    if !full {
                        return true;
                    }
                }
            });
            if let Err(e) = result {
                let _ = tx.blocking_send(Err(Status::from(e)));
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    type WatchChangesStream = ReceiverStream<Result<pb::WatchChangesResponse, Status>>;

    async fn watch_changes(
        &self,
        req: Request<pb::WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        let principal = write_principal(&req)?;
        let pb::WatchChangesRequest { after_revision, profile_ids } = req.into_inner();
        for (i, p) in profile_ids.iter().enumerate() {
            convert::id(&format!("profile_ids[{i}]"), p)?;
            principal.may(p)?;
        }
        let permit = Arc::clone(&self.watch_slots).try_acquire_owned().map_err(|_| {
            ApiError::ResourceExhausted(format!("at most {} change streams at once", self.limits.watch_streams_max))
        })?;
        let (tx, rx) = mpsc::channel(64);
        let store = self.store.clone();
        tokio::spawn(async move {
            // Held for the stream's life.
            let _permit = permit;
            let mut revisions = store.subscribe();
            let mut keys = store.subscribe_keys();
            let mut last = after_revision;
            loop {
                revisions.borrow_and_update();
                if let Err(status) = still_valid(&store, &principal) {
                    let _ = tx.send(Err(status)).await;
                    return;
                }
                let page = match store.changes_after(last, WATCH_PAGE) {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = tx.send(Err(Status::from(e))).await;
                        return;
                    }
                };
                let full = page.len() == WATCH_PAGE;
                for (rev, event) in page {
                    last = rev;
                    let wanted = principal.allows(&event.profile_id)
                        && (profile_ids.is_empty() || profile_ids.contains(&event.profile_id));
                    if !wanted {
                        continue;
                    }
                    let msg = pb::WatchChangesResponse {
                        revision: rev,
                        profile_id: event.profile_id.clone(),
                        channel: convert::channel_to_pb(event.channel) as i32,
                        contact_point: event.contact_point.clone(),
                        event: Some(convert::event_to_pb(event)),
                    };
                    if tx.send(Ok(msg)).await.is_err() {
                        return;
                    }
                }
                if full {
                    continue;
                }
                tokio::select! {
                    changed = revisions.changed() => if changed.is_err() { return },
                    // Re-checked at the top of the loop.
                    changed = keys.changed() => if changed.is_err() { return },
                    () = tx.closed() => return,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
