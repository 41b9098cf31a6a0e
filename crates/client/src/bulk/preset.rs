//! Import presets: files laid out the way Customer Insights - Journeys, Salesforce, Mailchimp
//! and HubSpot export consent, turned into import rows (the same layouts written back:
//! [`super::export`]). One file because the four presets share the column binding, the
//! status words and the proof text; [`Preset::explain`] documents each mapping (long texts,
//! hence the length); the vendors' column names and option-set values come from their
//! published references.

use std::collections::HashMap;

use super::mapping::{Mapping, header_key};
use super::time;
use super::{ALIASES, ImportRow, RowError, RowStatus};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// consentd's own columns and their CRM aliases (README), plus `--map`.
    Generic,
    /// Dynamics 365 Customer Insights - Journeys, table `msdynmkt_contactpointconsent4`.
    Journeys,
    /// Salesforce `ContactPointConsent` / `ContactPointTypeConsent`.
    Salesforce,
    /// Mailchimp audience export (the subscribed, unsubscribed and cleaned files).
    Mailchimp,
    /// HubSpot contacts export.
    Hubspot,
}

impl Preset {
    pub const NAMES: &'static [&'static str] = &["generic", "journeys", "salesforce", "mailchimp", "hubspot"];

    pub fn from_name(name: &str) -> Option<Preset> {
        match name.to_ascii_lowercase().as_str() {
            "generic" | "consentd" => Some(Preset::Generic),
            "journeys" | "ci-journeys" | "dynamics" | "customer-insights" => Some(Preset::Journeys),
            "salesforce" | "sfdc" => Some(Preset::Salesforce),
            "mailchimp" => Some(Preset::Mailchimp),
            "hubspot" => Some(Preset::Hubspot),
            _ => None,
        }
    }

    fn system(self) -> &'static str {
        match self {
            Preset::Generic => "",
            Preset::Journeys => "Customer Insights - Journeys",
            Preset::Salesforce => "Salesforce",
            Preset::Mailchimp => "Mailchimp",
            Preset::Hubspot => "HubSpot",
        }
    }

    /// What `--explain` prints: every column the preset reads, what it becomes, and what
    /// the export writes.
    pub fn explain(self) -> &'static str {
        match self {
            Preset::Generic => EXPLAIN_GENERIC,
            Preset::Journeys => EXPLAIN_JOURNEYS,
            Preset::Salesforce => EXPLAIN_SALESFORCE,
            Preset::Mailchimp => EXPLAIN_MAILCHIMP,
            Preset::Hubspot => EXPLAIN_HUBSPOT,
        }
    }
}

const EXPLAIN_GENERIC: &str = "\
generic: consentd's own columns (see README \"Bulk work\"), with CRM aliases.
  --map \"Source Column=field\" renames a column (fields: contact_point, channel, profile,
  purpose, topic, status, occurred_at, source, reason, expires_at, ip_address, user_agent,
  notice_id, notice_version, notice_hash, suppression_kind, ignore).
  --status opted_in|opted_out|suppressed:KIND gives rows without a status column theirs.
  Status words in English, Dutch, German, French, Spanish and Italian are understood
  (Opted in, Aangemeld, Angemeldet, Abonné, ...); add your own with --value \"Word=opted_in\".
  --purpose names the purpose of files without a purpose column.
export: consentd's own layout.";

const EXPLAIN_JOURNEYS: &str = "\
journeys: Dynamics 365 Customer Insights - Journeys, Contact Point Consent
(msdynmkt_contactpointconsent4), exported with logical or display column names.
  msdynmkt_contactpointvalue | Contact point   -> contact_point
  msdynmkt_contactpointtype  | Channel         -> channel: 534120000 Email -> email,
                                                  534120001 Text Message -> sms,
                                                  534120002 Custom -> custom, 534120003 Voice -> voice
  msdynmkt_value | Consent status              -> status: 534120001 Opted In -> opted_in,
                                                  534120002 Opted Out -> opted_out,
                                                  534120000 Not Set -> row skipped
  msdynmkt_purposeid | Purpose                 -> purpose, through [purposes] of --mapping (name or id)
  msdynmkt_topicid | Topic                     -> topic, through [topics] of --mapping (name or id)
  msdynmkt_source | Source                     -> source: Internal -> crm_sync, Preference page,
                                                  Preference Center, Subscription Center ->
                                                  preference_center, Text message -> sms_keyword,
                                                  Loaded -> import, Realtime Marketing Form -> form,
                                                  Email - list-unsubscribe -> one_click_unsubscribe
  msdynmkt_logicalreason | Reason, msdynmkt_reason | Reason Description,
  msdynmkt_modifiedonbehalf | Who requested the change
                                               -> reason text, after \"Customer Insights - Journeys\"
  modifiedon | Modified On (else createdon)    -> occurred_at
  statecode | Status: Inactive (1)             -> row skipped
  msdynmkt_contactpointconsenttype | Consent type: read, implied by the topic column
export: the same logical columns (labels for option sets, ISO times); purposes and topics
written under their first name in --mapping; pending opt-ins and suppressions are not in
this table and are left out.";

const EXPLAIN_SALESFORCE: &str = "\
salesforce: ContactPointConsent or ContactPointTypeConsent (Data Loader or report export).
  EmailAddress | ContactPoint.EmailAddress     -> contact_point, channel email
  TelephoneNumber | ContactPoint.TelephoneNumber -> contact_point, channel sms
    (ContactPointTypeConsent names a party, not an address: add the address column to the
    query, or --map \"Your Column=contact_point\")
  ContactPointType                             -> channel: Email -> email, Phone -> sms
  PrivacyConsentStatus                         -> status: OptIn -> opted_in, OptOut -> opted_out,
                                                  NotSeen, Seen -> row skipped
  DataUsePurposeId | DataUsePurpose.Name       -> purpose (or purpose/topic), through [purposes]
  BusinessBrandId | BusinessBrand.Name         -> profile, through [profiles] (else --profile)
  CaptureDate (else LastModifiedDate)          -> occurred_at
  EffectiveTo                                  -> expires_at
  CaptureSource, CaptureContactPointType, EffectiveFrom, DoubleConsentCaptureDate
                                               -> reason text (proof), after \"Salesforce\"
  IsDeleted = true                             -> row skipped
  source: crm_sync
export: EmailAddress, TelephoneNumber, ContactPointType, DataUsePurposeId,
PrivacyConsentStatus, CaptureDate, CaptureSource (consentd), EffectiveTo.";

const EXPLAIN_MAILCHIMP: &str = "\
mailchimp: an audience export: subscribed, unsubscribed or cleaned members (one file each).
  Which file it is comes from its columns (CLEAN_TIME: cleaned, UNSUB_TIME: unsubscribed,
  else subscribed) or --status.
  Email Address                                -> contact_point, channel email
  subscribed                                   -> opted_in to each --purpose (the audience)
  unsubscribed                                 -> opted_out of each --purpose
  cleaned                                      -> suppression hard_bounce
  CONFIRM_TIME, else OPTIN_TIME, else LAST_CHANGED -> occurred_at (subscribed)
  UNSUB_TIME, else LAST_CHANGED                -> occurred_at (unsubscribed)
  CLEAN_TIME, else LAST_CHANGED                -> occurred_at (cleaned)
  CONFIRM_IP, else OPTIN_IP                    -> proof ip_address
  OPTIN_TIME, OPTIN_IP, CONFIRM_TIME, CONFIRM_IP, UNSUB_REASON, UNSUB_REASON_OTHER,
  UNSUB_CAMPAIGN_TITLE, UNSUB_CAMPAIGN_ID, CLEAN_CAMPAIGN_TITLE, CLEAN_CAMPAIGN_ID
                                               -> reason text (double opt-in proof), after \"Mailchimp\"
  source: import. Times are UTC, as Mailchimp writes them.
export: three files beside --out: NAME-subscribed.csv, NAME-unsubscribed.csv,
NAME-cleaned.csv (Email Address, OPTIN_TIME / UNSUB_TIME / CLEAN_TIME, LAST_CHANGED), for
the first --purpose; import each into the audience with the matching status.";

const EXPLAIN_HUBSPOT: &str = "\
hubspot: a contacts export.
  Email                                        -> contact_point, channel email
  Unsubscribed from all email = true           -> opted_out of each --purpose and of every
                                                  subscription column's purpose
  Opted out of email: NAME = true              -> opted_out of NAME, through [purposes]
                                                  (NAME -> purpose or purpose/topic)
  ... = false                                  -> nothing (HubSpot does not record an opt-in
                                                  there), unless --status opted_in says it does
  Last modified date (else Create date)        -> occurred_at
  source: crm_sync, reason \"HubSpot\".
export: Email, Unsubscribed from all email, Last modified date, and one \"Opted out of
email: NAME\" column per [purposes] entry (else per --purpose).";

/// Turns one file's records into import rows, by preset.
pub struct Importer {
    preset: Preset,
    mapping: Mapping,
    profile: String,
    channel: String,
    headers: Vec<String>,
    /// Role (a consentd field or a preset's own column role) → column index.
    roles: HashMap<&'static str, usize>,
    /// The channel the contact column's name implies.
    implied_channel: Option<&'static str>,
    /// Mailchimp: which of the three files this is.
    implied_status: Option<RowStatus>,
    /// HubSpot: "Opted out of email: NAME" columns.
    subscriptions: Vec<(usize, String)>,
}

/// The preset roles and the header names (lower case) that fill them, first match wins.
type Binding = &'static [(&'static str, &'static [&'static str])];

const JOURNEYS: Binding = &[
    ("contact_point", &["msdynmkt_contactpointvalue", "contact point"]),
    ("channel", &["msdynmkt_contactpointtype", "channel"]),
    ("status", &["msdynmkt_value", "consent status", "consent value"]),
    ("purpose", &["msdynmkt_purposeid", "_msdynmkt_purposeid_value", "msdynmkt_purposeidname", "purpose"]),
    ("topic", &["msdynmkt_topicid", "_msdynmkt_topicid_value", "msdynmkt_topicidname", "topic"]),
    ("source", &["msdynmkt_source", "source"]),
    ("reason_code", &["msdynmkt_logicalreason", "reason"]),
    ("reason", &["msdynmkt_reason", "reason description"]),
    ("behalf", &["msdynmkt_modifiedonbehalf", "who requested the change"]),
    ("occurred_at", &["modifiedon", "modified on"]),
    ("created", &["createdon", "created on"]),
    ("state", &["statecode", "status"]),
    ("consent_type", &["msdynmkt_contactpointconsenttype", "consent type"]),
];

const SALESFORCE: Binding = &[
    ("email", &["emailaddress", "contactpoint.emailaddress", "email"]),
    ("phone", &["telephonenumber", "contactpoint.telephonenumber", "phone"]),
    ("contact_point", &[]),
    ("channel", &["contactpointtype"]),
    ("status", &["privacyconsentstatus"]),
    ("purpose", &["datausepurposeid", "datausepurpose.name", "datausepurpose"]),
    ("profile", &["businessbrandid", "businessbrand.name", "businessbrand"]),
    ("occurred_at", &["capturedate"]),
    ("modified", &["lastmodifieddate"]),
    ("expires_at", &["effectiveto"]),
    ("capture_source", &["capturesource"]),
    ("capture_type", &["capturecontactpointtype"]),
    ("effective_from", &["effectivefrom"]),
    ("double_consent", &["doubleconsentcapturedate"]),
    ("deleted", &["isdeleted"]),
];

const MAILCHIMP: Binding = &[
    ("contact_point", &["email address", "email"]),
    ("optin_time", &["optin_time"]),
    ("optin_ip", &["optin_ip"]),
    ("confirm_time", &["confirm_time"]),
    ("confirm_ip", &["confirm_ip"]),
    ("last_changed", &["last_changed"]),
    ("unsub_time", &["unsub_time"]),
    ("unsub_reason", &["unsub_reason"]),
    ("unsub_reason_other", &["unsub_reason_other"]),
    ("unsub_campaign", &["unsub_campaign_title"]),
    ("unsub_campaign_id", &["unsub_campaign_id"]),
    ("clean_time", &["clean_time"]),
    ("clean_campaign", &["clean_campaign_title"]),
    ("clean_campaign_id", &["clean_campaign_id"]),
];

const HUBSPOT: Binding = &[
    ("contact_point", &["email"]),
    ("unsubscribed_all", &["unsubscribed from all email"]),
    ("occurred_at", &["last modified date"]),
    ("created", &["create date"]),
];

const SUBSCRIPTION_PREFIX: &str = "opted out of email: ";

impl Importer {
    /// Binds the file's `headers` for `preset`. `profile` and `channel` are the defaults for
    /// rows that do not name theirs.
    pub fn new(preset: Preset, headers: &[&str], mapping: Mapping, profile: &str, channel: &str) -> Importer {
        let keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();
        let mut roles: HashMap<&'static str, usize> = HashMap::new();
        // --map and [columns] come first: they name consentd fields.
        for (i, k) in keys.iter().enumerate() {
            if let Some(f) =
                mapping.columns.get(k).and_then(|field| super::mapping::FIELDS.iter().find(|f| **f == field))
            {
                roles.entry(f).or_insert(i);
            }
        }
        let binding: Binding = match preset {
            Preset::Generic => ALIASES,
            Preset::Journeys => JOURNEYS,
            Preset::Salesforce => SALESFORCE,
            Preset::Mailchimp => MAILCHIMP,
            Preset::Hubspot => HUBSPOT,
        };
        for (role, names) in binding {
            if roles.contains_key(role) {
                continue;
            }
            let taken: Vec<usize> = roles.values().copied().collect();
            if let Some(i) = names.iter().find_map(|n| keys.iter().position(|k| k == n).filter(|i| !taken.contains(i)))
            {
                roles.insert(role, i);
            }
        }
        let implied_channel = match preset {
            Preset::Generic => roles.get("contact_point").and_then(|i| match keys[*i].as_str() {
                "email" => Some("email"),
                "phone" | "mobile" => Some("sms"),
                _ => None,
            }),
            Preset::Mailchimp | Preset::Hubspot => Some("email"),
            Preset::Journeys | Preset::Salesforce => None,
        };
        let implied_status = match preset {
            Preset::Mailchimp if roles.contains_key("clean_time") => Some(RowStatus::Suppressed("hard_bounce".into())),
            Preset::Mailchimp if roles.contains_key("unsub_time") => Some(RowStatus::OptedOut),
            Preset::Mailchimp => Some(RowStatus::OptedIn),
            _ => None,
        };
        let subscriptions = if preset == Preset::Hubspot {
            keys.iter()
                .enumerate()
                .filter_map(|(i, k)| k.strip_prefix(SUBSCRIPTION_PREFIX).map(|_| (i, headers[i].trim().to_owned())))
                .map(|(i, h)| (i, h[SUBSCRIPTION_PREFIX.len()..].trim().to_owned()))
                .collect()
        } else {
            Vec::new()
        };
        Importer {
            preset,
            mapping,
            profile: profile.to_owned(),
            channel: channel.to_owned(),
            headers: headers.iter().map(|h| h.trim_start_matches('\u{feff}').trim().to_owned()).collect(),
            roles,
            implied_channel,
            implied_status,
            subscriptions,
        }
    }

    /// Columns of the file that nothing reads, in file order (listed once in the summary).
    pub fn unmapped(&self) -> Vec<String> {
        (0..self.headers.len())
            .filter(|i| !self.roles.values().any(|r| r == i) && !self.subscriptions.iter().any(|(s, _)| s == i))
            .map(|i| self.headers[i].clone())
            .filter(|h| !h.is_empty())
            .collect()
    }

    /// Whether the file has a column for `role`.
    pub fn has(&self, role: &str) -> bool {
        self.roles.contains_key(role)
    }

    fn get<'r>(&self, fields: &'r [&'r str], role: &str) -> &'r str {
        self.roles.get(role).and_then(|i| fields.get(*i)).map_or("", |s| s.trim())
    }

    fn time(&self, fields: &[&str], role: &'static str) -> Result<Option<(i64, i32)>, RowError> {
        let text = self.get(fields, role);
        if text.is_empty() {
            return Ok(None);
        }
        time::parse(text, self.mapping.time).map(Some).map_err(|why| RowError::Bad {
            column: role,
            value: text.to_owned(),
            why,
        })
    }

    /// The first of `roles` that holds a time.
    fn first_time(&self, fields: &[&str], roles: &[&'static str]) -> Result<Option<(i64, i32)>, RowError> {
        for r in roles {
            if let Some(t) = self.time(fields, r)? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    fn status_word(&self, fields: &[&str], role: &'static str) -> Result<Option<RowStatus>, RowError> {
        let text = self.get(fields, role);
        if text.is_empty() {
            return Ok(self.mapping.status.clone());
        }
        self.mapping.word(text).ok_or_else(|| RowError::Bad {
            column: role,
            value: text.to_owned(),
            why: "not a status word this import knows (add it with --value WORD=opted_in)",
        })
    }

    /// A row with what every preset fills the same way.
    fn base(&self, fields: &[&str]) -> Result<ImportRow, RowError> {
        let contact_point = self.get(fields, "contact_point");
        if contact_point.is_empty() && self.preset != Preset::Salesforce {
            return Err(RowError::Missing("contact_point"));
        }
        let profile = match self.get(fields, "profile") {
            "" => self.profile.clone(),
            p => self.mapping.profile(p).unwrap_or_else(|| p.to_owned()),
        };
        Ok(ImportRow {
            profile,
            channel: self.implied_channel.unwrap_or(&self.channel).to_owned(),
            contact_point: contact_point.to_owned(),
            source: "import".to_owned(),
            occurred_at: self.time(fields, "occurred_at")?,
            expires_at: self.time(fields, "expires_at")?,
            ip_address: self.get(fields, "ip_address").to_owned(),
            user_agent: self.get(fields, "user_agent").to_owned(),
            notice_id: self.get(fields, "notice_id").to_owned(),
            notice_version: self.get(fields, "notice_version").to_owned(),
            notice_hash: self.get(fields, "notice_hash").to_owned(),
            reason: self.get(fields, "reason").to_owned(),
            ..ImportRow::default()
        })
    }

    /// `label value` when the file has a value for `role`, else empty (a part of a reason).
    fn labelled(&self, fields: &[&str], label: &str, role: &str) -> String {
        match self.get(fields, role) {
            "" => String::new(),
            v => format!("{label} {v}"),
        }
    }

    /// "System: part; part" from the non-empty parts, within the server's text limit.
    fn reason(&self, parts: &[String]) -> String {
        let body: Vec<&str> = parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()).collect();
        let mut text = if body.is_empty() {
            self.preset.system().to_owned()
        } else {
            format!("{}: {}", self.preset.system(), body.join("; "))
        };
        if text.chars().count() > 1000 {
            text = text.chars().take(999).collect::<String>() + "…";
        }
        text
    }

    /// The rows one record becomes: none (a "not set" or inactive record), one, or one per
    /// purpose it speaks of.
    pub fn rows(&self, fields: &[&str]) -> Result<Vec<ImportRow>, RowError> {
        match self.preset {
            Preset::Generic => self.generic(fields),
            Preset::Journeys => self.journeys(fields),
            Preset::Salesforce => self.salesforce(fields),
            Preset::Mailchimp => self.mailchimp(fields),
            Preset::Hubspot => self.hubspot(fields),
        }
    }

    /// One row per default purpose (or the row's own purpose), with `status`.
    fn per_purpose(&self, row: ImportRow, status: RowStatus) -> Result<Vec<ImportRow>, RowError> {
        if let RowStatus::Suppressed(_) = status {
            return Ok(vec![ImportRow { status: Some(status), purpose: String::new(), topic: String::new(), ..row }]);
        }
        if !row.purpose.is_empty() {
            return Ok(vec![ImportRow { status: Some(status), ..row }]);
        }
        if self.mapping.default_purposes.is_empty() {
            return Err(RowError::Missing("purpose"));
        }
        Ok(self
            .mapping
            .default_purposes
            .iter()
            .map(|(p, t)| ImportRow {
                purpose: p.clone(),
                topic: t.clone(),
                status: Some(status.clone()),
                ..row.clone()
            })
            .collect())
    }

    fn generic(&self, f: &[&str]) -> Result<Vec<ImportRow>, RowError> {
        let mut row = self.base(f)?;
        let channel = self.get(f, "channel");
        if !channel.is_empty() {
            row.channel = channel.to_ascii_lowercase();
        }
        let purpose = self.get(f, "purpose");
        if !purpose.is_empty() {
            (row.purpose, row.topic) = self.mapping.purpose(purpose);
        }
        let topic = self.get(f, "topic");
        if !topic.is_empty() {
            row.topic = self.mapping.topic(topic);
        }
        row.source = match self.get(f, "source") {
            "" => "import".into(),
            s => s.to_ascii_lowercase(),
        };
        let text = self.get(f, "status");
        let kind = self.get(f, "suppression_kind").to_ascii_lowercase();
        let status = if text.is_empty() {
            self.mapping.status.clone().ok_or(RowError::Missing("status"))?
        } else if text.eq_ignore_ascii_case("suppressed") {
            if kind.is_empty() {
                return Err(RowError::Missing("suppression_kind"));
            }
            RowStatus::Suppressed(kind)
        } else {
            match self.status_word(f, "status")? {
                Some(RowStatus::Suppressed(implied)) => {
                    RowStatus::Suppressed(if kind.is_empty() { implied } else { kind })
                }
                Some(s) => s,
                None => return Ok(Vec::new()),
            }
        };
        self.per_purpose(row, status)
    }

    fn journeys(&self, f: &[&str]) -> Result<Vec<ImportRow>, RowError> {
        let state = self.get(f, "state").to_ascii_lowercase();
        if state == "1" || state == "inactive" {
            return Ok(Vec::new());
        }
        let mut row = self.base(f)?;
        let ch = self.get(f, "channel");
        row.channel = match ch.to_ascii_lowercase().as_str() {
            "534120000" | "email" => "email".into(),
            "534120001" | "text message" | "sms" => "sms".into(),
            "534120002" | "custom" => "custom".into(),
            "534120003" | "voice" => "voice".into(),
            "" => return Err(RowError::Missing("channel")),
            _ => {
                return Err(RowError::Bad {
                    column: "channel",
                    value: ch.into(),
                    why: "not Email, Text Message, Custom or Voice",
                });
            }
        };
        let value = self.get(f, "status");
        let status = match value {
            "534120001" => Some(RowStatus::OptedIn),
            "534120002" => Some(RowStatus::OptedOut),
            "534120000" => None,
            "" => return Err(RowError::Missing("status")),
            _ => self.status_word(f, "status")?,
        };
        let Some(status) = status else { return Ok(Vec::new()) };
        let purpose = self.get(f, "purpose");
        if purpose.is_empty() {
            return Err(RowError::Missing("purpose"));
        }
        (row.purpose, row.topic) = self.mapping.purpose(purpose);
        let topic = self.get(f, "topic");
        if !topic.is_empty() {
            row.topic = self.mapping.topic(topic);
        }
        if row.occurred_at.is_none() {
            row.occurred_at = self.time(f, "created")?;
        }
        let source = self.get(f, "source");
        let (src, label) = journeys_source(source);
        row.source = src.to_owned();
        let code = self.get(f, "reason_code");
        let behalf = self.get(f, "behalf");
        row.reason = self.reason(&[
            label.map_or_else(|| source.to_owned(), str::to_owned),
            journeys_reason(code).map_or_else(|| code.to_owned(), str::to_owned),
            std::mem::take(&mut row.reason),
            if behalf.is_empty() { String::new() } else { format!("on behalf of {behalf}") },
        ]);
        Ok(vec![ImportRow { status: Some(status), ..row }])
    }

    fn salesforce(&self, f: &[&str]) -> Result<Vec<ImportRow>, RowError> {
        if matches!(self.get(f, "deleted").to_ascii_lowercase().as_str(), "true" | "1") {
            return Ok(Vec::new());
        }
        let mut row = self.base(f)?;
        let (email, phone) = (self.get(f, "email"), self.get(f, "phone"));
        if row.contact_point.is_empty() {
            if !email.is_empty() {
                (row.contact_point, row.channel) = (email.to_owned(), "email".into());
            } else if !phone.is_empty() {
                (row.contact_point, row.channel) = (phone.to_owned(), "sms".into());
            } else {
                return Err(RowError::Missing("contact_point"));
            }
        }
        let cpt = self.get(f, "channel");
        match cpt.to_ascii_lowercase().as_str() {
            "" => {}
            "email" => row.channel = "email".into(),
            "phone" => row.channel = "sms".into(),
            _ => {
                return Err(RowError::Bad {
                    column: "channel",
                    value: cpt.into(),
                    why: "only Email and Phone consent is kept",
                });
            }
        }
        let value = self.get(f, "status");
        let status = match value.to_ascii_lowercase().as_str() {
            "optin" => Some(RowStatus::OptedIn),
            "optout" => Some(RowStatus::OptedOut),
            "notseen" | "seen" => None,
            "" => return Err(RowError::Missing("status")),
            _ => self.status_word(f, "status")?,
        };
        let Some(status) = status else { return Ok(Vec::new()) };
        let purpose = self.get(f, "purpose");
        if !purpose.is_empty() {
            (row.purpose, row.topic) = self.mapping.purpose(purpose);
        }
        if row.occurred_at.is_none() {
            row.occurred_at = self.time(f, "modified")?;
        }
        row.source = "crm_sync".into();
        row.reason = self.reason(&[
            self.labelled(f, "captured via", "capture_source"),
            self.labelled(f, "capture contact point type", "capture_type"),
            self.labelled(f, "effective from", "effective_from"),
            self.labelled(f, "double consent captured", "double_consent"),
        ]);
        self.per_purpose(row, status)
    }

    fn mailchimp(&self, f: &[&str]) -> Result<Vec<ImportRow>, RowError> {
        let mut row = self.base(f)?;
        let Some(status) = self.mapping.status.clone().or_else(|| self.implied_status.clone()) else {
            return Err(RowError::Missing("status"));
        };
        let got = |role: &str| self.get(f, role).to_owned();
        match &status {
            RowStatus::OptedIn => {
                row.occurred_at = self.first_time(f, &["confirm_time", "optin_time", "last_changed"])?;
                row.ip_address = if got("confirm_ip").is_empty() { got("optin_ip") } else { got("confirm_ip") };
                row.reason = self.reason(&[
                    self.labelled(f, "opted in", "optin_time") + &self.labelled(f, " from", "optin_ip"),
                    self.labelled(f, "confirmed", "confirm_time") + &self.labelled(f, " from", "confirm_ip"),
                ]);
            }
            RowStatus::OptedOut => {
                row.occurred_at = self.first_time(f, &["unsub_time", "last_changed"])?;
                row.reason = self.reason(&[
                    "unsubscribed".to_owned(),
                    got("unsub_reason"),
                    got("unsub_reason_other"),
                    self.labelled(f, "campaign", "unsub_campaign") + &self.labelled(f, " id", "unsub_campaign_id"),
                ]);
            }
            RowStatus::Suppressed(_) => {
                row.occurred_at = self.first_time(f, &["clean_time", "last_changed"])?;
                row.reason = self.reason(&[
                    "cleaned".to_owned(),
                    self.labelled(f, "campaign", "clean_campaign") + &self.labelled(f, " id", "clean_campaign_id"),
                ]);
            }
        }
        self.per_purpose(row, status)
    }

    fn hubspot(&self, f: &[&str]) -> Result<Vec<ImportRow>, RowError> {
        let mut row = self.base(f)?;
        if row.occurred_at.is_none() {
            row.occurred_at = self.time(f, "created")?;
        }
        row.source = "crm_sync".into();
        row.reason = self.reason(&[]);
        let truth = |role_value: &str| -> Result<bool, RowError> {
            match self.mapping.word(role_value) {
                _ if role_value.is_empty() => Ok(false),
                Some(Some(RowStatus::OptedIn)) => Ok(true),
                Some(Some(RowStatus::OptedOut) | None) => Ok(false),
                _ => Err(RowError::Bad { column: "opted out", value: role_value.to_owned(), why: "not true or false" }),
            }
        };
        let all = truth(self.get(f, "unsubscribed_all"))?;
        let mut out = Vec::new();
        let mut push = |(purpose, topic): (String, String), status: RowStatus| {
            if !out.iter().any(|r: &ImportRow| r.purpose == purpose && r.topic == topic) {
                out.push(ImportRow { purpose, topic, status: Some(status), ..row.clone() });
            }
        };
        for (i, name) in &self.subscriptions {
            let opted_out = all || truth(f.get(*i).map_or("", |s| s.trim()))?;
            if opted_out {
                push(self.mapping.purpose(name), RowStatus::OptedOut);
            } else if let Some(s) = &self.mapping.status {
                push(self.mapping.purpose(name), s.clone());
            }
        }
        let implied = if all { Some(RowStatus::OptedOut) } else { self.mapping.status.clone() };
        if let Some(s) = implied {
            if self.mapping.default_purposes.is_empty() && self.subscriptions.is_empty() {
                return Err(RowError::Missing("purpose"));
            }
            for p in &self.mapping.default_purposes {
                push(p.clone(), s.clone());
            }
        }
        Ok(out)
    }
}

/// Customer Insights - Journeys consent source → (consentd source, label).
fn journeys_source(v: &str) -> (&'static str, Option<&'static str>) {
    match v.to_ascii_lowercase().as_str() {
        "534120000" | "internal" => ("crm_sync", Some("Internal")),
        "534120001" | "preference page" => ("preference_center", Some("Preference page")),
        "534120002" | "text message" => ("sms_keyword", Some("Text message")),
        "534120003" | "loaded" => ("import", Some("Loaded")),
        "534120004" | "preference center" => ("preference_center", Some("Preference Center")),
        "534120005" | "realtime marketing form" => ("form", Some("Realtime Marketing Form")),
        "534120006" | "subscription center" => ("preference_center", Some("Subscription Center")),
        "534120007" | "email - list-unsubscribe" => ("one_click_unsubscribe", Some("Email - list-unsubscribe")),
        _ => ("crm_sync", None),
    }
}

fn journeys_reason(v: &str) -> Option<&'static str> {
    Some(match v {
        "534119999" => "No reasons",
        "534120000" => "Opt-in - Advertisement",
        "534120001" => "Opt-in - Landing page",
        "534120002" => "Opt-in - Events",
        "534120003" => "Opt-out - Content was irrelevant",
        "534120004" => "Opt-out - Received too frequently",
        "534120005" => "Opt-out - Didn't recall signing up",
        "534120006" => "Opt-out - Privacy concerns",
        "534120007" => "Opt-out - One-click unsubscribe",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn importer(preset: Preset, header: &str, mapping: Mapping) -> Importer {
        let headers: Vec<&str> = header.split(',').collect();
        Importer::new(preset, &headers, mapping, "acme", "email")
    }

    fn rows(imp: &Importer, line: &str) -> Result<Vec<ImportRow>, RowError> {
        imp.rows(&line.split(',').collect::<Vec<_>>())
    }

    #[test]
    fn journeys_option_sets_and_labels() {
        let mut m = Mapping::default();
        m.purposes.push(("Commercial".into(), ("newsletter".into(), String::new())));
        m.topics.push(("Events".into(), "events".into()));
        let imp = importer(
            Preset::Journeys,
            "msdynmkt_contactpointvalue,msdynmkt_contactpointtype,msdynmkt_value,msdynmkt_purposeid,msdynmkt_topicid,msdynmkt_source,msdynmkt_logicalreason,modifiedon,statecode,ownerid",
            m,
        );
        let r = rows(
            &imp,
            "jane@example.com,534120000,534120002,Commercial,Events,534120004,534120006,2026-01-15T10:32:00Z,0,x",
        )
        .expect("row");
        assert_eq!(r.len(), 1);
        let r = &r[0];
        assert_eq!(
            (r.channel.as_str(), r.purpose.as_str(), r.topic.as_str(), r.status.clone(), r.source.as_str()),
            ("email", "newsletter", "events", Some(RowStatus::OptedOut), "preference_center")
        );
        assert_eq!(r.reason, "Customer Insights - Journeys: Preference Center; Opt-out - Privacy concerns");
        assert_eq!(r.occurred_at, Some((1_768_473_120, 0)));
        assert!(rows(&imp, "x@example.com,534120000,534120000,Commercial,,,,,0,").expect("not set").is_empty());
        assert!(rows(&imp, "x@example.com,534120000,534120001,Commercial,,,,,1,").expect("inactive").is_empty());
        assert_eq!(imp.unmapped(), vec!["ownerid".to_owned()]);
        let by_label =
            importer(Preset::Journeys, "Contact point,Channel,Consent status,Purpose,Modified On", Mapping::default());
        let r = rows(&by_label, "+31612345678,Text Message,Opted In,commercial,15-01-2026 10:32").expect("labels");
        assert_eq!((r[0].channel.as_str(), r[0].status.clone()), ("sms", Some(RowStatus::OptedIn)));
    }

    #[test]
    fn mailchimp_file_kinds() {
        let mut m = Mapping::default();
        m.default_purposes.push(("newsletter".into(), String::new()));
        let sub = importer(
            Preset::Mailchimp,
            "Email Address,First Name,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LAST_CHANGED",
            m.clone(),
        );
        let r = rows(
            &sub,
            "ann@example.com,Ann,2026-01-10 09:00:00,192.0.2.1,2026-01-10 09:05:00,192.0.2.2,2026-02-01 00:00:00",
        )
        .expect("row");
        assert_eq!(r[0].status, Some(RowStatus::OptedIn));
        assert_eq!(r[0].occurred_at.map(|t| time::format_plain(t.0)), Some("2026-01-10 09:05:00".into()));
        assert_eq!(r[0].ip_address, "192.0.2.2");
        assert!(r[0].reason.contains("opted in 2026-01-10 09:00:00 from 192.0.2.1"), "{}", r[0].reason);
        assert_eq!(sub.unmapped(), vec!["First Name".to_owned()]);
        let cleaned = importer(Preset::Mailchimp, "Email Address,CLEAN_TIME", m.clone());
        let r = rows(&cleaned, "bob@example.com,2026-01-10 09:00:00").expect("row");
        assert_eq!(r[0].status, Some(RowStatus::Suppressed("hard_bounce".into())));
        let no_purpose = importer(Preset::Mailchimp, "Email Address,UNSUB_TIME", Mapping::default());
        assert_eq!(rows(&no_purpose, "bob@example.com,2026-01-10 09:00:00"), Err(RowError::Missing("purpose")));
    }

    #[test]
    fn hubspot_subscription_columns() {
        let mut m = Mapping::default();
        m.default_purposes.push(("newsletter".into(), String::new()));
        m.purposes.push(("Event updates".into(), ("newsletter".into(), "events".into())));
        let imp = importer(
            Preset::Hubspot,
            "Record ID,Email,Unsubscribed from all email,Last modified date,Opted out of email: Event updates",
            m,
        );
        let r = rows(&imp, "1,a@example.com,false,2026-01-15 10:32,true").expect("row");
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].topic.as_str(), r[0].status.clone()), ("events", Some(RowStatus::OptedOut)));
        let r = rows(&imp, "2,b@example.com,true,2026-01-15 10:32,false").expect("row");
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(rows(&imp, "3,c@example.com,false,2026-01-15 10:32,false").expect("row").is_empty());
    }
}
