/**
 * Errors: one class per gRPC status code the server answers with. Every failed call rejects
 * with a subclass of {@link ConsentdError} carrying the code, the server's message and, for
 * INVALID_ARGUMENT, the field the server named in its google.rpc.BadRequest details.
 */

import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Metadata, status as Status } from "@grpc/grpc-js";

export class ConsentdError extends Error {
  /** The gRPC status code (`status` of @grpc/grpc-js). */
  readonly code: Status;
  /** The server's message. */
  readonly details: string;
  /** The offending request field, when the server named one (e.g. `change.contact_point`). */
  readonly field?: string;

  constructor(code: Status, details: string, field?: string) {
    super(`${Status[code] ?? code}: ${details}${field ? ` (field \`${field}\`)` : ""}`);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
    this.field = field;
  }
}

/** The request is invalid; `field` names the offending field when the server said. */
export class InvalidArgument extends ConsentdError {}
/** No API key, or an unknown, revoked or expired one. */
export class Unauthenticated extends ConsentdError {}
/** The API key lacks the scope, or may not act on the profile. */
export class PermissionDenied extends ConsentdError {}
/** The profile, purpose, topic or key does not exist. */
export class NotFound extends ConsentdError {}
/** The id exists already, or an idempotency key was reused with other content. */
export class AlreadyExists extends ConsentdError {}
/** A deactivated profile, a used or expired token, or a min_revision not reached (standalone). */
export class FailedPrecondition extends ConsentdError {}
/** A server limit was reached (streams, disk space, message size). */
export class ResourceExhausted extends ConsentdError {}
/** The server could not be reached or could not finish: a write's outcome is unknown. */
export class Unavailable extends ConsentdError {}
/** The call's deadline passed; a write's outcome is unknown (retry with the same key). */
export class DeadlineExceeded extends ConsentdError {}
/** The call was cancelled. */
export class Cancelled extends ConsentdError {}
/** The server failed; its log has the detail. */
export class Internal extends ConsentdError {}

/** The server's answers to a CheckStream did not match the batches sent. */
export class StreamProtocolError extends ConsentdError {
  constructor(details: string) {
    super(Status.INTERNAL, details);
  }
}

const BY_CODE: Partial<Record<Status, new (code: Status, details: string, field?: string) => ConsentdError>> = {
  [Status.INVALID_ARGUMENT]: InvalidArgument,
  [Status.UNAUTHENTICATED]: Unauthenticated,
  [Status.PERMISSION_DENIED]: PermissionDenied,
  [Status.NOT_FOUND]: NotFound,
  [Status.ALREADY_EXISTS]: AlreadyExists,
  [Status.FAILED_PRECONDITION]: FailedPrecondition,
  [Status.RESOURCE_EXHAUSTED]: ResourceExhausted,
  [Status.UNAVAILABLE]: Unavailable,
  [Status.DEADLINE_EXCEEDED]: DeadlineExceeded,
  [Status.CANCELLED]: Cancelled,
  [Status.INTERNAL]: Internal,
};

const BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest";

/**
 * The first field violation in `grpc-status-details-bin` (a google.rpc.Status whose details
 * hold a google.rpc.BadRequest), decoded by hand: three small messages do not warrant a
 * second generated package.
 */
export function badRequestField(details: Uint8Array): string | undefined {
  try {
    const status = new BinaryReader(details);
    while (status.pos < status.len) {
      const [field, wireType] = status.tag();
      if (field !== 3) {
        status.skip(wireType);
        continue;
      }
      // google.protobuf.Any { string type_url = 1; bytes value = 2; }
      const any = new BinaryReader(status.bytes());
      let typeUrl = "";
      let value: Uint8Array | undefined;
      while (any.pos < any.len) {
        const [f, w] = any.tag();
        if (f === 1) typeUrl = any.string();
        else if (f === 2) value = any.bytes();
        else any.skip(w);
      }
      if (typeUrl !== BAD_REQUEST_TYPE || !value) continue;
      // BadRequest { repeated FieldViolation field_violations = 1; } FieldViolation { string field = 1; }
      const bad = new BinaryReader(value);
      while (bad.pos < bad.len) {
        const [f, w] = bad.tag();
        if (f !== 1) {
          bad.skip(w);
          continue;
        }
        const violation = new BinaryReader(bad.bytes());
        while (violation.pos < violation.len) {
          const [vf, vw] = violation.tag();
          if (vf === 1) return violation.string();
          violation.skip(vw);
        }
      }
    }
  } catch {
    // Undecodable details are not worth failing over.
  }
  return undefined;
}

interface ServiceErrorLike {
  code?: number;
  details?: string;
  message?: string;
  metadata?: Metadata;
}

/** The typed error for an error of @grpc/grpc-js (a ServiceError), or the error itself. */
export function fromServiceError(error: unknown): Error {
  if (error instanceof ConsentdError) return error;
  const e = error as ServiceErrorLike;
  if (!e || typeof e.code !== "number") return error as Error;
  const code = e.code as Status;
  let field: string | undefined;
  if (code === Status.INVALID_ARGUMENT && e.metadata) {
    const [details] = e.metadata.get("grpc-status-details-bin");
    if (details instanceof Uint8Array) field = badRequestField(details);
  }
  const Cls = BY_CODE[code] ?? ConsentdError;
  const err = new Cls(code, e.details ?? e.message ?? "", field);
  (err as { cause?: unknown }).cause = error;
  return err;
}
