"""Runs the real consentd binary for the tests: temporary data directories, free ports,
an admin key made with the binary's offline --create-admin-key, a TCP proxy that can lose
answers, and test certificates."""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import List, Optional, Sequence

import consentd_client as cc

REPO = Path(__file__).resolve().parents[3]


def binary() -> Path:
    """The consentd binary: $CONSENTD_BINARY, else this repository's release build."""
    path = Path(os.environ.get("CONSENTD_BINARY") or REPO / "target" / "release" / "consentd")
    if not path.is_file():
        raise RuntimeError(f"consentd binary `{path}` not found: set CONSENTD_BINARY (clients/test.sh BINARY does)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uid(prefix: str = "u") -> str:
    """A contact point no other test uses."""
    return f"{prefix}{uuid.uuid4().hex[:16]}@example.com"


def wait_until(predicate, what: str, timeout: float = 30.0, interval: float = 0.02):
    """Polls ``predicate`` until it returns something truthy (a bound on waiting, never an
    assertion about how long something took)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


class Server:
    """One consentd process on 127.0.0.1 with its own data directory."""

    def __init__(self, extra: Sequence[str] = (), tls: Optional["Certs"] = None, mtls: bool = False):
        self.dir = Path(tempfile.mkdtemp(prefix="consentd-client-test-"))
        self.data_dir = self.dir / "data"
        self.port = free_port()
        self.extra: List[str] = list(extra)
        self.tls = tls
        if tls is not None:
            self.extra += ["--tls-cert", str(tls.server_cert), "--tls-key", str(tls.server_key)]
            if mtls:
                self.extra += ["--tls-client-ca", str(tls.ca_cert)]
        self.process: Optional[subprocess.Popen] = None
        self.log = self.dir / "consentd.log"
        self.admin_key = self.create_admin_key()

    @property
    def addr(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def create_admin_key(self) -> str:
        out = subprocess.run(
            [str(binary()), "--data-dir", str(self.data_dir), "--create-admin-key", "client tests"],
            capture_output=True,
            text=True,
            env={**os.environ, "RUST_LOG": "warn"},
            timeout=120,
        )
        if out.returncode != 0:
            raise RuntimeError(f"--create-admin-key failed: {out.stderr}")
        key = out.stdout.strip().splitlines()[-1]
        assert key.startswith("ck_"), key
        return key

    def client(self, **kwargs) -> cc.Client:
        kwargs.setdefault("api_key", self.admin_key)
        if self.tls is not None:
            kwargs.setdefault("ca", str(self.tls.ca_cert))
            kwargs.setdefault("cert", str(self.tls.client_cert))
            kwargs.setdefault("key", str(self.tls.client_key))
        return cc.Client(self.addr, **kwargs)

    def start(self) -> "Server":
        assert self.process is None
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(binary()),
                    "--listen-addr",
                    f"127.0.0.1:{self.port}",
                    "--metrics-addr",
                    "off",
                    "--data-dir",
                    str(self.data_dir),
                    *self.extra,
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env={**os.environ, "RUST_LOG": "warn"},
            )
        probe = self.client(api_key=None, retry=cc.RetryPolicy(max_attempts=1))
        try:

            def serving():
                if self.process.poll() is not None:
                    raise RuntimeError(f"consentd exited with {self.process.returncode}:\n{self.log.read_text()}")
                try:
                    return probe.health(timeout=1) == cc.HealthStatus.SERVING
                except cc.ConsentdError:
                    return False

            wait_until(serving, "consentd to serve", timeout=120, interval=0.05)
        finally:
            probe.close()
        return self

    def kill(self) -> None:
        """SIGKILL: as a crash (every acknowledged change is in the synced WAL)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def seed(client: cc.Client) -> None:
    """Profile `acme` (region NL): purposes `newsletter` (commercial, topics `events`,
    `discounts`) and `invoices` (transactional). Profile `doi`: double opt-in on email."""
    client.create_profile("acme", display_name="Acme", default_region="NL", extra_stop_keywords=["afmelden"])
    client.create_purpose("acme", "newsletter", cc.PurposeKind.COMMERCIAL)
    client.create_purpose("acme", "invoices", cc.PurposeKind.TRANSACTIONAL)
    for topic in ("events", "discounts"):
        client.create_topic("acme", "newsletter", topic)
    client.create_profile("doi", default_region="NL", double_opt_in={cc.Channel.EMAIL: cc.DoubleOptInMode.EVERY_OPT_IN})
    client.create_purpose("doi", "newsletter", cc.PurposeKind.COMMERCIAL)


class Proxy:
    """A TCP proxy in front of a server. ``lose_answers()`` makes every connection open
    now drop whatever the server sends from then on (the request still reaches the server:
    a write is applied and its answer lost); connections made later are normal."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.connections: List[dict] = []
        self.answer_bytes_lost = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()
                continue
            conn = {"client": client, "upstream": upstream, "lose": False}
            with self.lock:
                self.connections.append(conn)
            threading.Thread(target=self._pump, args=(conn, client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(conn, upstream, client, True), daemon=True).start()

    def _pump(self, conn: dict, src: socket.socket, dst: socket.socket, answers: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if answers and conn["lose"]:
                    with self.lock:
                        self.answer_bytes_lost += len(data)
                    continue
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def lose_answers(self) -> None:
        with self.lock:
            for conn in self.connections:
                conn["lose"] = True

    def close(self) -> None:
        self.closed = True
        self.listener.close()
        with self.lock:
            for conn in self.connections:
                for s in (conn["client"], conn["upstream"]):
                    try:
                        s.close()
                    except OSError:
                        pass


class Certs:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, made
    with `cryptography` into a temporary directory."""

    def __init__(self, directory: Optional[Path] = None):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        self.dir = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="consentd-client-certs-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)

        def name(cn: str) -> x509.Name:
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

        def write_key(key, path: Path) -> None:
            path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )

        def make_ca(cn: str):
            key = ec.generate_private_key(ec.SECP256R1())
            cert = (
                x509.CertificateBuilder()
                .subject_name(name(cn))
                .issuer_name(name(cn))
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=True,
                        crl_sign=True,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256())
            )
            return key, cert

        def leaf(ca_key, ca_cert, cn: str, sans, usage):
            key = ec.generate_private_key(ec.SECP256R1())
            builder = (
                x509.CertificateBuilder()
                .subject_name(name(cn))
                .issuer_name(ca_cert.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
                )
            )
            if sans:
                builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
            return key, builder.sign(ca_key, hashes.SHA256())

        pem = serialization.Encoding.PEM
        ca_key, ca_cert = make_ca("consentd client tests CA")
        self.ca_cert = self.dir / "ca.pem"
        self.ca_cert.write_bytes(ca_cert.public_bytes(pem))
        server_key, server_cert = leaf(
            ca_key,
            ca_cert,
            "localhost",
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
            ExtendedKeyUsageOID.SERVER_AUTH,
        )
        self.server_cert = self.dir / "server.pem"
        self.server_key = self.dir / "server.key"
        self.server_cert.write_bytes(server_cert.public_bytes(pem))
        write_key(server_key, self.server_key)
        client_key, client_cert = leaf(ca_key, ca_cert, "sender", [], ExtendedKeyUsageOID.CLIENT_AUTH)
        self.client_cert = self.dir / "client.pem"
        self.client_key = self.dir / "client.key"
        self.client_cert.write_bytes(client_cert.public_bytes(pem))
        write_key(client_key, self.client_key)
        # A second CA that signed nothing the server trusts.
        other_key, other_cert = make_ca("another CA")
        self.other_ca_cert = self.dir / "other-ca.pem"
        self.other_ca_cert.write_bytes(other_cert.public_bytes(pem))
        stranger_key, stranger_cert = leaf(other_key, other_cert, "stranger", [], ExtendedKeyUsageOID.CLIENT_AUTH)
        self.stranger_cert = self.dir / "stranger.pem"
        self.stranger_key = self.dir / "stranger.key"
        self.stranger_cert.write_bytes(stranger_cert.public_bytes(pem))
        write_key(stranger_key, self.stranger_key)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def rss_bytes() -> int:
    """This process's resident set size, from /proc."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0
