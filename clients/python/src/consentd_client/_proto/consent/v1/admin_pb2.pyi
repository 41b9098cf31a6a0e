from . import decision_pb2 as _decision_pb2
from . import types_pb2 as _types_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SigningKeyKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIGNING_KEY_KIND_UNSPECIFIED: _ClassVar[SigningKeyKind]
    SIGNING_KEY_KIND_LINK: _ClassVar[SigningKeyKind]
    SIGNING_KEY_KIND_RECEIPT: _ClassVar[SigningKeyKind]

class DoubleOptInMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOUBLE_OPT_IN_MODE_UNSPECIFIED: _ClassVar[DoubleOptInMode]
    DOUBLE_OPT_IN_MODE_OFF: _ClassVar[DoubleOptInMode]
    DOUBLE_OPT_IN_MODE_EVERY_OPT_IN: _ClassVar[DoubleOptInMode]
    DOUBLE_OPT_IN_MODE_NEW_CONTACT_POINTS: _ClassVar[DoubleOptInMode]

class ApiKeyScope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    API_KEY_SCOPE_UNSPECIFIED: _ClassVar[ApiKeyScope]
    API_KEY_SCOPE_CHECK: _ClassVar[ApiKeyScope]
    API_KEY_SCOPE_WRITE: _ClassVar[ApiKeyScope]
    API_KEY_SCOPE_ADMIN: _ClassVar[ApiKeyScope]

class WebhookEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEBHOOK_EVENT_KIND_UNSPECIFIED: _ClassVar[WebhookEventKind]
    WEBHOOK_EVENT_KIND_CONSENT: _ClassVar[WebhookEventKind]
    WEBHOOK_EVENT_KIND_SUPPRESSION: _ClassVar[WebhookEventKind]
    WEBHOOK_EVENT_KIND_CONFIRMATION: _ClassVar[WebhookEventKind]
    WEBHOOK_EVENT_KIND_LIFE: _ClassVar[WebhookEventKind]
SIGNING_KEY_KIND_UNSPECIFIED: SigningKeyKind
SIGNING_KEY_KIND_LINK: SigningKeyKind
SIGNING_KEY_KIND_RECEIPT: SigningKeyKind
DOUBLE_OPT_IN_MODE_UNSPECIFIED: DoubleOptInMode
DOUBLE_OPT_IN_MODE_OFF: DoubleOptInMode
DOUBLE_OPT_IN_MODE_EVERY_OPT_IN: DoubleOptInMode
DOUBLE_OPT_IN_MODE_NEW_CONTACT_POINTS: DoubleOptInMode
API_KEY_SCOPE_UNSPECIFIED: ApiKeyScope
API_KEY_SCOPE_CHECK: ApiKeyScope
API_KEY_SCOPE_WRITE: ApiKeyScope
API_KEY_SCOPE_ADMIN: ApiKeyScope
WEBHOOK_EVENT_KIND_UNSPECIFIED: WebhookEventKind
WEBHOOK_EVENT_KIND_CONSENT: WebhookEventKind
WEBHOOK_EVENT_KIND_SUPPRESSION: WebhookEventKind
WEBHOOK_EVENT_KIND_CONFIRMATION: WebhookEventKind
WEBHOOK_EVENT_KIND_LIFE: WebhookEventKind

class RotateSigningKeyRequest(_message.Message):
    __slots__ = ("kind",)
    KIND_FIELD_NUMBER: _ClassVar[int]
    kind: SigningKeyKind
    def __init__(self, kind: _Optional[_Union[SigningKeyKind, str]] = ...) -> None: ...

class RotateSigningKeyResponse(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: int
    def __init__(self, key_id: _Optional[int] = ...) -> None: ...

class DoubleOptInSetting(_message.Message):
    __slots__ = ("channel", "mode")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    channel: _types_pb2.Channel
    mode: DoubleOptInMode
    def __init__(self, channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., mode: _Optional[_Union[DoubleOptInMode, str]] = ...) -> None: ...

class Profile(_message.Message):
    __slots__ = ("profile_id", "display_name", "default_region", "double_opt_in", "confirmation_validity", "extra_stop_keywords", "extra_start_keywords", "active", "create_time", "update_time", "brand_color", "default_language")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_REGION_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_OPT_IN_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_VALIDITY_FIELD_NUMBER: _ClassVar[int]
    EXTRA_STOP_KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_START_KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    BRAND_COLOR_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    display_name: str
    default_region: str
    double_opt_in: _containers.RepeatedCompositeFieldContainer[DoubleOptInSetting]
    confirmation_validity: _duration_pb2.Duration
    extra_stop_keywords: _containers.RepeatedScalarFieldContainer[str]
    extra_start_keywords: _containers.RepeatedScalarFieldContainer[str]
    active: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    brand_color: str
    default_language: str
    def __init__(self, profile_id: _Optional[str] = ..., display_name: _Optional[str] = ..., default_region: _Optional[str] = ..., double_opt_in: _Optional[_Iterable[_Union[DoubleOptInSetting, _Mapping]]] = ..., confirmation_validity: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., extra_stop_keywords: _Optional[_Iterable[str]] = ..., extra_start_keywords: _Optional[_Iterable[str]] = ..., active: bool = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., brand_color: _Optional[str] = ..., default_language: _Optional[str] = ...) -> None: ...

class ChannelEnforcement(_message.Message):
    __slots__ = ("channel", "model")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    channel: _types_pb2.Channel
    model: _types_pb2.EnforcementModel
    def __init__(self, channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., model: _Optional[_Union[_types_pb2.EnforcementModel, str]] = ...) -> None: ...

class Purpose(_message.Message):
    __slots__ = ("profile_id", "purpose_id", "display_name", "kind", "enforcement", "active", "create_time", "update_time")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ENFORCEMENT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    purpose_id: str
    display_name: str
    kind: _types_pb2.PurposeKind
    enforcement: _containers.RepeatedCompositeFieldContainer[ChannelEnforcement]
    active: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, profile_id: _Optional[str] = ..., purpose_id: _Optional[str] = ..., display_name: _Optional[str] = ..., kind: _Optional[_Union[_types_pb2.PurposeKind, str]] = ..., enforcement: _Optional[_Iterable[_Union[ChannelEnforcement, _Mapping]]] = ..., active: bool = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Topic(_message.Message):
    __slots__ = ("profile_id", "purpose_id", "topic_id", "display_name", "active", "create_time", "update_time")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    purpose_id: str
    topic_id: str
    display_name: str
    active: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, profile_id: _Optional[str] = ..., purpose_id: _Optional[str] = ..., topic_id: _Optional[str] = ..., display_name: _Optional[str] = ..., active: bool = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ApiKey(_message.Message):
    __slots__ = ("key_id", "description", "scopes", "profile_ids", "revoked", "create_time", "expire_time")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    PROFILE_IDS_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    description: str
    scopes: _containers.RepeatedScalarFieldContainer[ApiKeyScope]
    profile_ids: _containers.RepeatedScalarFieldContainer[str]
    revoked: bool
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, key_id: _Optional[str] = ..., description: _Optional[str] = ..., scopes: _Optional[_Iterable[_Union[ApiKeyScope, str]]] = ..., profile_ids: _Optional[_Iterable[str]] = ..., revoked: bool = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateProfileRequest(_message.Message):
    __slots__ = ("profile",)
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: Profile
    def __init__(self, profile: _Optional[_Union[Profile, _Mapping]] = ...) -> None: ...

class CreateProfileResponse(_message.Message):
    __slots__ = ("profile",)
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: Profile
    def __init__(self, profile: _Optional[_Union[Profile, _Mapping]] = ...) -> None: ...

class GetProfileRequest(_message.Message):
    __slots__ = ("profile_id",)
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    def __init__(self, profile_id: _Optional[str] = ...) -> None: ...

class GetProfileResponse(_message.Message):
    __slots__ = ("profile",)
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: Profile
    def __init__(self, profile: _Optional[_Union[Profile, _Mapping]] = ...) -> None: ...

class ListProfilesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "include_inactive")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_INACTIVE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    include_inactive: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., include_inactive: bool = ...) -> None: ...

class ListProfilesResponse(_message.Message):
    __slots__ = ("profiles", "next_page_token")
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[Profile]
    next_page_token: str
    def __init__(self, profiles: _Optional[_Iterable[_Union[Profile, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateProfileRequest(_message.Message):
    __slots__ = ("profile", "update_mask")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    profile: Profile
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, profile: _Optional[_Union[Profile, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateProfileResponse(_message.Message):
    __slots__ = ("profile",)
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: Profile
    def __init__(self, profile: _Optional[_Union[Profile, _Mapping]] = ...) -> None: ...

class DeactivateProfileRequest(_message.Message):
    __slots__ = ("profile_id",)
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    def __init__(self, profile_id: _Optional[str] = ...) -> None: ...

class DeactivateProfileResponse(_message.Message):
    __slots__ = ("profile",)
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: Profile
    def __init__(self, profile: _Optional[_Union[Profile, _Mapping]] = ...) -> None: ...

class CreatePurposeRequest(_message.Message):
    __slots__ = ("purpose",)
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    purpose: Purpose
    def __init__(self, purpose: _Optional[_Union[Purpose, _Mapping]] = ...) -> None: ...

class CreatePurposeResponse(_message.Message):
    __slots__ = ("purpose",)
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    purpose: Purpose
    def __init__(self, purpose: _Optional[_Union[Purpose, _Mapping]] = ...) -> None: ...

class GetPurposeRequest(_message.Message):
    __slots__ = ("profile_id", "purpose_id")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_ID_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    purpose_id: str
    def __init__(self, profile_id: _Optional[str] = ..., purpose_id: _Optional[str] = ...) -> None: ...

class GetPurposeResponse(_message.Message):
    __slots__ = ("purpose",)
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    purpose: Purpose
    def __init__(self, purpose: _Optional[_Union[Purpose, _Mapping]] = ...) -> None: ...

class ListPurposesRequest(_message.Message):
    __slots__ = ("profile_id", "page_size", "page_token", "include_inactive")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_INACTIVE_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    page_size: int
    page_token: str
    include_inactive: bool
    def __init__(self, profile_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., include_inactive: bool = ...) -> None: ...

class ListPurposesResponse(_message.Message):
    __slots__ = ("purposes", "next_page_token")
    PURPOSES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    purposes: _containers.RepeatedCompositeFieldContainer[Purpose]
    next_page_token: str
    def __init__(self, purposes: _Optional[_Iterable[_Union[Purpose, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdatePurposeRequest(_message.Message):
    __slots__ = ("purpose", "update_mask")
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    purpose: Purpose
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, purpose: _Optional[_Union[Purpose, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdatePurposeResponse(_message.Message):
    __slots__ = ("purpose",)
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    purpose: Purpose
    def __init__(self, purpose: _Optional[_Union[Purpose, _Mapping]] = ...) -> None: ...

class DeactivatePurposeRequest(_message.Message):
    __slots__ = ("profile_id", "purpose_id")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_ID_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    purpose_id: str
    def __init__(self, profile_id: _Optional[str] = ..., purpose_id: _Optional[str] = ...) -> None: ...

class DeactivatePurposeResponse(_message.Message):
    __slots__ = ("purpose",)
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    purpose: Purpose
    def __init__(self, purpose: _Optional[_Union[Purpose, _Mapping]] = ...) -> None: ...

class CreateTopicRequest(_message.Message):
    __slots__ = ("topic",)
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    topic: Topic
    def __init__(self, topic: _Optional[_Union[Topic, _Mapping]] = ...) -> None: ...

class CreateTopicResponse(_message.Message):
    __slots__ = ("topic",)
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    topic: Topic
    def __init__(self, topic: _Optional[_Union[Topic, _Mapping]] = ...) -> None: ...

class GetTopicRequest(_message.Message):
    __slots__ = ("profile_id", "purpose_id", "topic_id")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ID_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    purpose_id: str
    topic_id: str
    def __init__(self, profile_id: _Optional[str] = ..., purpose_id: _Optional[str] = ..., topic_id: _Optional[str] = ...) -> None: ...

class GetTopicResponse(_message.Message):
    __slots__ = ("topic",)
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    topic: Topic
    def __init__(self, topic: _Optional[_Union[Topic, _Mapping]] = ...) -> None: ...

class ListTopicsRequest(_message.Message):
    __slots__ = ("profile_id", "purpose_id", "page_size", "page_token", "include_inactive")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_INACTIVE_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    purpose_id: str
    page_size: int
    page_token: str
    include_inactive: bool
    def __init__(self, profile_id: _Optional[str] = ..., purpose_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., include_inactive: bool = ...) -> None: ...

class ListTopicsResponse(_message.Message):
    __slots__ = ("topics", "next_page_token")
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    topics: _containers.RepeatedCompositeFieldContainer[Topic]
    next_page_token: str
    def __init__(self, topics: _Optional[_Iterable[_Union[Topic, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateTopicRequest(_message.Message):
    __slots__ = ("topic", "update_mask")
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    topic: Topic
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, topic: _Optional[_Union[Topic, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateTopicResponse(_message.Message):
    __slots__ = ("topic",)
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    topic: Topic
    def __init__(self, topic: _Optional[_Union[Topic, _Mapping]] = ...) -> None: ...

class DeactivateTopicRequest(_message.Message):
    __slots__ = ("profile_id", "purpose_id", "topic_id")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ID_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    purpose_id: str
    topic_id: str
    def __init__(self, profile_id: _Optional[str] = ..., purpose_id: _Optional[str] = ..., topic_id: _Optional[str] = ...) -> None: ...

class DeactivateTopicResponse(_message.Message):
    __slots__ = ("topic",)
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    topic: Topic
    def __init__(self, topic: _Optional[_Union[Topic, _Mapping]] = ...) -> None: ...

class CreateApiKeyRequest(_message.Message):
    __slots__ = ("description", "scopes", "profile_ids", "expire_time")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    PROFILE_IDS_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    description: str
    scopes: _containers.RepeatedScalarFieldContainer[ApiKeyScope]
    profile_ids: _containers.RepeatedScalarFieldContainer[str]
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, description: _Optional[str] = ..., scopes: _Optional[_Iterable[_Union[ApiKeyScope, str]]] = ..., profile_ids: _Optional[_Iterable[str]] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateApiKeyResponse(_message.Message):
    __slots__ = ("api_key", "secret")
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    api_key: ApiKey
    secret: str
    def __init__(self, api_key: _Optional[_Union[ApiKey, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class ListApiKeysRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListApiKeysResponse(_message.Message):
    __slots__ = ("api_keys", "next_page_token")
    API_KEYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    api_keys: _containers.RepeatedCompositeFieldContainer[ApiKey]
    next_page_token: str
    def __init__(self, api_keys: _Optional[_Iterable[_Union[ApiKey, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RevokeApiKeyRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class RevokeApiKeyResponse(_message.Message):
    __slots__ = ("api_key",)
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    api_key: ApiKey
    def __init__(self, api_key: _Optional[_Union[ApiKey, _Mapping]] = ...) -> None: ...

class GetStateDigestRequest(_message.Message):
    __slots__ = ("min_revision",)
    MIN_REVISION_FIELD_NUMBER: _ClassVar[int]
    min_revision: int
    def __init__(self, min_revision: _Optional[int] = ...) -> None: ...

class GetStateDigestResponse(_message.Message):
    __slots__ = ("revision", "digest", "keys")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    revision: int
    digest: str
    keys: int
    def __init__(self, revision: _Optional[int] = ..., digest: _Optional[str] = ..., keys: _Optional[int] = ...) -> None: ...

class GetServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetServerInfoResponse(_message.Message):
    __slots__ = ("version", "revision", "cluster", "cluster_entries_skipped", "cluster_last_skipped_seq", "cluster_last_skipped_reason", "receipt_keys")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ENTRIES_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_LAST_SKIPPED_SEQ_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_LAST_SKIPPED_REASON_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_KEYS_FIELD_NUMBER: _ClassVar[int]
    version: str
    revision: int
    cluster: bool
    cluster_entries_skipped: int
    cluster_last_skipped_seq: int
    cluster_last_skipped_reason: str
    receipt_keys: _containers.RepeatedCompositeFieldContainer[ReceiptKey]
    def __init__(self, version: _Optional[str] = ..., revision: _Optional[int] = ..., cluster: bool = ..., cluster_entries_skipped: _Optional[int] = ..., cluster_last_skipped_seq: _Optional[int] = ..., cluster_last_skipped_reason: _Optional[str] = ..., receipt_keys: _Optional[_Iterable[_Union[ReceiptKey, _Mapping]]] = ...) -> None: ...

class ReceiptKey(_message.Message):
    __slots__ = ("id", "public_key", "signing")
    ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNING_FIELD_NUMBER: _ClassVar[int]
    id: int
    public_key: bytes
    signing: bool
    def __init__(self, id: _Optional[int] = ..., public_key: _Optional[bytes] = ..., signing: bool = ...) -> None: ...

class Webhook(_message.Message):
    __slots__ = ("webhook_id", "url", "profile_ids", "event_kinds", "personal_data", "description", "paused", "delivered_revision", "lag_revisions", "last_error", "last_error_time", "create_time", "secrets", "delivered_by")
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    PROFILE_IDS_FIELD_NUMBER: _ClassVar[int]
    EVENT_KINDS_FIELD_NUMBER: _ClassVar[int]
    PERSONAL_DATA_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_REVISION_FIELD_NUMBER: _ClassVar[int]
    LAG_REVISIONS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_BY_FIELD_NUMBER: _ClassVar[int]
    webhook_id: str
    url: str
    profile_ids: _containers.RepeatedScalarFieldContainer[str]
    event_kinds: _containers.RepeatedScalarFieldContainer[WebhookEventKind]
    personal_data: bool
    description: str
    paused: bool
    delivered_revision: int
    lag_revisions: int
    last_error: str
    last_error_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    secrets: int
    delivered_by: str
    def __init__(self, webhook_id: _Optional[str] = ..., url: _Optional[str] = ..., profile_ids: _Optional[_Iterable[str]] = ..., event_kinds: _Optional[_Iterable[_Union[WebhookEventKind, str]]] = ..., personal_data: bool = ..., description: _Optional[str] = ..., paused: bool = ..., delivered_revision: _Optional[int] = ..., lag_revisions: _Optional[int] = ..., last_error: _Optional[str] = ..., last_error_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., secrets: _Optional[int] = ..., delivered_by: _Optional[str] = ...) -> None: ...

class CreateWebhookRequest(_message.Message):
    __slots__ = ("webhook", "secret")
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    webhook: Webhook
    secret: str
    def __init__(self, webhook: _Optional[_Union[Webhook, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class CreateWebhookResponse(_message.Message):
    __slots__ = ("webhook", "secret")
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    webhook: Webhook
    secret: str
    def __init__(self, webhook: _Optional[_Union[Webhook, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class ListWebhooksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWebhooksResponse(_message.Message):
    __slots__ = ("webhooks",)
    WEBHOOKS_FIELD_NUMBER: _ClassVar[int]
    webhooks: _containers.RepeatedCompositeFieldContainer[Webhook]
    def __init__(self, webhooks: _Optional[_Iterable[_Union[Webhook, _Mapping]]] = ...) -> None: ...

class UpdateWebhookRequest(_message.Message):
    __slots__ = ("webhook", "update_mask", "rotate_secret", "secret", "previous_secret_ttl")
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    ROTATE_SECRET_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_SECRET_TTL_FIELD_NUMBER: _ClassVar[int]
    webhook: Webhook
    update_mask: _field_mask_pb2.FieldMask
    rotate_secret: bool
    secret: str
    previous_secret_ttl: _duration_pb2.Duration
    def __init__(self, webhook: _Optional[_Union[Webhook, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., rotate_secret: bool = ..., secret: _Optional[str] = ..., previous_secret_ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class UpdateWebhookResponse(_message.Message):
    __slots__ = ("webhook", "secret")
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    webhook: Webhook
    secret: str
    def __init__(self, webhook: _Optional[_Union[Webhook, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class DeleteWebhookRequest(_message.Message):
    __slots__ = ("webhook_id",)
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    webhook_id: str
    def __init__(self, webhook_id: _Optional[str] = ...) -> None: ...

class DeleteWebhookResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReplayWebhookRequest(_message.Message):
    __slots__ = ("webhook_id", "from_revision")
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_REVISION_FIELD_NUMBER: _ClassVar[int]
    webhook_id: str
    from_revision: int
    def __init__(self, webhook_id: _Optional[str] = ..., from_revision: _Optional[int] = ...) -> None: ...

class ReplayWebhookResponse(_message.Message):
    __slots__ = ("webhook",)
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    webhook: Webhook
    def __init__(self, webhook: _Optional[_Union[Webhook, _Mapping]] = ...) -> None: ...

class TestWebhookRequest(_message.Message):
    __slots__ = ("webhook_id",)
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    webhook_id: str
    def __init__(self, webhook_id: _Optional[str] = ...) -> None: ...

class TestWebhookResponse(_message.Message):
    __slots__ = ("status_code", "error", "message_id")
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    status_code: int
    error: str
    message_id: str
    def __init__(self, status_code: _Optional[int] = ..., error: _Optional[str] = ..., message_id: _Optional[str] = ...) -> None: ...

class SimulateCatalogChangeRequest(_message.Message):
    __slots__ = ("profile_id", "purpose_updates", "profile_update", "deactivate_profile", "deactivate_purpose_ids", "deactivate_topics", "samples_per_change")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_UPDATES_FIELD_NUMBER: _ClassVar[int]
    PROFILE_UPDATE_FIELD_NUMBER: _ClassVar[int]
    DEACTIVATE_PROFILE_FIELD_NUMBER: _ClassVar[int]
    DEACTIVATE_PURPOSE_IDS_FIELD_NUMBER: _ClassVar[int]
    DEACTIVATE_TOPICS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_PER_CHANGE_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    purpose_updates: _containers.RepeatedCompositeFieldContainer[UpdatePurposeRequest]
    profile_update: UpdateProfileRequest
    deactivate_profile: bool
    deactivate_purpose_ids: _containers.RepeatedScalarFieldContainer[str]
    deactivate_topics: _containers.RepeatedCompositeFieldContainer[DeactivateTopicRequest]
    samples_per_change: int
    def __init__(self, profile_id: _Optional[str] = ..., purpose_updates: _Optional[_Iterable[_Union[UpdatePurposeRequest, _Mapping]]] = ..., profile_update: _Optional[_Union[UpdateProfileRequest, _Mapping]] = ..., deactivate_profile: bool = ..., deactivate_purpose_ids: _Optional[_Iterable[str]] = ..., deactivate_topics: _Optional[_Iterable[_Union[DeactivateTopicRequest, _Mapping]]] = ..., samples_per_change: _Optional[int] = ...) -> None: ...

class SimulateCatalogChangeResponse(_message.Message):
    __slots__ = ("groups", "populations", "revision", "evaluate_time", "notes", "samples_truncated")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    POPULATIONS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    EVALUATE_TIME_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[SimulatedGroup]
    populations: _containers.RepeatedCompositeFieldContainer[SimulatedPopulation]
    revision: int
    evaluate_time: _timestamp_pb2.Timestamp
    notes: _containers.RepeatedScalarFieldContainer[str]
    samples_truncated: bool
    def __init__(self, groups: _Optional[_Iterable[_Union[SimulatedGroup, _Mapping]]] = ..., populations: _Optional[_Iterable[_Union[SimulatedPopulation, _Mapping]]] = ..., revision: _Optional[int] = ..., evaluate_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., notes: _Optional[_Iterable[str]] = ..., samples_truncated: bool = ...) -> None: ...

class SimulatedPopulation(_message.Message):
    __slots__ = ("channel", "contact_points")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINTS_FIELD_NUMBER: _ClassVar[int]
    channel: _types_pb2.Channel
    contact_points: int
    def __init__(self, channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., contact_points: _Optional[int] = ...) -> None: ...

class SimulatedGroup(_message.Message):
    __slots__ = ("channel", "purpose_id", "topic_id", "model_before", "model_after", "refused_because", "contact_points", "send_before", "send_after", "decision_changed", "transitions")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_BEFORE_FIELD_NUMBER: _ClassVar[int]
    MODEL_AFTER_FIELD_NUMBER: _ClassVar[int]
    REFUSED_BECAUSE_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINTS_FIELD_NUMBER: _ClassVar[int]
    SEND_BEFORE_FIELD_NUMBER: _ClassVar[int]
    SEND_AFTER_FIELD_NUMBER: _ClassVar[int]
    DECISION_CHANGED_FIELD_NUMBER: _ClassVar[int]
    TRANSITIONS_FIELD_NUMBER: _ClassVar[int]
    channel: _types_pb2.Channel
    purpose_id: str
    topic_id: str
    model_before: _types_pb2.EnforcementModel
    model_after: _types_pb2.EnforcementModel
    refused_because: str
    contact_points: int
    send_before: int
    send_after: int
    decision_changed: int
    transitions: _containers.RepeatedCompositeFieldContainer[SimulatedTransition]
    def __init__(self, channel: _Optional[_Union[_types_pb2.Channel, str]] = ..., purpose_id: _Optional[str] = ..., topic_id: _Optional[str] = ..., model_before: _Optional[_Union[_types_pb2.EnforcementModel, str]] = ..., model_after: _Optional[_Union[_types_pb2.EnforcementModel, str]] = ..., refused_because: _Optional[str] = ..., contact_points: _Optional[int] = ..., send_before: _Optional[int] = ..., send_after: _Optional[int] = ..., decision_changed: _Optional[int] = ..., transitions: _Optional[_Iterable[_Union[SimulatedTransition, _Mapping]]] = ...) -> None: ...

class SimulatedTransition(_message.Message):
    __slots__ = ("from_reason", "to_reason", "contact_points", "samples")
    FROM_REASON_FIELD_NUMBER: _ClassVar[int]
    TO_REASON_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINTS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    from_reason: _decision_pb2.Reason
    to_reason: _decision_pb2.Reason
    contact_points: int
    samples: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, from_reason: _Optional[_Union[_decision_pb2.Reason, str]] = ..., to_reason: _Optional[_Union[_decision_pb2.Reason, str]] = ..., contact_points: _Optional[int] = ..., samples: _Optional[_Iterable[str]] = ...) -> None: ...
