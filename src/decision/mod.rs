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

#[cfg(test)]
mod tests;

pub use catalog::{Catalog, DoubleOptInMode, Profile, Purpose, ResolveError, Resolved, Topic};
pub use engine::{Decision, Outcome, Reason, decide};
pub use model::{
    Channel, ContactState, EnforcementModel, PackedRecord, PurposeKind, PurposeNo, Record, Status, Subject,
    SuppressionKind, Suppressions, TopicNo, UnixSeconds,
};

use crate::contact;

/// Where the engine reads a contact point's state from: the hot index in the server, a
/// map in tests. The closure form lets an implementation lend its state without copying.
pub trait StateSource {
    fn with_state<R>(
        &self,
        profile: &str,
        channel: Channel,
        contact_point: &str,
        f: impl FnOnce(Option<&ContactState>) -> R,
    ) -> R;
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
    let region = target.profile.default_region.as_deref();
    contact::with_normalized(target.channel.contact_kind(), raw_contact_point, region, |normalized| {
        source.with_state(&target.profile.id, target.channel, normalized, |state| {
            decide(target.model, state, target.subject, now)
        })
    })
    .unwrap_or_else(|_| Decision::new(Reason::InvalidContactPoint))
}
