//! `AdminService`: profiles, purposes, topics and API keys. Nothing is hard-deleted;
//! deactivation keeps history readable and makes new decisions and writes fail.

use tonic::{Request, Response, Status};

use super::auth::{Principal, Scope, hash_secret, new_key_material, principal};
use super::convert;
use super::error::{ApiError, ApiResult};
use super::pb;
use super::webhooks;
use crate::config::Limits;
use crate::decision::{Profile, Purpose, Topic};
use crate::storage::Store;
use crate::storage::view::ApiKey;

#[derive(Clone)]
pub struct AdminApi {
    pub store: Store,
    pub webhooks: std::sync::Arc<crate::webhook::Webhooks>,
}

impl AdminApi {
    fn webhook_def(&self, id: &str) -> ApiResult<crate::storage::webhook::WebhookDef> {
        self.store.webhook(id)?.ok_or_else(|| not_found(format!("webhook `{id}`")))
    }
}

fn admin<T>(req: &Request<T>) -> ApiResult<Principal> {
    let p = principal(req)?;
    p.require(Scope::Admin)?;
    Ok(p)
}

/// A page of `items` (already in order) after the opaque `token`, which is the last id seen.
fn page<T>(items: Vec<(String, T)>, page_size: i32, token: &str) -> ApiResult<(Vec<T>, String)> {
    let size = match page_size {
        0 => 100,
        n if n < 0 || n as usize > Limits::LIST_PAGE_MAX => {
            return Err(ApiError::invalid(
                "page_size",
                &n.to_string(),
                format!("must be 0 to {}", Limits::LIST_PAGE_MAX),
            ));
        }
        n => n as usize,
    };
    let mut out = Vec::new();
    let mut last = String::new();
    let mut more = false;
    for (id, item) in items.into_iter().filter(|(id, _)| token.is_empty() || id.as_str() > token) {
        if out.len() == size {
            more = true;
            break;
        }
        last = id;
        out.push(item);
    }
    Ok((out, if more { last } else { String::new() }))
}

/// Paths a field mask may name, checked against the allowed list.
fn mask_paths(mask: Option<prost_types::FieldMask>, allowed: &[&str]) -> ApiResult<Vec<String>> {
    let paths = mask.map(|m| m.paths).unwrap_or_default();
    // Each updatable field once: a mask of millions of paths is refused by its count.
    if paths.len() > allowed.len() {
        return Err(ApiError::invalid_field(
            "update_mask.paths",
            format!("at most {} paths, one per updatable field", allowed.len()),
        ));
    }
    for p in &paths {
        if !allowed.contains(&p.as_str()) {
            return Err(ApiError::invalid("update_mask", p, format!("updatable fields are {}", allowed.join(", "))));
        }
    }
    Ok(if paths.is_empty() { allowed.iter().map(|s| (*s).to_owned()).collect() } else { paths })
}

fn not_found(what: String) -> ApiError {
    ApiError::Storage(crate::storage::StorageError::Refused(crate::storage::Refusal::NotFound(what)))
}

#[tonic::async_trait]
impl pb::admin_service_server::AdminService for AdminApi {
    async fn create_profile(
        &self,
        req: Request<pb::CreateProfileRequest>,
    ) -> Result<Response<pb::CreateProfileResponse>, Status> {
        let p = admin(&req)?;
        p.require_unrestricted()?;
        let pb::CreateProfileRequest { profile } = req.into_inner();
        let profile = convert::profile_from_pb(profile.ok_or_else(|| ApiError::invalid_field("profile", "required"))?)?;
        let stored = self.store.put_profile(profile, true).await.map_err(ApiError::from)?;
        Ok(Response::new(pb::CreateProfileResponse { profile: Some(convert::profile_to_pb(&stored)) }))
    }

    async fn get_profile(
        &self,
        req: Request<pb::GetProfileRequest>,
    ) -> Result<Response<pb::GetProfileResponse>, Status> {
        let p = admin(&req)?;
        let pb::GetProfileRequest { profile_id } = req.into_inner();
        p.may(&profile_id)?;
        let catalog = self.store.catalog();
        let profile = catalog.profile(&profile_id).ok_or_else(|| not_found(format!("profile `{profile_id}`")))?;
        Ok(Response::new(pb::GetProfileResponse { profile: Some(convert::profile_to_pb(profile)) }))
    }

    async fn list_profiles(
        &self,
        req: Request<pb::ListProfilesRequest>,
    ) -> Result<Response<pb::ListProfilesResponse>, Status> {
        let p = admin(&req)?;
        let pb::ListProfilesRequest { page_size, page_token, include_inactive } = req.into_inner();
        let catalog = self.store.catalog();
        let items = catalog
            .profiles()
            .filter(|x| (include_inactive || x.active) && p.allows(&x.id))
            .map(|x| (x.id.clone(), convert::profile_to_pb(x)))
            .collect();
        let (profiles, next_page_token) = page(items, page_size, &page_token)?;
        Ok(Response::new(pb::ListProfilesResponse { profiles, next_page_token }))
    }

    async fn update_profile(
        &self,
        req: Request<pb::UpdateProfileRequest>,
    ) -> Result<Response<pb::UpdateProfileResponse>, Status> {
        let p = admin(&req)?;
        let pb::UpdateProfileRequest { profile, update_mask } = req.into_inner();
        let new = convert::profile_from_pb(profile.ok_or_else(|| ApiError::invalid_field("profile", "required"))?)?;
        p.may(&new.id)?;
        let paths = mask_paths(
            update_mask,
            &[
                "display_name",
                "default_region",
                "double_opt_in",
                "confirmation_validity",
                "extra_stop_keywords",
                "extra_start_keywords",
                "brand_color",
                "default_language",
            ],
        )?;
        let stored = self
            .store
            .update_profile(&new.id, |current: &mut Profile| {
                for path in &paths {
                    match path.as_str() {
                        "display_name" => current.display_name = new.display_name.clone(),
                        "default_region" => current.default_region = new.default_region.clone(),
                        "double_opt_in" => current.double_opt_in = new.double_opt_in,
                        "confirmation_validity" => current.confirmation_validity_secs = new.confirmation_validity_secs,
                        "extra_stop_keywords" => current.extra_stop_keywords = new.extra_stop_keywords.clone(),
                        "brand_color" => current.brand_color = new.brand_color.clone(),
                        "default_language" => current.default_language = new.default_language.clone(),
                        _ => current.extra_start_keywords = new.extra_start_keywords.clone(),
                    }
                }
            })
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::UpdateProfileResponse { profile: Some(convert::profile_to_pb(&stored)) }))
    }

    async fn deactivate_profile(
        &self,
        req: Request<pb::DeactivateProfileRequest>,
    ) -> Result<Response<pb::DeactivateProfileResponse>, Status> {
        let p = admin(&req)?;
        let pb::DeactivateProfileRequest { profile_id } = req.into_inner();
        p.may(&profile_id)?;
        let stored = self.store.update_profile(&profile_id, |p| p.active = false).await.map_err(ApiError::from)?;
        Ok(Response::new(pb::DeactivateProfileResponse { profile: Some(convert::profile_to_pb(&stored)) }))
    }

    async fn create_purpose(
        &self,
        req: Request<pb::CreatePurposeRequest>,
    ) -> Result<Response<pb::CreatePurposeResponse>, Status> {
        let p = admin(&req)?;
        let pb::CreatePurposeRequest { purpose } = req.into_inner();
        let purpose = convert::purpose_from_pb(purpose.ok_or_else(|| ApiError::invalid_field("purpose", "required"))?)?;
        p.may(&purpose.profile_id)?;
        let stored = self.store.put_purpose(purpose, true).await.map_err(ApiError::from)?;
        Ok(Response::new(pb::CreatePurposeResponse { purpose: Some(convert::purpose_to_pb(&stored)) }))
    }

    async fn get_purpose(
        &self,
        req: Request<pb::GetPurposeRequest>,
    ) -> Result<Response<pb::GetPurposeResponse>, Status> {
        let p = admin(&req)?;
        let pb::GetPurposeRequest { profile_id, purpose_id } = req.into_inner();
        p.may(&profile_id)?;
        let catalog = self.store.catalog();
        let purpose =
            catalog.purpose(&profile_id, &purpose_id).ok_or_else(|| not_found(format!("purpose `{purpose_id}`")))?;
        Ok(Response::new(pb::GetPurposeResponse { purpose: Some(convert::purpose_to_pb(purpose)) }))
    }

    async fn list_purposes(
        &self,
        req: Request<pb::ListPurposesRequest>,
    ) -> Result<Response<pb::ListPurposesResponse>, Status> {
        let p = admin(&req)?;
        let pb::ListPurposesRequest { profile_id, page_size, page_token, include_inactive } = req.into_inner();
        p.may(&profile_id)?;
        let catalog = self.store.catalog();
        let items = catalog
            .purposes_of(&profile_id)
            .filter(|x| include_inactive || x.active)
            .map(|x| (x.id.clone(), convert::purpose_to_pb(x)))
            .collect();
        let (purposes, next_page_token) = page(items, page_size, &page_token)?;
        Ok(Response::new(pb::ListPurposesResponse { purposes, next_page_token }))
    }

    async fn update_purpose(
        &self,
        req: Request<pb::UpdatePurposeRequest>,
    ) -> Result<Response<pb::UpdatePurposeResponse>, Status> {
        let p = admin(&req)?;
        let pb::UpdatePurposeRequest { purpose, update_mask } = req.into_inner();
        let new = convert::purpose_from_pb(purpose.ok_or_else(|| ApiError::invalid_field("purpose", "required"))?)?;
        p.may(&new.profile_id)?;
        let paths = mask_paths(update_mask, &["display_name", "enforcement"])?;
        let stored = self
            .store
            .update_purpose(&new.profile_id, &new.id, |current: &mut Purpose| {
                for path in &paths {
                    match path.as_str() {
                        "display_name" => current.display_name = new.display_name.clone(),
                        _ => current.models = new.models,
                    }
                }
            })
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::UpdatePurposeResponse { purpose: Some(convert::purpose_to_pb(&stored)) }))
    }

    async fn deactivate_purpose(
        &self,
        req: Request<pb::DeactivatePurposeRequest>,
    ) -> Result<Response<pb::DeactivatePurposeResponse>, Status> {
        let p = admin(&req)?;
        let pb::DeactivatePurposeRequest { profile_id, purpose_id } = req.into_inner();
        p.may(&profile_id)?;
        let stored =
            self.store.update_purpose(&profile_id, &purpose_id, |p| p.active = false).await.map_err(ApiError::from)?;
        Ok(Response::new(pb::DeactivatePurposeResponse { purpose: Some(convert::purpose_to_pb(&stored)) }))
    }

    async fn create_topic(
        &self,
        req: Request<pb::CreateTopicRequest>,
    ) -> Result<Response<pb::CreateTopicResponse>, Status> {
        let p = admin(&req)?;
        let pb::CreateTopicRequest { topic } = req.into_inner();
        let topic = convert::topic_from_pb(topic.ok_or_else(|| ApiError::invalid_field("topic", "required"))?)?;
        p.may(&topic.profile_id)?;
        let stored = self.store.put_topic(topic, true).await.map_err(ApiError::from)?;
        Ok(Response::new(pb::CreateTopicResponse { topic: Some(convert::topic_to_pb(&stored)) }))
    }

    async fn get_topic(&self, req: Request<pb::GetTopicRequest>) -> Result<Response<pb::GetTopicResponse>, Status> {
        let p = admin(&req)?;
        let pb::GetTopicRequest { profile_id, purpose_id, topic_id } = req.into_inner();
        p.may(&profile_id)?;
        let catalog = self.store.catalog();
        let topic = catalog
            .topic(&profile_id, &purpose_id, &topic_id)
            .ok_or_else(|| not_found(format!("topic `{topic_id}`")))?;
        Ok(Response::new(pb::GetTopicResponse { topic: Some(convert::topic_to_pb(topic)) }))
    }

    async fn list_topics(
        &self,
        req: Request<pb::ListTopicsRequest>,
    ) -> Result<Response<pb::ListTopicsResponse>, Status> {
        let p = admin(&req)?;
        let pb::ListTopicsRequest { profile_id, purpose_id, page_size, page_token, include_inactive } =
            req.into_inner();
        p.may(&profile_id)?;
        let catalog = self.store.catalog();
        let items = catalog
            .topics_of(&profile_id, &purpose_id)
            .filter(|x| include_inactive || x.active)
            .map(|x| (x.id.clone(), convert::topic_to_pb(x)))
            .collect();
        let (topics, next_page_token) = page(items, page_size, &page_token)?;
        Ok(Response::new(pb::ListTopicsResponse { topics, next_page_token }))
    }

    async fn update_topic(
        &self,
        req: Request<pb::UpdateTopicRequest>,
    ) -> Result<Response<pb::UpdateTopicResponse>, Status> {
        let p = admin(&req)?;
        let pb::UpdateTopicRequest { topic, update_mask } = req.into_inner();
        let new = convert::topic_from_pb(topic.ok_or_else(|| ApiError::invalid_field("topic", "required"))?)?;
        p.may(&new.profile_id)?;
        mask_paths(update_mask, &["display_name"])?;
        let stored = self
            .store
            .update_topic(&new.profile_id, &new.purpose_id, &new.id, |current: &mut Topic| {
                current.display_name = new.display_name.clone();
            })
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::UpdateTopicResponse { topic: Some(convert::topic_to_pb(&stored)) }))
    }

    async fn deactivate_topic(
        &self,
        req: Request<pb::DeactivateTopicRequest>,
    ) -> Result<Response<pb::DeactivateTopicResponse>, Status> {
        let p = admin(&req)?;
        let pb::DeactivateTopicRequest { profile_id, purpose_id, topic_id } = req.into_inner();
        p.may(&profile_id)?;
        let stored = self
            .store
            .update_topic(&profile_id, &purpose_id, &topic_id, |t| t.active = false)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::DeactivateTopicResponse { topic: Some(convert::topic_to_pb(&stored)) }))
    }

    async fn create_api_key(
        &self,
        req: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        let p = admin(&req)?;
        p.require_unrestricted()?;
        let pb::CreateApiKeyRequest { description, scopes, profile_ids, expire_time } = req.into_inner();
        let now = self.store.now_us().div_euclid(1_000_000);
        let expires_at = convert::ts_to_us("expire_time", expire_time)?.map(|us| us.div_euclid(1_000_000));
        if let Some(t) = expires_at
            && t <= now
        {
            return Err(ApiError::invalid("expire_time", &t.to_string(), "must be in the future").into());
        }
        convert::text("description", &description, Limits::TEXT_BYTES_MAX)?;
        if scopes.is_empty() {
            return Err(ApiError::invalid_field("scopes", "at least one scope is required").into());
        }
        // A key's scopes and profiles are read on every call it makes: bounded here, once.
        if scopes.len() > Scope::ALL.len() {
            return Err(
                ApiError::invalid_field("scopes", format!("at most {} scopes, each once", Scope::ALL.len())).into()
            );
        }
        if profile_ids.len() > Limits::API_KEY_PROFILES_MAX {
            return Err(ApiError::invalid_field(
                "profile_ids",
                format!("at most {} profiles per key", Limits::API_KEY_PROFILES_MAX),
            )
            .into());
        }
        let mut parsed: Vec<Scope> = Vec::with_capacity(scopes.len());
        for (i, s) in scopes.iter().enumerate() {
            let scope = convert::scope(&format!("scopes[{i}]"), *s)?;
            if parsed.contains(&scope) {
                return Err(ApiError::invalid(format!("scopes[{i}]"), scope.as_str(), "named twice").into());
            }
            parsed.push(scope);
        }
        let scopes = parsed;
        for (i, id) in profile_ids.iter().enumerate() {
            convert::id(&format!("profile_ids[{i}]"), id)?;
        }
        let (key_id, secret) = new_key_material();
        let key = ApiKey {
            key_id: key_id.clone(),
            description,
            secret_hash: hash_secret(&secret),
            scopes,
            profile_ids,
            revoked: false,
            created_at: now,
            expires_at,
        };
        self.store.put_api_key(key.clone()).await.map_err(ApiError::from)?;
        tracing::info!(key_id = %key.key_id, "API key created");
        Ok(Response::new(pb::CreateApiKeyResponse {
            api_key: Some(convert::api_key_to_pb(&key)),
            secret: format!("{key_id}.{secret}"),
        }))
    }

    async fn list_api_keys(
        &self,
        req: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        let p = admin(&req)?;
        p.require_unrestricted()?;
        let pb::ListApiKeysRequest { page_size, page_token } = req.into_inner();
        let keys = self.store.api_keys();
        let mut items: Vec<(String, pb::ApiKey)> =
            keys.values().map(|k| (k.key_id.clone(), convert::api_key_to_pb(k))).collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (api_keys, next_page_token) = page(items, page_size, &page_token)?;
        Ok(Response::new(pb::ListApiKeysResponse { api_keys, next_page_token }))
    }

    async fn revoke_api_key(
        &self,
        req: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::RevokeApiKeyResponse>, Status> {
        let p = admin(&req)?;
        p.require_unrestricted()?;
        let pb::RevokeApiKeyRequest { key_id } = req.into_inner();
        let key = self.store.update_api_key(&key_id, |k| k.revoked = true).await.map_err(ApiError::from)?;
        tracing::info!(key_id = %key.key_id, "API key revoked");
        Ok(Response::new(pb::RevokeApiKeyResponse { api_key: Some(convert::api_key_to_pb(&key)) }))
    }

    async fn get_state_digest(
        &self,
        req: Request<pb::GetStateDigestRequest>,
    ) -> Result<Response<pb::GetStateDigestResponse>, Status> {
        let p = admin(&req)?;
        p.require_unrestricted()?;
        let deadline = crate::api::decision::deadline_of(req.metadata());
        let pb::GetStateDigestRequest { min_revision } = req.into_inner();
        crate::api::decision::wait_fresh(&self.store, min_revision, deadline).await?;
        let store = self.store.clone();
        // A full scan: off the async workers.
        let d = tokio::task::spawn_blocking(move || store.digest())
            .await
            .map_err(|e| Status::internal(format!("digest task failed: {e}")))?
            .map_err(ApiError::from)?;
        let digest = d.digest.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Response::new(pb::GetStateDigestResponse { revision: d.revision, digest, keys: d.keys }))
    }

    async fn get_server_info(
        &self,
        req: Request<pb::GetServerInfoRequest>,
    ) -> Result<Response<pb::GetServerInfoResponse>, Status> {
        // Any authenticated caller: the answer names no consent data.
        principal(&req)?;
        let skipped = self.store.skipped_entries();
        let (last_seq, last_reason) = skipped.last().unwrap_or_default();
        Ok(Response::new(pb::GetServerInfoResponse {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            revision: self.store.revision(),
            cluster: self.store.replicated(),
            cluster_entries_skipped: skipped.total(),
            cluster_last_skipped_seq: last_seq,
            cluster_last_skipped_reason: last_reason,
        }))
    }

    async fn create_webhook(
        &self,
        req: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::CreateWebhookResponse>, Status> {
        admin(&req)?.require_unrestricted()?;
        if self.store.replicated() {
            return Err(ApiError::FailedPrecondition(
                "webhooks are not available in cluster mode yet: subscribe from a standalone server, or \
                 follow WatchChanges"
                    .to_owned(),
            )
            .into());
        }
        let pb::CreateWebhookRequest { webhook, secret } = req.into_inner();
        let webhook = webhook.ok_or_else(|| ApiError::invalid_field("webhook", "required"))?;
        if webhook.url.is_empty() {
            return Err(ApiError::invalid_field("webhook.url", "required").into());
        }
        let admin_lock = self.webhooks.admin_lock();
        if self.store.webhooks().map_err(ApiError::from)?.len() >= Limits::WEBHOOKS_MAX {
            return Err(ApiError::ResourceExhausted(format!(
                "{} webhook subscriptions exist; delete one first",
                Limits::WEBHOOKS_MAX
            ))
            .into());
        }
        let (key, secret) = webhooks::secret_of(&secret)?;
        let mut def = crate::storage::webhook::WebhookDef {
            webhook_id: webhooks::new_id(),
            created_at: self.store.now_us().div_euclid(1_000_000),
            secrets: vec![crate::storage::webhook::WebhookSecret { key, not_after: None }],
            generation: 1,
            ..Default::default()
        };
        let paths: Vec<String> = webhooks::UPDATABLE.iter().map(|p| (*p).to_owned()).collect();
        webhooks::apply_fields(&self.store, &mut def, webhook, &paths)?;
        // Deliveries start with the changes after this one.
        self.store.put_webhook(&def, Some(self.store.revision())).map_err(ApiError::from)?;
        drop(admin_lock);
        self.webhooks.reload();
        tracing::info!(webhook = %def.webhook_id, url = %webhooks::loggable(&def.url), "webhook subscription created");
        let webhook = Some(webhooks::to_pb(&self.store, &def)?);
        Ok(Response::new(pb::CreateWebhookResponse { webhook, secret }))
    }

    async fn list_webhooks(
        &self,
        req: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        admin(&req)?.require_unrestricted()?;
        let defs = self.store.webhooks().map_err(ApiError::from)?;
        let webhooks = defs.iter().map(|d| webhooks::to_pb(&self.store, d)).collect::<ApiResult<Vec<_>>>()?;
        Ok(Response::new(pb::ListWebhooksResponse { webhooks }))
    }

    async fn update_webhook(
        &self,
        req: Request<pb::UpdateWebhookRequest>,
    ) -> Result<Response<pb::UpdateWebhookResponse>, Status> {
        admin(&req)?.require_unrestricted()?;
        let pb::UpdateWebhookRequest { webhook, update_mask, rotate_secret, secret, previous_secret_ttl } =
            req.into_inner();
        let webhook = webhook.ok_or_else(|| ApiError::invalid_field("webhook", "required"))?;
        let admin_lock = self.webhooks.admin_lock();
        let mut def = self.webhook_def(&webhook.webhook_id)?;
        // No mask and a rotation: only the rotation.
        let paths = if update_mask.is_none() && rotate_secret {
            Vec::new()
        } else {
            mask_paths(update_mask, &webhooks::UPDATABLE)?
        };
        webhooks::apply_fields(&self.store, &mut def, webhook, &paths)?;
        let mut shown = String::new();
        if rotate_secret {
            let ttl = match previous_secret_ttl {
                None => webhooks::PREVIOUS_SECRET_TTL_SECS,
                Some(d) if (0..=30 * 86_400).contains(&d.seconds) => d.seconds,
                Some(d) => {
                    return Err(ApiError::invalid(
                        "previous_secret_ttl",
                        &format!("{}s", d.seconds),
                        "must be 0 to 30 days",
                    )
                    .into());
                }
            };
            let (key, text) = webhooks::secret_of(&secret)?;
            webhooks::rotate(&mut def, key, self.store.now_us().div_euclid(1_000_000), ttl);
            shown = text;
        } else if !secret.is_empty() {
            return Err(ApiError::invalid_field("secret", "only with rotate_secret").into());
        }
        def.generation += 1;
        self.store.put_webhook(&def, None).map_err(ApiError::from)?;
        drop(admin_lock);
        self.webhooks.reload();
        let webhook = Some(webhooks::to_pb(&self.store, &def)?);
        Ok(Response::new(pb::UpdateWebhookResponse { webhook, secret: shown }))
    }

    async fn delete_webhook(
        &self,
        req: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        admin(&req)?.require_unrestricted()?;
        let pb::DeleteWebhookRequest { webhook_id } = req.into_inner();
        let deleted = {
            let _admin_lock = self.webhooks.admin_lock();
            self.store.delete_webhook(&webhook_id).map_err(ApiError::from)?
        };
        if !deleted {
            return Err(not_found(format!("webhook `{webhook_id}`")).into());
        }
        self.webhooks.reload();
        tracing::info!(webhook = %webhook_id, "webhook subscription deleted");
        Ok(Response::new(pb::DeleteWebhookResponse {}))
    }

    async fn replay_webhook(
        &self,
        req: Request<pb::ReplayWebhookRequest>,
    ) -> Result<Response<pb::ReplayWebhookResponse>, Status> {
        admin(&req)?.require_unrestricted()?;
        let pb::ReplayWebhookRequest { webhook_id, from_revision } = req.into_inner();
        let head = self.store.revision();
        if from_revision == 0 || from_revision > head.saturating_add(1) {
            return Err(ApiError::invalid(
                "from_revision",
                &from_revision.to_string(),
                format!("must be 1 to {} (the next revision)", head.saturating_add(1)),
            )
            .into());
        }
        let def = {
            let _admin_lock = self.webhooks.admin_lock();
            let mut def = self.webhook_def(&webhook_id)?;
            def.paused = false;
            def.last_error.clear();
            def.last_error_at = None;
            def.generation += 1;
            self.store.put_webhook(&def, None).map_err(ApiError::from)?;
            self.webhooks.replay(&webhook_id, from_revision - 1);
            def
        };
        tracing::info!(webhook = %webhook_id, from_revision, "webhook replay");
        let mut shown = webhooks::to_pb(&self.store, &def)?;
        // Where the deliveries resume, once the task has restarted.
        shown.delivered_revision = from_revision - 1;
        shown.lag_revisions = head.saturating_sub(from_revision - 1);
        Ok(Response::new(pb::ReplayWebhookResponse { webhook: Some(shown) }))
    }

    async fn test_webhook(
        &self,
        req: Request<pb::TestWebhookRequest>,
    ) -> Result<Response<pb::TestWebhookResponse>, Status> {
        admin(&req)?.require_unrestricted()?;
        let pb::TestWebhookRequest { webhook_id } = req.into_inner();
        let def = self.webhook_def(&webhook_id)?;
        let message_id = format!("test_{:016x}", rand::random::<u64>());
        let (code, error) = self.webhooks.test(&def, &message_id).await;
        Ok(Response::new(pb::TestWebhookResponse { status_code: i32::from(code), error, message_id }))
    }
}
