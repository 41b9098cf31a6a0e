//! gRPC over TLS and mutual TLS, with certificates made at test time, and a certificate
//! renewed on disk while the server runs.

use std::path::Path;
use std::time::Duration;

use consentd::api::pb;
use consentd::tls::TlsFiles;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::support::*;

/// A CA that signs server and client certificates.
pub(crate) struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    pub(crate) fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        Ca { issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("ca") }
    }

    pub(crate) fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// (certificate PEM, key PEM) for `names`.
    pub(crate) fn leaf(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let params = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).expect("params");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        (cert.pem(), key.serialize_pem())
    }
}

fn write_server_files(dir: &Path, ca: &Ca, client_ca: Option<&Ca>) -> TlsFiles {
    let (cert, key) = ca.leaf(&["localhost", "127.0.0.1"]);
    std::fs::write(dir.join("server.pem"), cert).expect("write");
    std::fs::write(dir.join("server.key"), key).expect("write");
    let client_ca = client_ca.map(|c| {
        std::fs::write(dir.join("clients.pem"), c.pem()).expect("write");
        dir.join("clients.pem")
    });
    TlsFiles { cert: dir.join("server.pem"), key: dir.join("server.key"), client_ca }
}

async fn tls_channel(server: &TestServer, ca: &Ca, identity: Option<(String, String)>) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca.pem())).domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let ep = Endpoint::from_shared(format!("https://{}", server.addr)).expect("url").tls_config(tls).expect("tls");
    ep.connect().await.map_err(|e| format!("{e:?}"))
}

async fn list_profiles(ch: Channel) -> Result<(), tonic::Status> {
    pb::admin_service_client::AdminServiceClient::new(ch)
        .list_profiles(pb::ListProfilesRequest::default())
        .await
        .map(drop)
}

#[tokio::test]
async fn grpc_over_tls_and_a_renewed_certificate_without_restart() {
    let files_dir = tempfile::tempdir().expect("dir");
    let old_ca = Ca::new("old");
    let files = write_server_files(files_dir.path(), &old_ca, None);
    let server = TestServer::start_with(|c| c.tls = Some(files.clone())).await;

    let ch = tls_channel(&server, &old_ca, None).await.expect("TLS connect");
    list_profiles(ch).await.expect("call over TLS");
    // Plaintext to a TLS listener gets nowhere.
    let plain = Endpoint::from_shared(format!("http://{}", server.addr)).expect("url").connect().await;
    if let Ok(ch) = plain {
        assert!(list_profiles(ch).await.is_err(), "plaintext must not work on a TLS listener");
    }

    // Renew: a certificate from another CA replaces the files; the server picks it up.
    let new_ca = Ca::new("new");
    write_server_files(files_dir.path(), &new_ca, None);
    let mut renewed = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(ch) = tls_channel(&server, &new_ca, None).await
            && list_profiles(ch).await.is_ok()
        {
            renewed = true;
            break;
        }
    }
    assert!(renewed, "the renewed certificate was not picked up");
    let old = match tls_channel(&server, &old_ca, None).await {
        Ok(ch) => list_profiles(ch).await.is_ok(),
        Err(_) => false,
    };
    assert!(!old, "the old CA no longer verifies the server");
    server.stop().await;
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_from_the_client_ca() {
    let files_dir = tempfile::tempdir().expect("dir");
    let server_ca = Ca::new("server");
    let client_ca = Ca::new("clients");
    let stranger_ca = Ca::new("stranger");
    let files = write_server_files(files_dir.path(), &server_ca, Some(&client_ca));
    let server = TestServer::start_with(|c| c.tls = Some(files)).await;

    let ch = tls_channel(&server, &server_ca, Some(client_ca.leaf(&["sender"]))).await.expect("mTLS connect");
    list_profiles(ch).await.expect("call with a client certificate");

    for identity in [None, Some(stranger_ca.leaf(&["sender"]))] {
        let refused = match tls_channel(&server, &server_ca, identity).await {
            Ok(ch) => list_profiles(ch).await.is_err(),
            Err(_) => true,
        };
        assert!(refused, "a client without a certificate from the client CA got in");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_public_address_needs_tls_or_insecure() {
    let dir = tempfile::tempdir().expect("dir");
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = test_config(dir.path(), addr);
    let (store, _) = consentd::storage::Store::open(
        dir.path(),
        consentd::storage::StoreOptions::new(consentd::storage::system_clock()),
    )
    .expect("open");
    // With a key, so that the plaintext rule is what refuses.
    store
        .put_api_key(consentd::storage::view::ApiKey {
            key_id: "ck_0123456789abcdef".into(),
            description: String::new(),
            secret_hash: vec![0; 32],
            scopes: vec![consentd::storage::view::Scope::Admin],
            profile_ids: Vec::new(),
            revoked: false,
            created_at: 0,
            expires_at: None,
        })
        .await
        .expect("key");
    let r = consentd::server::run_with_store(config, store, listener, None, std::future::ready(())).await;
    assert!(matches!(r, Err(consentd::server::ServerError::Plaintext(_))), "{r:?}");
}

#[tokio::test]
async fn the_metrics_listener_needs_tls_or_insecure_like_the_others() {
    let dir = tempfile::tempdir().expect("dir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let metrics = tokio::net::TcpListener::bind("0.0.0.0:0").await.expect("bind metrics");
    let metrics_addr = metrics.local_addr().expect("addr");
    let config = test_config(dir.path(), listener.local_addr().expect("addr"));
    let open = || {
        consentd::storage::Store::open(
            dir.path(),
            consentd::storage::StoreOptions::new(consentd::storage::system_clock()),
        )
        .expect("open")
        .0
    };
    let r =
        consentd::server::run_with_store(config.clone(), open(), listener, Some(metrics), std::future::ready(())).await;
    match r {
        Err(consentd::server::ServerError::Plaintext(a)) => assert_eq!(a, metrics_addr),
        other => panic!("plaintext metrics on a public address were not refused: {other:?}"),
    }
    // With --insecure it serves (and stops at once).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let metrics = tokio::net::TcpListener::bind("0.0.0.0:0").await.expect("bind metrics");
    let insecure = consentd::config::Config { insecure: true, ..config };
    let r = consentd::server::run_with_store(insecure, open(), listener, Some(metrics), std::future::ready(())).await;
    assert!(r.is_ok(), "{r:?}");
}

#[test]
fn every_bind_error_names_its_address_and_flag() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = busy.local_addr().expect("addr").to_string();
    for (flag, name) in [("--listen-addr", "gRPC"), ("--metrics-addr", "metrics"), ("--http-addr", "HTTP edge")] {
        let dir = tempfile::tempdir().expect("dir");
        let free = |f: &str| if f == flag { taken.clone() } else { format!("127.0.0.1:{}", free_port()) };
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_consentd"))
            .args(["--listen-addr", &free("--listen-addr")])
            .args(["--metrics-addr", &free("--metrics-addr")])
            .args(["--http-addr", &free("--http-addr")])
            .arg("--data-dir")
            .arg(dir.path())
            .env("RUST_LOG", "error")
            .output()
            .expect("run consentd");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag}: started on a port in use");
        let want = format!("cannot bind the {name} listener `{taken}` ({flag})");
        assert!(stderr.contains(&want), "{flag}: wanted {want:?} in:\n{stderr}");
        assert!(stderr.contains("in use"), "{flag}: the cause is missing:\n{stderr}");
    }
}

#[tokio::test]
async fn consentctl_speaks_mutual_tls() {
    let files_dir = tempfile::tempdir().expect("dir");
    let server_ca = Ca::new("server");
    let client_ca = Ca::new("clients");
    let files = write_server_files(files_dir.path(), &server_ca, Some(&client_ca));
    let server = TestServer::start_with(|c| c.tls = Some(files)).await;
    let (cert, key) = client_ca.leaf(&["cli"]);
    let dir = files_dir.path().to_path_buf();
    let d = dir.as_path();
    std::fs::write(d.join("ca.pem"), server_ca.pem()).expect("write");
    std::fs::write(d.join("client.pem"), cert).expect("write");
    std::fs::write(d.join("client.key"), key).expect("write");
    let port = server.addr.port();
    let run = move |with_identity: bool| {
        let d = &dir;
        let mut cmd = std::process::Command::new(consentctl_bin());
        cmd.args(["--addr", &format!("https://localhost:{port}"), "--ca"]).arg(d.join("ca.pem"));
        if with_identity {
            cmd.arg("--cert").arg(d.join("client.pem")).arg("--key").arg(d.join("client.key"));
        }
        cmd.args(["profile", "list"]).env_remove("CONSENTD_API_KEY").output().expect("run consentctl")
    };
    let ok = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(true)
    })
    .await
    .expect("join");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let refused = tokio::task::spawn_blocking(move || run(false)).await.expect("join");
    assert!(!refused.status.success(), "no client certificate, no answer");
    server.stop().await;
}

#[tokio::test]
async fn consentctl_bench_runs_over_tls_with_an_api_key() {
    let files_dir = tempfile::tempdir().expect("dir");
    let ca = Ca::new("server");
    let files = write_server_files(files_dir.path(), &ca, None);
    let server = TestServer::start_with(|c| c.tls = Some(files)).await;
    let ch = tls_channel(&server, &ca, None).await.expect("TLS connect");
    let key = pb::admin_service_client::AdminServiceClient::new(ch)
        .create_api_key(pb::CreateApiKeyRequest {
            description: "bench".into(),
            scopes: [pb::ApiKeyScope::Admin, pb::ApiKeyScope::Write, pb::ApiKeyScope::Check]
                .iter()
                .map(|s| *s as i32)
                .collect(),
            profile_ids: vec![],
            expire_time: None,
        })
        .await
        .expect("key")
        .into_inner()
        .secret;
    std::fs::write(files_dir.path().join("ca.pem"), ca.pem()).expect("write");
    let (ca_file, port) = (files_dir.path().join("ca.pem"), server.addr.port());
    let run = move |api_key: Option<String>| {
        let mut cmd = std::process::Command::new(consentctl_bin());
        cmd.args(["--json", "--addr", &format!("https://localhost:{port}"), "--ca"]).arg(&ca_file);
        cmd.args(["bench", "unary", "--requests", "200", "--population", "100", "--warmup", "0s", "--quiet"]);
        match api_key {
            Some(k) => cmd.env("CONSENTD_API_KEY", k),
            None => cmd.env_remove("CONSENTD_API_KEY"),
        };
        cmd.output().expect("run consentctl")
    };
    let ok = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(Some(key))
    })
    .await
    .expect("join");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let report: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("report");
    assert_eq!(report["phases"][0]["operations"], 200);
    let refused = tokio::task::spawn_blocking(move || run(None)).await.expect("join");
    assert!(!refused.status.success(), "without the key the setup is refused");
    server.stop().await;
}

#[tokio::test]
async fn the_http_edge_speaks_tls_with_the_same_certificate() {
    use tokio_rustls::rustls;
    let files_dir = tempfile::tempdir().expect("dir");
    let ca = Ca::new("edge");
    // A client CA on the gRPC side does not apply to the public edge.
    let client_ca = Ca::new("clients");
    let files = write_server_files(files_dir.path(), &ca, Some(&client_ca));
    let port = free_port();
    let http_addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let server = TestServer::start_with(|c| {
        c.tls = Some(files.clone());
        c.http_addr = Some(http_addr);
    })
    .await;
    let (cert, key) = client_ca.leaf(&["client"]);
    let ch = tls_channel(&server, &ca, Some((cert, key))).await.expect("mTLS connect");
    seed(&mut pb::admin_service_client::AdminServiceClient::with_interceptor(ch.clone(), TestServer::auth(None)), None)
        .await;
    let links = pb::decision_service_client::DecisionServiceClient::new(ch)
        .mint_links(pb::MintLinksRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "jane@example.com".into(),
            purpose_id: "newsletter".into(),
            topic_id: String::new(),
        })
        .await
        .expect("mint")
        .into_inner();
    assert!(links.unsubscribe_url.starts_with(&format!("https://{http_addr}/u/")), "{links:?}");

    let mut roots = rustls::RootCertStore::empty();
    let ca_der = {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::from_pem_slice(ca.pem().as_bytes()).expect("ca der")
    };
    roots.add(ca_der).expect("root");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(http_addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let tls = connector.connect(name, tcp).await.expect("TLS handshake with the edge, no client certificate");
    let path = crate::edge::path_of(&links.unsubscribe_url);
    let answer = crate::edge::http_on(
        tls,
        "POST",
        &path,
        &[("content-type", "application/x-www-form-urlencoded")],
        "List-Unsubscribe=One-Click",
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    // Plaintext HTTP to the TLS edge gets no page.
    let plain = tokio::time::timeout(Duration::from_secs(5), crate::edge::http(http_addr, "GET", &path, &[], "")).await;
    assert!(plain.map_or(true, |a| a.status != 200), "plaintext reached the TLS edge");
    // Metrics: the same certificate, the same rule.
    let tcp = tokio::net::TcpStream::connect(server.metrics_addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let tls = connector.connect(name, tcp).await.expect("TLS handshake with the metrics listener");
    let scrape = crate::edge::http_on(tls, "GET", "/metrics", &[], "").await;
    assert_eq!(scrape.status, 200, "{scrape:?}");
    assert!(scrape.body.contains("consentd_"), "{scrape:?}");
    let plain = tokio::time::timeout(Duration::from_secs(5), async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(server.metrics_addr).await.expect("connect");
        let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw).await;
        String::from_utf8_lossy(&raw).into_owned()
    })
    .await;
    assert!(plain.map_or(true, |text| !text.contains("consentd_")), "plaintext reached the TLS metrics");
    server.stop().await;
}

/// Runs consentctl `args` (global flags first) without an API key; returns (exit code,
/// stderr).
async fn ctl_stderr(args: Vec<String>) -> (i32, String) {
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(consentctl_bin())
            .args(&args)
            .env_remove("CONSENTD_API_KEY")
            .env_remove("CONSENTD_ADDR")
            .output()
            .expect("run consentctl");
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
    })
    .await
    .expect("join")
}

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_owned()).collect()
}

/// #24: each way of not reaching the server names its cause and the fix, where the
/// transport alone said "transport error" or "Cancelled".
#[tokio::test]
async fn connection_errors_say_what_to_do() {
    let files_dir = tempfile::tempdir().expect("dir");
    let d = files_dir.path();
    let server_ca = Ca::new("server");
    let client_ca = Ca::new("clients");
    std::fs::write(d.join("ca.pem"), server_ca.pem()).expect("write");
    let ca = d.join("ca.pem").display().to_string();

    // Plaintext: an address without a scheme works; a wrong port says nothing listens.
    let plain = TestServer::start().await;
    let (code, err) = ctl_stderr(args(&["--addr", &plain.addr.to_string(), "profile", "list"])).await;
    assert_eq!(code, 0, "`host:port` is taken as http://: {err}");
    let (code, err) =
        ctl_stderr(args(&["--addr", &format!("http://127.0.0.1:{}", free_port()), "profile", "list"])).await;
    assert_eq!(code, 69, "{err}");
    assert!(err.contains("cannot reach") && err.contains("is consentd running there"), "{err}");
    // https:// against a plaintext server.
    let (code, err) = ctl_stderr(args(&["--addr", &format!("https://{}", plain.addr), "profile", "list"])).await;
    assert_ne!(code, 0);
    assert!(err.contains("does not speak TLS") && err.contains(&format!("http://{}", plain.addr)), "{err}");
    plain.stop().await;

    // TLS, with a client certificate required.
    let files = write_server_files(d, &server_ca, Some(&client_ca));
    let server = TestServer::start_with(|c| c.tls = Some(files)).await;
    let port = server.addr.port();
    let (code, err) = ctl_stderr(args(&["--addr", &format!("http://127.0.0.1:{port}"), "profile", "list"])).await;
    assert_ne!(code, 0);
    assert!(err.contains("speaks TLS") && err.contains("https://") && err.contains("--ca"), "{err}");
    let (code, err) = ctl_stderr(args(&["--addr", &format!("https://localhost:{port}"), "profile", "list"])).await;
    assert_ne!(code, 0);
    assert!(err.contains("--ca FILE") && err.contains("certificate"), "a private CA without --ca: {err}");
    let (code, err) =
        ctl_stderr(args(&["--addr", &format!("https://localhost:{port}"), "--ca", &ca, "profile", "list"])).await;
    assert_ne!(code, 0);
    assert!(err.contains("client certificate") && err.contains("--cert FILE --key FILE"), "{err}");
    server.stop().await;
}

/// #24: a call without a key, or with a wrong one, says how to give one.
#[tokio::test]
async fn a_missing_or_wrong_api_key_names_the_flag() {
    let server = TestServer::start().await;
    let mut admin = server.admin(None).await;
    admin
        .create_api_key(pb::CreateApiKeyRequest {
            description: "root".into(),
            scopes: vec![pb::ApiKeyScope::Admin as i32],
            ..Default::default()
        })
        .await
        .expect("key");
    let addr = format!("http://{}", server.addr);
    for key in [None, Some("ck_0123456789abcdef.wrong")] {
        let mut a = args(&["--addr", &addr]);
        if let Some(k) = key {
            a.extend(args(&["--api-key", k]));
        }
        a.extend(args(&["profile", "list"]));
        let (code, err) = ctl_stderr(a).await;
        assert_eq!(code, 77, "{err}");
        assert!(err.contains("--api-key") && err.contains("CONSENTD_API_KEY"), "{err}");
    }
    server.stop().await;
}

/// #24: a metrics port already in use names the address and the flag.
#[tokio::test]
async fn a_metrics_port_in_use_names_its_address() {
    let dir = tempfile::tempdir().expect("dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let metrics = taken.local_addr().expect("addr");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let mut config = test_config(dir.path(), listener.local_addr().expect("addr"));
    config.metrics_addr = Some(metrics);
    let r = consentd::server::run(config, listener, std::future::ready(())).await;
    let said = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(said.contains(&format!("`{metrics}`")) && said.contains("--metrics-addr"), "{said}");
}
