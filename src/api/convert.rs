//! Conversions between protobuf messages and the engine's and store's plain types. Proto
//! types stop here: messages are destructured exhaustively so that a new proto field fails
//! the build until it is handled.
//!
//! Longer than most files on purpose: every proto conversion lives here and nowhere else,
//! in sections (contact and status, records and history, catalog, API keys), so a change
//! to one proto enum is one edit in one file.

use prost_types::{Duration, Timestamp};

use super::error::{ApiError, ApiResult};
use super::pb;
use crate::config::Limits;
use crate::decision::keywords::KeywordClass;
use crate::decision::{
    Catalog, Channel, DoubleOptInMode, EnforcementModel, Outcome, Profile, Purpose, PurposeKind, Reason, Status,
    SuppressionKind, Topic, keywords,
};
use crate::storage::model::{ChangeOutcome, ChangeResult, EventKind, Source};
use crate::storage::past::{AsOf, Clock};
use crate::storage::view::{ApiKey, Contact, Event, Proof, Record, Scope};

pub fn channel(field: &str, n: i32) -> ApiResult<Channel> {
    match pb::Channel::try_from(n) {
        Ok(pb::Channel::Email) => Ok(Channel::Email),
        Ok(pb::Channel::Sms) => Ok(Channel::Sms),
        Ok(pb::Channel::Whatsapp) => Ok(Channel::Whatsapp),
        Ok(pb::Channel::Push) => Ok(Channel::Push),
        Ok(pb::Channel::Voice) => Ok(Channel::Voice),
        Ok(pb::Channel::Custom) => Ok(Channel::Custom),
        Ok(pb::Channel::Unspecified) => Err(ApiError::invalid_field(field, "a channel is required")),
        Err(_) => Err(ApiError::invalid(field, &n.to_string(), "unknown channel")),
    }
}

pub fn channel_to_pb(c: Channel) -> pb::Channel {
    match c {
        Channel::Email => pb::Channel::Email,
        Channel::Sms => pb::Channel::Sms,
        Channel::Whatsapp => pb::Channel::Whatsapp,
        Channel::Push => pb::Channel::Push,
        Channel::Voice => pb::Channel::Voice,
        Channel::Custom => pb::Channel::Custom,
    }
}

pub fn reason_to_pb(r: Reason) -> pb::Reason {
    match r {
        Reason::InvalidContactPoint => pb::Reason::InvalidContactPoint,
        Reason::ConsentNotRequired => pb::Reason::ConsentNotRequired,
        Reason::Suppressed => pb::Reason::Suppressed,
        Reason::PurposeOptedOut => pb::Reason::PurposeOptedOut,
        Reason::PendingConfirmation => pb::Reason::PendingConfirmation,
        Reason::ConsentExpired => pb::Reason::ConsentExpired,
        Reason::NoOptIn => pb::Reason::NoOptIn,
        Reason::TopicOptedOut => pb::Reason::TopicOptedOut,
        Reason::NoTopicOptIn => pb::Reason::NoTopicOptIn,
        Reason::OptedIn => pb::Reason::OptedIn,
        Reason::NotOptedOut => pb::Reason::NotOptedOut,
        Reason::ContactPointReassigned => pb::Reason::ContactPointReassigned,
    }
}

pub fn outcome_to_pb(o: Outcome) -> pb::Decision {
    match o {
        Outcome::Send => pb::Decision::Send,
        Outcome::Block => pb::Decision::Block,
    }
}

pub fn suppression_kind(field: &str, n: i32) -> ApiResult<SuppressionKind> {
    match pb::SuppressionKind::try_from(n) {
        Ok(pb::SuppressionKind::HardBounce) => Ok(SuppressionKind::HardBounce),
        Ok(pb::SuppressionKind::SpamComplaint) => Ok(SuppressionKind::SpamComplaint),
        Ok(pb::SuppressionKind::SmsStop) => Ok(SuppressionKind::SmsStop),
        Ok(pb::SuppressionKind::Manual) => Ok(SuppressionKind::Manual),
        Ok(pb::SuppressionKind::Moved) => Ok(SuppressionKind::Moved),
        Ok(pb::SuppressionKind::Erased) => Err(ApiError::invalid(
            field,
            "SUPPRESSION_KIND_ERASED",
            "the tombstone of an erasure is set by EraseContactPoint and lifted only by a new opt-in with proof",
        )),
        Ok(pb::SuppressionKind::Unspecified) => Err(ApiError::invalid_field(field, "a suppression kind is required")),
        Err(_) => Err(ApiError::invalid(field, &n.to_string(), "unknown suppression kind")),
    }
}

pub fn suppression_kind_to_pb(k: SuppressionKind) -> pb::SuppressionKind {
    match k {
        SuppressionKind::HardBounce => pb::SuppressionKind::HardBounce,
        SuppressionKind::SpamComplaint => pb::SuppressionKind::SpamComplaint,
        SuppressionKind::SmsStop => pb::SuppressionKind::SmsStop,
        SuppressionKind::Manual => pb::SuppressionKind::Manual,
        SuppressionKind::Erased => pb::SuppressionKind::Erased,
        SuppressionKind::Moved => pb::SuppressionKind::Moved,
    }
}

/// `CONSENT_STATUS_OPTED_IN` or `CONSENT_STATUS_OPTED_OUT`: what a write may ask for.
pub fn write_status(field: &str, n: i32) -> ApiResult<Status> {
    match pb::ConsentStatus::try_from(n) {
        Ok(pb::ConsentStatus::OptedIn) => Ok(Status::OptedIn),
        Ok(pb::ConsentStatus::OptedOut) => Ok(Status::OptedOut),
        Ok(other) => Err(ApiError::invalid(
            field,
            other.as_str_name(),
            "a write sets CONSENT_STATUS_OPTED_IN or CONSENT_STATUS_OPTED_OUT (pending comes from double opt-in)",
        )),
        Err(_) => Err(ApiError::invalid(field, &n.to_string(), "unknown status")),
    }
}

pub fn status_to_pb(s: Status) -> pb::ConsentStatus {
    match s {
        Status::OptedIn => pb::ConsentStatus::OptedIn,
        Status::OptedOut => pb::ConsentStatus::OptedOut,
        Status::Pending => pb::ConsentStatus::Pending,
    }
}

pub fn source(field: &str, n: i32) -> ApiResult<Source> {
    match pb::ChangeSource::try_from(n) {
        Ok(pb::ChangeSource::Unspecified) => Ok(Source::Api),
        Ok(pb::ChangeSource::DoubleOptInConfirmation) => Err(ApiError::invalid(
            field,
            "CHANGE_SOURCE_DOUBLE_OPT_IN_CONFIRMATION",
            "confirmations are recorded by ConfirmOptIn only",
        )),
        Ok(pb::ChangeSource::PreferenceCenter) => Ok(Source::PreferenceCenter),
        Ok(pb::ChangeSource::Form) => Ok(Source::Form),
        Ok(pb::ChangeSource::Import) => Ok(Source::Import),
        Ok(pb::ChangeSource::SmsKeyword) => Ok(Source::SmsKeyword),
        Ok(pb::ChangeSource::OneClickUnsubscribe) => Ok(Source::OneClickUnsubscribe),
        Ok(pb::ChangeSource::Admin) => Ok(Source::Admin),
        Ok(pb::ChangeSource::Api) => Ok(Source::Api),
        Ok(pb::ChangeSource::CrmSync) => Ok(Source::CrmSync),
        Err(_) => Err(ApiError::invalid(field, &n.to_string(), "unknown source")),
    }
}

pub fn source_to_pb(s: Source) -> pb::ChangeSource {
    match s {
        Source::PreferenceCenter => pb::ChangeSource::PreferenceCenter,
        Source::Form => pb::ChangeSource::Form,
        Source::Import => pb::ChangeSource::Import,
        Source::SmsKeyword => pb::ChangeSource::SmsKeyword,
        Source::OneClickUnsubscribe => pb::ChangeSource::OneClickUnsubscribe,
        Source::Admin => pb::ChangeSource::Admin,
        Source::Api => pb::ChangeSource::Api,
        Source::CrmSync => pb::ChangeSource::CrmSync,
        Source::DoubleOptInConfirmation => pb::ChangeSource::DoubleOptInConfirmation,
    }
}

pub fn ts_from_us(us: i64) -> Timestamp {
    Timestamp { seconds: us.div_euclid(1_000_000), nanos: (us.rem_euclid(1_000_000) * 1000) as i32 }
}

pub fn ts_from_secs(secs: i64) -> Timestamp {
    Timestamp { seconds: secs, nanos: 0 }
}

/// A timestamp as microseconds; `None` when absent. Out-of-range values are refused.
pub fn ts_to_us(field: &str, ts: Option<Timestamp>) -> ApiResult<Option<i64>> {
    let Some(ts) = ts else { return Ok(None) };
    // Years 1 to 9999, as google.protobuf.Timestamp allows.
    if !(-62_135_596_800..=253_402_300_799).contains(&ts.seconds) || !(0..1_000_000_000).contains(&ts.nanos) {
        return Err(ApiError::invalid(field, &format!("{}s {}ns", ts.seconds, ts.nanos), "timestamp out of range"));
    }
    Ok(Some(ts.seconds * 1_000_000 + i64::from(ts.nanos / 1000)))
}

/// A check's `as_of` and `as_of_clock`: `None` decides now, from the live state. A moment
/// not yet passed is refused: its answer would change as changes arrive.
pub fn as_of(ts: Option<Timestamp>, clock: i32, now_us: i64) -> ApiResult<Option<AsOf>> {
    let parsed = match pb::Clock::try_from(clock) {
        Ok(pb::Clock::Unspecified | pb::Clock::Recorded) => Clock::Recorded,
        Ok(pb::Clock::Occurred) => Clock::Occurred,
        Err(_) => return Err(ApiError::invalid("as_of_clock", &clock.to_string(), "not a Clock")),
    };
    match ts_to_us("as_of", ts)? {
        None if clock != pb::Clock::Unspecified as i32 => {
            Err(ApiError::invalid_field("as_of_clock", "needs as_of: the clock of which moment?"))
        }
        None => Ok(None),
        Some(us) if us > now_us => Err(ApiError::invalid(
            "as_of",
            &format!("{}", us.div_euclid(1_000_000)),
            format!("lies in the future (now is {}): leave as_of out to decide now", now_us.div_euclid(1_000_000)),
        )),
        Some(at_us) => Ok(Some(AsOf { at_us, clock: parsed })),
    }
}

/// `occurred_at`: defaults to `now_us`, may not lie further in the future than clock skew
/// explains (a far-future change would otherwise win over every real one).
pub fn occurred_at(field: &str, ts: Option<Timestamp>, now_us: i64) -> ApiResult<i64> {
    match ts_to_us(field, ts)? {
        None => Ok(now_us),
        Some(us) if us > now_us + Limits::FUTURE_SKEW_SECS * 1_000_000 => Err(ApiError::invalid(
            field,
            &format!("{}", us / 1_000_000),
            format!("lies more than {} s in the future", Limits::FUTURE_SKEW_SECS),
        )),
        Some(us) if us < Limits::EVENT_TIME_MIN_SECS * 1_000_000 => Err(ApiError::invalid(
            field,
            &format!("{}", us.div_euclid(1_000_000)),
            format!(
                "lies before {} (1990-01-01T00:00:00Z), the earliest time an event may have",
                Limits::EVENT_TIME_MIN_SECS
            ),
        )),
        Some(us) => Ok(us),
    }
}

/// Checks an id: lower-case letters, digits, `-` and `_`, 1 to 64 characters.
pub fn id(field: &str, value: &str) -> ApiResult<()> {
    let ok = !value.is_empty()
        && value.len() <= Limits::ID_BYTES_MAX
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(ApiError::invalid(field, value, "must be 1 to 64 of a-z, 0-9, `-`, `_`")) }
}

pub fn text(field: &str, value: &str, max: usize) -> ApiResult<()> {
    if value.len() > max {
        return Err(ApiError::invalid_field(field, format!("longer than {max} bytes")));
    }
    Ok(())
}

pub fn proof(field: &str, p: Option<pb::Proof>) -> ApiResult<Option<Proof>> {
    let Some(pb::Proof { ip_address, user_agent, notice_id, notice_version, notice_hash, notice_text }) = p else {
        return Ok(None);
    };
    // `field` is empty where the proof's fields are the request's own (ConfirmOptIn).
    let named = |name: &str| if field.is_empty() { name.to_owned() } else { format!("{field}.{name}") };
    for (name, v) in [
        ("ip_address", &ip_address),
        ("user_agent", &user_agent),
        ("notice_id", &notice_id),
        ("notice_version", &notice_version),
        ("notice_hash", &notice_hash),
    ] {
        text(&named(name), v, Limits::TEXT_BYTES_MAX)?;
    }
    if !ip_address.is_empty() && ip_address.parse::<std::net::IpAddr>().is_err() {
        return Err(ApiError::invalid(named("ip_address"), &ip_address, "not an IP address"));
    }
    text(&named("notice_text"), &notice_text, Limits::NOTICE_TEXT_BYTES_MAX)?;
    Ok(Some(Proof { ip_address, user_agent, notice_id, notice_version, notice_hash, notice_text }))
}

pub fn proof_to_pb(p: Proof) -> pb::Proof {
    let Proof { ip_address, user_agent, notice_id, notice_version, notice_hash, notice_text } = p;
    pb::Proof { ip_address, user_agent, notice_id, notice_version, notice_hash, notice_text }
}

fn purpose_topic_names(catalog: &Catalog, purpose_no: u32, topic_no: u32) -> (String, String) {
    let purpose = u16::try_from(purpose_no).ok().and_then(|n| catalog.purpose_by_no(n)).map(|p| p.id.clone());
    let topic = match topic_no {
        0 => String::new(),
        n => u16::try_from(n).ok().and_then(|n| catalog.topic_by_no(n)).map(|t| t.id.clone()).unwrap_or_default(),
    };
    (purpose.unwrap_or_default(), topic)
}

/// A stored record as the API shows it at `now_secs`: a pending record past its
/// confirmation deadline is `NOT_SET`, as decisions treat it (rule row 5).
pub fn record_to_pb(catalog: &Catalog, r: &Record, now_secs: i64) -> pb::ConsentRecord {
    let (purpose_id, topic_id) = purpose_topic_names(catalog, r.purpose_no, r.topic_no);
    let status = match status_to_pb(r.status) {
        pb::ConsentStatus::Pending if r.expires_at.is_some_and(|deadline| deadline <= now_secs) => {
            pb::ConsentStatus::NotSet
        }
        other => other,
    };
    pb::ConsentRecord {
        purpose_id,
        topic_id,
        status: status as i32,
        occurred_at: Some(ts_from_us(r.occurred_at_us)),
        expires_at: r.expires_at.map(ts_from_secs),
        source: source_to_pb(r.source) as i32,
        revision: r.revision,
    }
}

/// What a consent write answered, as the API shows it at `now_secs`.
pub fn change_result_to_pb(catalog: &Catalog, r: ChangeResult, now_secs: i64) -> pb::ChangeResult {
    let ChangeResult { outcome, revision, confirmation_token, confirmation_expires_at, record, replayed } = r;
    pb::ChangeResult {
        outcome: match outcome {
            ChangeOutcome::Applied => pb::ChangeOutcome::Applied,
            ChangeOutcome::PendingConfirmation => pb::ChangeOutcome::PendingConfirmation,
            ChangeOutcome::Superseded => pb::ChangeOutcome::Superseded,
        } as i32,
        revision,
        confirmation_token: confirmation_token.unwrap_or_default(),
        confirmation_expires_at: confirmation_expires_at.map(ts_from_secs),
        record: record.as_ref().map(|r| record_to_pb(catalog, r, now_secs)),
        replayed,
        confirmation_url: String::new(),
    }
}

pub fn keyword_class_to_pb(k: KeywordClass) -> pb::KeywordClass {
    match k {
        KeywordClass::None => pb::KeywordClass::None,
        KeywordClass::Stop => pb::KeywordClass::Stop,
        KeywordClass::Start => pb::KeywordClass::Start,
        KeywordClass::Help => pb::KeywordClass::Help,
    }
}

pub fn event_kind_to_pb(k: EventKind) -> pb::EventKind {
    match k {
        EventKind::Consent => pb::EventKind::Consent,
        EventKind::Confirmation => pb::EventKind::Confirmation,
        EventKind::SuppressionAdded => pb::EventKind::SuppressionAdded,
        EventKind::SuppressionLifted => pb::EventKind::SuppressionLifted,
        EventKind::Erased => pb::EventKind::Erased,
        EventKind::Reassigned => pb::EventKind::Reassigned,
    }
}

/// The current records and active suppressions of a stored contact point.
pub fn contact_to_pb(catalog: &Catalog, c: &Contact, now_secs: i64) -> (Vec<pb::ConsentRecord>, Vec<pb::Suppression>) {
    (
        c.records.iter().map(|r| record_to_pb(catalog, r, now_secs)).collect(),
        c.suppressions
            .iter()
            .filter(|x| x.active)
            .map(|x| pb::Suppression {
                kind: suppression_kind_to_pb(x.kind) as i32,
                occurred_at: Some(ts_from_us(x.occurred_at_us)),
                reason: x.reason.clone(),
                revision: x.revision,
            })
            .collect(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn event_to_pb(event: Event) -> pb::HistoryEvent {
    let Event {
        contact_key: _,
        seq,
        kind,
        applied,
        revision,
        profile_id: _,
        channel: _,
        contact_point: _,
        purpose_id,
        topic_id,
        status,
        suppression_kind,
        occurred_at_us,
        recorded_at_us,
        expires_at,
        source,
        actor,
        reason,
        proof,
        token_id,
        confirmation_proof,
        confirmed_at_us,
        lifts_erasure,
        redacted,
        hash,
        prev_hash,
    } = event;
    pb::HistoryEvent {
        seq,
        kind: event_kind_to_pb(kind) as i32,
        applied,
        revision,
        purpose_id,
        topic_id,
        status: status.map_or(pb::ConsentStatus::Unspecified, status_to_pb) as i32,
        suppression_kind: suppression_kind.map_or(pb::SuppressionKind::Unspecified, suppression_kind_to_pb) as i32,
        occurred_at: Some(ts_from_us(occurred_at_us)),
        recorded_at: Some(ts_from_us(recorded_at_us)),
        expires_at: expires_at.map(ts_from_secs),
        source: source_to_pb(source) as i32,
        actor,
        reason,
        proof: proof.map(proof_to_pb),
        token_id: hex(&token_id),
        confirmation_proof: confirmation_proof.map(proof_to_pb),
        confirmed_at: confirmed_at_us.map(ts_from_us),
        hash: hex(&hash),
        prev_hash: hex(&prev_hash),
        redacted,
        lifts_erasure,
    }
}

// ---- catalog -----------------------------------------------------------------------

fn doi_mode(field: &str, n: i32) -> ApiResult<DoubleOptInMode> {
    match pb::DoubleOptInMode::try_from(n) {
        Ok(pb::DoubleOptInMode::Unspecified | pb::DoubleOptInMode::Off) => Ok(DoubleOptInMode::Off),
        Ok(pb::DoubleOptInMode::EveryOptIn) => Ok(DoubleOptInMode::EveryOptIn),
        Ok(pb::DoubleOptInMode::NewContactPoints) => Ok(DoubleOptInMode::NewContactPoints),
        Err(_) => Err(ApiError::invalid(field, &n.to_string(), "unknown double opt-in mode")),
    }
}

fn doi_mode_to_pb(m: DoubleOptInMode) -> pb::DoubleOptInMode {
    match m {
        DoubleOptInMode::Off => pb::DoubleOptInMode::Off,
        DoubleOptInMode::EveryOptIn => pb::DoubleOptInMode::EveryOptIn,
        DoubleOptInMode::NewContactPoints => pb::DoubleOptInMode::NewContactPoints,
    }
}

fn model(field: &str, n: i32) -> ApiResult<EnforcementModel> {
    match pb::EnforcementModel::try_from(n) {
        Ok(pb::EnforcementModel::Restrictive) => Ok(EnforcementModel::Restrictive),
        Ok(pb::EnforcementModel::NonRestrictive) => Ok(EnforcementModel::NonRestrictive),
        Ok(pb::EnforcementModel::Disabled) => Ok(EnforcementModel::Disabled),
        Ok(pb::EnforcementModel::Unspecified) => Err(ApiError::invalid_field(field, "a model is required")),
        Err(_) => Err(ApiError::invalid(field, &n.to_string(), "unknown enforcement model")),
    }
}

pub fn model_to_pb(m: EnforcementModel) -> pb::EnforcementModel {
    match m {
        EnforcementModel::Restrictive => pb::EnforcementModel::Restrictive,
        EnforcementModel::NonRestrictive => pb::EnforcementModel::NonRestrictive,
        EnforcementModel::Disabled => pb::EnforcementModel::Disabled,
    }
}

fn purpose_kind(field: &str, n: i32) -> ApiResult<PurposeKind> {
    match pb::PurposeKind::try_from(n) {
        Ok(pb::PurposeKind::Commercial) => Ok(PurposeKind::Commercial),
        Ok(pb::PurposeKind::Transactional) => Ok(PurposeKind::Transactional),
        Ok(pb::PurposeKind::Custom) => Ok(PurposeKind::Custom),
        Ok(pb::PurposeKind::Unspecified) => Err(ApiError::invalid_field(field, "a purpose kind is required")),
        Err(_) => Err(ApiError::invalid(field, &n.to_string(), "unknown purpose kind")),
    }
}

fn purpose_kind_to_pb(k: PurposeKind) -> pb::PurposeKind {
    match k {
        PurposeKind::Commercial => pb::PurposeKind::Commercial,
        PurposeKind::Transactional => pb::PurposeKind::Transactional,
        PurposeKind::Custom => pb::PurposeKind::Custom,
    }
}

fn keyword_list(field: &str, words: Vec<String>) -> ApiResult<Vec<String>> {
    if words.len() > 32 {
        return Err(ApiError::invalid_field(field, "at most 32 keywords"));
    }
    let mut out = Vec::with_capacity(words.len());
    for (i, w) in words.iter().enumerate() {
        let k = keywords::normalize_keyword(w);
        if k.is_empty() || k.chars().count() > Limits::KEYWORD_CHARS_MAX || k.chars().any(char::is_whitespace) {
            return Err(ApiError::invalid(format!("{field}[{i}]"), w, "a keyword is one word of 1 to 32 characters"));
        }
        out.push(k);
    }
    Ok(out)
}

/// The settable fields of a profile from its message (ids and times are the server's).
pub fn profile_from_pb(p: pb::Profile) -> ApiResult<Profile> {
    let pb::Profile {
        profile_id,
        display_name,
        default_region,
        double_opt_in,
        confirmation_validity,
        extra_stop_keywords,
        extra_start_keywords,
        active: _,
        create_time: _,
        update_time: _,
        brand_color,
        default_language,
    } = p;
    id("profile.profile_id", &profile_id)?;
    let color_ok = brand_color.len() == 7
        && brand_color.starts_with('#')
        && brand_color[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if !brand_color.is_empty() && !color_ok {
        return Err(ApiError::invalid("profile.brand_color", &brand_color, "must be #rrggbb"));
    }
    if !matches!(default_language.as_str(), "" | "en" | "nl") {
        return Err(ApiError::invalid("profile.default_language", &default_language, "must be \"en\" or \"nl\""));
    }
    text("profile.display_name", &display_name, Limits::TEXT_BYTES_MAX)?;
    let mut profile = Profile::new(&profile_id);
    profile.display_name = display_name;
    profile.brand_color = (!brand_color.is_empty()).then(|| brand_color.to_ascii_lowercase());
    profile.default_language = (!default_language.is_empty()).then_some(default_language);
    if !default_region.is_empty() {
        let region = default_region.trim().to_ascii_uppercase();
        if crate::contact::parse_region(&region).is_none() {
            return Err(ApiError::invalid(
                "profile.default_region",
                &default_region,
                "not an ISO 3166-1 alpha-2 region",
            ));
        }
        profile.default_region = Some(region);
    }
    if double_opt_in.len() > Channel::ALL.len() {
        return Err(ApiError::invalid_field(
            "profile.double_opt_in",
            format!("at most {} settings, one per channel", Channel::ALL.len()),
        ));
    }
    for (i, s) in double_opt_in.into_iter().enumerate() {
        let pb::DoubleOptInSetting { channel: ch, mode } = s;
        let ch = channel(&format!("profile.double_opt_in[{i}].channel"), ch)?;
        profile.double_opt_in[ch.index()] = doi_mode(&format!("profile.double_opt_in[{i}].mode"), mode)?;
    }
    if let Some(Duration { seconds, nanos: _ }) = confirmation_validity {
        if !(60..=365 * 24 * 3600).contains(&seconds) {
            return Err(ApiError::invalid(
                "profile.confirmation_validity",
                &format!("{seconds}s"),
                "must be between 60 seconds and 365 days",
            ));
        }
        profile.confirmation_validity_secs = seconds;
    }
    profile.extra_stop_keywords = keyword_list("profile.extra_stop_keywords", extra_stop_keywords)?;
    profile.extra_start_keywords = keyword_list("profile.extra_start_keywords", extra_start_keywords)?;
    Ok(profile)
}

pub fn profile_to_pb(p: &Profile) -> pb::Profile {
    pb::Profile {
        profile_id: p.id.clone(),
        display_name: p.display_name.clone(),
        default_region: p.default_region.clone().unwrap_or_default(),
        double_opt_in: Channel::ALL
            .iter()
            .map(|c| pb::DoubleOptInSetting {
                channel: channel_to_pb(*c) as i32,
                mode: doi_mode_to_pb(p.double_opt_in[c.index()]) as i32,
            })
            .collect(),
        confirmation_validity: Some(Duration { seconds: p.confirmation_validity_secs, nanos: 0 }),
        extra_stop_keywords: p.extra_stop_keywords.clone(),
        extra_start_keywords: p.extra_start_keywords.clone(),
        active: p.active,
        create_time: Some(ts_from_secs(p.created_at)),
        update_time: Some(ts_from_secs(p.updated_at)),
        brand_color: p.brand_color.clone().unwrap_or_default(),
        default_language: p.default_language.clone().unwrap_or_default(),
    }
}

pub fn purpose_from_pb(p: pb::Purpose) -> ApiResult<Purpose> {
    let pb::Purpose {
        profile_id,
        purpose_id,
        display_name,
        kind,
        enforcement,
        active: _,
        create_time: _,
        update_time: _,
    } = p;
    id("purpose.profile_id", &profile_id)?;
    id("purpose.purpose_id", &purpose_id)?;
    text("purpose.display_name", &display_name, Limits::TEXT_BYTES_MAX)?;
    let kind = purpose_kind("purpose.kind", kind)?;
    let mut purpose = Purpose::new(&profile_id, &purpose_id, kind, 0);
    purpose.display_name = display_name;
    if enforcement.len() > Channel::ALL.len() {
        return Err(ApiError::invalid_field(
            "purpose.enforcement",
            format!("at most {} settings, one per channel", Channel::ALL.len()),
        ));
    }
    for (i, e) in enforcement.into_iter().enumerate() {
        let pb::ChannelEnforcement { channel: ch, model: m } = e;
        let ch = channel(&format!("purpose.enforcement[{i}].channel"), ch)?;
        purpose.models[ch.index()] = model(&format!("purpose.enforcement[{i}].model"), m)?;
    }
    Ok(purpose)
}

pub fn purpose_to_pb(p: &Purpose) -> pb::Purpose {
    pb::Purpose {
        profile_id: p.profile_id.clone(),
        purpose_id: p.id.clone(),
        display_name: p.display_name.clone(),
        kind: purpose_kind_to_pb(p.kind) as i32,
        enforcement: Channel::ALL
            .iter()
            .map(|c| pb::ChannelEnforcement {
                channel: channel_to_pb(*c) as i32,
                model: model_to_pb(p.model(*c)) as i32,
            })
            .collect(),
        active: p.active,
        create_time: Some(ts_from_secs(p.created_at)),
        update_time: Some(ts_from_secs(p.updated_at)),
    }
}

pub fn topic_from_pb(t: pb::Topic) -> ApiResult<Topic> {
    let pb::Topic { profile_id, purpose_id, topic_id, display_name, active: _, create_time: _, update_time: _ } = t;
    id("topic.profile_id", &profile_id)?;
    id("topic.purpose_id", &purpose_id)?;
    id("topic.topic_id", &topic_id)?;
    text("topic.display_name", &display_name, Limits::TEXT_BYTES_MAX)?;
    Ok(Topic { profile_id, purpose_id, id: topic_id, display_name, active: true, no: 0, created_at: 0, updated_at: 0 })
}

pub fn topic_to_pb(t: &Topic) -> pb::Topic {
    pb::Topic {
        profile_id: t.profile_id.clone(),
        purpose_id: t.purpose_id.clone(),
        topic_id: t.id.clone(),
        display_name: t.display_name.clone(),
        active: t.active,
        create_time: Some(ts_from_secs(t.created_at)),
        update_time: Some(ts_from_secs(t.updated_at)),
    }
}

// ---- API keys ----------------------------------------------------------------------

pub fn scope(field: &str, n: i32) -> ApiResult<Scope> {
    match pb::ApiKeyScope::try_from(n) {
        Ok(pb::ApiKeyScope::Check) => Ok(Scope::Check),
        Ok(pb::ApiKeyScope::Write) => Ok(Scope::Write),
        Ok(pb::ApiKeyScope::Admin) => Ok(Scope::Admin),
        Ok(pb::ApiKeyScope::Unspecified) | Err(_) => Err(ApiError::invalid(field, &n.to_string(), "unknown scope")),
    }
}

pub fn scope_to_pb(s: Scope) -> pb::ApiKeyScope {
    match s {
        Scope::Check => pb::ApiKeyScope::Check,
        Scope::Write => pb::ApiKeyScope::Write,
        Scope::Admin => pb::ApiKeyScope::Admin,
    }
}

/// An API key as the API shows it: never the secret or its hash.
pub fn api_key_to_pb(k: &ApiKey) -> pb::ApiKey {
    pb::ApiKey {
        key_id: k.key_id.clone(),
        description: k.description.clone(),
        scopes: k.scopes.iter().map(|s| scope_to_pb(*s) as i32).collect(),
        profile_ids: k.profile_ids.clone(),
        revoked: k.revoked,
        create_time: Some(ts_from_secs(k.created_at)),
        expire_time: k.expires_at.map(ts_from_secs),
    }
}

/// Paths a field mask may name, checked against the allowed list.
pub fn mask_paths(mask: Option<prost_types::FieldMask>, allowed: &[&str]) -> ApiResult<Vec<String>> {
    let paths = mask.map(|m| m.paths).unwrap_or_default();
    // Each updatable field once: a mask of millions of paths is refused by its count.
    if paths.len() > allowed.len() {
        return Err(ApiError::invalid_field(
            "update_mask.paths",
            format!("at most {} paths, one per updatable field", allowed.len()),
        ));
    }
    for p in &paths {
        if !allowed.contains(&p.as_str()) {
            return Err(ApiError::invalid("update_mask", p, format!("updatable fields are {}", allowed.join(", "))));
        }
    }
    Ok(if paths.is_empty() { allowed.iter().map(|s| (*s).to_owned()).collect() } else { paths })
}
