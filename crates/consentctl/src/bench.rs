//! `consentctl bench`: the load engine (`consentd_client::bench`) against any deployment, with a
//! live progress line, the final table, `--out` report and `--plot` picture; `compare` and
//! `cleanup`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use consentd_client::bench::report::{self, Phase, Report};
use consentd_client::bench::{self, Call, Population, Recorder, Run, StreamShape, Target};
use consentd_proto::pb;
use serde_json::json;

use crate::args::{BenchCmd, BenchCommon, Cli, StreamArgs};
use crate::client::{Failure, api_key, connect_to, exit, usage};
use crate::files::io_err;

pub(crate) async fn bench(cli: &Cli, cmd: BenchCmd) -> Result<u8, Failure> {
    match cmd {
        BenchCmd::Compare { old, new, threshold } => compare(&old, &new, threshold, cli.json),
        BenchCmd::Cleanup { profile } => cleanup(cli, &profile).await,
        BenchCmd::Stream { common, shape } => run(cli, &common, Scenario::Stream(shape)).await,
        BenchCmd::Unary { common, pace } => {
            run(cli, &common, Scenario::Unary(Call::Check, pace.concurrency, pace.rate)).await
        }
        BenchCmd::Write { common, pace, batch } => {
            let call = if batch > 1 { Call::BatchWrite(batch) } else { Call::Write };
            run(cli, &common, Scenario::Unary(call, pace.concurrency, pace.rate)).await
        }
        BenchCmd::Mixed { common, shape, write_rate } => run(cli, &common, Scenario::Mixed(shape, write_rate)).await,
        BenchCmd::Import { common, rows, file: None, .. } => run(cli, &common, Scenario::Import(rows)).await,
        BenchCmd::Import { common, file: Some(file), preset, .. } => {
            run(cli, &common, Scenario::ImportFile(file, preset)).await
        }
    }
}

enum Scenario {
    Stream(StreamArgs),
    /// The call, closed-loop concurrency, open-loop rate.
    Unary(Call, usize, Option<f64>),
    Mixed(StreamArgs, f64),
    Import(u64),
    /// A CSV file in a preset's layout.
    ImportFile(std::path::PathBuf, String),
}

impl Scenario {
    fn name(&self) -> &'static str {
        match self {
            Scenario::Stream(_) => "stream",
            Scenario::Unary(Call::Check, ..) => "unary",
            Scenario::Unary(..) => "write",
            Scenario::Mixed(..) => "mixed",
            Scenario::Import(_) | Scenario::ImportFile(..) => "import",
        }
    }

    fn writes(&self) -> bool {
        !matches!(self, Scenario::Stream(_) | Scenario::Unary(Call::Check | Call::Noop, ..))
    }
}

fn shape(s: &StreamArgs) -> StreamShape {
    StreamShape {
        connections: s.connections,
        streams_per_connection: s.streams_per_connection,
        batch: s.batch.max(1),
        overrides: s.overrides,
        include_links: s.include_links,
        packed: true,
        receipts: s.receipts,
        fence: None,
    }
}

/// Prints rate, errors and p99 so far once a second until `done` resolves.
fn progress(rec: Arc<Recorder>, quiet: bool, label: &'static str) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if quiet {
            return;
        }
        let mut last = (0u64, 0u64);
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let (ops, items, errors) = rec.counts();
            eprint!(
                "\r{label} {:>5.0}s  {:>9} ops/s  {:>10} items/s  errors {errors}  p99 so far {}      ",
                rec.elapsed().as_secs_f64(),
                ops - last.0,
                items - last.1,
                report::us(rec.p99_so_far())
            );
            last = (ops, items);
        }
    })
}

async fn measured<F, Fut>(label: &'static str, quiet: bool, f: F) -> bench::Outcome
where
    F: FnOnce(Arc<Recorder>) -> Fut,
    Fut: std::future::Future<Output = bench::Outcome>,
{
    let rec = Recorder::new();
    let ticker = progress(Arc::clone(&rec), quiet, label);
    let outcome = f(rec).await;
    ticker.abort();
    if !quiet {
        eprintln!();
    }
    outcome
}

async fn run(cli: &Cli, c: &BenchCommon, scenario: Scenario) -> Result<u8, Failure> {
    let setup = !c.no_setup;
    if (setup || scenario.writes())
        && !c.i_know_this_is_not_production
        && let Some(remote) = cli.addr.iter().find(|a| !bench::is_loopback(a))
    {
        return Err(usage(format!(
            "refusing to write to `{remote}`, which is not this machine: this run {}; pass \
             --i-know-this-is-not-production if that is what you want",
            if setup { "creates a profile and a population" } else { "writes consent changes" }
        )));
    }
    let mut channels = Vec::new();
    for addr in &cli.addr {
        channels.push(connect_to(cli, addr).await?);
    }
    let target = Target { channels, key: api_key(cli)? };
    let given = match &c.population_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Failure {
                code: exit::NO_INPUT,
                message: format!("cannot read `{}`: {e}", path.display()),
            })?;
            let list: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
            if list.is_empty() {
                return Err(usage(format!("`{}` has no contact points", path.display())));
            }
            Some(Arc::new(list))
        }
        None => None,
    };
    let profile = match (&c.profile, setup) {
        (Some(p), false) => p.clone(),
        (None, false) => return Err(usage("--no-setup needs --profile".into())),
        (_, true) => format!("bench-{}-{:08x}", c.seed, rand::random::<u32>()),
    };
    let pop = Population {
        profile: profile.clone(),
        purpose: c.purpose.clone(),
        topic: if setup { "t1".into() } else { String::new() },
        size: c.population,
        seed: c.seed,
        known: c.known.clamp(0.0, 1.0),
        given,
    };
    let mut derived = BTreeMap::new();
    if setup {
        let rate = bench::setup(&target, &pop).await.map_err(Failure::from)?.rows_per_sec;
        eprintln!("setup: profile `{profile}` with {} contact points ({rate:.0} rows/s)", pop.size);
        derived.insert("setup_rows_per_s".into(), rate);
    }
    if !setup {
        // A profile or purpose the server does not know fails every call the same way:
        // say so once, before the run, rather than report thousands of errors.
        if let Err(status) = bench::probe(&target, &pop).await {
            let mut f = Failure::from(status);
            f.message =
                format!("--profile `{profile}` --purpose `{}`: {} (nothing was measured)", pop.purpose, f.message);
            return Err(f);
        }
    }
    let revision_before = bench::revision(&target, &pop).await;
    let server_version = bench::server_version(&target).await;
    let run = Run { requests: c.requests, duration: c.duration };
    let warm = Run::timed(c.warmup);
    let q = c.quiet;
    let mut phases = Vec::new();
    match &scenario {
        Scenario::Stream(s) => {
            let shape = shape(s);
            if !c.warmup.is_zero() {
                bench::stream(&target, &pop, shape, warm, Recorder::new()).await;
            }
            let o = measured("stream", q, |rec| bench::stream(&target, &pop, shape, run, rec)).await;
            phases.push(Phase::from_outcome("stream", &o));
        }
        Scenario::Unary(call, concurrency, rate) => {
            let name = scenario.name();
            let (call, concurrency) = (*call, *concurrency);
            let o = match rate {
                Some(rate) => {
                    if !c.warmup.is_zero() {
                        bench::open_loop(&target, &pop, call, *rate, warm, Recorder::new()).await;
                    }
                    measured(name, q, |rec| bench::open_loop(&target, &pop, call, *rate, run, rec)).await
                }
                None => {
                    if !c.warmup.is_zero() {
                        bench::closed_loop(&target, &pop, call, concurrency, warm, Recorder::new()).await;
                    }
                    measured(name, q, |rec| bench::closed_loop(&target, &pop, call, concurrency, run, rec)).await
                }
            };
            phases.push(Phase::from_outcome(name, &o));
        }
        Scenario::Mixed(s, write_rate) => {
            let shape = shape(s);
            let half = Run { requests: c.requests.map(|n| n / 2), duration: c.duration / 2 };
            if !c.warmup.is_zero() {
                bench::stream(&target, &pop, shape, warm, Recorder::new()).await;
            }
            let alone = measured("stream alone", q, |rec| bench::stream(&target, &pop, shape, half, rec)).await;
            let writes_run = Run::timed(c.duration / 2);
            let (with, writes) = tokio::join!(
                measured("stream + writes", q, |rec| bench::stream(&target, &pop, shape, half, rec)),
                bench::open_loop(&target, &pop, Call::Write, *write_rate, writes_run, Recorder::new()),
            );
            derived.insert("stream_with_writes_ratio".into(), with.item_rate() / alone.item_rate().max(1e-9));
            phases.push(Phase::from_outcome("stream alone", &alone));
            phases.push(Phase::from_outcome("stream with writes", &with));
            phases.push(Phase::from_outcome("writes", &writes));
        }
        Scenario::Import(rows) => {
            // Rows of another synthetic population (so an import never rewrites the checked one).
            let import_pop = Population { size: *rows, seed: pop.seed.wrapping_add(1_000_003), ..pop.clone() };
            let calls = rows.div_ceil(1000);
            let run = Run::count(calls);
            let o = measured("import", q, |rec| {
                bench::closed_loop(&target, &import_pop, Call::BatchWrite(1000), 4, run, rec)
            })
            .await;
            phases.push(Phase::from_outcome("import", &o));
        }
        Scenario::ImportFile(path, preset) => {
            let calls = file_calls(path, preset, &pop.profile)?;
            let o = measured("import", q, |rec| bench::batches(&target, calls, 4, rec)).await;
            phases.push(Phase::from_outcome("import", &o));
        }
    }
    let revision_after = bench::revision(&target, &pop).await;
    let report = Report {
        tool: format!("consentctl {}", env!("CARGO_PKG_VERSION")),
        scenario: scenario.name().into(),
        settings: json!({
            "addr": cli.addr, "duration_s": c.duration.as_secs_f64(), "requests": c.requests,
            "warmup_s": c.warmup.as_secs_f64(), "seed": c.seed, "population": c.population,
            "population_file": c.population_file.as_ref().map(|p| p.display().to_string()),
            "known": c.known, "purpose": c.purpose, "setup": setup,
            "detail": match &scenario {
                Scenario::Stream(s) | Scenario::Mixed(s, _) => json!({"connections": s.connections,
                    "streams_per_connection": s.streams_per_connection, "batch": s.batch,
                    "overrides": s.overrides, "include_links": s.include_links,
                    "write_rate": if let Scenario::Mixed(_, r) = &scenario { Some(*r) } else { None }}),
                Scenario::Unary(call, conc, rate) => json!({"call": format!("{call:?}"), "concurrency": conc, "rate": rate}),
                Scenario::Import(rows) => json!({"rows": rows}),
                Scenario::ImportFile(file, preset) => json!({"file": file.display().to_string(), "preset": preset}),
            },
        }),
        profile: if setup { profile } else { pop.profile.clone() },
        revision_before,
        revision_after,
        server_version,
        phases,
        derived,
    };
    if cli.json {
        println!("{}", serde_json::to_string(&report).map_err(|e| io_err("report", e))?);
    } else {
        print!("{}", report.table());
        println!("profile: {}", report.profile);
    }
    if let Some(path) = &c.out {
        let text = serde_json::to_string_pretty(&report).map_err(|e| io_err("report", e))?;
        std::fs::write(path, text).map_err(|e| io_err(&path.display().to_string(), e))?;
    }
    if let Some(path) = &c.plot {
        std::fs::write(path, bench::svg::plot(&report)).map_err(|e| io_err(&path.display().to_string(), e))?;
    }
    let errors: u64 = report.phases.iter().map(Phase::error_count).sum();
    Ok(if errors > 0 { exit::FINDINGS } else { exit::OK })
}

/// The consent rows of a CSV file as BatchSetConsent calls of 1,000, every row under
/// `profile` (the run writes only there). Suppression rows and rows that do not parse are
/// left out, counted on standard error.
fn file_calls(path: &std::path::Path, preset: &str, profile: &str) -> Result<Vec<pb::BatchSetConsentRequest>, Failure> {
    use consentd_client::bulk::{Importer, Mapping, Preset, RowStatus};
    let file = std::fs::File::open(path)
        .map_err(|e| Failure { code: exit::NO_INPUT, message: format!("cannot read `{}`: {e}", path.display()) })?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(std::io::BufReader::new(file));
    let headers = reader.headers().map_err(|e| io_err("reading the header", e))?.clone();
    let headers: Vec<&str> = headers.iter().collect();
    let importer = Importer::new(
        Preset::from_name(preset).unwrap_or(Preset::Generic),
        &headers,
        Mapping::default(),
        profile,
        "email",
    );
    let (mut requests, mut left_out) = (Vec::new(), 0u64);
    for record in reader.records() {
        let Ok(record) = record else {
            left_out += 1;
            continue;
        };
        let fields: Vec<&str> = record.iter().collect();
        let Ok(rows) = importer.rows(&fields) else {
            left_out += 1;
            continue;
        };
        for mut row in rows {
            row.profile = profile.to_owned();
            let channel = crate::bulk::channel_arg(&row.channel).ok();
            match (channel, &row.status) {
                (Some(ch), Some(RowStatus::OptedIn | RowStatus::OptedOut)) => {
                    match crate::bulk::consent_request(&row, ch) {
                        Ok(r) => requests.push(r),
                        Err(_) => left_out += 1,
                    }
                }
                _ => left_out += 1,
            }
        }
    }
    if left_out > 0 {
        eprintln!("import: {left_out} rows left out (suppressions, or rows that do not parse)");
    }
    let mut calls = Vec::new();
    while !requests.is_empty() {
        let rest = requests.split_off(requests.len().min(1000));
        calls.push(pb::BatchSetConsentRequest {
            requests: std::mem::replace(&mut requests, rest),
            validate_only: false,
        });
    }
    Ok(calls)
}

fn read_report(path: &std::path::Path) -> Result<Report, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure { code: exit::NO_INPUT, message: format!("cannot read `{}`: {e}", path.display()) })?;
    serde_json::from_str(&text).map_err(|e| Failure {
        code: exit::DATA_ERR,
        message: format!("`{}` is not a bench report: {e}", path.display()),
    })
}

fn compare(old: &std::path::Path, new: &std::path::Path, threshold: f64, as_json: bool) -> Result<u8, Failure> {
    let (a, b) = (read_report(old)?, read_report(new)?);
    let changes = report::compare(&a, &b, threshold);
    if changes.is_empty() {
        return Err(Failure {
            code: exit::DATA_ERR,
            message: "the reports have no phase in common (different scenarios?)".into(),
        });
    }
    let regressed = changes.iter().any(|c| c.regressed);
    if as_json {
        println!("{}", json!({"threshold_pct": threshold, "regressed": regressed, "changes": changes}));
    } else {
        print!("{}", report::compare_table(&changes));
        println!("{}", if regressed { "regression past the threshold" } else { "no regression past the threshold" });
    }
    Ok(if regressed { exit::FINDINGS } else { exit::OK })
}

async fn cleanup(cli: &Cli, profile: &str) -> Result<u8, Failure> {
    if !profile.starts_with("bench-") {
        return Err(usage(format!("`{profile}` was not made by a bench run (those are named bench-...)")));
    }
    let addr = cli.addr.first().ok_or_else(|| usage("--addr is empty".into()))?;
    let target = Target { channels: vec![connect_to(cli, addr).await?], key: api_key(cli)? };
    target
        .admin(0)
        .deactivate_profile(pb::DeactivateProfileRequest { profile_id: profile.to_owned() })
        .await
        .map_err(Failure::from)?;
    println!("deactivated profile {profile}");
    Ok(exit::OK)
}
