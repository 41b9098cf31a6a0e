"""The client: one gRPC channel to consentd, the API key on every call, typed helpers.

What it takes care of:

- **Authentication**: ``authorization: Bearer <key_id>.<secret>`` on every call.
- **TLS and mTLS**: ``https://`` addresses, a CA file, optionally a client certificate.
- **Safe retries**: every consent change gets an idempotency key (UUID4) when it is made,
  and a call that fails ``UNAVAILABLE`` (outcome unknown) is retried with the *same* key,
  with bounded exponential backoff; the server answers a change it already took with its
  first answer (``replayed``), so nothing is applied twice.
- **Read your writes**: the highest revision any write answered is remembered
  (:attr:`Client.min_revision`) and sent as ``min_revision`` with every check.
"""

from __future__ import annotations

import enum
import os
import random
import re
import threading
import time
import uuid
from typing import Iterable, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

import grpc

from . import errors
from ._proto.consent.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    consent_pb2,
    consent_pb2_grpc,
    decision_pb2,
    decision_pb2_grpc,
)
from ._stream import CheckStream
from .enums import (
    ApiKeyScope,
    ChangeSource,
    Channel,
    ConsentStatus,
    Decision,
    DoubleOptInMode,
    PurposeKind,
    Reason,
    SuppressionKind,
)
from .types import (
    ChainVerification,
    Change,
    ChangeResult,
    CheckResult,
    ConsentRecord,
    ConsentState,
    History,
    HistoryEvent,
    ItemError,
    Links,
    Proof,
    Recipient,
    RetryPolicy,
    Suppression,
    SuppressionResult,
    Timestamp,
    enum_of as _enum,
    to_timestamp,
)

__all__ = ["Client", "HealthStatus"]


def _clock(as_of: Optional[Timestamp], clock: Optional[str]) -> int:
    """The request's ``as_of_clock`` for ``as_of`` and ``clock``."""
    if as_of is None:
        if clock is not None:
            raise ValueError("clock needs as_of")
        return decision_pb2.CLOCK_UNSPECIFIED
    if clock in (None, "recorded"):
        return decision_pb2.CLOCK_RECORDED
    if clock == "occurred":
        return decision_pb2.CLOCK_OCCURRED
    raise ValueError(f'clock: "recorded" or "occurred", not {clock!r}')

PathOrPem = Union[str, "os.PathLike[str]", bytes]

#: Largest answer accepted (a CheckStream batch with links can pass gRPC's default 4 MiB).
RECEIVE_MESSAGE_BYTES_MAX = 64 << 20
#: The server's default --message-bytes-max.
SEND_MESSAGE_BYTES_MAX = 16 << 20
#: The server's default --set-batch-items-max: BatchSetConsent calls are cut to this.
SET_BATCH_ITEMS_MAX = 1000


class HealthStatus(enum.IntEnum):
    """grpc.health.v1 serving status."""

    UNKNOWN = 0
    SERVING = 1
    NOT_SERVING = 2
    SERVICE_UNKNOWN = 3


def _read(value: Optional[PathOrPem]) -> Optional[bytes]:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    with open(value, "rb") as f:
        return f.read()


def _target(addr: str) -> Tuple[str, bool]:
    """``host:port`` and whether TLS is used, from ``http://``, ``https://`` or ``host:port``."""
    if "://" not in addr:
        return addr, False
    parts = urlsplit(addr)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"address `{addr}`: the scheme must be http or https")
    if not parts.hostname:
        raise ValueError(f"address `{addr}` needs a host, e.g. http://127.0.0.1:50051")
    tls = parts.scheme == "https"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port or (443 if tls else 80)}", tls


def _item_field(field: str) -> str:
    """A batch item's field relative to its change: the server names it within the call
    (`requests[2].change.contact_point`), and the client cuts batches into calls, so the
    call's index would mislead; the result's place in the list says which change it is."""
    return re.sub(r"^requests\[\d+\]\.", "", field)


def _encode_health_request(service: str) -> bytes:
    # grpc.health.v1.HealthCheckRequest { string service = 1; }, encoded by hand so the
    # client needs no second descriptor of the health proto (which other packages register).
    data = service.encode()
    if not data:
        return b""
    length = bytearray()
    n = len(data)
    while True:
        byte = n & 0x7F
        n >>= 7
        length.append(byte | (0x80 if n else 0))
        if not n:
            break
    return b"\x0a" + bytes(length) + data


def _decode_health_response(data: bytes) -> int:
    # HealthCheckResponse { ServingStatus status = 1; }: one varint field, or nothing (0).
    if len(data) >= 2 and data[0] == 0x08:
        return data[1]
    return 0


class Client:
    """A consentd client. Thread-safe; share one per process (it holds one connection).

    :param addr: ``http://host:port``, ``https://host:port`` or ``host:port`` (plaintext).
    :param api_key: ``<key_id>.<secret>``, sent as ``authorization: Bearer ...``.
    :param ca: the CA certificate (PEM file path or bytes) that signed the server's
        certificate; ``None`` uses the system's roots. Needs ``https://``.
    :param cert: with ``key``, a client certificate for mutual TLS.
    :param key: the client certificate's private key.
    :param server_name: the name to check the server's certificate against, when it is not
        the address's host.
    :param retry: how ``UNAVAILABLE`` is retried (writes with the same idempotency key).
    :param timeout: default deadline of unary calls in seconds (``None``: none).
    :param options: extra gRPC channel options.
    :param interceptors: gRPC client interceptors (tracing, metrics, tests).
    """

    def __init__(
        self,
        addr: str,
        api_key: Optional[str] = None,
        ca: Optional[PathOrPem] = None,
        cert: Optional[PathOrPem] = None,
        key: Optional[PathOrPem] = None,
        *,
        server_name: Optional[str] = None,
        retry: RetryPolicy = RetryPolicy(),
        timeout: Optional[float] = None,
        options: Sequence[Tuple[str, object]] = (),
        interceptors: Sequence[object] = (),
    ):
        target, tls = _target(addr)
        if (cert is None) != (key is None):
            raise ValueError("a client certificate needs both cert and key")
        if not tls and (ca is not None or cert is not None):
            raise ValueError(f"ca, cert and key need an https:// address, not `{addr}`")
        channel_options = [
            ("grpc.max_receive_message_length", RECEIVE_MESSAGE_BYTES_MAX),
            ("grpc.max_send_message_length", SEND_MESSAGE_BYTES_MAX),
            # Reconnect quickly after a server restart, so retries find it back: gRPC's
            # default backoff (1 s growing to 120 s) fails calls fast for that long.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 2000),
        ]
        if server_name:
            channel_options.append(("grpc.ssl_target_name_override", server_name))
        channel_options.extend(options)
        if tls:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read(ca), private_key=_read(key), certificate_chain=_read(cert)
            )
            channel = grpc.secure_channel(target, credentials, channel_options)
        else:
            channel = grpc.insecure_channel(target, channel_options)
        self._raw_channel = channel
        if interceptors:
            channel = grpc.intercept_channel(channel, *interceptors)
        self.channel = channel
        self._metadata: Tuple[Tuple[str, str], ...] = (
            (("authorization", f"Bearer {api_key}"),) if api_key else ()
        )
        self.retry = retry
        self.timeout = timeout
        #: The generated stubs, for calls the helpers do not cover (pass ``metadata``).
        self.decision = decision_pb2_grpc.DecisionServiceStub(channel)
        self.consent = consent_pb2_grpc.ConsentServiceStub(channel)
        self.admin = admin_pb2_grpc.AdminServiceStub(channel)
        self._health = channel.unary_unary(
            "/grpc.health.v1.Health/Check", request_serializer=None, response_deserializer=None
        )
        self._revision = 0
        self._revision_lock = threading.Lock()

    # ---- life ------------------------------------------------------------------------

    @property
    def metadata(self) -> Tuple[Tuple[str, str], ...]:
        """The call metadata (the API key) to pass to the raw stubs."""
        return self._metadata

    def close(self) -> None:
        self._raw_channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- read your writes ------------------------------------------------------------

    @property
    def min_revision(self) -> int:
        """The highest revision a write answered on this client; checks read at least it."""
        return self._revision

    def observe_revision(self, revision: int) -> None:
        """Raises :attr:`min_revision` to ``revision`` (e.g. one another process wrote)."""
        with self._revision_lock:
            if revision > self._revision:
                self._revision = revision

    def reset_min_revision(self) -> None:
        """Forgets the revisions seen (e.g. when pointed at another, fresh server)."""
        with self._revision_lock:
            self._revision = 0

    def _min_revision(self, explicit: Optional[int]) -> int:
        return self._revision if explicit is None else explicit

    # ---- calls -----------------------------------------------------------------------

    def _call(self, rpc, request, *, retry: bool, timeout: Optional[float] = None):
        """One unary call; retried on UNAVAILABLE with the same request when ``retry``."""
        policy = self.retry
        backoff = policy.initial_backoff
        attempt = 0
        while True:
            attempt += 1
            try:
                return rpc(request, metadata=self._metadata, timeout=timeout if timeout is not None else self.timeout)
            except grpc.RpcError as e:
                if retry and e.code() == grpc.StatusCode.UNAVAILABLE and attempt < policy.max_attempts:
                    time.sleep(random.uniform(backoff / 2, backoff))
                    backoff = min(backoff * policy.multiplier, policy.max_backoff)
                    continue
                raise errors.from_rpc_error(e) from e

    # ---- decisions -------------------------------------------------------------------

    def check(
        self,
        profile: str,
        channel: Union[Channel, str],
        contact_point: str,
        purpose: str,
        topic: Optional[str] = None,
        *,
        min_revision: Optional[int] = None,
        as_of: Optional[Timestamp] = None,
        clock: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> CheckResult:
        """One recipient's decision (an SMS gateway's call). Reads at least
        :attr:`min_revision` unless ``min_revision`` is given (0: any state).

        ``as_of`` decides as of that past moment, from history; ``clock`` is ``"recorded"``
        (what consentd knew then; the default) or ``"occurred"`` (what had happened by
        then, including changes recorded later)."""
        request = decision_pb2.CheckRequest(
            profile_id=profile,
            channel=int(_enum(Channel, channel)),
            contact_point=contact_point,
            purpose_id=purpose,
            topic_id=topic or "",
            min_revision=self._min_revision(min_revision),
            as_of_clock=_clock(as_of, clock),
        )
        if as_of is not None:
            request.as_of.CopyFrom(to_timestamp(as_of))
        r = self._call(self.decision.Check, request, retry=True, timeout=timeout)
        return CheckResult(
            Decision(r.decision),
            Reason(r.reason),
            SuppressionKind(r.suppression_kind) if r.reason == Reason.SUPPRESSED else None,
            r.revision,
            r,
        )

    def check_stream(
        self,
        recipients: Iterable[Union[str, Recipient]],
        profile: str,
        channel: Union[Channel, str],
        purpose: str,
        topic: Optional[str] = None,
        *,
        batch_size: int = 4096,
        max_in_flight: int = 8,
        min_revision: Optional[int] = None,
        include_links: bool = False,
        as_of: Optional[Timestamp] = None,
        clock: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> CheckStream:
        """Decisions for many recipients over one CheckStream, in input order.

        ``recipients`` is any iterable (a generator over a file is fine) of contact points,
        or :class:`Recipient` for one that overrides the channel or topic. It is read in
        batches of ``batch_size`` and never more than ``max_in_flight`` batches ahead of
        the decisions the caller has taken, so memory stays bounded whatever its length.
        The server's ``--check-batch-items-max`` (16384 by default) bounds ``batch_size``;
        ``max_in_flight`` is 8 by default: consentd buffers 4 answered batches per stream, and
        the other 4 keep it busy meanwhile.
        Not retried: a failure raises, and the caller knows how far it got.
        """
        return CheckStream(
            self.decision.CheckStream,
            self._metadata,
            recipients,
            profile=profile,
            channel=_enum(Channel, channel),
            purpose=purpose,
            topic=topic,
            batch_size=batch_size,
            max_in_flight=max_in_flight,
            min_revision=self._min_revision(min_revision),
            include_links=include_links,
            as_of=to_timestamp(as_of),
            as_of_clock=_clock(as_of, clock),
            timeout=timeout,
        )

    def mint_links(
        self,
        profile: str,
        channel: Union[Channel, str],
        contact_point: str,
        purpose: str,
        topic: Optional[str] = None,
        *,
        timeout: Optional[float] = None,
    ) -> Links:
        """The recipient's one-click unsubscribe and preference-center links (needs the
        server's HTTP edge and a key with the ``write`` scope)."""
        request = decision_pb2.MintLinksRequest(
            profile_id=profile,
            channel=int(_enum(Channel, channel)),
            contact_point=contact_point,
            purpose_id=purpose,
            topic_id=topic or "",
        )
        r = self._call(self.decision.MintLinks, request, retry=True, timeout=timeout)
        return Links(r.unsubscribe_url, r.list_unsubscribe, r.list_unsubscribe_post, r.preferences_url)

    # ---- consent writes --------------------------------------------------------------

    def set_consent(
        self,
        profile: str,
        channel: Union[Channel, str],
        contact_point: str,
        purpose: str,
        status: Union[ConsentStatus, str],
        *,
        topic: Optional[str] = None,
        occurred_at: Optional[Timestamp] = None,
        source: Union[ChangeSource, str] = ChangeSource.API,
        reason: str = "",
        proof: Optional[Proof] = None,
        expires_at: Optional[Timestamp] = None,
        idempotency_key: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> ChangeResult:
        """Records one change (``status``: ``OPTED_IN`` or ``OPTED_OUT``).

        The change gets a new idempotency key unless one is given; retries after
        ``UNAVAILABLE`` send the same key. Pass ``occurred_at`` (when the person acted)
        whenever the source system knows it: late changes are then ordered correctly.
        """
        change = Change(
            profile,
            _enum(Channel, channel),
            contact_point,
            purpose,
            _enum(ConsentStatus, status),
            topic=topic or "",
            occurred_at=occurred_at,
            source=_enum(ChangeSource, source),
            reason=reason,
            proof=proof,
            expires_at=expires_at,
            idempotency_key=idempotency_key,
        )
        key = change.idempotency_key or str(uuid.uuid4())
        request = consent_pb2.SetConsentRequest(change=change.to_pb(), idempotency_key=key)
        r = self._call(self.consent.SetConsent, request, retry=True, timeout=timeout).result
        self.observe_revision(r.revision)
        return ChangeResult.from_pb(r, key)

    def batch_set_consent(
        self,
        changes: Iterable[Change],
        *,
        chunk_size: int = SET_BATCH_ITEMS_MAX,
        timeout: Optional[float] = None,
    ) -> List[Union[ChangeResult, ItemError]]:
        """Records many changes, ``chunk_size`` per call. Not atomic: one result per change,
        in order, a :class:`ChangeResult` or an :class:`ItemError` (partial success).

        Every change without an idempotency key gets one (written back into the
        :class:`Change`); a chunk that fails ``UNAVAILABLE`` is retried with the same keys.
        """
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        results: List[Union[ChangeResult, ItemError]] = []
        chunk: List[Change] = []

        def flush() -> None:
            requests = []
            for c in chunk:
                if not c.idempotency_key:
                    c.idempotency_key = str(uuid.uuid4())
                requests.append(consent_pb2.SetConsentRequest(change=c.to_pb(), idempotency_key=c.idempotency_key))
            answer = self._call(
                self.consent.BatchSetConsent,
                consent_pb2.BatchSetConsentRequest(requests=requests),
                retry=True,
                timeout=timeout,
            )
            if len(answer.results) != len(chunk):
                raise errors.StreamProtocolError(
                    f"BatchSetConsent answered {len(answer.results)} results for {len(chunk)} changes"
                )
            highest = 0
            for c, item in zip(chunk, answer.results):
                if item.WhichOneof("result") == "change":
                    highest = max(highest, item.change.revision)
                    results.append(ChangeResult.from_pb(item.change, c.idempotency_key))
                else:
                    e = item.error
                    results.append(ItemError(e.code, _item_field(e.field), e.message, c.idempotency_key))
            self.observe_revision(highest)
            chunk.clear()

        for change in changes:
            if not isinstance(change, Change):
                raise TypeError(f"batch_set_consent takes Change values, not {type(change).__name__}")
            chunk.append(change)
            if len(chunk) >= chunk_size:
                flush()
        if chunk:
            flush()
        return results

    def confirm_opt_in(
        self,
        token: str,
        *,
        ip_address: str = "",
        user_agent: str = "",
        occurred_at: Optional[Timestamp] = None,
        timeout: Optional[float] = None,
    ) -> ChangeResult:
        """Confirms a pending double opt-in with the confirming click's own evidence.

        Not retried: a token confirms once, so a retry of a confirmation the server took
        would fail ``FAILED_PRECONDITION``; on :class:`errors.Unavailable`, read the state
        with :meth:`get_consent` to learn whether it was taken.
        """
        request = consent_pb2.ConfirmOptInRequest(token=token, ip_address=ip_address, user_agent=user_agent)
        if occurred_at is not None:
            request.occurred_at.CopyFrom(to_timestamp(occurred_at))
        r = self._call(self.consent.ConfirmOptIn, request, retry=False, timeout=timeout).result
        self.observe_revision(r.revision)
        return ChangeResult.from_pb(r, "")

    def _suppression(self, rpc, request_type, profile, channel, contact_point, kind, reason, occurred_at, source, timeout):
        request = request_type(
            profile_id=profile,
            channel=int(_enum(Channel, channel)),
            contact_point=contact_point,
            kind=int(_enum(SuppressionKind, kind)),
            reason=reason,
            source=int(_enum(ChangeSource, source)),
        )
        if occurred_at is not None:
            request.occurred_at.CopyFrom(to_timestamp(occurred_at))
        # These requests have no idempotency key. They are retried all the same: the state
        # they leave is the same however often they arrive (a bounce that is not recorded
        # is worse than a repeat), but a retry after a lost answer is recorded a second
        # time in the history, answered `changed: false`.
        r = self._call(rpc, request, retry=True, timeout=timeout)
        self.observe_revision(r.revision)
        return SuppressionResult(r.changed, r.revision)

    def add_suppression(
        self,
        profile: str,
        channel: Union[Channel, str],
        contact_point: str,
        kind: Union[SuppressionKind, str],
        *,
        reason: str = "",
        occurred_at: Optional[Timestamp] = None,
        source: Union[ChangeSource, str] = ChangeSource.API,
        timeout: Optional[float] = None,
    ) -> SuppressionResult:
        """Blocks the contact point on the channel for every purpose (hard bounce, spam
        complaint, SMS stop, manual). Retried on ``UNAVAILABLE``; the API has no idempotency
        key for suppressions, so a retry after a lost answer leaves the same state but a
        second history event (``changed`` false)."""
        return self._suppression(
            self.consent.AddSuppression,
            consent_pb2.AddSuppressionRequest,
            profile,
            channel,
            contact_point,
            kind,
            reason,
            occurred_at,
            source,
            timeout,
        )

    def lift_suppression(
        self,
        profile: str,
        channel: Union[Channel, str],
        contact_point: str,
        kind: Union[SuppressionKind, str],
        *,
        reason: str = "",
        occurred_at: Optional[Timestamp] = None,
        source: Union[ChangeSource, str] = ChangeSource.API,
        timeout: Optional[float] = None,
    ) -> SuppressionResult:
        """Lifts one suppression kind; other kinds stay. Retried like :meth:`add_suppression`."""
        return self._suppression(
            self.consent.LiftSuppression,
            consent_pb2.LiftSuppressionRequest,
            profile,
            channel,
            contact_point,
            kind,
            reason,
            occurred_at,
            source,
            timeout,
        )

    # ---- consent reads ---------------------------------------------------------------

    def get_consent(
        self, profile: str, channel: Union[Channel, str], contact_point: str, *, timeout: Optional[float] = None
    ) -> ConsentState:
        """The current records and active suppressions of a contact point on a channel."""
        request = consent_pb2.GetConsentRequest(
            profile_id=profile, channel=int(_enum(Channel, channel)), contact_point=contact_point
        )
        r = self._call(self.consent.GetConsent, request, retry=True, timeout=timeout)
        return ConsentState(
            r.contact_point,
            [ConsentRecord.from_pb(x) for x in r.records],
            [Suppression.from_pb(x) for x in r.suppressions],
            r.revision,
            r,
        )

    def get_history(
        self,
        profile: str,
        channel: Union[Channel, str],
        contact_point: str,
        *,
        page_size: int = 1000,
        timeout: Optional[float] = None,
    ) -> History:
        """Every history event of a contact point on a channel (all pages), oldest first,
        with the server's verification of the whole hash chain."""
        events: List[HistoryEvent] = []
        token = ""
        while True:
            request = consent_pb2.GetHistoryRequest(
                profile_id=profile,
                channel=int(_enum(Channel, channel)),
                contact_point=contact_point,
                page_size=page_size,
                page_token=token,
            )
            r = self._call(self.consent.GetHistory, request, retry=True, timeout=timeout)
            events.extend(HistoryEvent.from_pb(e) for e in r.events)
            token = r.next_page_token
            if not token:
                v = r.verification
                return History(events, ChainVerification(v.intact, v.events_checked, v.first_broken_seq, v.detail))

    # ---- administration --------------------------------------------------------------

    def create_profile(
        self,
        profile_id: str,
        *,
        display_name: str = "",
        default_region: str = "",
        double_opt_in: Optional[Mapping[Union[Channel, str], Union[DoubleOptInMode, str]]] = None,
        extra_stop_keywords: Sequence[str] = (),
        extra_start_keywords: Sequence[str] = (),
        timeout: Optional[float] = None,
    ) -> admin_pb2.Profile:
        """Creates a profile (a brand or legal entity). Needs the ``admin`` scope."""
        profile = admin_pb2.Profile(
            profile_id=profile_id,
            display_name=display_name,
            default_region=default_region,
            double_opt_in=[
                admin_pb2.DoubleOptInSetting(
                    channel=int(_enum(Channel, ch)), mode=int(_enum(DoubleOptInMode, mode))
                )
                for ch, mode in (double_opt_in or {}).items()
            ],
            extra_stop_keywords=list(extra_stop_keywords),
            extra_start_keywords=list(extra_start_keywords),
        )
        request = admin_pb2.CreateProfileRequest(profile=profile)
        return self._call(self.admin.CreateProfile, request, retry=False, timeout=timeout).profile

    def create_purpose(
        self,
        profile: str,
        purpose_id: str,
        kind: Union[PurposeKind, str] = PurposeKind.COMMERCIAL,
        *,
        display_name: str = "",
        timeout: Optional[float] = None,
    ) -> admin_pb2.Purpose:
        """Creates a purpose of a profile. Needs the ``admin`` scope."""
        purpose = admin_pb2.Purpose(
            profile_id=profile, purpose_id=purpose_id, kind=int(_enum(PurposeKind, kind)), display_name=display_name
        )
        request = admin_pb2.CreatePurposeRequest(purpose=purpose)
        return self._call(self.admin.CreatePurpose, request, retry=False, timeout=timeout).purpose

    def create_topic(
        self,
        profile: str,
        purpose: str,
        topic_id: str,
        *,
        display_name: str = "",
        timeout: Optional[float] = None,
    ) -> admin_pb2.Topic:
        """Creates a topic of a purpose. Needs the ``admin`` scope."""
        topic = admin_pb2.Topic(profile_id=profile, purpose_id=purpose, topic_id=topic_id, display_name=display_name)
        request = admin_pb2.CreateTopicRequest(topic=topic)
        return self._call(self.admin.CreateTopic, request, retry=False, timeout=timeout).topic

    def create_api_key(
        self,
        scopes: Iterable[Union[ApiKeyScope, str]],
        *,
        profiles: Sequence[str] = (),
        description: str = "",
        expire_time: Optional[Timestamp] = None,
        timeout: Optional[float] = None,
    ) -> Tuple[str, admin_pb2.ApiKey]:
        """Creates an API key; returns ``(secret, key)``. The secret is shown only now."""
        request = admin_pb2.CreateApiKeyRequest(
            description=description,
            scopes=[int(_enum(ApiKeyScope, s)) for s in scopes],
            profile_ids=list(profiles),
        )
        if expire_time is not None:
            request.expire_time.CopyFrom(to_timestamp(expire_time))
        r = self._call(self.admin.CreateApiKey, request, retry=False, timeout=timeout)
        return r.secret, r.api_key

    def revoke_api_key(self, key_id: str, *, timeout: Optional[float] = None) -> admin_pb2.ApiKey:
        """Revokes a key; its open streams end. Needs the ``admin`` scope."""
        request = admin_pb2.RevokeApiKeyRequest(key_id=key_id)
        return self._call(self.admin.RevokeApiKey, request, retry=True, timeout=timeout).api_key

    def server_info(self, *, timeout: Optional[float] = None) -> admin_pb2.GetServerInfoResponse:
        """The server's version, applied revision and mode (any valid key may ask)."""
        return self._call(self.admin.GetServerInfo, admin_pb2.GetServerInfoRequest(), retry=True, timeout=timeout)

    def health(
        self, service: str = "", *, timeout: Optional[float] = 5.0, wait_for_ready: bool = False
    ) -> HealthStatus:
        """The grpc.health.v1 status of ``service`` (``""``: the whole server), a
        :class:`HealthStatus` value. Needs no API key."""
        try:
            data = self._health(_encode_health_request(service), timeout=timeout, wait_for_ready=wait_for_ready)
        except grpc.RpcError as e:
            raise errors.from_rpc_error(e) from e
        return HealthStatus(_decode_health_response(data))
