//! The regular expressions of the CRD: OpenAPI `pattern`s (the constants of `booster_api`) and the patterns of the
//! CEL `matches()` rules V-41, V-44 and V-45, compiled once. Go's RE2 and the `regex` crate agree on every
//! construct used here (anchors, classes, alternation, `.` not matching a newline).

use std::sync::LazyLock;

use booster_api::autoscaling::DURATION_PATTERN;
use booster_api::model_booster::{CACHE_URI_PATTERN, NAME_PATTERN, QUANTITY_PATTERN, SOURCE_URI_PATTERN};
use regex::Regex;

/// V-41: the regex of `self.matches(…)` (the CEL string literal with its `\\` unescaped).
pub(crate) const CACHE_URI_FORM: &str =
    r"^(pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*|hostpath:///[^/]+(/[^/]+)*/?)$";
/// V-44: a cache root that is a system directory.
pub(crate) const SYSTEM_DIRECTORY: &str =
    r"^(pvc://|hostpath:///)(bin|boot|dev|etc|lib|lib64|proc|root|run|sbin|sys|usr|var)/?$";
/// V-45: a `.` or `..` path segment in a host path.
pub(crate) const DOT_SEGMENT: &str = r"^hostpath://.*/\.\.?(/|$)";

/// A compiled pattern and its source text (the text goes into `should match '…'`).
pub(crate) struct Pattern {
    pub(crate) source: &'static str,
    regex: Regex,
}

impl Pattern {
    fn new(source: &'static str) -> Self {
        // The sources are constants of this crate and of booster-api, covered by tests: never user data.
        let regex = Regex::new(source).unwrap_or_else(|e| panic!("invalid built-in pattern {source}: {e}"));
        Self { source, regex }
    }

    /// Whether the pattern matches somewhere in `s` (Go's `MatchString`, CEL's `matches`).
    pub(crate) fn matches(&self, s: &str) -> bool {
        self.regex.is_match(s)
    }
}

pub(crate) static NAME: LazyLock<Pattern> = LazyLock::new(|| Pattern::new(NAME_PATTERN));
pub(crate) static SOURCE_URI: LazyLock<Pattern> = LazyLock::new(|| Pattern::new(SOURCE_URI_PATTERN));
pub(crate) static CACHE_URI: LazyLock<Pattern> = LazyLock::new(|| Pattern::new(CACHE_URI_PATTERN));
pub(crate) static QUANTITY: LazyLock<Pattern> = LazyLock::new(|| Pattern::new(QUANTITY_PATTERN));
pub(crate) static DURATION: LazyLock<Pattern> = LazyLock::new(|| Pattern::new(DURATION_PATTERN));
pub(crate) static CACHE_URI_FORM_RE: LazyLock<Pattern> = LazyLock::new(|| Pattern::new(CACHE_URI_FORM));
pub(crate) static SYSTEM_DIRECTORY_RE: LazyLock<Pattern> = LazyLock::new(|| Pattern::new(SYSTEM_DIRECTORY));
pub(crate) static DOT_SEGMENT_RE: LazyLock<Pattern> = LazyLock::new(|| Pattern::new(DOT_SEGMENT));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_patterns_compile() {
        for p in [
            &NAME,
            &SOURCE_URI,
            &CACHE_URI,
            &QUANTITY,
            &DURATION,
            &CACHE_URI_FORM_RE,
            &SYSTEM_DIRECTORY_RE,
            &DOT_SEGMENT_RE,
        ] {
            assert!(!p.source.is_empty());
            let _ = p.matches("");
        }
    }

    /// The CEL rules in booster-api carry the same regexes, written as CEL string literals (`\\` for `\`).
    #[test]
    fn cel_rules_use_the_same_regexes() {
        let crd = serde_json::to_string(&booster_api::crds::model_booster()).unwrap_or_default();
        for source in [CACHE_URI_FORM, SYSTEM_DIRECTORY, DOT_SEGMENT] {
            let cel_literal = source.replace('\\', "\\\\");
            // serde_json escapes each `\` once more.
            let in_json = cel_literal.replace('\\', "\\\\");
            assert!(crd.contains(&in_json), "CRD lacks {source}");
        }
    }
}
