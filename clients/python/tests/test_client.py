"""Every helper of the client against a real consentd (the session's server)."""

from __future__ import annotations

import datetime

import pytest

import consentd_client as cc
from support import uid

E = cc.Channel.EMAIL


def test_health_and_server_info(client):
    assert client.health() == cc.HealthStatus.SERVING
    assert client.health("consent.v1.DecisionService") == cc.HealthStatus.SERVING
    info = client.server_info()
    assert info.version and not info.cluster


def test_check_follows_the_consent_written(client):
    jane = uid("jane")
    r = client.check("acme", E, jane, "newsletter")
    assert (r.decision, r.reason, r.send) == (cc.Decision.BLOCK, cc.Reason.NO_OPT_IN, False)
    assert client.check("acme", "email", jane, "invoices").reason == cc.Reason.NOT_OPTED_OUT

    w = client.set_consent("acme", E, jane.upper(), "newsletter", cc.ConsentStatus.OPTED_IN, source="form")
    assert w.outcome == cc.ChangeOutcome.APPLIED and w.applied and not w.replayed
    assert w.record.status == cc.ConsentStatus.OPTED_IN and w.record.source == cc.ChangeSource.FORM
    assert client.min_revision == w.revision > 0

    r = client.check("acme", E, jane, "newsletter")
    assert (r.decision, r.reason, r.send) == (cc.Decision.SEND, cc.Reason.OPTED_IN, True)
    assert r.revision >= w.revision
    assert client.check("acme", E, jane, "newsletter", "events").reason == cc.Reason.NO_TOPIC_OPT_IN

    client.set_consent("acme", E, jane, "newsletter", "opted_in", topic="events")
    assert client.check("acme", E, jane, "newsletter", "events").reason == cc.Reason.OPTED_IN
    out = client.set_consent("acme", E, jane, "newsletter", "opted_out", reason="asked by phone")
    assert client.check("acme", E, jane, "newsletter").reason == cc.Reason.PURPOSE_OPTED_OUT
    assert client.min_revision == out.revision


def test_a_check_as_of_a_past_moment_reads_history_on_either_clock(client):
    import time

    jane = uid("jane")
    client.set_consent("acme", E, jane, "newsletter", "opted_in")
    time.sleep(1.1)
    moment = time.time()
    time.sleep(1.1)
    # Clicked before the moment, recorded after it.
    client.set_consent("acme", E, jane, "newsletter", "opted_out", occurred_at=moment - 0.5)
    assert client.check("acme", E, jane, "newsletter").reason == cc.Reason.PURPOSE_OPTED_OUT
    assert client.check("acme", E, jane, "newsletter", as_of=moment).reason == cc.Reason.OPTED_IN
    r = client.check("acme", E, jane, "newsletter", as_of=moment, clock="occurred")
    assert r.reason == cc.Reason.PURPOSE_OPTED_OUT
    answers = list(client.check_stream([jane], "acme", E, "newsletter", as_of=moment))
    assert [a.reason for a in answers] == [cc.Reason.OPTED_IN]
    with pytest.raises(ValueError):
        client.check("acme", E, jane, "newsletter", clock="occurred")


def test_late_changes_are_superseded(client):
    jane = uid()
    now = datetime.datetime.now(datetime.timezone.utc)
    client.set_consent("acme", E, jane, "newsletter", "opted_out", occurred_at=now)
    late = client.set_consent(
        "acme", E, jane, "newsletter", "opted_in", occurred_at=now - datetime.timedelta(days=1)
    )
    assert late.outcome == cc.ChangeOutcome.SUPERSEDED and not late.applied
    assert client.check("acme", E, jane, "newsletter").reason == cc.Reason.PURPOSE_OPTED_OUT


def test_the_same_key_is_answered_once_and_other_content_under_it_is_refused(client):
    jane = uid()
    first = client.set_consent("acme", E, jane, "newsletter", "opted_in", idempotency_key=f"k-{jane}")
    again = client.set_consent("acme", E, jane, "newsletter", "opted_in", idempotency_key=f"k-{jane}")
    assert again.replayed and again.revision == first.revision
    with pytest.raises(cc.AlreadyExists):
        client.set_consent("acme", E, jane, "newsletter", "opted_out", idempotency_key=f"k-{jane}")
    assert len(client.get_history("acme", E, jane).events) == 1


def test_min_revision_reads_your_writes_and_refuses_a_state_not_reached(client):
    jane = uid()
    w = client.set_consent("acme", E, jane, "newsletter", "opted_in")
    assert client.check("acme", E, jane, "newsletter").revision >= w.revision
    with pytest.raises(cc.FailedPrecondition):
        client.check("acme", E, jane, "newsletter", min_revision=w.revision + 10**9)
    client.observe_revision(w.revision + 10**9)
    with pytest.raises(cc.FailedPrecondition):
        list(client.check_stream([jane], "acme", E, "newsletter"))
    client.reset_min_revision()
    assert client.min_revision == 0
    assert client.check("acme", E, jane, "newsletter").send


def test_batch_set_consent_reports_each_item(client):
    people = [uid() for _ in range(5)]
    changes = [cc.Change("acme", E, p, "newsletter", cc.ConsentStatus.OPTED_IN) for p in people]
    changes[2] = cc.Change("acme", E, "not an address", "newsletter", cc.ConsentStatus.OPTED_IN)
    changes.append(cc.Change("acme", E, people[0], "newsletter", cc.ConsentStatus.OPTED_IN, topic="discounts"))
    results = client.batch_set_consent(changes, chunk_size=4)
    assert [r.applied for r in results] == [True, True, False, True, True, True]
    bad = results[2]
    assert isinstance(bad, cc.ItemError) and bad.field == "change.contact_point" and bad.code == 3
    assert client.min_revision == max(r.revision for r in results if r.applied)
    # Sent again with the keys the client wrote into the changes: all replayed.
    again = client.batch_set_consent(changes)
    assert [getattr(r, "replayed", None) for r in again] == [True, True, None, True, True, True]
    for p in (people[0], people[1], people[3], people[4]):
        assert client.check("acme", E, p, "newsletter").send


def test_suppressions_block_every_purpose_until_lifted(client):
    jane = uid()
    client.set_consent("acme", E, jane, "newsletter", "opted_in")
    added = client.add_suppression("acme", E, jane, cc.SuppressionKind.HARD_BOUNCE, reason="550 5.1.1")
    assert added.changed and client.min_revision == added.revision
    state = client.get_consent("acme", E, jane)
    assert [(s.kind, s.reason) for s in state.suppressions] == [(cc.SuppressionKind.HARD_BOUNCE, "550 5.1.1")]
    assert not client.add_suppression("acme", E, jane, "hard_bounce", reason="550 5.1.1").changed
    r = client.check("acme", E, jane, "newsletter")
    assert (r.decision, r.reason, r.suppression_kind) == (
        cc.Decision.BLOCK,
        cc.Reason.SUPPRESSED,
        cc.SuppressionKind.HARD_BOUNCE,
    )
    assert client.check("acme", E, jane, "invoices").reason == cc.Reason.SUPPRESSED
    lifted = client.lift_suppression("acme", E, jane, cc.SuppressionKind.HARD_BOUNCE)
    assert lifted.changed and not client.lift_suppression("acme", E, jane, "hard_bounce").changed
    assert client.check("acme", E, jane, "newsletter").reason == cc.Reason.OPTED_IN


def test_get_consent_and_history(client):
    jane = uid()
    t = datetime.datetime(2026, 1, 15, 10, 32, tzinfo=datetime.timezone.utc)
    proof = cc.Proof(ip_address="192.0.2.7", user_agent="test", notice_id="nl-2026", notice_version="3")
    client.set_consent("acme", E, jane, "newsletter", "opted_in", occurred_at=t, proof=proof, source="form")
    client.set_consent("acme", E, jane, "newsletter", "opted_in", topic="events", occurred_at=t)
    client.add_suppression("acme", E, jane, "manual")
    state = client.get_consent("acme", E, jane.upper())
    assert state.contact_point == jane
    assert state.status("newsletter") == cc.ConsentStatus.OPTED_IN
    assert state.status("newsletter", "events") == cc.ConsentStatus.OPTED_IN
    assert state.status("invoices") == cc.ConsentStatus.NOT_SET
    record = next(r for r in state.records if r.topic == "")
    assert record.occurred_at == t and record.source == cc.ChangeSource.FORM
    history = client.get_history("acme", E, jane, page_size=1)
    assert [e.kind for e in history.events] == [
        cc.EventKind.CONSENT,
        cc.EventKind.CONSENT,
        cc.EventKind.SUPPRESSION_ADDED,
    ]
    assert [e.seq for e in history.events] == [1, 2, 3]
    first = history.events[0]
    assert first.proof.ip_address == "192.0.2.7" and first.proof.notice_version == "3"
    assert first.occurred_at == t and first.applied and first.hash
    assert history.events[1].prev_hash == first.hash
    assert history.verification.intact and history.verification.events_checked == 3


def test_double_opt_in_waits_for_confirmation(client):
    jane = uid()
    w = client.set_consent("doi", E, jane, "newsletter", "opted_in")
    assert w.outcome == cc.ChangeOutcome.PENDING_CONFIRMATION and w.confirmation_token
    assert w.confirmation_expires_at is not None
    assert client.check("doi", E, jane, "newsletter").reason == cc.Reason.PENDING_CONFIRMATION
    confirmed = client.confirm_opt_in(w.confirmation_token, ip_address="198.51.100.4", user_agent="mail client")
    assert confirmed.outcome == cc.ChangeOutcome.APPLIED and client.min_revision == confirmed.revision
    assert client.check("doi", E, jane, "newsletter").reason == cc.Reason.OPTED_IN
    with pytest.raises(cc.FailedPrecondition):
        client.confirm_opt_in(w.confirmation_token)


def test_mint_links(client):
    links = client.mint_links("acme", E, uid(), "newsletter", "events")
    assert "/u/" in links.unsubscribe_url and "/p/" in links.preferences_url
    assert links.list_unsubscribe == f"<{links.unsubscribe_url}>"
    assert links.list_unsubscribe_post == "List-Unsubscribe=One-Click"


def test_check_stream_with_overrides_and_links(client):
    yes, no, sms = uid(), uid(), "+31612345678"
    client.set_consent("acme", E, yes, "newsletter", "opted_in")
    client.set_consent("acme", E, yes, "newsletter", "opted_in", topic="events")
    client.add_suppression("acme", E, no, "spam_complaint")
    client.set_consent("acme", "sms", sms, "newsletter", "opted_in")
    recipients = [yes, no, "nope", cc.Recipient(yes, topic="events"), cc.Recipient(sms, channel=cc.Channel.SMS)]
    out = list(client.check_stream(recipients, "acme", E, "newsletter", batch_size=2, include_links=True))
    assert [d.contact_point for d in out] == [yes, no, "nope", yes, sms]
    assert [d.reason for d in out] == [
        cc.Reason.OPTED_IN,
        cc.Reason.SUPPRESSED,
        cc.Reason.INVALID_CONTACT_POINT,
        cc.Reason.OPTED_IN,
        cc.Reason.OPTED_IN,
    ]
    assert out[1].suppression_kind == cc.SuppressionKind.SPAM_COMPLAINT and out[0].suppression_kind is None
    assert [d.unsubscribe_url is not None for d in out] == [True, False, False, True, True]
    assert out[0].preferences_url and out[0].unsubscribe_url != out[3].unsubscribe_url


def test_api_keys_scopes_and_errors(server, client):
    secret, key = client.create_api_key(["check"], profiles=["acme"], description="sms gateway")
    assert key.key_id.startswith("ck_") and secret.startswith(key.key_id + ".")
    with server.client(api_key=secret) as gateway:
        assert gateway.check("acme", E, uid(), "invoices").send
        assert gateway.server_info().version
        with pytest.raises(cc.PermissionDenied):
            gateway.set_consent("acme", E, uid(), "newsletter", "opted_in")
        with pytest.raises(cc.PermissionDenied):
            gateway.check("doi", E, uid(), "newsletter")
        client.revoke_api_key(key.key_id)
        with pytest.raises(cc.Unauthenticated):
            gateway.check("acme", E, uid(), "invoices")
    with server.client(api_key=None) as anonymous:
        with pytest.raises(cc.Unauthenticated):
            anonymous.check("acme", E, uid(), "invoices")
        assert anonymous.health() == cc.HealthStatus.SERVING
    with pytest.raises(cc.InvalidArgument) as e:
        client.set_consent("acme", E, "not an address", "newsletter", "opted_in")
    assert e.value.field == "change.contact_point"
    with pytest.raises(cc.ConsentdError) as e:
        client.check("nosuchprofile", E, uid(), "newsletter")
    assert e.value.code.name in ("NOT_FOUND", "INVALID_ARGUMENT")
    with pytest.raises(cc.AlreadyExists):
        client.create_profile("acme")
