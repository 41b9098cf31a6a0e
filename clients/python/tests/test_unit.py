"""The client's own logic against an in-process fake server (no consentd needed): the
CheckStream bound, ordering and errors, retries under one idempotency key, min_revision,
error mapping, and the small helpers."""

from __future__ import annotations

import datetime
import threading
import time
from concurrent import futures

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

import consentd_client as cc
from consentd_client import client as client_module
from consentd_client.pb import consent_pb2, consent_pb2_grpc, decision_pb2, decision_pb2_grpc
from consentd_client.types import to_timestamp


class FakeDecisions(decision_pb2_grpc.DecisionServiceServicer):
    """Answers every batch: SEND for contact points starting with `ok`, else BLOCK with
    REASON_SUPPRESSED (kind MANUAL) for `sup`, else NO_OPT_IN."""

    def __init__(self):
        self.batches = []
        self.checks = []
        self.wrong_batch_id = False

    def Check(self, request, context):
        self.checks.append(request)
        return decision_pb2.CheckResponse(decision=1, reason=10, revision=request.min_revision)

    def CheckStream(self, request_iterator, context):
        for batch in request_iterator:
            # The listed form, or the packed lines (as the server reads them).
            cps = list(batch.contact_points)
            if batch.contact_points_packed:
                cps = batch.contact_points_packed.decode().split("\n")
                if cps[-1] == "":
                    cps.pop()
            self.batches.append((batch.batch_id, len(cps), list(batch.overrides)))
            decisions, reasons, suppressed = [], [], []
            for i, cp in enumerate(cps):
                if cp.startswith("ok"):
                    decisions.append(1)
                    reasons.append(10)
                elif cp.startswith("sup"):
                    decisions.append(2)
                    reasons.append(3)
                    suppressed.append(decision_pb2.SuppressedItem(index=i, kind=4))
                else:
                    decisions.append(2)
                    reasons.append(7)
            answer = decision_pb2.CheckStreamResponse(
                batch_id=batch.batch_id + (1 if self.wrong_batch_id else 0),
                revision=7,
                suppressed=suppressed,
            )
            if batch.packed_answers:
                answer.outcomes = bytes(d * 64 + r for d, r in zip(decisions, reasons))
            else:
                answer.decisions.extend(decisions)
                answer.reasons.extend(reasons)
            yield answer


class FakeConsent(consent_pb2_grpc.ConsentServiceServicer):
    """Fails the first `fail` attempts of each write UNAVAILABLE (after taking the change,
    as a lost answer would), and answers a repeated idempotency key with its first answer."""

    def __init__(self):
        self.fail = 0
        self.attempts = []  # idempotency keys, one per attempt
        self.answers = {}
        self.revision = 0
        self.bad_field = False

    def _take(self, request):
        if request.idempotency_key in self.answers:
            first = consent_pb2.ChangeResult()
            first.CopyFrom(self.answers[request.idempotency_key])
            first.replayed = True
            return first
        self.revision += 1
        result = consent_pb2.ChangeResult(outcome=1, revision=self.revision)
        self.answers[request.idempotency_key] = result
        return result

    def SetConsent(self, request, context):
        self.attempts.append(request.idempotency_key)
        if self.bad_field:
            detail = any_pb2.Any()
            detail.Pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field="change.contact_point", description="bad")
                    ]
                )
            )
            status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message="invalid contact point", details=[detail])
            context.abort_with_status(_RichStatus(status))
        result = self._take(request)
        if len(self.attempts) <= self.fail:
            context.abort(grpc.StatusCode.UNAVAILABLE, "the answer was lost")
        return consent_pb2.SetConsentResponse(result=result)

    def BatchSetConsent(self, request, context):
        self.attempts.append(tuple(r.idempotency_key for r in request.requests))
        results = []
        for r in request.requests:
            if r.change.contact_point == "bad":
                results.append(
                    consent_pb2.BatchSetConsentResult(
                        error=consent_pb2.ItemError(code=3, field="requests[1].change.contact_point", message="bad")
                    )
                )
            else:
                results.append(consent_pb2.BatchSetConsentResult(change=self._take(r)))
        if len(self.attempts) <= self.fail:
            context.abort(grpc.StatusCode.UNAVAILABLE, "the answer was lost")
        return consent_pb2.BatchSetConsentResponse(results=results)

    def AddSuppression(self, request, context):
        self.attempts.append(request.kind)
        self.revision += 1
        if len(self.attempts) <= self.fail:
            context.abort(grpc.StatusCode.UNAVAILABLE, "the answer was lost")
        return consent_pb2.AddSuppressionResponse(changed=True, revision=self.revision)


class _RichStatus(grpc.Status):
    def __init__(self, status):
        self.code = grpc.StatusCode.INVALID_ARGUMENT
        self.details = status.message
        self.trailing_metadata = (("grpc-status-details-bin", status.SerializeToString()),)


@pytest.fixture
def fake():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    decisions, consent = FakeDecisions(), FakeConsent()
    decision_pb2_grpc.add_DecisionServiceServicer_to_server(decisions, server)
    consent_pb2_grpc.add_ConsentServiceServicer_to_server(consent, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    client = cc.Client(
        f"http://127.0.0.1:{port}", api_key="ck_test.secret", retry=cc.RetryPolicy(initial_backoff=0.01)
    )
    yield client, decisions, consent
    client.close()
    server.stop(None)


# ---- CheckStream -------------------------------------------------------------------


def test_stream_answers_in_order_with_reasons_and_suppression_kinds(fake):
    client, decisions, _ = fake
    recipients = [("ok" if i % 3 == 0 else "sup" if i % 3 == 1 else "no") + f"{i}@x.nl" for i in range(1000)]
    out = list(client.check_stream(recipients, "acme", cc.Channel.EMAIL, "newsletter", batch_size=64))
    assert [d.contact_point for d in out] == recipients
    for i, d in enumerate(out):
        if i % 3 == 0:
            assert (d.decision, d.reason, d.suppression_kind, d.send) == (cc.Decision.SEND, cc.Reason.OPTED_IN, None, True)
        elif i % 3 == 1:
            assert (d.decision, d.reason, d.suppression_kind) == (
                cc.Decision.BLOCK,
                cc.Reason.SUPPRESSED,
                cc.SuppressionKind.MANUAL,
            )
        else:
            assert (d.reason, d.suppression_kind, d.send) == (cc.Reason.NO_OPT_IN, None, False)
    assert [b[1] for b in decisions.batches] == [64] * 15 + [40]
    assert [b[0] for b in decisions.batches] == list(range(1, 17))


def test_stream_never_reads_more_than_max_in_flight_batches_ahead(fake):
    client, _, _ = fake
    pulled = 0
    closed = []

    def endless():
        nonlocal pulled
        try:
            while True:
                pulled += 1
                yield f"ok{pulled}@x.nl"
        finally:
            closed.append(True)

    batch, window = 10, 3
    stream = client.check_stream(endless(), "acme", "email", "newsletter", batch_size=batch, max_in_flight=window)
    consumed = 0
    for d in stream:
        consumed += 1
        assert d.contact_point == f"ok{consumed}@x.nl"
        assert pulled - consumed <= window * batch
        if consumed in (5, 95):
            # A slow caller: give the request thread every chance to run ahead.
            time.sleep(0.3)
            assert pulled <= (consumed // batch + window) * batch
            assert stream.in_flight <= window
        if consumed == 200:
            break
    assert stream.max_in_flight_seen == window
    stream.close()
    at_close = pulled
    time.sleep(0.3)
    assert pulled == at_close, "the input is not read after close"
    assert closed, "the input's generator was closed"


def test_batches_gives_one_list_per_batch(fake):
    client, _, _ = fake
    stream = client.check_stream(["ok1", "sup2", "ok3"], "acme", "email", "newsletter", batch_size=2)
    batches = list(stream.batches())
    assert [[d.contact_point for d in b] for b in batches] == [["ok1", "sup2"], ["ok3"]]
    assert batches[0][1].suppression_kind == cc.SuppressionKind.MANUAL
    with pytest.raises(RuntimeError):
        next(stream)
    assert stream.max_in_flight_seen <= 4


def test_stream_overrides_are_sparse(fake):
    client, decisions, _ = fake
    recipients = ["ok1@x.nl", cc.Recipient("ok2@x.nl", topic="events"), cc.Recipient("+31612345678", channel="sms")]
    stream = client.check_stream(recipients, "acme", cc.Channel.EMAIL, "newsletter")
    assert len(list(stream)) == 3
    (_, _, overrides), = decisions.batches
    assert [(o.index, o.channel, o.topic_id) for o in overrides] == [(1, 0, "events"), (2, int(cc.Channel.SMS), "")]
    assert stream.revision == 7


def test_stream_raises_the_input_error_after_the_decisions_before_it(fake):
    client, _, _ = fake

    def broken():
        yield from (f"ok{i}@x.nl" for i in range(20))
        raise OSError("the recipients file went away")

    seen = []
    with pytest.raises(OSError, match="went away"):
        for d in client.check_stream(broken(), "acme", "email", "newsletter", batch_size=10):
            seen.append(d)
    assert len(seen) == 20


def test_stream_rejects_answers_for_other_batches(fake):
    client, decisions, _ = fake
    decisions.wrong_batch_id = True
    with pytest.raises(cc.StreamProtocolError):
        list(client.check_stream(["ok@x.nl"], "acme", "email", "newsletter"))


def test_stream_of_nothing_is_empty_and_bad_arguments_are_refused(fake):
    client, decisions, _ = fake
    assert list(client.check_stream([], "acme", "email", "newsletter")) == []
    assert decisions.batches == []
    with pytest.raises(ValueError):
        client.check_stream([], "acme", "email", "newsletter", batch_size=0)
    with pytest.raises(ValueError):
        client.check_stream([], "acme", "email", "newsletter", max_in_flight=0)
    with pytest.raises(TypeError):
        list(client.check_stream([42], "acme", "email", "newsletter"))
    with pytest.raises(ValueError, match="not a Channel"):
        client.check_stream([], "acme", "pigeon", "newsletter")


# ---- retries and read-your-writes ----------------------------------------------------


def test_a_write_whose_answer_is_lost_is_retried_with_the_same_key(fake):
    client, decisions, consent = fake
    consent.fail = 2
    r = client.set_consent("acme", "email", "jane@example.com", "newsletter", "opted_in")
    assert len(consent.attempts) == 3 and len(set(consent.attempts)) == 1
    assert r.idempotency_key == consent.attempts[0]
    assert r.replayed and r.revision == 1 and consent.revision == 1
    # Read your writes: the next check carries the write's revision.
    client.check("acme", "email", "jane@example.com", "newsletter")
    assert decisions.checks[-1].min_revision == 1
    client.check("acme", "email", "jane@example.com", "newsletter", min_revision=0)
    assert decisions.checks[-1].min_revision == 0
    # A new change gets a new key.
    consent.fail = 0
    r2 = client.set_consent("acme", "email", "jane@example.com", "newsletter", cc.ConsentStatus.OPTED_OUT)
    assert r2.idempotency_key != r.idempotency_key and not r2.replayed
    assert client.min_revision == 2


def test_retries_are_bounded(fake):
    client, _, consent = fake
    consent.fail = 100
    with pytest.raises(cc.Unavailable):
        client.set_consent("acme", "email", "jane@example.com", "newsletter", "opted_in")
    assert len(consent.attempts) == client.retry.max_attempts


def test_a_given_idempotency_key_is_sent(fake):
    client, _, consent = fake
    r = client.set_consent("acme", "email", "j@example.com", "newsletter", "opted_in", idempotency_key="import-1:17")
    assert consent.attempts == ["import-1:17"] and r.idempotency_key == "import-1:17"


def test_batches_are_cut_retried_with_the_same_keys_and_report_per_item(fake):
    client, _, consent = fake
    consent.fail = 1
    changes = [
        cc.Change("acme", cc.Channel.EMAIL, "bad" if i == 3 else f"c{i}@x.nl", "newsletter", cc.ConsentStatus.OPTED_IN)
        for i in range(5)
    ]
    results = client.batch_set_consent(changes, chunk_size=2)
    # Chunks of 2, 2 and 1; the first sent twice (its answer lost), with the same keys.
    assert [len(a) for a in consent.attempts] == [2, 2, 2, 1]
    assert consent.attempts[0] == consent.attempts[1]
    assert all(c.idempotency_key for c in changes)
    assert isinstance(results[3], cc.ItemError) and results[3].field == "change.contact_point"
    assert [r.applied for r in results] == [True, True, True, False, True]
    assert results[0].replayed and results[0].idempotency_key == changes[0].idempotency_key
    assert client.min_revision == 4


def test_suppressions_are_retried(fake):
    client, _, consent = fake
    consent.fail = 1
    r = client.add_suppression("acme", "email", "j@example.com", cc.SuppressionKind.HARD_BOUNCE)
    assert r.changed and consent.attempts == [1, 1] and client.min_revision == r.revision


def test_invalid_argument_names_the_field(fake):
    client, _, consent = fake
    consent.bad_field = True
    with pytest.raises(cc.InvalidArgument) as e:
        client.set_consent("acme", "email", "nope", "newsletter", "opted_in")
    assert e.value.field == "change.contact_point"
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid contact point" in str(e.value)
    assert len(consent.attempts) == 1, "INVALID_ARGUMENT is not retried"


# ---- small helpers -------------------------------------------------------------------


def test_addresses():
    assert client_module._target("http://127.0.0.1:50051") == ("127.0.0.1:50051", False)
    assert client_module._target("https://consent.example.com:443") == ("consent.example.com:443", True)
    assert client_module._target("127.0.0.1:50051") == ("127.0.0.1:50051", False)
    assert client_module._target("http://[::1]:50051") == ("[::1]:50051", False)
    assert client_module._target("http://x") == ("x:80", False)
    assert client_module._target("https://x") == ("x:443", True)
    with pytest.raises(ValueError):
        client_module._target("ftp://x:1")
    with pytest.raises(ValueError, match="https"):
        cc.Client("http://127.0.0.1:1", ca=b"pem")
    with pytest.raises(ValueError, match="both"):
        cc.Client("https://127.0.0.1:1", cert=b"pem")


def test_health_messages():
    assert client_module._encode_health_request("") == b""
    assert client_module._encode_health_request("consent.v1.DecisionService") == b"\x0a\x1aconsent.v1.DecisionService"
    assert client_module._encode_health_request("x" * 200)[:3] == b"\x0a\xc8\x01"
    assert client_module._decode_health_response(b"\x08\x01") == cc.HealthStatus.SERVING
    assert client_module._decode_health_response(b"") == cc.HealthStatus.UNKNOWN


def test_enums_tolerate_new_numbers_and_read_names():
    assert cc.Reason(99).name == "UNKNOWN_99" and cc.Reason(99) == 99
    assert str(cc.Reason.OPTED_IN) == "OPTED_IN" and cc.Reason.OPTED_IN == 10
    assert client_module._enum(cc.Channel, "sms") is cc.Channel.SMS
    assert client_module._enum(cc.Channel, 1) is cc.Channel.EMAIL


def test_timestamps():
    ts = to_timestamp(datetime.datetime(2026, 1, 15, 10, 32, tzinfo=datetime.timezone.utc))
    assert ts.seconds == 1768473120
    assert to_timestamp(datetime.datetime(2026, 1, 15, 10, 32)).seconds == 1768473120
    ts = to_timestamp(1768473120.5)
    assert (ts.seconds, ts.nanos) == (1768473120, 500000000)


def test_a_dropped_stream_stops_reading(fake):
    client, _, _ = fake
    pulled = 0

    def endless():
        nonlocal pulled
        while True:
            pulled += 1
            yield f"ok{pulled}@x.nl"

    stream = client.check_stream(endless(), "acme", "email", "newsletter", batch_size=5, max_in_flight=2)
    next(stream)
    del stream
    time.sleep(0.5)
    at_drop = pulled
    time.sleep(0.5)
    assert pulled == at_drop <= 10


def test_the_client_is_shared_between_threads(fake):
    client, _, consent = fake
    errors = []

    def write(i):
        try:
            client.set_consent("acme", "email", f"t{i}@x.nl", "newsletter", "opted_in")
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and client.min_revision == 16 and len(set(consent.attempts)) == 16
