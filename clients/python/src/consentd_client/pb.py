"""The generated protobuf messages and gRPC stubs of consent.v1, for what the typed layer
does not wrap (``Client.admin``, ``Client.consent`` and ``Client.decision`` are the stubs)."""

from ._proto.consent.v1 import (  # noqa: F401
    admin_pb2,
    admin_pb2_grpc,
    consent_pb2,
    consent_pb2_grpc,
    decision_pb2,
    decision_pb2_grpc,
    types_pb2,
)
