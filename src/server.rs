//! `run(config, listener, shutdown)`: the whole server, testable in-process. Binds nothing
//! itself except the optional metrics and edge ports, so tests pass a `127.0.0.1:0`
//! listener.
//!
//! Every listener follows one rule: TLS when `--tls-cert`/`--tls-key` are set, else a
//! non-loopback address needs `--insecure`. Every bind error names the address and the flag
//! that set it ([`bind`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Server;
use tonic_health::ServingStatus;

use crate::api::admin::AdminApi;
use crate::api::auth::Auth;
use crate::api::consent::ConsentApi;
use crate::api::decision::DecisionApi;
use crate::api::metrics::{self, Metrics};
use crate::api::pb;
use crate::app::{App, Phase, Until};
use crate::config::Config;
use crate::net;
use crate::storage::{Store, system_clock};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error(
        "refusing to listen on `{0}` without API keys: create a key first (consentctl key create, on a loopback address), or pass --insecure"
    )]
    Unprotected(std::net::SocketAddr),
    #[error("refusing to listen on `{0}` in plaintext: set --tls-cert and --tls-key, or pass --insecure")]
    Plaintext(std::net::SocketAddr),
    #[error("cannot bind the {} listener `{addr}` ({}): {source}", .listener.name(), .listener.flag())]
    Bind { listener: Listener, addr: std::net::SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("reflection service: {0}")]
    Reflection(String),
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    #[error("cluster secret file `{path}`: {detail}")]
    ClusterSecret { path: String, detail: String },
    #[error("start-up task failed: {0}")]
    Join(String),
    #[error("stopped: {0}")]
    LeftBehind(String),
}

/// The listeners consentd binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    Grpc,
    Edge,
    Metrics,
}

impl Listener {
    pub fn name(self) -> &'static str {
        match self {
            Listener::Grpc => "gRPC",
            Listener::Edge => "HTTP edge",
            Listener::Metrics => "metrics",
        }
    }

    /// The flag that sets its address (also read from the environment and the file).
    pub fn flag(self) -> &'static str {
        match self {
            Listener::Grpc => "--listen-addr",
            Listener::Edge => "--http-addr",
            Listener::Metrics => "--metrics-addr",
        }
    }
}

/// Binds `listener`'s address; the error names the address and the flag that set it, so
/// an operator running several nodes on one machine sees which port collided.
pub async fn bind(listener: Listener, addr: std::net::SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { listener, addr, source })
}

/// A listener's plaintext rule, the same for all: without TLS, only loopback unless
/// `--insecure`.
fn plaintext_allowed(config: &Config, addr: std::net::SocketAddr) -> Result<(), ServerError> {
    if config.tls.is_none() && !addr.ip().is_loopback() && !config.insecure {
        return Err(ServerError::Plaintext(addr));
    }
    Ok(())
}

/// Opens the store under `config.data_dir` (with the system clock) and serves until
/// `shutdown` resolves.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let mut options = config.limits.store_options(system_clock());
    let mut log_key = None;
    if let Some(cluster) = &config.cluster {
        let secret = crate::storage::replica::ClusterSecret::read_file(&cluster.secret_file)
            .map_err(|detail| ServerError::ClusterSecret { path: cluster.secret_file.display().to_string(), detail })?;
        log_key = Some(secret.log_key());
        options.cluster_secret = Some(secret);
    }
    // Start-up may wait for NATS for a long time: a signal meanwhile stops the process at once.
    let mut shutdown = Box::pin(shutdown);
    let stopped = || tracing::info!("stopped while starting");
    let dir = config.data_dir.clone();
    // A new store has no API keys, which `run_with_store` refuses on such an address: refuse
    // before creating one, so a refused start leaves the directory as it was.
    let addr = listener.local_addr()?;
    if config.cluster.is_none()
        && !addr.ip().is_loopback()
        && !config.insecure
        && crate::storage::guard::holds_no_store(&dir)
    {
        return Err(ServerError::Unprotected(addr));
    }
    let metrics_listener = match config.metrics_addr {
        Some(addr) => {
            // Refused before binding, so the refusal does not depend on the port being free.
            plaintext_allowed(&config, addr)?;
            Some(bind(Listener::Metrics, addr).await?)
        }
        None => None,
    };
    // A cluster node whose store the trimmed log has left behind (it was stopped, or cut
    // off, while the others snapshotted and trimmed) starts again once, from the newest
    // snapshot, instead of refusing until somebody empties its directory.
    let mut superseded = None;
    let (store, cluster) = loop {
        if let Some(c) = &config.cluster
            && let Some(key) = &log_key
        {
            let restored = tokio::select! {
                r = crate::cluster::restore_if_new(&c.log, &dir, key) => r?,
                () = &mut shutdown => { stopped(); return Ok(()) }
            };
            if let Some(position) = restored {
                tracing::info!(log_position = position, data_dir = %dir.display(), "restored the newest snapshot; replaying the log after it");
            }
        }
        // `Store::open` creates the directory (0700) if it is missing.
        let (open_dir, open_options) = (dir.clone(), options.clone());
        let (store, stats) = tokio::task::spawn_blocking(move || Store::open(&open_dir, open_options))
            .await
            .map_err(|e| ServerError::Join(e.to_string()))??;
        tracing::info!(
            data_dir = %config.data_dir.display(),
            contacts = stats.contacts,
            revision = stats.revision,
            load_ms = stats.load_ms as u64,
            "store opened"
        );
        // Kept until the server stops (step 5 of `app`'s stop order): dropping it stops applying the log.
        let (Some(c), Some(key)) = (&config.cluster, &log_key) else { break (store, None) };
        let started = tokio::select! {
            r = crate::cluster::Cluster::start(&c.log, &store, key.clone()) => r,
            () = &mut shutdown => { stopped(); return Ok(()) }
        };
        match started {
            Ok(cluster) => {
                tracing::info!(node = %c.log.node_id, stream = %c.log.stream, nats = %crate::cluster::redacted(&c.log.urls), "cluster mode");
                break (store, Some(cluster));
            }
            Err(e @ crate::cluster::ClusterError::BehindTrimmedLog { applied, first }) if superseded.is_none() => {
                // Nothing moves unless the snapshot holds all this store does and reaches the log.
                crate::cluster::snapshot_replaces(&c.log, applied, first).await?;
                tracing::warn!(error = %e, data_dir = %dir.display(), "starting again from the newest snapshot");
                // Closed (its writer thread joined) before its directory moves.
                drop(store);
                let moved = crate::cluster::snapshot::supersede(&dir)
                    .map_err(|detail| crate::cluster::ClusterError::Snapshot { detail })?;
                superseded = Some(moved);
            }
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(aside) = superseded {
        // The node now starts from the snapshot: what the log had left behind goes.
        tokio::task::spawn_blocking(move || crate::cluster::snapshot::forget_superseded(&aside));
    }
    let Some(left_behind) = cluster.as_ref().map(crate::cluster::Cluster::left_behind) else {
        return serve(config, store, listener, metrics_listener, shutdown, None).await;
    };
    let why = Arc::new(std::sync::OnceLock::new());
    let stop = {
        let why = Arc::clone(&why);
        async move {
            tokio::select! {
                () = shutdown => {}
                w = left_behind => { let _ = why.set(w); }
            }
        }
    };
    serve(config, store, listener, metrics_listener, stop, cluster).await?;
    match why.get() {
        Some(why) => Err(ServerError::LeftBehind(why.clone())),
        None => Ok(()),
    }
}

/// The name under which health reports the store itself: NOT_SERVING while writes are
/// refused (disk low, writes stopped) or after damage was found.
pub const STORAGE_HEALTH_NAME: &str = "consentd.storage";

/// Once a second: reloads changed TLS files, measures free disk space (writes stop before
/// the disk is full and resume by themselves), and mirrors the store's condition on the
/// health service.
async fn housekeeping(
    store: Store,
    tls: Vec<Arc<crate::tls::ReloadingTls>>,
    reporter: tonic_health::server::HealthReporter,
    draining: Until,
    ready: Arc<std::sync::atomic::AtomicBool>,
    mut stop: Until,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reported: Option<(bool, bool, bool)> = None;
    // A change of the store's condition (the writer met a full disk) is reported at once.
    let mut condition = store.health().subscribe();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = condition.changed() => {}
            () = stop.reached() => return,
        }
        let s = store.clone();
        let t = tls.clone();
        let step = tokio::task::spawn_blocking(move || {
            for t in t {
                t.reload_if_changed();
            }
            s.check_space();
        })
        .await;
        if let Err(e) = step {
            tracing::warn!(error = %e, "housekeeping task failed");
        }
        let writes_ok = store.health().condition() == crate::storage::health::Condition::Healthy;
        let undamaged = store.health().last_damage().is_none();
        let current = !store.catching_up();
        if reported == Some((writes_ok, undamaged, current)) || draining.is_reached() {
            continue;
        }
        reported = Some((writes_ok, undamaged, current));
        let status = |ok: bool| if ok { ServingStatus::Serving } else { ServingStatus::NotServing };
        // The whole server is NOT_SERVING while it cannot take writes (a probe that sees
        // SERVING must be able to rely on a write succeeding), and in cluster mode while it
        // still applies the log's backlog. Decisions keep working meanwhile: balancers that
        // only send checks ask for the decision service, which stays SERVING.
        reporter.set_service_status("", status(current && writes_ok)).await;
        ready.store(current && writes_ok, std::sync::atomic::Ordering::Release);
        // systemd (Type=notify): ready once the listeners serve, whatever the health; the
        // status line says what the health is.
        let line = match (writes_ok, current) {
            (true, true) => "STATUS=serving".to_owned(),
            (_, false) => "STATUS=catching up with the replicated log".to_owned(),
            (false, true) => format!("STATUS=writes refused: {:?}", store.health().condition()),
        };
        crate::notify::notify(&format!("READY=1\n{line}"));
        reporter.set_service_status(STORAGE_HEALTH_NAME, status(writes_ok && undamaged)).await;
        reporter.set_service_status(CONSENT_SERVICE_NAME, status(writes_ok)).await;
        reporter.set_service_status(ADMIN_SERVICE_NAME, status(writes_ok)).await;
    }
}

/// Reads every stored block back, checksums verified, after start and then every
/// [`crate::config::Limits::VERIFY_INTERVAL_SECS`]: damage in a block no request has read
/// yet shows in health (`consentd.storage`) and metrics before a request meets it.
async fn verify_every_block(store: Store, mut stop: Until) {
    let mut tick = tokio::time::interval(Duration::from_secs(crate::config::Limits::VERIFY_INTERVAL_SECS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.reached() => return,
        }
        let s = store.clone();
        match tokio::task::spawn_blocking(move || s.verify()).await {
            Ok(r) if r.damage.is_empty() => {
                tracing::info!(entries = r.entries, mib = r.bytes >> 20, "every stored block verified: no damage");
            }
            Ok(r) => tracing::error!(damage = r.damage.join("; "), "verifying every stored block found damage"),
            Err(e) => tracing::warn!(error = %e, "the verification task failed"),
        }
    }
}

const CONSENT_SERVICE_NAME: &str =
    <pb::consent_service_server::ConsentServiceServer<ConsentApi> as tonic::server::NamedService>::NAME;
const ADMIN_SERVICE_NAME: &str =
    <pb::admin_service_server::AdminServiceServer<AdminApi> as tonic::server::NamedService>::NAME;

/// Serves an already opened store (tests use this to inject a clock) on bound listeners.
/// The gRPC server's connection settings: streams per connection, HTTP/2 keepalive, no
/// Nagle. One place, so the load suite's floors are served exactly as consentd is.
pub fn grpc_settings<L>(builder: Server<L>, limits: &crate::config::Limits) -> Server<L> {
    builder
        .max_concurrent_streams(Some(limits.streams_per_connection_max))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .tcp_nodelay(true)
}

pub async fn run_with_store(
    config: Config,
    store: Store,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    serve(config, store, listener, metrics_listener, shutdown, None).await
}

/// Serves until `shutdown` resolves, then stops in `app`'s order.
async fn serve(
    config: Config,
    store: Store,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    cluster: Option<crate::cluster::Cluster>,
) -> Result<(), ServerError> {
    let addr = listener.local_addr()?;
    let tls = match &config.tls {
        Some(files) => Some(Arc::new(crate::tls::ReloadingTls::new(files.clone())?)),
        None => None,
    };
    // A cluster node learns its keys from the log, after it has started: the interceptor
    // checks per call instead (see `api::auth`).
    if store.api_keys().is_empty() && !store.replicated() {
        if !addr.ip().is_loopback() && !config.insecure {
            return Err(ServerError::Unprotected(addr));
        }
        if addr.ip().is_loopback() {
            tracing::warn!(%addr, "no API keys exist: every local caller has every scope (protected mode, loopback only)");
        } else {
            tracing::warn!(
                %addr,
                "no API keys exist and --insecure is set: EVERY caller that reaches this address has every scope"
            );
        }
    }
    plaintext_allowed(&config, addr)?;
    // Metrics: the same plaintext rule, and TLS (HTTP/1.1, no client certificates) with
    // the same certificate when it is set.
    if let Some(m) = &metrics_listener {
        plaintext_allowed(&config, m.local_addr()?)?;
    }
    let http1_tls = match &config.tls {
        Some(files) if metrics_listener.is_some() || config.http_addr.is_some() => {
            Some(Arc::new(crate::tls::ReloadingTls::for_http1(files)?))
        }
        _ => None,
    };
    // The public edge: same certificate, HTTP/1.1, and the same plaintext rule.
    let edge = match config.http_addr {
        Some(http_addr) => {
            plaintext_allowed(&config, http_addr)?;
            let edge_tls = http1_tls.clone();
            let listener = bind(Listener::Edge, http_addr).await?;
            let bound = listener.local_addr()?;
            let scheme = if edge_tls.is_some() { "https" } else { "http" };
            let url = config.public_url.clone().unwrap_or_else(|| format!("{scheme}://{bound}"));
            Some((listener, edge_tls, url))
        }
        None => None,
    };
    let limits = config.limits;
    // Twice the largest item limit: the services name the field and their own limit for
    // a batch somewhat too large; the codec refuses absurd ones before they are decoded.
    crate::api::codec::raise_wire_items_max(
        2 * limits.check_batch_items_max.max(limits.set_batch_items_max).max(crate::config::Limits::HISTORY_PAGE_MAX),
    );
    let metrics = Metrics::new(store.clone());
    // `/readyz` on the metrics port: the gRPC health of the whole server, mirrored.
    let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut app = App::new();
    let connection_limits = net::ConnectionLimits {
        connections_max: limits.connections_max,
        handshake_timeout: Duration::from_millis(limits.handshake_timeout_ms),
        idle_timeout: Duration::from_millis(limits.connection_idle_ms),
    };
    if let Some(mlistener) = metrics_listener {
        tracing::info!(addr = %mlistener.local_addr()?, tls = http1_tls.is_some(), "metrics on /metrics");
        // Scrapes keep working while the server drains; they stop with it.
        app.spawn(
            "metrics",
            metrics::serve(
                mlistener,
                Arc::clone(&metrics),
                Arc::clone(&ready),
                connection_limits,
                http1_tls.clone(),
                app.until(Phase::Stopped),
            ),
        );
    }

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<pb::decision_service_server::DecisionServiceServer<DecisionApi>>().await;
    health_reporter.set_serving::<pb::consent_service_server::ConsentServiceServer<ConsentApi>>().await;
    health_reporter.set_serving::<pb::admin_service_server::AdminServiceServer<AdminApi>>().await;
    // Both reflection versions: grpcurl speaks v1, while grpcio-reflection (Python) and
    // other older clients still ask v1alpha.
    let reflection_builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection = reflection_builder().build_v1().map_err(|e| ServerError::Reflection(e.to_string()))?;
    let reflection_v1alpha =
        reflection_builder().build_v1alpha().map_err(|e| ServerError::Reflection(e.to_string()))?;

    let auth = Auth { store: store.clone(), local_allowed: addr.ip().is_loopback() || config.insecure };
    let decision = pb::decision_service_server::DecisionServiceServer::new(DecisionApi {
        store: store.clone(),
        metrics: Arc::clone(&metrics),
        limits,
        stream_slots: Arc::new(Semaphore::new(limits.check_streams_max)),
        edge_url: edge.as_ref().map(|(_, _, url)| url.clone()),
    })
    .max_decoding_message_size(limits.message_bytes_max)
    .max_encoding_message_size(limits.message_bytes_max);
    let consent = pb::consent_service_server::ConsentServiceServer::new(ConsentApi {
        store: store.clone(),
        metrics: Arc::clone(&metrics),
        limits,
        watch_slots: Arc::new(Semaphore::new(limits.watch_streams_max)),
        edge_url: edge.as_ref().map(|(_, _, url)| url.clone()),
    })
    .max_decoding_message_size(limits.message_bytes_max)
    .max_encoding_message_size(limits.message_bytes_max);
    // The public change subject, on the cluster's NATS or the one named for it.
    let changes = config.changes.as_ref().and_then(|c| {
        use crate::webhook::changes::Publisher;
        let publisher = match (&config.cluster, &cluster, &c.nats) {
            (Some(conf), Some(running), _) => Publisher::on(
                running.jetstream(),
                c.subject.clone(),
                crate::config::Changes::stream(&conf.log.stream),
                conf.log.replicas,
            ),
            (_, _, Some(nats)) => {
                Publisher::connecting(nats.clone(), c.subject.clone(), crate::config::Changes::stream(&nats.stream))
            }
            _ => return None,
        };
        tracing::info!(subject = %c.subject, personal_data = c.personal_data, "publishing every change on NATS");
        Some((publisher, c.personal_data))
    });
    let webhooks = crate::webhook::Webhooks::with_changes(
        store.clone(),
        Duration::from_secs(limits.webhook_retry_secs),
        cluster.as_ref().map(crate::cluster::Cluster::leases),
        changes,
    );
    app.spawn("webhooks", Arc::clone(&webhooks).run(app.until(Phase::Draining)));
    metrics.set_webhooks(Arc::clone(&webhooks));
    let admin = pb::admin_service_server::AdminServiceServer::new(AdminApi::new(store.clone(), webhooks))
        .max_decoding_message_size(limits.message_bytes_max);

    let connections = Arc::clone(&metrics.connections);
    let mut reloading: Vec<_> = tls.iter().cloned().collect();
    // The edge's and the metrics' configuration: the same files, reloaded once.
    reloading.extend(http1_tls.iter().cloned());
    // The edge drains alongside gRPC: it says when its last request has been answered.
    let (edge_done_tx, edge_done) = tokio::sync::oneshot::channel::<()>();
    match edge {
        Some((http_listener, edge_tls, url)) => {
            tracing::info!(addr = %http_listener.local_addr()?, public_url = %url, tls = edge_tls.is_some(), "HTTP edge serving");
            let options = crate::edge::EdgeOptions {
                public_url: url,
                body_read_timeout: Duration::from_millis(limits.edge_body_read_ms),
                connections: connection_limits,
                tls: edge_tls,
            };
            let edge = crate::edge::serve(
                http_listener,
                store.clone(),
                options,
                Arc::clone(&connections),
                app.until(Phase::Draining),
            );
            app.spawn("edge", async move {
                edge.await;
                let _ = edge_done_tx.send(());
            });
        }
        None => drop(edge_done_tx),
    }
    app.spawn(
        "housekeeping",
        housekeeping(
            store.clone(),
            reloading,
            health_reporter.clone(),
            app.until(Phase::NotServing),
            Arc::clone(&ready),
            app.until(Phase::Stopped),
        ),
    );
    app.spawn("verify", verify_every_block(store.clone(), app.until(Phase::Stopped)));
    let reporter = health_reporter.clone();
    let drain = app.drain();
    let mut draining = app.until(Phase::Draining);
    // Steps 1 and 2 of the stop order: not serving, then draining.
    let signal = async move {
        shutdown.await;
        drain.not_serving();
        ready.store(false, std::sync::atomic::Ordering::Release);
        crate::notify::notify("STOPPING=1\nSTATUS=draining");
        // "" is the whole server: what load balancers and Kubernetes probes ask.
        reporter.set_service_status("", ServingStatus::NotServing).await;
        reporter.set_service_status(STORAGE_HEALTH_NAME, ServingStatus::NotServing).await;
        reporter.set_not_serving::<pb::decision_service_server::DecisionServiceServer<DecisionApi>>().await;
        reporter.set_not_serving::<pb::consent_service_server::ConsentServiceServer<ConsentApi>>().await;
        reporter.set_not_serving::<pb::admin_service_server::AdminServiceServer<AdminApi>>().await;
        tracing::info!("shutting down: draining in-flight calls (a second signal stops at once)");
        drain.begin();
    };
    // Every call: a span naming the RPC and its request id (see `api::trace`).
    let serve = grpc_settings(Server::builder().layer(crate::api::trace::RpcSpanLayer), &limits)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(InterceptedService::new(decision, auth.clone()))
        .add_service(InterceptedService::new(consent, auth.clone()))
        .add_service(InterceptedService::new(admin, auth))
        // The builder's tcp_nodelay applies only to listeners tonic binds itself; `net`
        // sets it on ours, or Nagle's algorithm meets delayed ACKs and answers wait 40 ms.
        .serve_with_incoming_shutdown(net::accept(listener, connection_limits, connections, tls.clone()), signal);
    tracing::info!(%addr, tls = tls.is_some(), "consentd serving gRPC");
    let serve_all = async move {
        serve.await?;
        let _ = edge_done.await;
        Ok::<(), ServerError>(())
    };
    // Step 3: both are done, or the grace period is over.
    let grace = Duration::from_millis(limits.shutdown_grace_ms);
    let served = tokio::select! {
        r = serve_all => r,
        () = async { draining.reached().await; tokio::time::sleep(grace).await; } => {
            tracing::warn!(grace_ms = limits.shutdown_grace_ms, "calls still open after the grace period; closing them");
            Ok(())
        }
    };
    // Step 4: every task joined (the edge's connections, if still open, end with its task).
    app.join().await;
    // Step 5.
    drop(cluster);
    served?;
    // Step 6.
    store.flush()?;
    tracing::info!("store flushed; bye");
    Ok(())
}
