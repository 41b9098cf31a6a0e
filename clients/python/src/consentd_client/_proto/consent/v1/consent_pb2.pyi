from . import types_pb2 as _types_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChangeOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANGE_OUTCOME_UNSPECIFIED: _ClassVar[ChangeOutcome]
    CHANGE_OUTCOME_APPLIED: _ClassVar[ChangeOutcome]
    CHANGE_OUTCOME_PENDING_CONFIRMATION: _ClassVar[ChangeOutcome]
    CHANGE_OUTCOME_SUPERSEDED: _ClassVar[ChangeOutcome]

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_CONSENT: _ClassVar[EventKind]
    EVENT_KIND_CONFIRMATION: _ClassVar[EventKind]
    EVENT_KIND_SUPPRESSION_ADDED: _ClassVar[EventKind]
    EVENT_KIND_SUPPRESSION_LIFTED: _ClassVar[EventKind]
    EVENT_KIND_ERASED: _ClassVar[EventKind]
    EVENT_KIND_REASSIGNED: _ClassVar[EventKind]

class KeywordClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KEYWORD_CLASS_UNSPECIFIED: _ClassVar[KeywordClass]
    KEYWORD_CLASS_NONE: _ClassVar[KeywordClass]
    KEYWORD_CLASS_STOP: _ClassVar[KeywordClass]
    KEYWORD_CLASS_START: _ClassVar[KeywordClass]
    KEYWORD_CLASS_HELP: _ClassVar[KeywordClass]
CHANGE_OUTCOME_UNSPECIFIED: ChangeOutcome
CHANGE_OUTCOME_APPLIED: ChangeOutcome
CHANGE_OUTCOME_PENDING_CONFIRMATION: ChangeOutcome
CHANGE_OUTCOME_SUPERSEDED: ChangeOutcome
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_CONSENT: EventKind
EVENT_KIND_CONFIRMATION: EventKind
EVENT_KIND_SUPPRESSION_ADDED: EventKind
EVENT_KIND_SUPPRESSION_LIFTED: EventKind
EVENT_KIND_ERASED: EventKind
EVENT_KIND_REASSIGNED: EventKind
KEYWORD_CLASS_UNSPECIFIED: KeywordClass
KEYWORD_CLASS_NONE: KeywordClass
KEYWORD_CLASS_STOP: KeywordClass
KEYWORD_CLASS_START: KeywordClass
KEYWORD_CLASS_HELP: KeywordClass

class MoveContactPointRequest(_message.Message):
    __slots__ = ("profile_id", "channel", "to", "proof", "occurred_at", "source")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    channel: _types_pb2.Channel
    to: str
    proof: _types_pb2.Proof
    occurred_at: _timestamp_pb2.Timestamp
    source: _types_pb2.ChangeSource
    def __init__(self, profile_id: _Optional[str] = ..., channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., to: _Optional[str] = ..., proof: _Optional[_Union[_types_pb2.Proof, _Mapping]] = ..., occurred_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[_Union[_types_pb2.ChangeSource, str]] = ..., **kwargs) -> None: ...

class MoveContactPointResponse(_message.Message):
    __slots__ = ("channels", "moved", "suppressed", "revision")
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    MOVED_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedScalarFieldContainer[_types_pb2.Channel]
    moved: int
    suppressed: bool
    revision: int
    def __init__(self, channels: _Optional[_Iterable[_Union[_types_pb2.Channel, str]]] = ..., moved: _Optional[int] = ..., suppressed: bool = ..., revision: _Optional[int] = ...) -> None: ...

class EraseContactPointRequest(_message.Message):
    __slots__ = ("profile_id", "channel", "contact_point")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    channel: _types_pb2.Channel
    contact_point: str
    def __init__(self, profile_id: _Optional[str] = ..., channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., contact_point: _Optional[str] = ...) -> None: ...

class EraseContactPointResponse(_message.Message):
    __slots__ = ("channels", "revision")
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedScalarFieldContainer[_types_pb2.Channel]
    revision: int
    def __init__(self, channels: _Optional[_Iterable[_Union[_types_pb2.Channel, str]]] = ..., revision: _Optional[int] = ...) -> None: ...

class ReassignedNumber(_message.Message):
    __slots__ = ("number", "disconnected_at")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    DISCONNECTED_AT_FIELD_NUMBER: _ClassVar[int]
    number: str
    disconnected_at: _timestamp_pb2.Timestamp
    def __init__(self, number: _Optional[str] = ..., disconnected_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReportReassignedNumbersRequest(_message.Message):
    __slots__ = ("numbers", "default_region")
    NUMBERS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_REGION_FIELD_NUMBER: _ClassVar[int]
    numbers: _containers.RepeatedCompositeFieldContainer[ReassignedNumber]
    default_region: str
    def __init__(self, numbers: _Optional[_Iterable[_Union[ReassignedNumber, _Mapping]]] = ..., default_region: _Optional[str] = ...) -> None: ...

class ReassignedNumberResult(_message.Message):
    __slots__ = ("number", "applied", "error")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    number: str
    applied: bool
    error: str
    def __init__(self, number: _Optional[str] = ..., applied: bool = ..., error: _Optional[str] = ...) -> None: ...

class ReportReassignedNumbersResponse(_message.Message):
    __slots__ = ("results", "revision")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ReassignedNumberResult]
    revision: int
    def __init__(self, results: _Optional[_Iterable[_Union[ReassignedNumberResult, _Mapping]]] = ..., revision: _Optional[int] = ...) -> None: ...

class ConsentChange(_message.Message):
    __slots__ = ("profile_id", "channel", "contact_point", "purpose_id", "topic_id", "status", "occurred_at", "source", "reason", "proof", "expires_at")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    channel: _types_pb2.Channel
    contact_point: str
    purpose_id: str
    topic_id: str
    status: _types_pb2.ConsentStatus
    occurred_at: _timestamp_pb2.Timestamp
    source: _types_pb2.ChangeSource
    reason: str
    proof: _types_pb2.Proof
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, profile_id: _Optional[str] = ..., channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., contact_point: _Optional[str] = ..., purpose_id: _Optional[str] = ..., topic_id: _Optional[str] = ..., status: _Optional[_Union[_types_pb2.ConsentStatus, str]] = ..., occurred_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[_Union[_types_pb2.ChangeSource, str]] = ..., reason: _Optional[str] = ..., proof: _Optional[_Union[_types_pb2.Proof, _Mapping]] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ChangeResult(_message.Message):
    __slots__ = ("outcome", "revision", "confirmation_token", "confirmation_expires_at", "record", "replayed", "confirmation_url")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_URL_FIELD_NUMBER: _ClassVar[int]
    outcome: ChangeOutcome
    revision: int
    confirmation_token: str
    confirmation_expires_at: _timestamp_pb2.Timestamp
    record: _types_pb2.ConsentRecord
    replayed: bool
    confirmation_url: str
    def __init__(self, outcome: _Optional[_Union[ChangeOutcome, str]] = ..., revision: _Optional[int] = ..., confirmation_token: _Optional[str] = ..., confirmation_expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., record: _Optional[_Union[_types_pb2.ConsentRecord, _Mapping]] = ..., replayed: bool = ..., confirmation_url: _Optional[str] = ...) -> None: ...

class SetConsentRequest(_message.Message):
    __slots__ = ("change", "idempotency_key")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    change: ConsentChange
    idempotency_key: str
    def __init__(self, change: _Optional[_Union[ConsentChange, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class SetConsentResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: ChangeResult
    def __init__(self, result: _Optional[_Union[ChangeResult, _Mapping]] = ...) -> None: ...

class BatchSetConsentRequest(_message.Message):
    __slots__ = ("requests", "validate_only")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[SetConsentRequest]
    validate_only: bool
    def __init__(self, requests: _Optional[_Iterable[_Union[SetConsentRequest, _Mapping]]] = ..., validate_only: bool = ...) -> None: ...

class BatchSetConsentResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BatchSetConsentResult]
    def __init__(self, results: _Optional[_Iterable[_Union[BatchSetConsentResult, _Mapping]]] = ...) -> None: ...

class BatchSetConsentResult(_message.Message):
    __slots__ = ("change", "error", "validated")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    VALIDATED_FIELD_NUMBER: _ClassVar[int]
    change: ChangeResult
    error: ItemError
    validated: ValidatedChange
    def __init__(self, change: _Optional[_Union[ChangeResult, _Mapping]] = ..., error: _Optional[_Union[ItemError, _Mapping]] = ..., validated: _Optional[_Union[ValidatedChange, _Mapping]] = ...) -> None: ...

class ValidatedChange(_message.Message):
    __slots__ = ("contact_point",)
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    contact_point: str
    def __init__(self, contact_point: _Optional[str] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ("code", "field", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    field: str
    message: str
    def __init__(self, code: _Optional[int] = ..., field: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class GetConsentRequest(_message.Message):
    __slots__ = ("profile_id", "channel", "contact_point")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    channel: _types_pb2.Channel
    contact_point: str
    def __init__(self, profile_id: _Optional[str] = ..., channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., contact_point: _Optional[str] = ...) -> None: ...

class GetConsentResponse(_message.Message):
    __slots__ = ("contact_point", "records", "suppressions", "revision", "reassigned_at", "erased_at")
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    REASSIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    ERASED_AT_FIELD_NUMBER: _ClassVar[int]
    contact_point: str
    records: _containers.RepeatedCompositeFieldContainer[_types_pb2.ConsentRecord]
    suppressions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Suppression]
    revision: int
    reassigned_at: _timestamp_pb2.Timestamp
    erased_at: _timestamp_pb2.Timestamp
    def __init__(self, contact_point: _Optional[str] = ..., records: _Optional[_Iterable[_Union[_types_pb2.ConsentRecord, _Mapping]]] = ..., suppressions: _Optional[_Iterable[_Union[_types_pb2.Suppression, _Mapping]]] = ..., revision: _Optional[int] = ..., reassigned_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., erased_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetHistoryRequest(_message.Message):
    __slots__ = ("profile_id", "channel", "contact_point", "page_size", "page_token")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    channel: _types_pb2.Channel
    contact_point: str
    page_size: int
    page_token: str
    def __init__(self, profile_id: _Optional[str] = ..., channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., contact_point: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetHistoryResponse(_message.Message):
    __slots__ = ("events", "next_page_token", "verification")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[HistoryEvent]
    next_page_token: str
    verification: ChainVerification
    def __init__(self, events: _Optional[_Iterable[_Union[HistoryEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., verification: _Optional[_Union[ChainVerification, _Mapping]] = ...) -> None: ...

class ChainVerification(_message.Message):
    __slots__ = ("intact", "events_checked", "first_broken_seq", "detail", "events_read")
    INTACT_FIELD_NUMBER: _ClassVar[int]
    EVENTS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    FIRST_BROKEN_SEQ_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    EVENTS_READ_FIELD_NUMBER: _ClassVar[int]
    intact: bool
    events_checked: int
    first_broken_seq: int
    detail: str
    events_read: int
    def __init__(self, intact: bool = ..., events_checked: _Optional[int] = ..., first_broken_seq: _Optional[int] = ..., detail: _Optional[str] = ..., events_read: _Optional[int] = ...) -> None: ...

class HistoryEvent(_message.Message):
    __slots__ = ("seq", "kind", "applied", "revision", "purpose_id", "topic_id", "status", "suppression_kind", "occurred_at", "recorded_at", "expires_at", "source", "actor", "reason", "proof", "token_id", "confirmation_proof", "confirmed_at", "hash", "prev_hash", "redacted", "lifts_erasure")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_KIND_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_PROOF_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_AT_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    REDACTED_FIELD_NUMBER: _ClassVar[int]
    LIFTS_ERASURE_FIELD_NUMBER: _ClassVar[int]
    seq: int
    kind: EventKind
    applied: bool
    revision: int
    purpose_id: str
    topic_id: str
    status: _types_pb2.ConsentStatus
    suppression_kind: _types_pb2.SuppressionKind
    occurred_at: _timestamp_pb2.Timestamp
    recorded_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    source: _types_pb2.ChangeSource
    actor: str
    reason: str
    proof: _types_pb2.Proof
    token_id: str
    confirmation_proof: _types_pb2.Proof
    confirmed_at: _timestamp_pb2.Timestamp
    hash: str
    prev_hash: str
    redacted: bool
    lifts_erasure: bool
    def __init__(self, seq: _Optional[int] = ..., kind: _Optional[_Union[EventKind, str]] = ..., applied: bool = ..., revision: _Optional[int] = ..., purpose_id: _Optional[str] = ..., topic_id: _Optional[str] = ..., status: _Optional[_Union[_types_pb2.ConsentStatus, str]] = ..., suppression_kind: _Optional[_Union[_types_pb2.SuppressionKind, str]] = ..., occurred_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., recorded_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[_Union[_types_pb2.ChangeSource, str]] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., proof: _Optional[_Union[_types_pb2.Proof, _Mapping]] = ..., token_id: _Optional[str] = ..., confirmation_proof: _Optional[_Union[_types_pb2.Proof, _Mapping]] = ..., confirmed_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., hash: _Optional[str] = ..., prev_hash: _Optional[str] = ..., redacted: bool = ..., lifts_erasure: bool = ...) -> None: ...

class ConfirmOptInRequest(_message.Message):
    __slots__ = ("token", "ip_address", "user_agent", "occurred_at")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    IP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    token: str
    ip_address: str
    user_agent: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, token: _Optional[str] = ..., ip_address: _Optional[str] = ..., user_agent: _Optional[str] = ..., occurred_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConfirmOptInResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: ChangeResult
    def __init__(self, result: _Optional[_Union[ChangeResult, _Mapping]] = ...) -> None: ...

class AddSuppressionRequest(_message.Message):
    __slots__ = ("profile_id", "channel", "contact_point", "kind", "reason", "occurred_at", "source", "validate_only")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    channel: _types_pb2.Channel
    contact_point: str
    kind: _types_pb2.SuppressionKind
    reason: str
    occurred_at: _timestamp_pb2.Timestamp
    source: _types_pb2.ChangeSource
    validate_only: bool
    def __init__(self, profile_id: _Optional[str] = ..., channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., contact_point: _Optional[str] = ..., kind: _Optional[_Union[_types_pb2.SuppressionKind, str]] = ..., reason: _Optional[str] = ..., occurred_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[_Union[_types_pb2.ChangeSource, str]] = ..., validate_only: bool = ...) -> None: ...

class AddSuppressionResponse(_message.Message):
    __slots__ = ("changed", "revision")
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    changed: bool
    revision: int
    def __init__(self, changed: bool = ..., revision: _Optional[int] = ...) -> None: ...

class LiftSuppressionRequest(_message.Message):
    __slots__ = ("profile_id", "channel", "contact_point", "kind", "reason", "occurred_at", "source")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    channel: _types_pb2.Channel
    contact_point: str
    kind: _types_pb2.SuppressionKind
    reason: str
    occurred_at: _timestamp_pb2.Timestamp
    source: _types_pb2.ChangeSource
    def __init__(self, profile_id: _Optional[str] = ..., channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., contact_point: _Optional[str] = ..., kind: _Optional[_Union[_types_pb2.SuppressionKind, str]] = ..., reason: _Optional[str] = ..., occurred_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[_Union[_types_pb2.ChangeSource, str]] = ...) -> None: ...

class LiftSuppressionResponse(_message.Message):
    __slots__ = ("changed", "revision")
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    changed: bool
    revision: int
    def __init__(self, changed: bool = ..., revision: _Optional[int] = ...) -> None: ...

class HandleInboundSmsRequest(_message.Message):
    __slots__ = ("profile_id", "from_number", "body", "occurred_at")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_NUMBER_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    from_number: str
    body: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, profile_id: _Optional[str] = ..., from_number: _Optional[str] = ..., body: _Optional[str] = ..., occurred_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class HandleInboundSmsResponse(_message.Message):
    __slots__ = ("keyword_class", "keyword", "changed", "revision")
    KEYWORD_CLASS_FIELD_NUMBER: _ClassVar[int]
    KEYWORD_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    keyword_class: KeywordClass
    keyword: str
    changed: bool
    revision: int
    def __init__(self, keyword_class: _Optional[_Union[KeywordClass, str]] = ..., keyword: _Optional[str] = ..., changed: bool = ..., revision: _Optional[int] = ...) -> None: ...

class WatchChangesRequest(_message.Message):
    __slots__ = ("after_revision", "profile_ids")
    AFTER_REVISION_FIELD_NUMBER: _ClassVar[int]
    PROFILE_IDS_FIELD_NUMBER: _ClassVar[int]
    after_revision: int
    profile_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, after_revision: _Optional[int] = ..., profile_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class WatchChangesResponse(_message.Message):
    __slots__ = ("revision", "profile_id", "channel", "contact_point", "event")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    revision: int
    profile_id: str
    channel: _types_pb2.Channel
    contact_point: str
    event: HistoryEvent
    def __init__(self, revision: _Optional[int] = ..., profile_id: _Optional[str] = ..., channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., contact_point: _Optional[str] = ..., event: _Optional[_Union[HistoryEvent, _Mapping]] = ...) -> None: ...

class ExportRecordsRequest(_message.Message):
    __slots__ = ("profile_id", "include_history")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_HISTORY_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    include_history: bool
    def __init__(self, profile_id: _Optional[str] = ..., include_history: bool = ...) -> None: ...

class ExportRecordsResponse(_message.Message):
    __slots__ = ("channel", "contact_point", "records", "suppressions", "events", "reassigned_at", "erased_at")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    REASSIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    ERASED_AT_FIELD_NUMBER: _ClassVar[int]
    channel: _types_pb2.Channel
    contact_point: str
    records: _containers.RepeatedCompositeFieldContainer[_types_pb2.ConsentRecord]
    suppressions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Suppression]
    events: _containers.RepeatedCompositeFieldContainer[HistoryEvent]
    reassigned_at: _timestamp_pb2.Timestamp
    erased_at: _timestamp_pb2.Timestamp
    def __init__(self, channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., contact_point: _Optional[str] = ..., records: _Optional[_Iterable[_Union[_types_pb2.ConsentRecord, _Mapping]]] = ..., suppressions: _Optional[_Iterable[_Union[_types_pb2.Suppression, _Mapping]]] = ..., events: _Optional[_Iterable[_Union[HistoryEvent, _Mapping]]] = ..., reassigned_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., erased_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
