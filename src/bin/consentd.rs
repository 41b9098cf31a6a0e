//! The consentd server binary: parse flags, set up tracing, bind, call `server::run`.

use anyhow::Context;
use clap::Parser;
use consentd::config::{Args, Config};

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
    let recovery = args.create_admin_key.clone();
    let rotate = args.rotate_link_key;
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
    if (rotate || recovery.is_some()) && config.cluster.is_some() {
        // One node's directory is not the cluster's: an offline change there would make the
        // replicas differ. Keys come through the log (AdminService on a loopback address).
        anyhow::bail!(
            "--rotate-link-key and --create-admin-key work on a standalone data directory only; in cluster mode \
             create keys through AdminService (every local caller may while no key exists)"
        );
    }
    if verify {
        return verify_offline(&config.data_dir);
    }
    if rotate {
        let (store, _) = consentd::storage::Store::open(
            &config.data_dir,
            consentd::storage::StoreOptions::new(consentd::storage::system_clock()),
        )
        .context("opening the store (is a server still running on this data directory?)")?;
        let id = store.rotate_link_key()?;
        store.flush()?;
        println!("link key {id} signs from now on");
        return Ok(());
    }
    if let Some(description) = recovery {
        let key = consentd::server::create_admin_key(&config.data_dir, &description)
            .context("creating an admin key (is a server still running on this data directory?)")?;
        println!("{key}");
        return Ok(());
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

/// `consentd verify`: opens the store (refused while a server holds it), reads every block
/// with checksums verified, prints what it found; exits 1 on damage.
fn verify_offline(data_dir: &std::path::Path) -> anyhow::Result<()> {
    if consentd::storage::guard::holds_no_store(data_dir) {
        anyhow::bail!("`{}` holds no store to verify", data_dir.display());
    }
    let (store, stats) = consentd::storage::Store::open(
        data_dir,
        consentd::storage::StoreOptions::new(consentd::storage::system_clock()),
    )
    .context("opening the store (is a server still running on this data directory?)")?;
    let report = store.verify();
    println!(
        "{}: revision {}, {} contact points, {} entries ({} MiB) read with checksums verified",
        data_dir.display(),
        stats.revision,
        stats.contacts,
        report.entries,
        report.bytes >> 20
    );
    if report.damage.is_empty() {
        println!("no damage found");
        return Ok(());
    }
    for d in &report.damage {
        println!("damage: {d}");
    }
    anyhow::bail!("{} column families hold damaged blocks", report.damage.len())
}
