//! `AdminService`: profiles, purposes, topics and API keys. Nothing is hard-deleted;
//! deactivation keeps history readable and makes new decisions and writes fail.

use tonic::{Request, Response, Status};

use super::auth::{Scope, admin, hash_secret, new_key_material, principal};
use super::convert::{self, mask_paths};
use super::error::{ApiError, ApiResult, not_found};
use super::pb;
use super::webhooks;
use crate::config::Limits;
use crate::decision::{Profile, Purpose, Topic};
use crate::storage::Store;
use crate::storage::op::SigningKeyKind;
use crate::storage::view::ApiKey;

#[derive(Clone)]
pub struct AdminApi {
    pub store: Store,
    pub webhooks: std::sync::Arc<crate::webhook::Webhooks>,
    /// One policy simulation at a time: each takes every core for up to seconds.
    pub simulations: std::sync::Arc<tokio::sync::Semaphore>,
}

impl AdminApi {
    pub fn new(store: Store, webhooks: std::sync::Arc<crate::webhook::Webhooks>) -> AdminApi {
        AdminApi { store, webhooks, simulations: std::sync::Arc::new(tokio::sync::Semaphore::new(1)) }
    }
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

/// An `UpdateProfile` request, checked: the profile's new values and the fields to take.
/// The real update and the policy simulation apply it alike.
pub(super) struct ProfileUpdate {
    pub new: Profile,
    pub paths: Vec<String>,
}

impl ProfileUpdate {
    pub const FIELDS: [&'static str; 8] = [
        "display_name",
        "default_region",
        "double_opt_in",
        "confirmation_validity",
        "extra_stop_keywords",
        "extra_start_keywords",
        "brand_color",
        "default_language",
    ];

    pub fn from_pb(req: pb::UpdateProfileRequest) -> ApiResult<ProfileUpdate> {
        let pb::UpdateProfileRequest { profile, update_mask } = req;
        let new = convert::profile_from_pb(profile.ok_or_else(|| ApiError::invalid_field("profile", "required"))?)?;
        let paths = mask_paths(update_mask, &ProfileUpdate::FIELDS)?;
        Ok(ProfileUpdate { new, paths })
    }

    pub fn apply(&self, current: &mut Profile) {
        let new = &self.new;
        for path in &self.paths {
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
    }
}

/// An `UpdatePurpose` request, checked, like [`ProfileUpdate`].
pub(super) struct PurposeUpdate {
    pub new: Purpose,
    pub paths: Vec<String>,
}

impl PurposeUpdate {
    pub fn from_pb(req: pb::UpdatePurposeRequest) -> ApiResult<PurposeUpdate> {
        let pb::UpdatePurposeRequest { purpose, update_mask } = req;
        let new = convert::purpose_from_pb(purpose.ok_or_else(|| ApiError::invalid_field("purpose", "required"))?)?;
        let paths = mask_paths(update_mask, &["display_name", "enforcement"])?;
        Ok(PurposeUpdate { new, paths })
    }

    pub fn apply(&self, current: &mut Purpose) {
        for path in &self.paths {
            match path.as_str() {
                "display_name" => current.display_name = self.new.display_name.clone(),
                _ => current.models = self.new.models,
            }
        }
    }
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
        let update = ProfileUpdate::from_pb(req.into_inner())?;
        p.may(&update.new.id)?;
        let stored = self
            .store
            .update_profile(&update.new.id, |current: &mut Profile| update.apply(current))
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
        let update = PurposeUpdate::from_pb(req.into_inner())?;
        p.may(&update.new.profile_id)?;
        let stored = self
            .store
            .update_purpose(&update.new.profile_id, &update.new.id, |current: &mut Purpose| update.apply(current))
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

    async fn simulate_catalog_change(
        &self,
        req: Request<pb::SimulateCatalogChangeRequest>,
    ) -> Result<Response<pb::SimulateCatalogChangeResponse>, Status> {
        let p = admin(&req)?;
        Ok(Response::new(super::simulate::simulate(self, &p, req.into_inner()).await?))
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
            receipt_keys: receipt_keys(&self.store),
        }))
    }

    async fn create_webhook(
        &self,
        req: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::CreateWebhookResponse>, Status> {
        webhooks::create(&self.store, &self.webhooks, req).await
    }

    async fn list_webhooks(
        &self,
        req: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        webhooks::list(&self.store, &self.webhooks, req).await
    }

    async fn update_webhook(
        &self,
        req: Request<pb::UpdateWebhookRequest>,
    ) -> Result<Response<pb::UpdateWebhookResponse>, Status> {
        webhooks::update(&self.store, &self.webhooks, req).await
    }

    async fn delete_webhook(
        &self,
        req: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        webhooks::delete(&self.store, &self.webhooks, req).await
    }

    async fn replay_webhook(
        &self,
        req: Request<pb::ReplayWebhookRequest>,
    ) -> Result<Response<pb::ReplayWebhookResponse>, Status> {
        webhooks::replay(&self.store, &self.webhooks, req).await
    }

    async fn test_webhook(
        &self,
        req: Request<pb::TestWebhookRequest>,
    ) -> Result<Response<pb::TestWebhookResponse>, Status> {
        webhooks::test(&self.store, &self.webhooks, req).await
    }

    async fn rotate_signing_key(
        &self,
        req: Request<pb::RotateSigningKeyRequest>,
    ) -> Result<Response<pb::RotateSigningKeyResponse>, Status> {
        let p = admin(&req)?;
        p.require_unrestricted()?;
        let kind = req.into_inner().kind;
        let kind = match pb::SigningKeyKind::try_from(kind) {
            Ok(pb::SigningKeyKind::Link) => SigningKeyKind::Link,
            Ok(pb::SigningKeyKind::Receipt) => SigningKeyKind::Receipt,
            _ => {
                return Err(ApiError::invalid(
                    "kind",
                    &kind.to_string(),
                    "SIGNING_KEY_KIND_LINK (1) or SIGNING_KEY_KIND_RECEIPT (2)",
                )
                .into());
            }
        };
        let id = self.store.rotate_signing_key(kind).await.map_err(ApiError::from)?;
        tracing::info!(?kind, id, "signing key rotated");
        Ok(Response::new(pb::RotateSigningKeyResponse { key_id: u32::from(id) }))
    }
}

/// The public halves of the store's receipt keys.
pub fn receipt_keys(store: &crate::storage::Store) -> Vec<pb::ReceiptKey> {
    let keys = store.receipt_keys();
    let signing = keys.signing().id;
    keys.all()
        .iter()
        .map(|k| pb::ReceiptKey { id: u32::from(k.id), public_key: k.public_key().to_vec(), signing: k.id == signing })
        .collect()
}
