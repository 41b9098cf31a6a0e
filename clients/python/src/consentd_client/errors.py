"""Exceptions: one class per gRPC status code the server answers with.

Every failed call raises a subclass of :class:`ConsentdError`, carrying the gRPC code, the
server's message and, for ``INVALID_ARGUMENT``, the field the server named in its
``google.rpc.BadRequest`` details (e.g. ``change.contact_point``).
"""

from __future__ import annotations

from typing import Optional

import grpc
from google.rpc import error_details_pb2, status_pb2

__all__ = [
    "ConsentdError",
    "InvalidArgument",
    "Unauthenticated",
    "PermissionDenied",
    "NotFound",
    "AlreadyExists",
    "FailedPrecondition",
    "ResourceExhausted",
    "Unavailable",
    "DeadlineExceeded",
    "Cancelled",
    "Internal",
    "StreamProtocolError",
    "from_rpc_error",
]


class ConsentdError(Exception):
    """A call to consentd failed.

    ``code`` is the :class:`grpc.StatusCode`, ``message`` the server's text, ``field`` the
    offending request field when the server named one (else ``None``).
    """

    def __init__(self, code: grpc.StatusCode, message: str, field: Optional[str] = None):
        self.code = code
        self.message = message
        self.field = field
        where = f" (field `{field}`)" if field else ""
        super().__init__(f"{code.name}: {message}{where}")


class InvalidArgument(ConsentdError):
    """The request is invalid; ``field`` names the offending field when the server said."""


class Unauthenticated(ConsentdError):
    """No API key, or an unknown, revoked or expired one."""


class PermissionDenied(ConsentdError):
    """The API key lacks the scope, or may not act on the profile."""


class NotFound(ConsentdError):
    """The profile, purpose, topic or key does not exist."""


class AlreadyExists(ConsentdError):
    """The id exists already, or an idempotency key was reused with other content."""


class FailedPrecondition(ConsentdError):
    """The state does not allow it: a deactivated profile, a used or expired token, or a
    ``min_revision`` this server has not reached (standalone)."""


class ResourceExhausted(ConsentdError):
    """A server limit was reached (streams, disk space, message size)."""


class Unavailable(ConsentdError):
    """The server could not be reached or could not finish: the outcome of a write is
    unknown. The client retries writes with the same idempotency key before raising this."""


class DeadlineExceeded(ConsentdError):
    """The call's timeout passed; a write's outcome is unknown (retry with the same key)."""


class Cancelled(ConsentdError):
    """The call was cancelled (by the caller, or the stream was closed)."""


class Internal(ConsentdError):
    """The server failed; its log has the detail."""


class StreamProtocolError(ConsentdError):
    """The server's answers to a CheckStream did not match the batches sent."""

    def __init__(self, message: str):
        super().__init__(grpc.StatusCode.INTERNAL, message)


_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.INTERNAL: Internal,
}


def _bad_field(error: grpc.Call) -> Optional[str]:
    """The first field violation of the status details, if the server sent any."""
    try:
        trailers = error.trailing_metadata() or ()
    except Exception:  # noqa: BLE001 - a broken call may have no trailers at all
        return None
    for key, value in trailers:
        if key != "grpc-status-details-bin":
            continue
        try:
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    if bad.field_violations:
                        return bad.field_violations[0].field
        except Exception:  # noqa: BLE001 - undecodable details are not worth failing over
            return None
    return None


def from_rpc_error(error: grpc.RpcError) -> ConsentdError:
    """The typed exception for a grpc error (a ``grpc.Call``)."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = error.details() if hasattr(error, "details") else str(error)
    cls = _BY_CODE.get(code, ConsentdError)
    return cls(code, message or "", _bad_field(error) if code == grpc.StatusCode.INVALID_ARGUMENT else None)
