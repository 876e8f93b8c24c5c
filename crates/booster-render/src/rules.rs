//! Numbered rule violations, so checks shared by `render` and `validate` can be ordered by rule number.

use crate::validate::FieldError;

/// A violation of rule R-`rule` (spec §3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// The R-rule number.
    pub rule: u8,
    /// Where and what.
    pub error: FieldError,
}

impl RuleError {
    /// A violation of R-`rule` at `path`.
    pub fn new(rule: u8, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { rule, error: FieldError::new(path, message) }
    }
}
