//! `CheckStream`'s packed form (recipients as lines, answers as one byte each) against the
//! listed form, on random batches over a real server: the same answers, item for item.

use std::sync::Arc;

use consentd::api::pb;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::support::*;

/// The addresses written before the batches (opted in, opted out, suppressed, nothing).
const POOL: [&str; 6] = [
    "in@example.com",
    "out@example.com",
    "gone@example.com",
    "never@example.com",
    "Mixed.Case@Example.COM",
    "+31612345678",
];

/// One batch's answers as (decision, reason, suppression kind) per item.
async fn answers(decision: &mut Decision, items: &[String], packed_in: bool, packed_out: bool) -> Vec<(i32, i32, i32)> {
    let mut req = pb::CheckStreamRequest {
        batch_id: 1,
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        purpose_id: "newsletter".into(),
        packed_answers: packed_out,
        ..Default::default()
    };
    if packed_in {
        req.contact_points_packed =
            consentd_client::packed::pack(items.iter().map(String::as_str)).expect("no line feeds");
    } else {
        req.contact_points = items.to_vec();
    }
    let mut out = decision.check_stream(tokio_stream::iter(vec![req])).await.expect("check stream").into_inner();
    let a = out.message().await.expect("answer").expect("one answer");
    let kinds: std::collections::HashMap<u32, i32> = a.suppressed.iter().map(|s| (s.index, s.kind)).collect();
    let pairs: Vec<(i32, i32)> = if packed_out {
        assert!(a.decisions.is_empty() && a.reasons.is_empty(), "both forms of answer");
        a.outcomes.iter().map(|b| consentd_client::packed::answer(*b)).collect()
    } else {
        assert!(a.outcomes.is_empty());
        a.decisions.iter().copied().zip(a.reasons.iter().copied()).collect()
    };
    assert_eq!(pairs.len(), items.len(), "one answer per recipient");
    pairs.into_iter().enumerate().map(|(i, (d, r))| (d, r, kinds.get(&(i as u32)).copied().unwrap_or(0))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_packed_and_listed_forms_answer_alike_on_random_batches() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    set(&mut consent, change("in@example.com", "newsletter", "", pb::ConsentStatus::OptedIn)).await;
    set(&mut consent, change("out@example.com", "newsletter", "", pb::ConsentStatus::OptedOut)).await;
    consent
        .add_suppression(pb::AddSuppressionRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "gone@example.com".into(),
            kind: pb::SuppressionKind::HardBounce as i32,
            ..Default::default()
        })
        .await
        .expect("suppress");
    let decision = Arc::new(tokio::sync::Mutex::new(server.decision(None).await));
    let item = prop_oneof![
        4 => proptest::sample::select(POOL.to_vec()).prop_map(str::to_owned),
        // Anything else on one line: unknown, invalid, empty, non-ASCII.
        2 => "[^\n]{0,40}",
        1 => Just(String::new()),
    ];
    let mut runner = TestRunner::new(Config { cases: 64, ..Config::default() });
    let handle = tokio::runtime::Handle::current();
    let result = runner.run(&proptest::collection::vec(item, 0..300), |items| {
        let decision = Arc::clone(&decision);
        let (listed, packed, mixed) = tokio::task::block_in_place(|| {
            handle.block_on(async move {
                let mut d = decision.lock().await;
                let listed = answers(&mut d, &items, false, false).await;
                let packed = answers(&mut d, &items, true, true).await;
                let mixed = answers(&mut d, &items, true, false).await;
                (listed, packed, mixed)
            })
        });
        prop_assert_eq!(&listed, &packed);
        prop_assert_eq!(&listed, &mixed);
        Ok(())
    });
    result.unwrap_or_else(|e| panic!("{e}"));
    // A batch in both forms, and one that is not UTF-8, are refused naming the field.
    let mut d = decision.lock().await;
    for (listed, packed) in
        [(vec!["a@example.com".to_owned()], b"b@example.com\n".to_vec()), (vec![], b"\xff\n".to_vec())]
    {
        let req = pb::CheckStreamRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            purpose_id: "newsletter".into(),
            contact_points: listed,
            contact_points_packed: packed,
            ..Default::default()
        };
        let status = match d.check_stream(tokio_stream::iter(vec![req])).await {
            Err(s) => s,
            Ok(r) => r.into_inner().message().await.expect_err("refused"),
        };
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains("contact_points_packed"), "{status:?}");
    }
    drop(d);
    server.stop().await;
}
