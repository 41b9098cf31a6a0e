//! The connection to consentd: exit codes, the error type that carries one, the three
//! service clients with the API key attached, and TLS from --ca, --cert and --key.

use std::time::Duration;

use consentd_client::connect::Key;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// The three service clients over one connection, with the API key on every call.
pub(crate) use consentd_client::connect::Clients;

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
        let mut message = format!("{:?}: {}", s.code(), s.message());
        // A status made by the client's own transport ("transport error", "Cancelled")
        // says nothing; its causes (refused, a TLS alert, an unknown issuer) do.
        if let Some(source) = std::error::Error::source(&s) {
            message.push_str(&format!(" ({})", chain(source)));
        }
        if s.code() == tonic::Code::Unauthenticated {
            message.push_str(
                ": pass an API key with --api-key KEY or the environment variable CONSENTD_API_KEY \
                 (`consentctl key create` makes one)",
            );
        }
        Failure { code, message }
    }
}

/// An error and its causes, `: `-separated.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
        next = cause.source();
    }
    text
}

/// The connection settings of a command line, kept for [`diagnose`] after the command
/// has taken the rest.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    addr: String,
    ca: bool,
    cert: bool,
}

impl Settings {
    pub(crate) fn of(cli: &Cli) -> Settings {
        Settings {
            addr: cli.addr.first().map(|a| with_scheme(cli, a)).unwrap_or_default(),
            ca: cli.ca.is_some(),
            cert: cli.cert.is_some(),
        }
    }
}

/// A failure to reach the server, told as its cause and what to do about it. The
/// transport's own words ("transport error", "connection closed") name neither, so this
/// looks at the address itself: whether anything listens, and whether it answers in TLS
/// or in plaintext HTTP/2. `None` when the failure is not about reaching the server.
pub(crate) async fn diagnose(settings: &Settings, f: &Failure) -> Option<String> {
    // A status the server sent (UNAVAILABLE while draining, say) carries its own words;
    // only the transport's failures are looked into.
    const TRANSPORT: &[&str] = &[
        "cannot reach",
        "transport error",
        "Cancelled",
        "h2 protocol error",
        "connection closed",
        "connection reset",
        "broken pipe",
    ];
    if !(f.code == exit::UNAVAILABLE || f.code == exit::FAILURE) || !TRANSPORT.iter().any(|t| f.message.contains(t)) {
        return None;
    }
    let addr = settings.addr.as_str();
    let tls = addr.starts_with("https://");
    let rest = addr.split_once("://").map_or(addr, |(_, r)| r);
    let host_port = rest.split('/').next().unwrap_or(rest).to_owned();
    let detail = f.message.as_str();
    let fix_plain = format!("use http://{host_port}");
    let fix_tls = format!("use https://{host_port} and --ca FILE (the CA certificate that signed the server's)");
    let connect = tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(host_port.as_str()));
    let mut stream = match connect.await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Some(format!(
                "cannot reach `{addr}`: {e}: is consentd running there? Check --addr (or CONSENTD_ADDR; \
                 default http://127.0.0.1:50051)"
            ));
        }
        Err(_) => {
            return Some(format!(
                "cannot reach `{addr}`: no answer within 3 s: check --addr (or CONSENTD_ADDR) and the firewall"
            ));
        }
    };
    if tls {
        if detail.contains("UnknownIssuer") || detail.contains("invalid peer certificate") {
            let why = if detail.contains("NotValidForName") {
                format!("does not name the host of `{addr}`: connect by a name the certificate has")
            } else if settings.ca {
                "is not signed by the CA of --ca: pass the CA that signed it".to_owned()
            } else {
                "is not signed by a CA this machine trusts (self-signed or a private CA): pass --ca FILE with \
                 the CA certificate"
                    .to_owned()
            };
            return Some(format!("TLS with `{addr}` failed: the server's certificate {why} ({detail})"));
        }
        if detail.contains("CertificateRequired") || detail.contains("certificate required") {
            return Some(format!(
                "`{addr}` requires a client certificate (mutual TLS): pass --cert FILE --key FILE{} ({detail})",
                if settings.cert { " signed by a CA the server trusts" } else { "" }
            ));
        }
        if detail.contains("BadCertificate") || detail.contains("UnknownCA") || detail.contains("bad certificate") {
            return Some(format!(
                "`{addr}` refused the client certificate of --cert: it needs one signed by a CA it trusts ({detail})"
            ));
        }
    }
    // Ask in HTTP/2 and look at the first bytes of the answer: a TLS server answers with a
    // TLS record (0x15 alert, 0x16 handshake), an HTTP/2 server with a SETTINGS frame.
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    let mut first = [0u8; 5];
    let answered = async {
        stream.write_all(PREFACE).await?;
        stream.read_exact(&mut first).await
    };
    let speaks = match tokio::time::timeout(Duration::from_secs(3), answered).await {
        Ok(Ok(_)) if first[0] == 0x15 || first[0] == 0x16 => Some("TLS"),
        Ok(Ok(_)) if first[3] == 0x04 => Some("HTTP/2"),
        _ => None,
    };
    match (tls, speaks) {
        (false, Some("TLS")) => Some(format!("the server at `{addr}` speaks TLS: {fix_tls}")),
        (true, Some("HTTP/2")) => Some(format!("the server at `{addr}` does not speak TLS: {fix_plain}")),
        (false, Some("HTTP/2")) if f.code == exit::FAILURE || detail.contains("transport error") => {
            Some(format!("`{addr}` answers in HTTP/2, but the call failed at the transport: {detail}"))
        }
        // TLS on both sides, and still the connection ended: what a server that wants a
        // client certificate does when the alert saying so is lost in the close.
        (true, Some("TLS")) if !settings.cert => Some(format!(
            "`{addr}` closed the connection after the TLS handshake: it most likely requires a client \
             certificate (mutual TLS): pass --cert FILE --key FILE ({detail})"
        )),
        (true, Some("TLS")) => Some(format!(
            "`{addr}` closed the connection after the TLS handshake: it may not accept the certificate of \
             --cert (it needs one signed by a CA it trusts) ({detail})"
        )),
        (_, None) => Some(format!(
            "`{addr}` accepts connections but does not answer as consentd (is it the gRPC port, not the \
             metrics or edge port?): {detail}"
        )),
        _ => None,
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

/// `addr` with a scheme: an address written as `host:port` means plaintext, or TLS when
/// --ca or --cert is given (the transport cannot connect to an address without one).
fn with_scheme(cli: &Cli, addr: &str) -> String {
    consentd_client::connect::with_scheme(addr, cli.ca.is_some() || cli.cert.is_some())
}

/// One connection to `addr` with the TLS settings of the command line.
pub(crate) async fn connect_to(cli: &Cli, addr: &str) -> Result<tonic::transport::Channel, Failure> {
    let addr = with_scheme(cli, addr);
    let mut endpoint = tonic::transport::Endpoint::from_shared(addr.clone())
        .map_err(|e| usage(format!("bad --addr `{addr}`: {e}")))?
        .tcp_nodelay(true);
    if cli.ca.is_some() || cli.cert.is_some() || addr.starts_with("https://") {
        endpoint = endpoint.tls_config(client_tls(cli)?).map_err(|e| usage(format!("TLS settings: {e}")))?;
    }
    endpoint
        .connect()
        .await
        .map_err(|e| Failure { code: exit::UNAVAILABLE, message: format!("cannot reach {addr}: {}", chain(&e)) })
}

/// The key of `--api-key`, sent on every call.
pub(crate) fn api_key(cli: &Cli) -> Result<Key, Failure> {
    Key::bearer(cli.api_key.as_deref()).map_err(|e| usage(format!("--api-key: {e}")))
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
