//! The revocation fence of a check stream (`changed_since_revision`): of a list decided at
//! revision R and sent later, the recipients whose decision changed since.
//!
//! A recipient's decision changes for one of three causes, each found without reading the
//! history of the others:
//!
//! - its contact point changed after R: the change feed names it by key (no history read);
//!   its decision at R is replayed from its history (the recorded state right after R);
//! - time passed: an opt-in or a pending double opt-in expired between R and now;
//! - the catalog changed: a purpose's model, a topic or profile deactivated.
//!
//! For a contact point the feed does not name, the state now *is* its state at R, so the
//! last two are found by deciding that one state twice: at R's time with R's catalog, and
//! now with today's. Both are hot-index lookups.

use std::collections::HashMap;

use super::auth::Principal;
use super::convert;
use super::decision::{fresh_enough, recipients};
use super::error::{ApiError, ApiResult};
use super::pb;
use crate::config::Limits;
use crate::decision::{self, Catalog, Reason, Target};
use crate::storage::{ContactKey, Refusal, StorageError, Store};

/// What one stream knows about its fence: the contacts changed since R up to `read_to`.
pub struct Fence {
    since: u64,
    read_to: u64,
    changes: u64,
    then_us: i64,
    then_catalog: Catalog,
    /// Contacts changed since, with the history sequence number of their first change.
    touched: HashMap<ContactKey, u64>,
}

impl Fence {
    fn new(store: &Store, since: u64) -> ApiResult<Fence> {
        let then_us = store.revision_time(since).map_err(ApiError::Storage)?.unwrap_or(0);
        let then_catalog = store.catalog_as_of(then_us).map_err(ApiError::Storage)?;
        Ok(Fence { since, read_to: since, changes: 0, then_us, then_catalog, touched: HashMap::new() })
    }
}

/// Reads the change feed on to its end: the contacts changed after `read_to` join `touched`.
fn catch_up(
    store: &Store,
    read_to: &mut u64,
    changes: &mut u64,
    touched: &mut HashMap<ContactKey, u64>,
) -> ApiResult<()> {
    let max = Limits::FENCE_CHANGES_MAX.saturating_sub(*changes as usize);
    let last = store.contacts_changed_after(*read_to, max, touched).map_err(|e| match e {
        StorageError::Refused(Refusal::Limit(why)) => ApiError::FailedPrecondition(format!(
            "{why} (a fence reads at most {} changes): check the whole list again instead",
            Limits::FENCE_CHANGES_MAX
        )),
        e => ApiError::Storage(e),
    })?;
    *changes += last - *read_to;
    *read_to = last;
    Ok(())
}

/// Answers one fence batch. `fence` is the stream's, built at its first fence batch and
/// read on at every batch.
#[expect(clippy::too_many_arguments, reason = "the stream task's context, each borrowed once per batch")]
pub fn evaluate_fence(
    store: &Store,
    catalog: &Catalog,
    principal: &Principal,
    limits: &Limits,
    req: pb::CheckStreamRequest,
    now: i64,
    counts: &mut [u64; Reason::ALL.len()],
    fence: &mut Option<Fence>,
) -> ApiResult<pb::CheckStreamResponse> {
    let pb::CheckStreamRequest {
        batch_id,
        profile_id,
        channel,
        purpose_id,
        topic_id,
        contact_points,
        overrides,
        min_revision,
        include_links,
        contact_points_packed,
        packed_answers: _,
        as_of,
        as_of_clock: _,
        receipts,
        changed_since_revision,
        as_of_revision,
    } = req;
    principal.may(&profile_id)?;
    let since = changed_since_revision.unwrap_or_default();
    let refuse = |field: &str| {
        Err(ApiError::invalid_field(
            field,
            "not with changed_since_revision: a fence answers what changed since a revision, for one target, now",
        ))
    };
    if as_of.is_some() {
        return refuse("as_of");
    }
    if as_of_revision.is_some() {
        return refuse("as_of_revision");
    }
    if include_links {
        return refuse("include_links");
    }
    if receipts {
        return refuse("receipts");
    }
    if !overrides.is_empty() {
        return refuse("overrides");
    }
    let (field, contact_points) = recipients(&contact_points, &contact_points_packed)?;
    if contact_points.len() > limits.check_batch_items_max {
        return Err(ApiError::invalid(
            field,
            &format!("{} items", contact_points.len()),
            format!("at most {} recipients per batch", limits.check_batch_items_max),
        ));
    }
    let revision = fresh_enough(store, min_revision)?;
    if since > revision {
        return Err(ApiError::invalid(
            "changed_since_revision",
            &since.to_string(),
            format!("lies beyond the revision this node has applied ({revision})"),
        ));
    }
    let channel = convert::channel("channel", channel)?;
    let now_target = catalog.resolve(&profile_id, &purpose_id, &topic_id).map_err(|e| ApiError::resolve("", &e))?;
    let now_target = Target::new(&now_target, channel);
    if fence.as_ref().is_none_or(|f| f.since != since) {
        *fence = Some(Fence::new(store, since)?);
    }
    let Some(f) = fence.as_mut() else { return Err(ApiError::FailedPrecondition("no fence".to_owned())) };
    let then = f.then_catalog.resolve(&profile_id, &purpose_id, &topic_id).map_err(|e| ApiError::Invalid {
        field: e.field().to_owned(),
        description: format!("{e} at revision {since}: the list cannot have been decided then"),
    })?;
    let then_target = Target::new(&then, channel);

    // One pass decides each recipient now and, for a contact the feed does not name, at R
    // from the same index entry while it is in cache. Then the feed is read on: a change
    // that landed during the pass is in the feed before it is in the index, so a decision
    // that saw it finds its contact among the changed ones, which are decided at R from
    // history.
    catch_up(store, &mut f.read_to, &mut f.changes, &mut f.touched)?;
    let then_secs = f.then_us.div_euclid(1_000_000);
    let mut items = Vec::with_capacity(contact_points.len());
    {
        let touched = &f.touched;
        decision::check_many_keyed(
            |_| &now_target,
            &contact_points,
            store,
            now,
            |_, key, d| {
                let was = key
                    .filter(|k| !touched.contains_key(k))
                    .map(|k| decision::decide_key(&then_target, Some(k), store, then_secs));
                items.push((key.copied(), d, was));
            },
        );
    }
    catch_up(store, &mut f.read_to, &mut f.changes, &mut f.touched)?;
    let mut fenced = Vec::new();
    for (i, (key, d, was)) in items.into_iter().enumerate() {
        counts[d.reason.index()] += 1;
        // An invalid contact point was invalid at R too.
        let Some(key) = key else { continue };
        let was = match (f.touched.get(&key), was) {
            // Changed since: its state at R from the history events before its first change.
            (Some(&first_after), _) => {
                let then = store.state_before(&key, first_after, since, catalog).map_err(ApiError::Storage)?;
                decision::decide(then_target.model, then.as_ref(), then_target.subject, then_secs)
            }
            // Unchanged: its state now is its state at R.
            (None, Some(was)) => was,
            (None, None) => decision::decide_key(&then_target, Some(&key), store, then_secs),
        };
        if (was.outcome(), was.reason) != (d.outcome(), d.reason) {
            fenced.push(pb::FencedItem {
                index: i as u32,
                decision: convert::outcome_to_pb(d.outcome()) as i32,
                reason: convert::reason_to_pb(d.reason) as i32,
                suppression_kind: d
                    .suppression
                    .map_or(pb::SuppressionKind::Unspecified, convert::suppression_kind_to_pb)
                    as i32,
                was_decision: convert::outcome_to_pb(was.outcome()) as i32,
                was_reason: convert::reason_to_pb(was.reason) as i32,
            });
        }
    }
    Ok(pb::CheckStreamResponse { batch_id, revision, fenced, ..Default::default() })
}
