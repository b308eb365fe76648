//! The keys a flow file may use ([`table`]), the warnings for the ones that do nothing
//! ([`warnings`]), their documentation page ([`doc`]), and "did you mean" suggestions for the
//! keys no one knows.
//!
//! Every key Jina 3.34 knows in a place is either read (typed fields of `spec.rs`), kept as
//! written in an `extra` map so that a Jina flow still loads and saves back, or refused with
//! what to write instead; the table says which, and why. Anything else is an error, with the
//! closest known key as a suggestion.

mod doc;
mod table;
mod warnings;

pub use doc::keys_markdown;
pub use table::{KEYS, KeyInfo, Level, Status};
pub use warnings::KeyWarning;

/// The table's entry for `key` at `level`.
pub fn key_info(level: Level, key: &str) -> Option<&'static KeyInfo> {
    KEYS.iter().find(|k| k.level == level && k.key == key)
}

/// Every key known at `level`, for suggestions.
pub(crate) fn names(level: Level) -> impl Iterator<Item = &'static str> {
    KEYS.iter().filter(move |k| k.level == level).map(|k| k.key)
}

/// Whether a Jina key kept from the flow's `with:` reaches executors: Jina passes flow
/// arguments on to every executor, and flowhost keeps those an executor entry also keeps.
pub(crate) fn kept_by_executors(key: &str) -> bool {
    key_info(Level::Executor, key).is_some_and(|k| k.kept)
}

/// The known key closest to `unknown`, if it is close enough to be a likely typo.
///
/// Uses the optimal-string-alignment distance on lower-cased keys (so `Replicas` and
/// `replica` both find `replicas`), accepting up to a third of the key's length.
pub fn did_you_mean<'a>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = unknown.to_ascii_lowercase();
    let limit = (lower.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(&lower, &c.to_ascii_lowercase()), c))
        // A suggestion that replaces every character is no suggestion.
        .filter(|(d, _)| *d <= limit && *d < lower.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let executor = || names(Level::Executor);
        assert_eq!(
            did_you_mean("replica", executor()).as_deref(),
            Some("replicas")
        );
        assert_eq!(did_you_mean("Needs", executor()).as_deref(), Some("needs"));
        assert_eq!(
            did_you_mean("uses_width", executor()).as_deref(),
            Some("uses_with")
        );
        assert_eq!(did_you_mean("zzzzzz", executor()), None);
    }

    #[test]
    fn every_key_is_listed_once_per_level() {
        for (i, a) in KEYS.iter().enumerate() {
            assert!(
                !KEYS[..i]
                    .iter()
                    .any(|b| b.level == a.level && b.key == a.key),
                "`{}` is listed twice at {:?}",
                a.key,
                a.level
            );
        }
    }

    #[test]
    fn every_status_but_implemented_says_why() {
        for k in KEYS {
            let note = k.status.note();
            match k.status {
                Status::Implemented => assert!(note.is_empty()),
                _ => assert!(note.len() > 20, "`{}`: say why ({note})", k.key),
            }
            assert!(!k.meaning.is_empty(), "`{}` has no meaning", k.key);
        }
    }
}
