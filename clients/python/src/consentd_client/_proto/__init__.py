"""Generated protobuf and gRPC modules (clients/python/generate.sh); do not edit.

`consentd_client.pb` re-exports them for callers who need a message the typed layer does
not wrap.
"""
