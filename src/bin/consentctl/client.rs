//! The connection to consentd: exit codes, the error type that carries one, the three
//! service clients with the API key attached, and TLS from --ca, --cert and --key.

use consentd::api::pb;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::args::Cli;

/// Exit codes, named (BSD `sysexits` where one fits).
pub(crate) mod exit {
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

type Auth = Box<dyn FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Send + Sync>;

pub(crate) struct Clients {
    pub(crate) channel: Channel,
    pub(crate) key: Option<MetadataValue<tonic::metadata::Ascii>>,
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

    pub(crate) fn admin(&self) -> pb::admin_service_client::AdminServiceClient<InterceptedService<Channel, Auth>> {
        pb::admin_service_client::AdminServiceClient::with_interceptor(self.channel.clone(), self.auth())
    }

    pub(crate) fn consent(
        &self,
    ) -> pb::consent_service_client::ConsentServiceClient<InterceptedService<Channel, Auth>> {
        pb::consent_service_client::ConsentServiceClient::with_interceptor(self.channel.clone(), self.auth())
    }

    pub(crate) fn decision(
        &self,
    ) -> pb::decision_service_client::DecisionServiceClient<InterceptedService<Channel, Auth>> {
        pb::decision_service_client::DecisionServiceClient::with_interceptor(self.channel.clone(), self.auth())
    }
}

/// An error that knows its exit code.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
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

pub(crate) fn usage(message: String) -> Failure {
    Failure { code: exit::USAGE, message }
}

/// Connects to the first `--addr`, with TLS when a CA or client certificate is given or
/// the address is `https://`.
pub(crate) async fn connect(cli: &Cli) -> Result<Clients, Failure> {
    let addr = cli.addr.first().ok_or_else(|| usage("--addr is empty".into()))?;
    Ok(Clients { channel: connect_to(cli, addr).await?, key: api_key(cli)? })
}

/// One connection to `addr` with the TLS settings of the command line.
pub(crate) async fn connect_to(cli: &Cli, addr: &str) -> Result<tonic::transport::Channel, Failure> {
    let mut endpoint = tonic::transport::Endpoint::from_shared(addr.to_owned())
        .map_err(|e| usage(format!("bad --addr `{addr}`: {e}")))?
        .tcp_nodelay(true);
    if cli.ca.is_some() || cli.cert.is_some() || addr.starts_with("https://") {
        endpoint = endpoint.tls_config(client_tls(cli)?).map_err(|e| usage(format!("TLS settings: {e}")))?;
    }
    endpoint
        .connect()
        .await
        .map_err(|e| Failure { code: exit::UNAVAILABLE, message: format!("cannot reach {addr}: {e}") })
}

/// The `authorization` value of `--api-key`.
pub(crate) fn api_key(cli: &Cli) -> Result<Option<MetadataValue<tonic::metadata::Ascii>>, Failure> {
    match &cli.api_key {
        Some(k) => Ok(Some(format!("Bearer {k}").parse().map_err(|_| usage("API key has invalid characters".into()))?)),
        None => Ok(None),
    }
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
