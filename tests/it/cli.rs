//! consentctl against a running server: bulk import with a reject file, export and
//! re-import, and check-file agreeing with unary checks.

use std::collections::BTreeSet;
use std::path::Path;

use consentd::api::pb;

use crate::support::*;

/// Runs consentctl with `args` against `server`; returns (exit code, stdout).
pub(crate) async fn ctl(server: &TestServer, args: Vec<String>) -> (i32, String) {
    let (code, out, _) = ctl_at(&format!("http://{}", server.addr), args).await;
    (code, out)
}

/// Runs consentctl with `args` against `addr`; returns (exit code, stdout, stderr).
pub(crate) async fn ctl_at(addr: &str, args: Vec<String>) -> (i32, String, String) {
    let addr = addr.to_owned();
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(consentctl_bin())
            .args(&args)
            .env("CONSENTD_ADDR", addr)
            .env_remove("CONSENTD_API_KEY")
            .output()
            .expect("run consentctl");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !stderr.is_empty() {
            eprintln!("consentctl {args:?}: {stderr}");
        }
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
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
        std::process::Command::new(consentctl_bin())
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
    // Scopes by name, not by proto number.
    let scopes: Vec<&serde_json::Value> =
        listed["api_keys"].as_array().into_iter().flatten().map(|k| &k["scopes"]).collect();
    assert!(
        scopes.contains(&&serde_json::json!(["admin"])) && scopes.contains(&&serde_json::json!(["check"])),
        "{listed}"
    );
    server.stop().await;
}

/// The decision of a unary check for `cp` (newsletter, email): true for send.
async fn allows(d: &mut Decision, cp: &str) -> bool {
    check(d, pb::Channel::Email, cp, "newsletter", "").await.decision == pb::Decision::Send as i32
}

/// The lines of an output file, without their line ends.
fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).expect("output").lines().map(str::to_owned).collect()
}

/// #24: a recipient file must never produce an allowed line that no decision allowed. For
/// files with and without a header row, with blank lines, a byte order mark and CRLF line
/// ends, every line of `allowed.csv` is the header or a recipient a unary check sends to,
/// and every recipient is in exactly one of the two files.
#[tokio::test]
async fn check_file_writes_no_line_without_a_decision() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    for i in 0..6 {
        let status = if i % 2 == 0 { pb::ConsentStatus::OptedIn } else { pb::ConsentStatus::OptedOut };
        set(&mut consent, change(&format!("p{i}@example.com"), "newsletter", "", status)).await;
    }
    let mut d = server.decision(None).await;
    let dir = tempfile::tempdir().expect("dir");
    // The first recipient is one a decision allows: copied as a header it would pass
    // unnoticed, which is the defect.
    let recipients = ["p0@example.com", "p1@example.com", "p2@example.com", "nobody@example.com", "p4@example.com"];
    for (header, bom, crlf, blank) in [
        (true, false, false, false),
        (true, true, true, true),
        (false, false, false, false),
        (false, true, true, true),
        (false, false, true, true),
    ] {
        let case = format!("header={header} bom={bom} crlf={crlf} blank={blank}");
        let mut lines: Vec<String> = Vec::new();
        if header {
            lines.push("email,name".into());
        }
        for (i, r) in recipients.iter().enumerate() {
            lines.push(format!("{r},n{i}"));
            if blank && i % 2 == 0 {
                lines.push(String::new());
            }
        }
        let eol = if crlf { "\r\n" } else { "\n" };
        let text = format!("{}{}{eol}", if bom { "\u{feff}" } else { "" }, lines.join(eol));
        let input = dir.path().join("send.csv");
        std::fs::write(&input, text).expect("write");
        let (allowed, blocked) = (dir.path().join("allowed.csv"), dir.path().join("blocked.csv"));
        let _ = std::fs::remove_file(&allowed);
        let _ = std::fs::remove_file(&blocked);
        let mut args = s(&[
            "check-file",
            "--quiet",
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
        ]);
        if !header {
            // Without the flag the first line is no header: refused, nothing written.
            let (code, _, err) = ctl_at(&format!("http://{}", server.addr), args.clone()).await;
            assert_eq!(code, 65, "{case}: {err}");
            assert!(err.contains("--no-header") && err.contains("names no contact column"), "{case}: {err}");
            assert!(!allowed.exists(), "{case}: nothing written");
            args.push("--no-header".into());
        }
        let (code, out) = ctl(&server, args).await;
        assert_eq!(code, 0, "{case}: {out}");
        let mut allowed_lines = lines_of(&allowed);
        let mut blocked_lines = lines_of(&blocked);
        if header {
            assert_eq!(allowed_lines.remove(0), "email,name", "{case}");
            assert_eq!(blocked_lines.remove(0), "email,name,reason", "{case}");
        }
        let mut seen = Vec::new();
        for line in &allowed_lines {
            let cp = line.split(',').next().unwrap_or("");
            assert!(recipients.contains(&cp), "{case}: allowed line {line:?} is no recipient");
            assert!(allows(&mut d, cp).await, "{case}: allowed line {line:?} was not decided send");
            seen.push(cp.to_owned());
        }
        for line in &blocked_lines {
            let cp = line.split(',').next().unwrap_or("");
            assert!(recipients.contains(&cp), "{case}: blocked line {line:?} is no recipient");
            assert!(!allows(&mut d, cp).await, "{case}: blocked line {line:?} was decided send");
            seen.push(cp.to_owned());
        }
        seen.sort();
        let mut want: Vec<String> = recipients.iter().map(|r| (*r).to_owned()).collect();
        want.sort();
        assert_eq!(seen, want, "{case}: every recipient once");
    }
    server.stop().await;
}

/// #24: a typo in profile or purpose shows the server's reason and exits 65, instead of
/// "closed by the server".
#[tokio::test]
async fn check_file_shows_why_the_server_refused() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let dir = tempfile::tempdir().expect("dir");
    let input = dir.path().join("send.csv");
    // Several large batches, so that the client is still reading and sending when the
    // server's answer has ended the stream (the send fails; the reason is in the answer).
    let mut text = String::from("email,note\n");
    let note = "x".repeat(400);
    for i in 0..40_000 {
        text.push_str(&format!("user{i}@example.com,{note}\n"));
    }
    std::fs::write(&input, text).expect("write");
    let addr = format!("http://{}", server.addr);
    for (profile, purpose, want) in
        [("acm", "newsletter", "profile `acm` does not exist"), ("acme", "newsleter", "purpose `newsleter`")]
    {
        let (code, _, err) = ctl_at(
            &addr,
            s(&[
                "check-file",
                "--quiet",
                "--profile",
                profile,
                "--channel",
                "email",
                "--purpose",
                purpose,
                "--file",
                &p(&input),
                "--allowed",
                &p(&dir.path().join("a.csv")),
                "--blocked",
                &p(&dir.path().join("b.csv")),
            ]),
        )
        .await;
        assert_eq!(code, 65, "{err}");
        assert!(err.contains(want), "{err}");
    }
    server.stop().await;
}

/// #24: an import into a profile that does not exist, or from a file without a contact
/// column, stops with one error instead of rejecting every row alone.
#[tokio::test]
async fn import_stops_at_the_first_row_when_the_whole_file_is_wrong() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let dir = tempfile::tempdir().expect("dir");
    let good = dir.path().join("good.csv");
    let mut text = String::from("email,purpose,status\n");
    for i in 0..2_000 {
        text.push_str(&format!("user{i}@example.com,newsletter,in\n"));
    }
    std::fs::write(&good, text).expect("write");
    let no_contact = dir.path().join("no_contact.csv");
    let mut text = String::from("e-mail,purpose,status\n");
    for i in 0..2_000 {
        text.push_str(&format!("user{i}@example.com,newsletter,in\n"));
    }
    std::fs::write(&no_contact, text).expect("write");
    let rejects = dir.path().join("rejects.csv");
    let addr = format!("http://{}", server.addr);
    let import = |file: &Path, profile: &str| {
        s(&["import", "--quiet", "--profile", profile, "--file", &p(file), "--reject-file", &p(&rejects)])
    };

    let (code, out, err) = ctl_at(&addr, import(&good, "acmee")).await;
    assert_eq!(code, 65, "{out} {err}");
    assert!(err.contains("--profile `acmee`") && err.contains("does not exist"), "{err}");
    assert_eq!(err.lines().count(), 1, "one error: {err}");
    let rejected = std::fs::read_to_string(&rejects).map(|t| t.lines().count()).unwrap_or(0);
    assert!(rejected <= 1, "no reject per row: {rejected} lines");

    let (code, out, err) = ctl_at(&addr, import(&no_contact, "acme")).await;
    assert_eq!(code, 65, "{out} {err}");
    assert!(err.contains("no contact column") && err.contains("--map"), "{err}");
    // The same file as a dry run says the same.
    let mut dry = import(&no_contact, "acme");
    dry.push("--dry-run".into());
    let (code, _, err) = ctl_at(&addr, dry).await;
    assert_eq!(code, 65, "{err}");

    // Nothing was written by either.
    let mut d = server.decision(None).await;
    assert!(!allows(&mut d, "user0@example.com").await);
    server.stop().await;
}

/// #22: `set` without --idempotency-key makes one and prints it; running the same
/// command with it replays the first answer instead of writing again.
#[tokio::test]
async fn set_prints_an_idempotency_key_to_retry_with() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let base = s(&[
        "--json",
        "set",
        "--profile",
        "acme",
        "--channel",
        "email",
        "--contact",
        "jane@example.com",
        "--purpose",
        "newsletter",
        "--status",
        "in",
    ]);
    let (code, out) = ctl(&server, base.clone()).await;
    assert_eq!(code, 0, "{out}");
    let first: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let key = first["idempotency_key"].as_str().unwrap_or("").to_owned();
    assert!(key.len() >= 16, "a generated key is printed: {first}");
    assert_eq!(first["replayed"], false);

    let mut again = base.clone();
    again.extend(s(&["--idempotency-key", &key]));
    let (code, out) = ctl(&server, again).await;
    assert_eq!(code, 0, "{out}");
    let retry: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!((retry["replayed"].as_bool(), &retry["revision"]), (Some(true), &first["revision"]), "{retry}");

    // Without the key, a second call is a new write with a new key.
    let (_, out) = ctl(&server, base).await;
    let other: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_ne!(other["idempotency_key"], first["idempotency_key"]);
    server.stop().await;
}

/// #24: rejects are in line order and say which column is wrong (not `requests[859]`);
/// a re-run counts replays apart from writes; a later import does not overwrite the
/// default reject file of an earlier one.
#[tokio::test]
async fn import_reports_rejects_in_line_order_by_column() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let dir = tempfile::tempdir().expect("dir");
    let input = dir.path().join("crm.csv");
    // Small batches, several in flight: they finish out of order.
    let mut text = String::from("email,purpose,status\n");
    let mut bad_lines = Vec::new();
    for i in 0..400u64 {
        let line = i + 2;
        if i % 37 == 3 {
            text.push_str(&format!("bad{i}@@example,newsletter,in\n"));
            bad_lines.push(line);
        } else if i % 41 == 7 {
            text.push_str(&format!("user{i}@example.com,nope,in\n"));
            bad_lines.push(line);
        } else if i % 43 == 9 {
            text.push_str(&format!("user{i}@example.com,newsletter,maybe\n"));
            bad_lines.push(line);
        } else {
            text.push_str(&format!("user{i}@example.com,newsletter,in\n"));
        }
    }
    std::fs::write(&input, text).expect("write");
    let run = |cwd: &Path| {
        let input = p(&input);
        let cwd = cwd.to_path_buf();
        let addr = format!("http://{}", server.addr);
        async move {
            tokio::task::spawn_blocking(move || {
                let out = std::process::Command::new(consentctl_bin())
                    .args(["--json", "import", "--quiet", "--profile", "acme", "--batch", "5", "--concurrency", "8"])
                    .args(["--file", &input])
                    .current_dir(cwd)
                    .env("CONSENTD_ADDR", addr)
                    .env_remove("CONSENTD_API_KEY")
                    .output()
                    .expect("run consentctl");
                assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
                serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json summary")
            })
            .await
            .expect("join")
        }
    };
    let first = run(dir.path()).await;
    let good = 400 - bad_lines.len() as u64;
    assert_eq!(
        (first["applied"].as_u64(), first["replayed"].as_u64(), first["rejected"].as_u64()),
        (Some(good), Some(0), Some(bad_lines.len() as u64)),
        "{first}"
    );
    assert_eq!(first["reject_file"], "rejects.csv");
    let mut reader = csv::Reader::from_path(dir.path().join("rejects.csv")).expect("rejects");
    let rows: Vec<(u64, String)> =
        reader.records().map(|r| r.expect("row")).map(|r| (r[0].parse().expect("line"), r[1].to_owned())).collect();
    let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(lines, bad_lines, "every bad line once, in line order");
    for (line, why) in &rows {
        assert!(!why.contains("requests["), "line {line}: {why}");
    }
    assert!(rows.iter().any(|(_, why)| why.starts_with("`contact_point`: ")), "{rows:?}");
    assert!(rows.iter().any(|(_, why)| why.starts_with("`purpose`: ")), "{rows:?}");

    let second = run(dir.path()).await;
    assert_eq!(
        (second["applied"].as_u64(), second["replayed"].as_u64(), second["rejected"].as_u64()),
        (Some(0), Some(good), Some(bad_lines.len() as u64)),
        "a re-run writes nothing again: {second}"
    );
    assert_eq!(second["reject_file"], "rejects-2.csv", "{second}");
    assert_eq!(
        csv::Reader::from_path(dir.path().join("rejects.csv")).expect("rejects").records().count(),
        bad_lines.len(),
        "the first run's rejects are still there"
    );
    server.stop().await;
}

/// #24: `mint-links` gives a recipient's edge links without grpcurl; `--print` gives one
/// bare value for a shell variable, and the JSON API URL answers with the preferences.
#[tokio::test]
async fn mint_links_prints_the_recipients_links() {
    let (server, edge) = crate::edge::start_with_edge().await;
    seed(&mut server.admin(None).await, None).await;
    let base = s(&[
        "mint-links",
        "--profile",
        "acme",
        "--channel",
        "email",
        "--contact",
        "jane@example.com",
        "--purpose",
        "newsletter",
        "--topic",
        "events",
    ]);
    let mut json_args = s(&["--json"]);
    json_args.extend(base.clone());
    let (code, out) = ctl(&server, json_args).await;
    assert_eq!(code, 0, "{out}");
    let links: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let unsubscribe = links["unsubscribe_url"].as_str().unwrap_or("").to_owned();
    assert!(unsubscribe.starts_with(&format!("http://{edge}/u/")), "{links}");
    assert_eq!(links["list_unsubscribe"], format!("<{unsubscribe}>"));
    assert_eq!(links["list_unsubscribe_post"], "List-Unsubscribe=One-Click");
    let mut print = base.clone();
    print.extend(s(&["--print", "unsubscribe-url"]));
    let (code, out) = ctl(&server, print).await;
    // Each mint seals anew, so the token differs; the shape does not.
    assert_eq!((code, out.lines().count()), (0, 1), "{out}");
    assert!(out.starts_with(&format!("http://{edge}/u/")) && out.ends_with('\n'), "{out}");
    let api = links["preferences_api_url"].as_str().unwrap_or("").to_owned();
    let path = api.strip_prefix(&format!("http://{edge}")).unwrap_or_else(|| panic!("{api}"));
    assert!(path.starts_with("/api/v1/preferences/"), "{api}");
    let answer = crate::edge::http(edge, "GET", path, &[], "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains("\"profile_id\":\"acme\""), "{}", answer.body);
    server.stop().await;
}

/// #24: `server-info`, `digest`, `check --min-revision` and the proof in `history`.
#[tokio::test]
async fn server_info_digest_min_revision_and_history_proof() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let mut c = change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedIn);
    c.proof = Some(pb::Proof {
        ip_address: "203.0.113.7".into(),
        user_agent: "Mozilla/5.0".into(),
        notice_id: "privacy-2026".into(),
        ..Default::default()
    });
    let revision = set(&mut consent, c).await.revision;

    let (code, out) = ctl(&server, s(&["--json", "server-info"])).await;
    assert_eq!(code, 0, "{out}");
    let info: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(
        (info["version"].as_str(), info["revision"].as_u64()),
        (Some(env!("CARGO_PKG_VERSION")), Some(revision))
    );

    let (code, out) = ctl(&server, s(&["--json", "digest"])).await;
    assert_eq!(code, 0, "{out}");
    let digest: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(digest["digest"].as_str().map(str::len), Some(64), "{digest}");

    let check = |min: u64| {
        s(&[
            "check",
            "--profile",
            "acme",
            "--channel",
            "email",
            "--contact",
            "jane@example.com",
            "--purpose",
            "newsletter",
            "--min-revision",
            &min.to_string(),
        ])
    };
    assert_eq!(ctl(&server, check(revision)).await.0, 0, "fresh enough: send");
    assert_eq!(ctl(&server, check(revision + 1_000)).await.0, 65, "a revision not reached is refused");

    let (code, out) = ctl(
        &server,
        s(&["--json", "history", "--profile", "acme", "--channel", "email", "--contact", "jane@example.com"]),
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let history: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    // Times in RFC 3339 (UTC).
    let at = history["events"][0]["recorded_at"].as_str().unwrap_or("");
    assert!(at.len() >= 20 && at.as_bytes()[10] == b'T' && at.ends_with('Z'), "{history}");
    let proof = &history["events"][0]["proof"];
    assert_eq!(
        (proof["ip_address"].as_str(), proof["user_agent"].as_str(), proof["notice_id"].as_str()),
        (Some("203.0.113.7"), Some("Mozilla/5.0"), Some("privacy-2026")),
        "{history}"
    );
    server.stop().await;
}

/// #24: `set` on a double opt-in profile says where the recipient confirms: the edge's page
/// when the edge is on, else how to confirm without it.
#[tokio::test]
async fn set_on_a_double_opt_in_profile_names_the_confirmation_page() {
    let edge_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let with_edge = TestServer::start_with(|c| c.http_addr = Some(edge_addr)).await;
    let without = TestServer::start().await;
    let set = s(&[
        "set",
        "--profile",
        "acme",
        "--channel",
        "email",
        "--contact",
        "jane@example.com",
        "--purpose",
        "newsletter",
        "--status",
        "in",
    ]);
    for (server, edge) in [(&with_edge, true), (&without, false)] {
        seed(&mut server.admin(None).await, Some(pb::DoubleOptInMode::EveryOptIn)).await;
        let (code, out, err) = ctl_at(&format!("http://{}", server.addr), set.clone()).await;
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("outcome: pending_confirmation"), "{out}");
        if edge {
            let url = out
                .lines()
                .find_map(|l| l.strip_prefix("confirmation_url: "))
                .unwrap_or_else(|| panic!("no confirmation_url in {out}"));
            assert!(url.starts_with(&format!("http://{edge_addr}/c/")), "{url}");
            assert!(err.contains(url), "{err}");
            let page =
                crate::edge::http(edge_addr, "GET", url.trim_start_matches(&format!("http://{edge_addr}")), &[], "")
                    .await;
            assert_eq!(page.status, 200, "{page:?}");
        } else {
            assert!(!out.contains("confirmation_url"), "{out}");
            assert!(err.contains("--http-addr") && err.contains("consentctl confirm"), "{err}");
        }
    }
    with_edge.stop().await;
    without.stop().await;
}

/// `health`: the gRPC health check, for container health checks and scripts; no key needed.
#[tokio::test]
async fn health_answers_serving_without_a_key() {
    let server = TestServer::start().await;
    let mut admin = server.admin(None).await;
    // A key exists: every other call needs one now; health does not.
    admin
        .create_api_key(pb::CreateApiKeyRequest {
            description: "root".into(),
            scopes: vec![pb::ApiKeyScope::Admin as i32],
            ..Default::default()
        })
        .await
        .expect("key");
    let (code, out) = ctl(&server, s(&["health"])).await;
    assert_eq!((code, out.as_str()), (0, "service: (the whole server)\nstatus: serving\n"));
    let (code, out) = ctl(&server, s(&["--json", "health", "--service", "consent.v1.ConsentService"])).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"serving\""), "{out}");
    let (code, _) = ctl(&server, s(&["health", "--service", "no.such.Service"])).await;
    assert_eq!(code, 65, "an unknown service is NOT_FOUND");
    server.stop().await;
}
