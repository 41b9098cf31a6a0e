//! `DecisionService`: unary checks for gateways and the streaming batch check for bulk
//! senders. A batch is evaluated in one synchronous pass over the hot index (no task or
//! future per item); answers go out through a bounded channel, so a client that stops
//! reading stops the server from reading its next batch (HTTP/2 flow control does the rest).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::auth::{Principal, Scope, principal, still_valid};
use super::convert;
use super::error::{ApiError, ApiResult};
use super::metrics::Metrics;
use super::pb;
use crate::config::Limits;
use crate::decision::{self, Catalog, Reason, Target};
use crate::storage::past::{AsOf, Clock};
use crate::storage::{ContactKey, Store};
use consentd_client::receipt::{Receipt, RecipientsDigest};

#[derive(Clone, Debug)]
pub struct DecisionApi {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
    /// One permit per open `CheckStream` (`limits.check_streams_max`).
    pub stream_slots: Arc<tokio::sync::Semaphore>,
    /// The HTTP edge's public base URL (no trailing `/`); `None` while the edge is off.
    pub edge_url: Option<String>,
}

/// Cluster mode: waits (up to the call's deadline, at most `Limits::MIN_REVISION_WAIT_MS`)
/// until this node has applied `min_revision`, so a read on any node sees a write answered
/// by another. Standalone, a revision the store has not reached cannot come by waiting.
pub async fn wait_fresh(store: &Store, min_revision: u64, deadline: Option<Duration>) -> ApiResult<u64> {
    if min_revision > store.revision() && store.replicated() {
        let cap = Duration::from_millis(Limits::MIN_REVISION_WAIT_MS);
        let wait = deadline.map_or(cap, |d| d.min(cap));
        let mut revision = store.subscribe();
        let reached = tokio::time::timeout(wait, revision.wait_for(|r| *r >= min_revision)).await;
        if !matches!(reached, Ok(Ok(_))) {
            return Err(ApiError::Storage(crate::storage::StorageError::Unavailable(format!(
                "this node is at revision {}, behind min_revision {min_revision} after waiting {wait:?}: \
                 retry, or ask another node",
                store.revision()
            ))));
        }
    }
    fresh_enough(store, min_revision)
}

/// The time left of a call, from its `grpc-timeout` header.
pub fn deadline_of(metadata: &tonic::metadata::MetadataMap) -> Option<Duration> {
    let v = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (n, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = n.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

pub(super) fn fresh_enough(store: &Store, min_revision: u64) -> ApiResult<u64> {
    let revision = store.revision();
    if min_revision > revision {
        return Err(ApiError::FailedPrecondition(format!(
            "state is at revision {revision}, older than min_revision {min_revision}"
        )));
    }
    Ok(revision)
}

/// Recipients a check stream evaluates between yields to its runtime: about a millisecond
/// of work on one core.
const STREAM_YIELD_RECIPIENTS: usize = 4096;

/// Evaluates one batch. Row-2 errors and malformed overrides fail the batch (and with it
/// the stream); malformed contact points are per-item `REASON_INVALID_CONTACT_POINT`.
/// `now_us` is when the batch is decided (µs since the Unix epoch).
#[expect(clippy::too_many_arguments, reason = "the stream task's context, each borrowed once per batch")]
pub fn evaluate_batch(
    store: &Store,
    catalog: &Catalog,
    principal: &Principal,
    limits: &Limits,
    req: pb::CheckStreamRequest,
    now_us: i64,
    counts: &mut [u64; Reason::ALL.len()],
    edge_url: Option<&str>,
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
        packed_answers,
        as_of,
        as_of_clock,
        receipts,
        changed_since_revision,
        as_of_revision,
    } = req;
    principal.may(&profile_id)?;
    if changed_since_revision.is_some() {
        return Err(ApiError::FailedPrecondition("a fence batch reached the plain evaluation".to_owned()));
    }
    let as_of = convert::as_of(as_of, as_of_clock, store.now_us())?;
    let as_of = match as_of_revision {
        None => as_of,
        Some(r) => Some(at_revision(store, r, as_of)?),
    };
    if include_links && as_of.is_some() {
        return Err(ApiError::invalid_field(
            "include_links",
            "links are for a send now, not a decision as of a past moment: leave out as_of or include_links",
        ));
    }
    // As of a past moment: the names resolve in the catalog of that moment; history
    // events name subjects by the numbers of today's (which never change).
    let past_catalog = as_of.map(|a| store.catalog_as_of(a.at_us)).transpose().map_err(ApiError::Storage)?;
    let (current, catalog) = (catalog, past_catalog.as_ref().unwrap_or(catalog));
    let now = as_of.map_or(now_us, |a| a.at_us).div_euclid(1_000_000);
    if include_links {
        // A link lets its holder write consent: only a key that may write hands them out.
        principal.require(Scope::Write)?;
    }
    let links_base = match (include_links, edge_url) {
        (false, _) => None,
        (true, Some(url)) => Some(url),
        (true, None) => {
            return Err(ApiError::FailedPrecondition(
                "include_links needs the HTTP edge: start consentd with --http-addr (and --public-url)".to_owned(),
            ));
        }
    };
    let (field, contact_points) = recipients(&contact_points, &contact_points_packed)?;
    if contact_points.len() > limits.check_batch_items_max {
        return Err(ApiError::invalid(
            field,
            &format!("{} items", contact_points.len()),
            format!("at most {} recipients per batch", limits.check_batch_items_max),
        ));
    }
    let revision = fresh_enough(store, min_revision)?;
    let channel_number = channel;
    let channel = convert::channel("channel", channel)?;
    let resolve_error = |prefix: &str, e: &_| {
        if as_of.is_some() { ApiError::resolve_as_of(prefix, e) } else { ApiError::resolve(prefix, e) }
    };
    let resolved = catalog.resolve(&profile_id, &purpose_id, &topic_id).map_err(|e| resolve_error("", &e))?;
    let default_target = Target::new(&resolved, channel);

    if overrides.len() > contact_points.len() {
        return Err(ApiError::invalid(
            "overrides",
            &format!("{} items", overrides.len()),
            format!("more overrides than the batch's {} recipients", contact_points.len()),
        ));
    }
    // Overrides are sparse: resolve each distinct (channel, topic) once.
    let mut item_targets: HashMap<u32, Target<'_>> = HashMap::with_capacity(overrides.len());
    let mut signed_overrides = Vec::new();
    for (i, o) in overrides.into_iter().enumerate() {
        let pb::ItemOverride { index, channel: ch, topic_id: topic } = o;
        if receipts {
            signed_overrides.push((index, ch, topic.clone()));
        }
        if index as usize >= contact_points.len() {
            return Err(ApiError::invalid(
                format!("overrides[{i}].index"),
                &index.to_string(),
                format!("batch has {} recipients", contact_points.len()),
            ));
        }
        let ch = if ch == pb::Channel::Unspecified as i32 {
            channel
        } else {
            convert::channel(&format!("overrides[{i}].channel"), ch)?
        };
        let topic = if topic.is_empty() { topic_id.as_str() } else { topic.as_str() };
        let r = catalog
            .resolve(&profile_id, &purpose_id, topic)
            .map_err(|e| resolve_error(&format!("overrides[{i}]."), &e))?;
        // One override per recipient: so overrides never outnumber recipients (a batch of
        // one recipient with a million overrides was accepted before).
        if item_targets.insert(index, Target::new(&r, ch)).is_some() {
            return Err(ApiError::invalid(
                format!("overrides[{i}].index"),
                &index.to_string(),
                "an earlier override names the same recipient; at most one override per recipient",
            ));
        }
    }

    let n = contact_points.len();
    let (mut decisions, mut reasons, mut outcomes) = if packed_answers {
        (Vec::new(), Vec::new(), Vec::with_capacity(n))
    } else {
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::new())
    };
    let mut suppressed = Vec::new();
    let mut links = Vec::new();
    let target_of = |i: usize| {
        if item_targets.is_empty() { &default_target } else { item_targets.get(&(i as u32)).unwrap_or(&default_target) }
    };
    let mut digest = receipts.then(RecipientsDigest::default);
    let mut signed_outcomes = Vec::with_capacity(if receipts && !packed_answers { n } else { 0 });
    let mut each = |i: usize, key: Option<&ContactKey>, d: decision::Decision| {
        let (decision, reason) = (convert::outcome_to_pb(d.outcome()) as i32, convert::reason_to_pb(d.reason) as i32);
        // Both numbers are below 64 (a test checks every one).
        let byte = ((decision << 6) | reason) as u8;
        if packed_answers {
            outcomes.push(byte);
        } else {
            decisions.push(decision);
            reasons.push(reason);
        }
        if let Some(digest) = digest.as_mut() {
            digest.push(key.map(|k| &k.0));
            if !packed_answers {
                signed_outcomes.push(byte);
            }
        }
        if let Some(kind) = d.suppression {
            suppressed.push(pb::SuppressedItem { index: i as u32, kind: convert::suppression_kind_to_pb(kind) as i32 });
        }
        counts[d.reason.index()] += 1;
        let target = target_of(i);
        if let Some(base) = links_base
            && d.outcome() == decision::Outcome::Send
            && let Some(cp) = contact_points.get(i)
            && let Ok(normalized) =
                crate::contact::normalize(target.channel.contact_kind(), cp, target.profile.default_region.as_deref())
        {
            let l = crate::links::mint(
                store,
                base,
                &target.profile.id,
                target.channel,
                normalized.as_str(),
                target.subject,
                now,
                &principal.key_id,
            );
            links.push(pb::ItemLinks {
                index: i as u32,
                unsubscribe_url: l.unsubscribe_url,
                preferences_url: l.preferences_url,
            });
        }
    };
    match as_of {
        None => decision::check_many_keyed(target_of, &contact_points, store, now, &mut each),
        Some(a) => {
            let past = store.past(a, current);
            decision::check_many_keyed(target_of, &contact_points, &past, now, &mut each);
            if let Some(e) = past.error() {
                return Err(ApiError::Storage(e));
            }
        }
    }
    let receipt = digest.map(|digest| {
        let (recipients, recipients_digest) = digest.finish();
        let keys = store.receipt_keys();
        let key = keys.signing();
        let body = Receipt {
            key_id: u32::from(key.id),
            decided_at_us: now_us,
            revision,
            batch_id,
            profile_id,
            channel: channel_number,
            purpose_id,
            topic_id,
            as_of: as_of.filter(|a| !matches!(a.clock, Clock::Revision(_))).map(|a| (a.at_us, clock_number(a.clock))),
            as_of_revision,
            overrides: signed_overrides,
            recipients,
            recipients_digest,
            outcomes: if packed_answers { outcomes.clone() } else { signed_outcomes },
        }
        .encode();
        pb::DecisionReceipt { signature: key.sign(&body).to_vec(), body, key_id: u32::from(key.id) }
    });
    Ok(pb::CheckStreamResponse {
        batch_id,
        revision,
        decisions,
        reasons,
        suppressed,
        links,
        outcomes,
        receipt,
        fenced: Vec::new(),
    })
}

/// `as_of_revision`: the recorded state right after revision `r`, decided at `as_of` (on the
/// recorded clock) or, without it, at the time `r` was recorded.
fn at_revision(store: &Store, r: u64, as_of: Option<AsOf>) -> ApiResult<AsOf> {
    let applied = store.revision();
    if r > applied {
        return Err(ApiError::invalid(
            "as_of_revision",
            &r.to_string(),
            format!("lies beyond the revision this node has applied ({applied})"),
        ));
    }
    let at_us = match as_of {
        Some(AsOf { clock: Clock::Occurred, .. }) => {
            return Err(ApiError::invalid(
                "as_of_clock",
                "CLOCK_OCCURRED",
                "as_of_revision replays the recorded state: leave the clock out or use CLOCK_RECORDED",
            ));
        }
        Some(a) => a.at_us,
        None => store.revision_time(r).map_err(ApiError::Storage)?.unwrap_or(0),
    };
    Ok(AsOf { at_us, clock: Clock::Revision(r) })
}

/// The API's number of a clock, as a receipt names it.
fn clock_number(clock: Clock) -> i32 {
    match clock {
        Clock::Recorded | Clock::Revision(_) => pb::Clock::Recorded as i32,
        Clock::Occurred => pb::Clock::Occurred as i32,
    }
}

/// A batch's contact points as slices of what the client sent (no string per recipient),
/// and the field they came in.
pub(super) fn recipients<'a>(listed: &'a [String], packed: &'a [u8]) -> ApiResult<(&'static str, Vec<&'a str>)> {
    if packed.is_empty() {
        return Ok(("contact_points", listed.iter().map(String::as_str).collect()));
    }
    if !listed.is_empty() {
        return Err(ApiError::invalid(
            "contact_points_packed",
            &format!("{} bytes", packed.len()),
            "a batch has contact_points or contact_points_packed, not both",
        ));
    }
    let text = std::str::from_utf8(packed).map_err(|e| {
        ApiError::invalid(
            "contact_points_packed",
            &format!("{} bytes", packed.len()),
            format!("not UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    Ok(("contact_points_packed", text.split_terminator('\n').collect()))
}

#[tonic::async_trait]
impl pb::decision_service_server::DecisionService for DecisionApi {
    async fn check(&self, req: Request<pb::CheckRequest>) -> Result<Response<pb::CheckResponse>, Status> {
        let started = Instant::now();
        let principal = principal(&req)?;
        principal.require(Scope::Check)?;
        let deadline = deadline_of(req.metadata());
        let pb::CheckRequest {
            profile_id,
            channel,
            contact_point,
            purpose_id,
            topic_id,
            min_revision,
            as_of,
            as_of_clock,
        } = req.into_inner();
        principal.may(&profile_id)?;
        let revision = wait_fresh(&self.store, min_revision, deadline).await?;
        let channel = convert::channel("channel", channel)?;
        let as_of = convert::as_of(as_of, as_of_clock, self.store.now_us())?;
        let catalog = self.store.catalog();
        let d = match as_of {
            None => {
                let resolved =
                    catalog.resolve(&profile_id, &purpose_id, &topic_id).map_err(|e| ApiError::resolve("", &e))?;
                let now = self.store.now_us().div_euclid(1_000_000);
                decision::check(&Target::new(&resolved, channel), &contact_point, &self.store, now)
            }
            // History is read from RocksDB: off the runtime's threads.
            Some(a) => {
                let store = self.store.clone();
                tokio::task::spawn_blocking(move || {
                    let then = store.catalog_as_of(a.at_us).map_err(ApiError::Storage)?;
                    let resolved = then
                        .resolve(&profile_id, &purpose_id, &topic_id)
                        .map_err(|e| ApiError::resolve_as_of("", &e))?;
                    let past = store.past(a, &catalog);
                    let d = decision::check(
                        &Target::new(&resolved, channel),
                        &contact_point,
                        &past,
                        a.at_us.div_euclid(1_000_000),
                    );
                    past.error().map_or(Ok(d), |e| Err(ApiError::Storage(e)))
                })
                .await
                .map_err(|e| Status::internal(format!("an as-of check failed: {e}")))??
            }
        };
        let mut counts = [0u64; Reason::ALL.len()];
        counts[d.reason.index()] = 1;
        self.metrics.add_decisions(&counts);
        self.metrics.observe_rpc("Check", started.elapsed());
        Ok(Response::new(pb::CheckResponse {
            decision: convert::outcome_to_pb(d.outcome()) as i32,
            reason: convert::reason_to_pb(d.reason) as i32,
            suppression_kind: d.suppression.map_or(pb::SuppressionKind::Unspecified, convert::suppression_kind_to_pb)
                as i32,
            revision,
        }))
    }

    type CheckStreamStream = ReceiverStream<Result<pb::CheckStreamResponse, Status>>;

    async fn check_stream(
        &self,
        req: Request<Streaming<pb::CheckStreamRequest>>,
    ) -> Result<Response<Self::CheckStreamStream>, Status> {
        let principal = principal(&req)?;
        principal.require(Scope::Check)?;
        let permit = Arc::clone(&self.stream_slots).try_acquire_owned().map_err(|_| {
            ApiError::ResourceExhausted(format!(
                "at most {} check streams at once; retry later or send more recipients per batch",
                self.limits.check_streams_max
            ))
        })?;
        let mut inbound = req.into_inner();
        let (tx, rx) = mpsc::channel(self.limits.stream_queue_batches_max.max(1));
        let store = self.store.clone();
        let metrics = Arc::clone(&self.metrics);
        let limits = self.limits;
        let edge_url = self.edge_url.clone();
        let mut keys = store.subscribe_keys();
        tokio::spawn(async move {
            // Held for the stream's life.
            let _permit = permit;
            metrics.check_streams_active.inc();
            let mut since_yield = 0usize;
            // The stream's revocation fence, once a batch asks for one.
            let mut fence: Option<super::fence::Fence> = None;
            loop {
                let next = tokio::select! {
                    m = inbound.message() => m,
                    // The client went away: stop reading and evaluating at once.
                    () = tx.closed() => break,
                    // A key was revoked: if it is this stream's, end it now, idle or not.
                    _ = keys.changed() => match still_valid(&store, &principal) {
                        Ok(()) => continue,
                        Err(status) => {
                            let _ = tx.send(Err(status)).await;
                            break;
                        }
                    },
                };
                if let Err(status) = still_valid(&store, &principal) {
                    let _ = tx.send(Err(status)).await;
                    break;
                }
                let batch = match next {
                    Ok(Some(batch)) => batch,
                    Ok(None) => break,
                    Err(status) => {
                        // A message over the size limit, or a broken stream: tell the
                        // client why (if it still listens) instead of ending cleanly.
                        tracing::debug!(%status, "check stream input failed");
                        let _ = tx.send(Err(status)).await;
                        break;
                    }
                };
                if batch.min_revision > store.revision()
                    && let Err(e) = wait_fresh(&store, batch.min_revision, None).await
                {
                    let _ = tx.send(Err(Status::from(e))).await;
                    break;
                }
                let started = Instant::now();
                let catalog = store.catalog();
                let now_us = store.now_us();
                let now = now_us.div_euclid(1_000_000);
                let mut counts = [0u64; Reason::ALL.len()];
                let answer = if batch.changed_since_revision.is_some() {
                    // Contacts changed since the fence's revision are replayed from history.
                    let (store, principal, mut kept) = (store.clone(), principal.clone(), fence.take());
                    let evaluated = tokio::task::spawn_blocking(move || {
                        let mut counts = [0u64; Reason::ALL.len()];
                        let answer = super::fence::evaluate_fence(
                            &store,
                            &catalog,
                            &principal,
                            &limits,
                            batch,
                            now,
                            &mut counts,
                            &mut kept,
                        );
                        (answer, counts, kept)
                    })
                    .await;
                    match evaluated {
                        Ok((answer, c, kept)) => {
                            (counts, fence) = (c, kept);
                            answer.map_err(Status::from)
                        }
                        Err(e) => Err(Status::internal(format!("a fence batch failed: {e}"))),
                    }
                } else if batch.as_of.is_some() || batch.as_of_revision.is_some() {
                    // History is read from RocksDB, a read per recipient: off the runtime's threads.
                    let (store, principal, edge_url) = (store.clone(), principal.clone(), edge_url.clone());
                    let evaluated = tokio::task::spawn_blocking(move || {
                        let mut counts = [0u64; Reason::ALL.len()];
                        let answer = evaluate_batch(
                            &store,
                            &catalog,
                            &principal,
                            &limits,
                            batch,
                            now_us,
                            &mut counts,
                            edge_url.as_deref(),
                        );
                        (answer, counts)
                    })
                    .await;
                    match evaluated {
                        Ok((answer, c)) => {
                            counts = c;
                            answer.map_err(Status::from)
                        }
                        Err(e) => Err(Status::internal(format!("an as-of batch failed: {e}"))),
                    }
                } else {
                    evaluate_batch(
                        &store,
                        &catalog,
                        &principal,
                        &limits,
                        batch,
                        now_us,
                        &mut counts,
                        edge_url.as_deref(),
                    )
                    .map_err(Status::from)
                };
                metrics.add_decisions(&counts);
                metrics.check_batches.inc();
                metrics.observe_rpc("CheckStream.batch", started.elapsed());
                let failed = answer.is_err();
                let answered =
                    answer.as_ref().map_or(0, |a| a.decisions.len().max(a.outcomes.len()).max(a.fenced.len()));
                if tx.send(answer).await.is_err() || failed {
                    break;
                }
                // A stream whose next batch is already buffered would otherwise run batch
                // after batch until tokio's cooperative budget runs out (about a hundred
                // sends: with big batches a hundred milliseconds of evaluation), keeping
                // everything else queued on this worker waiting: unary checks, change
                // feeds, the log's answers. So it yields after about a millisecond of work.
                // Not after every batch: with batches of one recipient the yields made the
                // stream slower than its client, and h2 ends a connection whose unread
                // small DATA frames pile up ("too_many_data_frames", ENHANCE_YOUR_CALM).
                since_yield += answered;
                if since_yield >= STREAM_YIELD_RECIPIENTS {
                    since_yield = 0;
                    tokio::task::yield_now().await;
                }
            }
            metrics.check_streams_active.dec();
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn mint_links(&self, req: Request<pb::MintLinksRequest>) -> Result<Response<pb::MintLinksResponse>, Status> {
        let principal = principal(&req)?;
        // A preferences link opts in as well as out: minting one is handing out the right
        // to write this contact point's consent, so it takes the right to write (#22).
        principal.require(Scope::Write)?;
        let pb::MintLinksRequest { profile_id, channel, contact_point, purpose_id, topic_id } = req.into_inner();
        principal.may(&profile_id)?;
        let Some(base) = &self.edge_url else {
            return Err(ApiError::FailedPrecondition(
                "the HTTP edge is off: start consentd with --http-addr (and --public-url)".to_owned(),
            )
            .into());
        };
        let channel = convert::channel("channel", channel)?;
        let catalog = self.store.catalog();
        let resolved = catalog.resolve(&profile_id, &purpose_id, &topic_id).map_err(|e| ApiError::resolve("", &e))?;
        let normalized = crate::contact::normalize(
            channel.contact_kind(),
            &contact_point,
            resolved.profile.default_region.as_deref(),
        )
        .map_err(|e| ApiError::invalid("contact_point", &contact_point, e))?
        .into_string();
        let now = self.store.now_us().div_euclid(1_000_000);
        let links = crate::links::mint(
            &self.store,
            base,
            &profile_id,
            channel,
            &normalized,
            resolved.subject(),
            now,
            &principal.key_id,
        );
        Ok(Response::new(pb::MintLinksResponse {
            list_unsubscribe: format!("<{}>", links.unsubscribe_url),
            list_unsubscribe_post: crate::links::LIST_UNSUBSCRIBE_POST.to_owned(),
            unsubscribe_url: links.unsubscribe_url,
            preferences_url: links.preferences_url,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::{convert, recipients};
    use crate::decision::{Outcome, Reason};

    /// A packed answer is `decision << 6 | reason`: every number fits.
    #[test]
    fn every_decision_and_reason_fits_a_packed_answer_byte() {
        for r in Reason::ALL {
            assert!((convert::reason_to_pb(r) as i32) < 64, "{r:?}");
        }
        for o in [Outcome::Send, Outcome::Block] {
            assert!((convert::outcome_to_pb(o) as i32) < 4, "{o:?}");
        }
    }

    #[test]
    fn packed_recipients_are_lines_and_must_be_utf8_and_alone() {
        let none: [String; 0] = [];
        let (field, items) = recipients(&none, b"a@example.com\n\nb@example.com\n").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((field, items), ("contact_points_packed", vec!["a@example.com", "", "b@example.com"]));
        // The last line feed may be left out; an empty batch is empty.
        assert_eq!(recipients(&none, b"a\nb").map(|r| r.1).ok(), Some(vec!["a", "b"]));
        assert_eq!(recipients(&none, b"").map(|r| r.1.len()).ok(), Some(0));
        assert!(recipients(&none, b"a\n\xff\n").is_err());
        assert!(recipients(&["x".to_owned()], b"a\n").is_err());
    }
}
