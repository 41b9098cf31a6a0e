//! Signed decision receipts and the revocation fence, over a real socket and through
//! consentctl: receipts verify offline and fail on any flipped byte, a replay names exactly
//! the recipients whose answer changed, the keys are served and survive a rotation, and the
//! fence answers exactly the recipients a full re-check would find changed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use consentd::api::pb;
use consentd::api::pb::ConsentStatus::{OptedIn, OptedOut};
use consentd_client::receipt::{self, Receipt};

use crate::cli::{ctl_at, s};
use crate::support::*;

fn path(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// The rows of a replay's JSON lines: (row, contact point).
fn differing(out: &str) -> Vec<(u64, String)> {
    out.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| (v["row"].as_u64().expect("row"), v["contact_point"].as_str().expect("contact").to_owned()))
        .collect()
}

#[tokio::test]
async fn receipts_verify_offline_fail_on_a_flipped_byte_and_replays_name_exactly_the_changed_recipients() {
    let (server, edge) = crate::edge::start_with_edge().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let server_now = || now_us() + server.clock_us.load(std::sync::atomic::Ordering::SeqCst);
    for who in ["a", "b", "c", "d"] {
        set(&mut consent, change(&format!("{who}@example.com"), "newsletter", "", OptedIn)).await;
    }
    server.advance(10);
    let addr = format!("http://{}", server.addr);
    let dir = tempfile::tempdir().expect("dir");
    let input = dir.path().join("send.csv");
    std::fs::write(
        &input,
        "email\na@example.com\nb@example.com\nc@example.com\nd@example.com\ne@example.com\nnot-an-address\n",
    )
    .expect("write");
    let receipts = dir.path().join("receipts");
    let base = [
        "--profile",
        "acme",
        "--channel",
        "email",
        "--purpose",
        "newsletter",
        "--file",
        &path(&input),
        "--allowed",
        &path(&dir.path().join("allowed.csv")),
        "--blocked",
        &path(&dir.path().join("blocked.csv")),
    ];
    let (code, out, _) = ctl_at(
        &addr,
        s(&[&["check-file", "--quiet", "--batch", "3"], &base[..], &["--receipts", &path(&receipts)]].concat()),
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let (first, second) = (receipts.join("receipt-000000.json"), receipts.join("receipt-000001.json"));
    assert!(first.exists() && second.exists(), "one receipt per batch");
    let decided_at = server_now();

    // The keys, from GetServerInfo and from the edge, agree; the receipts verify offline.
    let (code, keys, _) = ctl_at(&addr, s(&["receipt", "keys"])).await;
    assert_eq!(code, 0, "{keys}");
    let keys_file = dir.path().join("keys.json");
    std::fs::write(&keys_file, &keys).expect("keys");
    let served = crate::edge::http(edge, "GET", "/receipt-keys", &[], "").await;
    assert_eq!(served.status, 200);
    let (a, b): (serde_json::Value, serde_json::Value) =
        (serde_json::from_str(&keys).expect("json"), serde_json::from_str(&served.body).expect("json"));
    assert_eq!(a["keys"], b["keys"], "GetServerInfo and the edge serve the same keys");
    let (code, out, _) =
        ctl_at(&addr, s(&["receipt", "verify", &path(&first), &path(&second), "--keys", &path(&keys_file)])).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("\"valid\":true").count(), 2, "{out}");

    // What the first receipt says: the recipients in order and every answer.
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&first).expect("read")).expect("json");
    let body = STANDARD.decode(doc["body"].as_str().expect("body")).expect("base64");
    let r = Receipt::decode(&body).expect("decodes");
    assert_eq!((r.profile_id.as_str(), r.purpose_id.as_str(), r.recipients), ("acme", "newsletter", 3));
    assert!(r.outcomes.iter().all(|b| i32::from(b >> 6) == pb::Decision::Send as i32), "{:?}", r.outcomes);

    // One flipped byte anywhere in the body or the signature: it no longer verifies.
    let public: Vec<(u32, [u8; 32])> = a["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            let key = STANDARD.decode(k["public_key"].as_str().expect("key")).expect("b64");
            (k["id"].as_u64().expect("id") as u32, key.try_into().expect("32 bytes"))
        })
        .collect();
    let signature = STANDARD.decode(doc["signature"].as_str().expect("signature")).expect("base64");
    receipt::verify(&body, &signature, &public).expect("verifies");
    for i in 0..body.len() {
        let mut flipped = body.clone();
        flipped[i] ^= 0x01;
        assert!(receipt::verify(&flipped, &signature, &public).is_err(), "byte {i}");
    }
    let mut tampered = doc.clone();
    let mut flipped = body.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40; // the last recipient's answer, block for send
    tampered["body"] = STANDARD.encode(&flipped).into();
    let forged = dir.path().join("forged.json");
    std::fs::write(&forged, tampered.to_string()).expect("write");
    let (code, out, _) = ctl_at(&addr, s(&["receipt", "verify", &path(&forged), "--keys", &path(&keys_file)])).await;
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("\"valid\":false"), "{out}");

    // Later: b opts out, e opts in (both recorded and occurring now), and a CRM syncs an
    // opt-out c clicked before the send.
    server.advance(60);
    set(&mut consent, change("b@example.com", "newsletter", "", OptedOut)).await;
    set(&mut consent, change("e@example.com", "newsletter", "", OptedIn)).await;
    let mut late = change("c@example.com", "newsletter", "", OptedOut);
    late.occurred_at = Some(ts(decided_at - 5_000_000));
    set(&mut consent, late).await;

    let replay = |file: &std::path::Path, against: &str| {
        s(&["receipt", "replay", &path(file), "--recipients", &path(&input), "--against", against])
    };
    // As recorded at the receipt's revision: history agrees with every answer.
    for file in [&first, &second] {
        let (code, out, _) = ctl_at(&addr, replay(file, "recorded")).await;
        assert_eq!((code, out.as_str()), (0, ""), "{}", file.display());
    }
    // Against today: exactly the recipients whose answer changed since.
    let (code, out, _) = ctl_at(&addr, replay(&first, "now")).await;
    assert_eq!(code, 3, "{out}");
    assert_eq!(differing(&out), [(1, "b@example.com".to_owned()), (2, "c@example.com".to_owned())]);
    let (code, out, _) = ctl_at(&addr, replay(&second, "now")).await;
    assert_eq!(code, 3, "{out}");
    assert_eq!(differing(&out), [(4, "e@example.com".to_owned())]);
    // As occurred by the receipt's time: the late opt-out alone (the exposure the sync caused).
    let (code, out, _) = ctl_at(&addr, replay(&first, "occurred")).await;
    assert_eq!(code, 3, "{out}");
    assert_eq!(differing(&out), [(2, "c@example.com".to_owned())]);

    // The late-opt-out report with the receipts: the send c's opt-out would have blocked.
    let (code, out, _) = ctl_at(&addr, s(&["report", "late-opt-outs", "--receipts", &path(&receipts)])).await;
    assert_eq!(code, 3, "{out}");
    let exposed: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("exposed_send").cloned())
        .collect();
    assert_eq!(exposed.len(), 1, "{out}");
    assert_eq!((exposed[0]["contact_point"].as_str(), exposed[0]["row"].as_u64()), (Some("c@example.com"), Some(2)));

    // Another list is not the receipt's: the server's digest says so.
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "email\na@example.com\nc@example.com\nb@example.com\n").expect("write");
    let (code, _, err) = ctl_at(&addr, s(&["receipt", "replay", &path(&first), "--recipients", &path(&other)])).await;
    assert_eq!(code, 65, "{err}");
    assert!(err.contains("digest"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn a_rotated_receipt_key_signs_and_the_old_one_still_verifies() {
    use consentd::storage::{Store, StoreOptions, system_clock};
    let dir = tempfile::tempdir().expect("dir");
    let body = b"not a receipt, but signed bytes all the same";
    let (old, first) = {
        let (store, _) = Store::open(dir.path(), StoreOptions::new(system_clock())).expect("open");
        let keys = store.receipt_keys();
        let k = keys.signing();
        let old = (u32::from(k.id), k.public_key(), k.sign(body));
        assert_eq!(store.rotate_receipt_key().expect("rotate"), 2);
        store.flush().expect("flush");
        (old, store.receipt_keys().signing().public_key())
    };
    let (store, _) = Store::open(dir.path(), StoreOptions::new(system_clock())).expect("reopen");
    let keys = store.receipt_keys();
    assert_eq!(keys.signing().id, 2);
    assert_eq!(keys.signing().public_key(), first, "kept across the restart");
    let kept = keys.all().iter().find(|k| u32::from(k.id) == old.0).expect("the old key is kept");
    assert_eq!(kept.public_key(), old.1);
    use ed25519_dalek::Verifier;
    let public = ed25519_dalek::VerifyingKey::from_bytes(&old.1).expect("key");
    public.verify(body, &ed25519_dalek::Signature::from_bytes(&old.2)).expect("the old signature verifies");
}

/// A running server rotates its keys on request (AdminService.RotateSigningKey, as
/// `consentctl key rotate-signing` sends it); the new receipt key signs and is served.
#[tokio::test]
async fn a_running_server_rotates_its_signing_keys_on_request() {
    let server = TestServer::start().await;
    let addr = format!("http://{}", server.addr);
    let (code, before, _) = ctl_at(&addr, s(&["receipt", "keys"])).await;
    assert_eq!(code, 0, "{before}");
    let (code, out, _) = ctl_at(&addr, s(&["--json", "key", "rotate-signing", "receipt"])).await;
    assert_eq!(code, 0, "{out}");
    let rotated: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!((rotated["kind"].as_str(), rotated["key_id"].as_u64()), (Some("receipt"), Some(2)));
    let (code, out, _) = ctl_at(&addr, s(&["--json", "key", "rotate-signing", "link"])).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).expect("json")["key_id"], 2);
    let (_, after, _) = ctl_at(&addr, s(&["receipt", "keys"])).await;
    let (before, after): (serde_json::Value, serde_json::Value) =
        (serde_json::from_str(&before).expect("json"), serde_json::from_str(&after).expect("json"));
    let after = after["keys"].as_array().expect("keys").clone();
    assert_eq!(after.len(), 2);
    assert_eq!(
        after[0],
        before["keys"][0]
            .clone()
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("signing".into(), false.into());
                serde_json::Value::Object(o)
            })
            .expect("key 1"),
        "key 1 is kept, no longer signing"
    );
    assert_eq!((after[1]["id"].as_u64(), after[1]["signing"].as_bool()), (Some(2), Some(true)));
    // A kind the server does not know is refused, naming the field.
    let mut admin = server.admin(None).await;
    let err = admin.rotate_signing_key(pb::RotateSigningKeyRequest { kind: 9 }).await.expect_err("unknown kind");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("kind") && err.message().contains('9'), "{err:?}");
    server.stop().await;
}

/// One stream batch of `who`, fenced since `since` or decided as of revision `as_of`.
fn batch(who: &[String], since: Option<u64>, as_of_revision: Option<u64>) -> pb::CheckStreamRequest {
    pb::CheckStreamRequest {
        batch_id: 7,
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        purpose_id: "newsletter".into(),
        contact_points_packed: who.iter().flat_map(|c| format!("{c}\n").into_bytes()).collect(),
        packed_answers: true,
        changed_since_revision: since,
        as_of_revision,
        ..Default::default()
    }
}

async fn one(d: &mut Decision, b: pb::CheckStreamRequest) -> Result<pb::CheckStreamResponse, tonic::Status> {
    let mut answers = d.check_stream(tokio_stream::iter([b])).await?.into_inner();
    Ok(answers.message().await?.expect("an answer"))
}

#[tokio::test]
async fn the_fence_answers_exactly_the_recipients_a_full_recheck_finds_changed() {
    let server = TestServer::start().await;
    let mut admin = server.admin(None).await;
    seed(&mut admin, None).await;
    let mut consent = server.consent(None).await;
    let mut d = server.decision(None).await;
    let server_now = || now_us() + server.clock_us.load(std::sync::atomic::Ordering::SeqCst);
    let who: Vec<String> =
        (0..12).map(|i| format!("r{i}@example.com")).chain(["nobody@example.com".into(), "bad".into()]).collect();
    for w in &who[..10] {
        set(&mut consent, change(w, "newsletter", "", OptedIn)).await;
    }
    // r9's opt-in runs out a minute after the campaign is decided.
    let mut expiring = change(&who[9], "newsletter", "", OptedIn);
    expiring.expires_at = Some(ts(server_now() + 60_000_000));
    set(&mut consent, expiring).await;
    let decided = one(&mut d, batch(&who, None, None)).await.expect("decided");
    let r = decided.revision;
    server.advance(30);

    // After R: r1 opts out; r2 opts out and in again (touched, same answer); r10 opts in
    // (new); r9's opt-in expires.
    set(&mut consent, change(&who[1], "newsletter", "", OptedOut)).await;
    set(&mut consent, change(&who[2], "newsletter", "", OptedOut)).await;
    server.advance(1);
    set(&mut consent, change(&who[2], "newsletter", "", OptedIn)).await;
    set(&mut consent, change(&who[10], "newsletter", "", OptedIn)).await;
    server.advance(60);
    let fence_agrees_with_a_full_recheck = async |d: &mut Decision| {
        let fenced = one(d, batch(&who, Some(r), None)).await.expect("fence");
        assert!(fenced.outcomes.is_empty() && fenced.decisions.is_empty(), "a fence answers the changed ones only");
        // The full re-check: every recipient now against the state right after R at R's time.
        let now = one(d, batch(&who, None, None)).await.expect("now");
        let then = one(d, batch(&who, None, Some(r))).await.expect("as of R");
        assert_eq!(then.outcomes, decided.outcomes, "as of R is what was decided at R");
        let changed: Vec<u32> =
            (0..who.len()).filter(|&i| now.outcomes[i] != then.outcomes[i]).map(|i| i as u32).collect();
        let got: Vec<u32> = fenced.fenced.iter().map(|f| f.index).collect();
        assert_eq!(got, changed);
        for f in &fenced.fenced {
            let i = f.index as usize;
            assert_eq!(((f.decision << 6) | f.reason) as u8, now.outcomes[i], "now, item {i}");
            assert_eq!(((f.was_decision << 6) | f.was_reason) as u8, then.outcomes[i], "then, item {i}");
        }
        got
    };
    assert_eq!(fence_agrees_with_a_full_recheck(&mut d).await, [1, 9, 10], "r1 out, r9 expired, r10 in");

    // consentctl fence: of the list allowed at R, the ones now blocked.
    let dir = tempfile::tempdir().expect("dir");
    let allowed = dir.path().join("allowed.csv");
    let rows: String = (0..10).map(|i| format!("{},row{i}\n", who[i])).collect();
    std::fs::write(&allowed, format!("email,note\n{rows}")).expect("write");
    let out = dir.path().join("pull-back.csv");
    let addr = format!("http://{}", server.addr);
    let since = r.to_string();
    let args = [
        "fence",
        "--since-revision",
        &since,
        "--file",
        &path(&allowed),
        "--profile",
        "acme",
        "--channel",
        "email",
        "--purpose",
        "newsletter",
        "--out",
        &path(&out),
        "--quiet",
    ];
    let (code, summary, _) = ctl_at(&addr, s(&args)).await;
    assert_eq!(code, 0, "{summary}");
    assert_eq!(
        std::fs::read_to_string(&out).expect("out"),
        "email,note,reason\nr1@example.com,row1,purpose_opted_out\nr9@example.com,row9,consent_expired\n"
    );

    // The newsletter becomes opt-out based on email: every contact point without a record
    // (r11, nobody) changes, found without a change in the feed.
    admin.update_purpose(crate::support::newsletter_non_restrictive_on_email()).await.expect("update purpose");
    let got = fence_agrees_with_a_full_recheck(&mut d).await;
    assert!(got.contains(&11) && got.contains(&12) && !got.contains(&13), "{got:?}");

    // Refusals: a revision not reached, and options a fence does not take.
    let err = one(&mut d, batch(&who, Some(r + 1000), None)).await.expect_err("future revision");
    assert_eq!((err.code(), bad_field(&err).as_str()), (tonic::Code::InvalidArgument, "changed_since_revision"));
    let mut with_receipts = batch(&who, Some(r), None);
    with_receipts.receipts = true;
    let err = one(&mut d, with_receipts).await.expect_err("receipts");
    assert_eq!(bad_field(&err), "receipts", "{err:?}");
    let err = one(&mut d, batch(&who, None, Some(r + 1000))).await.expect_err("as_of_revision ahead");
    assert_eq!(bad_field(&err), "as_of_revision", "{err:?}");
    server.stop().await;
}
