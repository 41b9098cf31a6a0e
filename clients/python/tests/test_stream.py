"""CheckStream at volume against a real consentd: a million recipients with the input
never read more than max_in_flight batches ahead, and memory that does not grow with them."""

from __future__ import annotations

import gc

import consentd_client as cc
from support import rss_bytes, uid

RECIPIENTS = 1_000_000


def test_a_million_recipients_with_bounded_memory(client):
    known = [uid("known") for _ in range(10)]
    for p in known:
        client.set_consent("acme", cc.Channel.EMAIL, p, "newsletter", "opted_in")
    every = RECIPIENTS // len(known)
    batch, window = 4096, 4
    pulled = 0

    def recipients():
        nonlocal pulled
        for i in range(RECIPIENTS):
            pulled += 1
            yield known[i // every] if i % every == 0 else f"r{i}@example.com"

    gc.collect()
    rss_before = rss_bytes()
    rss_peak = rss_before
    consumed = sends = 0
    furthest_ahead = 0
    stream = client.check_stream(recipients(), "acme", cc.Channel.EMAIL, "newsletter", batch_size=batch, max_in_flight=window)
    for d in stream:
        if d.send:
            sends += 1
            assert d.contact_point == known[consumed // every] and consumed % every == 0
            assert d.reason == cc.Reason.OPTED_IN
        else:
            assert d.reason == cc.Reason.NO_OPT_IN
        consumed += 1
        ahead = pulled - consumed
        if ahead > furthest_ahead:
            furthest_ahead = ahead
        if consumed % 65536 == 0:
            rss_peak = max(rss_peak, rss_bytes())
            assert stream.in_flight <= window
    assert consumed == pulled == RECIPIENTS
    assert sends == len(known)
    # The bound: the input is never read more than `window` batches ahead of the caller,
    # and no more than `window` batches were ever in flight.
    assert furthest_ahead <= window * batch
    assert stream.max_in_flight_seen <= window
    assert stream.batches_sent == -(-RECIPIENTS // batch)
    # Memory: a million recipients and decisions held at once would take well over 100
    # MB in Python; the stream holds at most `window` batches of them.
    growth = rss_peak - rss_before
    print(f"rss before {rss_before >> 20} MiB, peak {rss_peak >> 20} MiB, furthest ahead {furthest_ahead}")
    assert growth < 48 << 20, f"RSS grew {growth >> 20} MiB during the stream"
