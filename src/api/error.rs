//! One exhaustive mapping from internal errors to gRPC status codes. Invalid input becomes
//! `InvalidArgument` with a `google.rpc.BadRequest` field violation; internal failures are
//! logged with detail and reach the client as a generic message.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::pb;
use crate::decision::ResolveError;
use crate::storage::token::TokenError;
use crate::storage::{Refusal, StorageError};

/// Longest piece of client input repeated back in an error message.
const ECHO_CHARS_MAX: usize = 64;

/// Errors of request handling, before and around the store.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid `{field}`: {description}")]
    Invalid { field: String, description: String },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    ResourceExhausted(String),
    /// A failure of the server's own (a task that panicked): logged, never shown.
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ApiError {
    /// `field` was `value`, which is wrong because of `why`.
    pub fn invalid(field: impl Into<String>, value: &str, why: impl std::fmt::Display) -> ApiError {
        let mut shown: String = value.chars().take(ECHO_CHARS_MAX).collect();
        if value.chars().count() > ECHO_CHARS_MAX {
            shown.push('…');
        }
        ApiError::Invalid { field: field.into(), description: format!("{why} (got `{shown}`)") }
    }

    /// `field` is required or wrong in a way that needs no value echoed.
    pub fn invalid_field(field: impl Into<String>, why: impl std::fmt::Display) -> ApiError {
        ApiError::Invalid { field: field.into(), description: why.to_string() }
    }

    /// The same error about field `to` where it named `from` (a request with two contact
    /// points validated by one helper).
    pub fn renamed(self, from: &str, to: &str) -> ApiError {
        match self {
            ApiError::Invalid { field, description } if field == from => {
                ApiError::Invalid { field: to.to_owned(), description }
            }
            other => other,
        }
    }

    /// The same error about a field of a message nested at `prefix` (e.g.
    /// "purpose_updates[2]."), so that the field names the request's own path.
    pub fn under(self, prefix: &str) -> ApiError {
        match self {
            ApiError::Invalid { field, description } => {
                ApiError::Invalid { field: format!("{prefix}{field}"), description }
            }
            other => other,
        }
    }

    /// A row-2 resolution error, with the field name under `prefix` (e.g. "change.").
    pub fn resolve(prefix: &str, e: &ResolveError) -> ApiError {
        ApiError::Invalid { field: format!("{prefix}{}", e.field()), description: e.to_string() }
    }

    /// [`ApiError::resolve`] in the catalog of a past moment (`as_of`): said so, since the
    /// name may exist now.
    pub fn resolve_as_of(prefix: &str, e: &ResolveError) -> ApiError {
        ApiError::Invalid {
            field: format!("{prefix}{}", e.field()),
            description: format!("{e} as of the moment asked (`as_of`)"),
        }
    }

    /// This error as one item's answer in a batch: its code, the field at fault, and a
    /// message that never carries internal detail (that goes to the log).
    pub fn to_item_error(&self) -> pb::ItemError {
        let field = match self {
            ApiError::Invalid { field, .. } => field.clone(),
            _ => String::new(),
        };
        let message = match self {
            ApiError::Storage(s @ (StorageError::Db(_) | StorageError::Corrupt { .. } | StorageError::Io { .. })) => {
                tracing::error!(error = %s, "batch item failed in storage");
                "internal error; see the server log".to_owned()
            }
            other => other.to_string(),
        };
        pb::ItemError { code: self.code() as i32, field, message }
    }

    /// The gRPC code this error is sent with (also used for per-item batch errors).
    pub fn code(&self) -> Code {
        match self {
            ApiError::Invalid { .. } => Code::InvalidArgument,
            ApiError::Unauthenticated(_) => Code::Unauthenticated,
            ApiError::PermissionDenied(_) => Code::PermissionDenied,
            ApiError::FailedPrecondition(_) => Code::FailedPrecondition,
            ApiError::ResourceExhausted(_) => Code::ResourceExhausted,
            ApiError::Internal(_) => Code::Internal,
            ApiError::Storage(e) => storage_code(e),
        }
    }
}

fn storage_code(e: &StorageError) -> Code {
    match e {
        StorageError::Refused(r) => refusal_code(r),
        StorageError::Db(_) | StorageError::Corrupt { .. } | StorageError::Io { .. } => Code::Internal,
        StorageError::Replica(_) => Code::Internal,
        StorageError::Closed => Code::Unavailable,
        StorageError::DiskFull(_) => Code::ResourceExhausted,
        StorageError::WritesStopped(_) | StorageError::Unavailable(_) => Code::Unavailable,
    }
}

/// The status of each refusal: the client's to fix (or to wait out, for a limit).
fn refusal_code(r: &Refusal) -> Code {
    match r {
        Refusal::IdempotencyConflict | Refusal::AlreadyExists(_) => Code::AlreadyExists,
        Refusal::Token(TokenError::Malformed | TokenError::BadSignature) => Code::InvalidArgument,
        Refusal::Token(TokenError::Expired) | Refusal::TokenUsed => Code::FailedPrecondition,
        Refusal::NotFound(_) => Code::NotFound,
        Refusal::Stale(_) => Code::Aborted,
        Refusal::Limit(_) => Code::ResourceExhausted,
        Refusal::Deactivated(_) => Code::FailedPrecondition,
        Refusal::ConfirmedBeforeRequest => Code::InvalidArgument,
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        match e {
            ApiError::Invalid { field, description } => {
                let message = format!("invalid `{field}`: {description}");
                Status::with_error_details(
                    Code::InvalidArgument,
                    message,
                    ErrorDetails::with_bad_request_violation(field, description),
                )
            }
            ApiError::Unauthenticated(m) => Status::unauthenticated(m),
            ApiError::PermissionDenied(m) => Status::permission_denied(m),
            ApiError::FailedPrecondition(m) => Status::failed_precondition(m),
            ApiError::ResourceExhausted(m) => Status::resource_exhausted(m),
            ApiError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                Status::internal("internal error; see the server log")
            }
            ApiError::Storage(e) => storage_status(e),
        }
    }
}

/// The status a storage error answers: refusals by their kind, failures as `INTERNAL` with
/// the detail in the server log only.
pub fn storage_status(e: StorageError) -> Status {
    {
        let code = storage_code(&e);
        match e {
            StorageError::Db(_) | StorageError::Corrupt { .. } | StorageError::Io { .. } | StorageError::Replica(_) => {
                tracing::error!(error = %e, "internal storage error");
                Status::internal("internal error; see the server log")
            }
            StorageError::Refused(Refusal::Token(TokenError::Malformed | TokenError::BadSignature)) => {
                Status::with_error_details(
                    code,
                    format!("invalid `token`: {e}"),
                    ErrorDetails::with_bad_request_violation("token", e.to_string()),
                )
            }
            StorageError::Refused(Refusal::ConfirmedBeforeRequest) => Status::with_error_details(
                code,
                e.to_string(),
                ErrorDetails::with_bad_request_violation("occurred_at", "before the opt-in request it confirms"),
            ),
            StorageError::Closed
            | StorageError::Refused(
                Refusal::IdempotencyConflict
                | Refusal::Token(TokenError::Expired)
                | Refusal::TokenUsed
                | Refusal::NotFound(_)
                | Refusal::AlreadyExists(_)
                | Refusal::Stale(_)
                | Refusal::Limit(_)
                | Refusal::Deactivated(_),
            )
            | StorageError::DiskFull(_)
            | StorageError::WritesStopped(_)
            | StorageError::Unavailable(_) => Status::new(code, e.to_string()),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

pub fn not_found(what: String) -> ApiError {
    ApiError::Storage(StorageError::Refused(Refusal::NotFound(what)))
}
