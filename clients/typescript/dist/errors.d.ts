/**
 * Errors: one class per gRPC status code the server answers with. Every failed call rejects
 * with a subclass of {@link ConsentdError} carrying the code, the server's message and, for
 * INVALID_ARGUMENT, the field the server named in its google.rpc.BadRequest details.
 */
import { status as Status } from "@grpc/grpc-js";
export declare class ConsentdError extends Error {
    /** The gRPC status code (`status` of @grpc/grpc-js). */
    readonly code: Status;
    /** The server's message. */
    readonly details: string;
    /** The offending request field, when the server named one (e.g. `change.contact_point`). */
    readonly field?: string;
    constructor(code: Status, details: string, field?: string);
}
/** The request is invalid; `field` names the offending field when the server said. */
export declare class InvalidArgument extends ConsentdError {
}
/** No API key, or an unknown, revoked or expired one. */
export declare class Unauthenticated extends ConsentdError {
}
/** The API key lacks the scope, or may not act on the profile. */
export declare class PermissionDenied extends ConsentdError {
}
/** The profile, purpose, topic or key does not exist. */
export declare class NotFound extends ConsentdError {
}
/** The id exists already, or an idempotency key was reused with other content. */
export declare class AlreadyExists extends ConsentdError {
}
/** A deactivated profile, a used or expired token, or a min_revision not reached (standalone). */
export declare class FailedPrecondition extends ConsentdError {
}
/** A server limit was reached (streams, disk space, message size). */
export declare class ResourceExhausted extends ConsentdError {
}
/** The server could not be reached or could not finish: a write's outcome is unknown. */
export declare class Unavailable extends ConsentdError {
}
/** The call's deadline passed; a write's outcome is unknown (retry with the same key). */
export declare class DeadlineExceeded extends ConsentdError {
}
/** The call was cancelled. */
export declare class Cancelled extends ConsentdError {
}
/** The server failed; its log has the detail. */
export declare class Internal extends ConsentdError {
}
/** The server's answers to a CheckStream did not match the batches sent. */
export declare class StreamProtocolError extends ConsentdError {
    constructor(details: string);
}
/**
 * The first field violation in `grpc-status-details-bin` (a google.rpc.Status whose details
 * hold a google.rpc.BadRequest), decoded by hand: three small messages do not warrant a
 * second generated package.
 */
export declare function badRequestField(details: Uint8Array): string | undefined;
/** The typed error for an error of @grpc/grpc-js (a ServiceError), or the error itself. */
export declare function fromServiceError(error: unknown): Error;
