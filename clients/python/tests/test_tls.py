"""TLS, mutual TLS and API keys against a real consentd serving TLS."""

from __future__ import annotations

import pytest

import consentd_client as cc
from support import Server, seed, uid


@pytest.fixture(scope="module")
def tls_server(certs):
    srv = Server(tls=certs, mtls=True)
    try:
        srv.start()
        with srv.client() as c:
            seed(c)
        yield srv
    finally:
        srv.close()


def test_mutual_tls_with_an_api_key(tls_server, certs):
    with cc.Client(
        f"https://127.0.0.1:{tls_server.port}",
        api_key=tls_server.admin_key,
        ca=str(certs.ca_cert),
        cert=str(certs.client_cert),
        key=str(certs.client_key),
    ) as client:
        jane = uid()
        w = client.set_consent("acme", "email", jane, "newsletter", "opted_in")
        assert client.check("acme", "email", jane, "newsletter").send
        assert [d.send for d in client.check_stream([jane, uid()], "acme", "email", "newsletter")] == [True, False]
        assert client.min_revision == w.revision


def test_files_as_bytes_and_the_server_name(tls_server, certs):
    with cc.Client(
        f"https://127.0.0.1:{tls_server.port}",
        api_key=tls_server.admin_key,
        ca=certs.ca_cert.read_bytes(),
        cert=certs.client_cert.read_bytes(),
        key=certs.client_key.read_bytes(),
        server_name="localhost",
    ) as client:
        assert client.server_info().version


def test_the_api_key_is_still_needed_over_mutual_tls(tls_server):
    with tls_server.client(api_key=None) as client:
        with pytest.raises(cc.Unauthenticated):
            client.check("acme", "email", uid(), "newsletter")
    with tls_server.client(api_key=tls_server.admin_key + "x") as client:
        with pytest.raises(cc.Unauthenticated):
            client.check("acme", "email", uid(), "newsletter")


def test_a_server_certificate_of_another_ca_is_refused(tls_server, certs):
    with tls_server.client(ca=str(certs.other_ca_cert), retry=cc.RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(cc.Unavailable):
            client.check("acme", "email", uid(), "newsletter", timeout=10)


def test_a_client_without_a_trusted_certificate_is_refused(tls_server, certs):
    no_retry = cc.RetryPolicy(max_attempts=1)
    with cc.Client(
        f"https://127.0.0.1:{tls_server.port}", api_key=tls_server.admin_key, ca=str(certs.ca_cert), retry=no_retry
    ) as client:
        with pytest.raises(cc.ConsentdError):
            client.check("acme", "email", uid(), "newsletter", timeout=10)
    with tls_server.client(cert=str(certs.stranger_cert), key=str(certs.stranger_key), retry=no_retry) as client:
        with pytest.raises(cc.ConsentdError):
            client.check("acme", "email", uid(), "newsletter", timeout=10)


def test_plaintext_to_a_tls_server_fails(tls_server):
    with cc.Client(
        f"http://127.0.0.1:{tls_server.port}", api_key=tls_server.admin_key, retry=cc.RetryPolicy(max_attempts=1)
    ) as client:
        with pytest.raises(cc.ConsentdError):
            client.check("acme", "email", uid(), "newsletter", timeout=10)
