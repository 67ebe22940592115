//! The core's error type. Every rule that can refuse an operation says so with one of these
//! variants; each door maps them once (HTTP status for HTTPFs, FTP reply codes for the FTP door).

use crate::base::vpath::PathError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// No such file, directory or event, or one the caller may not see (indistinguishable on purpose).
    #[error("not found")]
    NotFound,
    /// The caller is known but the operation is not allowed for them here.
    #[error("permission denied: {0}")]
    Denied(&'static str),
    /// Missing, malformed, revoked or disabled credentials.
    #[error("unauthorized")]
    Unauthorized,
    /// Too many failed logins for this username or address.
    #[error("locked out, try again later")]
    LockedOut,
    #[error("invalid name: {0}")]
    BadName(#[from] PathError),
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error("not an allowed file type: {0}")]
    NotAllowedType(String),
    #[error("file too large: the limit is {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("quota exceeded: {0}")]
    QuotaExceeded(&'static str),
    #[error("already exists")]
    AlreadyExists,
    /// A different photo already has this name, and the event refuses name clashes.
    #[error("a different photo already has this name, and this event refuses name clashes")]
    NameTaken,
    #[error("directory not empty")]
    NotEmpty,
    #[error("not a directory")]
    NotADirectory,
    #[error("is a directory")]
    IsADirectory,
    #[error("operation not supported: {0}")]
    Unsupported(&'static str),
    /// The upload's byte stream ended without the client finishing it.
    #[error("upload aborted by the client")]
    Aborted,
    /// The body ended normally but the file inside is cut short (a plain-FTP upload ended by
    /// a clean close mid-file): nothing is stored, the client must send it again.
    #[error("file incomplete, please re-send: {0}")]
    Incomplete(String),
    #[error("storage error: {0}")]
    Storage(String),
    #[error("catalog error: {0}")]
    Catalog(String),
}

impl From<sqlx::Error> for CoreError {
    fn from(e: sqlx::Error) -> Self {
        CoreError::Catalog(e.to_string())
    }
}

impl From<object_store::Error> for CoreError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => {
                CoreError::Storage(format!("blob missing: {e}"))
            }
            other => CoreError::Storage(other.to_string()),
        }
    }
}

impl From<std::io::Error> for CoreError {
    fn from(e: std::io::Error) -> Self {
        CoreError::Storage(e.to_string())
    }
}

impl CoreError {
    /// What a client may read: the storage and catalog texts (paths, SQL, S3 endpoints) stay
    /// in the log.
    pub fn public_message(&self) -> String {
        match self {
            CoreError::Storage(_) => "storage is unavailable, try again later".into(),
            CoreError::Catalog(_) => "internal error, try again later".into(),
            other => other.to_string(),
        }
    }

    /// Logs a failure the client cannot fix. The ERROR line names the kind only, so nothing a
    /// photographer can make storage say lands in alerts; the detail goes to WARN, escaped.
    pub fn log_failure(&self, what: &'static str) {
        tracing::warn!(kind = self.kind(), detail = ?self, "{what}: detail");
        tracing::error!(kind = self.kind(), "{what}");
    }

    /// A short stable label, for metrics and audit records.
    pub fn kind(&self) -> &'static str {
        match self {
            CoreError::NotFound => "not_found",
            CoreError::Denied(_) => "denied",
            CoreError::Unauthorized => "unauthorized",
            CoreError::LockedOut => "locked_out",
            CoreError::BadName(_) => "bad_name",
            CoreError::BadRequest(_) => "bad_request",
            CoreError::NotAllowedType(_) => "type_refused",
            CoreError::TooLarge { .. } => "too_large",
            CoreError::QuotaExceeded(_) => "quota",
            CoreError::AlreadyExists => "exists",
            CoreError::NameTaken => "name_taken",
            CoreError::NotEmpty => "not_empty",
            CoreError::NotADirectory => "not_a_directory",
            CoreError::IsADirectory => "is_a_directory",
            CoreError::Unsupported(_) => "unsupported",
            CoreError::Aborted => "aborted",
            CoreError::Incomplete(_) => "incomplete",
            CoreError::Storage(_) => "storage",
            CoreError::Catalog(_) => "catalog",
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
