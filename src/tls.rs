//! TLS and mutual TLS for the listeners: rustls (ring), with the certificate chain, the
//! private key and the optional client CA read from PEM files, and read again when any of
//! them changes on disk, so a renewed certificate takes effect without a restart.
//!
//! A reload that fails (a half-written file, a key that does not match) keeps the last good
//! configuration and logs why; connections already open keep the configuration they
//! started with.
//!
//! Must not touch: anything above the byte stream.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

/// Where the server's TLS material lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM CA certificates; when set, clients must present a certificate they signed (mTLS).
    pub client_ca: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read `{path}`: {detail}")]
    Read { path: String, detail: String },
    #[error("`{path}` holds no {what}")]
    Empty { path: String, what: &'static str },
    #[error("TLS configuration refused: {0}")]
    Config(String),
}

/// The current server configuration, swapped when the files change.
#[derive(Debug)]
pub struct ReloadingTls {
    files: TlsFiles,
    /// The one application protocol offered by ALPN.
    alpn: &'static [u8],
    current: ArcSwap<ServerConfig>,
    /// Modification times and sizes of the files the current configuration was read from.
    stamp: Mutex<Vec<Option<(SystemTime, u64)>>>,
}

impl ReloadingTls {
    /// Reads the files once; fails if they do not make a configuration.
    pub fn new(files: TlsFiles) -> Result<ReloadingTls, TlsError> {
        ReloadingTls::with_alpn(files, b"h2")
    }

    /// For the public HTTP edge: HTTP/1.1 by ALPN and no client certificates (browsers and
    /// mail clients have none), with the same certificate and key as the gRPC listener.
    pub fn for_http1(files: &TlsFiles) -> Result<ReloadingTls, TlsError> {
        ReloadingTls::with_alpn(TlsFiles { client_ca: None, ..files.clone() }, b"http/1.1")
    }

    fn with_alpn(files: TlsFiles, alpn: &'static [u8]) -> Result<ReloadingTls, TlsError> {
        let stamp = stamp(&files);
        let config = server_config(&files, alpn)?;
        Ok(ReloadingTls { files, alpn, current: ArcSwap::from_pointee(config), stamp: Mutex::new(stamp) })
    }

    /// An acceptor with the configuration in force now.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.current.load_full())
    }

    /// Reads the files again if any changed; returns whether a new configuration is in force.
    pub fn reload_if_changed(&self) -> bool {
        let now = stamp(&self.files);
        let Ok(mut seen) = self.stamp.lock() else { return false };
        if *seen == now {
            return false;
        }
        *seen = now;
        match server_config(&self.files, self.alpn) {
            Ok(config) => {
                self.current.store(Arc::new(config));
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "TLS files changed but do not load; keeping the previous certificate");
                false
            }
        }
    }
}

fn stamp(files: &TlsFiles) -> Vec<Option<(SystemTime, u64)>> {
    [Some(&files.cert), Some(&files.key), files.client_ca.as_ref()]
        .into_iter()
        .map(|p| p.and_then(|p| std::fs::metadata(p).ok()).and_then(|m| Some((m.modified().ok()?, m.len()))))
        .collect()
}

fn read_err(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::Read { path: path.display().to_string(), detail: e.to_string() }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| read_err(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_err(path, e))?;
    if certs.is_empty() {
        return Err(TlsError::Empty { path: path.display().to_string(), what: "PEM certificate" });
    }
    Ok(certs)
}

/// A server configuration from the files, offering `alpn` (gRPC clients insist on `h2`).
pub fn server_config(files: &TlsFiles, alpn: &[u8]) -> Result<ServerConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| read_err(&files.key, e))?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(ca)? {
                roots.add(cert).map_err(|e| read_err(ca, e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TlsError::Config(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(config)
}
