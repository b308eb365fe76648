//! Values of `env_from_secret` variables under `flowhost run`: a file `DIR/SECRET/KEY` when
//! a secrets folder is given (Kubernetes mounts a secret as a folder of one file per key),
//! else the variable in flowhost's own environment (what the exported Kubernetes and compose
//! files set: `secretKeyRef`, or the variable passed on from `docker compose`'s shell).

use std::path::Path;

use flowhost_flow::ExecutorSpec;

use super::DeployError;

/// A secret value is a token or a key, not a document: this bounds what a stray mount can
/// make the host read into every instance's environment.
const MAX_SECRET_BYTES: u64 = 64 << 10;

/// Each `env_from_secret` variable of `spec` with its value.
pub(super) fn read(
    spec: &ExecutorSpec,
    dir: Option<&Path>,
) -> Result<Vec<(String, String)>, DeployError> {
    let mut values = Vec::new();
    for (var, secret) in spec.env_from_secret()? {
        let fail = |why: String| DeployError::Secret {
            executor: spec.name.clone(),
            var: var.clone(),
            secret: secret.name.clone(),
            key: secret.key.clone(),
            why,
        };
        let file = dir.map(|dir| dir.join(&secret.name).join(&secret.key));
        let value = match &file {
            Some(file) if file.exists() => read_file(file).map_err(fail)?,
            _ => match std::env::var(&var) {
                Ok(value) => value,
                Err(_) => {
                    let looked = match &file {
                        Some(file) => format!("no file {} and ", file.display()),
                        None => String::new(),
                    };
                    return Err(fail(format!(
                        "{looked}no `{var}` in flowhost's environment (set it, or pass --secrets-dir with SECRET/KEY files)"
                    )));
                }
            },
        };
        values.push((var, value));
    }
    Ok(values)
}

fn read_file(file: &Path) -> Result<String, String> {
    let why = |error: std::io::Error| format!("cannot read {}: {error}", file.display());
    let size = std::fs::metadata(file).map_err(why)?.len();
    if size > MAX_SECRET_BYTES {
        return Err(format!(
            "{} is {size} bytes, more than a secret may be ({MAX_SECRET_BYTES})",
            file.display()
        ));
    }
    let text = std::fs::read_to_string(file).map_err(why)?;
    // Files written by hand (or `echo`) end with a newline the value does not have;
    // Kubernetes writes the bytes as given.
    Ok(text.strip_suffix('\n').unwrap_or(&text).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowhost_flow::{Flow, LoadOptions};

    fn spec(yaml: &str) -> ExecutorSpec {
        let flow = Flow::from_yaml_str(yaml, "flow.yml", &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        flow.executors[0].clone()
    }

    const FLOW: &str = "jtype: Flow\nexecutors:\n- name: a\n  env_from_secret:\n    FLOWHOST_TEST_SECRET_UNSET_VAR: {name: api, key: token}\n";

    #[test]
    fn a_secret_file_gives_the_value_without_its_trailing_newline() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir(dir.path().join("api")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("api/token"), "s3cret\n").unwrap_or_else(|e| panic!("{e}"));
        let values = read(&spec(FLOW), Some(dir.path())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            values,
            vec![(
                "FLOWHOST_TEST_SECRET_UNSET_VAR".to_owned(),
                "s3cret".to_owned()
            )]
        );
    }

    #[test]
    fn a_missing_secret_names_the_executor_variable_and_places_looked() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let error = read(&spec(FLOW), Some(dir.path()))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("executor `a`: env_from_secret `FLOWHOST_TEST_SECRET_UNSET_VAR` (key `token` of secret `api`) has no value: no file "), "{error}");
        assert!(error.contains("api/token"), "{error}");
    }

    #[test]
    fn an_oversized_secret_file_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir(dir.path().join("api")).unwrap_or_else(|e| panic!("{e}"));
        let big = vec![b'x'; (MAX_SECRET_BYTES + 1) as usize];
        std::fs::write(dir.path().join("api/token"), big).unwrap_or_else(|e| panic!("{e}"));
        let error = read(&spec(FLOW), Some(dir.path()))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("more than a secret may be"), "{error}");
    }
}
