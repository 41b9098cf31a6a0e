//! The preset layouts written back from consentd's state (`consentctl export --preset`), so a
//! flow or data import job can push consentd's truth into the system it came from; reading
//! them back gives the same state (tested for every preset).

use super::mapping::Mapping;
use super::preset::Preset;
use super::time::format_plain;

/// One contact point's state, as the export hands it to a layout.
#[derive(Clone, Debug, Default)]
pub struct ExportContact {
    pub channel: String,
    pub contact_point: String,
    pub records: Vec<ExportRecord>,
    /// (kind, occurred_at seconds).
    pub suppressions: Vec<(String, i64)>,
}

#[derive(Clone, Debug, Default)]
pub struct ExportRecord {
    pub purpose: String,
    pub topic: String,
    /// `opted_in`, `opted_out` or `pending`.
    pub status: String,
    pub occurred_at: i64,
    pub expires_at: Option<i64>,
    pub source: String,
}

/// Writes consentd's state in a preset's layout.
pub struct Exporter {
    preset: Preset,
    mapping: Mapping,
}

fn rfc3339(secs: i64, millis: bool) -> String {
    let plain = format_plain(secs).replace(' ', "T");
    if millis { format!("{plain}.000Z") } else { format!("{plain}Z") }
}

impl Exporter {
    /// `Err` when the layout needs something the mapping does not give.
    pub fn new(preset: Preset, mapping: Mapping) -> Result<Exporter, String> {
        if preset == Preset::Mailchimp && mapping.default_purposes.is_empty() {
            return Err("a Mailchimp audience is one purpose: name it with --purpose".into());
        }
        if preset == Preset::Generic {
            return Err("the generic layout is consentd's own export".into());
        }
        Ok(Exporter { preset, mapping })
    }

    /// The files the layout writes: (suffix of the output name, header). One file has an
    /// empty suffix (the output itself).
    pub fn files(&self) -> Vec<(&'static str, Vec<String>)> {
        let h = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        match self.preset {
            Preset::Generic => Vec::new(),
            Preset::Journeys => vec![(
                "",
                h(&[
                    "msdynmkt_contactpointvalue",
                    "msdynmkt_contactpointtype",
                    "msdynmkt_value",
                    "msdynmkt_purposeid",
                    "msdynmkt_topicid",
                    "msdynmkt_contactpointconsenttype",
                    "msdynmkt_source",
                    "modifiedon",
                ]),
            )],
            Preset::Salesforce => vec![(
                "",
                h(&[
                    "EmailAddress",
                    "TelephoneNumber",
                    "ContactPointType",
                    "DataUsePurposeId",
                    "PrivacyConsentStatus",
                    "CaptureDate",
                    "CaptureSource",
                    "EffectiveTo",
                ]),
            )],
            Preset::Mailchimp => vec![
                ("-subscribed", h(&["Email Address", "OPTIN_TIME", "LAST_CHANGED"])),
                ("-unsubscribed", h(&["Email Address", "UNSUB_TIME", "LAST_CHANGED"])),
                ("-cleaned", h(&["Email Address", "CLEAN_TIME", "LAST_CHANGED"])),
            ],
            Preset::Hubspot => {
                let mut header = h(&["Email", "Unsubscribed from all email", "Last modified date"]);
                header.extend(self.hubspot_types().into_iter().map(|(name, _)| format!("Opted out of email: {name}")));
                vec![("", header)]
            }
        }
    }

    /// HubSpot subscription types: (name, (purpose, topic)).
    fn hubspot_types(&self) -> Vec<(String, (String, String))> {
        if self.mapping.purposes.is_empty() {
            self.mapping.default_purposes.iter().map(|p| (self.mapping.source_purpose(&p.0, &p.1), p.clone())).collect()
        } else {
            self.mapping.purposes.clone()
        }
    }

    /// The rows one contact point becomes: (file index, fields).
    pub fn rows(&self, c: &ExportContact) -> Vec<(usize, Vec<String>)> {
        let decided = || c.records.iter().filter(|r| r.status == "opted_in" || r.status == "opted_out");
        match self.preset {
            Preset::Generic => Vec::new(),
            Preset::Journeys => {
                let channel = match c.channel.as_str() {
                    "email" => "Email",
                    "sms" => "Text Message",
                    "voice" => "Voice",
                    _ => "Custom",
                };
                decided()
                    .map(|r| {
                        let source = match r.source.as_str() {
                            "preference_center" => "Preference Center",
                            "form" => "Realtime Marketing Form",
                            "import" => "Loaded",
                            "sms_keyword" => "Text message",
                            "one_click_unsubscribe" => "Email - list-unsubscribe",
                            _ => "Internal",
                        };
                        let topic =
                            if r.topic.is_empty() { String::new() } else { self.mapping.source_topic(&r.topic) };
                        (
                            0,
                            vec![
                                c.contact_point.clone(),
                                channel.to_owned(),
                                if r.status == "opted_in" { "Opted In" } else { "Opted Out" }.to_owned(),
                                self.mapping.source_purpose(&r.purpose, ""),
                                topic,
                                if r.topic.is_empty() { "Purpose" } else { "Topic" }.to_owned(),
                                source.to_owned(),
                                rfc3339(r.occurred_at, false),
                            ],
                        )
                    })
                    .collect()
            }
            Preset::Salesforce => {
                let (email, phone, kind) = match c.channel.as_str() {
                    "email" => (c.contact_point.clone(), String::new(), "Email"),
                    "sms" | "voice" | "whatsapp" => (String::new(), c.contact_point.clone(), "Phone"),
                    _ => return Vec::new(),
                };
                decided()
                    .map(|r| {
                        (
                            0,
                            vec![
                                email.clone(),
                                phone.clone(),
                                kind.to_owned(),
                                self.mapping.source_purpose(&r.purpose, &r.topic),
                                if r.status == "opted_in" { "OptIn" } else { "OptOut" }.to_owned(),
                                rfc3339(r.occurred_at, true),
                                "consentd".to_owned(),
                                r.expires_at.map(|e| rfc3339(e, true)).unwrap_or_default(),
                            ],
                        )
                    })
                    .collect()
            }
            Preset::Mailchimp => {
                if c.channel != "email" {
                    return Vec::new();
                }
                let (p, t) = &self.mapping.default_purposes[0];
                let mut out: Vec<(usize, Vec<String>)> = decided()
                    .filter(|r| &r.purpose == p && &r.topic == t)
                    .map(|r| {
                        let at = format_plain(r.occurred_at);
                        (usize::from(r.status != "opted_in"), vec![c.contact_point.clone(), at.clone(), at])
                    })
                    .collect();
                out.extend(c.suppressions.iter().filter(|(k, _)| k == "hard_bounce").map(|(_, at)| {
                    let at = format_plain(*at);
                    (2, vec![c.contact_point.clone(), at.clone(), at])
                }));
                out
            }
            Preset::Hubspot => {
                if c.channel != "email" {
                    return Vec::new();
                }
                let types = self.hubspot_types();
                let status_of = |p: &(String, String)| {
                    decided().find(|r| r.purpose == p.0 && r.topic == p.1).map(|r| (r.status.as_str(), r.occurred_at))
                };
                let known: Vec<(&str, i64)> =
                    types.iter().map(|(_, p)| p).chain(&self.mapping.default_purposes).filter_map(status_of).collect();
                let Some(last) = known.iter().map(|(_, at)| *at).max() else { return Vec::new() };
                // "Unsubscribed from all" only when every purpose the layout names is opted out:
                // importing it back opts out of all of them.
                let all = types
                    .iter()
                    .map(|(_, p)| p)
                    .chain(&self.mapping.default_purposes)
                    .all(|p| status_of(p).is_some_and(|(s, _)| s == "opted_out"));
                let mut row = vec![c.contact_point.clone(), all.to_string(), format_plain(last)];
                row.extend(types.iter().map(|(_, p)| status_of(p).is_some_and(|(s, _)| s == "opted_out").to_string()));
                vec![(0, row)]
            }
        }
    }
}
