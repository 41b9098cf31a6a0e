//! Cluster mode: consentd nodes share one replicated log, a NATS JetStream stream, and each
//! applies it in order into its own RocksDB store.
//!
//! A write is validated and normalized by the node that received it (as in standalone
//! mode), stamped with that node's time and any random it needs, published to the stream
//! (`Nats-Msg-Id`: the idempotency key's hash, or the node's own unique request id, so
//! JetStream's de-duplication window absorbs retries), and answered once this node has
//! applied it, with its stream position as its revision. Every node applies every entry
//! through the store's single writer (see `storage::replica`); the applied position is
//! stored in the same synced batch as the state, so a restart resumes right after it.
//! Checks never touch the log: they read the local store, also while the log is down.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use rand::{Rng, RngExt};
use tokio::sync::{mpsc, oneshot, watch};

pub mod snapshot;

use crate::storage::replica::{Entry, Log, Op, OpResult, Submitted};
use crate::storage::{Clock, StorageError, Store};

/// How consentd reaches its cluster.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// NATS server URLs, comma-separated.
    pub urls: String,
    pub stream: String,
    pub replicas: usize,
    pub node_id: String,
    /// How often a snapshot is taken (by whichever node finds the stored one older); 0: never.
    pub snapshot_interval_secs: u64,
    /// Log entries kept below the newest snapshot when the log is trimmed after one.
    pub retain_entries: u64,
}

/// How long a write waits for JetStream's acknowledgement, per attempt.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts of one publish (same message id, so a stored first attempt is not repeated).
const PUBLISH_ATTEMPTS: u32 = 3;
/// How long a write accepted by the log waits for this node to apply it.
const APPLY_WAIT: Duration = Duration::from_secs(30);
/// The applier's consumer heartbeat: a silent consumer is replaced after about two of them.
const CONSUMER_HEARTBEAT: Duration = Duration::from_secs(1);
/// Failed tries (a second apart) a starting node makes before it gives up on JetStream.
const STREAM_TRIES: u32 = 60;
/// Failed tries logged at info before they are logged as warnings.
const QUIET_TRIES: u32 = 5;
/// JetStream's de-duplication window for `Nats-Msg-Id`.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot connect to NATS at `{urls}`: {detail}")]
    Connect { urls: String, detail: String },
    #[error("cannot create or open the JetStream stream `{stream}`: {detail}")]
    Stream { stream: String, detail: String },
    #[error("restoring the newest snapshot failed: {detail}")]
    Snapshot { detail: String },
    #[error("cannot start the replicated log's runtime: {0}")]
    Runtime(String),
}

type Waiters = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<OpResult, StorageError>>>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// The running cluster side of a node: the log writes go to, and the applier task.
///
/// The NATS connection, the applier and the snapshot schedule run on a runtime of their
/// own (two worker threads, `consentd-log`), not on the one that serves requests: under a
/// full-speed check stream every worker of that runtime is busy evaluating batches, and an
/// applier queued behind them put tens of milliseconds on the replica lag. A thread that
/// mostly sleeps is scheduled at once when its message arrives.
#[derive(Debug)]
pub struct Cluster {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        // Dropped from async code (the server's end): a blocking shutdown would panic there.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn connect(config: &ClusterConfig) -> Result<jetstream::Context, ClusterError> {
    let urls: Vec<String> = config.urls.split(',').map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()).collect();
    let client = async_nats::ConnectOptions::new()
        .name(format!("consentd {}", config.node_id))
        .retry_on_initial_connect()
        .connect(urls.as_slice())
        .await
        .map_err(|e| ClusterError::Connect { urls: config.urls.clone(), detail: e.to_string() })?;
    let mut js = jetstream::new(client);
    js.set_timeout(PUBLISH_TIMEOUT);
    Ok(js)
}

/// Before the store opens: a node with an empty data directory starts from the newest
/// snapshot, if the cluster has one. Returns the snapshot's revision.
pub async fn restore_if_new(config: &ClusterConfig, data_dir: &std::path::Path) -> Result<Option<u64>, ClusterError> {
    if !snapshot::is_empty_store_dir(data_dir) {
        return Ok(None);
    }
    let js = connect(config).await?;
    snapshot::restore(&js, &config.stream, config.replicas, data_dir)
        .await
        .map_err(|detail| ClusterError::Snapshot { detail })
}

/// Runs `attempt` until it succeeds, once a second for up to [`STREAM_TRIES`] tries: a
/// JetStream cluster that is starting (or has just lost a server) has no meta leader for a
/// few seconds, and its requests time out meanwhile. Returns the last error.
pub(crate) async fn until_ready<T, F, Fut>(what: &str, mut attempt: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Ok(t) => return Ok(t),
            Err(e) if tries < STREAM_TRIES => {
                tries += 1;
                // A few failed tries are a cluster starting; more are worth an operator's eye.
                if tries < QUIET_TRIES {
                    tracing::info!(error = %e, tries, "{what}: JetStream not ready yet; trying again");
                } else {
                    tracing::warn!(error = %e, tries, "{what}: JetStream still not ready; trying again");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The store's view of the stream (see [`Log`]).
struct JetStreamLog {
    js: jetstream::Context,
    stream: stream::Stream,
    subject: String,
    /// Node id plus a random per start, so message ids never repeat across restarts.
    origin: String,
    next_request: AtomicU64,
    waiters: Waiters,
    clock: Clock,
}

impl Cluster {
    /// Connects, opens (or creates) the stream, routes the store's writes through it and
    /// starts applying it from the store's position, all on the log's own runtime. `store`
    /// must have been opened with the cluster secret.
    pub async fn start(config: &ClusterConfig, store: &Store) -> Result<Cluster, ClusterError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            // Two, so the NATS connection's task has a worker while the applier holds one. A
            // hedge: a fresh-clone CI run (with one worker) once timed out creating the
            // consumer at start; the cause was not pinned down.
            .worker_threads(2)
            .thread_name("consentd-log")
            .enable_all()
            .build()
            .map_err(|e| ClusterError::Runtime(e.to_string()))?;
        let (config, store) = (config.clone(), store.clone());
        let started = runtime.spawn(async move { Cluster::start_here(&config, &store).await }).await;
        let mut cluster = match started {
            Ok(Ok(cluster)) => cluster,
            // A runtime must not be dropped in async code: shut it down in the background.
            Ok(Err(e)) => {
                runtime.shutdown_background();
                return Err(e);
            }
            Err(e) => {
                runtime.shutdown_background();
                return Err(ClusterError::Runtime(e.to_string()));
            }
        };
        cluster.runtime = Some(runtime);
        Ok(cluster)
    }

    /// [`Cluster::start`] on the runtime it is called on.
    async fn start_here(config: &ClusterConfig, store: &Store) -> Result<Cluster, ClusterError> {
        let js = connect(config).await?;
        let subject = format!("consentd.{}.log", config.stream);
        let stream_config = stream::Config {
            name: config.stream.clone(),
            subjects: vec![subject.clone()],
            storage: stream::StorageType::File,
            num_replicas: config.replicas,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        };
        let (stream, last) = until_ready("opening the log's stream", || async {
            let mut stream = js.get_or_create_stream(stream_config.clone()).await.map_err(|e| e.to_string())?;
            let last = stream.info().await.map_err(|e| e.to_string())?.state.last_sequence;
            Ok((stream, last))
        })
        .await
        .map_err(|detail| ClusterError::Stream { stream: config.stream.clone(), detail })?;
        let origin = format!("{}/{:016x}", config.node_id, rand::rng().random::<u64>());
        let waiters: Waiters = Arc::default();
        let log = JetStreamLog {
            js: js.clone(),
            stream: stream.clone(),
            subject,
            origin: origin.clone(),
            next_request: AtomicU64::new(0),
            waiters: Arc::clone(&waiters),
            clock: store.clock(),
        };
        store.attach_log(Arc::new(log));
        if store.revision() < last {
            store.set_catching_up(true);
            tracing::info!(applied = store.revision(), log = last, "catching up with the replicated log");
        }
        let mut tasks = vec![tokio::spawn(apply_loop(store.clone(), stream.clone(), waiters, origin, last))];
        if config.snapshot_interval_secs > 0 {
            tasks.push(tokio::spawn(snapshot::schedule(
                js,
                stream,
                store.clone(),
                config.stream.clone(),
                config.replicas,
                Duration::from_secs(config.snapshot_interval_secs),
                config.retain_entries,
            )));
        }
        Ok(Cluster { tasks, runtime: None })
    }
}

impl JetStreamLog {
    fn message_id(&self, op: &Op, request: u64) -> String {
        match op {
            Op::Consent(c) => match &c.idempotency {
                Some(i) => format!("idem-{}", hex(&i.key_hash)),
                None => format!("{}/{request}", self.origin),
            },
            _ => format!("{}/{request}", self.origin),
        }
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
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        Err(last)
    }

    async fn submit_op(&self, op: Op) -> Result<Submitted, StorageError> {
        let request = self.next_request.fetch_add(1, Ordering::Relaxed) + 1;
        let id = self.message_id(&op, request);
        let mut token_id = [0u8; 16];
        rand::rng().fill_bytes(&mut token_id);
        let entry = Entry { origin: self.origin.clone(), request, at_us: (self.clock)(), token_id, op };
        let payload =
            serde_json::to_vec(&entry).map_err(|e| StorageError::Replica(format!("cannot encode a log entry: {e}")))?;
        let (tx, rx) = oneshot::channel();
        lock(&self.waiters).insert(request, tx);
        let forget = || lock(&self.waiters).remove(&request);
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
        if ack.duplicate && !self.is_ours(ack.sequence, request).await {
            forget();
            return Ok(Submitted::Duplicate { seq: ack.sequence });
        }
        match tokio::time::timeout(APPLY_WAIT, rx).await {
            Ok(Ok(r)) => r.map(Submitted::Applied),
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

    /// Whether the entry at `seq` is this node's request (a retry of our own publish).
    async fn is_ours(&self, seq: u64, request: u64) -> bool {
        match self.stream.get_raw_message(seq).await {
            Ok(m) => serde_json::from_slice::<Entry>(&m.payload)
                .map(|e| e.origin == self.origin && e.request == request)
                .unwrap_or(false),
            Err(_) => false,
        }
    }
}

impl Log for JetStreamLog {
    fn submit(
        &self,
        op: Op,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Submitted, StorageError>> + Send + '_>> {
        Box::pin(self.submit_op(op))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An entry handed to the writer, waiting for its answer.
struct InFlight {
    seq: u64,
    at_us: i64,
    ours: Option<u64>,
    answer: crate::storage::replica::Applied,
}

/// Applies the stream from the store's position, forever: on any break (NATS down, an
/// entry left unapplied by an I/O error) it starts again from the stored position.
async fn apply_loop(store: Store, stream: stream::Stream, waiters: Waiters, origin: String, catch_up_to: u64) {
    loop {
        let start = store.revision() + 1;
        match run_consumer(&store, &stream, &waiters, &origin, start, catch_up_to).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, from = start, "applying the replicated log stopped; starting again"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn run_consumer(
    store: &Store,
    stream: &stream::Stream,
    waiters: &Waiters,
    origin: &str,
    start: u64,
    catch_up_to: u64,
) -> Result<(), String> {
    let first = stream.get_info().await.map_err(|e| e.to_string())?.state.first_sequence;
    if start < first && first > 1 {
        let why = format!(
            "this node applied the log up to {}, but the log now starts at {first} (trimmed after a snapshot): \
             stop the node, empty its data directory and start it again to restore from the newest snapshot",
            start - 1
        );
        tracing::error!("{why}");
        store.health().damage(&why);
        return Ok(());
    }
    // An ephemeral pull consumer without acknowledgements delivers in log order. Its short
    // heartbeat makes a lost NATS server show as an error within seconds (the library's
    // ordered consumer waits for two missed 15 s heartbeats), and any error starts again
    // from the stored position.
    let consumer = stream
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
    let answers = tokio::spawn(answer_loop(store.clone(), flight_rx, Arc::clone(waiters), broken_tx, catch_up_to));
    let result = loop {
        let next = tokio::select! {
            m = messages.next() => m,
            _ = broken_rx.changed() => break Err(broken_rx.borrow().clone().unwrap_or_default()),
        };
        let message = match next {
            Some(Ok(m)) => m,
            Some(Err(e)) => break Err(e.to_string()),
            None => break Err("the consumer ended".to_owned()),
        };
        let seq = match message.info() {
            Ok(info) => info.stream_sequence,
            Err(e) => break Err(format!("a message without its position: {e}")),
        };
        let entry: Entry = match serde_json::from_slice(&message.payload) {
            Ok(e) => e,
            Err(e) => {
                // Every node fails alike on it: stop applying rather than skip a change.
                let why = format!("entry {seq} of the replicated log is undecodable ({e}); this node stops applying");
                tracing::error!("{why}");
                store.health().damage(&why);
                let _ = answers.await;
                return Ok(());
            }
        };
        if entry.op.is_admin() {
            // Admin entries are applied outside the writer: only after everything before.
            let mut revision = store.subscribe();
            let caught = tokio::select! {
                r = revision.wait_for(|r| *r + 1 >= seq) => r.is_ok(),
                _ = broken_rx.changed() => false,
            };
            if !caught {
                break Err(broken_rx.borrow().clone().unwrap_or_else(|| "the store closed".to_owned()));
            }
        }
        let ours = (entry.origin == origin).then_some(entry.request);
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
        let unapplied = match &result {
            Err(StorageError::Replica(m)) if m.contains("applied already") => None,
            Err(e) if !e.is_deterministic() => Some(format!("entry {seq} was not applied: {e}")),
            _ => None,
        };
        if seq >= catch_up_to && store.catching_up() {
            store.set_catching_up(false);
            tracing::info!(revision = seq, "caught up with the replicated log");
        }
        if let Some(request) = ours
            && let Some(tx) = lock(&waiters).remove(&request)
        {
            let _ = tx.send(result);
        }
        if let Some(why) = unapplied {
            broken.send_replace(Some(why));
            return;
        }
    }
}
