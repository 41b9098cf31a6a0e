//! Stored forms of profiles, purposes and topics, and their conversion to the engine's
//! catalog types.

use std::collections::HashMap;

use prost::Message;

use super::Damage;
use super::codec::{StoredApiKey, StoredProfile, StoredPurpose, StoredTopic};
use super::view::ApiKey;
use consentd_core::decision::{
    Catalog, Channel, DoubleOptInMode, EnforcementModel, Profile, Purpose, PurposeKind, Topic,
};

pub fn profile_key(id: &str) -> Vec<u8> {
    format!("profile/{id}").into_bytes()
}

pub fn purpose_key(profile: &str, id: &str) -> Vec<u8> {
    format!("purpose/{profile}/{id}").into_bytes()
}

pub fn topic_key(profile: &str, purpose: &str, id: &str) -> Vec<u8> {
    format!("topic/{profile}/{purpose}/{id}").into_bytes()
}

pub fn api_key_key(id: &str) -> Vec<u8> {
    format!("apikey/{id}").into_bytes()
}

pub(super) fn doi_to_u32(mode: DoubleOptInMode) -> u32 {
    match mode {
        DoubleOptInMode::Off => 0,
        DoubleOptInMode::EveryOptIn => 1,
        DoubleOptInMode::NewContactPoints => 2,
    }
}

/// A stored profile's lenient reading: an unknown number is "off" (profiles written
/// before a mode existed); the log's reading ([`doi_from_stored`]) refuses it instead.
fn doi_from_u32(n: u32) -> DoubleOptInMode {
    doi_from_stored(n).unwrap_or(DoubleOptInMode::Off)
}

pub(super) fn doi_from_stored(n: u32) -> Option<DoubleOptInMode> {
    match n {
        0 => Some(DoubleOptInMode::Off),
        1 => Some(DoubleOptInMode::EveryOptIn),
        2 => Some(DoubleOptInMode::NewContactPoints),
        _ => None,
    }
}

fn model_to_u32(m: EnforcementModel) -> u32 {
    match m {
        EnforcementModel::Restrictive => 0,
        EnforcementModel::NonRestrictive => 1,
        EnforcementModel::Disabled => 2,
    }
}

fn model_from_u32(n: u32) -> Option<EnforcementModel> {
    match n {
        0 => Some(EnforcementModel::Restrictive),
        1 => Some(EnforcementModel::NonRestrictive),
        2 => Some(EnforcementModel::Disabled),
        _ => None,
    }
}

fn kind_to_u32(k: PurposeKind) -> u32 {
    match k {
        PurposeKind::Commercial => 0,
        PurposeKind::Transactional => 1,
        PurposeKind::Custom => 2,
    }
}

fn kind_from_u32(n: u32) -> Option<PurposeKind> {
    match n {
        0 => Some(PurposeKind::Commercial),
        1 => Some(PurposeKind::Transactional),
        2 => Some(PurposeKind::Custom),
        _ => None,
    }
}

impl From<&Profile> for StoredProfile {
    fn from(p: &Profile) -> Self {
        StoredProfile {
            id: p.id.clone(),
            display_name: p.display_name.clone(),
            default_region: p.default_region.clone().unwrap_or_default(),
            double_opt_in: p.double_opt_in.iter().map(|m| doi_to_u32(*m)).collect(),
            confirmation_validity_secs: p.confirmation_validity_secs,
            extra_stop_keywords: p.extra_stop_keywords.clone(),
            extra_start_keywords: p.extra_start_keywords.clone(),
            active: p.active,
            created_at: p.created_at,
            updated_at: p.updated_at,
            brand_color: p.brand_color.clone().unwrap_or_default(),
            default_language: p.default_language.clone().unwrap_or_default(),
        }
    }
}

impl From<&StoredProfile> for Profile {
    fn from(s: &StoredProfile) -> Self {
        let mut double_opt_in = [DoubleOptInMode::Off; Channel::COUNT];
        for (slot, n) in double_opt_in.iter_mut().zip(&s.double_opt_in) {
            *slot = doi_from_u32(*n);
        }
        Profile {
            id: s.id.clone(),
            display_name: s.display_name.clone(),
            default_region: (!s.default_region.is_empty()).then(|| s.default_region.clone()),
            brand_color: (!s.brand_color.is_empty()).then(|| s.brand_color.clone()),
            default_language: (!s.default_language.is_empty()).then(|| s.default_language.clone()),
            double_opt_in,
            confirmation_validity_secs: s.confirmation_validity_secs,
            extra_stop_keywords: s.extra_stop_keywords.clone(),
            extra_start_keywords: s.extra_start_keywords.clone(),
            active: s.active,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

impl From<&Purpose> for StoredPurpose {
    fn from(p: &Purpose) -> Self {
        StoredPurpose {
            profile_id: p.profile_id.clone(),
            id: p.id.clone(),
            display_name: p.display_name.clone(),
            kind: kind_to_u32(p.kind),
            models: p.models.iter().map(|m| model_to_u32(*m)).collect(),
            active: p.active,
            no: u32::from(p.no),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

impl TryFrom<&StoredPurpose> for Purpose {
    type Error = Damage;

    fn try_from(s: &StoredPurpose) -> Result<Self, Damage> {
        let kind = kind_from_u32(s.kind)
            .ok_or_else(|| Damage::new(format!("purpose `{}` has unknown kind {}", s.id, s.kind)))?;
        let no = u16::try_from(s.no)
            .map_err(|_| Damage::new(format!("purpose `{}` has number {} out of range", s.id, s.no)))?;
        let mut purpose = Purpose::new(&s.profile_id, &s.id, kind, no);
        for (channel, n) in Channel::ALL.iter().zip(&s.models) {
            purpose.models[channel.index()] =
                model_from_u32(*n).ok_or_else(|| Damage::new(format!("purpose `{}` has unknown model {n}", s.id)))?;
        }
        purpose.display_name = s.display_name.clone();
        purpose.active = s.active;
        purpose.created_at = s.created_at;
        purpose.updated_at = s.updated_at;
        Ok(purpose)
    }
}

impl From<&Topic> for StoredTopic {
    fn from(t: &Topic) -> Self {
        StoredTopic {
            profile_id: t.profile_id.clone(),
            purpose_id: t.purpose_id.clone(),
            id: t.id.clone(),
            display_name: t.display_name.clone(),
            active: t.active,
            no: u32::from(t.no),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

impl TryFrom<&StoredTopic> for Topic {
    type Error = Damage;

    fn try_from(s: &StoredTopic) -> Result<Self, Damage> {
        Ok(Topic {
            profile_id: s.profile_id.clone(),
            purpose_id: s.purpose_id.clone(),
            id: s.id.clone(),
            display_name: s.display_name.clone(),
            active: s.active,
            no: u16::try_from(s.no)
                .map_err(|_| Damage::new(format!("topic `{}` has number {} out of range", s.id, s.no)))?,
            created_at: s.created_at,
            updated_at: s.updated_at,
        })
    }
}

/// Adds one `config` entry to the catalog (or to `keys`, an API key; without `keys`, API
/// keys are skipped: the catalog's history has none).
pub(super) fn add_config_entry(
    catalog: &mut Catalog,
    keys: Option<&mut HashMap<String, ApiKey>>,
    k: &[u8],
    v: &[u8],
) -> Result<(), Damage> {
    let name = String::from_utf8_lossy(k).into_owned();
    let bad = |e: String| Damage(format!("configuration entry `{name}` is damaged: {e}"));
    if name.starts_with("profile/") {
        let p = StoredProfile::decode(v).map_err(|e| bad(e.to_string()))?;
        catalog.insert_profile(Profile::from(&p));
    } else if name.starts_with("purpose/") {
        let p = StoredPurpose::decode(v).map_err(|e| bad(e.to_string()))?;
        catalog.insert_purpose(Purpose::try_from(&p).map_err(|d| bad(d.0))?);
    } else if name.starts_with("topic/") {
        let t = StoredTopic::decode(v).map_err(|e| bad(e.to_string()))?;
        catalog.insert_topic(Topic::try_from(&t).map_err(|d| bad(d.0))?);
    } else if name.starts_with("apikey/") {
        if let Some(keys) = keys {
            let key = StoredApiKey::decode(v).map_err(|e| bad(e.to_string()))?;
            let key = ApiKey::try_from(key).map_err(|d| bad(d.0))?;
            keys.insert(key.key_id.clone(), key);
        }
    } else {
        return Err(bad("unknown entry".to_owned()));
    }
    Ok(())
}
