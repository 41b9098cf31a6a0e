//! `consentctl bench` against a running server, as a load tester runs it: the report's
//! structure for each scenario, open-loop pacing, two addresses at once, `compare` catching
//! a planted regression, `cleanup`, and the refusal to write to a machine that is not this
//! one. Counts are asserted, never times.

use serde_json::Value;

use crate::cli::{ctl, p, s};
use crate::support::*;

/// Runs `consentctl --json bench ARGS --quiet --warmup 0s` against `server`; returns the
/// exit code and the report.
async fn bench(server: &TestServer, args: &[&str]) -> (i32, Value) {
    let mut all = s(&["--json", "bench"]);
    all.extend(s(args));
    all.extend(s(&["--quiet", "--warmup", "0s"]));
    let (code, out) = ctl(server, all).await;
    let report = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("report {out:?}: {e}"));
    (code, report)
}

fn phase<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["phases"]
        .as_array()
        .and_then(|v| v.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no phase {name} in {report}"))
}

#[tokio::test]
async fn every_scenario_reports_the_same_structure() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("unary.json");
    let plot = dir.path().join("unary.svg");
    let (code, r) =
        bench(&server, &["unary", "--requests", "300", "--population", "500", "--out", &p(&out), "--plot", &p(&plot)])
            .await;
    assert_eq!(code, 0, "{r}");
    let profile = r["profile"].as_str().unwrap_or("").to_owned();
    assert!(profile.starts_with("bench-1-"), "{r}");
    let u = phase(&r, "unary");
    assert_eq!(u["operations"], 300);
    assert!(u["errors"].as_object().is_some_and(|e| e.is_empty()), "{u}");
    let l = &u["latency"];
    for k in ["p50_us", "p90_us", "p99_us", "p999_us", "max_us"] {
        assert!(l[k].as_u64().unwrap_or(0) > 0, "{k} in {l}");
    }
    assert!(l["p50_us"].as_u64() <= l["p99_us"].as_u64() && l["p99_us"].as_u64() <= l["max_us"].as_u64());
    assert!(!u["percentiles"].as_array().is_some_and(Vec::is_empty), "the percentile curve");
    assert!(
        r["revision_after"].as_u64() >= r["revision_before"].as_u64() && r["revision_before"].as_u64() >= Some(500)
    );
    assert_eq!(r["server_version"], env!("CARGO_PKG_VERSION"), "the server names its version");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).expect("report file")).expect("json");
    assert_eq!(written["phases"][0]["operations"], 300, "--out holds the same report");
    let svg = std::fs::read_to_string(&plot).expect("plot");
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>") && svg.contains("polyline"), "{svg}");

    // The same profile again without a setup: stream batches of 100.
    let (code, r) = bench(
        &server,
        &["stream", "--no-setup", "--profile", &profile, "--population", "500", "--requests", "8", "--batch", "100"],
    )
    .await;
    assert_eq!(code, 0, "{r}");
    let st = phase(&r, "stream");
    assert_eq!((st["operations"].as_u64(), st["items"].as_u64()), (Some(8), Some(800)), "{st}");

    let (code, r) =
        bench(&server, &["write", "--no-setup", "--profile", &profile, "--requests", "50", "--batch", "10"]).await;
    assert_eq!(code, 0, "{r}");
    assert_eq!(phase(&r, "write")["items"], 500);

    let (code, r) = bench(&server, &["import", "--no-setup", "--profile", &profile, "--rows", "2500"]).await;
    assert_eq!(code, 0, "{r}");
    assert_eq!(phase(&r, "import")["items"], 2500);

    // A given file: consentctl's own generated population, written under the run's profile.
    let file = dir.path().join("pop.csv");
    let (code, _) =
        ctl(&server, s(&["generate", "--seed", "3", "--contacts", "400", "--purpose", "bench", "--out", &p(&file)]))
            .await;
    assert_eq!(code, 0);
    let consent_rows = std::fs::read_to_string(&file)
        .expect("generated")
        .lines()
        .skip(1)
        .filter(|l| l.contains(",opted_in,") || l.contains(",opted_out,"))
        .count() as u64;
    let (code, r) = bench(&server, &["import", "--no-setup", "--profile", &profile, "--file", &p(&file)]).await;
    assert_eq!(code, 0, "{r}");
    assert_eq!(phase(&r, "import")["items"].as_u64(), Some(consent_rows), "every consent row of the file");

    let (code, r) = bench(
        &server,
        &["mixed", "--no-setup", "--profile", &profile, "--duration", "2s", "--write-rate", "50", "--batch", "200"],
    )
    .await;
    assert_eq!(code, 0, "{r}");
    for name in ["stream alone", "stream with writes", "writes"] {
        assert!(phase(&r, name)["operations"].as_u64().unwrap_or(0) > 0, "{name}: {r}");
    }
    assert!(r["derived"]["stream_with_writes_ratio"].as_f64().unwrap_or(0.0) > 0.0);

    // Cleanup deactivates the run's profile, and only a bench profile.
    let (code, _) = ctl(&server, s(&["bench", "cleanup", "--profile", &profile])).await;
    assert_eq!(code, 0);
    let got = server
        .admin(None)
        .await
        .get_profile(consentd::api::pb::GetProfileRequest { profile_id: profile.clone() })
        .await
        .expect("get")
        .into_inner();
    assert!(!got.profile.expect("profile").active, "cleanup deactivates");
    let (code, _) = ctl(&server, s(&["bench", "cleanup", "--profile", "acme"])).await;
    assert_eq!(code, 2, "not a bench profile");
    server.stop().await;
}

#[tokio::test]
async fn open_loop_pacing_hits_its_rate() {
    let server = TestServer::start().await;
    let (code, r) = bench(&server, &["unary", "--rate", "400", "--duration", "4s", "--population", "200"]).await;
    assert_eq!(code, 0, "{r}");
    let u = phase(&r, "unary");
    assert_eq!(u["operations"], 1600, "every scheduled call was made");
    // Calls finished in the whole seconds between the first and the last: about the rate
    // (counts per second from the timeline; the edges are partial seconds).
    let timeline = u["timeline"].as_array().expect("timeline");
    let middle: Vec<u64> = timeline
        .iter()
        .filter(|s| (1..=2).contains(&s["second"].as_u64().unwrap_or(0)))
        .map(|s| s["count"].as_u64().unwrap_or(0))
        .collect();
    let total: u64 = middle.iter().sum();
    assert_eq!(middle.len(), 2, "{timeline:?}");
    // ±25%: the test shares the machine with the rest of the suite; a closed loop would
    // finish thousands a second, an unpaced generator all 1,600 at once.
    assert!((600..=1000).contains(&total), "{total} calls in seconds 1 and 2 at 400/s: {middle:?}");
    server.stop().await;
}

#[tokio::test]
async fn two_addresses_and_compare_catches_a_planted_regression() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let addr = format!("http://{}", server.addr);
    let twice = format!("{addr},http://localhost:{}", server.addr.port());
    let old = dir.path().join("old.json");
    let (code, r) =
        bench(&server, &["--addr", &twice, "unary", "--requests", "400", "--population", "200", "--out", &p(&old)])
            .await;
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["settings"]["addr"].as_array().map(Vec::len), Some(2), "{r}");
    // The same report with the throughput cut by a third and the p99 doubled.
    let mut worse = r.clone();
    let ph = &mut worse["phases"][0];
    for k in ["items_per_s", "operations_per_s"] {
        ph[k] = Value::from(ph[k].as_f64().unwrap_or(0.0) * 0.66);
    }
    ph["latency"]["p99_us"] = Value::from(ph["latency"]["p99_us"].as_u64().unwrap_or(0) * 2);
    let new = dir.path().join("new.json");
    std::fs::write(&new, serde_json::to_string(&worse).expect("json")).expect("write");
    let (code, out) = ctl(&server, s(&["bench", "compare", &p(&old), &p(&new), "--threshold", "10"])).await;
    assert_eq!(code, 3, "a regression past the threshold: {out}");
    assert!(out.contains("REGRESSED") && out.contains("p99"), "{out}");
    let (code, out) = ctl(&server, s(&["bench", "compare", &p(&old), &p(&old)])).await;
    assert_eq!(code, 0, "{out}");
    server.stop().await;
}

#[tokio::test]
async fn a_remote_target_needs_the_flag() {
    let server = TestServer::start().await;
    let (code, out) = ctl(&server, s(&["--addr", "http://192.0.2.1:50051", "bench", "unary", "--requests", "1"])).await;
    assert_eq!(code, 2, "{out}");
    server.stop().await;
}

/// #24: `--no-setup` with a profile or purpose the server does not know fails once,
/// before the run, instead of measuring thousands of failing calls and exiting 0.
#[tokio::test]
async fn no_setup_with_an_unknown_profile_fails_before_the_run() {
    let server = TestServer::start().await;
    seed(&mut server.admin(None).await, None).await;
    let addr = format!("http://{}", server.addr);
    for (profile, purpose, want) in
        [("acmee", "newsletter", "profile `acmee` does not exist"), ("acme", "nope", "purpose `nope`")]
    {
        let (code, out, err) = crate::cli::ctl_at(
            &addr,
            s(&[
                "bench",
                "unary",
                "--no-setup",
                "--profile",
                profile,
                "--purpose",
                purpose,
                "--requests",
                "5000",
                "--quiet",
                "--warmup",
                "0s",
            ]),
        )
        .await;
        assert_eq!(code, 65, "{out} {err}");
        assert!(err.contains(want) && err.contains("nothing was measured"), "{err}");
        assert!(out.trim().is_empty(), "no report: {out}");
    }
    server.stop().await;
}
