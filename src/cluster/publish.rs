//! The publishing side of the log: how a node's writes become log entries. Admin changes
//! are published alone; consent, suppression and confirmation changes queue, and the ones
//! that arrive while earlier publishes wait for JetStream go out together as one batch
//! entry. Each caller is answered once this node has applied its change.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream;
use rand::Rng;
use tokio::sync::{mpsc, oneshot};

use super::{PUBLISH_TIMEOUT, Waiters, lock};
use crate::storage::op::{BatchItem, Entry, Op, OpResult};
use crate::storage::replica::Log;
use crate::storage::wire::{self, LogKey};
use crate::storage::{Clock, StorageError, Store};

/// Attempts of one publish (same message id, so a stored first attempt is not repeated):
/// about 15 s in all, well inside [`super::apply::ENTRY_AGE_MAX`].
const PUBLISH_ATTEMPTS: u32 = 6;
/// How long a write accepted by the log waits for this node to apply it.
const APPLY_WAIT: Duration = Duration::from_secs(30);
/// Publishes of batch entries one node keeps waiting for their acknowledgement at once.
/// While they wait, new changes queue and go out together in the next entry: fewer slots
/// make larger batches, more make shorter waits at low load.
const PUBLISHES_IN_FLIGHT: usize = 4;
/// Changes waiting for a publish slot, per node; a caller past it waits for room.
const BATCH_QUEUE_MAX: usize = 16_384;

/// The store's view of the stream (see [`Log`]): admin changes are published alone;
/// consent, suppression and confirmation changes queue for the batcher.
struct JetStreamLog {
    publisher: Arc<Publisher>,
    queue: mpsc::Sender<Queued>,
}

/// A change waiting to be published in a batch entry, and where its answer goes.
struct Queued {
    op: Op,
    reply: oneshot::Sender<Result<OpResult, StorageError>>,
}

/// Publishes entries and waits for this node to apply them.
struct Publisher {
    js: jetstream::Context,
    subject: String,
    /// Node id plus a random per start, so message ids never repeat across restarts.
    origin: String,
    next_request: AtomicU64,
    waiters: Waiters,
    clock: Clock,
    /// Seals every entry this node publishes.
    key: LogKey,
}

/// Routes `store`'s writes through the log: the batcher task (returned) and the store's
/// [`Log`].
pub(super) fn attach(
    store: &Store,
    js: &jetstream::Context,
    subject: String,
    origin: &str,
    waiters: &Waiters,
    key: &LogKey,
) -> tokio::task::JoinHandle<()> {
    let publisher = Arc::new(Publisher {
        js: js.clone(),
        subject,
        origin: origin.to_owned(),
        next_request: AtomicU64::new(0),
        waiters: Arc::clone(waiters),
        clock: store.clock(),
        key: key.clone(),
    });
    let (queue, queued) = mpsc::channel(BATCH_QUEUE_MAX);
    let batcher = tokio::spawn(batch_loop(Arc::clone(&publisher), queued));
    store.attach_log(Arc::new(JetStreamLog { publisher, queue }));
    batcher
}

impl Publisher {
    /// Unique per submission, also across restarts. A client's retry with the same
    /// idempotency key is a new submission, a new entry: JetStream's de-duplication only
    /// absorbs this node's own publish retries, and the store's idempotency table answers
    /// (or refuses) the client's retry when the entry is applied, on every node alike.
    fn message_id(&self, request: u64) -> String {
        format!("{}/{request}", self.origin)
    }

    async fn publish(&self, id: &str, payload: bytes::Bytes) -> Result<jetstream::publish::PublishAck, String> {
        let mut last = String::new();
        for attempt in 0..PUBLISH_ATTEMPTS {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(async_nats::header::NATS_MESSAGE_ID, id);
            let sent = async {
                let ack = self
                    .js
                    .publish_with_headers(self.subject.clone(), headers, payload.clone())
                    .await
                    .map_err(|e| e.to_string())?;
                ack.await.map_err(|e| e.to_string())
            };
            match tokio::time::timeout(PUBLISH_TIMEOUT, sent).await {
                Ok(Ok(ack)) => return Ok(ack),
                Ok(Err(e)) => last = e,
                Err(_) => last = format!("no acknowledgement within {PUBLISH_TIMEOUT:?}"),
            }
            tracing::debug!(attempt, error = %last, "publish to the replicated log failed");
            tokio::time::sleep(Duration::from_millis(100 << attempt.min(3))).await;
        }
        Err(last)
    }

    /// Publishes `op` as one entry and waits for this node to apply it.
    async fn submit_entry(&self, op: Op) -> Result<OpResult, StorageError> {
        let request = self.next_request.fetch_add(1, Ordering::Relaxed) + 1;
        let id = self.message_id(request);
        let entry = Entry { origin: self.origin.clone(), request, at_us: (self.clock)(), token_id: token_id(), op };
        let payload = wire::seal(&entry, &id, &self.key);
        let (tx, rx) = oneshot::channel();
        lock(&self.waiters).insert(request, tx);
        let forget = || lock(&self.waiters).remove(&request);
        // A duplicate acknowledgement is this node's own earlier attempt (the id is ours
        // alone): the entry is in the log and its answer comes like any other.
        let ack = match self.publish(&id, payload.into()).await {
            Ok(ack) => ack,
            Err(e) => {
                forget();
                return Err(StorageError::Unavailable(format!(
                    "the replicated log did not take the change ({e}); it may or may not be recorded: retry \
                     with the same idempotency key"
                )));
            }
        };
        match tokio::time::timeout(APPLY_WAIT, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(StorageError::Closed),
            Err(_) => {
                forget();
                Err(StorageError::Unavailable(format!(
                    "the change is in the replicated log at {} but this node has not applied it within {APPLY_WAIT:?}",
                    ack.sequence
                )))
            }
        }
    }

    /// Publishes the queued changes as one entry (one change: an entry of its own, in the
    /// format every release reads) and gives each its answer.
    async fn submit_batch(&self, queued: Vec<Queued>) {
        let (mut ops, mut replies): (Vec<Op>, Vec<_>) = queued.into_iter().map(|q| (q.op, q.reply)).unzip();
        if ops.len() == 1
            && let (Some(op), Some(reply)) = (ops.pop(), replies.pop())
        {
            let _ = reply.send(self.submit_entry(op).await);
            return;
        }
        let items = ops.into_iter().map(|op| BatchItem { token_id: token_id(), op }).collect();
        match self.submit_entry(Op::Batch(items)).await {
            Ok(OpResult::Batch(results)) if results.len() == replies.len() => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Ok(_) => {
                for reply in replies {
                    let _ = reply.send(Err(StorageError::Replica(
                        "the log answered a batch entry with another kind of result".to_owned(),
                    )));
                }
            }
            // The log did not take the entry, or this node did not apply it in time:
            // the same for every change (refusals are per change, inside the batch).
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.duplicate()));
                }
            }
        }
    }
}

/// A random id for a confirmation token an entry's change may issue (drawn by the
/// receiving node, so every node issues the same token).
fn token_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    rand::rng().fill_bytes(&mut id);
    id
}

/// Takes queued changes into batch entries: waits for a publish slot, then takes every
/// change queued by then (up to the entry's limits) into one entry. Under load the slots
/// are busy and batches grow; at rest a change goes out at once, alone.
async fn batch_loop(publisher: Arc<Publisher>, mut queued: mpsc::Receiver<Queued>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(PUBLISHES_IN_FLIGHT));
    let mut carried: Option<Queued> = None;
    loop {
        let first = match carried.take() {
            Some(q) => q,
            None => match queued.recv().await {
                Some(q) => q,
                None => return,
            },
        };
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { return };
        // A caller that went away while its change waited (its deadline passed: "outcome
        // unknown") is not published: it would be work for every node that nobody waits for.
        if first.reply.is_closed() {
            continue;
        }
        let mut bytes = wire::op_len(&first.op);
        let mut batch = vec![first];
        while batch.len() < wire::BATCH_ITEMS_MAX {
            let Ok(next) = queued.try_recv() else { break };
            if next.reply.is_closed() {
                continue;
            }
            let len = wire::op_len(&next.op);
            if bytes + len > wire::BATCH_BYTES_MAX {
                carried = Some(next);
                break;
            }
            bytes += len;
            batch.push(next);
        }
        let publisher = Arc::clone(&publisher);
        tokio::spawn(async move {
            publisher.submit_batch(batch).await;
            drop(slot);
        });
    }
}

impl JetStreamLog {
    async fn submit_op(&self, op: Op) -> Result<OpResult, StorageError> {
        if !op.batchable() {
            return self.publisher.submit_entry(op).await;
        }
        let (reply, answer) = oneshot::channel();
        self.queue.send(Queued { op, reply }).await.map_err(|_| StorageError::Closed)?;
        answer.await.unwrap_or(Err(StorageError::Closed))
    }
}

impl Log for JetStreamLog {
    fn submit(
        &self,
        op: Op,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<OpResult, StorageError>> + Send + '_>> {
        Box::pin(self.submit_op(op))
    }
}
