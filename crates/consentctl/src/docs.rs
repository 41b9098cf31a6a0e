//! consentctl's own documentation: shell completion scripts and manual pages, both
//! generated from the command line's declarations, so they cannot drift from it.

use clap::CommandFactory;

use crate::args::Cli;
use crate::client::{Failure, exit};

/// `consentctl completions SHELL`: the script on stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> Result<u8, Failure> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "consentctl", &mut std::io::stdout());
    Ok(exit::OK)
}

/// `consentctl man --out DIR`: `consentctl.1` and `consentctl-SUBCOMMAND.1` (nested
/// subcommands too), then the list of files written.
pub(crate) fn man(out: &std::path::Path) -> Result<u8, Failure> {
    let failed = |e: std::io::Error| Failure {
        code: exit::FAILURE,
        message: format!("cannot write manual pages into `{}`: {e}", out.display()),
    };
    std::fs::create_dir_all(out).map_err(failed)?;
    let cmd = Cli::command();
    clap_mangen::generate_to(cmd, out).map_err(failed)?;
    let mut pages: Vec<String> = std::fs::read_dir(out)
        .map_err(failed)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("consentctl") && n.ends_with(".1"))
        .collect();
    pages.sort();
    for p in &pages {
        println!("{}", out.join(p).display());
    }
    Ok(exit::OK)
}
