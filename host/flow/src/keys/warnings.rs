//! A warning for a key that loads but does nothing: where it is, and why it does nothing.
//!
//! The library collects these and never logs them: the caller (the CLI) decides whether to
//! print them or, in strict mode, to refuse the flow ([`crate::FlowError::Strict`]).

use std::fmt;

use crate::error::{Ctx, Pos};

/// One occurrence of a key whose status is [`Status::Ignored`](super::Status::Ignored).
///
/// Displays as `flow.yml:7:5: executor `a`: `gpus` has no effect in flowhost: <reason>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyWarning {
    /// Where the key is written (file, line and column).
    pub at: Pos,
    /// The section it is in (`with`, an executor, ...).
    pub ctx: Ctx,
    /// The key as written.
    pub key: String,
    /// Why it has no effect (the table's reason).
    pub reason: &'static str,
}

impl fmt::Display for KeyWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}`{}` has no effect in flowhost: {}",
            self.at, self.ctx, self.key, self.reason
        )
    }
}
