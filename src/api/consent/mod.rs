//! `ConsentService`: writes (validated here, ordered and stored by the writer), reads of
//! state and history, double opt-in confirmation, suppressions, SMS keywords and the
//! change feed.

use std::sync::Arc;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::sync::Semaphore;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::auth::{Principal, Scope, principal};
use super::convert;
use super::error::{ApiError, ApiResult};
use super::metrics::Metrics;
use super::pb;
use crate::config::Limits;
use crate::decision::keywords::{self, KeywordClass};
use crate::decision::{Channel, SuppressionKind};
use crate::storage::Store;
use crate::storage::model::{Confirmation, ConsentChange, ContactRef, Source, SuppressionChange};

mod change;
mod life;
mod stream;

use change::contact_ref;

#[derive(Clone, Debug)]
pub struct ConsentApi {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
    pub watch_slots: Arc<Semaphore>,
    /// The HTTP edge's public URL when it is on: answers to a double opt-in carry the
    /// confirmation page's address.
    pub edge_url: Option<String>,
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
        self.metrics.write_latency.observe(started.elapsed().as_secs_f64());
        self.metrics.observe_rpc("SetConsent", started.elapsed());
        Ok(Response::new(pb::SetConsentResponse { result: Some(self.result_to_pb(&catalog, result)) }))
    }

    async fn batch_set_consent(
        &self,
        req: Request<pb::BatchSetConsentRequest>,
    ) -> Result<Response<pb::BatchSetConsentResponse>, Status> {
        let started = Instant::now();
        let principal = write_principal(&req)?;
        let pb::BatchSetConsentRequest { requests, validate_only } = req.into_inner();
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
        if validate_only {
            let results = prepared
                .into_iter()
                .map(|r| pb::BatchSetConsentResult {
                    result: Some(match r {
                        Ok(c) => pb::batch_set_consent_result::Result::Validated(pb::ValidatedChange {
                            contact_point: c.contact.contact_point,
                        }),
                        Err(e) => pb::batch_set_consent_result::Result::Error(e.to_item_error()),
                    }),
                })
                .collect();
            self.metrics.observe_rpc("BatchSetConsent", started.elapsed());
            return Ok(Response::new(pb::BatchSetConsentResponse { results }));
        }
        let futures = prepared.into_iter().map(|p| async {
            match p {
                Ok(change) => self.store.set_consent(change).await.map_err(ApiError::from),
                Err(e) => Err(e),
            }
        });
        let outcomes = futures_util::future::join_all(futures).await;
        let results = outcomes
            .into_iter()
            .map(|r| pb::BatchSetConsentResult {
                result: Some(match r {
                    Ok(c) => pb::batch_set_consent_result::Result::Change(self.result_to_pb(&catalog, c)),
                    Err(e) => pb::batch_set_consent_result::Result::Error(e.to_item_error()),
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
        let (records, suppressions) = match &stored {
            None => (Vec::new(), Vec::new()),
            Some(s) => convert::contact_to_pb(&catalog, s, self.now_secs()),
        };
        Ok(Response::new(pb::GetConsentResponse {
            contact_point: c.contact_point,
            records,
            suppressions,
            revision,
            reassigned_at: stored.as_ref().and_then(|s| s.reassigned_at_us).map(convert::ts_from_us),
            erased_at: stored.as_ref().and_then(|s| s.erased_at_us).map(convert::ts_from_us),
        }))
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
        let (page, more) =
            self.store.history_page(&key, after_seq, limit, Limits::HISTORY_PAGE_BYTES_MAX).map_err(ApiError::from)?;
        // Reading a long chain (the first time) is disk work: off the async workers.
        let store = self.store.clone();
        let (v, events_read) = tokio::task::spawn_blocking(move || store.verify_history(&key))
            .await
            .map_err(|e| Status::internal(format!("history verification: {e}")))?
            .map_err(ApiError::from)?;
        let next_page_token = match page.last() {
            Some(event) if more => URL_SAFE_NO_PAD.encode(event.seq.to_be_bytes()),
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
                events_read,
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
        Ok(Response::new(pb::ConfirmOptInResponse { result: Some(self.result_to_pb(&self.store.catalog(), result)) }))
    }

    async fn add_suppression(
        &self,
        req: Request<pb::AddSuppressionRequest>,
    ) -> Result<Response<pb::AddSuppressionResponse>, Status> {
        let principal = write_principal(&req)?;
        let pb::AddSuppressionRequest {
            profile_id,
            channel,
            contact_point,
            kind,
            reason,
            occurred_at,
            source,
            validate_only,
        } = req.into_inner();
        let change = self.suppression(
            &principal,
            &profile_id,
            channel,
            &contact_point,
            kind,
            reason,
            occurred_at,
            source,
            true,
        )?;
        if validate_only {
            return Ok(Response::new(pb::AddSuppressionResponse { changed: false, revision: 0 }));
        }
        let r = self.store.set_suppression(change).await.map_err(ApiError::from)?;
        let (changed, revision) = (r.changed, r.revision);
        Ok(Response::new(pb::AddSuppressionResponse { changed, revision }))
    }

    async fn lift_suppression(
        &self,
        req: Request<pb::LiftSuppressionRequest>,
    ) -> Result<Response<pb::LiftSuppressionResponse>, Status> {
        let principal = write_principal(&req)?;
        let pb::LiftSuppressionRequest { profile_id, channel, contact_point, kind, reason, occurred_at, source } =
            req.into_inner();
        let change = self.suppression(
            &principal,
            &profile_id,
            channel,
            &contact_point,
            kind,
            reason,
            occurred_at,
            source,
            false,
        )?;
        let r = self.store.set_suppression(change).await.map_err(ApiError::from)?;
        let (changed, revision) = (r.changed, r.revision);
        Ok(Response::new(pb::LiftSuppressionResponse { changed, revision }))
    }

    async fn erase_contact_point(
        &self,
        req: Request<pb::EraseContactPointRequest>,
    ) -> Result<Response<pb::EraseContactPointResponse>, Status> {
        let principal = write_principal(&req)?;
        Ok(Response::new(self.erase(&principal, req.into_inner()).await?))
    }

    async fn report_reassigned_numbers(
        &self,
        req: Request<pb::ReportReassignedNumbersRequest>,
    ) -> Result<Response<pb::ReportReassignedNumbersResponse>, Status> {
        let principal = write_principal(&req)?;
        Ok(Response::new(self.report_reassigned(&principal, req.into_inner()).await?))
    }

    async fn move_contact_point(
        &self,
        req: Request<pb::MoveContactPointRequest>,
    ) -> Result<Response<pb::MoveContactPointResponse>, Status> {
        let principal = write_principal(&req)?;
        Ok(Response::new(self.move_contact(&principal, req.into_inner()).await?))
    }

    async fn handle_inbound_sms(
        &self,
        req: Request<pb::HandleInboundSmsRequest>,
    ) -> Result<Response<pb::HandleInboundSmsResponse>, Status> {
        let principal = write_principal(&req)?;
        let pb::HandleInboundSmsRequest { profile_id, from_number, body, occurred_at } = req.into_inner();
        if body.len() > Limits::SMS_BODY_BYTES_MAX {
            return Err(
                ApiError::invalid_field("body", format!("longer than {} bytes", Limits::SMS_BODY_BYTES_MAX)).into()
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
        let pb_class = convert::keyword_class_to_pb(class);
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
        Ok(Response::new(stream::export(self.store.clone(), profile_id, include_history)))
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
        Ok(Response::new(stream::watch(self.store.clone(), principal, after_revision, profile_ids, permit)))
    }
}
