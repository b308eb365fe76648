//! `uses` values that only Jina's Python runtime can honour, refused at load time with what
//! to write instead (rather than at deploy time as a file that is not found or a scheme that
//! is not known), and Jina's built-in pass-through.

use serde_norway::Value;

use super::reader::{At, Reader};
use crate::error::FlowError;
use crate::locate::Target;

/// What a user building a Python executor for flowhost runs.
const PYTHON_SDK: &str = "build it with the Python SDK (`flowhost new executor NAME --lang python`, then `flowhost build`)";

/// What `uses` takes in flowhost.
const REFERENCES: &str =
    "a .wasm path, an executor config .yml, `hub://NAME`, `docker://IMAGE` or `oci://REF`";

/// Jina's executor base class: with no `@requests` it passes documents through, which is what
/// a flowhost executor without `uses` does.
pub(crate) const PASS_THROUGH: &str = "BaseExecutor";

/// Why an inline config cannot be run.
fn inline_message() -> String {
    format!(
        "an inline executor config (`jtype`, `with`, `metas`, `py_modules`) describes a Python \
         class, and flowhost needs a component reference: {REFERENCES}. For a Python class, \
         {PYTHON_SDK}, and put its `with:` under `uses_with`"
    )
}

/// Why `uses` (as written) names something only Jina can run, or `None` when it may be a
/// component reference.
pub(crate) fn python_only(uses: &str) -> Option<String> {
    let uses = uses.trim();
    if let Some((scheme, _)) = uses.split_once("://")
        && scheme.to_ascii_lowercase().starts_with("jinahub")
    {
        return Some(format!(
            "`{scheme}://` is a Jina Hub executor, a Python one, which flowhost cannot run: \
             {PYTHON_SDK} and use the .wasm, or name a flowhost component with `hub://NAME` \
             or `docker://IMAGE`"
        ));
    }
    if uses.starts_with('!') || uses.starts_with("jtype:") {
        return Some(inline_message());
    }
    if is_class_name(uses) {
        return Some(format!(
            "`{uses}` is a Python class name, and flowhost runs WebAssembly components: \
             {PYTHON_SDK}, then write `uses:` as {REFERENCES}"
        ));
    }
    None
}

/// A Python class name as Jina's `uses` takes one: an identifier starting with a capital
/// (Jina's executors are CamelCase classes). A component path has a `.wasm` extension or a
/// folder, so it never looks like this; the pass-through is Jina's own class.
fn is_class_name(uses: &str) -> bool {
    let mut chars = uses.chars();
    uses != PASS_THROUGH
        && chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Reader<'_> {
    /// An executor's `uses`, `uses_before` or `uses_after`: a component reference, `None` for
    /// none or for Jina's pass-through, and an error naming what to write for what only Jina
    /// runs.
    pub(crate) fn uses(
        &self,
        at: &At<'_>,
        key: &str,
        v: &Value,
    ) -> Result<Option<String>, FlowError> {
        if let Value::Mapping(_) | Value::Tagged(_) = v {
            return Err(self.refuse(at, key, Target::Value, format!("`{key}`"), inline_message()));
        }
        let Some(uses) = self.opt_string(at, key, v)? else {
            return Ok(None);
        };
        if let Some(message) = python_only(&uses) {
            return Err(self.refuse(
                at,
                key,
                Target::Value,
                format!("`{key}: {}`", uses.trim()),
                message,
            ));
        }
        Ok((uses.trim() != PASS_THROUGH).then_some(uses))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_python_only_references() {
        assert!(python_only("jinahub://Encoder").is_some());
        assert!(python_only("jinahub+docker://Encoder/v1").is_some());
        assert!(python_only("MyExecutor").is_some());
        assert!(python_only("!MyExecutor").is_some());
        assert!(python_only("jtype: MyExecutor").is_some());
        for ok in [
            "BaseExecutor",
            "encoder.wasm",
            "./Encoder",
            "Encoder.wasm",
            "enc.yml",
            "hub://encoder:1",
            "docker://acme/enc",
            "oci://localhost:5000/a/b:1",
            "encoder",
        ] {
            assert_eq!(python_only(ok), None, "{ok}");
        }
    }
}
