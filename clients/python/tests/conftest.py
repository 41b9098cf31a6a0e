import pytest

import support


@pytest.fixture(scope="session")
def server():
    """One consentd for the session, seeded (see support.seed), with the HTTP edge on for
    mint_links and include_links."""
    edge = support.free_port()
    srv = support.Server(extra=["--http-addr", f"127.0.0.1:{edge}", "--public-url", f"http://127.0.0.1:{edge}"])
    try:
        srv.start()
        with srv.client() as c:
            support.seed(c)
        yield srv
    finally:
        srv.close()


@pytest.fixture
def client(server):
    with server.client() as c:
        yield c


@pytest.fixture
def own_server():
    """A consentd of the test's own, seeded; the test may kill and restart it."""
    srv = support.Server()
    try:
        srv.start()
        with srv.client() as c:
            support.seed(c)
        yield srv
    finally:
        srv.close()


@pytest.fixture(scope="session")
def certs():
    c = support.Certs()
    yield c
    c.close()
