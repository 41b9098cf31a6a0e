"""Retries across a server restart: a change whose answer was lost is sent again with the
same idempotency key, the restarted server answers it as a replay, and history holds one
event."""

from __future__ import annotations

import threading

import grpc

import consentd_client as cc
from support import Proxy, uid, wait_until

E = cc.Channel.EMAIL


class RecordKeys(grpc.UnaryUnaryClientInterceptor):
    """Records the idempotency key of every SetConsent attempt."""

    def __init__(self):
        self.keys = []

    def intercept_unary_unary(self, continuation, details, request):
        if details.method.endswith("/SetConsent"):
            self.keys.append(request.idempotency_key)
        return continuation(details, request)


def test_the_same_key_after_a_restart_is_replayed(own_server):
    jane = uid()
    with own_server.client() as client:
        first = client.set_consent("acme", E, jane, "newsletter", "opted_in")
    own_server.kill()
    own_server.start()
    with own_server.client() as client:
        again = client.set_consent("acme", E, jane, "newsletter", "opted_in", idempotency_key=first.idempotency_key)
        assert again.replayed and again.revision == first.revision
        assert len(client.get_history("acme", E, jane).events) == 1


def test_a_lost_answer_is_retried_through_a_restart_without_applying_twice(own_server):
    jane = uid()
    proxy = Proxy(own_server.port)
    keys = RecordKeys()
    retry = cc.RetryPolicy(max_attempts=40, initial_backoff=0.05, max_backoff=0.5)
    direct = own_server.client()
    client = cc.Client(proxy.addr, api_key=own_server.admin_key, retry=retry, interceptors=[keys])
    try:
        assert client.health() == cc.HealthStatus.SERVING  # the connection through the proxy is up
        proxy.lose_answers()
        outcome = {}

        def write():
            try:
                outcome["result"] = client.set_consent("acme", E, jane, "newsletter", "opted_in")
            except Exception as e:  # noqa: BLE001
                outcome["error"] = e

        writer = threading.Thread(target=write)
        writer.start()
        # The server took the change and answered; the proxy dropped the answer.
        wait_until(lambda: direct.get_consent("acme", E, jane).status("newsletter") == cc.ConsentStatus.OPTED_IN,
                   "the write to be applied")
        wait_until(lambda: proxy.answer_bytes_lost > 0, "the answer to be lost")
        revision = direct.get_consent("acme", E, jane).records[0].revision
        # A crash now: the client's connection breaks, its retries meet a server that is
        # down, then the restarted one.
        own_server.kill()
        own_server.start()
        writer.join(timeout=120)
        assert not writer.is_alive()
        assert "error" not in outcome, outcome.get("error")
        result = outcome["result"]
        assert result.replayed and result.revision == revision
        assert len(keys.keys) >= 2 and set(keys.keys) == {result.idempotency_key}
        with own_server.client() as fresh:
            history = fresh.get_history("acme", E, jane)
        assert len(history.events) == 1 and history.verification.intact
        assert client.min_revision == revision
    finally:
        client.close()
        direct.close()
        proxy.close()
