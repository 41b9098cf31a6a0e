//! Minting the recipient's links: what `MintLinks` (and senders' headers) carry, and the
//! URL layout of the edge's pages. Below both the API, which mints them, and the edge,
//! which serves them.
//!
//! A link is a write capability handed to its recipient (a preferences link opts in as
//! well as out), so only a key with the `write` scope may mint one (`api::decision`), and
//! the link names that key: every change made with it is recorded with it (`prefs::actor`).

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

/// The double opt-in page of a confirmation token under `base` (no trailing `/`): the
/// edge's `/c/{token}` route, named here beside the other links' layout.
pub fn confirmation_url(base: &str, token: &str) -> String {
    format!("{base}/c/{token}")
}

/// Signs both links for `contact_point` (normalized) under `base` (no trailing `/`), on
/// behalf of the API key `minted_by`.
#[expect(clippy::too_many_arguments, reason = "each is one claim of the link; a struct would only rename them")]
pub fn mint(
    store: &Store,
    base: &str,
    profile_id: &str,
    channel: Channel,
    contact_point: &str,
    subject: Subject,
    now: UnixSeconds,
    minted_by: &str,
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
        minted_by: minted_by.to_owned(),
    };
    let unsubscribe_url = format!("{base}/u/{}", keys.sign(&claims));
    claims.action = LinkAction::Preferences;
    let preferences_url = format!("{base}/p/{}", keys.sign(&claims));
    Links { unsubscribe_url, preferences_url }
}
