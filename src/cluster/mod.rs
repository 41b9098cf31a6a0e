//! Cluster mode: consentd nodes share one replicated log, a NATS JetStream stream, and each
//! applies it in order into its own RocksDB store.
//!
//! A write is validated and normalized by the node that received it (as in standalone
//! mode), stamped with that node's time and any random it needs, published to the stream
//! (`Nats-Msg-Id`: the node's own unique request id, so JetStream's de-duplication window
//! absorbs its publish retries), and answered once this node has applied it, with the
//! revision applying gave it. Changes that reach a node while its earlier publishes wait
//! for their acknowledgements go out together, as one batch entry: a whole
//! `BatchSetConsent`, or concurrent single writes, cost one replicated append instead of
//! one each. Every node applies every entry through the store's single writer (see
//! `storage::replica`, which also says how revisions are counted); the applied position is
//! stored in the same batch as the state, so a restart resumes right after it. Checks
//! never touch the log: they read the local store, also while the log is down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use rand::RngExt;
use tokio::sync::oneshot;

mod apply;
pub mod leases;
mod publish;
pub mod snapshot;

use crate::storage::op::OpResult;
use crate::storage::wire::LogKey;
use crate::storage::{StorageError, Store};

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
    pub access: NatsAccess,
}

impl ClusterConfig {
    pub const STREAM_DEFAULT: &str = "consentd";
    pub const REPLICAS_DEFAULT: usize = 3;
    pub const SNAPSHOT_INTERVAL_SECS_DEFAULT: u64 = 3600;
    pub const RETAIN_ENTRIES_DEFAULT: u64 = 1_000_000;
}

/// How this node proves itself to NATS, and how it checks the servers. The log is the
/// trust boundary of the cluster: a NATS that takes anyone's publishes gives anyone the
/// power to publish garbage (entries are authenticated, so not to change state).
#[derive(Clone, Debug, Default)]
pub struct NatsAccess {
    /// A `.creds` file (user JWT and nkey seed).
    pub creds_file: Option<std::path::PathBuf>,
    /// A user and the file holding its password.
    pub user: Option<(String, std::path::PathBuf)>,
    /// A file holding a token.
    pub token_file: Option<std::path::PathBuf>,
    /// CA certificates to verify the servers with; TLS is then required.
    pub ca_file: Option<std::path::PathBuf>,
    /// A client certificate and its key.
    pub client_cert: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

/// How long a write waits for JetStream's acknowledgement, per attempt: short, so that a
/// write caught in a stream leader's election is sent again soon after it.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);
/// JetStream API requests (stream info, creating the applier's consumer, snapshot look-ups):
/// short, so that a consumer lost with its NATS server is replaced right after the
/// election instead of after the client's default 10 s, and a start-up try fails fast.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long a starting node keeps trying JetStream (a second between tries) before it gives
/// up: by time, not by tries, since a try lasts up to [`REQUEST_TIMEOUT`] and a cluster
/// starting on busy machines takes minutes to elect its leaders.
const STARTUP_WAIT: Duration = Duration::from_secs(300);
/// Failed tries logged at info before they are logged as warnings.
const QUIET_TRIES: u32 = 5;
/// JetStream's de-duplication window for `Nats-Msg-Id`: a copy of an entry published
/// again under its own id within it is dropped by JetStream.
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
    /// The log was trimmed (after a snapshot) past what this node applied: it can only go on
    /// from a snapshot (`server::run` then starts from the newest snapshot).
    #[error(
        "this node applied the replicated log up to entry {applied}, but the log now starts at entry {first} \
         (trimmed after a snapshot)"
    )]
    BehindTrimmedLog { applied: u64, first: u64 },
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
    /// Why the log left this node behind while it ran (see [`Cluster::left_behind`]).
    left_behind: tokio::sync::watch::Receiver<Option<String>>,
    runtime: Option<tokio::runtime::Runtime>,
    leases: Arc<leases::Leases>,
    js: jetstream::Context,
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

/// Reads a secret file (a password or token), trimmed.
fn read_secret(what: &str, path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{what} `{}`: {e}", path.display()))?;
    Ok(text.trim().to_owned())
}

/// The connection options `access` asks for; a user and password in the URL count as
/// `--cluster-user` and its password when no other credential is given.
async fn connect_options(config: &ClusterConfig) -> Result<async_nats::ConnectOptions, String> {
    let access = &config.access;
    let mut options = async_nats::ConnectOptions::new()
        .name(format!("consentd {}", config.node_id))
        .request_timeout(Some(REQUEST_TIMEOUT));
    if let Some(creds) = &access.creds_file {
        options = options
            .credentials_file(creds)
            .await
            .map_err(|e| format!("NATS credentials file `{}`: {e}", creds.display()))?;
    }
    if let Some((user, password_file)) = &access.user {
        options = options.user_and_password(user.clone(), read_secret("NATS password file", password_file)?);
    } else if access.creds_file.is_none() && access.token_file.is_none() {
        for url in config.urls.split(',') {
            if let Ok(addr) = url.trim().parse::<async_nats::ServerAddr>()
                && let (Some(user), Some(password)) = (addr.username(), addr.password())
            {
                options = options.user_and_password(user.to_owned(), password.to_owned());
                break;
            }
        }
    }
    if let Some(token_file) = &access.token_file {
        options = options.token(read_secret("NATS token file", token_file)?);
    }
    if let Some(ca) = &access.ca_file {
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    if let Some((cert, key)) = &access.client_cert {
        options = options.add_client_certificate(cert.clone(), key.clone()).require_tls(true);
    }
    Ok(options)
}

/// Connects to NATS, waiting while it is not reachable; fails at once on a refused
/// credential or TLS handshake.
pub(crate) async fn connect(config: &ClusterConfig) -> Result<jetstream::Context, ClusterError> {
    let failed = |detail: String| ClusterError::Connect { urls: redacted(&config.urls), detail };
    let urls: Vec<String> = config.urls.split(',').map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()).collect();
    // Waiting for NATS is starting, not failing; but a refused credential or a failed TLS
    // handshake does not heal by waiting, so it ends the start with its cause.
    let mut tries = 0u32;
    let client = loop {
        let options = connect_options(config).await.map_err(failed)?;
        match options.connect(urls.as_slice()).await {
            Ok(client) => break client,
            Err(e) => {
                use async_nats::ConnectErrorKind as Kind;
                let fatal = match e.kind() {
                    Kind::AuthorizationViolation | Kind::Authentication => Some(
                        "NATS refused this node's credentials: check --cluster-creds, --cluster-user and \
                         --cluster-password-file, or --cluster-token-file",
                    ),
                    Kind::Tls => Some(
                        "the TLS handshake with NATS failed: check --cluster-ca (and --cluster-cert/--cluster-key if the \
                         servers verify clients), and that the URLs name the certificate's host",
                    ),
                    Kind::ServerParse => Some("a NATS URL does not parse"),
                    Kind::Dns | Kind::TimedOut | Kind::Io | Kind::MaxReconnects => None,
                };
                if let Some(fix) = fatal {
                    return Err(failed(format!("{e}: {fix}")));
                }
                tries += 1;
                if tries < QUIET_TRIES {
                    tracing::info!(error = %e, tries, "NATS not reachable yet; trying again");
                } else {
                    tracing::warn!(error = %e, tries, "NATS still not reachable; trying again");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let mut js = jetstream::new(client);
    js.set_timeout(PUBLISH_TIMEOUT);
    Ok(js)
}

/// The URLs without any password in them, for messages.
pub fn redacted(urls: &str) -> String {
    urls.split(',')
        .map(|u| match (u.find("://"), u.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => format!("{}://***@{}", &u[..scheme], &u[at + 1..]),
            _ => u.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Before the store opens: a node with an empty data directory starts from the newest
/// snapshot, if the cluster has one. Returns the snapshot's log position.
pub async fn restore_if_new(
    config: &ClusterConfig,
    data_dir: &std::path::Path,
    key: &LogKey,
) -> Result<Option<u64>, ClusterError> {
    if !snapshot::is_empty_store_dir(data_dir) {
        return Ok(None);
    }
    let js = connect(config).await?;
    snapshot::restore(&js, &config.stream, config.replicas, data_dir, key)
        .await
        .map_err(|detail| ClusterError::Snapshot { detail })
}

/// Whether the newest snapshot can take the place of a store that applied the log up to
/// `applied`, now that the log starts at `first`: it holds at least as much, and the log
/// goes on right after it. Anything else (none, an older one, no answer) keeps the store.
pub async fn snapshot_replaces(config: &ClusterConfig, applied: u64, first: u64) -> Result<(), ClusterError> {
    let js = connect(config).await?;
    let position = snapshot::stored_position(&js, &config.stream, config.replicas)
        .await
        .map_err(|detail| ClusterError::Snapshot { detail })?;
    match position {
        Some(p) if p >= applied && !apply::is_behind(p, first) => Ok(()),
        found => Err(ClusterError::Snapshot {
            detail: format!(
                "this node applied the log up to entry {applied} and the log starts at entry {first}, but the newest \
                 snapshot ({}) cannot take its place: its data directory is left as it is",
                found.map_or("none".to_owned(), |p| format!("at entry {p}"))
            ),
        }),
    }
}

/// Runs `attempt` until it succeeds, once a second for up to [`STARTUP_WAIT`]: a
/// JetStream cluster that is starting (or has just lost a server) has no meta leader for a
/// few seconds, and its requests time out meanwhile. Returns the last error.
pub(crate) async fn until_ready<T, F, Fut>(what: &str, mut attempt: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let mut tries = 0;
    let started = std::time::Instant::now();
    loop {
        match attempt().await {
            Ok(t) => return Ok(t),
            Err(e) if started.elapsed() < STARTUP_WAIT => {
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

impl Cluster {
    /// Connects, opens (or creates) the stream, routes the store's writes through it and
    /// starts applying it from the store's position, all on the log's own runtime. `store`
    /// must have been opened with the cluster secret.
    pub async fn start(config: &ClusterConfig, store: &Store, key: LogKey) -> Result<Cluster, ClusterError> {
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
        let started = runtime.spawn(async move { Cluster::start_here(&config, &store, key).await }).await;
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
    async fn start_here(config: &ClusterConfig, store: &Store, key: LogKey) -> Result<Cluster, ClusterError> {
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
        let (stream, first, last) = until_ready("opening the log's stream", || async {
            let mut stream = js.get_or_create_stream(stream_config.clone()).await.map_err(|e| e.to_string())?;
            let state = &stream.info().await.map_err(|e| e.to_string())?.state;
            let (first, last) = (state.first_sequence, state.last_sequence);
            Ok((stream, first, last))
        })
        .await
        .map_err(|detail| ClusterError::Stream { stream: config.stream.clone(), detail })?;
        if apply::is_behind(store.log_position(), first) {
            return Err(ClusterError::BehindTrimmedLog { applied: store.log_position(), first });
        }
        let origin = format!("{}/{:016x}", config.node_id, rand::rng().random::<u64>());
        let leases = leases::Leases::open(&js, &config.stream, config.replicas, &origin, &config.node_id, key.clone())
            .await
            .map_err(|detail| ClusterError::Stream { stream: leases::bucket_name(&config.stream), detail })?;
        let waiters: Waiters = Arc::default();
        let batcher = publish::attach(store, &js, subject, &origin, &waiters, &key);
        if store.log_position() < last {
            store.set_catching_up(true);
            tracing::info!(applied = store.log_position(), log = last, "catching up with the replicated log");
        }
        let (left_behind_tx, left_behind) = tokio::sync::watch::channel(None);
        let applier = apply::Applier {
            store: store.clone(),
            stream: stream.clone(),
            waiters,
            origin,
            keys: vec![key.clone()],
            catch_up_to: last,
            left_behind: left_behind_tx,
        };
        let mut tasks = vec![tokio::spawn(apply::apply_loop(applier)), batcher];
        if config.snapshot_interval_secs > 0 {
            tasks.push(tokio::spawn(snapshot::schedule(
                js.clone(),
                stream,
                store.clone(),
                config.stream.clone(),
                config.replicas,
                (Duration::from_secs(config.snapshot_interval_secs), config.retain_entries),
                key,
            )));
        }
        Ok(Cluster { tasks, left_behind, runtime: None, leases: Arc::new(leases), js })
    }

    /// Resolves, with why, if the log is trimmed past this node's position while it runs
    /// (it was cut off from NATS while the others snapshotted and trimmed): it cannot go on
    /// from its store, and the server stops so that its next start restores a snapshot.
    pub fn left_behind(&self) -> impl std::future::Future<Output = String> + Send + 'static {
        let mut rx = self.left_behind.clone();
        async move {
            let why = rx.wait_for(Option::is_some).await.map(|why| why.clone().unwrap_or_default());
            match why {
                Ok(why) => why,
                // The applier is gone (the server is stopping): never.
                Err(_) => std::future::pending().await,
            }
        }
    }

    /// The connection to the cluster's JetStream.
    pub fn jetstream(&self) -> jetstream::Context {
        self.js.clone()
    }

    /// Who delivers each webhook subscription.
    pub fn leases(&self) -> Arc<leases::Leases> {
        Arc::clone(&self.leases)
    }
}
