//! The one configuration struct, built from flags, environment variables and an optional
//! TOML file (in that order of precedence), with every limit named and unit-suffixed.
//! Each option is declared once, in [`Args`]: the flag, its environment variable and its
//! key in the file are the same field (the file is read into an `Args` too), and
//! [`Args::overlay`] is the one merge. Defaults are named constants: the server's here,
//! the store's in `storage::StoreOptions`, the cluster's in `cluster::ClusterConfig`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cluster::ClusterConfig;
use crate::storage::{Clock, StoreOptions};

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Everything the server needs; built by [`Config::load`] or field by field in tests.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen_addr: SocketAddr,
    /// Prometheus metrics over plain HTTP; `None` turns them off.
    pub metrics_addr: Option<SocketAddr>,
    /// The public HTTP edge (unsubscribe, double opt-in, preference center); `None`: off.
    pub http_addr: Option<SocketAddr>,
    /// The edge's address as recipients reach it, for the links `MintLinks` makes.
    pub public_url: Option<String>,
    pub data_dir: PathBuf,
    /// Allows a non-loopback address without TLS, or while no API key exists.
    pub insecure: bool,
    /// TLS (and mutual TLS) for the gRPC listener; `None`: plaintext (loopback only unless
    /// `insecure`).
    pub tls: Option<crate::tls::TlsFiles>,
    pub log_format: LogFormat,
    /// OpenTelemetry trace export; `None`: off.
    pub otlp: Option<Otlp>,
    /// Cluster mode (a replicated log on NATS JetStream); `None`: standalone.
    pub cluster: Option<Cluster>,
    /// Every change published on a NATS subject; `None`: off.
    pub changes: Option<Changes>,
    pub limits: Limits,
}

/// The public change subject: every change, as the JSON a webhook gets, published to
/// `<subject>.<profile_id>` in a JetStream stream of its own.
#[derive(Clone, Debug)]
pub struct Changes {
    pub subject: String,
    /// Contact points, IP addresses and user agents too (else the keyed hash only).
    pub personal_data: bool,
    /// Standalone mode: the NATS to publish to (cluster mode: the cluster's).
    pub nats: Option<crate::cluster::ClusterConfig>,
}

impl Changes {
    /// The stream the messages are kept in: `<stream>-changes`.
    pub fn stream(log_stream: &str) -> String {
        format!("{log_stream}-changes")
    }
}

/// A node of a cluster: where the log is, and the secret every node shares.
#[derive(Clone, Debug)]
pub struct Cluster {
    pub log: crate::cluster::ClusterConfig,
    /// A file holding the cluster secret (at least 32 characters, the same on every node).
    pub secret_file: PathBuf,
}

/// Where spans are exported, and how many new traces are kept.
#[derive(Clone, Debug, PartialEq)]
pub struct Otlp {
    /// The collector's OTLP/gRPC address, e.g. `http://127.0.0.1:4317`.
    pub endpoint: String,
    /// Share of new traces (not started by a caller's sampled `traceparent`) kept, 0..=1.
    pub sample_ratio: f64,
}

impl Otlp {
    pub const SAMPLE_RATIO_DEFAULT: f64 = 1.0;
}

/// Limits on everything a client controls.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest decoded gRPC message.
    pub message_bytes_max: usize,
    /// Recipients in one `CheckStream` batch.
    pub check_batch_items_max: usize,
    /// Items in one `BatchSetConsent`.
    pub set_batch_items_max: usize,
    /// Concurrent HTTP/2 streams (RPCs) per connection.
    pub streams_per_connection_max: u32,
    /// Answered batches buffered per `CheckStream` before the server stops reading.
    pub stream_queue_batches_max: usize,
    /// Changes waiting for the writer.
    pub write_queue_max: usize,
    /// Changes committed with one fsync.
    pub write_group_max: usize,
    /// Concurrent `WatchChanges` streams in the whole server.
    pub watch_streams_max: usize,
    /// Concurrent `CheckStream` streams in the whole server: with the per-stream queue this
    /// bounds the memory that clients who send but never read can pin.
    pub check_streams_max: usize,
    pub block_cache_bytes: usize,
    /// Purposes one profile may create (purpose numbers are shared by all profiles).
    pub purposes_per_profile_max: usize,
    /// Topics one profile may create.
    pub topics_per_profile_max: usize,
    /// Writes are refused (RESOURCE_EXHAUSTED) while the data directory's disk has less free.
    pub disk_free_min_bytes: u64,
    /// Open client connections; past it new ones are closed at once.
    pub connections_max: usize,
    /// A new connection must send its first bytes within this.
    pub handshake_timeout_ms: u64,
    /// A connection with no traffic either way for this long is closed.
    pub connection_idle_ms: u64,
    /// How long shutdown waits for in-flight RPCs.
    pub shutdown_grace_ms: u64,
    /// HTTP edge: a request's body must arrive within this of its headers (a body sent a
    /// byte at a time held a connection open for minutes). No flag; tests shorten it.
    pub edge_body_read_ms: u64,
    /// How long a webhook delivery is retried before its subscription is paused.
    pub webhook_retry_secs: u64,
}

/// Limits that are the same for every server (part of the API's contract), beside the
/// configurable ones in [`Limits::DEFAULT`].
impl Limits {
    /// Longest idempotency key.
    pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 128;
    /// History events per page when the request names no size.
    pub const HISTORY_PAGE_DEFAULT: usize = 100;
    /// Most history events per page.
    pub const HISTORY_PAGE_MAX: usize = 1000;
    /// Cluster mode: the longest a read with `min_revision` waits for this node to catch up.
    pub const MIN_REVISION_WAIT_MS: u64 = 10_000;
    /// Longest inbound SMS body looked at (keywords are single words).
    pub const SMS_BODY_BYTES_MAX: usize = 1600;
    /// History events per `ExportRecords` message (a longer history is paged).
    pub const EXPORT_EVENTS_PER_MESSAGE_MAX: usize = 500;
    /// Longest id of a profile, purpose or topic.
    pub const ID_BYTES_MAX: usize = 64;
    /// Longest `x-request-id` a caller's request is traced under (a longer one is replaced).
    pub const REQUEST_ID_BYTES_MAX: usize = 128;
    /// Longest confirmation token accepted (declared by the store, which parses them).
    pub const CONFIRMATION_TOKEN_BYTES_MAX: usize = crate::storage::token::CONFIRMATION_TOKEN_BYTES_MAX;
    /// Longest link token accepted by the edge (declared by the store, which parses them).
    pub const LINK_BYTES_MAX: usize = crate::storage::link::LINK_BYTES_MAX;
    /// Longest STOP/START keyword a profile may list (declared by the keyword matcher).
    pub const KEYWORD_CHARS_MAX: usize = crate::decision::keywords::KEYWORD_CHARS_MAX;
    /// Webhook subscriptions one server (or cluster) keeps (declared by the store, which enforces it).
    pub const WEBHOOKS_MAX: usize = crate::storage::webhook::WEBHOOKS_MAX;
    /// Longest webhook URL.
    pub const WEBHOOK_URL_BYTES_MAX: usize = 2048;
    /// Longest free-text field (reason, display name, proof strings other than notice text).
    pub const TEXT_BYTES_MAX: usize = 1024;
    /// Longest notice text kept as proof.
    pub const NOTICE_TEXT_BYTES_MAX: usize = 64 * 1024;
    /// The earliest `occurred_at` accepted, in seconds since the epoch: 1990-01-01T00:00:00Z.
    /// Older consent records do not exist in any system consentd imports from; a time
    /// before it is a unit or default-value mistake (year 1, the epoch).
    pub const EVENT_TIME_MIN_SECS: i64 = 631_152_000;
    /// How far in the future an `occurred_at` may be (clock skew of the source system).
    pub const FUTURE_SKEW_SECS: i64 = 300;
    /// Largest page of a list call.
    pub const LIST_PAGE_MAX: usize = 1000;
    /// Bytes of messages decoded at once in the whole process (enforced by `api::codec`).
    pub const DECODE_BYTES_IN_FLIGHT_MAX: usize = consentd_proto::codec::DECODE_BYTES_IN_FLIGHT_MAX;
    /// HTTP/1.1 listeners (edge, metrics): a request's headers must arrive within this, and
    /// are buffered up to this size.
    pub const HTTP1_HEADER_READ_MS: u64 = 10_000;
    pub const HTTP1_HEAD_BYTES_MAX: usize = 64 * 1024;
    /// Descriptors kept for the store's table files, WALs and the process itself when the
    /// connection cap is derived from the open-file limit (see `net::connections_max_for`).
    pub const OPEN_FILES_RESERVED: u64 = 1024;
    /// How often every stored block is read back with checksums verified (and once after
    /// each start): a day.
    pub const VERIFY_INTERVAL_SECS: u64 = 24 * 3600;
    /// Stored bytes of history events in one page of `GetHistory` or one `ExportRecords`
    /// message: pages are cut by bytes as well as by count, so 1,000 events with 64 KiB
    /// notices come in several pages instead of failing the 16 MiB message limit (2 MiB:
    /// under the 4 MiB a stock gRPC client accepts).
    pub const HISTORY_PAGE_BYTES_MAX: usize = 2 << 20;
    /// Profiles one API key may be restricted to (the list is read on every call it makes).
    pub const API_KEY_PROFILES_MAX: usize = 256;
    /// HTTP edge: largest request body (forms and the JSON API).
    pub const EDGE_BODY_BYTES_MAX: usize = 16 * 1024;
    /// HTTP edge: requests per second each client address may make, and its burst.
    pub const EDGE_REQUESTS_PER_SEC: f64 = 5.0;
    pub const EDGE_REQUEST_BURST: f64 = 30.0;
    /// HTTP edge: client addresses tracked by the rate limiter (the oldest are dropped past it).
    pub const EDGE_CLIENTS_TRACKED_MAX: usize = 100_000;
    /// HTTP edge: changes in one JSON API request.
    pub const EDGE_CHANGES_MAX: usize = 256;
    /// HTTP edge: changes per second written through the links of one contact point, and
    /// their burst. A request that opts in waits while the bucket is empty (one larger than
    /// the burst is allowed and paid off afterwards); opt-outs are never refused, only
    /// counted. So a leaked link cannot turn one person's state into a write flood.
    pub const EDGE_LINK_CHANGES_PER_SEC: f64 = 0.1;
    pub const EDGE_LINK_CHANGE_BURST: f64 = 20.0;
    /// HTTP edge: contact points tracked by the per-link write limiter.
    pub const EDGE_LINKS_TRACKED_MAX: usize = 100_000;
    /// How long a link in a message keeps working after it was minted: a year.
    pub const LINK_VALIDITY_SECS: i64 = 366 * 24 * 3600;
    /// Changes a check stream's revocation fence reads from the change feed (16 bytes of
    /// memory each): further back, a full re-check is the cheaper answer.
    pub const FENCE_CHANGES_MAX: usize = 2_000_000;

    pub const DEFAULT: Limits = Limits {
        message_bytes_max: 16 << 20,
        check_batch_items_max: 16_384,
        set_batch_items_max: 1_000,
        streams_per_connection_max: 128,
        stream_queue_batches_max: 4,
        write_queue_max: StoreOptions::WRITE_QUEUE_MAX,
        write_group_max: StoreOptions::WRITE_GROUP_MAX,
        watch_streams_max: 256,
        check_streams_max: 256,
        block_cache_bytes: StoreOptions::BLOCK_CACHE_BYTES,
        purposes_per_profile_max: StoreOptions::PURPOSES_PER_PROFILE_MAX,
        topics_per_profile_max: StoreOptions::TOPICS_PER_PROFILE_MAX,
        disk_free_min_bytes: StoreOptions::DISK_FREE_MIN_BYTES,
        connections_max: 4_096,
        handshake_timeout_ms: 10_000,
        connection_idle_ms: 300_000,
        shutdown_grace_ms: 10_000,
        edge_body_read_ms: 10_000,
        webhook_retry_secs: 86_400,
    };

    /// The store's share of these limits.
    pub fn store_options(&self, clock: Clock) -> StoreOptions {
        StoreOptions {
            write_queue_max: self.write_queue_max,
            write_group_max: self.write_group_max,
            block_cache_bytes: self.block_cache_bytes,
            purposes_per_profile_max: self.purposes_per_profile_max,
            topics_per_profile_max: self.topics_per_profile_max,
            disk_free_min_bytes: self.disk_free_min_bytes,
            ..StoreOptions::new(clock)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file `{path}`: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file `{path}` is not valid: {source}")]
    Parse { path: String, source: Box<toml::de::Error> },
    #[error("`{field}` must be {rule}, got `{value}`")]
    Invalid { field: &'static str, rule: &'static str, value: String },
    /// One of two settings that only work together was given alone.
    #[error("{given} `{value}` is given without {missing}: {why}; pass both, or neither")]
    Unpaired { given: &'static str, missing: &'static str, value: String, why: &'static str },
}

/// Command-line flags; each also reads a `CONSENTD_*` environment variable.
/// The TOML file has the same keys (snake_case), all optional, and no others.
#[derive(Clone, Debug, Default, clap::Parser, Serialize, Deserialize)]
#[command(name = "consentd", version, about = "Consent decision service")]
#[serde(default, deny_unknown_fields)]
pub struct Args {
    /// Optional TOML file with the same keys as the flags (snake_case).
    #[arg(long, env = "CONSENTD_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// gRPC listen address [default: 127.0.0.1:50051].
    #[arg(long, env = "CONSENTD_LISTEN_ADDR")]
    pub listen_addr: Option<SocketAddr>,
    /// Prometheus metrics address [default: 127.0.0.1:9464]; "off" disables.
    #[arg(long, env = "CONSENTD_METRICS_ADDR")]
    pub metrics_addr: Option<String>,
    /// The public HTTP edge's address (one-click unsubscribe, double opt-in page, preference
    /// center) [default: off]. Uses --tls-cert/--tls-key when they are set.
    #[arg(long, env = "CONSENTD_HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,
    /// The edge's URL as recipients reach it, e.g. https://consent.example.com [default:
    /// http(s)://<http-addr>].
    #[arg(long, env = "CONSENTD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Data directory [default: ./data].
    #[arg(long, env = "CONSENTD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Allow a non-loopback listen address without TLS, or while no API key exists.
    #[arg(long, env = "CONSENTD_INSECURE", num_args = 0..=1, default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new())]
    pub insecure: Option<bool>,
    /// PEM certificate chain for TLS (with --tls-key); reloaded when the file changes.
    #[arg(long, env = "CONSENTD_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS.
    #[arg(long, env = "CONSENTD_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificates: clients must present a certificate signed by one (mutual TLS).
    #[arg(long, env = "CONSENTD_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// Offline recovery when every admin key is lost or revoked: with the server stopped,
    /// create an unrestricted admin key with this description in the data directory,
    /// print it once, and exit.
    #[arg(long, value_name = "DESCRIPTION")]
    #[serde(skip)]
    pub create_admin_key: Option<String>,
    /// Offline, with the server stopped: add a new key for the edge's link tokens (it signs
    /// from then on; links signed with older keys keep working), print its id, and exit.
    #[arg(long)]
    #[serde(skip)]
    pub rotate_link_key: bool,
    /// Offline, with the server stopped: add a new key for decision receipts (it signs from
    /// then on; receipts signed with older keys keep verifying), print its id, and exit.
    #[arg(long)]
    #[serde(skip)]
    pub rotate_receipt_key: bool,
    /// Log format [default: text].
    #[arg(long, env = "CONSENTD_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Export tracing spans to this OpenTelemetry collector (OTLP over gRPC), e.g.
    /// `http://127.0.0.1:4317` [default: off].
    #[arg(long, env = "CONSENTD_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// Share of new traces exported, 0 to 1; a caller's sampled `traceparent` is always
    /// followed [default: 1].
    #[arg(long, env = "CONSENTD_OTLP_SAMPLE_RATIO")]
    pub otlp_sample_ratio: Option<f64>,
    /// Publish every change as JSON (the webhook schema, `consentd.webhook.v1`) to
    /// `SUBJECT.<profile_id>`, kept in the JetStream stream `<cluster stream>-changes`, on
    /// the cluster's NATS or `--changes-nats`'s [default: off].
    #[arg(long, env = "CONSENTD_CHANGES_SUBJECT", value_name = "SUBJECT")]
    pub changes_subject: Option<String>,
    /// Standalone mode: the NATS servers (comma-separated) `--changes-subject` publishes to,
    /// reached with the `--cluster-*` access flags (credentials, TLS).
    #[arg(long, env = "CONSENTD_CHANGES_NATS", value_name = "NATS_URLS")]
    pub changes_nats: Option<String>,
    /// Publish contact points, IP addresses and user agents on `--changes-subject` [default:
    /// false: the contact point's keyed hash only].
    #[arg(long, env = "CONSENTD_CHANGES_PERSONAL_DATA", num_args = 0..=1, default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new())]
    pub changes_personal_data: Option<bool>,
    /// Cluster mode: NATS server URLs (comma-separated) of the JetStream cluster that
    /// holds the replicated log [default: standalone].
    #[arg(long, env = "CONSENTD_CLUSTER", value_name = "NATS_URLS")]
    pub cluster: Option<String>,
    /// The JetStream stream of the log [default: consentd].
    #[arg(long, env = "CONSENTD_CLUSTER_STREAM")]
    pub cluster_stream: Option<String>,
    /// Replicas of the stream when this node creates it [default: 3].
    #[arg(long, env = "CONSENTD_CLUSTER_REPLICAS")]
    pub cluster_replicas: Option<usize>,
    /// This node's name in the cluster [default: the host name and gRPC port].
    #[arg(long, env = "CONSENTD_NODE_ID")]
    pub node_id: Option<String>,
    /// File with the cluster secret, the same on every node (e.g. `openssl rand -hex 32`),
    /// readable by its owner only.
    #[arg(long, env = "CONSENTD_CLUSTER_SECRET_FILE")]
    pub cluster_secret_file: Option<PathBuf>,
    /// Cluster mode: a NATS credentials file (`.creds`: user JWT and nkey seed) to
    /// connect with.
    #[arg(long, env = "CONSENTD_CLUSTER_CREDS", value_name = "FILE")]
    pub cluster_creds: Option<PathBuf>,
    /// Cluster mode: the NATS user to connect as (with `--cluster-password-file`).
    #[arg(long, env = "CONSENTD_CLUSTER_USER")]
    pub cluster_user: Option<String>,
    /// Cluster mode: a file holding the NATS user's password.
    #[arg(long, env = "CONSENTD_CLUSTER_PASSWORD_FILE", value_name = "FILE")]
    pub cluster_password_file: Option<PathBuf>,
    /// Cluster mode: a file holding a NATS authentication token.
    #[arg(long, env = "CONSENTD_CLUSTER_TOKEN_FILE", value_name = "FILE")]
    pub cluster_token_file: Option<PathBuf>,
    /// Cluster mode: PEM CA certificate(s) to verify the NATS servers with; TLS to NATS is
    /// then required.
    #[arg(long, env = "CONSENTD_CLUSTER_CA", value_name = "FILE")]
    pub cluster_ca: Option<PathBuf>,
    /// Cluster mode: a PEM client certificate for NATS servers that verify clients (with
    /// `--cluster-key`).
    #[arg(long, env = "CONSENTD_CLUSTER_CERT", value_name = "FILE")]
    pub cluster_cert: Option<PathBuf>,
    /// Cluster mode: the PEM private key of `--cluster-cert`.
    #[arg(long, env = "CONSENTD_CLUSTER_KEY", value_name = "FILE")]
    pub cluster_key: Option<PathBuf>,
    /// Cluster mode: take a snapshot when the stored one is older than this; 0: never
    /// [default: 3600].
    #[arg(long, env = "CONSENTD_SNAPSHOT_INTERVAL_SECS")]
    pub snapshot_interval_secs: Option<u64>,
    /// Cluster mode: log entries kept below the newest snapshot when trimming [default: 1000000].
    #[arg(long, env = "CONSENTD_LOG_RETAIN_ENTRIES")]
    pub log_retain_entries: Option<u64>,
    #[arg(long, env = "CONSENTD_MESSAGE_BYTES_MAX")]
    pub message_bytes_max: Option<usize>,
    #[arg(long, env = "CONSENTD_CHECK_BATCH_ITEMS_MAX")]
    pub check_batch_items_max: Option<usize>,
    #[arg(long, env = "CONSENTD_SET_BATCH_ITEMS_MAX")]
    pub set_batch_items_max: Option<usize>,
    #[arg(long, env = "CONSENTD_STREAMS_PER_CONNECTION_MAX")]
    pub streams_per_connection_max: Option<u32>,
    #[arg(long, env = "CONSENTD_WRITE_QUEUE_MAX")]
    pub write_queue_max: Option<usize>,
    #[arg(long, env = "CONSENTD_WATCH_STREAMS_MAX")]
    pub watch_streams_max: Option<usize>,
    #[arg(long, env = "CONSENTD_CHECK_STREAMS_MAX")]
    pub check_streams_max: Option<usize>,
    #[arg(long, env = "CONSENTD_BLOCK_CACHE_BYTES")]
    pub block_cache_bytes: Option<usize>,
    /// How long a stop waits for open calls before closing them; a second signal stops at once.
    #[arg(long, env = "CONSENTD_SHUTDOWN_GRACE_MS")]
    pub shutdown_grace_ms: Option<u64>,
    #[arg(long, env = "CONSENTD_DISK_FREE_MIN_BYTES")]
    pub disk_free_min_bytes: Option<u64>,
    #[arg(long, env = "CONSENTD_CONNECTIONS_MAX")]
    pub connections_max: Option<usize>,
    #[arg(long, env = "CONSENTD_HANDSHAKE_TIMEOUT_MS")]
    pub handshake_timeout_ms: Option<u64>,
    #[arg(long, env = "CONSENTD_CONNECTION_IDLE_MS")]
    pub connection_idle_ms: Option<u64>,
    /// How long a failing webhook delivery is retried (exponential backoff with jitter)
    /// before its subscription is paused [default: 86400].
    #[arg(long, env = "CONSENTD_WEBHOOK_RETRY_SECS")]
    pub webhook_retry_secs: Option<u64>,
}

impl Args {
    /// The one merge: every option `self` gives (a flag or its environment variable) over
    /// `file`'s. Done on the options' serialized form, so a new option needs no line here.
    pub fn overlay(self, file: Args) -> Result<Args, ConfigError> {
        let invalid = |e: serde_json::Error| ConfigError::Invalid {
            field: "arguments",
            rule: "representable as UTF-8 text",
            value: e.to_string(),
        };
        let mut merged = serde_json::to_value(&file).map_err(invalid)?;
        let given = serde_json::to_value(&self).map_err(invalid)?;
        if let (Some(merged), Some(given)) = (merged.as_object_mut(), given.as_object()) {
            for (key, value) in given.iter().filter(|(_, v)| !v.is_null()) {
                merged.insert(key.clone(), value.clone());
            }
        }
        let merged: Args = serde_json::from_value(merged).map_err(invalid)?;
        Ok(Args {
            config: self.config,
            create_admin_key: self.create_admin_key,
            rotate_link_key: self.rotate_link_key,
            rotate_receipt_key: self.rotate_receipt_key,
            ..merged
        })
    }
}

fn positive<T: PartialOrd + Default + ToString>(field: &'static str, v: T) -> Result<T, ConfigError> {
    if v > T::default() {
        Ok(v)
    } else {
        Err(ConfigError::Invalid { field, rule: "greater than 0", value: v.to_string() })
    }
}

impl Config {
    pub const LISTEN_ADDR_DEFAULT: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 50051);
    pub const METRICS_ADDR_DEFAULT: &str = "127.0.0.1:9464";
    pub const DATA_DIR_DEFAULT: &str = "data";
    pub const LOG_FORMAT_DEFAULT: LogFormat = LogFormat::Text;

    /// Flags and environment first, then the file, then the defaults.
    pub fn load(args: Args) -> Result<Config, ConfigError> {
        let a = match args.config.clone() {
            Some(path) => args.overlay(read_file(&path)?)?,
            None => args,
        };
        let d = Limits::DEFAULT;
        let metrics = a.metrics_addr.unwrap_or_else(|| Config::METRICS_ADDR_DEFAULT.to_owned());
        let metrics_addr = match metrics.as_str() {
            "off" | "" => None,
            s => Some(s.parse().map_err(|_| ConfigError::Invalid {
                field: "metrics_addr",
                rule: "a socket address or `off`",
                value: s.to_owned(),
            })?),
        };
        let limits = Limits {
            message_bytes_max: positive("message_bytes_max", a.message_bytes_max.unwrap_or(d.message_bytes_max))?,
            check_batch_items_max: positive(
                "check_batch_items_max",
                a.check_batch_items_max.unwrap_or(d.check_batch_items_max),
            )?,
            set_batch_items_max: positive(
                "set_batch_items_max",
                a.set_batch_items_max.unwrap_or(d.set_batch_items_max),
            )?,
            streams_per_connection_max: positive(
                "streams_per_connection_max",
                a.streams_per_connection_max.unwrap_or(d.streams_per_connection_max),
            )?,
            write_queue_max: positive("write_queue_max", a.write_queue_max.unwrap_or(d.write_queue_max))?,
            watch_streams_max: positive("watch_streams_max", a.watch_streams_max.unwrap_or(d.watch_streams_max))?,
            check_streams_max: positive("check_streams_max", a.check_streams_max.unwrap_or(d.check_streams_max))?,
            block_cache_bytes: a.block_cache_bytes.unwrap_or(d.block_cache_bytes),
            shutdown_grace_ms: a.shutdown_grace_ms.unwrap_or(d.shutdown_grace_ms),
            disk_free_min_bytes: a.disk_free_min_bytes.unwrap_or(d.disk_free_min_bytes),
            connections_max: positive("connections_max", a.connections_max.unwrap_or(d.connections_max))?,
            handshake_timeout_ms: positive(
                "handshake_timeout_ms",
                a.handshake_timeout_ms.unwrap_or(d.handshake_timeout_ms),
            )?,
            connection_idle_ms: positive("connection_idle_ms", a.connection_idle_ms.unwrap_or(d.connection_idle_ms))?,
            webhook_retry_secs: positive("webhook_retry_secs", a.webhook_retry_secs.unwrap_or(d.webhook_retry_secs))?,
            ..d
        };
        let tls = match (a.tls_cert, a.tls_key) {
            (Some(cert), Some(key)) => Some(crate::tls::TlsFiles { cert, key, client_ca: a.tls_client_ca }),
            (None, None) => match a.tls_client_ca {
                None => None,
                Some(ca) => {
                    return Err(ConfigError::Invalid {
                        field: "tls_client_ca",
                        rule: "used together with tls_cert and tls_key",
                        value: ca.display().to_string(),
                    });
                }
            },
            (Some(cert), None) => {
                return Err(ConfigError::Unpaired {
                    given: "--tls-cert (tls_cert)",
                    missing: "--tls-key (tls_key)",
                    value: cert.display().to_string(),
                    why: "TLS needs the certificate and its private key",
                });
            }
            (None, Some(key)) => {
                return Err(ConfigError::Unpaired {
                    given: "--tls-key (tls_key)",
                    missing: "--tls-cert (tls_cert)",
                    value: key.display().to_string(),
                    why: "TLS needs the private key and its certificate",
                });
            }
        };
        let otlp = match a.otlp_endpoint {
            None => None,
            Some(endpoint) => {
                if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                    return Err(ConfigError::Invalid {
                        field: "otlp_endpoint",
                        rule: "an http:// or https:// URL",
                        value: endpoint,
                    });
                }
                let sample_ratio = a.otlp_sample_ratio.unwrap_or(Otlp::SAMPLE_RATIO_DEFAULT);
                if !(0.0..=1.0).contains(&sample_ratio) {
                    return Err(ConfigError::Invalid {
                        field: "otlp_sample_ratio",
                        rule: "between 0 and 1",
                        value: sample_ratio.to_string(),
                    });
                }
                Some(Otlp { endpoint, sample_ratio })
            }
        };
        let listen_addr = a.listen_addr.unwrap_or(Config::LISTEN_ADDR_DEFAULT);
        let user = a.cluster_user;
        let password_file = a.cluster_password_file;
        let user = match (user, password_file) {
            (Some(user), Some(password_file)) => Some((user, password_file)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Invalid {
                    field: "cluster_password_file",
                    rule: "required with cluster_user",
                    value: "missing".to_owned(),
                });
            }
            (None, Some(p)) => {
                return Err(ConfigError::Invalid {
                    field: "cluster_user",
                    rule: "required with cluster_password_file",
                    value: p.display().to_string(),
                });
            }
        };
        let cert = a.cluster_cert;
        let key = a.cluster_key;
        let client_cert = match (cert, key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            (c, _) => {
                return Err(ConfigError::Invalid {
                    field: if c.is_some() { "cluster_key" } else { "cluster_cert" },
                    rule: "cluster_cert and cluster_key go together",
                    value: "missing".to_owned(),
                });
            }
        };
        let access = crate::cluster::NatsAccess {
            creds_file: a.cluster_creds,
            user,
            token_file: a.cluster_token_file,
            ca_file: a.cluster_ca,
            client_cert,
        };
        let cluster = match a.cluster {
            None => None,
            Some(urls) => {
                let secret_file = a.cluster_secret_file.ok_or(ConfigError::Invalid {
                    field: "cluster_secret_file",
                    rule: "required in cluster mode (the same secret file on every node)",
                    value: "missing".to_owned(),
                })?;
                let stream = a.cluster_stream.clone().unwrap_or_else(|| ClusterConfig::STREAM_DEFAULT.to_owned());
                if stream.is_empty() || !stream.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                    return Err(ConfigError::Invalid {
                        field: "cluster_stream",
                        rule: "letters, digits, - and _",
                        value: stream,
                    });
                }
                let replicas = a.cluster_replicas.unwrap_or(ClusterConfig::REPLICAS_DEFAULT);
                if !(1..=5).contains(&replicas) {
                    return Err(ConfigError::Invalid {
                        field: "cluster_replicas",
                        rule: "1 to 5 (JetStream's limit)",
                        value: replicas.to_string(),
                    });
                }
                let node_id = a.node_id.clone().unwrap_or_else(|| {
                    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
                    format!("{}-{}", host.trim(), listen_addr.port())
                });
                let snapshot_interval_secs =
                    a.snapshot_interval_secs.unwrap_or(ClusterConfig::SNAPSHOT_INTERVAL_SECS_DEFAULT);
                let retain_entries = a.log_retain_entries.unwrap_or(ClusterConfig::RETAIN_ENTRIES_DEFAULT);
                let access = access.clone();
                let log =
                    ClusterConfig { urls, stream, replicas, node_id, snapshot_interval_secs, retain_entries, access };
                Some(Cluster { log, secret_file })
            }
        };
        let changes = match (a.changes_subject, &cluster) {
            (None, _) => {
                if let Some(urls) = a.changes_nats {
                    return Err(ConfigError::Invalid {
                        field: "changes_nats",
                        rule: "only with changes_subject",
                        value: urls,
                    });
                }
                None
            }
            (Some(subject), cluster) => {
                let token_ok =
                    |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if subject.len() > 128 || !subject.split('.').all(token_ok) {
                    return Err(ConfigError::Invalid {
                        field: "changes_subject",
                        rule: "NATS subject tokens of letters, digits, - and _, separated by dots (no wildcards), at most 128 bytes",
                        value: subject,
                    });
                }
                let nats = match (a.changes_nats, cluster) {
                    (Some(urls), Some(_)) => {
                        return Err(ConfigError::Invalid {
                            field: "changes_nats",
                            rule: "standalone mode only: a cluster publishes on its own NATS",
                            value: urls,
                        });
                    }
                    (None, Some(_)) => None,
                    (Some(urls), None) => Some(ClusterConfig {
                        urls,
                        stream: a.cluster_stream.clone().unwrap_or_else(|| ClusterConfig::STREAM_DEFAULT.to_owned()),
                        replicas: a.cluster_replicas.unwrap_or(1),
                        node_id: a.node_id.clone().unwrap_or_else(|| format!("standalone-{}", listen_addr.port())),
                        snapshot_interval_secs: 0,
                        retain_entries: 0,
                        access: access.clone(),
                    }),
                    (None, None) => {
                        return Err(ConfigError::Invalid {
                            field: "changes_subject",
                            rule: "needs NATS: cluster mode, or changes_nats in standalone mode",
                            value: subject,
                        });
                    }
                };
                Some(Changes { subject, personal_data: a.changes_personal_data.unwrap_or(false), nats })
            }
        };
        Ok(Config {
            tls,
            otlp,
            cluster,
            changes,
            listen_addr,
            metrics_addr,
            http_addr: a.http_addr,
            public_url: a.public_url.map(|u| u.trim_end_matches('/').to_owned()),
            data_dir: a.data_dir.unwrap_or_else(|| PathBuf::from(Config::DATA_DIR_DEFAULT)),
            insecure: a.insecure.unwrap_or(false),
            log_format: a.log_format.unwrap_or(Config::LOG_FORMAT_DEFAULT),
            limits,
        })
    }
}

fn read_file(path: &Path) -> Result<Args, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
    toml::from_str(&text)
        .map_err(|source| ConfigError::Parse { path: path.display().to_string(), source: Box::new(source) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/consentd.example.toml` names every key of the file, each valid, and what it
    /// sets is the default.
    #[test]
    fn the_example_configuration_names_every_key_with_its_default() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/consentd.example.toml");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        // As shipped: loads, and equals no file at all.
        let shipped =
            Config::load(Args { config: Some(path.clone()), ..Args::default() }).unwrap_or_else(|e| panic!("{e}"));
        let bare = Config::load(Args::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(format!("{:?}", shipped.limits), format!("{:?}", bare.limits));
        assert_eq!(
            (shipped.listen_addr, shipped.metrics_addr, &shipped.data_dir, shipped.insecure, shipped.log_format),
            (bare.listen_addr, bare.metrics_addr, &bare.data_dir, bare.insecure, bare.log_format)
        );
        // Every commented key, uncommented, is a valid key with a valid value.
        let all: String = text
            .lines()
            .map(|l| l.strip_prefix("# ").filter(|r| r.contains(" = ")).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let parsed: Result<Args, _> = toml::from_str(&all);
        assert!(parsed.is_ok(), "{parsed:?}");
        // Every key the file format has appears: toml's refusal of an unknown key lists them.
        let err = toml::from_str::<Args>("not_a_key = 1").err().map(|e| e.to_string()).unwrap_or_default();
        let expected = err.split("expected one of").nth(1).unwrap_or_else(|| panic!("{err}"));
        let keys: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        assert!(keys.len() > 30, "{err}");
        for key in keys {
            assert!(all.lines().any(|l| l.starts_with(&format!("{key} = "))), "`{key}` is not in the example");
        }
    }

    #[test]
    fn insecure_is_a_bare_flag_a_boolish_value_or_a_file_key() {
        use clap::Parser;
        let parse = |argv: &[&str]| Args::try_parse_from(argv).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parse(&["consentd", "--insecure", "--data-dir", "x"]).insecure, Some(true));
        assert_eq!(parse(&["consentd", "--insecure=false"]).insecure, Some(false));
        assert_eq!(parse(&["consentd"]).insecure, None);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "insecure = true\n").unwrap_or_else(|e| panic!("{e}"));
        let from_file = Config::load(Args { config: Some(path.clone()), ..Args::default() });
        assert!(from_file.unwrap_or_else(|e| panic!("{e}")).insecure);
        let flag_over_file = Config::load(Args { config: Some(path), insecure: Some(false), ..Args::default() });
        assert!(!flag_over_file.unwrap_or_else(|e| panic!("{e}")).insecure);
    }

    #[test]
    fn the_change_subject_needs_nats_and_a_plain_subject() {
        let load = |a: Args| Config::load(a);
        let field = |r: Result<Config, ConfigError>| match r {
            Err(ConfigError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let subject = |s: &str| Some(s.to_owned());
        assert_eq!(field(load(Args { changes_subject: subject("crm.consent"), ..Args::default() })), "changes_subject");
        let nats = Some("nats://127.0.0.1:4222".to_owned());
        for bad in ["crm.*", "crm.>", "crm..consent", "", "crm consent", ".crm"] {
            let a = Args { changes_subject: subject(bad), changes_nats: nats.clone(), ..Args::default() };
            assert_eq!(field(load(a)), "changes_subject", "{bad:?}");
        }
        assert_eq!(field(load(Args { changes_nats: nats.clone(), ..Args::default() })), "changes_nats");
        let standalone =
            Args { changes_subject: subject("crm.consent"), changes_nats: nats.clone(), ..Args::default() };
        let c = load(standalone).unwrap_or_else(|e| panic!("{e}")).changes.unwrap_or_else(|| panic!("changes"));
        assert_eq!((c.subject.as_str(), c.personal_data), ("crm.consent", false));
        let to = c.nats.unwrap_or_else(|| panic!("its NATS"));
        assert_eq!((to.urls.as_str(), to.replicas, to.stream.as_str()), ("nats://127.0.0.1:4222", 1, "consentd"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cluster = Args {
            cluster: nats.clone(),
            cluster_secret_file: Some(dir.path().join("secret")),
            changes_subject: subject("crm.consent"),
            changes_personal_data: Some(true),
            ..Args::default()
        };
        let c = load(cluster.clone()).unwrap_or_else(|e| panic!("{e}")).changes.unwrap_or_else(|| panic!("changes"));
        assert!(c.nats.is_none() && c.personal_data);
        assert_eq!(field(load(Args { changes_nats: nats, ..cluster })), "changes_nats");
    }

    #[test]
    fn flags_beat_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "data_dir = \"/from/file\"\ncheck_batch_items_max = 7\nmetrics_addr = \"off\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let args = Args { config: Some(path.clone()), check_batch_items_max: Some(9), ..Args::default() };
        let c = Config::load(args).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.data_dir, PathBuf::from("/from/file"));
        assert_eq!(c.limits.check_batch_items_max, 9);
        assert_eq!(c.metrics_addr, None);
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:50051");

        std::fs::write(&path, "bogus = 1\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(Config::load(Args { config: Some(path), ..Args::default() }), Err(ConfigError::Parse { .. })));
        let zero = Args { write_queue_max: Some(0), ..Args::default() };
        let err = Config::load(zero).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("write_queue_max"), "{err}");
    }

    #[test]
    fn a_tls_certificate_without_its_key_names_both_flags() {
        let cert = Args { tls_cert: Some("/etc/consentd/cert.pem".into()), ..Args::default() };
        let err = Config::load(cert).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            err,
            "--tls-cert (tls_cert) `/etc/consentd/cert.pem` is given without --tls-key (tls_key): TLS needs \
             the certificate and its private key; pass both, or neither"
        );
        let key = Args { tls_key: Some("/etc/consentd/key.pem".into()), ..Args::default() };
        let err = Config::load(key).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with("--tls-key (tls_key) `/etc/consentd/key.pem` is given without --tls-cert"), "{err}");
    }

    #[test]
    fn otlp_is_off_unless_an_endpoint_is_given_and_checked_when_it_is() {
        assert_eq!(Config::load(Args::default()).map(|c| c.otlp).ok(), Some(None));
        let on = Args { otlp_endpoint: Some("http://127.0.0.1:4317".into()), ..Args::default() };
        let otlp = Config::load(on).ok().and_then(|c| c.otlp);
        assert_eq!(otlp, Some(Otlp { endpoint: "http://127.0.0.1:4317".into(), sample_ratio: 1.0 }));
        let bare = Args { otlp_endpoint: Some("collector:4317".into()), ..Args::default() };
        let err = Config::load(bare).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("otlp_endpoint") && err.contains("collector:4317"), "{err}");
        let ratio =
            Args { otlp_endpoint: Some("https://c:4317".into()), otlp_sample_ratio: Some(1.5), ..Args::default() };
        let err = Config::load(ratio).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("otlp_sample_ratio"), "{err}");
    }

    /// The flag tables of docs/operations.md (configuration and cluster) name every flag
    /// consentd has, and no flag it does not have: the documentation cannot drift from the
    /// declarations.
    #[test]
    fn the_operations_guide_documents_every_flag() {
        use clap::CommandFactory;
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/operations.md");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Table rows whose first cell names flags: "| `--tls-cert`, `--tls-key` | ...".
        let mut documented = std::collections::BTreeSet::new();
        for line in text.lines().filter(|l| l.starts_with("| `--")) {
            let first = line.split('|').nth(1).unwrap_or("");
            for part in first.split('`').skip(1).step_by(2) {
                if let Some(flag) = part.strip_prefix("--") {
                    documented.insert(flag.split_whitespace().next().unwrap_or(flag).to_owned());
                }
            }
        }
        let declared: std::collections::BTreeSet<String> = Args::command()
            .get_arguments()
            .filter_map(|a| a.get_long().map(str::to_owned))
            .filter(|l| l != "help" && l != "version")
            .collect();
        let missing: Vec<_> = declared.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&declared).collect();
        assert!(missing.is_empty(), "flags without a row in docs/operations.md: {missing:?}");
        assert!(unknown.is_empty(), "rows in docs/operations.md for flags consentd lacks: {unknown:?}");
    }
}
