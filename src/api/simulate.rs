//! `AdminService.SimulateCatalogChange`: a proposed change of a profile's catalog applied to
//! a copy of the catalog, never stored, and every contact point of the profile decided
//! under both (`consentd_core::decision::simulate`, `consentd_store::simulate`).

use super::admin::{AdminApi, ProfileUpdate, PurposeUpdate};
use super::auth::Principal;
use super::convert;
use super::error::{ApiError, ApiResult, not_found};
use super::pb;
use crate::decision::simulate::{Scenario, Tally};
use crate::decision::{Catalog, Channel, Outcome, Reason};

/// Requests of one proposal (purpose updates, deactivations): more than a profile can have
/// purposes and topics.
pub const CHANGES_MAX: usize = 2_048;
/// Samples of each transition: the default and the most.
pub const SAMPLES_PER_CHANGE_DEFAULT: u32 = 5;
pub const SAMPLES_PER_CHANGE_MAX: u32 = 100;
/// Samples of one answer in all (each one a read of the disk and a line of the answer).
pub const SAMPLES_MAX: usize = 10_000;

/// What a sample reads whose contact point is not kept in clear: an erased one (only its
/// keyed hash is kept).
const ERASED: &str = "(erased)";

pub(super) async fn simulate(
    api: &AdminApi,
    principal: &Principal,
    req: pb::SimulateCatalogChangeRequest,
) -> ApiResult<pb::SimulateCatalogChangeResponse> {
    let profile = req.profile_id.clone();
    convert::id("profile_id", &profile)?;
    principal.may(&profile)?;
    let samples = req.samples_per_change.unwrap_or(SAMPLES_PER_CHANGE_DEFAULT);
    if samples > SAMPLES_PER_CHANGE_MAX {
        return Err(ApiError::invalid(
            "samples_per_change",
            &samples.to_string(),
            format!("must be 0 to {SAMPLES_PER_CHANGE_MAX}"),
        ));
    }
    let current = api.store.catalog();
    let (proposed, notes) = propose(&current, req)?;
    let scenario = Scenario::new(&current, &proposed, &profile);
    let mut answer = pb::SimulateCatalogChangeResponse {
        revision: api.store.revision(),
        evaluate_time: Some(convert::ts_from_us(api.store.now_us())),
        notes,
        ..Default::default()
    };
    if scenario.is_empty() {
        answer.notes.push("no decision changes: every send answers as it does now".to_owned());
        return Ok(answer);
    }
    // The permit goes with the scan, not with this call: a client that hangs up does not
    // stop the scan, and must not let another one start beside it.
    let permit = std::sync::Arc::clone(&api.simulations).try_acquire_owned().map_err(|_| {
        ApiError::ResourceExhausted("a policy simulation is running on this server; retry when it ends".to_owned())
    })?;
    let (store, run_profile) = (api.store.clone(), profile.clone());
    let scenario = std::sync::Arc::new(scenario);
    let run_scenario = std::sync::Arc::clone(&scenario);
    let sim = tokio::task::spawn_blocking(move || {
        let sim = store.simulate(&run_scenario, &run_profile, (samples as usize, SAMPLES_MAX));
        drop(permit);
        sim
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the policy simulation failed: {e}")))?
    .map_err(ApiError::from)?;
    answer.revision = sim.revision;
    let wanted: u64 = (0..sim.tally.cells.len())
        .filter(|c| Tally::is_change(*c))
        .map(|c| sim.tally.cells[c].min(u64::from(samples)))
        .sum();
    answer.samples_truncated = wanted > SAMPLES_MAX as u64;
    answer.populations = Channel::ALL
        .into_iter()
        .filter(|c| scenario.covers(*c))
        .map(|c| pb::SimulatedPopulation {
            channel: convert::channel_to_pb(c) as i32,
            contact_points: sim.tally.population[c.index()],
        })
        .collect();
    let mut samples_of: std::collections::HashMap<usize, Vec<String>> = std::collections::HashMap::new();
    for (cell, cp) in sim.samples {
        samples_of.entry(cell).or_default().push(cp.unwrap_or_else(|| ERASED.to_owned()));
    }
    answer.groups = scenario
        .groups()
        .iter()
        .enumerate()
        .map(|(g, group)| {
            let mut out = pb::SimulatedGroup {
                channel: convert::channel_to_pb(group.channel) as i32,
                purpose_id: group.purpose_id.clone(),
                topic_id: group.topic_id.clone(),
                model_before: convert::model_to_pb(group.before) as i32,
                model_after: group.after.as_ref().map_or(0, |m| convert::model_to_pb(*m) as i32),
                refused_because: group.after.as_ref().err().cloned().unwrap_or_default(),
                contact_points: sim.tally.population[group.channel.index()],
                ..Default::default()
            };
            for cell in Tally::cells_of(g) {
                let n = sim.tally.cells[cell];
                if n == 0 {
                    continue;
                }
                let (_, before, after) = Tally::parts(cell);
                let sends = |r: Option<Reason>| r.is_some_and(|r| r.outcome() == Outcome::Send);
                out.send_before += if sends(Some(before)) { n } else { 0 };
                out.send_after += if sends(after) { n } else { 0 };
                out.decision_changed += if sends(Some(before)) != sends(after) { n } else { 0 };
                if Tally::is_change(cell) {
                    out.transitions.push(pb::SimulatedTransition {
                        from_reason: convert::reason_to_pb(before) as i32,
                        to_reason: after.map_or(0, |r| convert::reason_to_pb(r) as i32),
                        contact_points: n,
                        samples: samples_of.remove(&cell).unwrap_or_default(),
                    });
                }
            }
            out.transitions.sort_by_key(|t| std::cmp::Reverse(t.contact_points));
            out
        })
        .collect();
    Ok(answer)
}

/// The catalog as the request proposes it, each part checked as its real request would be,
/// and notes on the parts that change no decision.
fn propose(current: &Catalog, req: pb::SimulateCatalogChangeRequest) -> ApiResult<(Catalog, Vec<String>)> {
    let pb::SimulateCatalogChangeRequest {
        profile_id: profile,
        purpose_updates,
        profile_update,
        deactivate_profile,
        deactivate_purpose_ids,
        deactivate_topics,
        samples_per_change: _,
    } = req;
    let count = purpose_updates.len() + deactivate_purpose_ids.len() + deactivate_topics.len();
    if count > CHANGES_MAX {
        return Err(ApiError::invalid_field(
            "purpose_updates",
            format!("at most {CHANGES_MAX} purpose updates and deactivations together (got {count})"),
        ));
    }
    let mut proposed = current.clone();
    let mut notes = Vec::new();
    let mine = |field: &str, value: &str| -> ApiResult<()> {
        if value == profile {
            Ok(())
        } else {
            Err(ApiError::invalid(field, value, format!("must be the simulated profile `{profile}`")))
        }
    };
    let mut the_profile =
        current.profile(&profile).cloned().ok_or_else(|| not_found(format!("profile `{profile}`")))?;
    if !the_profile.active {
        notes.push(format!("profile `{profile}` is deactivated: every request for it is refused now"));
    }
    if let Some(update) = profile_update {
        let update = ProfileUpdate::from_pb(update).map_err(|e| e.under("profile_update."))?;
        mine("profile_update.profile.profile_id", &update.new.id)?;
        update.apply(&mut the_profile);
        notes.push(format!(
            "profile_update ({}) changes no stored contact point's decision: double opt-in, keywords and \
             confirmation validity apply to later writes; default_region only changes how a number \
             without a country code is read",
            update.paths.join(", ")
        ));
    }
    if deactivate_profile {
        the_profile.active = false;
    }
    proposed.insert_profile(the_profile);
    for (i, update) in purpose_updates.into_iter().enumerate() {
        let prefix = format!("purpose_updates[{i}].");
        let update = PurposeUpdate::from_pb(update).map_err(|e| e.under(&prefix))?;
        mine(&format!("{prefix}purpose.profile_id"), &update.new.profile_id)?;
        let mut purpose = proposed
            .purpose(&profile, &update.new.id)
            .cloned()
            .ok_or_else(|| not_found(format!("purpose `{}`", update.new.id)))?;
        if purpose.kind != update.new.kind && update.paths.iter().any(|p| p == "enforcement") {
            notes.push(format!(
                "purpose_updates[{i}]: channels not listed in `enforcement` take the default of the kind given \
                 ({:?}), as UpdatePurpose does",
                update.new.kind
            ));
        }
        update.apply(&mut purpose);
        proposed.insert_purpose(purpose);
    }
    for (i, id) in deactivate_purpose_ids.into_iter().enumerate() {
        let mut purpose = proposed.purpose(&profile, &id).cloned().ok_or_else(|| {
            ApiError::invalid(format!("deactivate_purpose_ids[{i}]"), &id, "not a purpose of the profile")
        })?;
        purpose.active = false;
        proposed.insert_purpose(purpose);
    }
    for (i, t) in deactivate_topics.into_iter().enumerate() {
        mine(&format!("deactivate_topics[{i}].profile_id"), &t.profile_id)?;
        let mut topic = proposed.topic(&profile, &t.purpose_id, &t.topic_id).cloned().ok_or_else(|| {
            ApiError::invalid(format!("deactivate_topics[{i}].topic_id"), &t.topic_id, "not a topic of the purpose")
        })?;
        topic.active = false;
        proposed.insert_topic(topic);
    }
    Ok((proposed, notes))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{AdminApi, ApiError, pb, simulate};
    use crate::api::auth::Principal;
    use crate::decision::{Profile, Purpose, PurposeKind};
    use crate::storage::{Store, StoreOptions, system_clock};

    /// A second simulation while one runs is refused, and one may run once it has ended.
    #[tokio::test]
    async fn one_simulation_at_a_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, _) = Store::open(&dir.path().join("data"), StoreOptions::new(system_clock())).expect("open");
        store.put_profile(Profile::new("acme"), true).await.expect("profile");
        store.put_purpose(Purpose::new("acme", "news", PurposeKind::Commercial, 0), true).await.expect("purpose");
        let webhooks = crate::webhook::Webhooks::new(store.clone(), Duration::from_secs(1), None);
        let api = AdminApi::new(store, webhooks);
        let req = || pb::SimulateCatalogChangeRequest {
            profile_id: "acme".into(),
            deactivate_purpose_ids: vec!["news".into()],
            ..Default::default()
        };
        // The permit a running scan holds.
        let running = std::sync::Arc::clone(&api.simulations).try_acquire_owned().expect("free");
        match simulate(&api, &Principal::local(), req()).await {
            Err(ApiError::ResourceExhausted(why)) => assert!(why.contains("running"), "{why}"),
            other => panic!("a second simulation beside a running one: {other:?}"),
        }
        drop(running);
        let answer = simulate(&api, &Principal::local(), req()).await.expect("the scan ended: another may run");
        assert!(!answer.groups.is_empty(), "{answer:?}");
        // Its own permit went with its scan.
        assert_eq!(api.simulations.available_permits(), 1);
    }
}
