//! consentctl: the command-line client of consentd. Talks gRPC to a running server.
//! A library (the commands, testable without a process) and a binary that calls [`main`].
//!
//! Exit codes (see [`client::exit`]): 0 success (for `check`: the decision is send), 10
//! `check` decided block, 3 done but with findings (`history`: the chain is broken;
//! `import`: rows were rejected), 2 usage error, 65 invalid input, 66 a file cannot be
//! read, 69 server unavailable, 77 not authenticated or not permitted, 1 anything else.
//!
//! Layout: `args` (the command line), `client` (connection, exit codes), `render`
//! (output), one module per group of subcommands (`admin`, `consent`, `bulk`, `presets`,
//! `bench`), `files` (what bulk commands read and write), and `docs` (shell completions
//! and manual pages).

use std::process::ExitCode;

use clap::Parser;

mod admin;
mod args;
mod bench;
mod bulk;
mod client;
mod consent;
mod docs;
mod files;
mod presets;
mod proof;
mod reassigned;
mod render;
mod stream;

use args::{Cli, Command};
use client::Failure;

/// Runs one parsed command line; its exit code, or the failure to report.
async fn run(cli: Cli) -> Result<u8, Failure> {
    // `generate`, `import --explain` and `import --dry-run --offline` need no server;
    // `import --dry-run` asks one when it can.
    match &cli.command {
        Command::Generate { seed, contacts, purposes, out } => return bulk::generate(*seed, *contacts, purposes, out),
        Command::Completions { shell } => return docs::completions(*shell),
        Command::Man { out } => return docs::man(out),
        Command::Import(a) if a.explain || a.offline => return presets::import_offline(a, cli.json),
        Command::Import(a) if a.dry_run => {
            return match client::connect(&cli).await {
                Ok(c) => bulk::import(&c, a.clone(), cli.json).await,
                Err(f) if f.code == client::exit::UNAVAILABLE => {
                    eprintln!(
                        "consentctl: no server reachable ({}): checking the file alone; profiles, purposes, \
                         topics, channels and contact points are not checked (--offline says this is meant)",
                        f.message
                    );
                    presets::import_offline(a, cli.json)
                }
                Err(f) => Err(f),
            };
        }
        // `bench` connects to every --addr itself; `bench compare` to none.
        Command::Bench(cmd) => return bench::bench(&cli, cmd.clone()).await,
        // Offline: a receipt verifies with the public keys alone.
        Command::Receipt(args::ReceiptCmd::Verify { files, keys, public_key }) => {
            return proof::verify(files, keys.as_deref(), public_key);
        }
        _ => {}
    }
    let c = client::connect(&cli).await?;
    let j = cli.json;
    match cli.command {
        Command::Profile(cmd) => admin::profile(&c, cmd, j).await,
        Command::Purpose(cmd) => admin::purpose(&c, cmd, j).await,
        Command::Topic(cmd) => admin::topic(&c, cmd, j).await,
        Command::Key(cmd) => admin::key(&c, cmd, j).await,
        Command::Webhook(cmd) => admin::webhook(&c, cmd, j).await,
        Command::Set(a) => consent::set(&c, a, j).await,
        Command::Get(a) => consent::get(&c, a, j).await,
        Command::History(a) => consent::history(&c, a, j).await,
        Command::Check(a) => consent::check(&c, a, j).await,
        Command::MintLinks(a) => consent::mint_links(&c, a, j).await,
        Command::ServerInfo => consent::server_info(&c, j).await,
        Command::Health { service } => consent::health(&c, service, j).await,
        Command::Digest { min_revision } => consent::digest(&c, min_revision, j).await,
        Command::Suppression(cmd) => consent::suppression(&c, cmd, j).await,
        Command::Erase(a) => reassigned::erase(&c, a, j).await,
        Command::Move { contact, to } => reassigned::move_to(&c, contact, to, j).await,
        Command::ImportReassigned(a) => reassigned::import(&c, a, j).await,
        Command::Confirm { token, ip, user_agent } => consent::confirm(&c, token, ip, user_agent, j).await,
        Command::Sms { profile, from, body } => consent::sms(&c, profile, from, body, j).await,
        Command::Watch { after, profile } => consent::watch(&c, after, profile).await,
        Command::Report(crate::args::ReportCmd::LateOptOuts(a)) => consent::late_opt_outs(&c, a).await,
        Command::Import(a) => bulk::import(&c, a, j).await,
        Command::Export(a) => bulk::export(&c, a).await,
        Command::CheckFile(a) => bulk::check_file(&c, a, j).await,
        Command::Receipt(cmd) => proof::receipt(&c, cmd, j).await,
        Command::Fence(a) => proof::fence(&c, a, j).await,
        Command::Generate { .. } | Command::Bench(_) | Command::Completions { .. } | Command::Man { .. } => {
            Ok(client::exit::OK)
        }
    }
}

/// The whole program: parses the command line, runs it, reports a failure on stderr, and
/// answers the exit code (`src/main.rs` is only this call).
#[tokio::main]
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = client::Settings::of(&cli);
    match run(cli).await {
        Ok(code) => ExitCode::from(code),
        Err(mut f) => {
            if let Some(why) = client::diagnose(&settings, &f).await {
                f.message = why;
            }
            eprintln!("consentctl: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
