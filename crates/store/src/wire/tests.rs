use prost::Message;

use super::{LogKey, Sealed, VERSION, VERSION_SINGLE, WireEntry, WireError, open, open_record, seal, seal_record};
use crate::codec::ContactKey;
use crate::model::{
    Confirmation, ConsentChange, ContactRef, Idempotency, LifeChange, LifeEvent, Proof, Source, SuppressionChange,
};
use crate::model::{Expect, WebhookDef, WebhookOp, WebhookSecret};
use crate::op::{BatchItem, Entry, Op, SigningKeyKind};
use crate::token::TokenClaims;
use crate::view::{ApiKey, Scope};
use consentd_core::decision::{
    Channel, DoubleOptInMode, Profile, Purpose, PurposeKind, Status, Subject, SuppressionKind, Topic,
};

fn key() -> LogKey {
    LogKey::new([7; 8], [9; 32])
}

fn contact() -> ContactRef {
    ContactRef { profile_id: "acme".into(), channel: Channel::Email, contact_point: "jan@example.nl".into() }
}

fn entry(op: Op) -> Entry {
    Entry { origin: "a/00000000000000ff".into(), request: 42, at_us: 1_700_000_000_000_000, token_id: [3; 16], op }
}

/// One entry of every kind, with every optional field set.
fn every_kind() -> Vec<(&'static str, Entry)> {
    let consent = ConsentChange {
        contact: contact(),
        purpose_id: "news".into(),
        topic_id: "events".into(),
        subject: Subject { purpose: 3, topic: 5 },
        status: Status::OptedOut,
        occurred_at_us: 1_699_999_999_000_000,
        source: Source::OneClickUnsubscribe,
        actor: "edge".into(),
        reason: "clicked".into(),
        proof: Some(Proof {
            ip_address: "192.0.2.1".into(),
            user_agent: "ua".into(),
            notice_id: "n".into(),
            notice_version: "2".into(),
            notice_hash: "h".into(),
            notice_text: "t".into(),
        }),
        expires_at: Some(1_800_000_000),
        double_opt_in: DoubleOptInMode::EveryOptIn,
        confirmation_validity_secs: 86_400,
        idempotency: Some(Idempotency { key_hash: [1; 32], content_hash: [2; 32] }),
    };
    let suppression = SuppressionChange {
        contact: contact(),
        kind: SuppressionKind::SpamComplaint,
        add: true,
        occurred_at_us: 5,
        source: Source::Api,
        actor: "gw".into(),
        reason: "complaint".into(),
    };
    let confirmation = Confirmation {
        token: "tok".into(),
        ip_address: "192.0.2.2".into(),
        user_agent: "ua2".into(),
        occurred_at_us: 6,
        actor: "edge".into(),
    };
    let claims = TokenClaims {
        contact: ContactKey([4; 16]),
        subject: Subject { purpose: 3, topic: 0 },
        token_id: [5; 16],
        expires_at: 99,
    };
    let mut profile = Profile::new("acme");
    profile.default_region = Some("NL".into());
    profile.extra_stop_keywords = vec!["HALT".into()];
    let mut purpose = Purpose::new("acme", "news", PurposeKind::Commercial, 3);
    purpose.display_name = "News".into();
    let topic = Topic {
        profile_id: "acme".into(),
        purpose_id: "news".into(),
        id: "events".into(),
        display_name: "Events".into(),
        active: true,
        no: 5,
        created_at: 1,
        updated_at: 2,
    };
    let api_key = ApiKey {
        key_id: "k1".into(),
        description: "ops".into(),
        secret_hash: vec![8; 32],
        scopes: vec![Scope::Check, Scope::Write],
        profile_ids: vec!["acme".into()],
        revoked: false,
        created_at: 10,
        expires_at: Some(20),
    };
    let batch = Op::Batch(vec![
        BatchItem { token_id: [4; 16], op: Op::Consent(consent.clone()) },
        BatchItem { token_id: [5; 16], op: Op::Suppression(suppression.clone()) },
        BatchItem { token_id: [6; 16], op: Op::Confirm(confirmation.clone(), claims) },
    ]);
    vec![
        ("consent", entry(Op::Consent(consent))),
        ("suppression", entry(Op::Suppression(suppression))),
        ("confirm", entry(Op::Confirm(confirmation, claims))),
        ("profile", entry(Op::Profile { profile, create: true })),
        ("purpose", entry(Op::Purpose { purpose, create: false })),
        ("topic", entry(Op::Topic { topic, create: true })),
        ("api_key", entry(Op::ApiKey(api_key))),
        (
            "webhook_put",
            entry(Op::Webhook(WebhookOp::Put {
                def: Box::new(WebhookDef {
                    webhook_id: "wh_1".into(),
                    url: "https://crm.example.com/h".into(),
                    profile_ids: vec!["acme".into()],
                    event_kinds: vec![1, 2],
                    personal_data: true,
                    generation: 3,
                    resume_from: Some(7),
                    resume_generation: 3,
                    sealed_secrets: vec![9; 40],
                    ..Default::default()
                }),
                expect: Expect::Generation(2),
            })),
        ),
        ("webhook_delete", entry(Op::Webhook(WebhookOp::Delete { webhook_id: "wh_1".into() }))),
        ("batch", entry(batch)),
        ("rotate_key", entry(Op::RotateKey(SigningKeyKind::Receipt))),
        ("erase", entry(Op::Life(life(LifeEvent::Erase)))),
        ("reassign", entry(Op::Life(life(LifeEvent::Reassign { at_us: 1_764_633_599_999_999 })))),
    ]
}

fn life(event: LifeEvent) -> LifeChange {
    LifeChange {
        profile_id: "acme".into(),
        channel: Channel::Sms,
        key: ContactKey([9; 16]),
        event,
        source: Source::Import,
        actor: "ops".into(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn same(a: &Entry, b: &Entry) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

#[test]
fn every_kind_of_entry_comes_back_as_it_was_sealed() {
    for (kind, e) in every_kind() {
        let sealed = seal(&e, "a/1", &key());
        let opened = open(&sealed, "a/1", &[key()]).unwrap_or_else(|err| panic!("{kind}: {err}"));
        assert!(same(&opened, &e), "{kind}: {opened:?} != {e:?}");
    }
}

/// The bytes nodes exchange, fixed per entry kind: a change to the encoding (a renamed
/// field, a new tag, another number for an enum) fails here, and must come with a new
/// `VERSION` instead. Printed by `CONSENTD_PRINT_GOLDEN=1 cargo test --lib wire`.
#[test]
fn golden_bytes_per_entry_kind() {
    let golden: &[(&str, &str)] = &GOLDEN;
    let print = std::env::var_os("CONSENTD_PRINT_GOLDEN").is_some();
    for (kind, e) in every_kind() {
        let bytes = hex(&seal(&e, "a/1", &key()));
        if print {
            println!("(\"{kind}\", \"{bytes}\"),");
            continue;
        }
        let expected = golden.iter().find(|(k, _)| *k == kind).map(|(_, b)| *b);
        assert_eq!(Some(bytes.as_str()), expected, "{kind}: the wire encoding changed");
        // And the golden bytes still open to the same entry.
        let raw: Vec<u8> =
            (0..bytes.len()).step_by(2).map(|i| u8::from_str_radix(&bytes[i..i + 2], 16).unwrap_or_default()).collect();
        assert!(same(&open(&raw, "a/1", &[key()]).unwrap_or_else(|err| panic!("{kind}: {err}")), &e));
    }
}

#[test]
fn a_webhook_entry_with_its_secrets_in_the_clear_is_invalid() {
    let def = WebhookDef {
        webhook_id: "wh_1".into(),
        secrets: vec![WebhookSecret { key: vec![1; 32], not_after: None }],
        ..Default::default()
    };
    let e = entry(Op::Webhook(WebhookOp::Put { def: Box::new(def), expect: Expect::Absent }));
    let opened = open(&seal(&e, "a/1", &key()), "a/1", &[key()]);
    assert!(matches!(&opened, Err(WireError::Invalid(why)) if why.contains("in the clear")), "{opened:?}");
}

#[test]
fn a_record_opens_only_under_its_label_and_name_with_the_key() {
    let sealed = seal_record("lease", "wh_1", b"body".to_vec(), &key());
    assert_eq!(open_record("lease", "wh_1", &sealed, &[key()]).as_deref(), Ok(b"body".as_slice()));
    assert!(matches!(open_record("lease", "wh_2", &sealed, &[key()]), Err(WireError::Unauthentic(_))));
    assert!(matches!(open_record("other", "wh_1", &sealed, &[key()]), Err(WireError::Unauthentic(_))));
    // Nor as a log entry under the same name.
    assert!(matches!(open(&sealed, "wh_1", &[key()]), Err(WireError::Unauthentic(_))));
    let mut flipped = sealed.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(open_record("lease", "wh_1", &flipped, &[key()]).is_err());
}

#[test]
fn a_changed_byte_anywhere_is_not_authentic() {
    let e = &every_kind()[0].1;
    let sealed = seal(e, "a/1", &key());
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        match open(&bad, "a/1", &[key()]) {
            Err(WireError::Unauthentic(_)) => {}
            other => panic!("byte {i} flipped: {other:?}"),
        }
    }
}

#[test]
fn another_message_id_another_key_or_garbage_is_not_authentic() {
    let e = &every_kind()[0].1;
    let sealed = seal(e, "a/1", &key());
    let unauthentic = |r: Result<Entry, WireError>| matches!(r, Err(WireError::Unauthentic(_)));
    assert!(unauthentic(open(&sealed, "a/2", &[key()])), "replayed under a new message id");
    assert!(unauthentic(open(&sealed, "", &[key()])), "published without a message id");
    let other = LogKey::new([7; 8], [10; 32]);
    assert!(unauthentic(open(&sealed, "a/1", &[other])), "same key id, another key");
    assert!(unauthentic(open(&sealed, "a/1", &[LogKey::new([1; 8], [9; 32])])), "a key id this node lacks");
    assert!(unauthentic(open(b"\x00garbage", "a/1", &[key()])));
    assert!(unauthentic(open(&[], "a/1", &[key()])));
    // JSON of the old format is garbage to this one.
    assert!(unauthentic(open(br#"{"origin":"a","request":1}"#, "a/1", &[key()])));
}

#[test]
fn an_authentic_entry_of_an_unknown_version_is_told_apart() {
    let e = &every_kind()[0].1;
    let body = WireEntry::from(e).encode_to_vec();
    let version = VERSION + 1;
    let mac = key().tag("a/1", version, &body).to_vec();
    let sealed = Sealed { version, key_id: key().id.to_vec(), entry: body, mac }.encode_to_vec();
    assert_eq!(open(&sealed, "a/1", &[key()]).err(), Some(WireError::UnknownVersion(version)));
}

#[test]
fn an_authentic_envelope_around_an_invalid_entry_is_invalid() {
    let mut wire = WireEntry::from(&every_kind()[0].1);
    wire.token_id = vec![1; 3];
    let body = wire.encode_to_vec();
    let mac = key().tag("a/1", VERSION, &body).to_vec();
    let sealed = Sealed { version: VERSION, key_id: key().id.to_vec(), entry: body, mac }.encode_to_vec();
    assert!(matches!(open(&sealed, "a/1", &[key()]), Err(WireError::Invalid(_))));
    let empty = WireEntry { op: None, ..WireEntry::from(&every_kind()[0].1) }.encode_to_vec();
    let mac = key().tag("a/1", VERSION, &empty).to_vec();
    let sealed = Sealed { version: VERSION, key_id: key().id.to_vec(), entry: empty, mac }.encode_to_vec();
    assert!(matches!(open(&sealed, "a/1", &[key()]), Err(WireError::Invalid(_))));
}

/// A batch is version 2; one change stays version 1, as the previous release wrote it.
#[test]
fn a_batch_is_sealed_as_version_2_and_one_change_as_version_1() {
    for (kind, e) in every_kind() {
        let sealed = Sealed::decode(seal(&e, "a/1", &key()).as_slice()).expect("envelope");
        let want = if ["batch", "rotate_key", "erase", "reassign"].contains(&kind) { VERSION } else { VERSION_SINGLE };
        assert_eq!(sealed.version, want, "{kind}");
    }
}

/// What a node of the previous release skips as a change-less entry, this one skips too;
/// and a batch holds only consent, suppression and confirmation changes, never nested.
#[test]
fn a_batch_in_version_1_an_empty_batch_and_a_batch_of_admin_changes_are_invalid() {
    let batch = every_kind().into_iter().find(|(k, _)| *k == "batch").map(|(_, e)| e).expect("batch");
    let sealed_as = |version: u32, e: &Entry| {
        let body = WireEntry::from(e).encode_to_vec();
        let mac = key().tag("a/1", version, &body).to_vec();
        Sealed { version, key_id: key().id.to_vec(), entry: body, mac }.encode_to_vec()
    };
    let invalid = |bytes: Vec<u8>| matches!(open(&bytes, "a/1", &[key()]), Err(WireError::Invalid(_)));
    assert!(invalid(sealed_as(VERSION_SINGLE, &batch)), "a batch in version 1");
    let rotation = entry(Op::RotateKey(SigningKeyKind::Link));
    assert!(invalid(sealed_as(VERSION_SINGLE, &rotation)), "a key rotation in version 1");
    assert!(open(&sealed_as(VERSION, &rotation), "a/1", &[key()]).is_ok());
    let erasure = entry(Op::Life(life(LifeEvent::Erase)));
    assert!(invalid(sealed_as(VERSION_SINGLE, &erasure)), "an erasure in version 1");
    let wrapped = entry(Op::Batch(vec![BatchItem { token_id: [1; 16], op: erasure.op.clone() }]));
    assert!(open(&sealed_as(VERSION, &wrapped), "a/1", &[key()]).is_ok(), "an erasure inside a batch");
    assert!(open(&sealed_as(VERSION, &batch), "a/1", &[key()]).is_ok());
    assert!(invalid(sealed_as(VERSION, &entry(Op::Batch(Vec::new())))), "an empty batch");
    for (kind, e) in every_kind() {
        let op = e.op;
        if op.batchable() {
            continue;
        }
        let wrapped = entry(Op::Batch(vec![BatchItem { token_id: [1; 16], op }]));
        assert!(invalid(sealed_as(VERSION, &wrapped)), "{kind} inside a batch");
    }
}

const GOLDEN: [(&str, &str); 13] = [
    (
        "consent",
        "0801120807070707070707071ae8010a12612f30303030303030303030303030306666102a188080f9c0c1c4820322100303030303030303030303030303030352b4010a160a0461636d651a0e6a616e406578616d706c652e6e6c12046e6577731a066576656e747320032805300238c0fbbbc0c1c4820340054a04656467655207636c69636b65645a1b0a093139322e302e322e31120275611a016e2201322a01683201746080a4a7da0668017080a3057a20010101010101010101010101010101010101010101010101010101010101010182012002020202020202020202020202020202020202020202020202020202020202022220049eeec86d796e0c002aee06154a58e951ae24583139e622a43e8d42d3b2dc03",
    ),
    (
        "suppression",
        "0801120807070707070707071a620a12612f30303030303030303030303030306666102a188080f9c0c1c482032210030303030303030303030303030303035a2f0a160a0461636d651a0e6a616e406578616d706c652e6e6c1001180120052807320267773a09636f6d706c61696e742220f42e5ce63701c70a41d818f710897a7e001f243a2405fcbe48f52c0288554208",
    ),
    (
        "confirm",
        "0801120807070707070707071a780a12612f30303030303030303030303030306666102a188080f9c0c1c4820322100303030303030303030303030303030362450a03746f6b12093139322e302e322e321a0375613220062a046564676532100404040404040404040404040404040438034a1005050505050505050505050505050505506322209e9fc3c0f8ae8c94a4fc5774b6ea2cd92f54f40f8309ebe17082ad9fb1eec54a",
    ),
    (
        "profile",
        "0801120807070707070707071a560a12612f30303030303030303030303030306666102a188080f9c0c1c482032210030303030303030303030303030303036a230a1f0a0461636d651a024e4c22060000000000002880d49301320448414c5440011001222076c470973ae446a09131224c83fdb65319cc12293610852b29d989fc5a2ce278",
    ),
    (
        "purpose",
        "0801120807070707070707071a530a12612f30303030303030303030303030306666102a188080f9c0c1c4820322100303030303030303030303030303030372200a1e0a0461636d6512046e6577731a044e6577732a06000000000000300138032220134722fb8804f1d118056b88eacab0b2ac2a1982ccf5b6c4572eba2d5ffd7ffb",
    ),
    (
        "topic",
        "0801120807070707070707071a5b0a12612f30303030303030303030303030306666102a188080f9c0c1c482032210030303030303030303030303030303037a280a240a0461636d6512046e6577731a066576656e747322064576656e74732801300538014002100122205ce4a8109de927799c4b01a7fbf7feb9bd92dec1046d58fa6382d4d5184e6a8d",
    ),
    (
        "api_key",
        "0801120807070707070707071a6d0a12612f30303030303030303030303030306666102a188080f9c0c1c482032210030303030303030303030303030303038201390a026b3112036f70731a200808080808080808080808080808080808080808080808080808080808080808220201022a0461636d65380a401422201595bc6933988c8f846e0fafefa00e90ff5b6b057f4ff0970c7447f92dc9a0d1",
    ),
    (
        "webhook_put",
        "0801120807070707070707071a95010a12612f30303030303030303030303030306666102a188080f9c0c1c482032210030303030303030303030303030303038a01610a5d0a0477685f31121968747470733a2f2f63726d2e6578616d706c652e636f6d2f681a0461636d652202010228016003680770037a2809090909090909090909090909090909090909090909090909090909090909090909090909090909100222207b9879901fd198dbd23dec0cfb2b6e19df0691fa7d593855ff02c364a036b3a1",
    ),
    (
        "webhook_delete",
        "0801120807070707070707071a3a0a12612f30303030303030303030303030306666102a188080f9c0c1c482032210030303030303030303030303030303039201060a0477685f31222057c5d562dbc3c5085f3122fb5099d94ca53d0df34786427b422b717bd91b4553",
    ),
    (
        "batch",
        "0802120807070707070707071aa1030a12612f30303030303030303030303030306666102a188080f9c0c1c482032210030303030303030303030303030303039a01ec020ac90122100404040404040404040404040404040452b4010a160a0461636d651a0e6a616e406578616d706c652e6e6c12046e6577731a066576656e747320032805300238c0fbbbc0c1c4820340054a04656467655207636c69636b65645a1b0a093139322e302e322e31120275611a016e2201322a01683201746080a4a7da0668017080a3057a20010101010101010101010101010101010101010101010101010101010101010182012002020202020202020202020202020202020202020202020202020202020202020a432210050505050505050505050505050505055a2f0a160a0461636d651a0e6a616e406578616d706c652e6e6c1001180120052807320267773a09636f6d706c61696e740a5922100606060606060606060606060606060662450a03746f6b12093139322e302e322e321a0375613220062a046564676532100404040404040404040404040404040438034a1005050505050505050505050505050505506322202f78feb1f0b867859da087e9b6e98c43fc648594b3fa7e96d34a39c197062413",
    ),
    (
        "rotate_key",
        "0802120807070707070707071a360a12612f30303030303030303030303030306666102a188080f9c0c1c48203221003030303030303030303030303030303a20102080222208949a52b138c8bc875e33f8172a3173dec7df774f03c71068f1a5ce376013a29",
    ),
    (
        "erase",
        "0802120807070707070707071a550a12612f30303030303030303030303030306666102a188080f9c0c1c48203221003030303030303030303030303030303aa01210a0461636d6510011a1009090909090909090909090909090909280332036f7073222005639dc6b2001a7b08ea30b73445a75cb8fefab0e7529e9231fd9642e8a9d67b",
    ),
    (
        "reassign",
        "0802120807070707070707071a5e0a12612f30303030303030303030303030306666102a188080f9c0c1c48203221003030303030303030303030303030303aa012a0a0461636d6510011a100909090909090909090909090909090920ffff8bb7cc9d9103280332036f707322209a1059c0fefed8afd3f46bee464ffaa2b2976acafffe8ae3b41a59835b8c1ab5",
    ),
];
