//! Moving in and keeping one truth: the mapping an import or export reads files through
//! (preset, mapping file, flags), `import --explain` and `import --dry-run` (no server
//! needed), and `export --preset`, which writes consentd's state in a vendor's layout.

use std::collections::{BTreeMap, BTreeSet};

use consentd_client::bulk::export::{ExportContact, ExportRecord, Exporter};

use consentd_proto::pb;
use serde_json::json;

use crate::args::{ExportArgs, ImportArgs};
use crate::client::{Clients, Failure, exit, usage};
use crate::files::{FIRST_REJECTS, Rows, change_label, io_err, mapping_of, output, preset_of};
use crate::render::{enum_name, print};

/// `import --explain`, and `import --dry-run` without a server (`--offline`, or none
/// reachable).
pub(crate) fn import_offline(a: &ImportArgs, as_json: bool) -> Result<u8, Failure> {
    let preset = preset_of(&a.mapping);
    if a.explain {
        println!("{}", preset.explain());
        return Ok(exit::OK);
    }
    let mapping = mapping_of(&a.mapping, Some(a))?;
    let mut rows = Rows::open(a, mapping)?;
    rows.require_contact_column(a)?;
    let mut unmapped = BTreeSet::new();
    let mut would: BTreeMap<String, u64> = BTreeMap::new();
    let mut first_rejects = Vec::new();
    let (mut total, mut writes, mut skipped, mut rejected) = (0u64, 0u64, 0u64, 0u64);
    while let Some((line, _raw, parsed)) = rows.next(&mut unmapped) {
        total += 1;
        match parsed {
            Ok(list) if list.is_empty() => skipped += 1,
            Ok(list) => {
                for row in list {
                    writes += 1;
                    *would.entry(change_label(&row)).or_default() += 1;
                }
            }
            Err(why) => {
                rejected += 1;
                if first_rejects.len() < FIRST_REJECTS {
                    first_rejects.push(json!({"line": line, "reason": why.to_string()}));
                }
            }
        }
    }
    // Without a server only the file itself is checked: its syntax, columns, status words
    // and times. Profiles, purposes, topics, channels and contact points are the server's.
    let summary = json!({"dry_run": true, "checked_by": "file", "preset": a.mapping.preset, "rows": total, "would_write": writes,
        "skipped": skipped, "rejected": rejected, "by_change": would, "first_rejects": first_rejects,
        "unmapped_columns": unmapped});
    print(&summary, as_json);
    Ok(if rejected > 0 { exit::FINDINGS } else { exit::OK })
}

/// `out` with `suffix` before its extension: `state.csv` + `-cleaned` → `state-cleaned.csv`.
fn beside(out: &str, suffix: &str) -> String {
    if suffix.is_empty() {
        return out.to_owned();
    }
    match out.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.contains('/') => format!("{stem}{suffix}.{ext}"),
        _ => format!("{out}{suffix}"),
    }
}

/// `export --preset NAME`: the current state in a vendor's layout.
pub(crate) async fn export_preset(c: &Clients, a: &ExportArgs) -> Result<u8, Failure> {
    if a.history {
        return Err(usage("--history is consentd's own layout; leave out --preset".into()));
    }
    let exporter = Exporter::new(preset_of(&a.mapping), mapping_of(&a.mapping, None)?).map_err(usage)?;
    let files = exporter.files();
    if files.len() > 1 && a.out == "-" {
        return Err(usage("this preset writes several files: name them with --out".into()));
    }
    let mut writers = Vec::new();
    for (suffix, header) in &files {
        let mut w = csv::Writer::from_writer(output(&beside(&a.out, suffix))?);
        w.write_record(header).map_err(|e| io_err("export", e))?;
        writers.push(w);
    }
    let mut stream = c
        .consent()
        .export_records(pb::ExportRecordsRequest { profile_id: a.profile.clone(), include_history: false })
        .await?
        .into_inner();
    let secs = |t: &Option<prost_types::Timestamp>| t.as_ref().map(|t| t.seconds);
    let mut written = 0u64;
    while let Some(m) = stream.message().await? {
        let contact = ExportContact {
            channel: enum_name(pb::Channel::try_from(m.channel).unwrap_or_default().as_str_name(), "CHANNEL_"),
            contact_point: m.contact_point.clone(),
            records: m
                .records
                .iter()
                .map(|r| ExportRecord {
                    purpose: r.purpose_id.clone(),
                    topic: r.topic_id.clone(),
                    status: enum_name(
                        pb::ConsentStatus::try_from(r.status).unwrap_or_default().as_str_name(),
                        "CONSENT_STATUS_",
                    ),
                    occurred_at: secs(&r.occurred_at).unwrap_or(0),
                    expires_at: secs(&r.expires_at),
                    source: enum_name(
                        pb::ChangeSource::try_from(r.source).unwrap_or_default().as_str_name(),
                        "CHANGE_SOURCE_",
                    ),
                })
                .collect(),
            suppressions: m
                .suppressions
                .iter()
                .map(|s| {
                    let kind = pb::SuppressionKind::try_from(s.kind).unwrap_or_default().as_str_name();
                    (enum_name(kind, "SUPPRESSION_KIND_"), secs(&s.occurred_at).unwrap_or(0))
                })
                .collect(),
        };
        for (file, row) in exporter.rows(&contact) {
            writers[file].write_record(&row).map_err(|e| io_err("export", e))?;
            written += 1;
        }
    }
    for mut w in writers {
        w.flush().map_err(|e| io_err("export", e))?;
    }
    if a.out != "-" {
        let names: Vec<String> = files.iter().map(|(s, _)| beside(&a.out, s)).collect();
        print(&json!({"rows": written, "files": names}), false);
    }
    Ok(exit::OK)
}
