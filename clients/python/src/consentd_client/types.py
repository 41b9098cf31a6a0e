"""The values the client takes and returns: plain dataclasses with typed enums.

Each answer keeps the protobuf message it came from in ``raw``, so a field added to the
proto later is readable before this layer wraps it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional, Union

from google.protobuf import timestamp_pb2

from ._proto.consent.v1 import consent_pb2, decision_pb2, types_pb2
from .enums import (
    ChangeOutcome,
    ChangeSource,
    Channel,
    ConsentStatus,
    Decision,
    EventKind,
    Reason,
    SuppressionKind,
)

__all__ = [
    "Timestamp",
    "Proof",
    "Change",
    "Recipient",
    "CheckResult",
    "CheckDecision",
    "ChangeResult",
    "ItemError",
    "ConsentRecord",
    "Suppression",
    "ConsentState",
    "HistoryEvent",
    "ChainVerification",
    "History",
    "SuppressionResult",
    "Links",
    "RetryPolicy",
]

#: A time: an aware ``datetime`` (a naive one is taken as UTC) or Unix seconds.
Timestamp = Union[_dt.datetime, int, float]


def enum_of(cls, value):
    """An enum member from a member, its number or its name (``"email"``, ``"EMAIL"``)."""
    if isinstance(value, str):
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(f"`{value}` is not a {cls.__name__}: one of {[m.name for m in cls]}") from None
    return cls(value)


def to_timestamp(value: Optional[Timestamp]) -> Optional[timestamp_pb2.Timestamp]:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        ts.FromDatetime(value.astimezone(_dt.timezone.utc))
    else:
        seconds = int(value)
        ts.seconds = seconds
        ts.nanos = int(round((float(value) - seconds) * 1e9))
    return ts


def from_timestamp(message: Any, name: str) -> Optional[_dt.datetime]:
    """The field ``name`` of ``message`` as an aware UTC datetime, ``None`` when unset."""
    if not message.HasField(name):
        return None
    ts = getattr(message, name)
    return _dt.datetime.fromtimestamp(ts.seconds, _dt.timezone.utc) + _dt.timedelta(microseconds=ts.nanos // 1000)


@dataclass(frozen=True)
class Proof:
    """Evidence kept with a change: what the person saw and where they acted from."""

    ip_address: str = ""
    user_agent: str = ""
    notice_id: str = ""
    notice_version: str = ""
    notice_hash: str = ""
    notice_text: str = ""

    def to_pb(self) -> types_pb2.Proof:
        return types_pb2.Proof(
            ip_address=self.ip_address,
            user_agent=self.user_agent,
            notice_id=self.notice_id,
            notice_version=self.notice_version,
            notice_hash=self.notice_hash,
            notice_text=self.notice_text,
        )

    @staticmethod
    def from_pb(p: types_pb2.Proof) -> "Proof":
        return Proof(p.ip_address, p.user_agent, p.notice_id, p.notice_version, p.notice_hash, p.notice_text)


@dataclass
class Change:
    """One consent change, for :meth:`Client.batch_set_consent`.

    ``idempotency_key`` is filled with a new UUID4 when left ``None``; keep it (it is also
    on the :class:`ChangeResult`) to retry the change later, even from another process.
    """

    profile: str
    channel: Channel
    contact_point: str
    purpose: str
    status: ConsentStatus
    topic: str = ""
    occurred_at: Optional[Timestamp] = None
    source: ChangeSource = ChangeSource.API
    reason: str = ""
    proof: Optional[Proof] = None
    expires_at: Optional[Timestamp] = None
    idempotency_key: Optional[str] = None

    def to_pb(self) -> consent_pb2.ConsentChange:
        change = consent_pb2.ConsentChange(
            profile_id=self.profile,
            channel=int(self.channel),
            contact_point=self.contact_point,
            purpose_id=self.purpose,
            topic_id=self.topic or "",
            status=int(self.status),
            source=int(self.source),
            reason=self.reason or "",
        )
        if self.occurred_at is not None:
            change.occurred_at.CopyFrom(to_timestamp(self.occurred_at))
        if self.expires_at is not None:
            change.expires_at.CopyFrom(to_timestamp(self.expires_at))
        if self.proof is not None:
            change.proof.CopyFrom(self.proof.to_pb())
        return change


class Recipient(NamedTuple):
    """A CheckStream recipient that overrides the stream's channel or topic.

    Plain strings are recipients with the stream's channel and topic; use this only for
    the few that differ (the overrides are sparse on the wire).
    """

    contact_point: str
    channel: Optional[Channel] = None
    topic: Optional[str] = None


@dataclass(frozen=True)
class CheckResult:
    """The answer of a unary :meth:`Client.check`."""

    decision: Decision
    reason: Reason
    #: Set when ``reason`` is :attr:`Reason.SUPPRESSED`.
    suppression_kind: Optional[SuppressionKind]
    #: The revision of the state the decision read.
    revision: int
    raw: decision_pb2.CheckResponse = field(repr=False, compare=False)

    @property
    def send(self) -> bool:
        return self.decision == Decision.SEND


class CheckDecision(NamedTuple):
    """One recipient's decision from :meth:`Client.check_stream`, in input order."""

    contact_point: str
    decision: Decision
    reason: Reason
    #: Set when ``reason`` is :attr:`Reason.SUPPRESSED`.
    suppression_kind: Optional[SuppressionKind] = None
    #: With ``include_links``: the recipient's one-click unsubscribe URL (SEND only).
    unsubscribe_url: Optional[str] = None
    #: With ``include_links``: the recipient's preference-center URL (SEND only).
    preferences_url: Optional[str] = None

    @property
    def send(self) -> bool:
        return self.decision == Decision.SEND


@dataclass(frozen=True)
class ConsentRecord:
    """The current state of one purpose (or topic) of one contact point."""

    purpose: str
    topic: str
    status: ConsentStatus
    occurred_at: Optional[_dt.datetime]
    expires_at: Optional[_dt.datetime]
    source: ChangeSource
    revision: int
    raw: types_pb2.ConsentRecord = field(repr=False, compare=False)

    @staticmethod
    def from_pb(r: types_pb2.ConsentRecord) -> "ConsentRecord":
        return ConsentRecord(
            r.purpose_id,
            r.topic_id,
            ConsentStatus(r.status),
            from_timestamp(r, "occurred_at"),
            from_timestamp(r, "expires_at"),
            ChangeSource(r.source),
            r.revision,
            r,
        )


@dataclass(frozen=True)
class ChangeResult:
    """What a consent write did."""

    outcome: ChangeOutcome
    #: The new revision when applied; the store's revision when superseded.
    revision: int
    #: True when the server answered a repeated idempotency key with the first answer.
    replayed: bool
    #: The idempotency key sent (generated by the client unless given).
    idempotency_key: str
    record: Optional[ConsentRecord]
    #: Set for :attr:`ChangeOutcome.PENDING_CONFIRMATION`.
    confirmation_token: str
    confirmation_expires_at: Optional[_dt.datetime]
    raw: consent_pb2.ChangeResult = field(repr=False, compare=False)

    @property
    def applied(self) -> bool:
        return self.outcome in (ChangeOutcome.APPLIED, ChangeOutcome.PENDING_CONFIRMATION)

    @staticmethod
    def from_pb(r: consent_pb2.ChangeResult, idempotency_key: str) -> "ChangeResult":
        return ChangeResult(
            ChangeOutcome(r.outcome),
            r.revision,
            r.replayed,
            idempotency_key,
            ConsentRecord.from_pb(r.record) if r.HasField("record") else None,
            r.confirmation_token,
            from_timestamp(r, "confirmation_expires_at"),
            r,
        )


@dataclass(frozen=True)
class ItemError:
    """Why one item of a :meth:`Client.batch_set_consent` failed (the others did not)."""

    #: The gRPC status code (a ``grpc.StatusCode`` value's number) the item would have had alone.
    code: int
    #: The offending field within the change, e.g. ``change.contact_point`` (the server's
    #: ``requests[i].`` prefix is removed: the result's position names the change).
    field: str
    message: str
    idempotency_key: str

    @property
    def applied(self) -> bool:
        return False


@dataclass(frozen=True)
class Suppression:
    """An active channel-wide block."""

    kind: SuppressionKind
    occurred_at: Optional[_dt.datetime]
    reason: str
    revision: int

    @staticmethod
    def from_pb(s: types_pb2.Suppression) -> "Suppression":
        return Suppression(SuppressionKind(s.kind), from_timestamp(s, "occurred_at"), s.reason, s.revision)


@dataclass(frozen=True)
class ConsentState:
    """A contact point's records and active suppressions on one channel."""

    #: The normalized contact point.
    contact_point: str
    records: list
    suppressions: list
    revision: int
    raw: consent_pb2.GetConsentResponse = field(repr=False, compare=False)

    def status(self, purpose: str, topic: str = "") -> ConsentStatus:
        """The stored status of a purpose (or topic); ``NOT_SET`` without a record."""
        for r in self.records:
            if r.purpose == purpose and r.topic == topic:
                return r.status
        return ConsentStatus.NOT_SET


@dataclass(frozen=True)
class HistoryEvent:
    """One event of a contact point's hash-chained history."""

    seq: int
    kind: EventKind
    applied: bool
    revision: int
    purpose: str
    topic: str
    status: ConsentStatus
    suppression_kind: SuppressionKind
    occurred_at: Optional[_dt.datetime]
    recorded_at: Optional[_dt.datetime]
    source: ChangeSource
    actor: str
    reason: str
    proof: Proof
    hash: str
    prev_hash: str
    raw: consent_pb2.HistoryEvent = field(repr=False, compare=False)

    @staticmethod
    def from_pb(e: consent_pb2.HistoryEvent) -> "HistoryEvent":
        return HistoryEvent(
            e.seq,
            EventKind(e.kind),
            e.applied,
            e.revision,
            e.purpose_id,
            e.topic_id,
            ConsentStatus(e.status),
            SuppressionKind(e.suppression_kind),
            from_timestamp(e, "occurred_at"),
            from_timestamp(e, "recorded_at"),
            ChangeSource(e.source),
            e.actor,
            e.reason,
            Proof.from_pb(e.proof),
            e.hash,
            e.prev_hash,
            e,
        )


@dataclass(frozen=True)
class ChainVerification:
    """The server's verification of the whole hash chain."""

    intact: bool
    events_checked: int
    #: When not intact: the sequence number of the first broken link.
    first_broken_seq: int
    detail: str


@dataclass(frozen=True)
class History:
    """Every event of a contact point on a channel, oldest first, with the verification."""

    events: list
    verification: ChainVerification


@dataclass(frozen=True)
class SuppressionResult:
    """What an add or lift of a suppression did."""

    #: False when nothing changed (the kind was already active, or not active).
    changed: bool
    revision: int


@dataclass(frozen=True)
class Links:
    """A recipient's links for one message (see the HTTP edge in the server's README)."""

    unsubscribe_url: str
    #: The ``List-Unsubscribe`` header value.
    list_unsubscribe: str
    #: The ``List-Unsubscribe-Post`` header value.
    list_unsubscribe_post: str
    preferences_url: str


@dataclass(frozen=True)
class RetryPolicy:
    """How calls whose outcome is unknown (``UNAVAILABLE``) are retried.

    Writes are retried with the same idempotency key, so a change the server took before
    the connection broke is answered again (``replayed``), never applied twice. Backoff
    doubles from ``initial_backoff`` up to ``max_backoff`` seconds, with jitter.
    """

    max_attempts: int = 6
    initial_backoff: float = 0.1
    max_backoff: float = 2.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
