//! consentctl's command line: every subcommand and its arguments. Closed sets of values
//! are `ValueEnum`s, so `--help` lists them and a typo is a usage error before anything is
//! sent.
//!
//! Long because it is declarations only: one struct or enum per subcommand and value set,
//! with their help text; no behaviour beyond mapping each value to its proto number.

use clap::{Parser, Subcommand, ValueEnum};
use consentd_proto::pb;

#[derive(Parser, Debug)]
#[command(name = "consentctl", version, about = "Command-line client of consentd")]
pub(crate) struct Cli {
    /// Server address (`bench` takes several, repeated or comma-separated, and spreads its
    /// load over them; other commands use the first).
    #[arg(long, env = "CONSENTD_ADDR", default_value = "http://127.0.0.1:50051", global = true, value_delimiter = ',')]
    pub addr: Vec<String>,
    /// API key ("<key_id>.<secret>"); not needed while the server has no keys.
    #[arg(long, env = "CONSENTD_API_KEY", global = true, hide_env_values = true)]
    pub api_key: Option<String>,
    /// CA certificate (PEM) to verify the server with; turns on TLS (use an https:// address).
    #[arg(long, env = "CONSENTD_CA", global = true)]
    pub ca: Option<std::path::PathBuf>,
    /// Client certificate (PEM) for mutual TLS, with --key.
    #[arg(long, env = "CONSENTD_CERT", global = true, requires = "key")]
    pub cert: Option<std::path::PathBuf>,
    /// Client private key (PEM) for mutual TLS, with --cert.
    #[arg(long, env = "CONSENTD_KEY", global = true, requires = "cert")]
    pub key: Option<std::path::PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Compliance profiles.
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// Purposes of a profile.
    #[command(subcommand)]
    Purpose(PurposeCmd),
    /// Topics of a purpose.
    #[command(subcommand)]
    Topic(TopicCmd),
    /// API keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Webhook subscriptions: every change POSTed to a URL, signed (Standard Webhooks).
    #[command(subcommand)]
    Webhook(WebhookCmd),
    /// Record a consent change.
    Set(SetArgs),
    /// Current records and suppressions of a contact point.
    Get(ContactArgs),
    /// Hash-chained history of a contact point, with its verification.
    History(ContactArgs),
    /// One send-time decision.
    Check(CheckArgs),
    /// The server's version, applied revision and mode.
    ServerInfo,
    /// The gRPC health of the server (exit 0: SERVING, 1: anything else), as load balancers,
    /// container health checks and Kubernetes ask it. Needs no API key.
    Health {
        /// A service to ask about instead of the whole server, e.g. consent.v1.ConsentService
        /// or consentd.storage.
        #[arg(long, default_value = "")]
        service: String,
    },
    /// The SHA-256 digest of the whole state at a revision (equal on every cluster node).
    Digest {
        /// Wait until the server has applied at least this revision.
        #[arg(long, default_value_t = 0)]
        min_revision: u64,
    },
    /// A recipient's links of the HTTP edge: one-click unsubscribe (with the
    /// List-Unsubscribe headers) and the preference center. Needs a server with --http-addr.
    MintLinks(MintLinksArgs),
    /// Add or lift a suppression.
    #[command(subcommand)]
    Suppression(SuppressionCmd),
    /// Erase a contact point at its owner's request (GDPR Art. 17) on every channel of its
    /// kind: records, plaintext and the personal data of its history go; an opt-out tombstone
    /// stays under the keyed hash until a new opt-in with proof.
    Erase(ContactArgs),
    /// The person moved to another address or number: consent (and their STOP, complaints
    /// and manual suppressions) goes to --to with its original times; --contact keeps a
    /// suppression of kind moved. Every channel of the kind; moving again changes nothing.
    Move {
        #[command(flatten)]
        contact: ContactArgs,
        /// The new email address, number or token.
        #[arg(long)]
        to: String,
    },
    /// Report permanently disconnected phone numbers from a CSV file (number, disconnection
    /// date; the US Reassigned Numbers Database's layout is accepted): consent recorded up
    /// to a number's disconnection no longer counts for it.
    ImportReassigned(ImportReassignedArgs),
    /// Confirm a double opt-in token.
    Confirm {
        token: String,
        #[arg(long, default_value = "")]
        ip: String,
        #[arg(long, default_value = "")]
        user_agent: String,
    },
    /// Feed an inbound SMS (STOP/START keywords).
    Sms {
        #[arg(long)]
        profile: String,
        #[arg(long)]
        from: String,
        body: String,
    },
    /// Import consent rows from CSV or JSON lines, streamed: consentd's columns (README) or a
    /// vendor's export layout (--preset journeys|salesforce|mailchimp|hubspot; --explain).
    Import(ImportArgs),
    /// Export the current state (CSV or JSON lines, or a preset's layout) or the history (JSON lines).
    Export(ExportArgs),
    /// Gate a send: stream a recipient CSV through CheckStream, split allowed and blocked.
    CheckFile(CheckFileArgs),
    /// Write a deterministic synthetic population as import CSV.
    Generate {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        contacts: u64,
        /// PURPOSE or PURPOSE:TOPIC,TOPIC (repeatable).
        #[arg(long = "purpose", required = true)]
        purposes: Vec<String>,
        #[arg(long, default_value = "-")]
        out: String,
    },
    /// Load-test a deployment: hot streams, unary checks, writes, a mix; report, plot, compare.
    #[command(subcommand)]
    Bench(BenchCmd),
    /// Print a shell completion script: `consentctl completions bash > /etc/bash_completion.d/consentctl`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the manual pages (consentctl.1 and one per subcommand) into a directory.
    Man {
        /// The directory (created when missing), e.g. /usr/local/share/man/man1.
        #[arg(long, default_value = ".")]
        out: std::path::PathBuf,
    },
    /// Reports read from the change feed.
    #[command(subcommand)]
    Report(ReportCmd),
    /// Signed decision receipts (`check-file --receipts`): verify them offline, replay them.
    #[command(subcommand)]
    Receipt(ReceiptCmd),
    /// The revocation fence: of a list decided allowed at a revision, write the recipients
    /// whose decision changed since (now blocked), so they can be pulled from a queued send.
    Fence(FenceArgs),
    /// Tail the change feed as JSON lines.
    Watch {
        /// Start after this revision (0: from the beginning).
        #[arg(long, default_value_t = 0)]
        after: u64,
        #[arg(long)]
        profile: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ReceiptCmd {
    /// The server's receipt public keys, as JSON (the HTTP edge serves the same at
    /// /receipt-keys); keep them to verify receipts offline.
    Keys,
    /// Check receipts' signatures offline, with the public keys (exit 3 when one fails).
    Verify {
        /// Receipt files (`receipt-<batch>.json`).
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// The keys, as `consentctl receipt keys` or the edge's /receipt-keys print them.
        #[arg(long, value_name = "FILE", required_unless_present = "public_key")]
        keys: Option<std::path::PathBuf>,
        /// A public key as ID=BASE64 (repeatable), instead of or beside --keys.
        #[arg(long, value_name = "ID=BASE64")]
        public_key: Vec<String>,
    },
    /// Decide a receipt's recipients again and print every recipient whose answer differs
    /// from the receipt's, as JSON lines (exit 3 when any does).
    Replay {
        file: std::path::PathBuf,
        /// The recipient file the receipt's batch came from (check-file's input); only the
        /// receipt's rows of it are read. The server checks they are the receipt's.
        #[arg(long)]
        recipients: std::path::PathBuf,
        #[arg(long)]
        no_header: bool,
        /// `recorded`: the state at the receipt's revision, at its time (differences mean
        /// the receipt does not match history); `occurred`: what had happened by its time,
        /// including changes recorded later (the sends a late sync exposed); `now`: today.
        #[arg(long, value_enum, default_value = "recorded")]
        against: ReplayArg,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReplayArg {
    Recorded,
    Occurred,
    Now,
}

#[derive(clap::Args, Debug)]
pub(crate) struct FenceArgs {
    /// The revision the list was decided at (check-file's receipts and answers name it).
    #[arg(long)]
    pub since_revision: u64,
    /// The recipients decided allowed then (check-file's allowed.csv).
    #[arg(long)]
    pub file: std::path::PathBuf,
    #[arg(long)]
    pub no_header: bool,
    #[arg(long)]
    pub profile: String,
    #[arg(long, value_enum)]
    pub channel: ChannelArg,
    #[arg(long)]
    pub purpose: String,
    #[arg(long, default_value = "")]
    pub topic: String,
    /// Where the recipients now blocked go, with the reason.
    #[arg(long, default_value = "pull-back.csv")]
    pub out: std::path::PathBuf,
    #[arg(long, default_value_t = 4096)]
    pub batch: usize,
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum ReportCmd {
    /// Opt-outs recorded later than their channel's deadline after they occurred, as JSON
    /// lines (exit 3 when there are any). Default deadlines: email, push and custom 48 hours
    /// (Gmail's and Yahoo's bulk-sender rule: honour an unsubscribe within two days); sms,
    /// whatsapp and voice 10 business days (the US TCPA rule on revoking consent). A
    /// suppression a person asked for (STOP, a complaint, an operator's) counts as an opt-out.
    LateOptOuts(LateOptOutsArgs),
}

#[derive(clap::Args, Debug)]
pub(crate) struct LateOptOutsArgs {
    /// Only opt-outs recorded at or after this moment (RFC 3339 or Unix seconds).
    #[arg(long, value_parser = parse_moment)]
    pub since: Option<prost_types::Timestamp>,
    /// A channel's deadline, CHANNEL=DURATION: hours (`24h`) or business days (`10bd`,
    /// Monday to Friday, no holidays); repeatable.
    #[arg(long = "deadline", value_name = "CHANNEL=DURATION", value_parser = parse_deadline)]
    pub deadlines: Vec<(ChannelArg, Deadline)>,
    /// Only these profiles (repeatable; default: every profile the key may read).
    #[arg(long)]
    pub profile: Vec<String>,
    /// Receipts kept by `check-file --receipts`: also list the sends they allowed that an
    /// opt-out made before them, but recorded after them, would have blocked (each receipt
    /// decided since --since is replayed on the occurred clock; its recipient file is read
    /// from where check-file read it).
    #[arg(long, value_name = "DIR")]
    pub receipts: Option<std::path::PathBuf>,
}

/// How long after an opt-out occurred it must be recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Deadline {
    Hours(u32),
    BusinessDays(u32),
}

fn parse_deadline(s: &str) -> Result<(ChannelArg, Deadline), String> {
    let (ch, d) = s.split_once('=').ok_or_else(|| format!("`{s}`: want CHANNEL=DURATION, e.g. email=48h"))?;
    let channel = ChannelArg::from_str(ch, true)
        .map_err(|_| format!("unknown channel `{ch}` (one of: {})", names::<ChannelArg>()))?;
    let number = |n: &str| n.parse::<u32>().map_err(|_| format!("`{d}`: want hours (`48h`) or business days (`10bd`)"));
    let deadline = if let Some(n) = d.strip_suffix("bd") {
        Deadline::BusinessDays(number(n)?)
    } else if let Some(n) = d.strip_suffix('h') {
        Deadline::Hours(number(n)?)
    } else {
        return Err(format!("`{d}`: want hours (`48h`) or business days (`10bd`)"));
    };
    Ok((channel, deadline))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Csv,
    Jsonl,
}

/// How an import reads a file's columns: the preset, the mapping file and the flags that
/// add to it (shared by import and export).
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct MappingArgs {
    /// The layout of the file: generic (consentd's columns), journeys (Customer Insights -
    /// Journeys), salesforce, mailchimp or hubspot. `--explain` shows a preset's mapping.
    #[arg(long, default_value = "generic", value_parser = preset_name)]
    pub preset: String,
    /// A mapping file (TOML): column renames, purposes, topics, brands, status words, times.
    #[arg(long)]
    pub mapping: Option<std::path::PathBuf>,
    /// The purpose (or purpose/topic) of files without a purpose column, e.g. a Mailchimp
    /// audience (repeatable).
    #[arg(long = "purpose")]
    pub purposes: Vec<String>,
}

#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ImportArgs {
    /// The input file.
    #[arg(long, required_unless_present = "explain")]
    pub file: Option<std::path::PathBuf>,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Profile for rows without a profile column.
    #[arg(long, required_unless_present_any = ["explain", "offline"], default_value = "", hide_default_value = true)]
    pub profile: String,
    #[command(flatten)]
    pub mapping: MappingArgs,
    /// Rename a column: "Source Column=field" (repeatable; fields: see --explain).
    #[arg(long = "map")]
    pub maps: Vec<String>,
    /// A status word and what it means: "Aangemeld=opted_in" (repeatable; opted_in,
    /// opted_out or not_set).
    #[arg(long = "value")]
    pub values: Vec<String>,
    /// The status of rows without one, for files whose status is implied: opted_in,
    /// opted_out or suppressed:KIND.
    #[arg(long)]
    pub status: Option<String>,
    /// The zone of times written without one: UTC or an offset such as +01:00.
    #[arg(long)]
    pub timezone: Option<String>,
    /// Read 01/02/2026 as 1 February (day first); default: `-` and `.` dates day first,
    /// `/` dates month first.
    #[arg(long, conflicts_with = "month_first")]
    pub day_first: bool,
    #[arg(long)]
    pub month_first: bool,
    /// Field delimiter: auto (from the header line), ",", ";" or "tab".
    #[arg(long, default_value = "auto")]
    pub delimiter: String,
    /// Read the whole file and print what it would write, and the first rejects; write
    /// nothing. The server checks every change as the import would (profiles, purposes,
    /// topics, channels, contact points, times); without one reachable, or with
    /// --offline, only the file itself is checked.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: check the file alone, without asking a server.
    #[arg(long, requires = "dry_run")]
    pub offline: bool,
    /// Print the preset's mapping and exit.
    #[arg(long)]
    pub explain: bool,
    /// Channel for rows whose contact column does not imply one.
    #[arg(long, value_enum, default_value = "email")]
    pub channel: ChannelArg,
    /// Where rejected lines go, each with its line number and reason, in line order
    /// (default: `rejects.csv`, or `rejects-N.csv` when that exists).
    #[arg(long)]
    pub reject_file: Option<std::path::PathBuf>,
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Batches in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(clap::Args, Debug)]
pub(crate) struct ExportArgs {
    #[arg(long)]
    pub profile: String,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Export every history event instead of the current state (JSON lines).
    #[arg(long)]
    pub history: bool,
    /// Output file ("-": standard output). The mailchimp preset writes three files beside it.
    #[arg(long, default_value = "-")]
    pub out: String,
    #[command(flatten)]
    pub mapping: MappingArgs,
}

fn preset_name(s: &str) -> Result<String, String> {
    consentd_client::bulk::Preset::from_name(s)
        .map(|_| s.to_owned())
        .ok_or_else(|| format!("unknown preset `{s}`: one of {}", consentd_client::bulk::Preset::NAMES.join(", ")))
}

#[derive(clap::Args, Debug)]
pub(crate) struct CheckFileArgs {
    /// Recipient CSV. Its first line is a header naming the contact column (`contact_point`,
    /// `email`, `phone`, `mobile`, `address` or `token`), unless --no-header.
    #[arg(long)]
    pub file: std::path::PathBuf,
    /// The file has no header row: every line is a recipient, the contact point in its
    /// first column; the output files get no header either.
    #[arg(long)]
    pub no_header: bool,
    #[arg(long)]
    pub profile: String,
    #[arg(long, value_enum)]
    pub channel: ChannelArg,
    #[arg(long)]
    pub purpose: String,
    #[arg(long, default_value = "")]
    pub topic: String,
    #[arg(long, default_value = "allowed.csv")]
    pub allowed: std::path::PathBuf,
    #[arg(long, default_value = "blocked.csv")]
    pub blocked: std::path::PathBuf,
    #[arg(long, default_value_t = 4096)]
    pub batch: usize,
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub as_of: AsOfArgs,
    /// Keep each batch's signed decision receipt in this directory (created when missing):
    /// `receipt-<batch>.json`, checked with `consentctl receipt verify` and `replay`.
    #[arg(long, value_name = "DIR")]
    pub receipts: Option<std::path::PathBuf>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum ProfileCmd {
    Create {
        id: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Default phone region, e.g. NL.
        #[arg(long, default_value = "")]
        region: String,
        /// Double opt-in on a channel, CHANNEL=MODE (repeatable). Channels: email, sms,
        /// whatsapp, push, voice, custom; modes: off, every (every opt-in), new (new
        /// contact points only).
        #[arg(long = "double-opt-in", value_name = "CHANNEL=MODE", value_parser = pair::<DoiArg>)]
        double_opt_in: Vec<(ChannelArg, DoiArg)>,
        #[arg(long = "stop-keyword")]
        stop_keywords: Vec<String>,
        #[arg(long = "start-keyword")]
        start_keywords: Vec<String>,
        /// Accent colour of the HTTP edge's pages, #rrggbb.
        #[arg(long, default_value = "")]
        brand_color: String,
        /// Language of the edge's pages when the browser asks for neither: en or nl.
        #[arg(long, default_value = "")]
        language: String,
    },
    Get {
        id: String,
    },
    List {
        #[arg(long)]
        all: bool,
    },
    /// Changes the given settings (the others stay). With --dry-run, changes nothing and
    /// reports what the change would do.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        region: Option<String>,
        /// CHANNEL=MODE (repeatable); the channels not given keep their mode.
        #[arg(long = "double-opt-in", value_name = "CHANNEL=MODE", value_parser = pair::<DoiArg>)]
        double_opt_in: Vec<(ChannelArg, DoiArg)>,
        /// Replaces the extra STOP keywords (repeatable).
        #[arg(long = "stop-keyword")]
        stop_keywords: Option<Vec<String>>,
        /// Replaces the extra START keywords (repeatable).
        #[arg(long = "start-keyword")]
        start_keywords: Option<Vec<String>>,
        #[arg(long)]
        brand_color: Option<String>,
        #[arg(long)]
        language: Option<String>,
        #[command(flatten)]
        dry_run: DryRun,
    },
    Deactivate {
        id: String,
        #[command(flatten)]
        dry_run: DryRun,
    },
}

/// Policy simulation instead of the change: every contact point of the profile decided
/// under the settings as they are and as they would be (SimulateCatalogChange).
#[derive(clap::Args, Debug, Clone, Copy)]
pub(crate) struct DryRun {
    /// Change nothing: report how many contact points would go from which decision to
    /// which, per channel, purpose and topic, with samples.
    #[arg(long)]
    pub dry_run: bool,
    /// Samples per change in a dry run (at most 100).
    #[arg(long, default_value_t = 5, requires = "dry_run")]
    pub samples: u32,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Kind {
    Commercial,
    Transactional,
    Custom,
}

#[derive(Subcommand, Debug)]
pub(crate) enum PurposeCmd {
    Create {
        #[arg(long)]
        profile: String,
        id: String,
        #[arg(long, value_enum)]
        kind: Kind,
        #[arg(long, default_value = "")]
        name: String,
        /// Enforcement on a channel, CHANNEL=MODEL (repeatable). Channels: email, sms,
        /// whatsapp, push, voice, custom; models: restrictive (opt-in), non-restrictive
        /// (opt-out), disabled.
        #[arg(long = "model", value_name = "CHANNEL=MODEL", value_parser = pair::<ModelArg>)]
        models: Vec<(ChannelArg, ModelArg)>,
    },
    List {
        #[arg(long)]
        profile: String,
    },
    /// Changes the given settings (the others stay). With --dry-run, changes nothing and
    /// reports what the change would do.
    Update {
        #[arg(long)]
        profile: String,
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// Enforcement on a channel, CHANNEL=MODEL (repeatable); the channels not given
        /// keep their model.
        #[arg(long = "model", value_name = "CHANNEL=MODEL", value_parser = pair::<ModelArg>)]
        models: Vec<(ChannelArg, ModelArg)>,
        #[command(flatten)]
        dry_run: DryRun,
    },
    Deactivate {
        #[arg(long)]
        profile: String,
        id: String,
        #[command(flatten)]
        dry_run: DryRun,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum TopicCmd {
    Create {
        #[arg(long)]
        profile: String,
        #[arg(long)]
        purpose: String,
        id: String,
    },
    List {
        #[arg(long)]
        profile: String,
        #[arg(long)]
        purpose: String,
    },
    Deactivate {
        #[arg(long)]
        profile: String,
        #[arg(long)]
        purpose: String,
        id: String,
        #[command(flatten)]
        dry_run: DryRun,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum ScopeArg {
    Check,
    Write,
    Admin,
}

#[derive(Subcommand, Debug)]
pub(crate) enum KeyCmd {
    /// Create a key; its secret is printed once.
    Create {
        #[arg(long = "scope", value_enum, required = true)]
        scopes: Vec<ScopeArg>,
        /// Limit the key to these profiles (default: all).
        #[arg(long = "profile")]
        profiles: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// When the key stops working (RFC 3339, e.g. 2027-01-31T00:00:00Z); default never.
        #[arg(long, value_parser = parse_timestamp)]
        expires_at: Option<prost_types::Timestamp>,
    },
    List,
    Revoke {
        key_id: String,
    },
    /// Add a key that signs the edge's links, or decision receipts, from now on (the older
    /// ones keep verifying); in a cluster every node adds the same one. Prints its id.
    RotateSigning {
        #[arg(value_enum)]
        kind: SigningKindArg,
    },
}

/// Which signing key `key rotate-signing` adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SigningKindArg {
    /// The edge's unsubscribe and preference links.
    Link,
    /// Decision receipts.
    Receipt,
}

/// The kinds of change a webhook subscription receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum WebhookKindArg {
    Consent,
    Suppression,
    Confirmation,
    /// Erasures and number reassignments.
    Life,
}

impl WebhookKindArg {
    pub(crate) fn pb(self) -> i32 {
        match self {
            WebhookKindArg::Consent => pb::WebhookEventKind::Consent as i32,
            WebhookKindArg::Suppression => pb::WebhookEventKind::Suppression as i32,
            WebhookKindArg::Confirmation => pb::WebhookEventKind::Confirmation as i32,
            WebhookKindArg::Life => pb::WebhookEventKind::Life as i32,
        }
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum WebhookCmd {
    /// Subscribe a URL; its signing secret (whsec_...) is printed once unless --secret-file
    /// gives it.
    Create {
        /// https://..., or http:// to a loopback address.
        #[arg(long)]
        url: String,
        /// Only changes of these profiles (default: all).
        #[arg(long = "profile")]
        profiles: Vec<String>,
        /// Only these kinds of change (default: all).
        #[arg(long = "kind", value_enum)]
        kinds: Vec<WebhookKindArg>,
        /// Send the contact point's keyed hash instead of the contact point, and no IP
        /// address or user agent.
        #[arg(long)]
        no_personal_data: bool,
        #[arg(long, default_value = "")]
        description: String,
        /// A file holding the signing secret (whsec_<base64>); default: one is generated.
        #[arg(long)]
        secret_file: Option<std::path::PathBuf>,
    },
    /// Every subscription with its position, lag and last error.
    List,
    /// Change a subscription, pause or resume it, or rotate its secret.
    Update {
        webhook_id: String,
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, conflicts_with = "resume")]
        pause: bool,
        #[arg(long)]
        resume: bool,
        /// A new signing secret (this file's, or a generated one) signs from now on; the
        /// current one keeps signing beside it for --previous-secret-hours.
        #[arg(long)]
        rotate_secret: bool,
        #[arg(long, requires = "rotate_secret")]
        secret_file: Option<std::path::PathBuf>,
        #[arg(long, default_value_t = 24, requires = "rotate_secret")]
        previous_secret_hours: u32,
    },
    Delete {
        webhook_id: String,
    },
    /// Send one signed test message now; exit 1 unless the receiver answers 2xx.
    Test {
        webhook_id: String,
    },
    /// Deliver again every change from a revision on (also resumes a paused subscription).
    Replay {
        webhook_id: String,
        #[arg(long)]
        from_revision: u64,
    },
}

#[derive(clap::Args, Debug)]
pub(crate) struct ContactArgs {
    #[arg(long)]
    pub profile: String,
    #[arg(long, value_enum)]
    pub channel: ChannelArg,
    /// The email address, phone number or token.
    #[arg(long)]
    pub contact: String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum StatusArg {
    In,
    Out,
}

#[derive(clap::Args, Debug)]
pub(crate) struct SetArgs {
    #[command(flatten)]
    pub contact: ContactArgs,
    #[arg(long)]
    pub purpose: String,
    #[arg(long, default_value = "")]
    pub topic: String,
    #[arg(long, value_enum)]
    pub status: StatusArg,
    /// Where the change came from.
    #[arg(long, value_enum, default_value = "admin")]
    pub source: SourceArg,
    #[arg(long, default_value = "")]
    pub reason: String,
    /// When the person acted, RFC 3339 (default: now).
    #[arg(long, value_parser = parse_timestamp)]
    pub occurred_at: Option<prost_types::Timestamp>,
    /// Makes a retry safe: the server answers a repeated key with the first answer (default:
    /// a fresh key, printed, to retry with).
    #[arg(long, default_value = "")]
    pub idempotency_key: String,
}

#[derive(clap::Args, Debug)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub contact: ContactArgs,
    #[arg(long)]
    pub purpose: String,
    #[arg(long, default_value = "")]
    pub topic: String,
    /// Read a state at least this fresh (a revision a write answered with): waits for it
    /// on a cluster node, fails FAILED_PRECONDITION when it does not come.
    #[arg(long, default_value_t = 0)]
    pub min_revision: u64,
    #[command(flatten)]
    pub as_of: AsOfArgs,
}

/// Deciding as of a past moment, from history.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct AsOfArgs {
    /// Decide as of this past moment instead of now: RFC 3339 (2027-03-03T09:00:00Z) or
    /// Unix seconds. The same rules on the state and catalog of that moment.
    #[arg(long, value_parser = parse_moment)]
    pub as_of: Option<prost_types::Timestamp>,
    /// The clock --as-of is read on: `recorded` (what consentd knew then) or `occurred`
    /// (what had happened by then, including changes recorded later).
    #[arg(long, value_enum, default_value = "recorded", requires = "as_of")]
    pub clock: ClockArg,
}

impl AsOfArgs {
    /// The request's `as_of` and `as_of_clock`.
    pub fn pb(&self) -> (Option<prost_types::Timestamp>, i32) {
        match self.as_of {
            None => (None, 0),
            Some(t) => (Some(t), self.clock.pb() as i32),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ClockArg {
    Recorded,
    Occurred,
}

impl ClockArg {
    pub fn pb(self) -> pb::Clock {
        match self {
            ClockArg::Recorded => pb::Clock::Recorded,
            ClockArg::Occurred => pb::Clock::Occurred,
        }
    }
}

/// RFC 3339, or whole Unix seconds.
fn parse_moment(s: &str) -> Result<prost_types::Timestamp, String> {
    if let Ok(secs) = s.trim().parse::<i64>() {
        return Ok(prost_types::Timestamp { seconds: secs, nanos: 0 });
    }
    parse_timestamp(s.trim()).map_err(|e| format!("neither Unix seconds nor {e}"))
}

#[derive(clap::Args, Debug)]
pub(crate) struct MintLinksArgs {
    #[command(flatten)]
    pub contact: ContactArgs,
    /// What the unsubscribe link opts out of: this purpose ...
    #[arg(long)]
    pub purpose: String,
    /// ... or this one of its topics.
    #[arg(long, default_value = "")]
    pub topic: String,
    /// Print only this value, bare (for a shell variable).
    #[arg(long, value_enum)]
    pub print: Option<LinkField>,
}

/// One value of `mint-links`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LinkField {
    UnsubscribeUrl,
    ListUnsubscribe,
    ListUnsubscribePost,
    PreferencesUrl,
    /// The preference center as JSON (`/api/v1/preferences/{token}`).
    PreferencesApiUrl,
}

#[derive(clap::Args, Debug)]
pub(crate) struct ImportReassignedArgs {
    /// CSV: a number column and a disconnection-date column, found by their headers
    /// (`number`/`phone`/`tn`, `disconnected_at`/`disconnect_date`/`date`), or number then date
    /// without a header. Dates: YYYY-MM-DD, YYYYMMDD, MM/DD/YYYY or RFC 3339; a date alone
    /// means the end of that day (UTC).
    #[arg(long)]
    pub file: String,
    /// Region of numbers without a country code (the Reassigned Numbers Database's are US).
    #[arg(long, default_value = "US")]
    pub region: String,
}

#[derive(Subcommand, Debug)]
pub(crate) enum SuppressionCmd {
    Add(SuppressionArgs),
    Lift(SuppressionArgs),
}

#[derive(clap::Args, Debug)]
pub(crate) struct SuppressionArgs {
    #[command(flatten)]
    pub contact: ContactArgs,
    #[arg(long, value_enum)]
    pub kind: SuppressionKindArg,
    #[arg(long, default_value = "")]
    pub reason: String,
}

/// A channel, as the API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ChannelArg {
    Email,
    Sms,
    Whatsapp,
    Push,
    Voice,
    Custom,
}

impl ChannelArg {
    pub(crate) fn pb(self) -> i32 {
        (match self {
            ChannelArg::Email => pb::Channel::Email,
            ChannelArg::Sms => pb::Channel::Sms,
            ChannelArg::Whatsapp => pb::Channel::Whatsapp,
            ChannelArg::Push => pb::Channel::Push,
            ChannelArg::Voice => pb::Channel::Voice,
            ChannelArg::Custom => pb::Channel::Custom,
        }) as i32
    }

    /// The name `--help` shows (and import files use).
    pub(crate) fn name(self) -> String {
        self.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default()
    }
}

/// Where a change came from (confirmations are recorded by `confirm` only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum SourceArg {
    PreferenceCenter,
    Form,
    Import,
    SmsKeyword,
    OneClickUnsubscribe,
    Admin,
    Api,
    CrmSync,
}

impl SourceArg {
    pub(crate) fn pb(self) -> i32 {
        (match self {
            SourceArg::PreferenceCenter => pb::ChangeSource::PreferenceCenter,
            SourceArg::Form => pb::ChangeSource::Form,
            SourceArg::Import => pb::ChangeSource::Import,
            SourceArg::SmsKeyword => pb::ChangeSource::SmsKeyword,
            SourceArg::OneClickUnsubscribe => pb::ChangeSource::OneClickUnsubscribe,
            SourceArg::Admin => pb::ChangeSource::Admin,
            SourceArg::Api => pb::ChangeSource::Api,
            SourceArg::CrmSync => pb::ChangeSource::CrmSync,
        }) as i32
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum SuppressionKindArg {
    HardBounce,
    SpamComplaint,
    SmsStop,
    Manual,
    /// Lifted when the person moved back (`consentctl move` adds it).
    Moved,
}

impl SuppressionKindArg {
    pub(crate) fn pb(self) -> i32 {
        (match self {
            SuppressionKindArg::HardBounce => pb::SuppressionKind::HardBounce,
            SuppressionKindArg::SpamComplaint => pb::SuppressionKind::SpamComplaint,
            SuppressionKindArg::SmsStop => pb::SuppressionKind::SmsStop,
            SuppressionKindArg::Manual => pb::SuppressionKind::Manual,
            SuppressionKindArg::Moved => pb::SuppressionKind::Moved,
        }) as i32
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModelArg {
    /// Opt-in: send only with consent.
    Restrictive,
    /// Opt-out: send unless opted out.
    #[value(name = "non-restrictive", alias = "non_restrictive")]
    NonRestrictive,
    Disabled,
}

impl ModelArg {
    pub(crate) fn pb(self) -> i32 {
        (match self {
            ModelArg::Restrictive => pb::EnforcementModel::Restrictive,
            ModelArg::NonRestrictive => pb::EnforcementModel::NonRestrictive,
            ModelArg::Disabled => pb::EnforcementModel::Disabled,
        }) as i32
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DoiArg {
    Off,
    /// Every opt-in waits for confirmation.
    Every,
    /// Only opt-ins of contact points with no consent yet.
    New,
}

impl DoiArg {
    pub(crate) fn pb(self) -> i32 {
        (match self {
            DoiArg::Off => pb::DoubleOptInMode::Off,
            DoiArg::Every => pb::DoubleOptInMode::EveryOptIn,
            DoiArg::New => pb::DoubleOptInMode::NewContactPoints,
        }) as i32
    }
}

impl Kind {
    pub(crate) fn pb(self) -> i32 {
        (match self {
            Kind::Commercial => pb::PurposeKind::Commercial,
            Kind::Transactional => pb::PurposeKind::Transactional,
            Kind::Custom => pb::PurposeKind::Custom,
        }) as i32
    }
}

impl ScopeArg {
    pub(crate) fn pb(self) -> i32 {
        (match self {
            ScopeArg::Check => pb::ApiKeyScope::Check,
            ScopeArg::Write => pb::ApiKeyScope::Write,
            ScopeArg::Admin => pb::ApiKeyScope::Admin,
        }) as i32
    }
}

impl StatusArg {
    pub(crate) fn pb(self) -> i32 {
        (match self {
            StatusArg::In => pb::ConsentStatus::OptedIn,
            StatusArg::Out => pb::ConsentStatus::OptedOut,
        }) as i32
    }
}

/// The names of a closed set, for error messages.
fn names<V: ValueEnum>() -> String {
    V::value_variants()
        .iter()
        .filter_map(|x| x.to_possible_value())
        .map(|p| p.get_name().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `CHANNEL=VALUE`, both halves from their closed sets.
fn pair<V: ValueEnum + Clone + Send + Sync + 'static>(s: &str) -> Result<(ChannelArg, V), String> {
    let (ch, v) = s.split_once('=').ok_or_else(|| format!("`{s}`: want CHANNEL=VALUE"))?;
    let channel = ChannelArg::from_str(ch, true)
        .map_err(|_| format!("unknown channel `{ch}` (one of: {})", names::<ChannelArg>()))?;
    let value = V::from_str(v, true).map_err(|_| format!("unknown value `{v}` (one of: {})", names::<V>()))?;
    Ok((channel, value))
}

fn parse_timestamp(s: &str) -> Result<prost_types::Timestamp, String> {
    s.parse().map_err(|e| format!("not an RFC 3339 time (e.g. 2027-01-31T00:00:00Z): {e}"))
}

#[derive(Subcommand, Debug, Clone)]
pub(crate) enum BenchCmd {
    /// CheckStream hot stream: what a bulk sender does.
    Stream {
        #[command(flatten)]
        common: BenchCommon,
        #[command(flatten)]
        shape: StreamArgs,
    },
    /// Unary Check: closed loop at --concurrency, or open loop at --rate (latency counted
    /// from each call's intended start).
    Unary {
        #[command(flatten)]
        common: BenchCommon,
        #[command(flatten)]
        pace: PaceArgs,
    },
    /// SetConsent (or BatchSetConsent with --batch) at a concurrency or a rate.
    Write {
        #[command(flatten)]
        common: BenchCommon,
        #[command(flatten)]
        pace: PaceArgs,
        /// Changes per call: 1 is SetConsent, more is BatchSetConsent.
        #[arg(long, default_value_t = 1)]
        batch: u32,
    },
    /// A hot stream alone for half the time, then with writes at --write-rate: what the
    /// writes cost the stream.
    Mixed {
        #[command(flatten)]
        common: BenchCommon,
        #[command(flatten)]
        shape: StreamArgs,
        #[arg(long, default_value_t = 1000.0)]
        write_rate: f64,
    },
    /// Import: --rows generated rows, or the consent rows of --file (consentd's columns or a
    /// --preset layout, written under the run's profile), through BatchSetConsent (1,000 per
    /// call, 4 in flight).
    Import {
        #[command(flatten)]
        common: BenchCommon,
        #[arg(long, default_value_t = 100_000)]
        rows: u64,
        /// A CSV file to import instead of generated rows.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// The layout of --file (see `consentctl import --explain`).
        #[arg(long, default_value = "generic", value_parser = preset_name)]
        preset: String,
    },
    /// Compare two reports; exit code 3 when a figure got worse than --threshold percent.
    Compare {
        old: std::path::PathBuf,
        new: std::path::PathBuf,
        #[arg(long, default_value_t = 10.0)]
        threshold: f64,
    },
    /// Deactivate a profile a bench run created (named in its report).
    Cleanup {
        #[arg(long)]
        profile: String,
    },
}

#[derive(clap::Args, Debug, Clone)]
pub(crate) struct BenchCommon {
    /// How long to measure (e.g. 30s, 2m), unless --requests.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: std::time::Duration,
    /// Stop after this many calls (or stream batches) instead of a time.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Run this long first without recording.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: std::time::Duration,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Do not create a profile and population: test an existing one (--profile, and
    /// --population-file or the --population and --seed of the run that made it).
    #[arg(long)]
    pub no_setup: bool,
    /// Contact points of the synthetic population the setup writes.
    #[arg(long, default_value_t = 100_000)]
    pub population: u64,
    /// Contact points to check, one per line (with --no-setup).
    #[arg(long, requires = "no_setup")]
    pub population_file: Option<std::path::PathBuf>,
    /// The profile to test (with --no-setup; the setup makes its own).
    #[arg(long)]
    pub profile: Option<String>,
    #[arg(long, default_value = "bench")]
    pub purpose: String,
    /// Share of recipients that are in the population.
    #[arg(long, default_value_t = 0.5)]
    pub known: f64,
    /// Write the report (settings, server revision, histograms, timeline) as JSON.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
    /// Draw latency over time and the percentile curve as SVG.
    #[arg(long)]
    pub plot: Option<std::path::PathBuf>,
    /// Allow a target that is not this machine even though the run writes data.
    #[arg(long)]
    pub i_know_this_is_not_production: bool,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(clap::Args, Debug, Clone, Copy)]
pub(crate) struct PaceArgs {
    /// Callers in a closed loop.
    #[arg(long, default_value_t = 16, conflicts_with = "rate")]
    pub concurrency: usize,
    /// Calls per second in an open loop.
    #[arg(long)]
    pub rate: Option<f64>,
}

#[derive(clap::Args, Debug, Clone, Copy)]
pub(crate) struct StreamArgs {
    #[arg(long, default_value_t = 2)]
    pub connections: usize,
    #[arg(long, default_value_t = 1)]
    pub streams_per_connection: usize,
    /// Recipients per batch.
    #[arg(long, default_value_t = 4096)]
    pub batch: usize,
    /// Share of items with a per-item topic override.
    #[arg(long, default_value_t = 0.0)]
    pub overrides: f64,
    /// Also mint links for every SEND (needs the server's HTTP edge).
    #[arg(long)]
    pub include_links: bool,
    /// Ask for a signed decision receipt with every batch.
    #[arg(long)]
    pub receipts: bool,
}

/// `500ms`, `10s`, `2m`, `1h`, or plain seconds.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).map_or((s, "s"), |i| s.split_at(i));
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a duration (e.g. 30s, 2m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}`: the unit is ms, s, m or h")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{s}` is not a duration"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}
