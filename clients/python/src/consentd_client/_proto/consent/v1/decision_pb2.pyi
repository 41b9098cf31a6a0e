from . import types_pb2 as _types_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_UNSPECIFIED: _ClassVar[Decision]
    DECISION_SEND: _ClassVar[Decision]
    DECISION_BLOCK: _ClassVar[Decision]

class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REASON_UNSPECIFIED: _ClassVar[Reason]
    REASON_INVALID_CONTACT_POINT: _ClassVar[Reason]
    REASON_CONSENT_NOT_REQUIRED: _ClassVar[Reason]
    REASON_SUPPRESSED: _ClassVar[Reason]
    REASON_PURPOSE_OPTED_OUT: _ClassVar[Reason]
    REASON_PENDING_CONFIRMATION: _ClassVar[Reason]
    REASON_CONSENT_EXPIRED: _ClassVar[Reason]
    REASON_NO_OPT_IN: _ClassVar[Reason]
    REASON_TOPIC_OPTED_OUT: _ClassVar[Reason]
    REASON_NO_TOPIC_OPT_IN: _ClassVar[Reason]
    REASON_OPTED_IN: _ClassVar[Reason]
    REASON_NOT_OPTED_OUT: _ClassVar[Reason]
    REASON_CONTACT_POINT_REASSIGNED: _ClassVar[Reason]

class Clock(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLOCK_UNSPECIFIED: _ClassVar[Clock]
    CLOCK_RECORDED: _ClassVar[Clock]
    CLOCK_OCCURRED: _ClassVar[Clock]
DECISION_UNSPECIFIED: Decision
DECISION_SEND: Decision
DECISION_BLOCK: Decision
REASON_UNSPECIFIED: Reason
REASON_INVALID_CONTACT_POINT: Reason
REASON_CONSENT_NOT_REQUIRED: Reason
REASON_SUPPRESSED: Reason
REASON_PURPOSE_OPTED_OUT: Reason
REASON_PENDING_CONFIRMATION: Reason
REASON_CONSENT_EXPIRED: Reason
REASON_NO_OPT_IN: Reason
REASON_TOPIC_OPTED_OUT: Reason
REASON_NO_TOPIC_OPT_IN: Reason
REASON_OPTED_IN: Reason
REASON_NOT_OPTED_OUT: Reason
REASON_CONTACT_POINT_REASSIGNED: Reason
CLOCK_UNSPECIFIED: Clock
CLOCK_RECORDED: Clock
CLOCK_OCCURRED: Clock

class MintLinksRequest(_message.Message):
    __slots__ = ("profile_id", "channel", "contact_point", "purpose_id", "topic_id")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ID_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    channel: _types_pb2.Channel
    contact_point: str
    purpose_id: str
    topic_id: str
    def __init__(self, profile_id: _Optional[str] = ..., channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., contact_point: _Optional[str] = ..., purpose_id: _Optional[str] = ..., topic_id: _Optional[str] = ...) -> None: ...

class MintLinksResponse(_message.Message):
    __slots__ = ("unsubscribe_url", "list_unsubscribe", "list_unsubscribe_post", "preferences_url")
    UNSUBSCRIBE_URL_FIELD_NUMBER: _ClassVar[int]
    LIST_UNSUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    LIST_UNSUBSCRIBE_POST_FIELD_NUMBER: _ClassVar[int]
    PREFERENCES_URL_FIELD_NUMBER: _ClassVar[int]
    unsubscribe_url: str
    list_unsubscribe: str
    list_unsubscribe_post: str
    preferences_url: str
    def __init__(self, unsubscribe_url: _Optional[str] = ..., list_unsubscribe: _Optional[str] = ..., list_unsubscribe_post: _Optional[str] = ..., preferences_url: _Optional[str] = ...) -> None: ...

class CheckRequest(_message.Message):
    __slots__ = ("profile_id", "channel", "contact_point", "purpose_id", "topic_id", "min_revision", "as_of", "as_of_clock")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_REVISION_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    AS_OF_CLOCK_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    channel: _types_pb2.Channel
    contact_point: str
    purpose_id: str
    topic_id: str
    min_revision: int
    as_of: _timestamp_pb2.Timestamp
    as_of_clock: Clock
    def __init__(self, profile_id: _Optional[str] = ..., channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., contact_point: _Optional[str] = ..., purpose_id: _Optional[str] = ..., topic_id: _Optional[str] = ..., min_revision: _Optional[int] = ..., as_of: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., as_of_clock: _Optional[_Union[Clock, str]] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ("decision", "reason", "suppression_kind", "revision")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_KIND_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    decision: Decision
    reason: Reason
    suppression_kind: _types_pb2.SuppressionKind
    revision: int
    def __init__(self, decision: _Optional[_Union[Decision, str]] = ..., reason: _Optional[_Union[Reason, str]] = ..., suppression_kind: _Optional[_Union[_types_pb2.SuppressionKind, str]] = ..., revision: _Optional[int] = ...) -> None: ...

class CheckStreamRequest(_message.Message):
    __slots__ = ("batch_id", "profile_id", "channel", "purpose_id", "topic_id", "contact_points", "overrides", "min_revision", "include_links", "contact_points_packed", "packed_answers", "as_of", "as_of_clock", "receipts", "changed_since_revision", "as_of_revision")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ID_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINTS_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    MIN_REVISION_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_LINKS_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINTS_PACKED_FIELD_NUMBER: _ClassVar[int]
    PACKED_ANSWERS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    AS_OF_CLOCK_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_SINCE_REVISION_FIELD_NUMBER: _ClassVar[int]
    AS_OF_REVISION_FIELD_NUMBER: _ClassVar[int]
    batch_id: int
    profile_id: str
    channel: _types_pb2.Channel
    purpose_id: str
    topic_id: str
    contact_points: _containers.RepeatedScalarFieldContainer[str]
    overrides: _containers.RepeatedCompositeFieldContainer[ItemOverride]
    min_revision: int
    include_links: bool
    contact_points_packed: bytes
    packed_answers: bool
    as_of: _timestamp_pb2.Timestamp
    as_of_clock: Clock
    receipts: bool
    changed_since_revision: int
    as_of_revision: int
    def __init__(self, batch_id: _Optional[int] = ..., profile_id: _Optional[str] = ..., channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., purpose_id: _Optional[str] = ..., topic_id: _Optional[str] = ..., contact_points: _Optional[_Iterable[str]] = ..., overrides: _Optional[_Iterable[_Union[ItemOverride, _Mapping]]] = ..., min_revision: _Optional[int] = ..., include_links: bool = ..., contact_points_packed: _Optional[bytes] = ..., packed_answers: bool = ..., as_of: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., as_of_clock: _Optional[_Union[Clock, str]] = ..., receipts: bool = ..., changed_since_revision: _Optional[int] = ..., as_of_revision: _Optional[int] = ...) -> None: ...

class ItemOverride(_message.Message):
    __slots__ = ("index", "channel", "topic_id")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ID_FIELD_NUMBER: _ClassVar[int]
    index: int
    channel: _types_pb2.Channel
    topic_id: str
    def __init__(self, index: _Optional[int] = ..., channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., topic_id: _Optional[str] = ...) -> None: ...

class CheckStreamResponse(_message.Message):
    __slots__ = ("batch_id", "revision", "decisions", "reasons", "suppressed", "links", "outcomes", "receipt", "fenced")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    LINKS_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    FENCED_FIELD_NUMBER: _ClassVar[int]
    batch_id: int
    revision: int
    decisions: _containers.RepeatedScalarFieldContainer[Decision]
    reasons: _containers.RepeatedScalarFieldContainer[Reason]
    suppressed: _containers.RepeatedCompositeFieldContainer[SuppressedItem]
    links: _containers.RepeatedCompositeFieldContainer[ItemLinks]
    outcomes: bytes
    receipt: DecisionReceipt
    fenced: _containers.RepeatedCompositeFieldContainer[FencedItem]
    def __init__(self, batch_id: _Optional[int] = ..., revision: _Optional[int] = ..., decisions: _Optional[_Iterable[_Union[Decision, str]]] = ..., reasons: _Optional[_Iterable[_Union[Reason, str]]] = ..., suppressed: _Optional[_Iterable[_Union[SuppressedItem, _Mapping]]] = ..., links: _Optional[_Iterable[_Union[ItemLinks, _Mapping]]] = ..., outcomes: _Optional[bytes] = ..., receipt: _Optional[_Union[DecisionReceipt, _Mapping]] = ..., fenced: _Optional[_Iterable[_Union[FencedItem, _Mapping]]] = ...) -> None: ...

class DecisionReceipt(_message.Message):
    __slots__ = ("body", "signature", "key_id")
    BODY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    body: bytes
    signature: bytes
    key_id: int
    def __init__(self, body: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., key_id: _Optional[int] = ...) -> None: ...

class FencedItem(_message.Message):
    __slots__ = ("index", "decision", "reason", "suppression_kind", "was_decision", "was_reason")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_KIND_FIELD_NUMBER: _ClassVar[int]
    WAS_DECISION_FIELD_NUMBER: _ClassVar[int]
    WAS_REASON_FIELD_NUMBER: _ClassVar[int]
    index: int
    decision: Decision
    reason: Reason
    suppression_kind: _types_pb2.SuppressionKind
    was_decision: Decision
    was_reason: Reason
    def __init__(self, index: _Optional[int] = ..., decision: _Optional[_Union[Decision, str]] = ..., reason: _Optional[_Union[Reason, str]] = ..., suppression_kind: _Optional[_Union[_types_pb2.SuppressionKind, str]] = ..., was_decision: _Optional[_Union[Decision, str]] = ..., was_reason: _Optional[_Union[Reason, str]] = ...) -> None: ...

class ItemLinks(_message.Message):
    __slots__ = ("index", "unsubscribe_url", "preferences_url")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBE_URL_FIELD_NUMBER: _ClassVar[int]
    PREFERENCES_URL_FIELD_NUMBER: _ClassVar[int]
    index: int
    unsubscribe_url: str
    preferences_url: str
    def __init__(self, index: _Optional[int] = ..., unsubscribe_url: _Optional[str] = ..., preferences_url: _Optional[str] = ...) -> None: ...

class SuppressedItem(_message.Message):
    __slots__ = ("index", "kind")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    index: int
    kind: _types_pb2.SuppressionKind
    def __init__(self, index: _Optional[int] = ..., kind: _Optional[_Union[_types_pb2.SuppressionKind, str]] = ...) -> None: ...
