//! Deliveries over HTTP/1.1: one connection per subscription, kept while the receiver keeps
//! it open, TLS for `https://` (the system's root certificates), deadlines on every step.
//! No redirect is followed: a receiver that moved is a configuration error, said as such.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::rustls;

/// Connecting (TCP and TLS) must finish within this, and a whole request within
/// [`REQUEST_TIMEOUT`].
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of a receiver's answer read (and dropped); the rest ends the connection.
pub const ANSWER_BYTES_MAX: usize = 64 * 1024;

/// Where a subscription delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// `host[:port]` as the `host` header carries it.
    pub authority: String,
    pub path: String,
}

impl Target {
    /// Parses and checks a subscription's URL: `https://`, or `http://` to a loopback
    /// address only (a delivery carries consent data), no user info, at most `max` bytes.
    pub fn parse(url: &str, max: usize) -> Result<Target, String> {
        if url.len() > max {
            return Err(format!("longer than {max} bytes"));
        }
        let uri: hyper::Uri = url.parse().map_err(|_| "not a URL".to_owned())?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err("must be an https:// URL (http:// only to a loopback address)".to_owned()),
        };
        let authority = uri.authority().ok_or_else(|| "has no host".to_owned())?;
        if authority.as_str().contains('@') {
            return Err("must not carry user information; sign with the webhook secret".to_owned());
        }
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_owned();
        if host.is_empty() {
            return Err("has no host".to_owned());
        }
        let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !https && !loopback {
            return Err("must be https:// off a loopback address (deliveries carry consent data)".to_owned());
        }
        // The port as written: the URI parser leaves an out-of-range one unparsed.
        let port = match authority.as_str().strip_prefix(authority.host()).unwrap_or("") {
            "" => {
                if https {
                    443
                } else {
                    80
                }
            }
            written => match written.strip_prefix(':').and_then(|p| p.parse::<u16>().ok()) {
                Some(p) if p > 0 => p,
                _ => return Err("has an invalid port".to_owned()),
            },
        };
        let path = uri.path_and_query().map_or("/".to_owned(), |p| p.as_str().to_owned());
        Ok(Target { https, host, port, authority: authority.as_str().to_owned(), path })
    }
}

/// A connection to one target, opened when needed.
pub struct Client {
    target: Target,
    conn: Option<http1::SendRequest<Full<Bytes>>>,
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err("no system root certificates found (install ca-certificates)".to_owned());
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

impl Client {
    pub fn new(target: Target) -> Client {
        Client { target, conn: None }
    }

    async fn connect(&self) -> Result<http1::SendRequest<Full<Bytes>>, String> {
        let t = &self.target;
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((t.host.as_str(), t.port)))
            .await
            .map_err(|_| format!("connecting to {} timed out", t.authority))?
            .map_err(|e| format!("cannot connect to {}: {e}", t.authority))?;
        let _ = tcp.set_nodelay(true);
        if t.https {
            let name = rustls::pki_types::ServerName::try_from(t.host.clone())
                .map_err(|_| format!("`{}` is not a valid TLS server name", t.host))?;
            let tls = tokio_rustls::TlsConnector::from(tls_config()?);
            let stream = tokio::time::timeout(CONNECT_TIMEOUT, tls.connect(name, tcp))
                .await
                .map_err(|_| format!("the TLS handshake with {} timed out", t.authority))?
                .map_err(|e| format!("TLS with {}: {e}", t.authority))?;
            Self::handshake(TokioIo::new(stream)).await
        } else {
            Self::handshake(TokioIo::new(tcp)).await
        }
    }

    async fn handshake<S>(io: TokioIo<S>) -> Result<http1::SendRequest<Full<Bytes>>, String>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, conn) = http1::handshake(io).await.map_err(|e| format!("HTTP handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// POSTs `body` as JSON with `headers`; the receiver's status code, or why none came.
    pub async fn post(&mut self, headers: &[(&str, String)], body: Bytes) -> Result<u16, String> {
        tokio::time::timeout(REQUEST_TIMEOUT, self.post_once(headers, body))
            .await
            .unwrap_or_else(|_| Err(format!("no answer from {} within {REQUEST_TIMEOUT:?}", self.target.authority)))
            .inspect_err(|_| self.conn = None)
    }

    async fn post_once(&mut self, headers: &[(&str, String)], body: Bytes) -> Result<u16, String> {
        let reused = match self.conn.take() {
            Some(mut s) => s.ready().await.is_ok().then_some(s),
            None => None,
        };
        let mut sender = match reused {
            Some(s) => s,
            None => self.connect().await?,
        };
        let mut req = hyper::Request::post(self.target.path.as_str())
            .header(hyper::header::HOST, self.target.authority.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::USER_AGENT, concat!("consentd/", env!("CARGO_PKG_VERSION")));
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let req = req.body(Full::new(body)).map_err(|e| format!("building the request: {e}"))?;
        let answer =
            sender.send_request(req).await.map_err(|e| format!("sending to {}: {e}", self.target.authority))?;
        let status = answer.status().as_u16();
        // Read the answer's body (bounded) so the connection can carry the next request.
        let mut body = answer.into_body();
        let mut read = 0usize;
        let mut whole = true;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                whole = false;
                break;
            };
            read += frame.data_ref().map_or(0, Bytes::len);
            if read > ANSWER_BYTES_MAX {
                whole = false;
                break;
            }
        }
        if whole {
            self.conn = Some(sender);
        }
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_or_loopback_http() {
        let t = Target::parse("https://crm.example.com/hooks/consent?x=1", 2048).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.path.as_str()),
            (true, "crm.example.com", 443, "/hooks/consent?x=1")
        );
        let t = Target::parse("http://127.0.0.1:8080/h", 2048).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((t.https, t.port, t.authority.as_str()), (false, 8080, "127.0.0.1:8080"));
        assert!(Target::parse("http://[::1]:9/h", 2048).is_ok());
        assert!(Target::parse("http://localhost/h", 2048).is_ok());
        for (bad, why) in [
            ("http://crm.example.com/h", "https"),
            ("ftp://crm.example.com/h", "https"),
            ("https://user:pw@crm.example.com/h", "user information"),
            ("not a url", "not a URL"),
            ("/relative", "https"),
        ] {
            let err = Target::parse(bad, 2048).err().unwrap_or_default();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(Target::parse(&format!("https://e.com/{}", "a".repeat(3000)), 2048).is_err_and(|e| e.contains("2048")));
        for bad_port in ["https://e.com:99999/h", "https://e.com:abc/h", "https://e.com:0/h"] {
            assert!(Target::parse(bad_port, 2048).is_err(), "{bad_port}");
        }
    }
}
