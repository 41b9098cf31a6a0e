//! What the edge's pages and JSON API show and change: one contact point's purposes and
//! topics on one channel, read from the store and written back as ordinary consent changes
//! (source, proof and ordering as for any other writer).

use serde::Serialize;

use crate::decision::{EnforcementModel, PurposeKind, Status, Subject};
use crate::storage::link::LinkClaims;
use crate::storage::model::{ChangeResult, ConsentChange, ContactRef, Proof, Source};
use crate::storage::view::Contact;
use crate::storage::{StorageError, Store};

/// The actor recorded for changes made through the edge: for a link, followed by the id of
/// the API key that minted it (`edge:ck_…`), so history names the sender that handed the
/// link out; alone for links minted before that was recorded, and for confirmations.
pub const EDGE_ACTOR: &str = "edge";

/// The actor of a change made with the link `claims`.
pub fn actor(claims: &LinkClaims) -> String {
    if claims.minted_by.is_empty() { EDGE_ACTOR.to_owned() } else { format!("{EDGE_ACTOR}:{}", claims.minted_by) }
}

/// One line of the preference center.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    pub purpose_id: String,
    /// Empty for the purpose itself.
    pub topic_id: String,
    pub name: String,
    pub commercial: bool,
    /// `opted_in`, `opted_out`, `pending` or `not_set`.
    pub status: &'static str,
    /// Whether messages of this kind reach the person now.
    pub subscribed: bool,
    #[serde(skip)]
    pub subject: Subject,
}

/// The person's choices on one channel of one profile. No revision: revisions count every
/// tenant's writes, which a link holder has no business seeing.
#[derive(Clone, Debug, Serialize)]
pub struct Preferences {
    pub profile_id: String,
    pub profile_name: String,
    pub channel: &'static str,
    pub items: Vec<Item>,
}

/// Why the edge cannot serve a link.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error("this link is not valid")]
    Invalid,
    #[error("this link has expired")]
    Expired,
    #[error("this profile no longer exists")]
    Gone,
    /// The link's contact point had its share of changes (`Limits::EDGE_LINK_CHANGES_PER_SEC`).
    #[error("too many changes through this link; try again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn status_of(contact: Option<&Contact>, subject: Subject, now: i64) -> Option<Status> {
    let r = contact?
        .records
        .iter()
        .find(|r| r.purpose_no == u32::from(subject.purpose) && r.topic_no == u32::from(subject.topic))?;
    // A pending record past its deadline counts as not set, as in decisions.
    match r.status {
        Status::Pending if r.expires_at.is_some_and(|t| t <= now) => None,
        s => Some(s),
    }
}

/// The status of the link's own subject as stored (`None`: not set, or a lapsed pending).
pub fn subject_status(store: &Store, claims: &LinkClaims) -> Result<Option<Status>, EdgeError> {
    let contact = store.get_contact(&claims.contact)?;
    let now = store.now_us().div_euclid(1_000_000);
    Ok(status_of(contact.as_ref(), Subject { purpose: claims.purpose_no, topic: claims.topic_no }, now))
}

/// Every active purpose of the profile that needs consent on the link's channel, each
/// followed by its active topics.
pub fn read(store: &Store, claims: &LinkClaims) -> Result<Preferences, EdgeError> {
    let catalog = store.catalog();
    let profile = catalog.profile(&claims.profile_id).filter(|p| p.active).ok_or(EdgeError::Gone)?;
    let contact = store.get_contact(&claims.contact)?;
    let now = store.now_us().div_euclid(1_000_000);
    let mut items = Vec::new();
    let mut purposes: Vec<_> = catalog
        .purposes_of(&profile.id)
        .filter(|p| p.active && p.model(claims.channel) != EnforcementModel::Disabled)
        .collect();
    purposes.sort_by_key(|p| p.no);
    for p in purposes {
        let restrictive = p.model(claims.channel) == EnforcementModel::Restrictive;
        let purpose_status = status_of(contact.as_ref(), Subject::purpose(p.no), now);
        let purpose_on = match purpose_status {
            Some(Status::OptedIn) => true,
            Some(Status::OptedOut | Status::Pending) => false,
            None => !restrictive,
        };
        items.push(item(
            p.id.clone(),
            String::new(),
            p.display_name.clone(),
            p.kind,
            Subject::purpose(p.no),
            purpose_status,
            purpose_on,
        ));
        let mut topics: Vec<_> = catalog.topics_of(&profile.id, &p.id).filter(|t| t.active).collect();
        topics.sort_by_key(|t| t.no);
        for t in topics {
            let subject = Subject { purpose: p.no, topic: t.no };
            let status = status_of(contact.as_ref(), subject, now);
            let on = purpose_on
                && match status {
                    Some(Status::OptedIn) => true,
                    Some(Status::OptedOut | Status::Pending) => false,
                    None => !restrictive,
                };
            items.push(item(p.id.clone(), t.id.clone(), t.display_name.clone(), p.kind, subject, status, on));
        }
    }
    Ok(Preferences {
        profile_id: profile.id.clone(),
        profile_name: shown_name(profile),
        channel: claims.channel.as_str(),
        items,
    })
}

fn item(
    purpose_id: String,
    topic_id: String,
    name: String,
    kind: PurposeKind,
    subject: Subject,
    status: Option<Status>,
    subscribed: bool,
) -> Item {
    let name =
        if name.is_empty() { if topic_id.is_empty() { purpose_id.clone() } else { topic_id.clone() } } else { name };
    Item {
        purpose_id,
        topic_id,
        name,
        commercial: kind == PurposeKind::Commercial,
        status: status.map_or("not_set", Status::as_str),
        subscribed,
        subject,
    }
}

/// The name a page shows for a profile: its display name, else its id.
pub fn shown_name(p: &crate::decision::Profile) -> String {
    if p.display_name.is_empty() { p.id.clone() } else { p.display_name.clone() }
}

/// The click's evidence.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    pub ip: String,
    pub user_agent: String,
}

/// Records one opt-in or opt-out of `item` for the link's contact point.
pub async fn set(
    store: &Store,
    claims: &LinkClaims,
    purpose_id: &str,
    topic_id: &str,
    status: Status,
    source: Source,
    evidence: &Evidence,
) -> Result<ChangeResult, EdgeError> {
    let (subject, double_opt_in, validity) = {
        let catalog = store.catalog();
        let resolved = catalog.resolve(&claims.profile_id, purpose_id, topic_id).map_err(|_| EdgeError::Gone)?;
        let profile = resolved.profile;
        (resolved.subject(), profile.double_opt_in[claims.channel.index()], profile.confirmation_validity_secs)
    };
    let change = ConsentChange {
        contact: ContactRef {
            profile_id: claims.profile_id.clone(),
            channel: claims.channel,
            contact_point: claims.contact_point.clone(),
        },
        purpose_id: purpose_id.to_owned(),
        topic_id: topic_id.to_owned(),
        subject,
        status,
        occurred_at_us: store.now_us(),
        source,
        actor: actor(claims),
        reason: String::new(),
        proof: Some(Proof {
            ip_address: evidence.ip.clone(),
            user_agent: super::clip(&evidence.user_agent, crate::config::Limits::TEXT_BYTES_MAX),
            ..Proof::default()
        }),
        expires_at: None,
        double_opt_in,
        confirmation_validity_secs: validity,
        idempotency: None,
    };
    Ok(store.set_consent(change).await?)
}

/// The purpose and topic ids a link's numbers name (a link outlives renames, not numbers).
pub fn subject_ids(store: &Store, claims: &LinkClaims) -> Option<(String, String)> {
    let catalog = store.catalog();
    let purpose = catalog.purpose_by_no(claims.purpose_no).filter(|p| p.profile_id == claims.profile_id)?;
    let topic = match claims.topic_no {
        0 => String::new(),
        n => catalog.topic_by_no(n)?.id.clone(),
    };
    Some((purpose.id.clone(), topic))
}
