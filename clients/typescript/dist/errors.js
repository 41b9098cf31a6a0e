"use strict";
/**
 * Errors: one class per gRPC status code the server answers with. Every failed call rejects
 * with a subclass of {@link ConsentdError} carrying the code, the server's message and, for
 * INVALID_ARGUMENT, the field the server named in its google.rpc.BadRequest details.
 */
Object.defineProperty(exports, "__esModule", { value: true });
exports.StreamProtocolError = exports.Internal = exports.Cancelled = exports.DeadlineExceeded = exports.Unavailable = exports.ResourceExhausted = exports.FailedPrecondition = exports.AlreadyExists = exports.NotFound = exports.PermissionDenied = exports.Unauthenticated = exports.InvalidArgument = exports.ConsentdError = void 0;
exports.badRequestField = badRequestField;
exports.fromServiceError = fromServiceError;
const wire_1 = require("@bufbuild/protobuf/wire");
const grpc_js_1 = require("@grpc/grpc-js");
class ConsentdError extends Error {
    /** The gRPC status code (`status` of @grpc/grpc-js). */
    code;
    /** The server's message. */
    details;
    /** The offending request field, when the server named one (e.g. `change.contact_point`). */
    field;
    constructor(code, details, field) {
        super(`${grpc_js_1.status[code] ?? code}: ${details}${field ? ` (field \`${field}\`)` : ""}`);
        this.name = new.target.name;
        this.code = code;
        this.details = details;
        this.field = field;
    }
}
exports.ConsentdError = ConsentdError;
/** The request is invalid; `field` names the offending field when the server said. */
class InvalidArgument extends ConsentdError {
}
exports.InvalidArgument = InvalidArgument;
/** No API key, or an unknown, revoked or expired one. */
class Unauthenticated extends ConsentdError {
}
exports.Unauthenticated = Unauthenticated;
/** The API key lacks the scope, or may not act on the profile. */
class PermissionDenied extends ConsentdError {
}
exports.PermissionDenied = PermissionDenied;
/** The profile, purpose, topic or key does not exist. */
class NotFound extends ConsentdError {
}
exports.NotFound = NotFound;
/** The id exists already, or an idempotency key was reused with other content. */
class AlreadyExists extends ConsentdError {
}
exports.AlreadyExists = AlreadyExists;
/** A deactivated profile, a used or expired token, or a min_revision not reached (standalone). */
class FailedPrecondition extends ConsentdError {
}
exports.FailedPrecondition = FailedPrecondition;
/** A server limit was reached (streams, disk space, message size). */
class ResourceExhausted extends ConsentdError {
}
exports.ResourceExhausted = ResourceExhausted;
/** The server could not be reached or could not finish: a write's outcome is unknown. */
class Unavailable extends ConsentdError {
}
exports.Unavailable = Unavailable;
/** The call's deadline passed; a write's outcome is unknown (retry with the same key). */
class DeadlineExceeded extends ConsentdError {
}
exports.DeadlineExceeded = DeadlineExceeded;
/** The call was cancelled. */
class Cancelled extends ConsentdError {
}
exports.Cancelled = Cancelled;
/** The server failed; its log has the detail. */
class Internal extends ConsentdError {
}
exports.Internal = Internal;
/** The server's answers to a CheckStream did not match the batches sent. */
class StreamProtocolError extends ConsentdError {
    constructor(details) {
        super(grpc_js_1.status.INTERNAL, details);
    }
}
exports.StreamProtocolError = StreamProtocolError;
const BY_CODE = {
    [grpc_js_1.status.INVALID_ARGUMENT]: InvalidArgument,
    [grpc_js_1.status.UNAUTHENTICATED]: Unauthenticated,
    [grpc_js_1.status.PERMISSION_DENIED]: PermissionDenied,
    [grpc_js_1.status.NOT_FOUND]: NotFound,
    [grpc_js_1.status.ALREADY_EXISTS]: AlreadyExists,
    [grpc_js_1.status.FAILED_PRECONDITION]: FailedPrecondition,
    [grpc_js_1.status.RESOURCE_EXHAUSTED]: ResourceExhausted,
    [grpc_js_1.status.UNAVAILABLE]: Unavailable,
    [grpc_js_1.status.DEADLINE_EXCEEDED]: DeadlineExceeded,
    [grpc_js_1.status.CANCELLED]: Cancelled,
    [grpc_js_1.status.INTERNAL]: Internal,
};
const BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest";
/**
 * The first field violation in `grpc-status-details-bin` (a google.rpc.Status whose details
 * hold a google.rpc.BadRequest), decoded by hand: three small messages do not warrant a
 * second generated package.
 */
function badRequestField(details) {
    try {
        const status = new wire_1.BinaryReader(details);
        while (status.pos < status.len) {
            const [field, wireType] = status.tag();
            if (field !== 3) {
                status.skip(wireType);
                continue;
            }
            // google.protobuf.Any { string type_url = 1; bytes value = 2; }
            const any = new wire_1.BinaryReader(status.bytes());
            let typeUrl = "";
            let value;
            while (any.pos < any.len) {
                const [f, w] = any.tag();
                if (f === 1)
                    typeUrl = any.string();
                else if (f === 2)
                    value = any.bytes();
                else
                    any.skip(w);
            }
            if (typeUrl !== BAD_REQUEST_TYPE || !value)
                continue;
            // BadRequest { repeated FieldViolation field_violations = 1; } FieldViolation { string field = 1; }
            const bad = new wire_1.BinaryReader(value);
            while (bad.pos < bad.len) {
                const [f, w] = bad.tag();
                if (f !== 1) {
                    bad.skip(w);
                    continue;
                }
                const violation = new wire_1.BinaryReader(bad.bytes());
                while (violation.pos < violation.len) {
                    const [vf, vw] = violation.tag();
                    if (vf === 1)
                        return violation.string();
                    violation.skip(vw);
                }
            }
        }
    }
    catch {
        // Undecodable details are not worth failing over.
    }
    return undefined;
}
/** The typed error for an error of @grpc/grpc-js (a ServiceError), or the error itself. */
function fromServiceError(error) {
    if (error instanceof ConsentdError)
        return error;
    const e = error;
    if (!e || typeof e.code !== "number")
        return error;
    const code = e.code;
    let field;
    if (code === grpc_js_1.status.INVALID_ARGUMENT && e.metadata) {
        const [details] = e.metadata.get("grpc-status-details-bin");
        if (details instanceof Uint8Array)
            field = badRequestField(details);
    }
    const Cls = BY_CODE[code] ?? ConsentdError;
    const err = new Cls(code, e.details ?? e.message ?? "", field);
    err.cause = error;
    return err;
}
