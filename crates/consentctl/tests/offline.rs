//! consentctl's commands that need no server, run as a user runs them. (The commands that
//! talk to a server are tested against real servers in the workspace's `tests/it`; this
//! file also makes `cargo test` build the binary those tests run.)

use std::process::Command;

/// Runs consentctl with `args`; (exit code, stdout, stderr). The address is never contacted.
fn ctl(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_consentctl"))
        .args(args)
        .env("CONSENTD_ADDR", "http://127.0.0.1:9")
        .output()
        .unwrap_or_else(|e| panic!("run consentctl: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// #24: shell completions and manual pages, generated from the command line itself.
#[test]
fn completions_and_manual_pages_cover_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = ctl(&["completions", shell]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("consentctl") && out.contains("check-file") && out.contains("dry-run"), "{shell}: {out}");
    }
    let (code, _, _) = ctl(&["completions", "tcsh"]);
    assert_eq!(code, 2, "an unknown shell is a usage error");
    let dir = std::env::temp_dir().join(format!("consentctl-man-{}", std::process::id()));
    let man = dir.join("man1");
    let (code, out, err) = ctl(&["man", "--out", &man.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    for page in ["consentctl.1", "consentctl-import.1", "consentctl-check-file.1", "consentctl-key-create.1"] {
        let text = std::fs::read_to_string(man.join(page)).unwrap_or_else(|e| panic!("{page}: {e}; wrote {out}"));
        assert!(text.contains(".TH"), "{page}: {text}");
    }
    assert!(out.lines().count() > 20, "one page per subcommand: {out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A dry run without a server checks the file alone, and says so.
#[test]
fn an_offline_dry_run_says_what_it_did_not_check() {
    let dir = std::env::temp_dir().join(format!("consentctl-dry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("rows.csv");
    std::fs::write(
        &file,
        "email,purpose,status\njane@example.com,newsletter,yes\njohn@example.com,newsletter,perhaps\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let f = file.display().to_string();
    let (code, out, err) = ctl(&["--json", "import", "--dry-run", "--profile", "acme", "--file", &f]);
    assert_eq!(code, 3, "one row is rejected: {out} {err}");
    assert!(err.contains("no server reachable") && err.contains("contact points are not checked"), "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out}: {e}"));
    assert_eq!(
        (v["checked_by"].as_str(), v["would_write"].as_u64(), v["rejected"].as_u64()),
        (Some("file"), Some(1), Some(1))
    );
    let (code, _, err) = ctl(&["import", "--dry-run", "--offline", "--file", &f]);
    assert_eq!(code, 3, "{err}");
    assert!(err.is_empty(), "--offline asked for it: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}
