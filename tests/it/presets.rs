//! Moving in: `consentctl import --preset` with the sample files in `tests/data/import`
//! (written from each vendor's documented layout, with the mess real exports have: a BOM,
//! semicolons, Dutch and US dates, quoted newlines, duplicate rows, upper- and mixed-case
//! headers) against a running server; `--dry-run` and `--explain` without one; and the round
//! trip preset import → `export --preset` → import again, which must leave the state as it was.

use std::path::Path;

use consentd::api::pb;
use serde_json::Value;

use crate::cli::{ctl, export_sorted, p, s};
use crate::support::*;

fn sample(name: &str) -> String {
    format!("{}/tests/data/import/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// One import of a sample: file, preset, extra flags, and (rows, applied, rejected, skipped).
struct Case {
    file: &'static str,
    preset: &'static str,
    flags: Vec<String>,
    expect: (u64, u64, u64, u64, u64),
}

fn case(file: &'static str, preset: &'static str, flags: &[&str], expect: (u64, u64, u64, u64, u64)) -> Case {
    let flags = flags.iter().map(|f| if f.ends_with(".toml") { sample(f) } else { (*f).to_owned() }).collect();
    Case { file, preset, flags, expect }
}

fn journeys() -> Vec<Case> {
    let m = ["--mapping", "journeys-mapping.toml", "--timezone", "+01:00", "--value", "Misschien=not_set"];
    vec![
        // 7 records: 2 skipped (Not Set, inactive), 1 rejected by the server (not an address).
        case("journeys.csv", "journeys", &m, (7, 4, 0, 1, 2)),
        // Display names, semicolons, dd-mm-yyyy; a duplicate row replays, "Misschien" is not set.
        case("journeys-labels.csv", "journeys", &m, (4, 2, 1, 0, 1)),
    ]
}

fn salesforce() -> Vec<Case> {
    vec![
        case(
            "salesforce-contactpointconsent.csv",
            "salesforce",
            &["--mapping", "salesforce-mapping.toml"],
            (6, 4, 0, 0, 2),
        ),
        case(
            "salesforce-contactpointtypeconsent.csv",
            "salesforce",
            &["--mapping", "salesforce-mapping.toml", "--map", "Party Mobile=contact_point"],
            (3, 2, 0, 1, 0),
        ),
    ]
}

fn mailchimp() -> Vec<Case> {
    let m = ["--purpose", "newsletter"];
    vec![
        case("mailchimp-subscribed.csv", "mailchimp", &m, (3, 2, 1, 0, 0)),
        case("mailchimp-unsubscribed.csv", "mailchimp", &m, (1, 1, 0, 0, 0)),
        case("mailchimp-cleaned.csv", "mailchimp", &m, (1, 1, 0, 0, 0)),
    ]
}

fn hubspot() -> Vec<Case> {
    // Noah's "unsubscribed from all" is two opt-outs; Piet states nothing; Mia appears twice.
    vec![case("hubspot-contacts.csv", "hubspot", &["--mapping", "hubspot-mapping.toml"], (5, 4, 1, 0, 1))]
}

fn generic() -> Vec<Case> {
    vec![case(
        "generic-dutch.csv",
        "generic",
        &[
            "--map",
            "E-mailadres=contact_point",
            "--map",
            "Nieuwsbrief=purpose",
            "--map",
            "Datum=occurred_at",
            "--timezone",
            "+01:00",
            "--value",
            "Misschien=not_set",
        ],
        (4, 3, 0, 0, 1),
    )]
}

/// Imports `file` (a sample name or a path) with the case's preset and flags; returns the summary.
async fn import(
    server: &TestServer,
    c: &Case,
    file: &str,
    dir: &Path,
    expect: Option<(u64, u64, u64, u64, u64)>,
) -> Value {
    let rejects = dir.join(format!("{}.rejects.csv", c.file));
    let mut args = s(&["--json", "import", "--quiet", "--profile", "acme", "--preset", c.preset, "--file", file]);
    args.extend(c.flags.iter().cloned());
    args.extend(s(&["--reject-file", &p(&rejects)]));
    let (code, out) = ctl(server, args).await;
    let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{}: summary {out:?}: {e}", c.file));
    let got = (
        v["rows"].as_u64().unwrap_or(0),
        v["applied"].as_u64().unwrap_or(0),
        v["replayed"].as_u64().unwrap_or(0),
        v["rejected"].as_u64().unwrap_or(0),
        v["skipped"].as_u64().unwrap_or(0),
    );
    if let Some(expect) = expect {
        let why = std::fs::read_to_string(&rejects).unwrap_or_default();
        assert_eq!(got, expect, "{}: (rows, applied, replayed, rejected, skipped); rejects:\n{why}", c.file);
        assert_eq!(code, if expect.3 > 0 { 3 } else { 0 }, "{}", c.file);
    }
    v
}

async fn history_reasons(server: &TestServer, dir: &Path, contact_point: &str) -> Vec<String> {
    let out = dir.join("history.jsonl");
    let (code, _) = ctl(server, s(&["export", "--profile", "acme", "--history", "--out", &p(&out)])).await;
    assert_eq!(code, 0);
    std::fs::read_to_string(&out)
        .expect("history")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .filter(|v| v["contact_point"] == contact_point)
        .map(|v| v["reason"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn every_preset_imports_its_sample() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let dir = tempfile::tempdir().expect("dir");
    let all: Vec<Case> = [journeys(), salesforce(), mailchimp(), hubspot(), generic()].into_iter().flatten().collect();
    for c in &all {
        let v = import(&server, c, &sample(c.file), dir.path(), Some(c.expect)).await;
        if c.file == "journeys.csv" {
            assert_eq!(v["unmapped_columns"], serde_json::json!(["msdynmkt_contactpointconsent4id", "ownerid"]));
        }
    }
    let mut d = server.decision(None).await;
    let email = pb::Channel::Email;
    let sms = pb::Channel::Sms;
    for (channel, who, purpose, topic, want) in [
        // Customer Insights - Journeys: option-set values and labels.
        (email, "anna@example.com", "newsletter", "", pb::Reason::OptedIn),
        (email, "anna@example.com", "newsletter", "events", pb::Reason::TopicOptedOut),
        (sms, "+31612345678", "newsletter", "", pb::Reason::OptedIn),
        (email, "dora@example.com", "invoices", "", pb::Reason::PurposeOptedOut),
        (email, "frank@example.com", "newsletter", "", pb::Reason::PurposeOptedOut),
        // Salesforce: OptIn/OptOut, NotSeen and deleted rows skipped, a purpose mapped to a topic.
        (email, "hank@example.com", "newsletter", "", pb::Reason::PurposeOptedOut),
        (email, "lars@example.com", "invoices", "", pb::Reason::PurposeOptedOut),
        (sms, "+31612345002", "newsletter", "", pb::Reason::PurposeOptedOut),
        // Mailchimp: the three files.
        (email, "otto@example.com", "newsletter", "", pb::Reason::PurposeOptedOut),
        (email, "pia@example.com", "newsletter", "", pb::Reason::Suppressed),
        // HubSpot: one subscription type, all of them, one topic.
        (email, "mia@example.com", "newsletter", "", pb::Reason::PurposeOptedOut),
        (email, "noah@example.com", "newsletter", "events", pb::Reason::PurposeOptedOut),
        (email, "quinten@example.com", "newsletter", "", pb::Reason::OptedIn),
        (email, "gina@example.com", "newsletter", "", pb::Reason::OptedIn),
        // Generic with --map and Dutch and German status words.
        (email, "ruth@example.com", "newsletter", "", pb::Reason::PurposeOptedOut),
        (email, "sven@example.de", "newsletter", "", pb::Reason::PurposeOptedOut),
    ] {
        assert_eq!(reason(&check(&mut d, channel, who, purpose, topic).await), want, "{who} {purpose}/{topic}");
    }
    // What a record holds: times from the file (zones applied), EffectiveTo as expiry, states.
    let mut c = server.consent(None).await;
    let get = |who: &str, channel: pb::Channel| pb::GetConsentRequest {
        profile_id: "acme".into(),
        channel: channel as i32,
        contact_point: who.into(),
    };
    let records = |r: pb::GetConsentResponse| -> Vec<(String, String, i32, i64, Option<i64>)> {
        r.records
            .into_iter()
            .map(|x| {
                let at = x.occurred_at.map_or(0, |t| t.seconds);
                (x.purpose_id, x.topic_id, x.status, at, x.expires_at.map(|t| t.seconds))
            })
            .collect()
    };
    let opted_in = pb::ConsentStatus::OptedIn as i32;
    let gina = records(c.get_consent(get("gina@example.com", email)).await.expect("get").into_inner());
    assert_eq!(gina, vec![("newsletter".into(), String::new(), opted_in, 1_769_932_800, Some(1_801_440_000))]);
    let quinten = records(c.get_consent(get("quinten@example.com", email)).await.expect("get").into_inner());
    assert_eq!(quinten, vec![("newsletter".into(), String::new(), opted_in, 1_772_435_700, None)], "08:15 at +01:00");
    let eva = records(c.get_consent(get("eva@example.com", email)).await.expect("get").into_inner());
    assert_eq!(eva.len(), 1, "the duplicate row wrote once: {eva:?}");
    assert_eq!(eva[0].3, 1_773_581_400, "15-03-2026 14:30 at +01:00");
    let mona = records(c.get_consent(get("mona@example.com", email)).await.expect("get").into_inner());
    assert_eq!(mona[0].3, 1_768_035_912, "a confirmed opt-in counts from its confirmation");
    let olga = records(c.get_consent(get("olga@example.com", email)).await.expect("get").into_inner());
    let opted_out = pb::ConsentStatus::OptedOut as i32;
    assert_eq!(olga, vec![("newsletter".into(), "events".into(), opted_out, 1_769_086_800, None)]);
    for who in [
        "ben@example.com",
        "carl@example.com",
        "ivy@example.com",
        "kim@example.com",
        "piet@example.com",
        "tess@example.com",
    ] {
        let r = c.get_consent(get(who, email)).await.expect("get").into_inner();
        assert!(r.records.is_empty() && r.suppressions.is_empty(), "{who} states no consent: {r:?}");
    }
    // Proof: the double opt-in's times and addresses, and the source system, are in history.
    let reasons = history_reasons(&server, dir.path(), "mona@example.com").await;
    assert!(
        reasons.iter().any(|r| r.starts_with("Mailchimp: ")
            && r.contains("opted in 2026-01-10 09:00:00 from 192.0.2.10")
            && r.contains("confirmed 2026-01-10 09:05:12 from 192.0.2.11")),
        "{reasons:?}"
    );
    let reasons = history_reasons(&server, dir.path(), "dora@example.com").await;
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("Customer Insights - Journeys: Internal; Opt-out - Privacy concerns; Called")),
        "{reasons:?}"
    );
    let reasons = history_reasons(&server, dir.path(), "gina@example.com").await;
    assert!(reasons.iter().any(|r| r.contains("double consent captured 2026-02-01T08:07:00.000Z")), "{reasons:?}");
    server.stop().await;
}

#[tokio::test]
async fn dry_run_writes_nothing_and_explain_prints_the_mapping() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let dir = tempfile::tempdir().expect("dir");
    let c = &hubspot()[0];
    let mut args =
        s(&["--json", "import", "--dry-run", "--profile", "acme", "--preset", "hubspot", "--file", &sample(c.file)]);
    args.extend(c.flags.iter().cloned());
    let (code, out) = ctl(&server, args).await;
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["would_write"], 5);
    assert_eq!(v["by_change"]["email newsletter opted_out"], 3);
    assert_eq!(v["by_change"]["email newsletter/events opted_out"], 2);
    assert_eq!(
        v["unmapped_columns"],
        serde_json::json!(["First Name", "Last Name", "Marketing contact status", "Record ID"])
    );
    // The first rejects, with their lines and reasons.
    let (code, out) = ctl(
        &server,
        s(&[
            "--json",
            "import",
            "--dry-run",
            "--profile",
            "acme",
            "--preset",
            "journeys",
            "--file",
            &sample("journeys-labels.csv"),
        ]),
    )
    .await;
    assert_eq!(code, 3);
    let v: Value = serde_json::from_str(out.trim()).expect("json");
    // Line 5's status word, among the rejects the server adds (no mapping file: the
    // purposes are the vendor's ids, which this profile does not have).
    let rejects = v["first_rejects"].as_array().cloned().unwrap_or_default();
    assert!(rejects.iter().any(|r| r["line"] == 5 && r["reason"].as_str().unwrap_or("").contains("Misschien")), "{v}");
    let state = export_sorted(&server, &dir.path().join("state.csv")).await;
    assert!(state.is_empty(), "a dry run wrote {state:?}");
    for preset in ["generic", "journeys", "salesforce", "mailchimp", "hubspot"] {
        let (code, out) = ctl(&server, s(&["import", "--explain", "--preset", preset])).await;
        assert_eq!(code, 0);
        assert!(out.starts_with(&format!("{preset}:")) && out.contains("export"), "{out}");
    }
    let (code, _) = ctl(&server, s(&["import", "--explain", "--preset", "marketo"])).await;
    assert_eq!(code, 2, "an unknown preset is a usage error");
    server.stop().await;
}

/// A dry run's counts: (rows, would write, rejected, skipped), and the lines it rejects.
async fn dry_run(server: &TestServer, c: &Case, file: &str, dir: &Path, extra: &[&str]) -> (Value, Vec<u64>) {
    let rejects = dir.join(format!("{}.dry-rejects.csv", c.file));
    let mut args = s(&["--json", "import", "--dry-run", "--profile", "acme", "--preset", c.preset, "--file", file]);
    args.extend(c.flags.iter().cloned());
    args.extend(s(&["--reject-file", &p(&rejects)]));
    args.extend(s(extra));
    let (code, out) = ctl(server, args).await;
    let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{}: summary {out:?}: {e}", c.file));
    let rejected = v["rejected"].as_u64().unwrap_or(0);
    assert_eq!(code, if rejected > 0 { 3 } else { 0 }, "{}: {out}", c.file);
    (v, reject_lines(&rejects))
}

fn reject_lines(path: &Path) -> Vec<u64> {
    let Ok(mut reader) = csv::Reader::from_path(path) else { return Vec::new() };
    reader.records().map(|r| r.expect("row")[0].parse().expect("line")).collect()
}

/// #24: a dry run predicts the import. For every sample file and for a file with every
/// kind of bad row, on a fresh server each: the dry run's counts and rejected lines equal
/// the real import's that follows it (a row the import replays, a duplicate in the file,
/// is one the dry run would write), and the dry run wrote nothing.
#[tokio::test]
async fn dry_run_predicts_the_import_on_every_sample() {
    let all: Vec<Case> = [journeys(), salesforce(), mailchimp(), hubspot(), generic()]
        .into_iter()
        .flatten()
        .chain([case("every-bad-row.csv", "generic", &[], (20, 0, 0, 0, 0))])
        .collect();
    let dir = tempfile::tempdir().expect("dir");
    for c in &all {
        let server = TestServer::start().await;
        seed(&mut server.admin(None).await, None).await;
        let (dry, dry_lines) = dry_run(&server, c, &sample(c.file), dir.path(), &[]).await;
        assert_eq!(dry["checked_by"], "server", "{}: {dry}", c.file);
        let state = export_sorted(&server, &dir.path().join("state.csv")).await;
        assert!(state.is_empty(), "{}: a dry run wrote {state:?}", c.file);
        let real = import(&server, c, &sample(c.file), dir.path(), None).await;
        let real_lines = reject_lines(&dir.path().join(format!("{}.rejects.csv", c.file)));
        let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0);
        assert_eq!(
            (n(&dry, "rows"), n(&dry, "would_write"), n(&dry, "rejected"), n(&dry, "skipped")),
            (n(&real, "rows"), n(&real, "applied") + n(&real, "replayed"), n(&real, "rejected"), n(&real, "skipped")),
            "{}: dry run {dry} against import {real}",
            c.file
        );
        assert_eq!(dry_lines, real_lines, "{}: the rejected lines", c.file);
        if c.file == "every-bad-row.csv" {
            // Every bad row is caught, and nothing else: the good email, phone, topic and
            // suppression rows and the repeated first row are the only ones written.
            assert_eq!((n(&real, "applied"), n(&real, "replayed")), (4, 1), "{real}");
            assert_eq!(real_lines, [3, 4].into_iter().chain(6..=18).collect::<Vec<u64>>(), "{real}");
            // Checking the file alone catches only what the file shows.
            let (offline, _) = dry_run(&server, c, &sample(c.file), dir.path(), &["--offline"]).await;
            assert_eq!(offline["checked_by"], "file", "{offline}");
            assert!(n(&offline, "rejected") < n(&real, "rejected"), "{offline}");
        }
        server.stop().await;
    }
}

/// Imports the cases, exports with the preset, imports the export into the same server:
/// the state (everything but revisions) is unchanged, and nothing is rejected.
async fn round_trip(cases: Vec<Case>, export_flags: &[&str]) {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let dir = tempfile::tempdir().expect("dir");
    for c in &cases {
        import(&server, c, &sample(c.file), dir.path(), Some(c.expect)).await;
    }
    let before = export_sorted(&server, &dir.path().join("before.csv")).await;
    assert!(!before.is_empty());
    let preset = cases[0].preset;
    let out = dir.path().join(format!("{preset}-export.csv"));
    let mut args = s(&["export", "--profile", "acme", "--preset", preset, "--out", &p(&out)]);
    args.extend(export_flags.iter().map(|f| if f.ends_with(".toml") { sample(f) } else { (*f).to_owned() }));
    let (code, listing) = ctl(&server, args).await;
    assert_eq!(code, 0, "{listing}");
    let files: Vec<String> = if preset == "mailchimp" {
        ["-subscribed", "-unsubscribed", "-cleaned"]
            .iter()
            .map(|s| p(&dir.path().join(format!("{preset}-export{s}.csv"))))
            .collect()
    } else {
        vec![p(&out)]
    };
    for f in &files {
        let v = import(&server, &cases[0], f, dir.path(), None).await;
        assert_eq!(v["rejected"], 0, "{f}: {v}");
        assert!(v["rows"].as_u64().unwrap_or(0) > 0, "{f}: {v}");
    }
    let after = export_sorted(&server, &dir.path().join("after.csv")).await;
    assert_eq!(before, after, "{preset}: import → export → import changed the state");
    server.stop().await;
}

#[tokio::test]
async fn journeys_round_trip() {
    round_trip(journeys(), &["--mapping", "journeys-mapping.toml"]).await;
}

#[tokio::test]
async fn salesforce_round_trip() {
    round_trip(salesforce(), &["--mapping", "salesforce-mapping.toml"]).await;
}

#[tokio::test]
async fn mailchimp_round_trip() {
    round_trip(mailchimp(), &["--purpose", "newsletter"]).await;
}

#[tokio::test]
async fn hubspot_round_trip() {
    round_trip(hubspot(), &["--mapping", "hubspot-mapping.toml"]).await;
}
