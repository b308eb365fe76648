//! The SDK's error type: what a method returns to fail a request.
//!
//! It mirrors the WIT `executor-error` record, which the host reports to the
//! client the way Jina reports a Python exception: a type `name` such as
//! `ValueError`, a `message`, and optional `details`.

use std::fmt;

/// A typed executor error, converted to the WIT `executor-error` at the boundary.
///
/// ```
/// use flowhost_guest::Error;
///
/// let err = Error::new("ValueError", "limit must be positive").with_details("limit = -3");
/// assert_eq!(err.name(), "ValueError");
/// assert_eq!(err.to_string(), "ValueError: limit must be positive");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    name: String,
    message: String,
    details: Option<String>,
}

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of type `name` (like a Python exception class, e.g. `ValueError`).
    pub fn new(name: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            message: message.into(),
            details: None,
        }
    }

    /// A `ValueError`: the input (documents, parameters, `uses_with`) is wrong.
    pub fn value_error(message: impl Into<String>) -> Self {
        Self::new("ValueError", message)
    }

    /// A `RuntimeError`: something went wrong that is not the caller's fault.
    pub fn runtime_error(message: impl Into<String>) -> Self {
        Self::new("RuntimeError", message)
    }

    /// Attaches free-form details (a stack, the offending input).
    #[must_use]
    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    /// The error's type name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The details, if any.
    pub fn details(&self) -> Option<&str> {
        self.details.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for Error {}

/// JSON (de)serialisation failures are almost always bad input (tags, parameters,
/// `uses_with`), so `?` on a `serde_json` result yields a `ValueError`.
impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::value_error(err.to_string())
    }
}

impl From<Error> for crate::wit::ExecutorError {
    fn from(err: Error) -> Self {
        Self {
            name: err.name,
            message: err.message,
            details: err.details,
        }
    }
}

impl From<crate::wit::ExecutorError> for Error {
    fn from(err: crate::wit::ExecutorError) -> Self {
        Self {
            name: err.name,
            message: err.message,
            details: err.details,
        }
    }
}
