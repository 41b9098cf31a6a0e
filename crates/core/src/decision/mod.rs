//! The pure decision engine: model types, the catalog of profiles, purposes and topics, and
//! `decide()`. No I/O, no clock, no tokio, tonic, prost or rocksdb: time is an argument and
//! state comes in through [`StateSource`].
//!
//! The contract is `docs/DECISION-RULES.md`. Rows are checked in this order:
//! - an unknown or deactivated profile is a request error before anything else, because the
//!   profile's default phone region is needed to tell whether a number is valid;
//! - row 2 (purpose and topic) is a property of the request, not of a recipient, so it is
//!   checked once per request ([`Catalog::resolve`]) before any recipient: a request that
//!   names an unknown topic fails even when its contact point is invalid too;
//! - row 1 per recipient ([`check`]), then rows 3 to 12 ([`decide`]).

pub mod catalog;
pub mod engine;
pub mod keywords;
pub mod model;
pub mod simulate;

#[cfg(test)]
mod tests;

pub use catalog::{Catalog, DoubleOptInMode, Profile, Purpose, ResolveError, Resolved, Topic};
pub use engine::{Decision, Outcome, Reason, decide};
pub use model::{
    Channel, ContactState, EnforcementModel, PackedRecord, PurposeKind, PurposeNo, Record, Status, Subject,
    SuppressionKind, Suppressions, TopicNo, UnixSeconds, after_reassignment,
};

use crate::contact;

/// Where the engine reads a contact point's state from: the hot index in the server, a
/// map in tests. The closure form lets an implementation lend its state without copying.
/// A lookup is split into `key` (hash the name) and `with_key` (read the state) so that a
/// batch can `prefetch` the states of several recipients before it reads the first.
pub trait StateSource {
    type Key;

    fn key(&self, profile: &str, channel: Channel, contact_point: &str) -> Self::Key;

    fn with_key<R>(&self, key: &Self::Key, f: impl FnOnce(Option<&ContactState>) -> R) -> R;

    /// Starts fetching the state of `key` into the cache; a hint, default nothing.
    #[inline]
    fn prefetch(&self, key: &Self::Key) {
        let _ = key;
    }
}

/// What one request asks about once its names are resolved.
#[derive(Clone, Copy, Debug)]
pub struct Target<'c> {
    pub profile: &'c Profile,
    pub channel: Channel,
    pub model: EnforcementModel,
    pub subject: Subject,
}

impl<'c> Target<'c> {
    pub fn new(resolved: &Resolved<'c>, channel: Channel) -> Target<'c> {
        Target {
            profile: resolved.profile,
            channel,
            model: resolved.purpose.model(channel),
            subject: resolved.subject(),
        }
    }
}

/// Row 1, then rows 3 to 12, for one raw contact point.
pub fn check<S: StateSource>(target: &Target<'_>, raw_contact_point: &str, source: &S, now: UnixSeconds) -> Decision {
    decide_key(target, key_of(target, raw_contact_point, source).as_ref(), source, now)
}

/// Row 1: the key of a valid contact point's normalized form (`None`: invalid).
#[inline]
fn key_of<S: StateSource>(target: &Target<'_>, raw_contact_point: &str, source: &S) -> Option<S::Key> {
    let region = target.profile.default_region.as_deref();
    contact::with_normalized(target.channel.contact_kind(), raw_contact_point, region, |normalized| {
        source.key(&target.profile.id, target.channel, normalized)
    })
    .ok()
}

/// Rows 3 to 12 for the state of `key`, or row 1's answer for an invalid contact point.
#[inline]
pub fn decide_key<S: StateSource>(target: &Target<'_>, key: Option<&S::Key>, source: &S, now: UnixSeconds) -> Decision {
    match key {
        Some(key) => source.with_key(key, |state| decide(target.model, state, target.subject, now)),
        None => Decision::new(Reason::InvalidContactPoint),
    }
}

/// Recipients whose lookups are started together by [`check_many`]: enough to overlap
/// their cache misses, few enough that the prefetched lines are still cached when read.
const PREFETCH_WINDOW: usize = 16;

/// [`check`] for every contact point of a batch, in order, handing each decision to `each`
/// with its index. Recipients go in windows: normalize and hash a window, prefetch its
/// states, then decide it, so that the window's memory reads overlap instead of queueing.
pub fn check_many<'t, 'c: 't, S: StateSource, P: AsRef<str>>(
    target_of: impl Fn(usize) -> &'t Target<'c>,
    contact_points: &[P],
    source: &S,
    now: UnixSeconds,
    mut each: impl FnMut(usize, Decision),
) {
    check_many_keyed(target_of, contact_points, source, now, |i, _, d| each(i, d));
}

/// [`check_many`], handing `each` the recipient's key too (`None`: an invalid contact
/// point), for callers that name recipients by it (receipts, the revocation fence).
#[inline]
pub fn check_many_keyed<'t, 'c: 't, S: StateSource, P: AsRef<str>>(
    target_of: impl Fn(usize) -> &'t Target<'c>,
    contact_points: &[P],
    source: &S,
    now: UnixSeconds,
    mut each: impl FnMut(usize, Option<&S::Key>, Decision),
) {
    let mut keys: Vec<Option<S::Key>> = Vec::with_capacity(PREFETCH_WINDOW.min(contact_points.len()));
    for (w, window) in contact_points.chunks(PREFETCH_WINDOW).enumerate() {
        let first = w * PREFETCH_WINDOW;
        keys.clear();
        for (j, raw) in window.iter().enumerate() {
            let key = key_of(target_of(first + j), raw.as_ref(), source);
            if let Some(key) = &key {
                source.prefetch(key);
            }
            keys.push(key);
        }
        for (j, key) in keys.iter().enumerate() {
            each(first + j, key.as_ref(), decide_key(target_of(first + j), key.as_ref(), source, now));
        }
    }
}
