//! The consentd server binary: parse flags, set up tracing, bind, call `server::run`.

use anyhow::Context;
use clap::Parser;
use consentd::config::{Args, Config};
use consentd::offline::Operation;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Everything consentd creates is its own: the data directory 0700 and its files 0600
    // (contact points and secrets are inside). RocksDB creates its files with 0644 masked by
    // the umask, so the umask is the one place that covers them all (#22).
    rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o077));
    // `consentd verify [flags]`: the same flags as the server (data directory, config file),
    // then an offline read of every stored block instead of serving.
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let verify = argv.get(1).is_some_and(|a| a == "verify");
    if verify {
        argv.remove(1);
    }
    let args = Args::parse_from(argv);
    // At most one offline operation; each runs instead of serving.
    let offline = if verify {
        Some(Operation::Verify)
    } else if let Some(description) = args.create_admin_key.clone() {
        Some(Operation::CreateAdminKey(description))
    } else if args.rotate_link_key {
        Some(Operation::RotateLinkKey)
    } else if args.rotate_receipt_key {
        Some(Operation::RotateReceiptKey)
    } else {
        None
    };
    let mut config = Config::load(args)?;
    let telemetry = consentd::telemetry::init(config.log_format, config.otlp.as_ref())?;
    // Connections and table files share one descriptor table: take what the system allows,
    // and cap connections below it, or a flood takes the descriptors the store needs.
    match consentd::net::raise_open_file_limit() {
        Ok(n) => {
            let cap = consentd::net::connections_max_for(n);
            if cap < config.limits.connections_max {
                tracing::warn!(
                    open_files_max = n,
                    configured = config.limits.connections_max,
                    connections_max = cap,
                    "the open-file limit is low: connections are capped below it (raise `ulimit -n` for more)"
                );
                config.limits.connections_max = cap;
            } else {
                tracing::debug!(open_files_max = n, "open-file limit");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
    if let Some(operation) = offline {
        return Ok(operation.run(&config.data_dir, config.cluster.is_some())?);
    }
    let listener = consentd::server::bind(consentd::server::Listener::Grpc, config.listen_addr).await?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(());
        shutdown_signal().await;
        // Every acknowledged change is already in the synced WAL: stopping without the
        // drain and the final flush is as safe as a crash, only the open calls are cut.
        tracing::warn!("second signal: stopping now without waiting for open calls");
        std::process::exit(130);
    });
    let shutdown = async {
        let _ = stop_rx.await;
    };
    let result = consentd::server::run(config, listener, shutdown).await.context("consentd stopped with an error");
    // Off the runtime's worker: the exporter's last send blocks until it is done.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    result
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
