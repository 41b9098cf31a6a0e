//! consentctl's bulk commands: import, export, check-file and generate (presets and dry
//! runs: [`crate::presets`]). Files are streamed:
//! memory stays flat whatever the file size, and in-flight requests are bounded.
//! One file for the four because they share the streaming machinery (bounded in-flight
//! batches, progress, reject and output files); each command is one function.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::time::{Duration, Instant};

use consentd::api::pb;
use consentd::bulk::{self, ImportRow, Importer, Mapping, Preset, RowError, RowStatus};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tokio::task::JoinSet;

use crate::args::{ChannelArg, CheckFileArgs, ExportArgs, Format, ImportArgs};
use crate::client::{Clients, Failure, exit, usage};
use crate::presets::{export_preset, mapping_of, preset_of};
use crate::render::{enum_name, print, ts};

/// A channel named in an import row.
pub(crate) fn channel_arg(name: &str) -> Result<i32, Failure> {
    use clap::ValueEnum;
    ChannelArg::from_str(name, true).map(ChannelArg::pb).map_err(|_| usage(format!("unknown channel `{name}`")))
}

pub(crate) fn io_err(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure { code: exit::FAILURE, message: format!("{what}: {e}") }
}

fn progress(total_bytes: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total_bytes);
    let style = ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg} eta {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

pub(crate) fn output(path: &str) -> Result<Box<dyn Write>, Failure> {
    if path == "-" {
        Ok(Box::new(BufWriter::new(std::io::stdout())))
    } else {
        Ok(Box::new(BufWriter::new(File::create(path).map_err(|e| io_err(path, e))?)))
    }
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
/// What one batch came back with: the rejected lines and the number applied.
type BatchOutcome = Result<(Vec<Reject>, u64), Failure>;

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

/// Sends one batch; returns the rejected (line, raw, reason) and the number applied.
async fn send_batch(c: &Clients, batch: Vec<Pending>) -> BatchOutcome {
    let mut rejects = Vec::new();
    let mut ok = 0u64;
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
                    })
                    .await;
                match r {
                    Ok(_) => ok += 1,
                    Err(s) if s.code() == tonic::Code::InvalidArgument || s.code() == tonic::Code::PermissionDenied => {
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
        sent.push((p.line, p.raw));
    }
    if !requests.is_empty() {
        let r = c.consent().batch_set_consent(pb::BatchSetConsentRequest { requests }).await?.into_inner();
        for ((line, raw), result) in sent.into_iter().zip(r.results) {
            match result.result {
                Some(pb::batch_set_consent_result::Result::Change(_)) => ok += 1,
                Some(pb::batch_set_consent_result::Result::Error(e)) => rejects.push((line, raw, e.message)),
                None => rejects.push((line, raw, "no result".to_owned())),
            }
        }
    }
    Ok((rejects, ok))
}

/// One record read: its line number, its raw text (for the reject file) and the rows it
/// becomes (none for a record that states no consent, e.g. "Not set").
pub(crate) type Record = (u64, String, Result<Vec<ImportRow>, RowError>);

/// Reads records from a CSV or JSONL file through a preset.
pub(crate) enum Rows {
    Csv {
        reader: csv::Reader<BufReader<File>>,
        importer: Box<Importer>,
    },
    Jsonl {
        lines: std::io::Lines<BufReader<File>>,
        line: u64,
        bytes: u64,
        setup: Box<(Preset, Mapping, String, String)>,
    },
}

/// The delimiter of a CSV file: the one of `,`, `;` and tab that the header line (outside
/// quotes) has most of; `,` when it has none.
fn sniff_delimiter(path: &std::path::Path) -> Result<u8, Failure> {
    let mut head = Vec::new();
    let file = File::open(path).map_err(|e| io_err(&path.display().to_string(), e))?;
    file.take(64 << 10).read_to_end(&mut head).map_err(|e| io_err("reading the header", e))?;
    let mut quoted = false;
    let mut counts = [0usize; 3];
    for b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|i| (counts[*i], usize::from(*i == 0))).unwrap_or(0);
    Ok([b',', b';', b'\t'][best])
}

impl Rows {
    pub(crate) fn open(a: &ImportArgs, mapping: Mapping) -> Result<Rows, Failure> {
        let path = a.file.as_deref().ok_or_else(|| usage("--file is needed".into()))?;
        let preset = preset_of(&a.mapping);
        let file = File::open(path)
            .map_err(|e| Failure { code: exit::NO_INPUT, message: format!("cannot read `{}`: {e}", path.display()) })?;
        match a.format {
            Format::Csv => {
                let delimiter = match a.delimiter.as_str() {
                    "auto" => sniff_delimiter(path)?,
                    "tab" | "\\t" => b'\t',
                    d if d.len() == 1 => d.as_bytes()[0],
                    d => return Err(usage(format!("--delimiter `{d}`: auto, a single character or tab"))),
                };
                let mut reader =
                    csv::ReaderBuilder::new().flexible(true).delimiter(delimiter).from_reader(BufReader::new(file));
                let headers = reader.headers().map_err(|e| io_err("reading the header", e))?.clone();
                let headers: Vec<&str> = headers.iter().collect();
                let importer = Importer::new(preset, &headers, mapping, &a.profile, &a.channel.name());
                Ok(Rows::Csv { reader, importer: Box::new(importer) })
            }
            Format::Jsonl => Ok(Rows::Jsonl {
                lines: BufReader::new(file).lines(),
                line: 0,
                bytes: 0,
                setup: Box::new((preset, mapping, a.profile.clone(), a.channel.name())),
            }),
        }
    }

    fn bytes_read(&self) -> u64 {
        match self {
            Rows::Csv { reader, .. } => reader.position().byte(),
            Rows::Jsonl { bytes, .. } => *bytes,
        }
    }

    /// The next record, with the columns nothing read (JSON lines: this line's); `None` at the end.
    pub(crate) fn next(&mut self, unmapped: &mut BTreeSet<String>) -> Option<Record> {
        match self {
            Rows::Csv { reader, importer } => {
                let mut record = csv::StringRecord::new();
                match reader.read_record(&mut record) {
                    Ok(false) => None,
                    Ok(true) => {
                        let line = record.position().map_or(0, |p| p.line());
                        let fields: Vec<&str> = record.iter().collect();
                        let raw = fields.join(",");
                        if unmapped.is_empty() {
                            unmapped.extend(importer.unmapped());
                        }
                        Some((line, raw, importer.rows(&fields)))
                    }
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        Some((line, String::new(), Err(RowError::Syntax(format!("CSV: {e}")))))
                    }
                }
            }
            Rows::Jsonl { lines, line, bytes, setup } => {
                let text = match lines.next()? {
                    Ok(t) => t,
                    Err(e) => return Some((*line + 1, String::new(), Err(RowError::Syntax(format!("text: {e}"))))),
                };
                *line += 1;
                *bytes += text.len() as u64 + 1;
                if text.trim().is_empty() {
                    return Some((*line, text, Err(RowError::Syntax("JSON: the line is empty".to_owned()))));
                }
                let (preset, mapping, profile, channel) = setup.as_ref();
                let parsed = bulk::parse_jsonl_line(&text, *preset, mapping, profile, channel).map(|(rows, cols)| {
                    unmapped.extend(cols);
                    rows
                });
                Some((*line, text, parsed))
            }
        }
    }
}

pub async fn import(c: &Clients, a: ImportArgs, as_json: bool) -> Result<u8, Failure> {
    let mapping = mapping_of(&a.mapping, Some(&a))?;
    let mut rows = Rows::open(&a, mapping)?;
    let size = a.file.as_ref().and_then(|f| std::fs::metadata(f).ok()).map_or(0, |m| m.len());
    let mut rejects =
        csv::Writer::from_writer(BufWriter::new(File::create(&a.reject_file).map_err(|e| io_err("reject file", e))?));
    rejects.write_record(["line", "reason", "row"]).map_err(|e| io_err("reject file", e))?;
    let bar = progress(size, a.quiet);
    let started = Instant::now();
    let (mut total, mut applied, mut rejected, mut skipped) = (0u64, 0u64, 0u64, 0u64);
    let mut unmapped = BTreeSet::new();
    let mut in_flight: JoinSet<BatchOutcome> = JoinSet::new();
    let mut batch = Vec::with_capacity(a.batch);
    let concurrency = a.concurrency.max(1);
    let finish = |result: Result<BatchOutcome, tokio::task::JoinError>,
                  rejects: &mut csv::Writer<BufWriter<File>>,
                  applied: &mut u64,
                  rejected: &mut u64|
     -> Result<(), Failure> {
        let (bad, ok) = result.map_err(|e| io_err("import task", e))??;
        *applied += ok;
        for (line, raw, why) in bad {
            *rejected += 1;
            rejects
                .write_record([line.to_string().as_str(), why.to_string().as_str(), raw.as_str()])
                .map_err(|e| io_err("reject file", e))?;
        }
        Ok(())
    };
    loop {
        let next = rows.next(&mut unmapped);
        let done = next.is_none();
        if let Some((line, raw, parsed)) = next {
            total += 1;
            match parsed {
                Ok(list) if list.is_empty() => skipped += 1,
                Ok(list) => batch.extend(list.into_iter().map(|row| Pending { line, raw: raw.clone(), row })),
                Err(why) => {
                    rejected += 1;
                    rejects
                        .write_record([line.to_string().as_str(), why.to_string().as_str(), raw.as_str()])
                        .map_err(|e| io_err("reject file", e))?;
                }
            }
        }
        if batch.len() >= a.batch || (done && !batch.is_empty()) {
            while in_flight.len() >= concurrency {
                if let Some(r) = in_flight.join_next().await {
                    finish(r, &mut rejects, &mut applied, &mut rejected)?;
                }
            }
            let work = std::mem::take(&mut batch);
            let clients = Clients { channel: c.channel.clone(), key: c.key.clone() };
            in_flight.spawn(async move { send_batch(&clients, work).await });
            bar.set_position(rows.bytes_read());
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{total} rows, {:.0} rows/s, {rejected} rejected", total as f64 / secs));
        }
        if done {
            break;
        }
    }
    while let Some(r) = in_flight.join_next().await {
        finish(r, &mut rejects, &mut applied, &mut rejected)?;
    }
    rejects.flush().map_err(|e| io_err("reject file", e))?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let summary = json!({"rows": total, "applied": applied, "rejected": rejected, "skipped": skipped,
        "unmapped_columns": unmapped, "seconds": secs, "rows_per_s": total as f64 / secs.max(1e-9),
        "reject_file": a.reject_file.display().to_string()});
    print(&summary, as_json);
    Ok(if rejected > 0 { exit::FINDINGS } else { exit::OK })
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
    let channel = a.channel.pb();
    let size = std::fs::metadata(&a.file).map(|m| m.len()).unwrap_or(0);
    let file = File::open(&a.file).map_err(|e| io_err(&a.file.display().to_string(), e))?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(BufReader::new(file));
    let headers = reader.headers().map_err(|e| io_err("reading the header", e))?.clone();
    let contact_col = headers
        .iter()
        .position(|h| {
            matches!(
                h.trim().to_ascii_lowercase().as_str(),
                "contact_point" | "email" | "phone" | "mobile" | "address" | "token"
            )
        })
        .unwrap_or(0);
    let mut allowed = csv::Writer::from_path(&a.allowed).map_err(|e| io_err("allowed file", e))?;
    let mut blocked = csv::Writer::from_path(&a.blocked).map_err(|e| io_err("blocked file", e))?;
    allowed.write_record(&headers).map_err(|e| io_err("allowed file", e))?;
    let mut bh: Vec<String> = headers.iter().map(str::to_owned).collect();
    bh.push("reason".to_owned());
    blocked.write_record(&bh).map_err(|e| io_err("blocked file", e))?;

    let (tx, rx) = tokio::sync::mpsc::channel::<pb::CheckStreamRequest>(4);
    let mut client = c.decision().max_decoding_message_size(64 << 20).max_encoding_message_size(64 << 20);
    let mut answers = client.check_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).await?.into_inner();
    let bar = progress(size, a.quiet);
    let started = Instant::now();
    // Rows of batches sent and not yet answered, oldest first (answers keep batch order).
    let mut pending: VecDeque<Vec<csv::StringRecord>> = VecDeque::new();
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    let (mut total, mut sends) = (0u64, 0u64);
    let mut next_id = 0u64;
    let mut eof = false;
    let mut tx = Some(tx);
    while !eof || !pending.is_empty() {
        // Keep up to four batches in flight; then wait for the oldest answer.
        if !eof && pending.len() < 4 {
            let mut rows = Vec::with_capacity(a.batch);
            let mut record = csv::StringRecord::new();
            while rows.len() < a.batch {
                match reader.read_record(&mut record) {
                    Ok(true) => rows.push(record.clone()),
                    Ok(false) => {
                        eof = true;
                        break;
                    }
                    Err(e) => return Err(io_err("reading recipients", e)),
                }
            }
            if !rows.is_empty() {
                let contact_points = rows.iter().map(|r| r.get(contact_col).unwrap_or("").to_owned()).collect();
                let req = pb::CheckStreamRequest {
                    batch_id: next_id,
                    profile_id: a.profile.clone(),
                    channel,
                    purpose_id: a.purpose.clone(),
                    topic_id: a.topic.clone(),
                    contact_points,
                    overrides: vec![],
                    min_revision: 0,
                    include_links: false,
                };
                next_id += 1;
                if let Some(t) = &tx {
                    t.send(req).await.map_err(|_| io_err("check stream", "closed by the server"))?;
                }
                pending.push_back(rows);
            }
            if eof {
                tx = None;
            }
            continue;
        }
        let answer = answers.message().await?.ok_or_else(|| io_err("check stream", "ended early"))?;
        let rows = pending.pop_front().ok_or_else(|| io_err("check stream", "answer without a batch"))?;
        for ((row, decision), reason) in rows.iter().zip(&answer.decisions).zip(&answer.reasons) {
            total += 1;
            let reason = enum_name(pb::Reason::try_from(*reason).unwrap_or_default().as_str_name(), "REASON_");
            *by_reason.entry(reason.clone()).or_default() += 1;
            if *decision == pb::Decision::Send as i32 {
                sends += 1;
                allowed.write_record(row).map_err(|e| io_err("allowed file", e))?;
            } else {
                let mut out: Vec<&str> = row.iter().collect();
                out.push(&reason);
                blocked.write_record(&out).map_err(|e| io_err("blocked file", e))?;
            }
        }
        bar.set_position(reader.position().byte());
        bar.set_message(format!("{total} checked, {:.0}/s", total as f64 / started.elapsed().as_secs_f64().max(1e-9)));
    }
    drop(tx);
    allowed.flush().map_err(|e| io_err("allowed file", e))?;
    blocked.flush().map_err(|e| io_err("blocked file", e))?;
    bar.finish_and_clear();
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
