//! Bulk file formats of `consentctl`: import rows (CSV or JSON lines), their column names
//! and the aliases a typical CRM export uses, idempotency keys derived from row content,
//! and the deterministic synthetic population generator. Pure: no I/O beyond the readers
//! and writers it is handed, no gRPC.
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
//! | `occurred_at` [`timestamp`, `updated_at`, `modified_at`, `consent_date`] | RFC 3339 or Unix seconds; default: server time |
//! | `source` | `form`, `import`, `crm_sync`, ...; default `import` |
//! | `reason`, `expires_at`, `ip_address`, `user_agent`, `notice_id`, `notice_version`, `notice_hash` | optional |
//! | `suppression_kind` | `hard_bounce`, `spam_complaint`, `sms_stop`, `manual` (with status `suppressed`) |

use std::collections::HashMap;

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

/// Maps a file's header names to canonical column names.
#[derive(Clone, Debug)]
pub struct Columns {
    index: HashMap<&'static str, usize>,
    /// The channel implied by the contact column's name (`email` → email, `phone` → sms).
    implied_channel: Option<&'static str>,
}

const ALIASES: &[(&str, &[&str])] = &[
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

impl Columns {
    pub fn from_headers<'a>(headers: impl IntoIterator<Item = &'a str>) -> Columns {
        let mut index = HashMap::new();
        let mut implied_channel = None;
        for (i, h) in headers.into_iter().enumerate() {
            let h = h.trim().to_ascii_lowercase();
            for (canonical, names) in ALIASES {
                if names.contains(&h.as_str()) && !index.contains_key(canonical) {
                    index.insert(*canonical, i);
                    if *canonical == "contact_point" {
                        implied_channel = match h.as_str() {
                            "email" => Some("email"),
                            "phone" | "mobile" => Some("sms"),
                            _ => None,
                        };
                    }
                }
            }
        }
        Columns { index, implied_channel }
    }

    pub fn has(&self, canonical: &str) -> bool {
        self.index.contains_key(canonical)
    }

    fn get<'r>(&self, fields: &'r [&'r str], canonical: &'static str) -> &'r str {
        self.index.get(canonical).and_then(|i| fields.get(*i)).map_or("", |s| s.trim())
    }

    /// Parses one row (`fields` in header order) with `profile`/`channel` defaults.
    pub fn parse(&self, fields: &[&str], profile: &str, channel: &str) -> Result<ImportRow, RowError> {
        let contact_point = self.get(fields, "contact_point");
        if contact_point.is_empty() {
            return Err(RowError::Missing("contact_point"));
        }
        let purpose = self.get(fields, "purpose");
        let status_text = self.get(fields, "status");
        let status = parse_status(status_text, self.get(fields, "suppression_kind"))?;
        if purpose.is_empty() && !matches!(status, Some(RowStatus::Suppressed(_))) {
            return Err(RowError::Missing("purpose"));
        }
        let row_channel = self.get(fields, "channel");
        let channel = if !row_channel.is_empty() {
            row_channel.to_ascii_lowercase()
        } else if let Some(implied) = self.implied_channel {
            implied.to_owned()
        } else {
            channel.to_owned()
        };
        let row_profile = self.get(fields, "profile");
        Ok(ImportRow {
            profile: if row_profile.is_empty() { profile.to_owned() } else { row_profile.to_owned() },
            channel,
            contact_point: contact_point.to_owned(),
            purpose: purpose.to_owned(),
            topic: self.get(fields, "topic").to_owned(),
            status,
            occurred_at: parse_time("occurred_at", self.get(fields, "occurred_at"))?,
            source: match self.get(fields, "source") {
                "" => "import".to_owned(),
                s => s.to_ascii_lowercase(),
            },
            reason: self.get(fields, "reason").to_owned(),
            expires_at: parse_time("expires_at", self.get(fields, "expires_at"))?,
            ip_address: self.get(fields, "ip_address").to_owned(),
            user_agent: self.get(fields, "user_agent").to_owned(),
            notice_id: self.get(fields, "notice_id").to_owned(),
            notice_version: self.get(fields, "notice_version").to_owned(),
            notice_hash: self.get(fields, "notice_hash").to_owned(),
        })
    }
}

fn parse_status(text: &str, kind: &str) -> Result<Option<RowStatus>, RowError> {
    let t = text.trim().to_ascii_lowercase();
    Ok(Some(match t.as_str() {
        "opted_in" | "in" | "true" | "yes" | "y" | "subscribed" | "1" | "opt_in" => RowStatus::OptedIn,
        "opted_out" | "out" | "false" | "no" | "n" | "unsubscribed" | "0" | "opt_out" => RowStatus::OptedOut,
        "suppressed" => {
            if kind.is_empty() {
                return Err(RowError::Missing("suppression_kind"));
            }
            RowStatus::Suppressed(kind.to_ascii_lowercase())
        }
        "" => return Err(RowError::Missing("status")),
        _ => {
            return Err(RowError::Bad {
                column: "status",
                value: text.to_owned(),
                why: "not opted_in, opted_out or suppressed",
            });
        }
    }))
}

/// RFC 3339 or Unix seconds; empty is `None`.
fn parse_time(column: &'static str, text: &str) -> Result<Option<(i64, i32)>, RowError> {
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(Some((secs, 0)));
    }
    let ts: prost_types::Timestamp = text.parse().map_err(|_| RowError::Bad {
        column,
        value: text.to_owned(),
        why: "not RFC 3339 or Unix seconds",
    })?;
    Ok(Some((ts.seconds, ts.nanos)))
}

/// A stable idempotency key from a row's content: re-running an import replays the same
/// answers instead of writing twice.
/// One JSON Lines import row: an object whose keys are column names (any alias), whose
/// values are strings (numbers and booleans are taken as their JSON text, null as empty).
pub fn parse_jsonl_line(text: &str, profile: &str, channel: &str) -> Result<ImportRow, RowError> {
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
    let cols = Columns::from_headers(obj.keys().map(String::as_str));
    let fields: Vec<&str> = values.iter().map(String::as_str).collect();
    cols.parse(&fields, profile, channel)
}

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

    #[test]
    fn crm_headers_map_onto_columns() {
        let cols = Columns::from_headers(["Email", "Subscribed", "List", "Updated_At"]);
        let row = cols
            .parse(&["jane@example.com", "yes", "newsletter", "2026-01-01T00:00:00Z"], "acme", "push")
            .expect("row");
        assert_eq!(
            (row.channel.as_str(), row.status, row.occurred_at),
            ("email", Some(RowStatus::OptedIn), Some((1_767_225_600, 0)))
        );
        let err = cols.parse(&["jane@example.com", "maybe", "newsletter", ""], "acme", "email");
        assert!(matches!(err, Err(RowError::Bad { column: "status", .. })));
        assert_eq!(cols.parse(&["", "yes", "n", ""], "acme", "email"), Err(RowError::Missing("contact_point")));
    }

    #[test]
    fn generation_is_deterministic_and_keys_are_stable() {
        let purposes: &[(&str, &[&str])] = &[("newsletter", &["events"])];
        let a: Vec<_> = (0..100).flat_map(|i| generate_rows(7, i, &Mix::DEFAULT, purposes, 1_767_225_600)).collect();
        let b: Vec<_> = (0..100).flat_map(|i| generate_rows(7, i, &Mix::DEFAULT, purposes, 1_767_225_600)).collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|r| r.contains("opted_out")) && a.iter().any(|r| r.contains(",sms,")));
        let cols = Columns::from_headers(GENERATED_HEADER.split(','));
        let row = cols.parse(&a[0].split(',').collect::<Vec<_>>(), "acme", "email").expect("parse");
        assert_eq!(idempotency_key(&row), idempotency_key(&row.clone()));
    }
}
