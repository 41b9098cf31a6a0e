//! Compliance profiles, purposes and topics as plain types, and the resolution of a
//! request's names to what the engine needs (row 2 of DECISION-RULES.md).

use std::collections::{BTreeMap, HashMap};

use super::model::{Channel, EnforcementModel, PurposeKind, PurposeNo, Subject, TopicNo, UnixSeconds};

/// Double opt-in per channel, set on the profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub enum DoubleOptInMode {
    #[default]
    Off,
    /// Every opt-in waits for confirmation.
    EveryOptIn,
    /// Only opt-ins of contact points that have no record yet for the subject.
    NewContactPoints,
}

/// Default confirmation validity of a double opt-in: 28 days.
pub const CONFIRMATION_VALIDITY_DEFAULT_SECS: i64 = 28 * 24 * 3600;

/// A brand or legal entity with its own settings.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    pub id: String,
    pub display_name: String,
    /// ISO 3166-1 alpha-2, upper-case, for phone numbers without a country code.
    pub default_region: Option<String>,
    /// The edge's accent colour, `#rrggbb`.
    pub brand_color: Option<String>,
    /// The edge's language when the browser's is neither Dutch nor English: "en" or "nl".
    pub default_language: Option<String>,
    /// Indexed by [`Channel::index`].
    pub double_opt_in: [DoubleOptInMode; Channel::COUNT],
    pub confirmation_validity_secs: i64,
    /// Upper-case, trimmed.
    pub extra_stop_keywords: Vec<String>,
    pub extra_start_keywords: Vec<String>,
    pub active: bool,
    pub created_at: UnixSeconds,
    pub updated_at: UnixSeconds,
}

impl Profile {
    pub fn new(id: &str) -> Profile {
        Profile {
            id: id.to_owned(),
            display_name: String::new(),
            default_region: None,
            brand_color: None,
            default_language: None,
            double_opt_in: [DoubleOptInMode::Off; Channel::COUNT],
            confirmation_validity_secs: CONFIRMATION_VALIDITY_DEFAULT_SECS,
            extra_stop_keywords: Vec::new(),
            extra_start_keywords: Vec::new(),
            active: true,
            created_at: 0,
            updated_at: 0,
        }
    }
}

/// Why a message is sent, with an enforcement model per channel.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Purpose {
    pub profile_id: String,
    pub id: String,
    pub display_name: String,
    pub kind: PurposeKind,
    /// Indexed by [`Channel::index`].
    pub models: [EnforcementModel; Channel::COUNT],
    pub active: bool,
    /// Server-wide number used in the hot index; assigned once, never reused.
    pub no: PurposeNo,
    pub created_at: UnixSeconds,
    pub updated_at: UnixSeconds,
}

impl Purpose {
    /// A purpose with its kind's default model on every channel.
    pub fn new(profile_id: &str, id: &str, kind: PurposeKind, no: PurposeNo) -> Purpose {
        Purpose {
            profile_id: profile_id.to_owned(),
            id: id.to_owned(),
            display_name: String::new(),
            kind,
            models: [kind.default_model(); Channel::COUNT],
            active: true,
            no,
            created_at: 0,
            updated_at: 0,
        }
    }

    pub fn model(&self, channel: Channel) -> EnforcementModel {
        self.models[channel.index()]
    }
}

/// A subcategory of a purpose; inherits the purpose's enforcement.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Topic {
    pub profile_id: String,
    pub purpose_id: String,
    pub id: String,
    pub display_name: String,
    pub active: bool,
    /// Server-wide number used in the hot index; 0 is reserved for "no topic".
    pub no: TopicNo,
    pub created_at: UnixSeconds,
    pub updated_at: UnixSeconds,
}

/// A request named something the catalog does not have (row 2): an error for the whole
/// request, never a per-recipient block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("profile `{0}` does not exist")]
    UnknownProfile(String),
    #[error("profile `{0}` is deactivated")]
    ProfileInactive(String),
    #[error("purpose `{purpose}` is not a purpose of profile `{profile}`")]
    UnknownPurpose { profile: String, purpose: String },
    #[error("purpose `{0}` is deactivated")]
    PurposeInactive(String),
    #[error("topic `{topic}` is not a topic of purpose `{purpose}`")]
    UnknownTopic { purpose: String, topic: String },
    #[error("topic `{0}` is deactivated")]
    TopicInactive(String),
}

impl ResolveError {
    /// The request field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            ResolveError::UnknownProfile(_) | ResolveError::ProfileInactive(_) => "profile_id",
            ResolveError::UnknownPurpose { .. } | ResolveError::PurposeInactive(_) => "purpose_id",
            ResolveError::UnknownTopic { .. } | ResolveError::TopicInactive(_) => "topic_id",
        }
    }
}

/// The catalog of one server: every profile, purpose and topic, active or not.
///
/// Immutable once built; the store swaps in a new one after each admin change, so a
/// decision never waits for an admin write.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    profiles: BTreeMap<String, Profile>,
    purposes: BTreeMap<(String, String), Purpose>,
    topics: BTreeMap<(String, String, String), Topic>,
    purpose_by_no: HashMap<PurposeNo, (String, String)>,
    topic_by_no: HashMap<TopicNo, (String, String, String)>,
}

/// A purpose (and topic) resolved for one profile.
#[derive(Clone, Copy, Debug)]
pub struct Resolved<'c> {
    pub profile: &'c Profile,
    pub purpose: &'c Purpose,
    pub topic: Option<&'c Topic>,
}

impl Resolved<'_> {
    pub fn subject(&self) -> Subject {
        Subject { purpose: self.purpose.no, topic: self.topic.map_or(0, |t| t.no) }
    }
}

impl Catalog {
    pub fn insert_profile(&mut self, profile: Profile) {
        self.profiles.insert(profile.id.clone(), profile);
    }

    pub fn insert_purpose(&mut self, purpose: Purpose) {
        let key = (purpose.profile_id.clone(), purpose.id.clone());
        self.purpose_by_no.insert(purpose.no, key.clone());
        self.purposes.insert(key, purpose);
    }

    pub fn insert_topic(&mut self, topic: Topic) {
        let key = (topic.profile_id.clone(), topic.purpose_id.clone(), topic.id.clone());
        self.topic_by_no.insert(topic.no, key.clone());
        self.topics.insert(key, topic);
    }

    pub fn profile(&self, id: &str) -> Option<&Profile> {
        self.profiles.get(id)
    }

    pub fn purpose(&self, profile: &str, id: &str) -> Option<&Purpose> {
        self.purposes.get(&(profile.to_owned(), id.to_owned()))
    }

    pub fn topic(&self, profile: &str, purpose: &str, id: &str) -> Option<&Topic> {
        self.topics.get(&(profile.to_owned(), purpose.to_owned(), id.to_owned()))
    }

    pub fn purpose_by_no(&self, no: PurposeNo) -> Option<&Purpose> {
        self.purpose_by_no.get(&no).and_then(|k| self.purposes.get(k))
    }

    pub fn topic_by_no(&self, no: TopicNo) -> Option<&Topic> {
        self.topic_by_no.get(&no).and_then(|k| self.topics.get(k))
    }

    pub fn profiles(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.values()
    }

    pub fn purposes_of<'a>(&'a self, profile: &'a str) -> impl Iterator<Item = &'a Purpose> + 'a {
        self.purposes.values().filter(move |p| p.profile_id == profile)
    }

    pub fn topics(&self) -> impl Iterator<Item = &Topic> {
        self.topics.values()
    }

    pub fn topics_of<'a>(&'a self, profile: &'a str, purpose: &'a str) -> impl Iterator<Item = &'a Topic> + 'a {
        self.topics.values().filter(move |t| t.profile_id == profile && t.purpose_id == purpose)
    }

    /// The highest purpose and topic numbers in use, so new ones are never reused.
    pub fn max_numbers(&self) -> (PurposeNo, TopicNo) {
        (self.purpose_by_no.keys().copied().max().unwrap_or(0), self.topic_by_no.keys().copied().max().unwrap_or(0))
    }

    /// An active profile.
    pub fn active_profile(&self, profile: &str) -> Result<&Profile, ResolveError> {
        let p = self.profile(profile).ok_or_else(|| ResolveError::UnknownProfile(profile.to_owned()))?;
        if !p.active {
            return Err(ResolveError::ProfileInactive(profile.to_owned()));
        }
        Ok(p)
    }

    /// Resolves row 2: the profile must exist and be active, the purpose must belong to it,
    /// the topic (empty: none) to the purpose. Deactivated entries are refused too: a
    /// deactivated purpose must not keep sending.
    pub fn resolve(&self, profile: &str, purpose: &str, topic: &str) -> Result<Resolved<'_>, ResolveError> {
        let profile = self.active_profile(profile)?;
        let purpose_rec = self
            .purpose(&profile.id, purpose)
            .ok_or_else(|| ResolveError::UnknownPurpose { profile: profile.id.clone(), purpose: purpose.to_owned() })?;
        if !purpose_rec.active {
            return Err(ResolveError::PurposeInactive(purpose.to_owned()));
        }
        let topic_rec = if topic.is_empty() {
            None
        } else {
            let t = self
                .topic(&profile.id, purpose, topic)
                .ok_or_else(|| ResolveError::UnknownTopic { purpose: purpose.to_owned(), topic: topic.to_owned() })?;
            if !t.active {
                return Err(ResolveError::TopicInactive(topic.to_owned()));
            }
            Some(t)
        };
        Ok(Resolved { profile, purpose: purpose_rec, topic: topic_rec })
    }
}
