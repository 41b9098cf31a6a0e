//! The files a bulk command reads and writes: the mapping an import or export reads
//! through (preset, mapping file, flags), the records of an import file, output files,
//! and how a row is named in a summary. `bulk` (import, export, check-file) and `presets`
//! (dry runs, vendor exports) both build on it.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::time::Duration;

use std::collections::BTreeSet;

use consentd_client::bulk::mapping::{parse_status_arg, split_purpose};
use consentd_client::bulk::{self, ImportRow, Importer, Mapping, Preset, RowError, RowStatus, time};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::{Format, ImportArgs, MappingArgs};
use crate::client::{Failure, exit, usage};

/// How many rejects a dry run's summary lists.
pub(crate) const FIRST_REJECTS: usize = 10;

pub(crate) fn io_err(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure { code: exit::FAILURE, message: format!("{what}: {e}") }
}

pub(crate) fn output(path: &str) -> Result<Box<dyn Write>, Failure> {
    if path == "-" {
        Ok(Box::new(BufWriter::new(std::io::stdout())))
    } else {
        Ok(Box::new(BufWriter::new(File::create(path).map_err(|e| io_err(path, e))?)))
    }
}

/// What a row changes, for a dry run's summary: `email newsletter/events opted_out`.
pub(crate) fn change_label(row: &ImportRow) -> String {
    let what = match &row.status {
        Some(RowStatus::OptedIn) => "opted_in".to_owned(),
        Some(RowStatus::OptedOut) => "opted_out".to_owned(),
        Some(RowStatus::Suppressed(kind)) => format!("suppressed:{kind}"),
        None => "?".to_owned(),
    };
    let subject = match (row.purpose.as_str(), row.topic.as_str()) {
        ("", _) => format!("{} (channel-wide)", row.channel),
        (p, "") => format!("{} {p}", row.channel),
        (p, t) => format!("{} {p}/{t}", row.channel),
    };
    format!("{subject} {what}")
}

pub(crate) fn preset_of(m: &MappingArgs) -> Preset {
    Preset::from_name(&m.preset).unwrap_or(Preset::Generic)
}

/// The mapping file, then the flags over it.
pub(crate) fn mapping_of(m: &MappingArgs, import: Option<&ImportArgs>) -> Result<Mapping, Failure> {
    let mut mapping = match &m.mapping {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Failure {
                code: exit::NO_INPUT,
                message: format!("cannot read `{}`: {e}", path.display()),
            })?;
            Mapping::from_toml(&text).map_err(usage)?
        }
        None => Mapping::default(),
    };
    if !m.purposes.is_empty() {
        mapping.default_purposes = m.purposes.iter().map(|p| split_purpose(p)).collect();
    }
    let Some(a) = import else { return Ok(mapping) };
    for arg in &a.maps {
        mapping.add_map_arg(arg).map_err(usage)?;
    }
    for arg in &a.values {
        let (word, status) =
            arg.rsplit_once('=').ok_or_else(|| usage(format!("--value `{arg}`: expected WORD=STATUS")))?;
        mapping.add_value(word, status).map_err(usage)?;
    }
    if let Some(s) = &a.status {
        mapping.status = Some(parse_status_arg(s).map_err(usage)?);
    }
    if let Some(tz) = &a.timezone {
        mapping.time.offset_secs = time::parse_offset(tz).map_err(|e| usage(format!("--timezone `{tz}`: {e}")))?;
    }
    if a.day_first {
        mapping.time.day_first = Some(true);
    } else if a.month_first {
        mapping.time.day_first = Some(false);
    }
    Ok(mapping)
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

    /// Refuses a CSV file whose header binds no contact column: every one of its rows would
    /// be rejected alone, so say it once, before anything is sent. (Salesforce's consent
    /// rows may carry their address in another object; JSON lines bind keys per line.)
    pub(crate) fn require_contact_column(&self, a: &ImportArgs) -> Result<(), Failure> {
        match self {
            Rows::Csv { importer, .. }
                if !importer.has("contact_point") && preset_of(&a.mapping) != Preset::Salesforce =>
            {
                Err(Failure {
                    code: exit::DATA_ERR,
                    message: format!(
                        "the header of `{}` has no contact column (one of {}): rename the column \
                         with --map \"COLUMN=contact_point\"; nothing was imported",
                        a.file.as_deref().map(|f| f.display().to_string()).unwrap_or_default(),
                        bulk::CONTACT_HEADERS.join(", ")
                    ),
                })
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn bytes_read(&self) -> u64 {
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

/// A progress bar over a file's bytes (hidden with --quiet).
pub(crate) fn progress(total_bytes: u64, quiet: bool) -> ProgressBar {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(channel: &str, purpose: &str, topic: &str, status: Option<RowStatus>) -> ImportRow {
        ImportRow {
            channel: channel.to_owned(),
            purpose: purpose.to_owned(),
            topic: topic.to_owned(),
            status,
            ..ImportRow::default()
        }
    }

    #[test]
    fn a_change_is_named_by_its_subject_and_status() {
        assert_eq!(change_label(&row("email", "", "", Some(RowStatus::OptedOut))), "email (channel-wide) opted_out");
        assert_eq!(change_label(&row("sms", "marketing", "", Some(RowStatus::OptedIn))), "sms marketing opted_in");
        assert_eq!(
            change_label(&row("email", "marketing", "events", Some(RowStatus::Suppressed("bounce".to_owned())))),
            "email marketing/events suppressed:bounce"
        );
        assert_eq!(change_label(&row("email", "m", "", None)), "email m ?");
    }

    #[test]
    fn a_dash_writes_to_stdout_and_a_missing_directory_is_named() {
        assert!(output("-").is_ok());
        let Err(f) = output("/nonexistent-dir/out.csv") else { panic!("wrote into a missing directory") };
        assert!(f.message.contains("/nonexistent-dir/out.csv"), "{}", f.message);
    }
}
