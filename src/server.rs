//! `run(config, listener, shutdown)`: the whole server, testable in-process. Binds nothing
//! itself except the optional metrics port, so tests pass a `127.0.0.1:0` listener.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot, watch};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Server;

use crate::api::admin::AdminApi;
use crate::api::auth::Auth;
use crate::api::consent::ConsentApi;
use crate::api::decision::DecisionApi;
use crate::api::metrics::{self, Metrics};
use crate::api::pb;
use crate::config::Config;
use crate::storage::{Store, StoreOptions, system_clock};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error(
        "refusing to listen on `{0}` without API keys: create a key first (consentctl key create, on a loopback address), or pass --insecure"
    )]
    Unprotected(std::net::SocketAddr),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("reflection service: {0}")]
    Reflection(String),
    #[error("start-up task failed: {0}")]
    Join(String),
}

/// Opens the store under `config.data_dir` (with the system clock) and serves until
/// `shutdown` resolves.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let mut options = StoreOptions::new(system_clock());
    options.write_queue_max = config.limits.write_queue_max;
    options.write_group_max = config.limits.write_group_max;
    options.block_cache_bytes = config.limits.block_cache_bytes;
    let dir = config.data_dir.clone();
    std::fs::create_dir_all(&dir)?;
    let (store, stats) = tokio::task::spawn_blocking(move || Store::open(&dir, options))
        .await
        .map_err(|e| ServerError::Join(e.to_string()))??;
    tracing::info!(
        data_dir = %config.data_dir.display(),
        contacts = stats.contacts,
        revision = stats.revision,
        load_ms = stats.load_ms as u64,
        "store opened"
    );
    let metrics_listener = match config.metrics_addr {
        Some(addr) => Some(TcpListener::bind(addr).await?),
        None => None,
    };
    run_with_store(config, store, listener, metrics_listener, shutdown).await
}

/// Serves an already opened store (tests use this to inject a clock) on bound listeners.
pub async fn run_with_store(
    config: Config,
    store: Store,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let addr = listener.local_addr()?;
    if store.api_keys().is_empty() {
        if !addr.ip().is_loopback() && !config.insecure {
            return Err(ServerError::Unprotected(addr));
        }
        tracing::warn!(%addr, "no API keys exist: every caller has every scope (protected mode, loopback only)");
    }
    let limits = config.limits;
    let metrics = Metrics::new();
    let (stop_tx, stop_rx) = watch::channel(false);
    if let Some(mlistener) = metrics_listener {
        tracing::info!(addr = %mlistener.local_addr()?, "metrics on /metrics");
        tokio::spawn(metrics::serve(mlistener, Arc::clone(&metrics), store.clone(), stop_rx.clone()));
    }

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<pb::decision_service_server::DecisionServiceServer<DecisionApi>>().await;
    health_reporter.set_serving::<pb::consent_service_server::ConsentServiceServer<ConsentApi>>().await;
    health_reporter.set_serving::<pb::admin_service_server::AdminServiceServer<AdminApi>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServerError::Reflection(e.to_string()))?;

    let auth = Auth { store: store.clone() };
    let decision = pb::decision_service_server::DecisionServiceServer::new(DecisionApi {
        store: store.clone(),
        metrics: Arc::clone(&metrics),
        limits,
    })
    .max_decoding_message_size(limits.message_bytes_max)
    .max_encoding_message_size(limits.message_bytes_max);
    let consent = pb::consent_service_server::ConsentServiceServer::new(ConsentApi {
        store: store.clone(),
        metrics: Arc::clone(&metrics),
        limits,
        watch_slots: Arc::new(Semaphore::new(limits.watch_streams_max)),
    })
    .max_decoding_message_size(limits.message_bytes_max)
    .max_encoding_message_size(limits.message_bytes_max);
    let admin = pb::admin_service_server::AdminServiceServer::new(AdminApi { store: store.clone() })
        .max_decoding_message_size(limits.message_bytes_max);

    let (drained_tx, drained_rx) = oneshot::channel::<()>();
    let reporter = health_reporter.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: draining in-flight calls");
        reporter.set_not_serving::<pb::decision_service_server::DecisionServiceServer<DecisionApi>>().await;
        reporter.set_not_serving::<pb::consent_service_server::ConsentServiceServer<ConsentApi>>().await;
        reporter.set_not_serving::<pb::admin_service_server::AdminServiceServer<AdminApi>>().await;
        let _ = drained_tx.send(());
    };
    let serve = Server::builder()
        .max_concurrent_streams(Some(limits.streams_per_connection_max))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .tcp_nodelay(true)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(InterceptedService::new(decision, auth.clone()))
        .add_service(InterceptedService::new(consent, auth.clone()))
        .add_service(InterceptedService::new(admin, auth))
        // The builder's tcp_nodelay applies only to listeners tonic binds itself; set it on
        // ours too, or Nagle's algorithm meets delayed ACKs and small answers wait 40 ms.
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener)
                .with_nodelay(Some(true))
                .with_keepalive(Some(Duration::from_secs(60))),
            signal,
        );
    tracing::info!(%addr, "consentd serving gRPC");
    tokio::pin!(serve);
    let grace = Duration::from_millis(limits.shutdown_grace_ms);
    tokio::select! {
        r = &mut serve => r?,
        () = async { let _ = drained_rx.await; tokio::time::sleep(grace).await; } => {
            tracing::warn!(grace_ms = limits.shutdown_grace_ms, "calls still open after the grace period; closing them");
        }
    }
    let _ = stop_tx.send(true);
    store.flush()?;
    tracing::info!("store flushed; bye");
    Ok(())
}
