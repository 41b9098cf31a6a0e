//! consentctl's bulk commands: import, export, check-file and generate (presets and dry
//! runs: [`crate::presets`]). Files are streamed:
//! memory stays flat whatever the file size, and in-flight requests are bounded.
//! One file for the four because they share the streaming machinery (bounded in-flight
//! batches, progress, reject and output files); each command is one function.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use consentd_client::bulk::{self, ImportRow, Preset, RowStatus};
use consentd_proto::pb;
use serde_json::json;
use tokio::task::JoinSet;

use crate::args::{ChannelArg, CheckFileArgs, ExportArgs, Format, ImportArgs};
use crate::client::{Clients, Failure, exit, usage};
use crate::files::{FIRST_REJECTS, Rows, change_label, io_err, mapping_of, output, preset_of, progress};
use crate::presets::export_preset;
use crate::render::{enum_name, print, ts};
use crate::stream::{Recipients, stream_recipients};

/// A channel named in an import row.
pub(crate) fn channel_arg(name: &str) -> Result<i32, Failure> {
    use clap::ValueEnum;
    ChannelArg::from_str(name, true).map(ChannelArg::pb).map_err(|_| usage(format!("unknown channel `{name}`")))
}

fn ts_of(t: Option<(i64, i32)>) -> Option<prost_types::Timestamp> {
    t.map(|(seconds, nanos)| prost_types::Timestamp { seconds, nanos })
}

/// One row ready to send, with its line number and raw text for the reject file.
struct Pending {
    line: u64,
    raw: String,
    row: ImportRow,
}

/// A rejected line: its number, its text and why.
type Reject = (u64, String, String);

/// What one batch came back with.
#[derive(Default)]
struct Sent {
    /// The rejected lines, in line order (with the batch's lines that did not parse).
    rejects: Vec<Reject>,
    /// Changes written now.
    applied: u64,
    /// Changes the server had already taken under the same idempotency key (a re-run):
    /// answered again, not written again.
    replayed: u64,
    /// A dry run: the changes the server found writable, by what they change.
    by_change: BTreeMap<String, u64>,
}

type BatchOutcome = Result<Sent, Failure>;

/// Why the server refused one item, told by the import's column rather than the
/// request's internals (`requests[859].change.contact_point`): the line number is beside
/// it in the reject file.
fn item_reason(e: &pb::ItemError) -> String {
    let description = e.message.split_once("`: ").map_or(e.message.as_str(), |(_, d)| d);
    match e.field.rsplit('.').next() {
        Some(f) if !f.is_empty() => format!("`{}`: {description}", f.trim_end_matches("_id")),
        _ => description.to_owned(),
    }
}

/// The SetConsent request of a consent row (not a suppression) on `channel`.
pub(crate) fn consent_request(row: &ImportRow, channel: i32) -> Result<pb::SetConsentRequest, String> {
    let source = pb::ChangeSource::from_str_name(&format!("CHANGE_SOURCE_{}", row.source.to_ascii_uppercase()))
        .ok_or_else(|| format!("unknown source `{}`", row.source))?;
    let proof =
        (!row.ip_address.is_empty() || !row.user_agent.is_empty() || !row.notice_id.is_empty()).then(|| pb::Proof {
            ip_address: row.ip_address.clone(),
            user_agent: row.user_agent.clone(),
            notice_id: row.notice_id.clone(),
            notice_version: row.notice_version.clone(),
            notice_hash: row.notice_hash.clone(),
            notice_text: String::new(),
        });
    Ok(pb::SetConsentRequest {
        idempotency_key: bulk::idempotency_key(row),
        change: Some(pb::ConsentChange {
            profile_id: row.profile.clone(),
            channel,
            contact_point: row.contact_point.clone(),
            purpose_id: row.purpose.clone(),
            topic_id: row.topic.clone(),
            status: if row.status == Some(RowStatus::OptedIn) {
                pb::ConsentStatus::OptedIn
            } else {
                pb::ConsentStatus::OptedOut
            } as i32,
            occurred_at: ts_of(row.occurred_at),
            source: source as i32,
            reason: row.reason.clone(),
            proof,
            expires_at: ts_of(row.expires_at),
        }),
    })
}

/// The whole import's failure when the server refuses the profile of `--profile` itself
/// (unknown or deactivated): every row that uses it would be rejected alone, thousands of
/// identical lines, so the import stops at the first with one error instead.
fn profile_refused(row: &ImportRow, line: u64, default_profile: &str, field: &str, message: &str) -> Option<Failure> {
    // A batch item names the field at fault; a suppression's status has only its words.
    let about_profile = field.ends_with("profile_id")
        || (field.is_empty()
            && [" does not exist", " is deactivated"]
                .iter()
                .any(|tail| message.contains(&format!("profile `{}`{tail}", row.profile))));
    (about_profile && row.profile == default_profile).then(|| Failure {
        code: exit::DATA_ERR,
        message: format!(
            "--profile `{default_profile}`: {message} (import stopped at line {line}; create the profile or \
             fix the flag, then run the import again)"
        ),
    })
}

/// Sends one batch; returns the rejected (line, raw, reason) and the number applied. With
/// `validate_only` (a dry run) the server checks every change as it would write it, and
/// writes nothing.
async fn send_batch(
    c: &Clients,
    batch: Vec<Pending>,
    mut rejects: Vec<Reject>,
    default_profile: &str,
    validate_only: bool,
) -> BatchOutcome {
    let mut ok = 0u64;
    let mut replayed = 0u64;
    let mut by_change = BTreeMap::new();
    let mut count_change = |row: &ImportRow| {
        if validate_only {
            *by_change.entry(change_label(row)).or_default() += 1;
        }
    };
    let mut requests = Vec::new();
    let mut sent = Vec::new();
    for p in batch {
        let channel = match channel_arg(&p.row.channel) {
            Ok(ch) => ch,
            Err(f) => {
                rejects.push((p.line, p.raw, f.message));
                continue;
            }
        };
        match &p.row.status {
            Some(RowStatus::Suppressed(kind)) => {
                let kind_n =
                    pb::SuppressionKind::from_str_name(&format!("SUPPRESSION_KIND_{}", kind.to_ascii_uppercase()));
                let Some(kind_n) = kind_n else {
                    rejects.push((p.line, p.raw, format!("unknown suppression kind `{kind}`")));
                    continue;
                };
                let r = c
                    .consent()
                    .add_suppression(pb::AddSuppressionRequest {
                        profile_id: p.row.profile.clone(),
                        channel,
                        contact_point: p.row.contact_point.clone(),
                        kind: kind_n as i32,
                        reason: p.row.reason.clone(),
                        occurred_at: ts_of(p.row.occurred_at),
                        source: pb::ChangeSource::Import as i32,
                        validate_only,
                    })
                    .await;
                match r {
                    Ok(_) => {
                        ok += 1;
                        count_change(&p.row);
                    }
                    Err(s) if s.code() == tonic::Code::InvalidArgument || s.code() == tonic::Code::PermissionDenied => {
                        if let Some(f) = profile_refused(&p.row, p.line, default_profile, "", s.message()) {
                            return Err(f);
                        }
                        rejects.push((p.line, p.raw, s.message().to_owned()))
                    }
                    Err(s) => return Err(s.into()),
                }
                continue;
            }
            Some(RowStatus::OptedIn | RowStatus::OptedOut) | None => {}
        }
        match consent_request(&p.row, channel) {
            Ok(r) => requests.push(r),
            Err(why) => {
                rejects.push((p.line, p.raw, why));
                continue;
            }
        }
        sent.push((p.line, p.raw, p.row));
    }
    if !requests.is_empty() {
        let r =
            c.consent().batch_set_consent(pb::BatchSetConsentRequest { requests, validate_only }).await?.into_inner();
        for ((line, raw, row), result) in sent.into_iter().zip(r.results) {
            match result.result {
                Some(pb::batch_set_consent_result::Result::Change(c)) if c.replayed => replayed += 1,
                Some(pb::batch_set_consent_result::Result::Change(_)) => ok += 1,
                Some(pb::batch_set_consent_result::Result::Validated(_)) => {
                    ok += 1;
                    count_change(&row);
                }
                Some(pb::batch_set_consent_result::Result::Error(e)) => {
                    let reason = item_reason(&e);
                    if e.code == tonic::Code::InvalidArgument as i32
                        && let Some(f) = profile_refused(&row, line, default_profile, &e.field, &reason)
                    {
                        return Err(f);
                    }
                    rejects.push((line, raw, reason))
                }
                None => rejects.push((line, raw, "no result".to_owned())),
            }
        }
    }
    // Lines that did not parse came first; a line may also be sent as several changes.
    rejects.sort_by_key(|r| r.0);
    Ok(Sent { rejects, applied: ok, replayed, by_change })
}

/// `import`, and `import --dry-run` with a server: the same reading, batching and
/// sending, with the server asked to validate only. A dry run writes a reject file only
/// when `--reject-file` names one.
pub async fn import(c: &Clients, a: ImportArgs, as_json: bool) -> Result<u8, Failure> {
    let dry = a.dry_run;
    let mapping = mapping_of(&a.mapping, Some(&a))?;
    let mut rows = Rows::open(&a, mapping)?;
    rows.require_contact_column(&a)?;
    let size = a.file.as_ref().and_then(|f| std::fs::metadata(f).ok()).map_or(0, |m| m.len());
    let reject_path = (!dry || a.reject_file.is_some()).then(|| reject_file(&a));
    let mut rejects = match &reject_path {
        Some(path) => {
            let file = File::create(path).map_err(|e| io_err(&format!("reject file `{}`", path.display()), e))?;
            let mut w = csv::Writer::from_writer(BufWriter::new(file));
            w.write_record(["line", "reason", "row"]).map_err(|e| io_err("reject file", e))?;
            Some(w)
        }
        None => None,
    };
    let bar = progress(size, a.quiet);
    let started = Instant::now();
    let (mut total, mut skipped) = (0u64, 0u64);
    let mut tally = Tally::default();
    let mut unmapped = BTreeSet::new();
    let mut in_flight: JoinSet<(u64, BatchOutcome)> = JoinSet::new();
    let mut sent_batches = 0u64;
    let mut batch = Vec::with_capacity(a.batch);
    let mut unparsed: Vec<Reject> = Vec::new();
    let concurrency = a.concurrency.max(1);
    loop {
        let next = rows.next(&mut unmapped);
        let done = next.is_none();
        if let Some((line, raw, parsed)) = next {
            total += 1;
            match parsed {
                Ok(list) if list.is_empty() => skipped += 1,
                Ok(list) => batch.extend(list.into_iter().map(|row| Pending { line, raw: raw.clone(), row })),
                Err(why) => unparsed.push((line, raw, why.to_string())),
            }
        }
        let held = batch.len() + unparsed.len();
        if held >= a.batch || (done && held > 0) {
            while in_flight.len() >= concurrency {
                if let Some(r) = in_flight.join_next().await {
                    tally.finish(r, &mut rejects)?;
                }
            }
            let work = std::mem::take(&mut batch);
            let bad = std::mem::take(&mut unparsed);
            let clients = Clients { channel: c.channel.clone(), key: c.key.clone() };
            let profile = a.profile.clone();
            let n = sent_batches;
            sent_batches += 1;
            in_flight.spawn(async move { (n, send_batch(&clients, work, bad, &profile, dry).await) });
            bar.set_position(rows.bytes_read());
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{total} rows, {:.0} rows/s, {} rejected", total as f64 / secs, tally.rejected));
        }
        if done {
            break;
        }
    }
    while let Some(r) = in_flight.join_next().await {
        tally.finish(r, &mut rejects)?;
    }
    if let Some(w) = &mut rejects {
        w.flush().map_err(|e| io_err("reject file", e))?;
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let Tally { applied, replayed, rejected, by_change, first_rejects, .. } = tally;
    let reject_file = reject_path.map(|p| p.display().to_string());
    let summary = if dry {
        json!({"dry_run": true, "checked_by": "server", "preset": a.mapping.preset, "rows": total,
            "would_write": applied + replayed, "skipped": skipped, "rejected": rejected, "by_change": by_change,
            "first_rejects": first_rejects, "unmapped_columns": unmapped, "reject_file": reject_file})
    } else {
        json!({"rows": total, "applied": applied, "replayed": replayed, "rejected": rejected,
            "skipped": skipped, "unmapped_columns": unmapped, "seconds": secs,
            "rows_per_s": total as f64 / secs.max(1e-9), "reject_file": reject_file})
    };
    print(&summary, as_json);
    Ok(if rejected > 0 { exit::FINDINGS } else { exit::OK })
}

/// An import's counts so far, and the rejects of batches that finished before an earlier
/// one. Batches finish in any order; their rejects are written in the order they were read
/// (batch numbers), so the reject file is in line order. At most `--concurrency` batches
/// wait here.
#[derive(Default)]
struct Tally {
    applied: u64,
    replayed: u64,
    rejected: u64,
    finished: BTreeMap<u64, Vec<Reject>>,
    written_batches: u64,
    /// A dry run's changes by kind, and its first rejects (line order).
    by_change: BTreeMap<String, u64>,
    first_rejects: Vec<serde_json::Value>,
}

impl Tally {
    fn finish(
        &mut self,
        result: Result<(u64, BatchOutcome), tokio::task::JoinError>,
        rejects: &mut Option<csv::Writer<BufWriter<File>>>,
    ) -> Result<(), Failure> {
        let (n, outcome) = result.map_err(|e| io_err("import task", e))?;
        let sent = outcome?;
        self.applied += sent.applied;
        self.replayed += sent.replayed;
        self.rejected += sent.rejects.len() as u64;
        for (k, v) in sent.by_change {
            *self.by_change.entry(k).or_default() += v;
        }
        self.finished.insert(n, sent.rejects);
        while let Some(bad) = self.finished.remove(&self.written_batches) {
            self.written_batches += 1;
            for (line, raw, why) in bad {
                if self.first_rejects.len() < FIRST_REJECTS {
                    self.first_rejects.push(json!({"line": line, "reason": why}));
                }
                if let Some(w) = rejects {
                    w.write_record([line.to_string().as_str(), why.as_str(), raw.as_str()])
                        .map_err(|e| io_err("reject file", e))?;
                }
            }
        }
        Ok(())
    }
}

/// Where this import's rejects go: `--reject-file` as given (overwritten: the caller
/// named it), else `rejects.csv`, or `rejects-2.csv`, `-3`, ... when that exists, so that
/// a later import never overwrites an earlier one's rejects unasked.
fn reject_file(a: &ImportArgs) -> std::path::PathBuf {
    if let Some(p) = &a.reject_file {
        return p.clone();
    }
    let mut path = std::path::PathBuf::from("rejects.csv");
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = std::path::PathBuf::from(format!("rejects-{n}.csv"));
    }
    path
}

pub async fn export(c: &Clients, a: ExportArgs) -> Result<u8, Failure> {
    if preset_of(&a.mapping) != Preset::Generic {
        return export_preset(c, &a).await;
    }
    let (profile, format, history, out) = (a.profile.as_str(), a.format, a.history, a.out.as_str());
    let mut stream = c
        .consent()
        .export_records(pb::ExportRecordsRequest { profile_id: profile.to_owned(), include_history: history })
        .await?
        .into_inner();
    let csv_mode = format == Format::Csv && !history;
    // CSV state goes through the csv writer; JSON lines straight to the output.
    let (mut w, mut csv_out) =
        if csv_mode { (None, Some(csv::Writer::from_writer(output(out)?))) } else { (Some(output(out)?), None) };
    if let Some(csv_out) = &mut csv_out {
        csv_out
            .write_record([
                "profile",
                "channel",
                "contact_point",
                "purpose",
                "topic",
                "status",
                "suppression_kind",
                "occurred_at",
                "expires_at",
                "source",
                "revision",
            ])
            .map_err(|e| io_err("export", e))?;
    }
    let time = |t: &Option<prost_types::Timestamp>| t.as_ref().map(|t| t.to_string()).unwrap_or_default();
    while let Some(m) = stream.message().await? {
        let channel = enum_name(pb::Channel::try_from(m.channel).unwrap_or_default().as_str_name(), "CHANNEL_");
        if let (true, Some(w)) = (history, &mut w) {
            for e in &m.events {
                let line = json!({
                    "profile": profile, "channel": channel, "contact_point": m.contact_point, "seq": e.seq,
                    "kind": enum_name(pb::EventKind::try_from(e.kind).unwrap_or_default().as_str_name(), "EVENT_KIND_"),
                    "applied": e.applied, "revision": e.revision, "purpose": e.purpose_id, "topic": e.topic_id,
                    "status": enum_name(pb::ConsentStatus::try_from(e.status).unwrap_or_default().as_str_name(), "CONSENT_STATUS_"),
                    "occurred_at": ts(&e.occurred_at), "recorded_at": ts(&e.recorded_at), "actor": e.actor, "reason": e.reason,
                    "source": enum_name(pb::ChangeSource::try_from(e.source).unwrap_or_default().as_str_name(), "CHANGE_SOURCE_"),
                    "hash": e.hash, "prev_hash": e.prev_hash,
                });
                writeln!(w, "{line}").map_err(|e| io_err("export", e))?;
            }
            continue;
        }
        let mut rows: Vec<[String; 11]> = m
            .records
            .iter()
            .map(|r| {
                [
                    profile.to_owned(),
                    channel.clone(),
                    m.contact_point.clone(),
                    r.purpose_id.clone(),
                    r.topic_id.clone(),
                    enum_name(
                        pb::ConsentStatus::try_from(r.status).unwrap_or_default().as_str_name(),
                        "CONSENT_STATUS_",
                    ),
                    String::new(),
                    time(&r.occurred_at),
                    time(&r.expires_at),
                    enum_name(pb::ChangeSource::try_from(r.source).unwrap_or_default().as_str_name(), "CHANGE_SOURCE_"),
                    r.revision.to_string(),
                ]
            })
            .collect();
        rows.extend(m.suppressions.iter().map(|s| {
            [
                profile.to_owned(),
                channel.clone(),
                m.contact_point.clone(),
                String::new(),
                String::new(),
                "suppressed".to_owned(),
                enum_name(pb::SuppressionKind::try_from(s.kind).unwrap_or_default().as_str_name(), "SUPPRESSION_KIND_"),
                time(&s.occurred_at),
                String::new(),
                "import".to_owned(),
                s.revision.to_string(),
            ]
        }));
        for row in rows {
            if let Some(csv_out) = &mut csv_out {
                csv_out.write_record(&row).map_err(|e| io_err("export", e))?;
            } else if let Some(w) = &mut w {
                let keys = [
                    "profile",
                    "channel",
                    "contact_point",
                    "purpose",
                    "topic",
                    "status",
                    "suppression_kind",
                    "occurred_at",
                    "expires_at",
                    "source",
                    "revision",
                ];
                let obj: serde_json::Map<String, serde_json::Value> = keys
                    .iter()
                    .zip(row)
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| ((*k).to_owned(), json!(v)))
                    .collect();
                writeln!(w, "{}", serde_json::Value::Object(obj)).map_err(|e| io_err("export", e))?;
            }
        }
    }
    if let Some(mut c) = csv_out {
        c.flush().map_err(|e| io_err("export", e))?;
    }
    if let Some(mut w) = w {
        w.flush().map_err(|e| io_err("export", e))?;
    }
    Ok(exit::OK)
}

pub async fn check_file(c: &Clients, a: CheckFileArgs, as_json: bool) -> Result<u8, Failure> {
    let mut file = Recipients::open(&a.file, a.no_header)?;
    let mut allowed = csv::WriterBuilder::new()
        .flexible(true)
        .from_path(&a.allowed)
        .map_err(|e| io_err(&format!("allowed file `{}`", a.allowed.display()), e))?;
    let mut blocked = csv::WriterBuilder::new()
        .flexible(true)
        .from_path(&a.blocked)
        .map_err(|e| io_err(&format!("blocked file `{}`", a.blocked.display()), e))?;
    if let Some(headers) = &file.headers {
        allowed.write_record(headers).map_err(|e| io_err("allowed file", e))?;
        let mut bh: Vec<String> = headers.iter().map(str::to_owned).collect();
        bh.push("reason".to_owned());
        blocked.write_record(&bh).map_err(|e| io_err("blocked file", e))?;
    }
    if let Some(dir) = &a.receipts {
        std::fs::create_dir_all(dir).map_err(|e| io_err(&format!("receipts directory `{}`", dir.display()), e))?;
    }
    let template = pb::CheckStreamRequest {
        profile_id: a.profile.clone(),
        channel: a.channel.pb(),
        purpose_id: a.purpose.clone(),
        topic_id: a.topic.clone(),
        as_of: a.as_of.pb().0,
        as_of_clock: a.as_of.pb().1,
        receipts: a.receipts.is_some(),
        ..Default::default()
    };
    let started = Instant::now();
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    let mut sends = 0u64;
    let total = stream_recipients(c, &mut file, a.batch, &template, a.quiet, |first, rows, answer| {
        // A short answer would silently drop recipients: refuse it instead.
        if answer.outcomes.len() != rows.len() {
            return Err(io_err(
                "check stream",
                format!("{} recipients sent, {} decisions back", rows.len(), answer.outcomes.len()),
            ));
        }
        if let Some(dir) = &a.receipts {
            crate::proof::keep_receipt(dir, &a.file, first, &answer)?;
        }
        for (row, outcome) in rows.iter().zip(&answer.outcomes) {
            let (decision, reason) = consentd_client::packed::answer(*outcome);
            let reason = enum_name(pb::Reason::try_from(reason).unwrap_or_default().as_str_name(), "REASON_");
            *by_reason.entry(reason.clone()).or_default() += 1;
            if decision == pb::Decision::Send as i32 {
                sends += 1;
                allowed.write_record(row).map_err(|e| io_err("allowed file", e))?;
            } else {
                let mut out: Vec<&str> = row.iter().collect();
                out.push(&reason);
                blocked.write_record(&out).map_err(|e| io_err("blocked file", e))?;
            }
        }
        Ok(())
    })
    .await?;
    allowed.flush().map_err(|e| io_err("allowed file", e))?;
    blocked.flush().map_err(|e| io_err("blocked file", e))?;
    let summary = json!({"checked": total, "send": sends, "block": total - sends, "by_reason": by_reason, "seconds": started.elapsed().as_secs_f64()});
    print(&summary, as_json);
    Ok(exit::OK)
}

pub fn generate(seed: u64, contacts: u64, purposes: &[String], out: &str) -> Result<u8, Failure> {
    let parsed: Vec<(String, Vec<String>)> = purposes
        .iter()
        .map(|p| match p.split_once(':') {
            Some((name, topics)) => {
                (name.to_owned(), topics.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect())
            }
            None => (p.clone(), Vec::new()),
        })
        .collect();
    let topic_refs: Vec<Vec<&str>> = parsed.iter().map(|(_, t)| t.iter().map(String::as_str).collect()).collect();
    let spec: Vec<(&str, &[&str])> =
        parsed.iter().zip(&topic_refs).map(|((n, _), t)| (n.as_str(), t.as_slice())).collect();
    let base_time = 1_767_225_600;
    let mut w = output(out)?;
    writeln!(w, "{}", bulk::GENERATED_HEADER).map_err(|e| io_err("generate", e))?;
    for i in 0..contacts {
        for row in bulk::generate_rows(seed, i, &bulk::Mix::DEFAULT, &spec, base_time) {
            writeln!(w, "{row}").map_err(|e| io_err("generate", e))?;
        }
    }
    w.flush().map_err(|e| io_err("generate", e))?;
    Ok(exit::OK)
}
