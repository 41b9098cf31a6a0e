from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    CHANNEL_EMAIL: _ClassVar[Channel]
    CHANNEL_SMS: _ClassVar[Channel]
    CHANNEL_WHATSAPP: _ClassVar[Channel]
    CHANNEL_PUSH: _ClassVar[Channel]
    CHANNEL_VOICE: _ClassVar[Channel]
    CHANNEL_CUSTOM: _ClassVar[Channel]

class EnforcementModel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENFORCEMENT_MODEL_UNSPECIFIED: _ClassVar[EnforcementModel]
    ENFORCEMENT_MODEL_RESTRICTIVE: _ClassVar[EnforcementModel]
    ENFORCEMENT_MODEL_NON_RESTRICTIVE: _ClassVar[EnforcementModel]
    ENFORCEMENT_MODEL_DISABLED: _ClassVar[EnforcementModel]

class PurposeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PURPOSE_KIND_UNSPECIFIED: _ClassVar[PurposeKind]
    PURPOSE_KIND_COMMERCIAL: _ClassVar[PurposeKind]
    PURPOSE_KIND_TRANSACTIONAL: _ClassVar[PurposeKind]
    PURPOSE_KIND_CUSTOM: _ClassVar[PurposeKind]

class ConsentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_STATUS_UNSPECIFIED: _ClassVar[ConsentStatus]
    CONSENT_STATUS_OPTED_IN: _ClassVar[ConsentStatus]
    CONSENT_STATUS_OPTED_OUT: _ClassVar[ConsentStatus]
    CONSENT_STATUS_PENDING: _ClassVar[ConsentStatus]
    CONSENT_STATUS_NOT_SET: _ClassVar[ConsentStatus]

class SuppressionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUPPRESSION_KIND_UNSPECIFIED: _ClassVar[SuppressionKind]
    SUPPRESSION_KIND_HARD_BOUNCE: _ClassVar[SuppressionKind]
    SUPPRESSION_KIND_SPAM_COMPLAINT: _ClassVar[SuppressionKind]
    SUPPRESSION_KIND_SMS_STOP: _ClassVar[SuppressionKind]
    SUPPRESSION_KIND_MANUAL: _ClassVar[SuppressionKind]
    SUPPRESSION_KIND_ERASED: _ClassVar[SuppressionKind]
    SUPPRESSION_KIND_MOVED: _ClassVar[SuppressionKind]

class ChangeSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANGE_SOURCE_UNSPECIFIED: _ClassVar[ChangeSource]
    CHANGE_SOURCE_PREFERENCE_CENTER: _ClassVar[ChangeSource]
    CHANGE_SOURCE_FORM: _ClassVar[ChangeSource]
    CHANGE_SOURCE_IMPORT: _ClassVar[ChangeSource]
    CHANGE_SOURCE_SMS_KEYWORD: _ClassVar[ChangeSource]
    CHANGE_SOURCE_ONE_CLICK_UNSUBSCRIBE: _ClassVar[ChangeSource]
    CHANGE_SOURCE_ADMIN: _ClassVar[ChangeSource]
    CHANGE_SOURCE_API: _ClassVar[ChangeSource]
    CHANGE_SOURCE_CRM_SYNC: _ClassVar[ChangeSource]
    CHANGE_SOURCE_DOUBLE_OPT_IN_CONFIRMATION: _ClassVar[ChangeSource]
CHANNEL_UNSPECIFIED: Channel
CHANNEL_EMAIL: Channel
CHANNEL_SMS: Channel
CHANNEL_WHATSAPP: Channel
CHANNEL_PUSH: Channel
CHANNEL_VOICE: Channel
CHANNEL_CUSTOM: Channel
ENFORCEMENT_MODEL_UNSPECIFIED: EnforcementModel
ENFORCEMENT_MODEL_RESTRICTIVE: EnforcementModel
ENFORCEMENT_MODEL_NON_RESTRICTIVE: EnforcementModel
ENFORCEMENT_MODEL_DISABLED: EnforcementModel
PURPOSE_KIND_UNSPECIFIED: PurposeKind
PURPOSE_KIND_COMMERCIAL: PurposeKind
PURPOSE_KIND_TRANSACTIONAL: PurposeKind
PURPOSE_KIND_CUSTOM: PurposeKind
CONSENT_STATUS_UNSPECIFIED: ConsentStatus
CONSENT_STATUS_OPTED_IN: ConsentStatus
CONSENT_STATUS_OPTED_OUT: ConsentStatus
CONSENT_STATUS_PENDING: ConsentStatus
CONSENT_STATUS_NOT_SET: ConsentStatus
SUPPRESSION_KIND_UNSPECIFIED: SuppressionKind
SUPPRESSION_KIND_HARD_BOUNCE: SuppressionKind
SUPPRESSION_KIND_SPAM_COMPLAINT: SuppressionKind
SUPPRESSION_KIND_SMS_STOP: SuppressionKind
SUPPRESSION_KIND_MANUAL: SuppressionKind
SUPPRESSION_KIND_ERASED: SuppressionKind
SUPPRESSION_KIND_MOVED: SuppressionKind
CHANGE_SOURCE_UNSPECIFIED: ChangeSource
CHANGE_SOURCE_PREFERENCE_CENTER: ChangeSource
CHANGE_SOURCE_FORM: ChangeSource
CHANGE_SOURCE_IMPORT: ChangeSource
CHANGE_SOURCE_SMS_KEYWORD: ChangeSource
CHANGE_SOURCE_ONE_CLICK_UNSUBSCRIBE: ChangeSource
CHANGE_SOURCE_ADMIN: ChangeSource
CHANGE_SOURCE_API: ChangeSource
CHANGE_SOURCE_CRM_SYNC: ChangeSource
CHANGE_SOURCE_DOUBLE_OPT_IN_CONFIRMATION: ChangeSource

class Proof(_message.Message):
    __slots__ = ("ip_address", "user_agent", "notice_id", "notice_version", "notice_hash", "notice_text")
    IP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    NOTICE_ID_FIELD_NUMBER: _ClassVar[int]
    NOTICE_VERSION_FIELD_NUMBER: _ClassVar[int]
    NOTICE_HASH_FIELD_NUMBER: _ClassVar[int]
    NOTICE_TEXT_FIELD_NUMBER: _ClassVar[int]
    ip_address: str
    user_agent: str
    notice_id: str
    notice_version: str
    notice_hash: str
    notice_text: str
    def __init__(self, ip_address: _Optional[str] = ..., user_agent: _Optional[str] = ..., notice_id: _Optional[str] = ..., notice_version: _Optional[str] = ..., notice_hash: _Optional[str] = ..., notice_text: _Optional[str] = ...) -> None: ...

class ConsentRecord(_message.Message):
    __slots__ = ("purpose_id", "topic_id", "status", "occurred_at", "expires_at", "source", "revision")
    PURPOSE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    purpose_id: str
    topic_id: str
    status: ConsentStatus
    occurred_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    source: ChangeSource
    revision: int
    def __init__(self, purpose_id: _Optional[str] = ..., topic_id: _Optional[str] = ..., status: _Optional[_Union[ConsentStatus, str]] = ..., occurred_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[_Union[ChangeSource, str]] = ..., revision: _Optional[int] = ...) -> None: ...

class Suppression(_message.Message):
    __slots__ = ("kind", "occurred_at", "reason", "revision")
    KIND_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    kind: SuppressionKind
    occurred_at: _timestamp_pb2.Timestamp
    reason: str
    revision: int
    def __init__(self, kind: _Optional[_Union[SuppressionKind, str]] = ..., occurred_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...
