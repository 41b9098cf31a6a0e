//! consentctl against a running server: bulk import with a reject file, export and
//! re-import, and check-file agreeing with unary checks.

use std::collections::BTreeSet;
use std::path::Path;

use consentd::api::pb;

use crate::support::*;

/// Runs consentctl with `args` against `server`; returns (exit code, stdout).
pub(crate) async fn ctl(server: &TestServer, args: Vec<String>) -> (i32, String) {
    let addr = format!("http://{}", server.addr);
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_consentctl"))
            .args(&args)
            .env("CONSENTD_ADDR", addr)
            .env_remove("CONSENTD_API_KEY")
            .output()
            .expect("run consentctl");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !stderr.is_empty() {
            eprintln!("consentctl {args:?}: {stderr}");
        }
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
    })
    .await
    .expect("join")
}

pub(crate) fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_owned()).collect()
}

pub(crate) fn p(path: &Path) -> String {
    path.display().to_string()
}

#[tokio::test]
async fn import_rejects_exactly_the_bad_lines() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let dir = tempfile::tempdir().expect("dir");
    let input = dir.path().join("crm.csv");
    // Line numbers count the header as line 1.
    std::fs::write(
        &input,
        "Email,Subscribed,List,Updated_At\n\
         jane@example.com,yes,newsletter,2026-01-01T10:00:00Z\n\
         bad@@example,yes,newsletter,\n\
         john@example.com,maybe,newsletter,\n\
         ann@example.com,no,invoices,1767225600\n\
         bob@example.com,yes,nope,\n\
         carl@example.com,yes,newsletter,yesterday\n\
         dora@example.com,unsubscribed,newsletter,\n",
    )
    .expect("write");
    let rejects = dir.path().join("rejects.csv");
    let (code, out) = ctl(
        &server,
        s(&["--json", "import", "--quiet", "--profile", "acme", "--file", &p(&input), "--reject-file", &p(&rejects)]),
    )
    .await;
    assert_eq!(code, 3, "rejects make exit code 3: {out}");
    let summary: serde_json::Value = serde_json::from_str(out.trim()).expect("json summary");
    assert_eq!(
        (summary["rows"].as_u64(), summary["applied"].as_u64(), summary["rejected"].as_u64()),
        (Some(7), Some(3), Some(4))
    );
    let mut reader = csv::Reader::from_path(&rejects).expect("rejects");
    let lines: BTreeSet<u64> = reader.records().map(|r| r.expect("row")[0].parse().expect("line")).collect();
    assert_eq!(lines, [3, 4, 6, 7].into_iter().collect());

    let mut d = server.decision(None).await;
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "jane@example.com", "newsletter", "").await),
        pb::Reason::OptedIn
    );
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "ann@example.com", "invoices", "").await),
        pb::Reason::PurposeOptedOut
    );
    assert_eq!(
        reason(&check(&mut d, pb::Channel::Email, "dora@example.com", "newsletter", "").await),
        pb::Reason::PurposeOptedOut
    );

    // A re-run is safe: the same rows replay their original answers, nothing is written twice.
    let mut c = server.consent(None).await;
    let get = pb::GetConsentRequest {
        profile_id: "acme".into(),
        channel: pb::Channel::Email as i32,
        contact_point: "jane@example.com".into(),
    };
    let rev_before = c.get_consent(get.clone()).await.expect("get").into_inner().revision;
    let (code, _) = ctl(
        &server,
        s(&["import", "--quiet", "--profile", "acme", "--file", &p(&input), "--reject-file", &p(&rejects)]),
    )
    .await;
    assert_eq!(code, 3);
    let after = c.get_consent(get).await.expect("get").into_inner();
    assert_eq!(after.revision, rev_before, "a re-run applied nothing new");
    server.stop().await;
}

pub(crate) async fn export_sorted(server: &TestServer, path: &Path) -> Vec<String> {
    let (code, _) = ctl(server, s(&["export", "--profile", "acme", "--out", &p(path)])).await;
    assert_eq!(code, 0);
    let mut reader = csv::Reader::from_path(path).expect("export");
    let mut rows: Vec<String> = reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            // Everything but the revision, which is the server's own numbering.
            r.iter().take(10).collect::<Vec<_>>().join(",")
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn export_then_reimport_gives_the_same_state() {
    let a = TestServer::start().await;
    seed(&mut a.admin(None).await, None).await;
    let dir = tempfile::tempdir().expect("dir");
    let population = dir.path().join("pop.csv");
    let (code, _) = ctl(
        &a,
        s(&[
            "generate",
            "--seed",
            "11",
            "--contacts",
            "400",
            "--purpose",
            "newsletter:events,discounts",
            "--purpose",
            "invoices",
            "--out",
            &p(&population),
        ]),
    )
    .await;
    assert_eq!(code, 0);
    let (code, out) = ctl(
        &a,
        s(&[
            "import",
            "--quiet",
            "--profile",
            "acme",
            "--file",
            &p(&population),
            "--reject-file",
            &p(&dir.path().join("r1.csv")),
        ]),
    )
    .await;
    assert_eq!(code, 0, "generated rows all import: {out}");
    let export_a = dir.path().join("a.csv");
    let rows_a = export_sorted(&a, &export_a).await;
    assert!(rows_a.len() > 200 && rows_a.iter().any(|r| r.contains("suppressed")), "{} rows", rows_a.len());

    let b = TestServer::start().await;
    seed(&mut b.admin(None).await, None).await;
    let (code, out) = ctl(
        &b,
        s(&[
            "import",
            "--quiet",
            "--profile",
            "acme",
            "--file",
            &p(&export_a),
            "--reject-file",
            &p(&dir.path().join("r2.csv")),
        ]),
    )
    .await;
    assert_eq!(code, 0, "the export re-imports without rejects: {out}");
    let rows_b = export_sorted(&b, &dir.path().join("b.csv")).await;
    assert_eq!(rows_a, rows_b);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn check_file_agrees_with_unary_checks() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    for i in 0..30 {
        let status = if i % 3 == 0 { pb::ConsentStatus::OptedOut } else { pb::ConsentStatus::OptedIn };
        set(&mut consent, change(&format!("user{i}@example.com"), "newsletter", "", status)).await;
    }
    let dir = tempfile::tempdir().expect("dir");
    let input = dir.path().join("send.csv");
    let mut text = String::from("email,first_name\n");
    let mut recipients = Vec::new();
    for i in 0..60 {
        let cp = if i % 17 == 5 { format!("broken{i}@") } else { format!("USER{i}@example.com") };
        text.push_str(&format!("{cp},name{i}\n"));
        recipients.push(cp);
    }
    std::fs::write(&input, text).expect("write");
    let (allowed, blocked) = (dir.path().join("allowed.csv"), dir.path().join("blocked.csv"));
    let (code, out) = ctl(
        &server,
        s(&[
            "--json",
            "check-file",
            "--quiet",
            "--batch",
            "7",
            "--profile",
            "acme",
            "--channel",
            "email",
            "--purpose",
            "newsletter",
            "--file",
            &p(&input),
            "--allowed",
            &p(&allowed),
            "--blocked",
            &p(&blocked),
        ]),
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let summary: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(summary["checked"].as_u64(), Some(60));

    let allowed_set: BTreeSet<String> =
        csv::Reader::from_path(&allowed).expect("a").records().map(|r| r.expect("r")[0].to_owned()).collect();
    let blocked_rows: Vec<(String, String)> = csv::Reader::from_path(&blocked)
        .expect("b")
        .records()
        .map(|r| r.expect("r"))
        .map(|r| (r[0].to_owned(), r[2].to_owned()))
        .collect();
    assert_eq!(allowed_set.len() + blocked_rows.len(), 60);
    let mut d = server.decision(None).await;
    for cp in &recipients {
        let unary = check(&mut d, pb::Channel::Email, cp, "newsletter", "").await;
        let unary_reason = pb::Reason::try_from(unary.reason)
            .expect("r")
            .as_str_name()
            .trim_start_matches("REASON_")
            .to_ascii_lowercase();
        if unary.decision == pb::Decision::Send as i32 {
            assert!(allowed_set.contains(cp), "{cp} should be allowed");
        } else {
            let found = blocked_rows.iter().find(|(c, _)| c == cp).unwrap_or_else(|| panic!("{cp} should be blocked"));
            assert_eq!(found.1, unary_reason, "{cp}");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn list_commands_follow_every_page() {
    let server = TestServer::start().await;
    let mut admin = server.admin(None).await;
    // One more than a page: the first key ends protected mode, so it is the admin key.
    let root = admin
        .create_api_key(pb::CreateApiKeyRequest {
            description: "root".into(),
            scopes: vec![pb::ApiKeyScope::Admin as i32],
            ..Default::default()
        })
        .await
        .expect("root")
        .into_inner()
        .secret;
    let mut admin = server.admin(Some(&root)).await;
    for i in 0..1_000 {
        admin
            .create_api_key(pb::CreateApiKeyRequest {
                description: format!("k{i}"),
                scopes: vec![pb::ApiKeyScope::Check as i32],
                ..Default::default()
            })
            .await
            .expect("key");
    }
    let addr = format!("http://{}", server.addr);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_consentctl"))
            .args(["--json", "key", "list"])
            .env("CONSENTD_ADDR", addr)
            .env("CONSENTD_API_KEY", root)
            .output()
            .expect("run consentctl")
    })
    .await
    .expect("join");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(listed["api_keys"].as_array().map(Vec::len), Some(1_001));
    server.stop().await;
}
