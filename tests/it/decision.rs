//! DecisionService over a real socket: unary checks, batch streams, limits, disconnects
//! and slow readers.

use std::time::Duration;

use consentd::api::pb;
use consentd::api::pb::ConsentStatus::{OptedIn, OptedOut};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::support::*;

fn batch(id: u64, contact_points: Vec<String>) -> pb::CheckStreamRequest {
    pb::CheckStreamRequest {
        batch_id: id,
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        purpose_id: "newsletter".into(),
        topic_id: String::new(),
        contact_points,
        overrides: vec![],
        min_revision: 0,
        include_links: false,
        ..Default::default()
    }
}

#[tokio::test]
async fn unary_check_follows_the_rules_and_names_bad_fields() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let mut d = server.decision(None).await;

    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "jane@example.com", "newsletter", "").await),
        pb::Reason::NoOptIn
    );
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "jane@example.com", "invoices", "").await),
        pb::Reason::NotOptedOut
    );
    let r = set(&mut consent, change("Jane@Example.com ", "newsletter", "", OptedIn)).await;
    assert_eq!(r.outcome, pb::ChangeOutcome::Applied as i32);
    let c = check(&mut d, pb::Channel::Email, "JANE@example.com", "newsletter", "").await;
    assert_eq!((reason(&c), c.decision), (pb::Reason::OptedIn, pb::Decision::Send as i32));
    assert!(c.revision >= r.revision, "a check after a write reads at least its revision");
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "jane@example.com", "newsletter", "events").await),
        pb::Reason::NoTopicOptIn
    );
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "not-an-email", "newsletter", "").await),
        pb::Reason::InvalidContactPoint
    );
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Sms, "+31 6 123", "invoices", "").await),
        pb::Reason::InvalidContactPoint
    );

    let mut req = pb::CheckRequest {
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        contact_point: "jane@example.com".into(),
        purpose_id: "nope".into(),
        topic_id: String::new(),
        min_revision: 0,
        as_of: None,
        as_of_clock: 0,
    };
    let err = d.check(req.clone()).await.expect_err("unknown purpose");
    assert_eq!(bad_field(&err), "purpose_id");
    assert!(err.message().contains("`nope`"), "{}", err.message());
    req.purpose_id = "newsletter".into();
    req.topic_id = "reminders".into();
    assert_eq!(bad_field(&d.check(req.clone()).await.expect_err("unknown topic")), "topic_id");
    req.topic_id = String::new();
    req.profile_id = "other".into();
    assert_eq!(bad_field(&d.check(req.clone()).await.expect_err("unknown profile")), "profile_id");
    req.profile_id = "acme".into();
    req.channel = 0;
    assert_eq!(bad_field(&d.check(req.clone()).await.expect_err("no channel")), "channel");
    req.channel = pb::Channel::Email as i32;
    req.min_revision = 1_000_000;
    let err = d.check(req).await.expect_err("future revision");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    server.stop().await;
}

#[tokio::test]
async fn stream_answers_every_batch_in_order_with_per_item_reasons() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    set(&mut consent, change("a@example.com", "newsletter", "", OptedIn)).await;
    set(&mut consent, change("a@example.com", "newsletter", "events", OptedIn)).await;
    set(&mut consent, change("b@example.com", "newsletter", "", OptedOut)).await;
    let mut d = server.decision(None).await;

    let mut first = batch(
        7,
        vec![
            "a@example.com".into(),
            "b@example.com".into(),
            "bad@@x".into(),
            "c@example.com".into(),
            "A@EXAMPLE.COM".into(),
        ],
    );
    // Item 4 asks about the `events` topic, item 3 about the sms channel (an email is no phone number).
    first.overrides = vec![
        pb::ItemOverride { index: 4, channel: 0, topic_id: "discounts".into() },
        pb::ItemOverride { index: 0, channel: 0, topic_id: "events".into() },
        pb::ItemOverride { index: 3, channel: pb::Channel::Sms as i32, topic_id: String::new() },
    ];
    let second = batch(8, (0..3000).map(|i| format!("user{i}@example.com")).collect());
    let outbound = tokio_stream::iter(vec![first, second]);
    let mut inbound = d.check_stream(outbound).await.expect("stream").into_inner();

    let a1 = inbound.message().await.expect("ok").expect("first answer");
    assert_eq!(a1.batch_id, 7);
    let reasons: Vec<_> = a1.reasons.iter().map(|r| pb::Reason::try_from(*r).expect("reason")).collect();
    assert_eq!(
        reasons,
        vec![
            pb::Reason::OptedIn,
            pb::Reason::PurposeOptedOut,
            pb::Reason::InvalidContactPoint,
            pb::Reason::InvalidContactPoint,
            pb::Reason::NoTopicOptIn
        ]
    );
    let decisions: Vec<_> = a1.decisions.iter().map(|r| pb::Decision::try_from(*r).expect("decision")).collect();
    assert_eq!(decisions[0], pb::Decision::Send);
    assert!(decisions[1..].iter().all(|d| *d == pb::Decision::Block));
    let a2 = inbound.message().await.expect("ok").expect("second answer");
    assert_eq!((a2.batch_id, a2.reasons.len()), (8, 3000));
    assert!(a2.reasons.iter().all(|r| *r == pb::Reason::NoOptIn as i32));
    assert!(inbound.message().await.expect("clean end").is_none());
    server.stop().await;
}

#[tokio::test]
async fn stream_limits_and_unknown_names_end_the_stream_with_the_field() {
    let server = TestServer::start_with(|c| {
        c.limits.check_batch_items_max = 100;
        c.limits.message_bytes_max = 64 * 1024;
    })
    .await;
    seed(&mut server.admin(None).await, None).await;
    let mut d = server.decision(None).await;

    // Too many items: InvalidArgument naming `contact_points`, after the good batch is answered.
    let good = batch(1, vec!["a@example.com".into()]);
    let too_many = batch(2, (0..101).map(|i| format!("u{i}@example.com")).collect());
    let mut inbound = d.check_stream(tokio_stream::iter(vec![good, too_many])).await.expect("stream").into_inner();
    assert_eq!(inbound.message().await.expect("first").expect("answer").batch_id, 1);
    let err = inbound.message().await.expect_err("limit");
    assert_eq!(bad_field(&err), "contact_points");

    // Unknown topic in the batch defaults, and in an override.
    let mut bad_topic = batch(3, vec!["a@example.com".into()]);
    bad_topic.topic_id = "reminders".into();
    let mut inbound = d.check_stream(tokio_stream::iter(vec![bad_topic])).await.expect("stream").into_inner();
    assert_eq!(bad_field(&inbound.message().await.expect_err("topic")), "topic_id");
    let mut bad_override = batch(4, vec!["a@example.com".into()]);
    bad_override.overrides = vec![pb::ItemOverride { index: 0, channel: 0, topic_id: "nope".into() }];
    let mut inbound = d.check_stream(tokio_stream::iter(vec![bad_override])).await.expect("stream").into_inner();
    assert_eq!(bad_field(&inbound.message().await.expect_err("override")), "overrides[0].topic_id");
    let mut bad_index = batch(5, vec!["a@example.com".into()]);
    bad_index.overrides = vec![pb::ItemOverride { index: 9, channel: 0, topic_id: String::new() }];
    let mut inbound = d.check_stream(tokio_stream::iter(vec![bad_index])).await.expect("stream").into_inner();
    assert_eq!(bad_field(&inbound.message().await.expect_err("index")), "overrides[0].index");

    // A message over the size limit is refused by the transport's decoder.
    let huge = batch(6, vec!["x".repeat(70 * 1024)]);
    let mut inbound = d.check_stream(tokio_stream::iter(vec![huge])).await.expect("stream").into_inner();
    let err = inbound.message().await.expect_err("too large");
    assert!(matches!(err.code(), tonic::Code::OutOfRange | tonic::Code::ResourceExhausted), "{err:?}");
    // The server is still healthy afterwards.
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "a@example.com", "invoices", "").await),
        pb::Reason::NotOptedOut
    );
    server.stop().await;
}

async fn wait_for_metric(server: &TestServer, name: &str, want: f64) -> f64 {
    let mut v = server.metric(name).await;
    for _ in 0..200 {
        if v == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        v = server.metric(name).await;
    }
    v
}

#[tokio::test]
async fn a_client_that_disconnects_leaves_no_work_behind() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut d = server.decision(None).await;
    let (tx, rx) = mpsc::channel(4);
    let mut inbound = d.check_stream(ReceiverStream::new(rx)).await.expect("stream").into_inner();
    tx.send(batch(1, vec!["a@example.com".into()])).await.expect("send");
    assert!(inbound.message().await.expect("ok").is_some());
    assert_eq!(server.metric("consentd_check_streams_active").await, 1.0);
    // Drop both halves mid-stream, as a crashed sender would.
    drop(inbound);
    drop(tx);
    drop(d);
    assert_eq!(wait_for_metric(&server, "consentd_check_streams_active", 0.0).await, 0.0);
    server.stop().await;
}

#[tokio::test]
async fn a_reader_that_stops_reading_stops_the_server_reading() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut d = server.decision(None).await;
    let batches: u64 = 200;
    let items: Vec<String> = (0..10_000).map(|i| format!("user{i}@example.com")).collect();
    let (tx, rx) = mpsc::channel(1);
    let mut inbound = d.check_stream(ReceiverStream::new(rx)).await.expect("stream").into_inner();
    let feeder = tokio::spawn(async move {
        for i in 0..batches {
            if tx.send(batch(i, items.clone())).await.is_err() {
                return;
            }
        }
    });
    // Nobody reads answers: the server evaluates what fits in its bounded queue and the
    // HTTP/2 windows, then waits. Each answer is ~20 KB (4 MB in all), far more than
    // the queue and the flow-control windows hold.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let evaluated = server.metric("consentd_check_batches_total").await;
    assert!(evaluated < batches as f64, "server evaluated {evaluated} of {batches} batches with no reader");
    // Reading resumes the flow; every batch is answered, in order.
    for i in 0..batches {
        let a = inbound.message().await.expect("ok").expect("answer");
        assert_eq!(a.batch_id, i);
        assert_eq!(a.reasons.len(), 10_000);
    }
    feeder.await.expect("feeder");
    server.stop().await;
}

#[tokio::test]
async fn streams_past_the_per_connection_limit_wait_for_a_free_slot() {
    let server = TestServer::start_with(|c| c.limits.streams_per_connection_max = 2).await;
    seed(&mut server.admin(None).await, None).await;
    // One connection (clones of a Channel share it), shared by three streams.
    let ch = server.channel().await;
    let d = pb::decision_service_client::DecisionServiceClient::new(ch);
    let mut open = Vec::new();
    for i in 0..2 {
        let (tx, rx) = mpsc::channel(1);
        let mut client = d.clone();
        let mut inbound = client.check_stream(ReceiverStream::new(rx)).await.expect("stream").into_inner();
        tx.send(batch(i, vec!["a@example.com".into()])).await.expect("send");
        assert!(inbound.message().await.expect("ok").is_some());
        open.push((tx, inbound));
    }
    let (tx3, rx3) = mpsc::channel(1);
    let mut third_client = d.clone();
    let third = tokio::spawn(async move {
        let mut inbound = third_client.check_stream(ReceiverStream::new(rx3)).await.expect("stream").into_inner();
        inbound.message().await.expect("ok").map(|a| a.batch_id)
    });
    tx3.send(batch(3, vec!["a@example.com".into()])).await.expect("send");
    // While two streams hold both slots the third gets no answer...
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!third.is_finished(), "a third stream was served past the limit of two");
    // ...and once one closes, it does.
    drop(open.pop());
    let answered =
        tokio::time::timeout(Duration::from_secs(10), third).await.expect("served after a slot freed").expect("join");
    assert_eq!(answered, Some(3));
    drop(tx3);
    drop(open);
    server.stop().await;
}
