//! consentctl: the command-line client of consentd. Talks gRPC to a running server.
//!
//! Exit codes (see [`exit`]): 0 success (for `check`: the decision is send), 10 `check`
//! decided block, 3 done but with findings (`history`: the chain is broken; `import`: rows
//! were rejected), 2 usage error, 65 invalid input, 66 a file cannot be read, 69 server
//! unavailable, 77 not authenticated or not permitted, 1 anything else.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use consentd::api::pb;
use serde_json::{Value, json};
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Exit codes, named (BSD `sysexits` where one fits).
mod exit {
    pub const OK: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    /// The command ran, and what it found needs attention (a broken chain, rejected rows).
    pub const FINDINGS: u8 = 3;
    /// `check`: the decision is block.
    pub const BLOCKED: u8 = 10;
    pub const DATA_ERR: u8 = 65;
    pub const NO_INPUT: u8 = 66;
    pub const UNAVAILABLE: u8 = 69;
    pub const NO_PERMISSION: u8 = 77;
}

#[derive(Parser, Debug)]
#[command(name = "consentctl", version, about = "Command-line client of consentd")]
struct Cli {
    /// Server address.
    #[arg(long, env = "CONSENTD_ADDR", default_value = "http://127.0.0.1:50051", global = true)]
    addr: String,
    /// API key ("<key_id>.<secret>"); not needed while the server has no keys.
    #[arg(long, env = "CONSENTD_API_KEY", global = true, hide_env_values = true)]
    api_key: Option<String>,
    /// CA certificate (PEM) to verify the server with; turns on TLS (use an https:// address).
    #[arg(long, env = "CONSENTD_CA", global = true)]
    ca: Option<std::path::PathBuf>,
    /// Client certificate (PEM) for mutual TLS, with --key.
    #[arg(long, env = "CONSENTD_CERT", global = true, requires = "key")]
    cert: Option<std::path::PathBuf>,
    /// Client private key (PEM) for mutual TLS, with --cert.
    #[arg(long, env = "CONSENTD_KEY", global = true, requires = "cert")]
    key: Option<std::path::PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
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
    /// Record a consent change.
    Set(SetArgs),
    /// Current records and suppressions of a contact point.
    Get(ContactArgs),
    /// Hash-chained history of a contact point, with its verification.
    History(ContactArgs),
    /// One send-time decision.
    Check(CheckArgs),
    /// Add or lift a suppression.
    #[command(subcommand)]
    Suppression(SuppressionCmd),
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
    /// Import consent rows from CSV or JSON lines (columns: see README), streamed.
    Import(ImportArgs),
    /// Export the current state (CSV or JSON lines) or the history (JSON lines).
    Export {
        #[arg(long)]
        profile: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// Export every history event instead of the current state (JSON lines).
        #[arg(long)]
        history: bool,
        /// Output file ("-": standard output).
        #[arg(long, default_value = "-")]
        out: String,
    },
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
    /// Tail the change feed as JSON lines.
    Watch {
        /// Start after this revision (0: from the beginning).
        #[arg(long, default_value_t = 0)]
        after: u64,
        #[arg(long)]
        profile: Vec<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Csv,
    Jsonl,
}

#[derive(clap::Args, Debug)]
struct ImportArgs {
    /// The input file.
    #[arg(long)]
    file: std::path::PathBuf,
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Profile for rows without a profile column.
    #[arg(long)]
    profile: String,
    /// Channel for rows whose contact column does not imply one.
    #[arg(long, default_value = "email")]
    channel: String,
    /// Where rejected lines go, each with its line number and reason.
    #[arg(long, default_value = "rejects.csv")]
    reject_file: std::path::PathBuf,
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Batches in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args, Debug)]
struct CheckFileArgs {
    /// Recipient CSV with a header; the contact column is `contact_point`, `email` or `phone`.
    #[arg(long)]
    file: std::path::PathBuf,
    #[arg(long)]
    profile: String,
    #[arg(long)]
    channel: String,
    #[arg(long)]
    purpose: String,
    #[arg(long, default_value = "")]
    topic: String,
    #[arg(long, default_value = "allowed.csv")]
    allowed: std::path::PathBuf,
    #[arg(long, default_value = "blocked.csv")]
    blocked: std::path::PathBuf,
    #[arg(long, default_value_t = 4096)]
    batch: usize,
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand, Debug)]
enum ProfileCmd {
    Create {
        id: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Default phone region, e.g. NL.
        #[arg(long, default_value = "")]
        region: String,
        /// Double opt-in on a channel: CHANNEL=off|every|new.
        #[arg(long = "double-opt-in")]
        double_opt_in: Vec<String>,
        #[arg(long = "stop-keyword")]
        stop_keywords: Vec<String>,
        #[arg(long = "start-keyword")]
        start_keywords: Vec<String>,
    },
    Get {
        id: String,
    },
    List {
        #[arg(long)]
        all: bool,
    },
    Deactivate {
        id: String,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Kind {
    Commercial,
    Transactional,
    Custom,
}

#[derive(Subcommand, Debug)]
enum PurposeCmd {
    Create {
        #[arg(long)]
        profile: String,
        id: String,
        #[arg(long, value_enum)]
        kind: Kind,
        #[arg(long, default_value = "")]
        name: String,
        /// Enforcement on a channel: CHANNEL=restrictive|non_restrictive|disabled.
        #[arg(long = "model")]
        models: Vec<String>,
    },
    List {
        #[arg(long)]
        profile: String,
    },
    Deactivate {
        #[arg(long)]
        profile: String,
        id: String,
    },
}

#[derive(Subcommand, Debug)]
enum TopicCmd {
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
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ScopeArg {
    Check,
    Write,
    Admin,
}

#[derive(Subcommand, Debug)]
enum KeyCmd {
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
}

#[derive(clap::Args, Debug)]
struct ContactArgs {
    #[arg(long)]
    profile: String,
    #[arg(long)]
    channel: String,
    /// The email address, phone number or token.
    #[arg(long)]
    contact: String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum StatusArg {
    In,
    Out,
}

#[derive(clap::Args, Debug)]
struct SetArgs {
    #[command(flatten)]
    contact: ContactArgs,
    #[arg(long)]
    purpose: String,
    #[arg(long, default_value = "")]
    topic: String,
    #[arg(long, value_enum)]
    status: StatusArg,
    /// preference_center, form, import, one_click_unsubscribe, admin, api, crm_sync.
    #[arg(long, default_value = "admin")]
    source: String,
    #[arg(long, default_value = "")]
    reason: String,
    /// When the person acted, RFC 3339 (default: now).
    #[arg(long)]
    occurred_at: Option<String>,
    #[arg(long, default_value = "")]
    idempotency_key: String,
}

#[derive(clap::Args, Debug)]
struct CheckArgs {
    #[command(flatten)]
    contact: ContactArgs,
    #[arg(long)]
    purpose: String,
    #[arg(long, default_value = "")]
    topic: String,
}

#[derive(Subcommand, Debug)]
enum SuppressionCmd {
    Add(SuppressionArgs),
    Lift(SuppressionArgs),
}

#[derive(clap::Args, Debug)]
struct SuppressionArgs {
    #[command(flatten)]
    contact: ContactArgs,
    /// hard_bounce, spam_complaint, sms_stop, manual.
    #[arg(long)]
    kind: String,
    #[arg(long, default_value = "")]
    reason: String,
}

#[path = "consentctl/bulk.rs"]
mod bulk;

type Auth = Box<dyn FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Send + Sync>;

pub(crate) struct Clients {
    channel: Channel,
    key: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl Clients {
    fn auth(&self) -> Auth {
        let key = self.key.clone();
        Box::new(move |mut req: tonic::Request<()>| {
            if let Some(k) = &key {
                req.metadata_mut().insert("authorization", k.clone());
            }
            Ok(req)
        })
    }

    fn admin(&self) -> pb::admin_service_client::AdminServiceClient<InterceptedService<Channel, Auth>> {
        pb::admin_service_client::AdminServiceClient::with_interceptor(self.channel.clone(), self.auth())
    }

    fn consent(&self) -> pb::consent_service_client::ConsentServiceClient<InterceptedService<Channel, Auth>> {
        pb::consent_service_client::ConsentServiceClient::with_interceptor(self.channel.clone(), self.auth())
    }

    fn decision(&self) -> pb::decision_service_client::DecisionServiceClient<InterceptedService<Channel, Auth>> {
        pb::decision_service_client::DecisionServiceClient::with_interceptor(self.channel.clone(), self.auth())
    }
}

/// An error that knows its exit code.
pub(crate) struct Failure {
    code: u8,
    message: String,
}

impl From<tonic::Status> for Failure {
    fn from(s: tonic::Status) -> Failure {
        let code = match s.code() {
            tonic::Code::InvalidArgument
            | tonic::Code::FailedPrecondition
            | tonic::Code::AlreadyExists
            | tonic::Code::NotFound => exit::DATA_ERR,
            tonic::Code::Unavailable => exit::UNAVAILABLE,
            tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => exit::NO_PERMISSION,
            _ => exit::FAILURE,
        };
        Failure { code, message: format!("{:?}: {}", s.code(), s.message()) }
    }
}

fn usage(message: String) -> Failure {
    Failure { code: exit::USAGE, message }
}

fn channel_arg(s: &str) -> Result<i32, Failure> {
    let c = match s.to_ascii_lowercase().as_str() {
        "email" => pb::Channel::Email,
        "sms" => pb::Channel::Sms,
        "whatsapp" => pb::Channel::Whatsapp,
        "push" => pb::Channel::Push,
        "voice" => pb::Channel::Voice,
        "custom" => pb::Channel::Custom,
        other => return Err(usage(format!("unknown channel `{other}` (email, sms, whatsapp, push, voice, custom)"))),
    };
    Ok(c as i32)
}

fn enum_name(upper: &str, prefix: &str) -> String {
    upper.strip_prefix(prefix).unwrap_or(upper).to_ascii_lowercase()
}

fn ts(t: &Option<prost_types::Timestamp>) -> Value {
    match t {
        Some(t) => json!(t.seconds),
        None => Value::Null,
    }
}

fn record_json(r: &pb::ConsentRecord) -> Value {
    json!({
        "purpose": r.purpose_id,
        "topic": r.topic_id,
        "status": enum_name(pb::ConsentStatus::try_from(r.status).unwrap_or_default().as_str_name(), "CONSENT_STATUS_"),
        "occurred_at": ts(&r.occurred_at),
        "expires_at": ts(&r.expires_at),
        "revision": r.revision,
    })
}

fn result_json(r: &pb::ChangeResult) -> Value {
    json!({
        "outcome": enum_name(pb::ChangeOutcome::try_from(r.outcome).unwrap_or_default().as_str_name(), "CHANGE_OUTCOME_"),
        "revision": r.revision,
        "confirmation_token": r.confirmation_token,
        "replayed": r.replayed,
        "record": r.record.as_ref().map(record_json),
    })
}

fn profile_json(p: &pb::Profile) -> Value {
    json!({"profile_id": p.profile_id, "display_name": p.display_name, "default_region": p.default_region, "active": p.active})
}

fn purpose_json(p: &pb::Purpose) -> Value {
    let models: serde_json::Map<String, Value> = p
        .enforcement
        .iter()
        .map(|e| {
            (
                enum_name(pb::Channel::try_from(e.channel).unwrap_or_default().as_str_name(), "CHANNEL_"),
                json!(enum_name(
                    pb::EnforcementModel::try_from(e.model).unwrap_or_default().as_str_name(),
                    "ENFORCEMENT_MODEL_"
                )),
            )
        })
        .collect();
    json!({
        "profile_id": p.profile_id,
        "purpose_id": p.purpose_id,
        "kind": enum_name(pb::PurposeKind::try_from(p.kind).unwrap_or_default().as_str_name(), "PURPOSE_KIND_"),
        "enforcement": models,
        "active": p.active,
    })
}

fn key_json(k: &pb::ApiKey) -> Value {
    json!({"key_id": k.key_id, "description": k.description, "scopes": k.scopes, "profiles": k.profile_ids, "revoked": k.revoked})
}

fn print(value: &Value, as_json: bool) {
    if as_json {
        println!("{value}");
        return;
    }
    fn walk(prefix: &str, v: &Value) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&p, v);
                }
            }
            Value::Array(items) if items.iter().all(|i| i.is_object()) && !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), item);
                }
            }
            Value::String(s) if s.is_empty() => {}
            Value::Null => {}
            other => println!("{prefix}: {}", other.to_string().trim_matches('"')),
        }
    }
    walk("", value);
}

fn parse_time(s: &Option<String>) -> Result<Option<prost_types::Timestamp>, Failure> {
    match s {
        None => Ok(None),
        Some(s) => s
            .parse::<prost_types::Timestamp>()
            .map(Some)
            .map_err(|_| usage(format!("`{s}` is not an RFC 3339 time such as 2026-01-31T12:00:00Z"))),
    }
}

fn source_arg(s: &str) -> Result<i32, Failure> {
    pb::ChangeSource::from_str_name(&format!("CHANGE_SOURCE_{}", s.to_ascii_uppercase()))
        .map(|s| s as i32)
        .ok_or_else(|| usage(format!("unknown source `{s}`")))
}

fn kind_arg(s: &str) -> Result<i32, Failure> {
    pb::SuppressionKind::from_str_name(&format!("SUPPRESSION_KIND_{}", s.to_ascii_uppercase()))
        .map(|s| s as i32)
        .ok_or_else(|| usage(format!("unknown suppression kind `{s}`")))
}

fn parse_timestamp(s: &str) -> Result<prost_types::Timestamp, String> {
    s.parse().map_err(|e| format!("not an RFC 3339 time (e.g. 2027-01-31T00:00:00Z): {e}"))
}

/// TLS settings from --ca, --cert and --key.
fn client_tls(cli: &Cli) -> Result<tonic::transport::ClientTlsConfig, Failure> {
    let read = |p: &std::path::Path| {
        std::fs::read(p)
            .map_err(|e| Failure { code: exit::NO_INPUT, message: format!("cannot read `{}`: {e}", p.display()) })
    };
    let mut tls = tonic::transport::ClientTlsConfig::new();
    if let Some(ca) = &cli.ca {
        tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(read(ca)?));
    }
    if let (Some(cert), Some(key)) = (&cli.cert, &cli.key) {
        tls = tls.identity(tonic::transport::Identity::from_pem(read(cert)?, read(key)?));
    }
    Ok(tls)
}

async fn run(cli: Cli) -> Result<u8, Failure> {
    let mut endpoint =
        tonic::transport::Endpoint::from_shared(cli.addr.clone()).map_err(|e| usage(format!("bad --addr: {e}")))?;
    if cli.ca.is_some() || cli.cert.is_some() || cli.addr.starts_with("https://") {
        endpoint = endpoint.tls_config(client_tls(&cli)?).map_err(|e| usage(format!("TLS settings: {e}")))?;
    }
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| Failure { code: exit::UNAVAILABLE, message: format!("cannot reach {}: {e}", cli.addr) })?;
    let key = match &cli.api_key {
        Some(k) => Some(format!("Bearer {k}").parse().map_err(|_| usage("API key has invalid characters".into()))?),
        None => None,
    };
    let c = Clients { channel, key };
    let j = cli.json;
    match cli.command {
        Command::Profile(cmd) => match cmd {
            ProfileCmd::Create { id, name, region, double_opt_in, stop_keywords, start_keywords } => {
                let mut doi = Vec::new();
                for d in double_opt_in {
                    let (ch, mode) = d
                        .split_once('=')
                        .ok_or_else(|| usage(format!("--double-opt-in `{d}`: want CHANNEL=off|every|new")))?;
                    let mode = match mode {
                        "off" => pb::DoubleOptInMode::Off,
                        "every" => pb::DoubleOptInMode::EveryOptIn,
                        "new" => pb::DoubleOptInMode::NewContactPoints,
                        other => return Err(usage(format!("unknown double opt-in mode `{other}`"))),
                    };
                    doi.push(pb::DoubleOptInSetting { channel: channel_arg(ch)?, mode: mode as i32 });
                }
                let p = pb::Profile {
                    profile_id: id,
                    display_name: name,
                    default_region: region,
                    double_opt_in: doi,
                    extra_stop_keywords: stop_keywords,
                    extra_start_keywords: start_keywords,
                    ..Default::default()
                };
                let r = c.admin().create_profile(pb::CreateProfileRequest { profile: Some(p) }).await?.into_inner();
                print(&r.profile.as_ref().map(profile_json).unwrap_or_default(), j);
            }
            ProfileCmd::Get { id } => {
                let r = c.admin().get_profile(pb::GetProfileRequest { profile_id: id }).await?.into_inner();
                print(&r.profile.as_ref().map(profile_json).unwrap_or_default(), j);
            }
            ProfileCmd::List { all } => {
                // Every page, not just the first: a list that stops at 1,000 silently lies.
                let (mut items, mut token) = (Vec::new(), String::new());
                loop {
                    let r = c
                        .admin()
                        .list_profiles(pb::ListProfilesRequest {
                            page_size: 1000,
                            page_token: token,
                            include_inactive: all,
                        })
                        .await?
                        .into_inner();
                    items.extend(r.profiles.iter().map(profile_json));
                    token = r.next_page_token;
                    if token.is_empty() {
                        break;
                    }
                }
                print(&json!({ "profiles": items }), j);
            }
            ProfileCmd::Deactivate { id } => {
                let r =
                    c.admin().deactivate_profile(pb::DeactivateProfileRequest { profile_id: id }).await?.into_inner();
                print(&r.profile.as_ref().map(profile_json).unwrap_or_default(), j);
            }
        },
        Command::Purpose(cmd) => match cmd {
            PurposeCmd::Create { profile, id, kind, name, models } => {
                let mut enforcement = Vec::new();
                for m in models {
                    let (ch, model) =
                        m.split_once('=').ok_or_else(|| usage(format!("--model `{m}`: want CHANNEL=MODEL")))?;
                    let model = pb::EnforcementModel::from_str_name(&format!(
                        "ENFORCEMENT_MODEL_{}",
                        model.to_ascii_uppercase()
                    ))
                    .ok_or_else(|| usage(format!("unknown model `{model}`")))?;
                    enforcement.push(pb::ChannelEnforcement { channel: channel_arg(ch)?, model: model as i32 });
                }
                let kind = match kind {
                    Kind::Commercial => pb::PurposeKind::Commercial,
                    Kind::Transactional => pb::PurposeKind::Transactional,
                    Kind::Custom => pb::PurposeKind::Custom,
                };
                let p = pb::Purpose {
                    profile_id: profile,
                    purpose_id: id,
                    display_name: name,
                    kind: kind as i32,
                    enforcement,
                    ..Default::default()
                };
                let r = c.admin().create_purpose(pb::CreatePurposeRequest { purpose: Some(p) }).await?.into_inner();
                print(&r.purpose.as_ref().map(purpose_json).unwrap_or_default(), j);
            }
            PurposeCmd::List { profile } => {
                let (mut items, mut token) = (Vec::new(), String::new());
                loop {
                    let r = c
                        .admin()
                        .list_purposes(pb::ListPurposesRequest {
                            profile_id: profile.clone(),
                            page_size: 1000,
                            page_token: token,
                            include_inactive: true,
                        })
                        .await?
                        .into_inner();
                    items.extend(r.purposes.iter().map(purpose_json));
                    token = r.next_page_token;
                    if token.is_empty() {
                        break;
                    }
                }
                print(&json!({ "purposes": items }), j);
            }
            PurposeCmd::Deactivate { profile, id } => {
                let r = c
                    .admin()
                    .deactivate_purpose(pb::DeactivatePurposeRequest { profile_id: profile, purpose_id: id })
                    .await?
                    .into_inner();
                print(&r.purpose.as_ref().map(purpose_json).unwrap_or_default(), j);
            }
        },
        Command::Topic(cmd) => {
            let topic_json = |t: &pb::Topic| json!({"profile_id": t.profile_id, "purpose_id": t.purpose_id, "topic_id": t.topic_id, "active": t.active});
            match cmd {
                TopicCmd::Create { profile, purpose, id } => {
                    let t = pb::Topic { profile_id: profile, purpose_id: purpose, topic_id: id, ..Default::default() };
                    let r = c.admin().create_topic(pb::CreateTopicRequest { topic: Some(t) }).await?.into_inner();
                    print(&r.topic.as_ref().map(topic_json).unwrap_or_default(), j);
                }
                TopicCmd::List { profile, purpose } => {
                    let (mut items, mut token) = (Vec::new(), String::new());
                    loop {
                        let r = c
                            .admin()
                            .list_topics(pb::ListTopicsRequest {
                                profile_id: profile.clone(),
                                purpose_id: purpose.clone(),
                                page_size: 1000,
                                page_token: token,
                                include_inactive: true,
                            })
                            .await?
                            .into_inner();
                        items.extend(r.topics.iter().map(topic_json));
                        token = r.next_page_token;
                        if token.is_empty() {
                            break;
                        }
                    }
                    print(&json!({ "topics": items }), j);
                }
                TopicCmd::Deactivate { profile, purpose, id } => {
                    let r = c
                        .admin()
                        .deactivate_topic(pb::DeactivateTopicRequest {
                            profile_id: profile,
                            purpose_id: purpose,
                            topic_id: id,
                        })
                        .await?
                        .into_inner();
                    print(&r.topic.as_ref().map(topic_json).unwrap_or_default(), j);
                }
            }
        }
        Command::Key(cmd) => match cmd {
            KeyCmd::Create { scopes, profiles, description, expires_at } => {
                let scopes = scopes
                    .iter()
                    .map(|s| match s {
                        ScopeArg::Check => pb::ApiKeyScope::Check as i32,
                        ScopeArg::Write => pb::ApiKeyScope::Write as i32,
                        ScopeArg::Admin => pb::ApiKeyScope::Admin as i32,
                    })
                    .collect();
                let r = c
                    .admin()
                    .create_api_key(pb::CreateApiKeyRequest {
                        description,
                        scopes,
                        profile_ids: profiles,
                        expire_time: expires_at,
                    })
                    .await?
                    .into_inner();
                let mut v = r.api_key.as_ref().map(key_json).unwrap_or_default();
                v["secret"] = json!(r.secret);
                print(&v, j);
                if !j {
                    eprintln!("store the secret now: it is not shown again");
                }
            }
            KeyCmd::List => {
                let (mut items, mut token) = (Vec::new(), String::new());
                loop {
                    let r = c
                        .admin()
                        .list_api_keys(pb::ListApiKeysRequest { page_size: 1000, page_token: token })
                        .await?
                        .into_inner();
                    items.extend(r.api_keys.iter().map(key_json));
                    token = r.next_page_token;
                    if token.is_empty() {
                        break;
                    }
                }
                print(&json!({ "api_keys": items }), j);
            }
            KeyCmd::Revoke { key_id } => {
                let r = c.admin().revoke_api_key(pb::RevokeApiKeyRequest { key_id }).await?.into_inner();
                print(&r.api_key.as_ref().map(key_json).unwrap_or_default(), j);
            }
        },
        Command::Set(a) => {
            let change = pb::ConsentChange {
                profile_id: a.contact.profile,
                channel: channel_arg(&a.contact.channel)?,
                contact_point: a.contact.contact,
                purpose_id: a.purpose,
                topic_id: a.topic,
                status: match a.status {
                    StatusArg::In => pb::ConsentStatus::OptedIn,
                    StatusArg::Out => pb::ConsentStatus::OptedOut,
                } as i32,
                occurred_at: parse_time(&a.occurred_at)?,
                source: source_arg(&a.source)?,
                reason: a.reason,
                ..Default::default()
            };
            let r = c
                .consent()
                .set_consent(pb::SetConsentRequest { change: Some(change), idempotency_key: a.idempotency_key })
                .await?
                .into_inner();
            print(&r.result.as_ref().map(result_json).unwrap_or_default(), j);
        }
        Command::Get(a) => {
            let r = c
                .consent()
                .get_consent(pb::GetConsentRequest {
                    profile_id: a.profile,
                    channel: channel_arg(&a.channel)?,
                    contact_point: a.contact,
                })
                .await?
                .into_inner();
            let supp: Vec<Value> = r
                .suppressions
                .iter()
                .map(|s| json!({"kind": enum_name(pb::SuppressionKind::try_from(s.kind).unwrap_or_default().as_str_name(), "SUPPRESSION_KIND_"), "reason": s.reason, "revision": s.revision}))
                .collect();
            print(
                &json!({"contact_point": r.contact_point, "revision": r.revision, "records": r.records.iter().map(record_json).collect::<Vec<_>>(), "suppressions": supp}),
                j,
            );
        }
        Command::History(a) => {
            let mut token = String::new();
            let mut events = Vec::new();
            let verification = loop {
                let r = c
                    .consent()
                    .get_history(pb::GetHistoryRequest {
                        profile_id: a.profile.clone(),
                        channel: channel_arg(&a.channel)?,
                        contact_point: a.contact.clone(),
                        page_size: 1000,
                        page_token: token,
                    })
                    .await?
                    .into_inner();
                events.extend(r.events.iter().map(|e| {
                    json!({
                        "seq": e.seq,
                        "kind": enum_name(pb::EventKind::try_from(e.kind).unwrap_or_default().as_str_name(), "EVENT_KIND_"),
                        "applied": e.applied,
                        "revision": e.revision,
                        "purpose": e.purpose_id,
                        "topic": e.topic_id,
                        "status": enum_name(pb::ConsentStatus::try_from(e.status).unwrap_or_default().as_str_name(), "CONSENT_STATUS_"),
                        "occurred_at": ts(&e.occurred_at),
                        "recorded_at": ts(&e.recorded_at),
                        "source": enum_name(pb::ChangeSource::try_from(e.source).unwrap_or_default().as_str_name(), "CHANGE_SOURCE_"),
                        "actor": e.actor,
                        "hash": e.hash,
                    })
                }));
                token = r.next_page_token;
                if token.is_empty() {
                    break r.verification;
                }
            };
            let v = verification.unwrap_or_default();
            print(
                &json!({"events": events, "verification": {"intact": v.intact, "events_checked": v.events_checked, "first_broken_seq": v.first_broken_seq, "detail": v.detail}}),
                j,
            );
            if !v.intact {
                return Ok(exit::FINDINGS);
            }
        }
        Command::Check(a) => {
            let r = c
                .decision()
                .check(pb::CheckRequest {
                    profile_id: a.contact.profile,
                    channel: channel_arg(&a.contact.channel)?,
                    contact_point: a.contact.contact,
                    purpose_id: a.purpose,
                    topic_id: a.topic,
                    min_revision: 0,
                })
                .await?
                .into_inner();
            let send = r.decision == pb::Decision::Send as i32;
            print(
                &json!({
                    "decision": if send { "send" } else { "block" },
                    "reason": enum_name(pb::Reason::try_from(r.reason).unwrap_or_default().as_str_name(), "REASON_"),
                    // Empty (and so not printed) unless the reason is SUPPRESSED.
                    "suppression": match pb::SuppressionKind::try_from(r.suppression_kind).unwrap_or_default() {
                        pb::SuppressionKind::Unspecified => String::new(),
                        k => enum_name(k.as_str_name(), "SUPPRESSION_KIND_"),
                    },
                    "revision": r.revision,
                }),
                j,
            );
            return Ok(if send { exit::OK } else { exit::BLOCKED });
        }
        Command::Suppression(cmd) => {
            let (add, a, kind, reason) = match cmd {
                SuppressionCmd::Add(s) => (true, s.contact, s.kind, s.reason),
                SuppressionCmd::Lift(s) => (false, s.contact, s.kind, s.reason),
            };
            // The two requests have the same fields; build one and convert for lift.
            let req = pb::AddSuppressionRequest {
                profile_id: a.profile,
                channel: channel_arg(&a.channel)?,
                contact_point: a.contact,
                kind: kind_arg(&kind)?,
                reason,
                source: pb::ChangeSource::Admin as i32,
                occurred_at: None,
            };
            let (changed, revision) = if add {
                let r = c.consent().add_suppression(req).await?.into_inner();
                (r.changed, r.revision)
            } else {
                let pb::AddSuppressionRequest { profile_id, channel, contact_point, kind, reason, occurred_at, source } =
                    req;
                let lift = pb::LiftSuppressionRequest {
                    profile_id,
                    channel,
                    contact_point,
                    kind,
                    reason,
                    occurred_at,
                    source,
                };
                let r = c.consent().lift_suppression(lift).await?.into_inner();
                (r.changed, r.revision)
            };
            print(&json!({"changed": changed, "revision": revision}), j);
        }
        Command::Confirm { token, ip, user_agent } => {
            let r = c
                .consent()
                .confirm_opt_in(pb::ConfirmOptInRequest { token, ip_address: ip, user_agent, occurred_at: None })
                .await?
                .into_inner();
            print(&r.result.as_ref().map(result_json).unwrap_or_default(), j);
        }
        Command::Sms { profile, from, body } => {
            let r = c
                .consent()
                .handle_inbound_sms(pb::HandleInboundSmsRequest {
                    profile_id: profile,
                    from_number: from,
                    body,
                    occurred_at: None,
                })
                .await?
                .into_inner();
            print(
                &json!({
                    "keyword_class": enum_name(pb::KeywordClass::try_from(r.keyword_class).unwrap_or_default().as_str_name(), "KEYWORD_CLASS_"),
                    "keyword": r.keyword,
                    "changed": r.changed,
                    "revision": r.revision,
                }),
                j,
            );
        }
        Command::Import(a) => return bulk::import(&c, a, j).await,
        Command::Export { profile, format, history, out } => {
            return bulk::export(&c, &profile, format, history, &out).await;
        }
        Command::CheckFile(a) => return bulk::check_file(&c, a, j).await,
        Command::Generate { seed, contacts, purposes, out } => return bulk::generate(seed, contacts, &purposes, &out),
        Command::Watch { after, profile } => {
            let mut stream = c
                .consent()
                .watch_changes(pb::WatchChangesRequest { after_revision: after, profile_ids: profile })
                .await?
                .into_inner();
            while let Some(ch) = stream.message().await? {
                let e = ch.event.unwrap_or_default();
                println!(
                    "{}",
                    json!({
                        "revision": ch.revision,
                        "profile_id": ch.profile_id,
                        "channel": enum_name(pb::Channel::try_from(ch.channel).unwrap_or_default().as_str_name(), "CHANNEL_"),
                        "contact_point": ch.contact_point,
                        "kind": enum_name(pb::EventKind::try_from(e.kind).unwrap_or_default().as_str_name(), "EVENT_KIND_"),
                        "purpose": e.purpose_id,
                        "topic": e.topic_id,
                        "status": enum_name(pb::ConsentStatus::try_from(e.status).unwrap_or_default().as_str_name(), "CONSENT_STATUS_"),
                        "occurred_at": ts(&e.occurred_at),
                    })
                );
            }
        }
    }
    Ok(exit::OK)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("consentctl: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
