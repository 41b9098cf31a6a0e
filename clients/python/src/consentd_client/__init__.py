"""consentd_client: a Python client for consentd, the consent decision service.

    from consentd_client import Client, Channel, ConsentStatus

    with Client("http://127.0.0.1:50051", api_key=KEY) as client:
        client.set_consent("acme", Channel.EMAIL, "jane@example.com", "newsletter", ConsentStatus.OPTED_IN)
        for d in client.check_stream(recipients, "acme", Channel.EMAIL, "newsletter"):
            if d.send:
                ...

See clients/README.md in the consentd repository.
"""

from . import errors, pb
from ._stream import CheckStream
from .client import Client, HealthStatus
from .enums import (
    ApiKeyScope,
    ChangeOutcome,
    ChangeSource,
    Channel,
    ConsentStatus,
    Decision,
    DoubleOptInMode,
    EnforcementModel,
    EventKind,
    KeywordClass,
    PurposeKind,
    Reason,
    SuppressionKind,
)
from .errors import (
    AlreadyExists,
    Cancelled,
    ConsentdError,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    StreamProtocolError,
    Unauthenticated,
    Unavailable,
)
from .types import (
    ChainVerification,
    Change,
    ChangeResult,
    CheckDecision,
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
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "CheckStream",
    "HealthStatus",
    "errors",
    "pb",
    # enums
    "ApiKeyScope",
    "ChangeOutcome",
    "ChangeSource",
    "Channel",
    "ConsentStatus",
    "Decision",
    "DoubleOptInMode",
    "EnforcementModel",
    "EventKind",
    "KeywordClass",
    "PurposeKind",
    "Reason",
    "SuppressionKind",
    # errors
    "ConsentdError",
    "AlreadyExists",
    "Cancelled",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "StreamProtocolError",
    "Unauthenticated",
    "Unavailable",
    # values
    "ChainVerification",
    "Change",
    "ChangeResult",
    "CheckDecision",
    "CheckResult",
    "ConsentRecord",
    "ConsentState",
    "History",
    "HistoryEvent",
    "ItemError",
    "Links",
    "Proof",
    "Recipient",
    "RetryPolicy",
    "Suppression",
    "SuppressionResult",
]
