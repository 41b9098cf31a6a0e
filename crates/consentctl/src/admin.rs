//! consentctl's configuration commands: profiles, purposes, topics and API keys. The list
//! commands follow `next_page_token` to the end: a list that stops at one page silently lies.

use consentd_proto::pb;
use serde_json::json;

use crate::args::{DryRun, KeyCmd, ProfileCmd, PurposeCmd, SigningKindArg, TopicCmd, WebhookCmd};
use crate::client::{Clients, Failure, exit, usage};
use crate::render::{key_json, print, print_simulation, profile_json, purpose_json, topic_json, ts};

/// Asks for the policy simulation of `req` (a dry run) and prints it.
async fn dry_run(c: &Clients, dry: DryRun, mut req: pb::SimulateCatalogChangeRequest, j: bool) -> Result<u8, Failure> {
    req.samples_per_change = Some(dry.samples);
    let r = c.admin().simulate_catalog_change(req).await?.into_inner();
    print_simulation(&r, j);
    Ok(exit::OK)
}

fn mask(paths: Vec<&str>) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask { paths: paths.into_iter().map(str::to_owned).collect() })
}

const PAGE: i32 = 1000;

pub(crate) async fn profile(c: &Clients, cmd: ProfileCmd, j: bool) -> Result<u8, Failure> {
    let p = match cmd {
        ProfileCmd::Create {
            id,
            name,
            region,
            double_opt_in,
            stop_keywords,
            start_keywords,
            brand_color,
            language,
        } => {
            let p = pb::Profile {
                profile_id: id,
                display_name: name,
                default_region: region,
                double_opt_in: double_opt_in
                    .into_iter()
                    .map(|(channel, mode)| pb::DoubleOptInSetting { channel: channel.pb(), mode: mode.pb() })
                    .collect(),
                extra_stop_keywords: stop_keywords,
                extra_start_keywords: start_keywords,
                brand_color,
                default_language: language,
                ..Default::default()
            };
            c.admin().create_profile(pb::CreateProfileRequest { profile: Some(p) }).await?.into_inner().profile
        }
        ProfileCmd::Get { id } => {
            c.admin().get_profile(pb::GetProfileRequest { profile_id: id }).await?.into_inner().profile
        }
        ProfileCmd::List { all } => {
            let (mut items, mut token) = (Vec::new(), String::new());
            loop {
                let r = c
                    .admin()
                    .list_profiles(pb::ListProfilesRequest {
                        page_size: PAGE,
                        page_token: token,
                        include_inactive: all,
                    })
                    .await?
                    .into_inner();
                items.extend(r.profiles.iter().map(profile_json));
                token = r.next_page_token;
                if token.is_empty() {
                    break;
                }
            }
            print(&json!({ "profiles": items }), j);
            return Ok(exit::OK);
        }
        ProfileCmd::Update {
            id,
            name,
            region,
            double_opt_in,
            stop_keywords,
            start_keywords,
            brand_color,
            language,
            dry_run: dry,
        } => {
            let current = c
                .admin()
                .get_profile(pb::GetProfileRequest { profile_id: id.clone() })
                .await?
                .into_inner()
                .profile
                .unwrap_or_default();
            let mut p = pb::Profile { profile_id: id.clone(), ..Default::default() };
            let mut paths = Vec::new();
            let mut set = |path, given: bool| {
                if given {
                    paths.push(path);
                }
            };
            set("display_name", name.is_some());
            set("default_region", region.is_some());
            set("double_opt_in", !double_opt_in.is_empty());
            set("extra_stop_keywords", stop_keywords.is_some());
            set("extra_start_keywords", start_keywords.is_some());
            set("brand_color", brand_color.is_some());
            set("default_language", language.is_some());
            if paths.is_empty() {
                return Err(usage("nothing to update: give at least one setting".to_owned()));
            }
            p.display_name = name.unwrap_or_default();
            p.default_region = region.unwrap_or_default();
            p.brand_color = brand_color.unwrap_or_default();
            p.default_language = language.unwrap_or_default();
            p.extra_stop_keywords = stop_keywords.unwrap_or_default();
            p.extra_start_keywords = start_keywords.unwrap_or_default();
            // The modes given over the current ones: the others stay.
            p.double_opt_in = current.double_opt_in;
            for (channel, mode) in double_opt_in {
                let (channel, mode) = (channel.pb(), mode.pb());
                p.double_opt_in.retain(|s| s.channel != channel);
                p.double_opt_in.push(pb::DoubleOptInSetting { channel, mode });
            }
            let req = pb::UpdateProfileRequest { profile: Some(p), update_mask: mask(paths) };
            if dry.dry_run {
                let sim = pb::SimulateCatalogChangeRequest {
                    profile_id: id,
                    profile_update: Some(req),
                    ..Default::default()
                };
                return dry_run(c, dry, sim, j).await;
            }
            c.admin().update_profile(req).await?.into_inner().profile
        }
        ProfileCmd::Deactivate { id, dry_run: dry } => {
            if dry.dry_run {
                let sim =
                    pb::SimulateCatalogChangeRequest { profile_id: id, deactivate_profile: true, ..Default::default() };
                return dry_run(c, dry, sim, j).await;
            }
            c.admin().deactivate_profile(pb::DeactivateProfileRequest { profile_id: id }).await?.into_inner().profile
        }
    };
    print(&p.as_ref().map(profile_json).unwrap_or_default(), j);
    Ok(exit::OK)
}

pub(crate) async fn purpose(c: &Clients, cmd: PurposeCmd, j: bool) -> Result<u8, Failure> {
    let p = match cmd {
        PurposeCmd::Create { profile, id, kind, name, models } => {
            let p = pb::Purpose {
                profile_id: profile,
                purpose_id: id,
                display_name: name,
                kind: kind.pb(),
                enforcement: models
                    .into_iter()
                    .map(|(channel, model)| pb::ChannelEnforcement { channel: channel.pb(), model: model.pb() })
                    .collect(),
                ..Default::default()
            };
            c.admin().create_purpose(pb::CreatePurposeRequest { purpose: Some(p) }).await?.into_inner().purpose
        }
        PurposeCmd::List { profile } => {
            let (mut items, mut token) = (Vec::new(), String::new());
            loop {
                let r = c
                    .admin()
                    .list_purposes(pb::ListPurposesRequest {
                        profile_id: profile.clone(),
                        page_size: PAGE,
                        page_token: token,
                        include_inactive: true,
                    })
                    .await?
                    .into_inner();
                items.extend(r.purposes.iter().map(purpose_json));
                token = r.next_page_token;
                if token.is_empty() {
                    break;
                }
            }
            print(&json!({ "purposes": items }), j);
            return Ok(exit::OK);
        }
        PurposeCmd::Update { profile, id, name, models, dry_run: dry } => {
            let current = c
                .admin()
                .get_purpose(pb::GetPurposeRequest { profile_id: profile.clone(), purpose_id: id.clone() })
                .await?
                .into_inner()
                .purpose
                .unwrap_or_default();
            let mut paths = Vec::new();
            if name.is_some() {
                paths.push("display_name");
            }
            if !models.is_empty() {
                paths.push("enforcement");
            }
            if paths.is_empty() {
                return Err(usage("nothing to update: give --name or --model".to_owned()));
            }
            // The models given over the current ones: the other channels keep theirs.
            let mut enforcement = current.enforcement;
            for (channel, model) in models {
                let (channel, model) = (channel.pb(), model.pb());
                enforcement.retain(|e| e.channel != channel);
                enforcement.push(pb::ChannelEnforcement { channel, model });
            }
            let p = pb::Purpose {
                profile_id: profile.clone(),
                purpose_id: id,
                display_name: name.unwrap_or_default(),
                kind: current.kind,
                enforcement,
                ..Default::default()
            };
            let req = pb::UpdatePurposeRequest { purpose: Some(p), update_mask: mask(paths) };
            if dry.dry_run {
                let sim = pb::SimulateCatalogChangeRequest {
                    profile_id: profile,
                    purpose_updates: vec![req],
                    ..Default::default()
                };
                return dry_run(c, dry, sim, j).await;
            }
            c.admin().update_purpose(req).await?.into_inner().purpose
        }
        PurposeCmd::Deactivate { profile, id, dry_run: dry } => {
            if dry.dry_run {
                let sim = pb::SimulateCatalogChangeRequest {
                    profile_id: profile,
                    deactivate_purpose_ids: vec![id],
                    ..Default::default()
                };
                return dry_run(c, dry, sim, j).await;
            }
            c.admin()
                .deactivate_purpose(pb::DeactivatePurposeRequest { profile_id: profile, purpose_id: id })
                .await?
                .into_inner()
                .purpose
        }
    };
    print(&p.as_ref().map(purpose_json).unwrap_or_default(), j);
    Ok(exit::OK)
}

pub(crate) async fn topic(c: &Clients, cmd: TopicCmd, j: bool) -> Result<u8, Failure> {
    let t = match cmd {
        TopicCmd::Create { profile, purpose, id } => {
            let t = pb::Topic { profile_id: profile, purpose_id: purpose, topic_id: id, ..Default::default() };
            c.admin().create_topic(pb::CreateTopicRequest { topic: Some(t) }).await?.into_inner().topic
        }
        TopicCmd::List { profile, purpose } => {
            let (mut items, mut token) = (Vec::new(), String::new());
            loop {
                let r = c
                    .admin()
                    .list_topics(pb::ListTopicsRequest {
                        profile_id: profile.clone(),
                        purpose_id: purpose.clone(),
                        page_size: PAGE,
                        page_token: token,
                        include_inactive: true,
                    })
                    .await?
                    .into_inner();
                items.extend(r.topics.iter().map(topic_json));
                token = r.next_page_token;
                if token.is_empty() {
                    break;
                }
            }
            print(&json!({ "topics": items }), j);
            return Ok(exit::OK);
        }
        TopicCmd::Deactivate { profile, purpose, id, dry_run: dry } => {
            let req = pb::DeactivateTopicRequest { profile_id: profile.clone(), purpose_id: purpose, topic_id: id };
            if dry.dry_run {
                let sim = pb::SimulateCatalogChangeRequest {
                    profile_id: profile,
                    deactivate_topics: vec![req],
                    ..Default::default()
                };
                return dry_run(c, dry, sim, j).await;
            }
            c.admin().deactivate_topic(req).await?.into_inner().topic
        }
    };
    print(&t.as_ref().map(topic_json).unwrap_or_default(), j);
    Ok(exit::OK)
}

pub(crate) async fn key(c: &Clients, cmd: KeyCmd, j: bool) -> Result<u8, Failure> {
    match cmd {
        KeyCmd::Create { scopes, profiles, description, expires_at } => {
            let r = c
                .admin()
                .create_api_key(pb::CreateApiKeyRequest {
                    description,
                    scopes: scopes.iter().map(|s| s.pb()).collect(),
                    profile_ids: profiles,
                    expire_time: expires_at,
                })
                .await?
                .into_inner();
            let mut v = r.api_key.as_ref().map(key_json).unwrap_or_default();
            v["secret"] = json!(r.secret);
            print(&v, j);
            if !j {
                eprintln!(
                    "store the secret now: it is not shown again. Use it with --api-key SECRET or \
                     `export CONSENTD_API_KEY=SECRET`"
                );
            }
        }
        KeyCmd::List => {
            let (mut items, mut token) = (Vec::new(), String::new());
            loop {
                let r = c
                    .admin()
                    .list_api_keys(pb::ListApiKeysRequest { page_size: PAGE, page_token: token })
                    .await?
                    .into_inner();
                items.extend(r.api_keys.iter().map(key_json));
                token = r.next_page_token;
                if token.is_empty() {
                    break;
                }
            }
            print(&json!({ "api_keys": items }), j);
        }
        KeyCmd::Revoke { key_id } => {
            let r = c.admin().revoke_api_key(pb::RevokeApiKeyRequest { key_id }).await?.into_inner();
            print(&r.api_key.as_ref().map(key_json).unwrap_or_default(), j);
        }
        KeyCmd::RotateSigning { kind } => {
            let (pb_kind, name) = match kind {
                SigningKindArg::Link => (pb::SigningKeyKind::Link, "link"),
                SigningKindArg::Receipt => (pb::SigningKeyKind::Receipt, "receipt"),
            };
            let r =
                c.admin().rotate_signing_key(pb::RotateSigningKeyRequest { kind: pb_kind as i32 }).await?.into_inner();
            print(&json!({ "kind": name, "key_id": r.key_id }), j);
        }
    }
    Ok(exit::OK)
}

fn webhook_json(w: &pb::Webhook) -> serde_json::Value {
    let kinds: Vec<String> = w
        .event_kinds
        .iter()
        .map(|k| {
            pb::WebhookEventKind::try_from(*k).map_or_else(
                |_| k.to_string(),
                |k| k.as_str_name().trim_start_matches("WEBHOOK_EVENT_KIND_").to_ascii_lowercase(),
            )
        })
        .collect();
    json!({
        "webhook_id": w.webhook_id,
        "url": w.url,
        "profile_ids": w.profile_ids,
        "event_kinds": kinds,
        "personal_data": w.personal_data,
        "description": w.description,
        "paused": w.paused,
        "delivered_revision": w.delivered_revision,
        "lag_revisions": w.lag_revisions,
        "last_error": w.last_error,
        "last_error_time": ts(&w.last_error_time),
        "create_time": ts(&w.create_time),
        "secrets": w.secrets,
        "delivered_by": w.delivered_by,
    })
}

fn secret_from(path: Option<std::path::PathBuf>) -> Result<String, Failure> {
    match path {
        None => Ok(String::new()),
        Some(p) => std::fs::read_to_string(&p)
            .map(|s| s.trim().to_owned())
            .map_err(|e| Failure { code: exit::NO_INPUT, message: format!("cannot read `{}`: {e}", p.display()) }),
    }
}

fn show_secret(v: &mut serde_json::Value, secret: String, j: bool) {
    if secret.is_empty() {
        return;
    }
    v["secret"] = json!(secret);
    if !j {
        eprintln!("store the signing secret now: it is not shown again");
    }
}

pub(crate) async fn webhook(c: &Clients, cmd: WebhookCmd, j: bool) -> Result<u8, Failure> {
    match cmd {
        WebhookCmd::Create { url, profiles, kinds, no_personal_data, description, secret_file } => {
            let secret = secret_from(secret_file)?;
            let given = !secret.is_empty();
            let r = c
                .admin()
                .create_webhook(pb::CreateWebhookRequest {
                    webhook: Some(pb::Webhook {
                        url,
                        profile_ids: profiles,
                        event_kinds: kinds.iter().map(|k| k.pb()).collect(),
                        personal_data: !no_personal_data,
                        description,
                        ..Default::default()
                    }),
                    secret,
                })
                .await?
                .into_inner();
            let mut v = r.webhook.as_ref().map(webhook_json).unwrap_or_default();
            if !given {
                show_secret(&mut v, r.secret, j);
            }
            print(&v, j);
        }
        WebhookCmd::List => {
            let r = c.admin().list_webhooks(pb::ListWebhooksRequest {}).await?.into_inner();
            print(&json!({ "webhooks": r.webhooks.iter().map(webhook_json).collect::<Vec<_>>() }), j);
        }
        WebhookCmd::Update {
            webhook_id,
            url,
            description,
            pause,
            resume,
            rotate_secret,
            secret_file,
            previous_secret_hours,
        } => {
            let mut paths = Vec::new();
            let mut w = pb::Webhook { webhook_id, ..Default::default() };
            if let Some(url) = url {
                w.url = url;
                paths.push("url".to_owned());
            }
            if let Some(d) = description {
                w.description = d;
                paths.push("description".to_owned());
            }
            if pause || resume {
                w.paused = pause;
                paths.push("paused".to_owned());
            }
            if paths.is_empty() && !rotate_secret {
                return Err(crate::client::usage(
                    "nothing to update: give --url, --description, --pause, --resume or --rotate-secret".to_owned(),
                ));
            }
            let secret = secret_from(secret_file)?;
            let given = !secret.is_empty();
            let r = c
                .admin()
                .update_webhook(pb::UpdateWebhookRequest {
                    webhook: Some(w),
                    update_mask: (!paths.is_empty()).then_some(prost_types::FieldMask { paths }),
                    rotate_secret,
                    secret,
                    previous_secret_ttl: rotate_secret.then_some(prost_types::Duration {
                        seconds: i64::from(previous_secret_hours) * 3600,
                        nanos: 0,
                    }),
                })
                .await?
                .into_inner();
            let mut v = r.webhook.as_ref().map(webhook_json).unwrap_or_default();
            if !given {
                show_secret(&mut v, r.secret, j);
            }
            print(&v, j);
        }
        WebhookCmd::Delete { webhook_id } => {
            c.admin().delete_webhook(pb::DeleteWebhookRequest { webhook_id: webhook_id.clone() }).await?;
            print(&json!({ "deleted": webhook_id }), j);
        }
        WebhookCmd::Test { webhook_id } => {
            let r = c.admin().test_webhook(pb::TestWebhookRequest { webhook_id }).await?.into_inner();
            print(&json!({ "status_code": r.status_code, "error": r.error, "message_id": r.message_id }), j);
            if !r.error.is_empty() {
                return Ok(exit::FAILURE);
            }
        }
        WebhookCmd::Replay { webhook_id, from_revision } => {
            let r =
                c.admin().replay_webhook(pb::ReplayWebhookRequest { webhook_id, from_revision }).await?.into_inner();
            print(&r.webhook.as_ref().map(webhook_json).unwrap_or_default(), j);
        }
    }
    Ok(exit::OK)
}
