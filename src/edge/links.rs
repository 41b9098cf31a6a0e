//! Minting the recipient's links: what `MintLinks` (and senders' headers) carry.

use crate::decision::{Channel, Subject, UnixSeconds};
use crate::storage::Store;
use crate::storage::link::{LinkAction, LinkClaims};

/// The value of the `List-Unsubscribe-Post` header (RFC 8058), and the body a one-click
/// POST carries.
pub const LIST_UNSUBSCRIBE_POST: &str = "List-Unsubscribe=One-Click";

/// One recipient's links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Links {
    pub unsubscribe_url: String,
    pub preferences_url: String,
}

/// Signs both links for `contact_point` (normalized) under `base` (no trailing `/`).
pub fn mint(
    store: &Store,
    base: &str,
    profile_id: &str,
    channel: Channel,
    contact_point: &str,
    subject: Subject,
    now: UnixSeconds,
) -> Links {
    let keys = store.link_keys();
    let mut claims = LinkClaims {
        action: LinkAction::Unsubscribe,
        profile_id: profile_id.to_owned(),
        channel,
        contact: store.contact_key(profile_id, channel, contact_point),
        contact_point: contact_point.to_owned(),
        purpose_no: subject.purpose,
        topic_no: subject.topic,
        issued_at: now,
    };
    let unsubscribe_url = format!("{base}/u/{}", keys.sign(&claims));
    claims.action = LinkAction::Preferences;
    let preferences_url = format!("{base}/p/{}", keys.sign(&claims));
    Links { unsubscribe_url, preferences_url }
}
