//! Bulk file formats of `consentctl`: import rows (CSV or JSON lines), their column names
//! and the aliases a typical CRM export uses, the vendor presets ([`preset`]) with the
//! user's mapping ([`mapping`]) and the times they write ([`time`]), idempotency keys derived
//! from row content, and the deterministic synthetic population generator. Pure: no I/O
//! beyond the readers and writers it is handed, no gRPC.
//!
//! Import columns (header names; aliases in brackets):
//!
//! | column | meaning |
//! |---|---|
//! | `contact_point` [`email`, `phone`, `mobile`, `address`, `token`] | required |
//! | `channel` | `email`, `sms`, `whatsapp`, `push`, `voice`, `custom`; default: `email` for an `email` column, `sms` for `phone`/`mobile`, else the `--channel` flag |
//! | `profile` [`profile_id`, `brand`] | default: the `--profile` flag |
//! | `purpose` [`purpose_id`, `subscription`, `list`] | required |
//! | `topic` [`topic_id`] | optional |
//! | `status` [`consent`, `subscribed`, `opt_in`] | `opted_in`/`in`/`true`/`yes`/`subscribed`/`1`, `opted_out`/`out`/`false`/`no`/`unsubscribed`/`0`, or `suppressed` with `suppression_kind` |
//! | `occurred_at` [`timestamp`, `updated_at`, `modified_at`, `consent_date`] | RFC 3339, Unix seconds or another layout of [`time`]; default: server time |
//! | `source` | `form`, `import`, `crm_sync`, ...; default `import` |
//! | `reason`, `expires_at`, `ip_address`, `user_agent`, `notice_id`, `notice_version`, `notice_hash` | optional |
//! | `suppression_kind` | `hard_bounce`, `spam_complaint`, `sms_stop`, `manual` (with status `suppressed`) |

use sha2::{Digest, Sha256};

/// What a row asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowStatus {
    OptedIn,
    OptedOut,
    /// Add a suppression of this kind (`hard_bounce`, ...).
    Suppressed(String),
}

/// One parsed import row, before it is turned into a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportRow {
    pub profile: String,
    pub channel: String,
    pub contact_point: String,
    pub purpose: String,
    pub topic: String,
    pub status: Option<RowStatus>,
    /// Unix seconds and nanoseconds.
    pub occurred_at: Option<(i64, i32)>,
    pub source: String,
    pub reason: String,
    pub expires_at: Option<(i64, i32)>,
    pub ip_address: String,
    pub user_agent: String,
    pub notice_id: String,
    pub notice_version: String,
    pub notice_hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("missing column `{0}`")]
    Missing(&'static str),
    #[error("`{column}` is `{value}`: {why}")]
    Bad { column: &'static str, value: String, why: &'static str },
    #[error("line is not valid {0}")]
    Syntax(String),
}

pub mod export;
pub mod mapping;
pub mod preset;
pub mod time;

pub use mapping::Mapping;
pub use preset::{Importer, Preset};

/// consentd's own columns and the header names (lower case) that fill them; the generic
/// preset's binding.
pub(crate) const ALIASES: &[(&str, &[&str])] = &[
    ("contact_point", &["contact_point", "email", "phone", "mobile", "address", "token"]),
    ("channel", &["channel"]),
    ("profile", &["profile", "profile_id", "brand"]),
    ("purpose", &["purpose", "purpose_id", "subscription", "list"]),
    ("topic", &["topic", "topic_id"]),
    ("status", &["status", "consent", "subscribed", "opt_in"]),
    ("occurred_at", &["occurred_at", "timestamp", "updated_at", "modified_at", "consent_date"]),
    ("source", &["source"]),
    ("reason", &["reason"]),
    ("expires_at", &["expires_at"]),
    ("ip_address", &["ip_address", "ip"]),
    ("user_agent", &["user_agent"]),
    ("notice_id", &["notice_id"]),
    ("notice_version", &["notice_version"]),
    ("notice_hash", &["notice_hash"]),
    ("suppression_kind", &["suppression_kind"]),
];

/// The header names that name a contact column (lower case): the `contact_point` row of
/// [`ALIASES`].
pub const CONTACT_HEADERS: &[&str] = ALIASES[0].1;

/// The position of the contact column in a header row (case, surrounding blanks and a byte
/// order mark ignored); `None` when no field names one, which is what a file without a
/// header row looks like: its first line is a recipient, never to be copied unchecked.
pub fn contact_column<'h>(headers: impl IntoIterator<Item = &'h str>) -> Option<usize> {
    headers.into_iter().position(|h| CONTACT_HEADERS.contains(&mapping::header_key(h).as_str()))
}

/// One JSON Lines import record: an object whose keys are column names (any the preset
/// knows), whose values are strings (numbers and booleans are taken as their JSON text, null
/// as empty). Returns the rows and the keys nothing read.
pub fn parse_jsonl_line(
    text: &str,
    preset: Preset,
    mapping: &Mapping,
    profile: &str,
    channel: &str,
) -> Result<(Vec<ImportRow>, Vec<String>), RowError> {
    let obj = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text)
        .map_err(|e| RowError::Syntax(format!("JSON object: {e}")))?;
    let values: Vec<String> = obj
        .values()
        .map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        })
        .collect();
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    let importer = Importer::new(preset, &keys, mapping.clone(), profile, channel);
    let fields: Vec<&str> = values.iter().map(String::as_str).collect();
    Ok((importer.rows(&fields)?, importer.unmapped()))
}

/// A stable idempotency key from a row's content: re-running an import replays the same
/// answers instead of writing twice.
pub fn idempotency_key(row: &ImportRow) -> String {
    let mut h = Sha256::new();
    h.update(format!("{row:?}").as_bytes());
    let digest = h.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("import-{hex}")
}

/// The mix of a synthetic population.
#[derive(Clone, Copy, Debug)]
pub struct Mix {
    /// Share of contact points with a phone number (sms) instead of an email address.
    pub phone_share: f64,
    pub opted_in: f64,
    pub opted_out: f64,
    /// The rest of contact points have no record at all (not set).
    /// Share of contact points that also get a topic record.
    pub with_topic: f64,
    /// Share that is suppressed (hard bounce for email, sms_stop for phones).
    pub suppressed: f64,
}

impl Mix {
    pub const DEFAULT: Mix =
        Mix { phone_share: 0.2, opted_in: 0.55, opted_out: 0.15, with_topic: 0.3, suppressed: 0.02 };
}

/// SplitMix64: tiny, deterministic, good enough to shape a test population.
#[derive(Clone, Debug)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// CSV header of generated files.
pub const GENERATED_HEADER: &str = "contact_point,channel,purpose,topic,status,suppression_kind,occurred_at,source";

/// Rows (CSV lines without newline) for contact point `i` of a population from `seed`:
/// the same seed and index always give the same rows. `purposes` are (purpose, topics).
pub fn generate_rows(seed: u64, i: u64, mix: &Mix, purposes: &[(&str, &[&str])], base_time: i64) -> Vec<String> {
    let mut rng = SplitMix::new(seed ^ i.wrapping_mul(0xd6e8_feb8_6659_fd93));
    let phone = rng.unit() < mix.phone_share;
    let (cp, channel) = if phone {
        // Dutch mobile numbers: +3161 followed by seven digits (a range in service).
        (format!("+3161{:07}", i % 10_000_000), "sms")
    } else {
        (format!("user{i}@example.com"), "email")
    };
    let at = base_time - (rng.next_u64() % (365 * 86_400)) as i64;
    let mut rows = Vec::new();
    if rng.unit() < mix.suppressed {
        let kind = if phone { "sms_stop" } else { "hard_bounce" };
        rows.push(format!("{cp},{channel},,,suppressed,{kind},{at},import"));
    }
    if purposes.is_empty() {
        return rows;
    }
    let (purpose, topics) = purposes[(rng.next_u64() % purposes.len() as u64) as usize];
    let roll = rng.unit();
    let status = if roll < mix.opted_in {
        "opted_in"
    } else if roll < mix.opted_in + mix.opted_out {
        "opted_out"
    } else {
        return rows;
    };
    rows.push(format!("{cp},{channel},{purpose},,{status},,{at},import"));
    if !topics.is_empty() && rng.unit() < mix.with_topic {
        let topic = topics[(rng.next_u64() % topics.len() as u64) as usize];
        let topic_status = if rng.unit() < 0.8 { "opted_in" } else { "opted_out" };
        rows.push(format!("{cp},{channel},{purpose},{topic},{topic_status},,{},import", at + 1));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic(headers: &[&str]) -> Importer {
        Importer::new(Preset::Generic, headers, Mapping::default(), "acme", "push")
    }

    #[test]
    fn a_header_row_is_one_that_names_a_contact_column() {
        assert_eq!(contact_column(["first_name", " E-Mail ", "Email"]), Some(2));
        assert_eq!(contact_column(["\u{feff}Contact_Point", "x"]), Some(0));
        assert_eq!(contact_column(["jane@example.com", "Jane"]), None, "a recipient is no header");
        assert_eq!(contact_column(["+31612345678"]), None);
    }

    #[test]
    fn crm_headers_map_onto_columns() {
        let cols = generic(&["Email", "Subscribed", "List", "Updated_At"]);
        let row = cols.rows(&["jane@example.com", "yes", "newsletter", "2026-01-01T00:00:00Z"]).expect("row");
        assert_eq!(
            (row[0].channel.as_str(), row[0].status.clone(), row[0].occurred_at),
            ("email", Some(RowStatus::OptedIn), Some((1_767_225_600, 0)))
        );
        let err = cols.rows(&["jane@example.com", "maybe", "newsletter", ""]);
        assert!(matches!(err, Err(RowError::Bad { column: "status", .. })));
        assert_eq!(cols.rows(&["", "yes", "n", ""]), Err(RowError::Missing("contact_point")));
        let sup = generic(&["contact_point", "status", "suppression_kind"]);
        assert_eq!(
            sup.rows(&["a@example.com", "suppressed", "manual"]).expect("row")[0].status,
            Some(RowStatus::Suppressed("manual".into()))
        );
        assert_eq!(sup.rows(&["a@example.com", "suppressed", ""]), Err(RowError::Missing("suppression_kind")));
    }

    #[test]
    fn map_flags_rename_columns_and_imply_the_status() {
        let mut m = Mapping::default();
        m.add_map_arg("E-mailadres=contact_point").expect("map");
        m.add_map_arg("Nieuwsbrief=purpose").expect("map");
        m.status = Some(RowStatus::OptedOut);
        let imp = Importer::new(Preset::Generic, &["E-mailadres", "Nieuwsbrief", "Naam"], m, "acme", "email");
        let row = imp.rows(&["a@example.com", "newsletter", "Ann"]).expect("row");
        assert_eq!((row[0].purpose.as_str(), row[0].status.clone()), ("newsletter", Some(RowStatus::OptedOut)));
        assert_eq!(imp.unmapped(), vec!["Naam".to_owned()]);
    }

    #[test]
    fn generation_is_deterministic_and_keys_are_stable() {
        let purposes: &[(&str, &[&str])] = &[("newsletter", &["events"])];
        let a: Vec<_> = (0..100).flat_map(|i| generate_rows(7, i, &Mix::DEFAULT, purposes, 1_767_225_600)).collect();
        let b: Vec<_> = (0..100).flat_map(|i| generate_rows(7, i, &Mix::DEFAULT, purposes, 1_767_225_600)).collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|r| r.contains("opted_out")) && a.iter().any(|r| r.contains(",sms,")));
        let cols = generic(&GENERATED_HEADER.split(',').collect::<Vec<_>>());
        let row = cols.rows(&a[0].split(',').collect::<Vec<_>>()).expect("parse");
        assert_eq!(idempotency_key(&row[0]), idempotency_key(&row[0].clone()));
    }
}
