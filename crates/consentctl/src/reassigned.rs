//! `consentctl erase`, `move` and `import-reassigned`: a contact point's life
//! (DECISION-RULES.md, "A contact point's life").
//!
//! The reassigned-numbers file is CSV with a number column and a disconnection-date column,
//! found by their headers (case, spaces and `_` ignored):
//! - number: `number`, `phone`, `phone_number`, `tn`, `telephone_number`, `msisdn`;
//! - date: `disconnected_at`, `disconnection_date`, `disconnect_date`, `date_of_disconnection`,
//!   `permanent_disconnect_date`, `date`.
//!
//! A file without a header row has the number first and the date second. That is the US
//! Reassigned Numbers Database's layout: a 10-digit telephone number (TN) and the date of its
//! most recent permanent disconnection. Numbers without a country code are read in `--region`
//! (default `US`). Dates: `YYYY-MM-DD`, `YYYYMMDD`, `MM/DD/YYYY` or RFC 3339; a date without
//! a time means the end of that day (UTC), since consent given that day was the previous
//! owner's.

use consentd_client::bulk::time::{TimeOptions, parse as parse_time};
use consentd_proto::pb;
use serde_json::json;

use crate::args::{ContactArgs, ImportReassignedArgs};
use crate::client::{Clients, Failure, exit};
use crate::render::print;

/// Numbers per request (the server's limit).
const NUMBERS_PER_REQUEST: usize = 1000;

pub(crate) async fn erase(c: &Clients, a: ContactArgs, j: bool) -> Result<u8, Failure> {
    let r = c
        .consent()
        .erase_contact_point(pb::EraseContactPointRequest {
            profile_id: a.profile,
            channel: a.channel.pb(),
            contact_point: a.contact,
        })
        .await?
        .into_inner();
    print(&json!({"erased_channels": channel_names(&r.channels), "revision": r.revision}), j);
    Ok(exit::OK)
}

pub(crate) async fn move_to(c: &Clients, a: ContactArgs, to: String, j: bool) -> Result<u8, Failure> {
    let r = c
        .consent()
        .move_contact_point(pb::MoveContactPointRequest {
            profile_id: a.profile,
            channel: a.channel.pb(),
            from: a.contact,
            to,
            proof: None,
            occurred_at: None,
            source: pb::ChangeSource::Admin as i32,
        })
        .await?
        .into_inner();
    print(
        &json!({"channels": channel_names(&r.channels), "moved": r.moved, "suppressed": r.suppressed, "revision": r.revision}),
        j,
    );
    Ok(exit::OK)
}

fn channel_names(channels: &[i32]) -> Vec<String> {
    channels
        .iter()
        .map(|c| {
            pb::Channel::try_from(*c)
                .map_or_else(|_| c.to_string(), |c| c.as_str_name().trim_start_matches("CHANNEL_").to_lowercase())
        })
        .collect()
}

fn header_is(cell: &str, names: &[&str]) -> bool {
    let norm: String = cell.chars().filter(|c| !matches!(c, ' ' | '_' | '-')).collect::<String>().to_lowercase();
    names.iter().any(|n| n.replace('_', "") == norm)
}

const NUMBER_NAMES: &[&str] = &["number", "phone", "phone_number", "tn", "telephone_number", "msisdn"];
const DATE_NAMES: &[&str] = &[
    "disconnected_at",
    "disconnection_date",
    "disconnect_date",
    "date_of_disconnection",
    "permanent_disconnect_date",
    "date",
];

/// A disconnection time in microseconds; a date alone is the last microsecond of its day.
pub(crate) fn disconnection_us(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let bad = |why: &str| format!("`{t}` is not a date ({why}): use YYYY-MM-DD, YYYYMMDD, MM/DD/YYYY or RFC 3339");
    let compact = t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit());
    let spelled = if compact { format!("{}-{}-{}", &t[..4], &t[4..6], &t[6..]) } else { t.to_owned() };
    if spelled.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("a bare number"));
    }
    let (secs, nanos) = parse_time(&spelled, TimeOptions { offset_secs: 0, day_first: Some(false) }).map_err(bad)?;
    let us = secs * 1_000_000 + i64::from(nanos / 1000);
    let date_only = !spelled.contains(':');
    Ok(if date_only { us + 86_400 * 1_000_000 - 1 } else { us })
}

fn timestamp(us: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: us.div_euclid(1_000_000), nanos: (us.rem_euclid(1_000_000) * 1000) as i32 }
}

pub(crate) async fn import(c: &Clients, a: ImportReassignedArgs, j: bool) -> Result<u8, Failure> {
    let file = std::fs::File::open(&a.file)
        .map_err(|e| Failure { code: exit::NO_INPUT, message: format!("cannot open `{}`: {e}", a.file) })?;
    let mut rows = csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(file);
    let mut columns = (0usize, 1usize);
    let mut batch: Vec<(u64, pb::ReassignedNumber)> = Vec::new();
    let (mut read, mut applied, mut unchanged) = (0u64, 0u64, 0u64);
    let mut errors: Vec<serde_json::Value> = Vec::new();
    for (i, row) in rows.records().enumerate() {
        let line = i as u64 + 1;
        let row = row.map_err(|e| Failure { code: exit::DATA_ERR, message: format!("line {line}: {e}") })?;
        if i == 0 {
            let number = row.iter().position(|h| header_is(h, NUMBER_NAMES));
            let date = row.iter().position(|h| header_is(h, DATE_NAMES));
            match (number, date) {
                (Some(n), Some(d)) => {
                    columns = (n, d);
                    continue;
                }
                (Some(_), None) | (None, Some(_)) => {
                    return Err(Failure {
                        code: exit::DATA_ERR,
                        message: "the header names a number or a date column but not both (see `consentctl import-reassigned --help`)".to_owned(),
                    });
                }
                (None, None) => {}
            }
        }
        read += 1;
        let number = row.get(columns.0).unwrap_or("").to_owned();
        match disconnection_us(row.get(columns.1).unwrap_or("")) {
            Ok(us) => batch.push((line, pb::ReassignedNumber { number, disconnected_at: Some(timestamp(us)) })),
            Err(e) => errors.push(json!({"line": line, "number": number, "error": e})),
        }
        if batch.len() >= NUMBERS_PER_REQUEST {
            send(c, &a.region, &mut batch, (&mut applied, &mut unchanged), &mut errors).await?;
        }
    }
    send(c, &a.region, &mut batch, (&mut applied, &mut unchanged), &mut errors).await?;
    let failed = errors.len();
    if !j {
        for e in &errors {
            eprintln!(
                "line {}: {} ({})",
                e["line"],
                e["error"].as_str().unwrap_or(""),
                e["number"].as_str().unwrap_or("")
            );
        }
    }
    print(
        &json!({"numbers": read, "applied": applied, "unchanged": unchanged, "rejected": failed, "errors": errors}),
        j,
    );
    Ok(if failed == 0 { exit::OK } else { exit::FINDINGS })
}

async fn send(
    c: &Clients,
    region: &str,
    batch: &mut Vec<(u64, pb::ReassignedNumber)>,
    (applied, unchanged): (&mut u64, &mut u64),
    errors: &mut Vec<serde_json::Value>,
) -> Result<(), Failure> {
    if batch.is_empty() {
        return Ok(());
    }
    let lines: Vec<u64> = batch.iter().map(|(l, _)| *l).collect();
    let numbers = batch.drain(..).map(|(_, n)| n).collect();
    let r = c
        .consent()
        .report_reassigned_numbers(pb::ReportReassignedNumbersRequest { numbers, default_region: region.to_owned() })
        .await?
        .into_inner();
    for (line, result) in lines.into_iter().zip(r.results) {
        if !result.error.is_empty() {
            errors.push(json!({"line": line, "number": result.number, "error": result.error}));
        } else if result.applied {
            *applied += 1;
        } else {
            *unchanged += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::disconnection_us;

    #[test]
    fn dates_mean_the_end_of_their_day() {
        let end_of_2025_12_01 = 1_764_633_600 * 1_000_000 - 1;
        assert_eq!(disconnection_us("2025-12-01"), Ok(end_of_2025_12_01));
        assert_eq!(disconnection_us("20251201"), Ok(end_of_2025_12_01));
        assert_eq!(disconnection_us("12/01/2025"), Ok(end_of_2025_12_01));
        assert_eq!(disconnection_us("2025-12-01T10:00:00Z"), Ok(1_764_583_200 * 1_000_000));
        assert!(disconnection_us("1764583200").is_err());
        assert!(disconnection_us("yesterday").is_err());
    }
}
