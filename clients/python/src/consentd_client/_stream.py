"""CheckStream: recipients in, decisions out, in order, with a bound on what is in flight.

How the bound works: a semaphore of ``max_in_flight`` slots. gRPC's request thread takes a
slot *before* it reads the next batch from the caller's iterable, and the slot is given back
only when the caller has taken the last decision of a batch. So the input is never read
more than ``max_in_flight`` batches ahead of what the caller consumed, and at most that many
batches (and their answers) are held in memory. gRPC writes one message at a time and the
server stops reading a stream whose answers are not being read (HTTP/2 flow control), so a
slow caller slows the whole pipeline down instead of buffering it.
"""

from __future__ import annotations

import collections
import functools
import itertools
import threading
from typing import Any, Iterable, Iterator, List, Optional, Union

import grpc

from ._proto.consent.v1 import decision_pb2
from .enums import Channel, Decision, Reason, SuppressionKind
from .errors import StreamProtocolError, from_rpc_error
from .types import CheckDecision, Recipient, enum_of

__all__ = ["CheckStream"]


class _EnumTable(dict):
    """number -> enum member; numbers this version does not know become pseudo-members."""

    def __init__(self, cls):
        super().__init__((int(m), m) for m in cls)
        self._cls = cls

    def __missing__(self, number):
        member = self._cls(number)
        self[number] = member
        return member


_DECISIONS = _EnumTable(Decision)
_REASONS = _EnumTable(Reason)
_SUPPRESSIONS = _EnumTable(SuppressionKind)
_new = tuple.__new__
_make_decision = functools.partial(tuple.__new__, CheckDecision)
_NONES = itertools.repeat(None)
# A packed answer byte is decision * 64 + reason: both looked up per byte value, in C.
_OUTCOME_DECISIONS = [_DECISIONS[b >> 6] for b in range(256)]
_OUTCOME_REASONS = [_REASONS[b & 63] for b in range(256)]


class _Shared:
    """State shared by gRPC's request thread and the caller's thread. Holds no reference to
    the CheckStream, so dropping the CheckStream closes the call (``__del__``)."""

    def __init__(self, max_in_flight: int):
        self.slots = threading.Semaphore(max_in_flight)
        self.lock = threading.Lock()
        self.pending = collections.deque()  # (batch_id, contact points) sent, not yet consumed
        self.closed = threading.Event()
        self.input_error: Optional[BaseException] = None
        self.in_flight = 0
        self.max_in_flight_seen = 0
        self.batches_sent = 0
        self.recipients_read = 0
        self.revision = 0

    def acquire(self) -> bool:
        while not self.slots.acquire(timeout=0.2):
            if self.closed.is_set():
                return False
        if self.closed.is_set():
            self.slots.release()
            return False
        return True


def _with_overrides(items: list):
    """Contact points and sparse overrides of a batch holding Recipients."""
    contacts = []
    overrides = []
    for i, r in enumerate(items):
        if isinstance(r, Recipient):
            contacts.append(r.contact_point)
            if r.channel is not None or r.topic:
                channel = 0 if r.channel is None else int(enum_of(Channel, r.channel))
                overrides.append(decision_pb2.ItemOverride(index=i, channel=channel, topic_id=r.topic or ""))
        elif isinstance(r, str):
            contacts.append(str(r))
        else:
            raise TypeError(f"a recipient must be a str or a Recipient, not {type(r).__name__}")
    return contacts, overrides


def _requests(shared: _Shared, recipients, template: dict, batch_size: int):
    """The request iterator gRPC consumes on its own thread."""
    source = None
    exhausted = False
    try:
        source = iter(recipients)
        batch_id = 0
        while shared.acquire():
            # Plain strings take the fast path: one join in C packs the batch (one buffer,
            # not a string per recipient on the wire); a Recipient (or anything else) makes
            # it refuse, and the batch is taken apart item by item.
            contacts = list(itertools.islice(source, batch_size))
            overrides = []
            try:
                joined = "\n".join(contacts)
            except TypeError:
                contacts, overrides = _with_overrides(contacts)
                joined = "\n".join(contacts)
            if joined.count("\n") == len(contacts) - 1:
                packed = (joined + "\n").encode() if contacts else b""
                request = decision_pb2.CheckStreamRequest(
                    contact_points_packed=packed, overrides=overrides, packed_answers=True, **template
                )
            else:
                # A contact point with a line feed in it: this batch goes listed.
                request = decision_pb2.CheckStreamRequest(
                    contact_points=contacts, overrides=overrides, packed_answers=True, **template
                )
            if not contacts:
                exhausted = True
                shared.slots.release()
                return
            batch_id += 1
            with shared.lock:
                shared.pending.append((batch_id, contacts))
                shared.in_flight += 1
                shared.max_in_flight_seen = max(shared.max_in_flight_seen, shared.in_flight)
                shared.batches_sent += 1
                shared.recipients_read += len(contacts)
            request.batch_id = batch_id
            yield request
            if len(contacts) < batch_size:
                # A short batch: the input is over (end the stream now, without a slot).
                exhausted = True
                return
    except Exception as e:  # noqa: BLE001 - handed to the caller's thread, raised there
        shared.input_error = e
        exhausted = True
    finally:
        # Stopped early: let the input's generator run its cleanup (close its file).
        close = getattr(source, "close", None)
        if not exhausted and close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - its cleanup failing is not the stream's error
                pass


def _batches(shared: _Shared, call) -> Iterator[List[CheckDecision]]:
    """The caller's side: answers matched to batches, one list of decisions per batch."""
    decisions_of = _OUTCOME_DECISIONS
    reasons_of = _OUTCOME_REASONS
    finished = False
    try:
        for answer in call:
            with shared.lock:
                if not shared.pending:
                    raise StreamProtocolError("the server answered a batch that was not sent")
                batch_id, contacts = shared.pending.popleft()
            n = len(contacts)
            if answer.batch_id != batch_id:
                raise StreamProtocolError(f"expected the answer to batch {batch_id}, got batch {answer.batch_id}")
            outcomes = answer.outcomes
            if len(outcomes) != n:
                raise StreamProtocolError(f"batch {batch_id} had {n} recipients, the answer {len(outcomes)} decisions")
            if answer.revision > shared.revision:
                shared.revision = answer.revision
            if not answer.suppressed and not answer.links:
                # All in C: no Python frame per decision.
                out = list(
                    map(
                        _make_decision,
                        zip(
                            contacts,
                            map(decisions_of.__getitem__, outcomes),
                            map(reasons_of.__getitem__, outcomes),
                            _NONES,
                            _NONES,
                            _NONES,
                        ),
                    )
                )
            else:
                kinds = {s.index: _SUPPRESSIONS[s.kind] for s in answer.suppressed}
                links = {l.index: (l.unsubscribe_url, l.preferences_url) for l in answer.links}
                out = []
                for i, (cp, o) in enumerate(zip(contacts, outcomes)):
                    unsubscribe, preferences = links.get(i, (None, None))
                    out.append(
                        _new(CheckDecision, (cp, decisions_of[o], reasons_of[o], kinds.get(i), unsubscribe, preferences))
                    )
            del contacts
            yield out
            # The caller came back for more: it has every decision of this batch, whose
            # slot is free.
            with shared.lock:
                shared.in_flight -= 1
            shared.slots.release()
        finished = True
    except grpc.RpcError as e:
        if shared.input_error is not None:
            raise shared.input_error from e
        raise from_rpc_error(e) from e
    finally:
        if not finished:
            shared.closed.set()
            call.cancel()
    if shared.input_error is not None:
        raise shared.input_error


def _decisions(batches: Iterator[List[CheckDecision]]) -> Iterator[CheckDecision]:
    for batch in batches:
        yield from batch


class CheckStream:
    """An iterator of :class:`CheckDecision`, one per recipient, in input order (or, with
    :meth:`batches`, of lists of them, one per batch).

    Made by :meth:`Client.check_stream`; the call starts on the first ``next()``. Use it as
    a context manager (or call :meth:`close`) to stop early; dropping it also closes it.
    The counters (``in_flight``, ``max_in_flight_seen``, ``batches_sent``,
    ``recipients_read``, ``revision``) show what the stream is doing.
    """

    def __init__(
        self,
        rpc,
        metadata,
        recipients: Iterable[Union[str, Recipient]],
        *,
        profile: str,
        channel: Channel,
        purpose: str,
        topic: Optional[str],
        batch_size: int,
        max_in_flight: int,
        min_revision: int,
        include_links: bool,
        timeout: Optional[float],
        as_of: Any = None,
        as_of_clock: int = 0,
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._rpc = rpc
        self._metadata = metadata
        self._timeout = timeout
        self._recipients = recipients
        self._template = dict(
            profile_id=profile,
            channel=int(channel),
            purpose_id=purpose,
            topic_id=topic or "",
            min_revision=min_revision,
            include_links=include_links,
            as_of_clock=as_of_clock,
        )
        if as_of is not None:
            self._template["as_of"] = as_of
        self.batch_size = batch_size
        self.max_in_flight = max_in_flight
        self._shared = _Shared(max_in_flight)
        self._call = None
        self._batches: Optional[Iterator[List[CheckDecision]]] = None
        self._gen: Optional[Iterator[CheckDecision]] = None

    def _start(self) -> Iterator[List[CheckDecision]]:
        if self._batches is None:
            requests = _requests(self._shared, self._recipients, self._template, self.batch_size)
            self._recipients = None
            self._call = self._rpc(requests, metadata=self._metadata, timeout=self._timeout)
            self._batches = _batches(self._shared, self._call)
        return self._batches

    def __iter__(self) -> "CheckStream":
        return self

    def __next__(self) -> CheckDecision:
        if self._gen is None:
            if self._shared.closed.is_set():
                raise StopIteration
            if self._batches is not None:
                raise RuntimeError("this CheckStream is iterated by batches()")
            self._gen = _decisions(self._start())
        return next(self._gen)

    def batches(self) -> Iterator[List[CheckDecision]]:
        """The decisions a batch at a time: one list per batch, in order (less overhead per
        decision than iterating one by one). Use one way of iterating per stream."""
        if self._gen is not None or self._batches is not None:
            raise RuntimeError("this CheckStream is already being iterated")
        if self._shared.closed.is_set():
            return iter(())
        return self._start()

    def close(self) -> None:
        """Stops the stream: cancels the call and stops reading the recipients."""
        self._shared.closed.set()
        if self._call is not None:
            self._call.cancel()
        for gen in (self._gen, self._batches):
            if gen is not None:
                gen.close()

    def __enter__(self) -> "CheckStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    @property
    def in_flight(self) -> int:
        """Batches read from the input whose decisions the caller has not all taken."""
        return self._shared.in_flight

    @property
    def max_in_flight_seen(self) -> int:
        return self._shared.max_in_flight_seen

    @property
    def batches_sent(self) -> int:
        return self._shared.batches_sent

    @property
    def recipients_read(self) -> int:
        """Recipients taken from the input so far."""
        return self._shared.recipients_read

    @property
    def revision(self) -> int:
        """The highest revision the answers read so far were decided at."""
        return self._shared.revision
