//! What the user tells an import besides the file: column renames (`--map`), how source
//! purposes, topics and brands translate into consentd ids, extra status words, the status of
//! files whose status is implied (`--status`), and how to read their times. Read from a small
//! TOML file the user can edit and from flags; flags win.
//!
//! ```toml
//! default_purposes = ["newsletter"]   # for files without a purpose column (Mailchimp, HubSpot)
//! status = "opted_in"                  # rows without a status of their own
//! timezone = "+01:00"                  # times written without a zone
//! day_first = true                     # 01/02/2026 is 1 February
//! [columns]                            # source column = consentd field
//! "E-mailadres" = "contact_point"
//! [purposes]                           # source purpose (name or id) = purpose or purpose/topic
//! "Commercial" = "newsletter"
//! "0a1b2c3d-0000-0000-0000-000000000001" = "newsletter"
//! [topics]                             # source topic (name or id) = topic
//! "Events" = "events"
//! [profiles]                           # source brand (name or id) = profile
//! "Acme Brand" = "acme"
//! [values]                             # status word = opted_in | opted_out | not_set
//! "Ja, graag" = "opted_in"
//! ```

use std::collections::BTreeMap;

use super::RowStatus;
use super::time::{self, TimeOptions};

/// The status a word stands for; `None` inside means "not set": no row is written.
pub type Word = Option<RowStatus>;

#[derive(Clone, Debug, Default)]
pub struct Mapping {
    /// Source column (lower case) → consentd field.
    pub columns: BTreeMap<String, String>,
    /// Source purpose as written → (purpose, topic).
    pub purposes: Vec<(String, (String, String))>,
    /// Source topic as written → topic.
    pub topics: Vec<(String, String)>,
    /// Source brand as written → profile.
    pub profiles: Vec<(String, String)>,
    /// Normalized status word → status.
    pub values: BTreeMap<String, Word>,
    /// (purpose, topic) pairs a file without a purpose column speaks of.
    pub default_purposes: Vec<(String, String)>,
    /// The status of rows without one (`--status`).
    pub status: Option<RowStatus>,
    pub time: TimeOptions,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    default_purposes: Vec<String>,
    status: Option<String>,
    timezone: Option<String>,
    day_first: Option<bool>,
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    purposes: BTreeMap<String, String>,
    #[serde(default)]
    topics: BTreeMap<String, String>,
    #[serde(default)]
    profiles: BTreeMap<String, String>,
    #[serde(default)]
    values: BTreeMap<String, String>,
}

/// The consentd fields a `--map` or `[columns]` entry may name.
pub const FIELDS: &[&str] = &[
    "contact_point",
    "channel",
    "profile",
    "purpose",
    "topic",
    "status",
    "occurred_at",
    "source",
    "reason",
    "expires_at",
    "ip_address",
    "user_agent",
    "notice_id",
    "notice_version",
    "notice_hash",
    "suppression_kind",
    "ignore",
];

impl Mapping {
    /// Reads a mapping file's text.
    pub fn from_toml(text: &str) -> Result<Mapping, String> {
        let f: File = toml::from_str(text).map_err(|e| format!("mapping file: {e}"))?;
        let mut m = Mapping::default();
        for p in &f.default_purposes {
            m.default_purposes.push(split_purpose(p));
        }
        if let Some(s) = &f.status {
            m.status = Some(parse_status_arg(s)?);
        }
        if let Some(tz) = &f.timezone {
            m.time.offset_secs = time::parse_offset(tz).map_err(|e| format!("mapping file: timezone `{tz}`: {e}"))?;
        }
        m.time.day_first = f.day_first;
        for (col, field) in f.columns {
            m.add_column(&col, &field)?;
        }
        m.purposes = f.purposes.iter().map(|(k, v)| (k.clone(), split_purpose(v))).collect();
        m.topics = f.topics.into_iter().collect();
        m.profiles = f.profiles.into_iter().collect();
        for (word, status) in f.values {
            m.add_value(&word, &status)?;
        }
        Ok(m)
    }

    /// `--map "Source Column=field"`.
    pub fn add_map_arg(&mut self, arg: &str) -> Result<(), String> {
        let (col, field) = arg.rsplit_once('=').ok_or_else(|| format!("--map `{arg}`: expected COLUMN=FIELD"))?;
        self.add_column(col, field)
    }

    fn add_column(&mut self, col: &str, field: &str) -> Result<(), String> {
        let field = field.trim().to_ascii_lowercase();
        if !FIELDS.contains(&field.as_str()) {
            return Err(format!("column `{col}` maps to `{field}`, which is not one of {}", FIELDS.join(", ")));
        }
        self.columns.insert(header_key(col), field);
        Ok(())
    }

    /// `--value "Word=opted_in"`.
    pub fn add_value(&mut self, word: &str, status: &str) -> Result<(), String> {
        let s = match status.trim().to_ascii_lowercase().as_str() {
            "not_set" | "skip" => None,
            other => Some(parse_status_arg(other)?),
        };
        self.values.insert(normalize_word(word), s);
        Ok(())
    }

    /// The status a word stands for: the user's words first, then the built-in ones.
    /// `None` for a word nobody knows.
    pub fn word(&self, text: &str) -> Option<Word> {
        let w = normalize_word(text);
        if let Some(s) = self.values.get(&w) {
            return Some(s.clone());
        }
        builtin_word(&w)
    }

    /// A source purpose → (purpose, topic): the mapping's entry, else the value itself.
    pub fn purpose(&self, source: &str) -> (String, String) {
        lookup(&self.purposes, source).cloned().unwrap_or_else(|| split_purpose(source))
    }

    pub fn topic(&self, source: &str) -> String {
        lookup(&self.topics, source).cloned().unwrap_or_else(|| source.trim().to_owned())
    }

    pub fn profile(&self, source: &str) -> Option<String> {
        lookup(&self.profiles, source).cloned()
    }

    /// The source name of a consentd (purpose, topic), for export: the first mapping entry
    /// that names it, else `purpose` or `purpose/topic`.
    pub fn source_purpose(&self, purpose: &str, topic: &str) -> String {
        self.purposes
            .iter()
            .find(|(_, (p, t))| p == purpose && t == topic)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| if topic.is_empty() { purpose.to_owned() } else { format!("{purpose}/{topic}") })
    }

    pub fn source_topic(&self, topic: &str) -> String {
        self.topics.iter().find(|(_, t)| t == topic).map_or_else(|| topic.to_owned(), |(k, _)| k.clone())
    }
}

fn lookup<'a, V>(entries: &'a [(String, V)], source: &str) -> Option<&'a V> {
    let s = source.trim();
    entries.iter().find(|(k, _)| k.trim().eq_ignore_ascii_case(s)).map(|(_, v)| v)
}

/// `purpose` or `purpose/topic`.
pub fn split_purpose(s: &str) -> (String, String) {
    match s.trim().split_once('/') {
        Some((p, t)) => (p.trim().to_owned(), t.trim().to_owned()),
        None => (s.trim().to_owned(), String::new()),
    }
}

/// `opted_in`, `opted_out` or `suppressed:KIND`.
pub fn parse_status_arg(s: &str) -> Result<RowStatus, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "opted_in" => Ok(RowStatus::OptedIn),
        "opted_out" => Ok(RowStatus::OptedOut),
        other => match other.strip_prefix("suppressed:") {
            Some(kind) if !kind.is_empty() => Ok(RowStatus::Suppressed(kind.to_owned())),
            _ => Err(format!("status `{s}`: expected opted_in, opted_out or suppressed:KIND")),
        },
    }
}

/// Header names compare without case, surrounding space or a byte-order mark.
pub fn header_key(h: &str) -> String {
    h.trim_start_matches('\u{feff}').trim().to_lowercase()
}

/// Lower case, `-` and `_` as spaces, runs of spaces as one.
pub fn normalize_word(w: &str) -> String {
    w.to_lowercase().replace(['-', '_'], " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Status words in the languages consent exports come in (normalized form).
fn builtin_word(w: &str) -> Option<Word> {
    const IN: &[&str] = &[
        "opted in",
        "opt in",
        "optin",
        "in",
        "subscribed",
        "subscribe",
        "yes",
        "y",
        "true",
        "1",
        "granted",
        "given",
        "consented",
        "aangemeld",
        "ingeschreven",
        "ja",
        "angemeldet",
        "abonniert",
        "eingewilligt",
        "inscrit",
        "abonné",
        "oui",
        "suscrito",
        "sí",
        "si",
        "iscritto",
        "sì",
        "opted in (confirmed)",
    ];
    const OUT: &[&str] = &[
        "opted out",
        "opt out",
        "optout",
        "out",
        "unsubscribed",
        "unsubscribe",
        "no",
        "n",
        "false",
        "0",
        "revoked",
        "withdrawn",
        "denied",
        "afgemeld",
        "uitgeschreven",
        "nee",
        "abgemeldet",
        "abbestellt",
        "nein",
        "désinscrit",
        "désabonné",
        "non",
        "dado de baja",
        "baja",
        "disiscritto",
    ];
    const NOT_SET: &[&str] = &["not set", "notset", "not seen", "notseen", "seen", "unknown", "none"];
    if IN.contains(&w) {
        Some(Some(RowStatus::OptedIn))
    } else if OUT.contains(&w) {
        Some(Some(RowStatus::OptedOut))
    } else if NOT_SET.contains(&w) {
        Some(None)
    } else {
        match w {
            "cleaned" | "bounced" | "hard bounce" => Some(Some(RowStatus::Suppressed("hard_bounce".to_owned()))),
            "spam" | "complained" | "spam complaint" => Some(Some(RowStatus::Suppressed("spam_complaint".to_owned()))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_in_several_languages() {
        let m = Mapping::default();
        for w in ["Opted in", "OptIn", "opt_in", "Aangemeld", "Angemeldet", "Subscribed", "JA"] {
            assert_eq!(m.word(w), Some(Some(RowStatus::OptedIn)), "{w}");
        }
        for w in ["Opted Out", "OptOut", "Afgemeld", "Abgemeldet", "unsubscribed", "false"] {
            assert_eq!(m.word(w), Some(Some(RowStatus::OptedOut)), "{w}");
        }
        assert_eq!(m.word("NotSeen"), Some(None));
        assert_eq!(m.word("perhaps"), None);
    }

    #[test]
    fn a_mapping_file_and_flags() {
        let mut m = Mapping::from_toml(
            "default_purposes = [\"newsletter\"]\nstatus = \"opted_in\"\ntimezone = \"+01:00\"\n\
             [columns]\n\"E-mailadres\" = \"contact_point\"\n\
             [purposes]\n\"Commercial\" = \"newsletter\"\n\"Events mail\" = \"newsletter/events\"\n\
             [values]\n\"Ja, graag\" = \"opted_in\"\n\"Misschien\" = \"not_set\"\n",
        )
        .expect("mapping");
        assert_eq!(m.default_purposes, vec![("newsletter".to_owned(), String::new())]);
        assert_eq!(m.time.offset_secs, 3600);
        assert_eq!(m.columns.get("e-mailadres").map(String::as_str), Some("contact_point"));
        assert_eq!(m.purpose("commercial"), ("newsletter".to_owned(), String::new()));
        assert_eq!(m.purpose("Events Mail"), ("newsletter".to_owned(), "events".to_owned()));
        assert_eq!(m.purpose("invoices"), ("invoices".to_owned(), String::new()));
        assert_eq!(m.source_purpose("newsletter", "events"), "Events mail");
        assert_eq!(m.word("ja,  graag"), Some(Some(RowStatus::OptedIn)));
        assert_eq!(m.word("Misschien"), Some(None));
        m.add_map_arg("Status Word=status").expect("map");
        assert!(m.add_map_arg("X=nonsense").is_err());
        assert!(Mapping::from_toml("colums = {}").is_err(), "a misspelt table is refused");
    }
}
