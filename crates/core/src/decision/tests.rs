//! The decision corpus runner and property tests.
//!
//! Corpus files live in `tests/corpus/*.json`: a catalog, then cases of (state, request,
//! expected decision and reason, or expected request error). Every case goes through the
//! same steps a server request does: [`Catalog::resolve`], then [`check`]. The runner
//! fails naming the file and the case, and fails if any row of the rules or any listed
//! consequence has no case.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde::Deserialize;

use super::*;
use crate::contact;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CorpusFile {
    #[expect(dead_code, reason = "documentation for the reader of the file")]
    description: String,
    profile: ProfileSpec,
    purposes: Vec<PurposeSpec>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileSpec {
    id: String,
    default_region: Option<String>,
    #[serde(default)]
    inactive_purposes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PurposeSpec {
    id: String,
    kind: String,
    #[serde(default)]
    models: HashMap<String, String>,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    inactive_topics: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    tags: Vec<String>,
    now: i64,
    #[serde(default)]
    state: Option<StateSpec>,
    request: RequestSpec,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateSpec {
    contact_point: Option<String>,
    #[serde(default)]
    suppressions: Vec<String>,
    #[serde(default)]
    records: Vec<RecordSpec>,
    /// The number's reassignment date (seconds), compared with each record's `occurred_at`.
    reassigned_at: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordSpec {
    purpose: String,
    topic: Option<String>,
    status: String,
    expires_at: Option<i64>,
    /// When the change that set it occurred (seconds); only read against `reassigned_at`.
    occurred_at: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestSpec {
    profile: Option<String>,
    channel: String,
    contact_point: String,
    purpose: String,
    #[serde(default)]
    topic: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    decision: Option<String>,
    reason: Option<String>,
    suppression: Option<String>,
    error: Option<String>,
}

/// The state of one contact point, keyed by its normalized form.
struct OneContact {
    key: Option<(String, Channel, String)>,
    state: ContactState,
}

impl StateSource for OneContact {
    /// Whether the name is the one contact this source knows.
    type Key = bool;

    fn key(&self, profile: &str, channel: Channel, contact_point: &str) -> bool {
        matches!(&self.key, Some((p, c, cp)) if p == profile && *c == channel && cp == contact_point)
    }

    fn with_key<R>(&self, known: &bool, f: impl FnOnce(Option<&ContactState>) -> R) -> R {
        if *known { f(Some(&self.state)) } else { f(None) }
    }
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

fn build_catalog(file: &CorpusFile) -> Result<Catalog, String> {
    let mut catalog = Catalog::default();
    let mut profile = Profile::new(&file.profile.id);
    profile.default_region = file.profile.default_region.clone();
    catalog.insert_profile(profile);
    let mut topic_no: TopicNo = 0;
    for (i, spec) in file.purposes.iter().enumerate() {
        let kind = PurposeKind::parse(&spec.kind).ok_or(format!("bad kind {}", spec.kind))?;
        let no = PurposeNo::try_from(i + 1).map_err(|e| e.to_string())?;
        let mut purpose = Purpose::new(&file.profile.id, &spec.id, kind, no);
        for (channel, model) in &spec.models {
            let ch = Channel::parse(channel).ok_or(format!("bad channel {channel}"))?;
            purpose.models[ch.index()] = EnforcementModel::parse(model).ok_or(format!("bad model {model}"))?;
        }
        purpose.active = !file.profile.inactive_purposes.contains(&spec.id);
        catalog.insert_purpose(purpose);
        for t in spec.topics.iter().chain(&spec.inactive_topics) {
            topic_no += 1;
            catalog.insert_topic(Topic {
                profile_id: file.profile.id.clone(),
                purpose_id: spec.id.clone(),
                id: t.clone(),
                display_name: String::new(),
                active: !spec.inactive_topics.contains(t),
                no: topic_no,
                created_at: 0,
                updated_at: 0,
            });
        }
    }
    Ok(catalog)
}

fn build_state(catalog: &Catalog, profile: &Profile, case: &Case) -> Result<OneContact, String> {
    let Some(spec) = &case.state else {
        return Ok(OneContact { key: None, state: ContactState::default() });
    };
    let channel = Channel::parse(&case.request.channel).ok_or("bad channel")?;
    let raw = spec.contact_point.as_deref().unwrap_or(&case.request.contact_point);
    let key = contact::normalize(channel.contact_kind(), raw, profile.default_region.as_deref())
        .ok()
        .map(|n| (profile.id.clone(), channel, n.into_string()));
    let mut suppressions = Suppressions::NONE;
    for s in &spec.suppressions {
        suppressions = suppressions.with(SuppressionKind::parse(s).ok_or(format!("bad suppression {s}"))?);
    }
    let mut records = Vec::new();
    for r in &spec.records {
        let purpose = catalog.purpose(&profile.id, &r.purpose).ok_or(format!("unknown purpose {}", r.purpose))?;
        let topic = match &r.topic {
            None => 0,
            Some(t) => catalog.topic(&profile.id, &r.purpose, t).ok_or(format!("unknown topic {t}"))?.no,
        };
        let status = Status::parse(&r.status).ok_or(format!("bad status {}", r.status))?;
        let subject = Subject { purpose: purpose.no, topic };
        let record = Record { status, expires_at: r.expires_at };
        if spec.reassigned_at.is_some() && r.occurred_at.is_none() {
            return Err("a record of a reassigned number needs its occurred_at".to_owned());
        }
        records.extend(after_reassignment(subject, record, r.occurred_at.unwrap_or(0), spec.reassigned_at));
    }
    Ok(OneContact { key, state: ContactState::from_packed(suppressions, records) })
}

/// What the case produced, in the corpus's vocabulary.
fn run_case(catalog: &Catalog, file_profile: &str, case: &Case) -> Result<Expect, String> {
    let req = &case.request;
    let profile_id = req.profile.as_deref().unwrap_or(file_profile);
    let channel = Channel::parse(&req.channel).ok_or(format!("bad channel {}", req.channel))?;
    let resolved = match catalog.resolve(profile_id, &req.purpose, &req.topic) {
        Ok(r) => r,
        Err(e) => {
            return Ok(Expect { decision: None, reason: None, suppression: None, error: Some(e.field().to_owned()) });
        }
    };
    let source = build_state(catalog, resolved.profile, case)?;
    let decision = check(&Target::new(&resolved, channel), &req.contact_point, &source, case.now);
    Ok(Expect {
        decision: Some(match decision.outcome() {
            Outcome::Send => "send".to_owned(),
            Outcome::Block => "block".to_owned(),
        }),
        reason: Some(decision.reason.as_str().to_owned()),
        suppression: decision.suppression.map(|k| k.as_str().to_owned()),
        error: None,
    })
}

/// Tags that must each have at least one case.
const REQUIRED_TAGS: &[&str] = &[
    "row-1",
    "row-2",
    "row-3",
    "row-4",
    "row-5",
    "row-6",
    "row-7",
    "row-8",
    "row-9",
    "row-10",
    "row-11",
    "row-12",
    "purpose-opt-out-blocks-topics",
    "restrictive-topic-needs-both",
    "non-restrictive-nothing-sends",
    "pending-never-consent",
    "expired-non-restrictive-sends",
    "opt-out-never-expires",
    "expired-pending-not-set",
    "erased",
    "reassigned",
    "moved",
];

#[test]
fn decision_corpus() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    assert!(!files.is_empty(), "no corpus files in {}", corpus_dir().display());

    let mut failures = Vec::new();
    let mut seen_tags = BTreeSet::new();
    let mut cases = 0;
    for path in &files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let file: CorpusFile = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let catalog = build_catalog(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
        for case in &file.cases {
            cases += 1;
            seen_tags.extend(case.tags.iter().cloned());
            match run_case(&catalog, &file.profile.id, case) {
                Err(e) => failures.push(format!("{name} [{}] {}: bad case: {e}", case.tags.join(","), case.name)),
                Ok(got) => {
                    let want = &case.expect;
                    let suppression_ok = want.suppression.is_none() || want.suppression == got.suppression;
                    if got.decision != want.decision
                        || got.reason != want.reason
                        || got.error != want.error
                        || !suppression_ok
                    {
                        failures.push(format!(
                            "{name} [{}] {}: want decision={:?} reason={:?} suppression={:?} error={:?}, got decision={:?} reason={:?} suppression={:?} error={:?}",
                            case.tags.join(","),
                            case.name,
                            want.decision,
                            want.reason,
                            want.suppression,
                            want.error,
                            got.decision,
                            got.reason,
                            got.suppression,
                            got.error
                        ));
                    }
                }
            }
        }
    }
    let missing: Vec<_> = REQUIRED_TAGS.iter().filter(|t| !seen_tags.contains(**t)).collect();
    assert!(missing.is_empty(), "rules without a corpus case: {missing:?}");
    assert!(failures.is_empty(), "{} of {cases} corpus cases failed:\n{}", failures.len(), failures.join("\n"));
    println!("decision corpus: {cases} cases in {} files passed", files.len());
}

#[test]
fn contact_state_keeps_records_in_every_representation() {
    let r = |status, expires_at| Record { status, expires_at };
    let cases: Vec<Vec<(Subject, Record)>> = vec![
        vec![],
        vec![(Subject::purpose(1), r(Status::OptedIn, None))],
        vec![
            (Subject::purpose(1), r(Status::OptedIn, None)),
            (Subject { purpose: 1, topic: 3 }, r(Status::OptedOut, None)),
        ],
        vec![(Subject::purpose(2), r(Status::Pending, Some(1_800_000_000)))],
        vec![
            (Subject::purpose(2), r(Status::Pending, Some(1_800_000_000))),
            (Subject::purpose(1), r(Status::OptedIn, None)),
        ],
        vec![
            (Subject::purpose(2), r(Status::Pending, Some(1_800_000_000))),
            (Subject::purpose(1), r(Status::OptedIn, Some(1_900_000_000))),
        ],
        (1..6).map(|p| (Subject::purpose(p), r(Status::OptedIn, None))).collect(),
    ];
    for records in cases {
        let mut state = ContactState::new(Suppressions::NONE, records.clone());
        for (s, rec) in &records {
            assert_eq!(state.get(*s), Some(*rec), "{records:?}");
        }
        assert_eq!(state.get(Subject::purpose(99)), None);
        assert_eq!(state.to_packed().len(), records.len());
        // Removing every record one by one ends empty, through every representation.
        for (s, _) in &records {
            state.set(*s, None);
            assert_eq!(state.get(*s), None);
        }
        assert!(state.is_empty());
    }
}

#[test]
fn reason_index_is_its_position() {
    for (i, r) in Reason::ALL.iter().enumerate() {
        assert_eq!(r.index(), i);
    }
}

#[test]
fn packed_record_round_trips() {
    let subject = Subject { purpose: Subject::PURPOSE_NO_MAX, topic: u16::MAX };
    for status in [Status::OptedIn, Status::OptedOut, Status::Pending] {
        for expires_at in [None, Some(946_684_800), Some(1_767_225_600), Some(5_000_000_000)] {
            let rec = Record { status, expires_at };
            let packed = PackedRecord::new(subject, rec);
            assert_eq!(packed.subject(), subject);
            assert_eq!(packed.record(), rec);
        }
    }
    // Out-of-range expiries clamp to the same side of any `now` in range.
    let early = PackedRecord::new(subject, Record { status: Status::OptedIn, expires_at: Some(0) }).record();
    assert!(early.expires_at.is_some_and(|t| t <= 946_684_800));
    assert_eq!(std::mem::size_of::<PackedRecord>(), 8);
    // The hot index's value stays at 16 bytes whatever its representation.
    assert_eq!(std::mem::size_of::<ContactState>(), 16);
}

fn arb_record() -> impl Strategy<Value = Option<Record>> {
    prop_oneof![
        Just(None),
        (
            prop_oneof![Just(Status::OptedIn), Just(Status::OptedOut), Just(Status::Pending)],
            proptest::option::of(1_700_000_000i64..1_800_000_000)
        )
            .prop_map(|(status, expires_at)| Some(Record { status, expires_at })),
    ]
}

fn arb_model() -> impl Strategy<Value = EnforcementModel> {
    prop_oneof![
        Just(EnforcementModel::Restrictive),
        Just(EnforcementModel::NonRestrictive),
        Just(EnforcementModel::Disabled)
    ]
}

fn arb_state() -> impl Strategy<Value = (u8, Option<Record>, Option<Record>, bool)> {
    (0u8..16, arb_record(), arb_record(), any::<bool>())
}

fn make_state(bits: u8, purpose: Option<Record>, topic: Option<Record>) -> ContactState {
    let mut s = ContactState::new(Suppressions::from_bits(bits), std::iter::empty());
    s.set(Subject::purpose(1), purpose);
    s.set(Subject { purpose: 1, topic: 7 }, topic);
    s
}

proptest! {
    #[test]
    fn opt_out_or_suppression_always_blocks_unless_disabled(
        model in arb_model(), (bits, purpose, topic, with_topic) in arb_state(), now in 1_700_000_000i64..1_800_000_000,
    ) {
        let state = make_state(bits, purpose, topic);
        let subject = Subject { purpose: 1, topic: if with_topic { 7 } else { 0 } };
        let d = decide(model, Some(&state), subject, now);
        let purpose_out = purpose.is_some_and(|r| r.status == Status::OptedOut);
        let topic_out = with_topic && topic.is_some_and(|r| r.status == Status::OptedOut);
        if model != EnforcementModel::Disabled && (bits != 0 || purpose_out || topic_out) {
            prop_assert_eq!(d.outcome(), Outcome::Block);
        }
        if model == EnforcementModel::Disabled {
            prop_assert_eq!(d.reason, Reason::ConsentNotRequired);
        }
    }

    #[test]
    fn pending_never_sends_under_restrictive(
        (bits, purpose, topic, with_topic) in arb_state(), now in 1_700_000_000i64..1_800_000_000,
    ) {
        let state = make_state(bits, purpose, topic);
        let subject = Subject { purpose: 1, topic: if with_topic { 7 } else { 0 } };
        let d = decide(EnforcementModel::Restrictive, Some(&state), subject, now);
        let purpose_pending = purpose.is_some_and(|r| r.status == Status::Pending);
        let topic_pending = with_topic && topic.is_some_and(|r| r.status == Status::Pending);
        if purpose_pending || topic_pending {
            prop_assert_eq!(d.outcome(), Outcome::Block);
        }
        if d.outcome() == Outcome::Send {
            // A send under restrictive always rests on current opt-ins.
            let current = |r: Option<Record>| r.is_some_and(|r| r.status == Status::OptedIn && r.expires_at.is_none_or(|t| t > now));
            prop_assert!(current(purpose));
            prop_assert!(!with_topic || current(topic));
        }
    }

    #[test]
    fn topic_never_overrides_purpose_opt_out(
        model in arb_model(), topic in arb_record(), expires_at in proptest::option::of(1_700_000_000i64..1_800_000_000),
        now in 1_700_000_000i64..1_800_000_000,
    ) {
        let state = make_state(0, Some(Record { status: Status::OptedOut, expires_at }), topic);
        let d = decide(model, Some(&state), Subject { purpose: 1, topic: 7 }, now);
        if model != EnforcementModel::Disabled {
            prop_assert_eq!(d.reason, Reason::PurposeOptedOut);
        }
    }

    #[test]
    fn same_input_same_output_and_reason_matches_outcome(
        model in arb_model(), (bits, purpose, topic, with_topic) in arb_state(), now in 1_700_000_000i64..1_800_000_000,
    ) {
        let state = make_state(bits, purpose, topic);
        let subject = Subject { purpose: 1, topic: if with_topic { 7 } else { 0 } };
        let a = decide(model, Some(&state), subject, now);
        let b = decide(model, Some(&state.clone()), subject, now);
        prop_assert_eq!(a, b);
        prop_assert_eq!(a.suppression.is_some(), a.reason == Reason::Suppressed);
        // An empty state and no state at all are the same thing.
        let empty = ContactState::default();
        prop_assert_eq!(decide(model, Some(&empty), subject, now), decide(model, None, subject, now));
    }
}

#[test]
fn each_channel_delivers_to_one_kind_of_contact_point() {
    use crate::contact::Kind;
    assert_eq!(Channel::Email.contact_kind(), Kind::Email);
    for phone in [Channel::Sms, Channel::Whatsapp, Channel::Voice] {
        assert_eq!(phone.contact_kind(), Kind::Phone);
    }
    for token in [Channel::Push, Channel::Custom] {
        assert_eq!(token.contact_kind(), Kind::Token);
    }
}
