//! The applier: reads the log from this node's position, opens each entry (authentic,
//! valid, not stale: else skipped alike by every node; an unknown version stops it), hands
//! it to the store's writer in order, and delivers the answers of this node's own requests.
//! On any break it starts again from the stored position.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};

use super::{Waiters, lock};
use crate::storage::op::Entry;
use crate::storage::wire::{self, LogKey, WireError};
use crate::storage::{StorageError, Store};

/// The applier's consumer heartbeat: a silent consumer is replaced after about two of them.
const CONSUMER_HEARTBEAT: Duration = Duration::from_secs(1);

/// Longest time from an entry's stamp (the receiving node's clock) to JetStream storing
/// it: an entry stored later is skipped as stale by every node (the time JetStream stored
/// it is part of the log, so the rule is deterministic). A node's own publishing gives up
/// after about 16 s; what is older is a copy published again after the de-duplication
/// window, which must not apply a second time. Also the clock skew tolerated between
/// consentd nodes and NATS servers.
pub(super) const ENTRY_AGE_MAX: Duration = Duration::from_secs(60);
const _: () = assert!(ENTRY_AGE_MAX.as_secs() < super::DUPLICATE_WINDOW.as_secs());

/// An entry handed to the writer, waiting for its answer.
struct InFlight {
    seq: u64,
    at_us: i64,
    ours: Option<u64>,
    answer: crate::storage::op::Applied,
}

/// What the applier needs, for as long as the node runs.
pub(super) struct Applier {
    pub(super) store: Store,
    pub(super) stream: stream::Stream,
    pub(super) waiters: Waiters,
    /// This node's origin: entries with it are answers some local caller waits for.
    pub(super) origin: String,
    /// The keys an entry may be sealed with.
    pub(super) keys: Vec<LogKey>,
    /// The log's last position when the node started: caught up once it is applied.
    pub(super) catch_up_to: u64,
    /// Told why when the log was trimmed past this node's position while it ran.
    pub(super) left_behind: watch::Sender<Option<String>>,
}

/// Whether a node that applied the log up to `applied` can no longer go on from it: the
/// entries after it were trimmed (the log now starts at `first`).
pub(super) fn is_behind(applied: u64, first: u64) -> bool {
    first > 1 && applied + 1 < first
}

/// Applies the stream from the store's position, forever: on any break (NATS down, an
/// entry left unapplied by an I/O error) it starts again from the stored position.
pub(super) async fn apply_loop(applier: Applier) {
    loop {
        let start = applier.store.log_position() + 1;
        match applier.run_consumer(start).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, from = start, "applying the replicated log stopped; starting again"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What the applier does with one message of the stream.
enum Opened {
    Apply(Box<Entry>),
    /// Not applied, by every node alike; the position moves past it.
    Skip {
        kind: &'static str,
        why: String,
        ours: Option<u64>,
    },
    /// This node cannot apply it (a newer format): it stops applying.
    Stop(String),
}

/// Authenticates and decodes the message at `seq`, and refuses a stale one. Deterministic:
/// it reads only the message, its id and the time JetStream stored it.
fn open_message(seq: u64, message: &jetstream::Message, stored_at_us: i64, keys: &[LogKey], origin: &str) -> Opened {
    let msg_id = message
        .headers
        .as_ref()
        .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
        .map(|v| v.as_str())
        .unwrap_or_default();
    let entry = match wire::open(&message.payload, msg_id, keys) {
        Ok(entry) => entry,
        Err(WireError::UnknownVersion(v)) => {
            return Opened::Stop(format!(
                "entry {seq} of the replicated log is in format version {v}, which this node does not know: upgrade \
                 this node; it stops applying until then"
            ));
        }
        Err(e) => return Opened::Skip { kind: e.kind(), why: format!("entry {seq}: {e}"), ours: None },
    };
    let age_us = stored_at_us.saturating_sub(entry.at_us);
    if age_us > ENTRY_AGE_MAX.as_micros() as i64 {
        let ours = (entry.origin == origin).then_some(entry.request);
        return Opened::Skip {
            kind: "stale",
            why: format!(
                "entry {seq} was stamped {:.1} s before the log stored it (at most {ENTRY_AGE_MAX:?}): a copy \
                 published again, or clocks apart",
                age_us as f64 / 1e6
            ),
            ours,
        };
    }
    Opened::Apply(Box::new(entry))
}

impl Applier {
    async fn run_consumer(&self, start: u64) -> Result<(), String> {
        let store = &self.store;
        let first = self.stream.get_info().await.map_err(|e| e.to_string())?.state.first_sequence;
        if is_behind(start - 1, first) {
            // Found at start, `Cluster::start` says so and `server::run` restores the newest
            // snapshot instead; here the log was trimmed while this node was cut off.
            let why = format!(
                "this node applied the log up to {}, but the log now starts at {first} (trimmed after a snapshot): \
                 the node stops, and at its next start restores the newest snapshot",
                start - 1
            );
            tracing::error!("{why}");
            store.health().damage(&why);
            // The server stops with this error; restarted (by its supervisor), it restores.
            let _ = self.left_behind.send(Some(why));
            return Ok(());
        }
        // An ephemeral pull consumer without acknowledgements delivers in log order. Its short
        // heartbeat makes a lost NATS server show as an error within seconds (the library's
        // ordered consumer waits for two missed 15 s heartbeats), and any error starts again
        // from the stored position.
        let consumer = self
            .stream
            .create_consumer(consumer::pull::Config {
                deliver_policy: consumer::DeliverPolicy::ByStartSequence { start_sequence: start },
                ack_policy: consumer::AckPolicy::None,
                inactive_threshold: Duration::from_secs(30),
                memory_storage: true,
                num_replicas: 1,
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        let mut messages = consumer
            .stream()
            .max_messages_per_batch(1000)
            .heartbeat(CONSUMER_HEARTBEAT)
            .expires(CONSUMER_HEARTBEAT * 5)
            .messages()
            .await
            .map_err(|e| e.to_string())?;
        let (broken_tx, mut broken_rx) = watch::channel(None::<String>);
        let (flight_tx, flight_rx) = mpsc::channel::<InFlight>(4096);
        let answers =
            tokio::spawn(answer_loop(store.clone(), flight_rx, Arc::clone(&self.waiters), broken_tx, self.catch_up_to));
        let broke =
            |rx: &watch::Receiver<Option<String>>| rx.borrow().clone().unwrap_or_else(|| "the store closed".to_owned());
        let result = loop {
            let next = tokio::select! {
                m = messages.next() => m,
                _ = broken_rx.changed() => break Err(broke(&broken_rx)),
            };
            let message = match next {
                Some(Ok(m)) => m,
                Some(Err(e)) => break Err(e.to_string()),
                None => break Err("the consumer ended".to_owned()),
            };
            let (seq, stored_at_us) = match message.info() {
                Ok(info) => (info.stream_sequence, (info.published.unix_timestamp_nanos() / 1_000) as i64),
                Err(e) => break Err(format!("a message without its position: {e}")),
            };
            let entry = match open_message(seq, &message, stored_at_us, &self.keys, &self.origin) {
                Opened::Apply(entry) => *entry,
                Opened::Stop(why) => {
                    tracing::error!("{why}");
                    store.health().damage(&why);
                    drop(flight_tx);
                    let _ = answers.await;
                    return Ok(());
                }
                Opened::Skip { kind, why, ours } => {
                    if !follows(store, seq, &mut broken_rx).await {
                        break Err(broke(&broken_rx));
                    }
                    if let Err(e) = store.skip_entry(seq, kind, &why) {
                        break Err(e.to_string());
                    }
                    tracing::error!(seq, kind, "{why}; skipped by every node");
                    if let Some(request) = ours
                        && let Some(tx) = lock(&self.waiters).remove(&request)
                    {
                        let _ = tx.send(Err(StorageError::Unavailable(format!(
                            "the change reached the replicated log too late and was not applied ({why}): retry with \
                             the same idempotency key"
                        ))));
                    }
                    passed(store, seq, self.catch_up_to);
                    continue;
                }
            };
            if entry.op.is_admin() && !follows(store, seq, &mut broken_rx).await {
                // Admin entries are applied outside the writer: only after everything before.
                break Err(broke(&broken_rx));
            }
            let ours = (entry.origin == self.origin).then_some(entry.request);
            let at_us = entry.at_us;
            match store.apply_entry(seq, entry).await {
                Ok(answer) => {
                    if flight_tx.send(InFlight { seq, at_us, ours, answer }).await.is_err() {
                        break Err("the answer task stopped".to_owned());
                    }
                }
                Err(StorageError::Closed) => return Ok(()),
                Err(e) => break Err(e.to_string()),
            }
        };
        drop(flight_tx);
        let _ = answers.await;
        result
    }
}

/// Waits until every entry before `seq` is applied (admin entries and skips are not
/// queued behind the writer's groups); false when the consumer broke meanwhile.
async fn follows(store: &Store, seq: u64, broken_rx: &mut watch::Receiver<Option<String>>) -> bool {
    let mut position = store.subscribe_log_position();
    tokio::select! {
        r = position.wait_for(|p| *p + 1 >= seq) => r.is_ok(),
        _ = broken_rx.changed() => false,
    }
}

/// Entry `seq` is applied or skipped: the node has caught up once it reaches the log's
/// position at start.
fn passed(store: &Store, seq: u64, catch_up_to: u64) {
    if seq >= catch_up_to && store.catching_up() {
        store.set_catching_up(false);
        tracing::info!(log_position = seq, "caught up with the replicated log");
    }
}

/// Delivers answers in log order: to this node's waiting writers, and reports an entry
/// left unapplied (the consumer then starts again from the stored position).
async fn answer_loop(
    store: Store,
    mut flight: mpsc::Receiver<InFlight>,
    waiters: Waiters,
    broken: watch::Sender<Option<String>>,
    catch_up_to: u64,
) {
    while let Some(InFlight { seq, at_us, ours, answer }) = flight.recv().await {
        let result = answer.await.unwrap_or(Err(StorageError::Closed));
        store.record_apply_lag(at_us);
        // Only an answer that is the entry's outcome on every node goes to a waiting
        // caller. An entry this node failed to apply (I/O, an out-of-order delivery) is
        // applied again when the consumer restarts, and its caller is answered then (or
        // told UNAVAILABLE, outcome unknown, at its deadline): never a failure for a change
        // the log holds.
        let unapplied = match &result {
            Err(e) if !e.is_deterministic() => Some(format!("entry {seq} was not applied here: {e}")),
            _ => None,
        };
        if unapplied.is_none() {
            passed(&store, seq, catch_up_to);
            if let Some(request) = ours
                && let Some(tx) = lock(&waiters).remove(&request)
            {
                let _ = tx.send(result);
            }
        }
        if let Some(why) = unapplied {
            broken.send_replace(Some(why));
            return;
        }
    }
}
