//! Jina's `env_from_secret`: environment variables whose values are kept in secrets,
//! `{VAR: {name: SECRET, key: KEY}}` on an executor.
//!
//! The flow only names them. `flowhost export kubernetes` turns each into a `secretKeyRef`;
//! `flowhost run` reads the value where a pod (or a person) puts it.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::spec::ExecutorSpec;

/// Where one variable's value is kept: key `key` of secret `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// The secret's name (Kubernetes `secretKeyRef.name`).
    pub name: String,
    /// The key inside it (`secretKeyRef.key`).
    pub key: String,
}

/// An `env_from_secret` entry that is not `{name: SECRET, key: KEY}` with strings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "executor `{executor}`: env_from_secret `{var}` must be {{name: SECRET, key: KEY}} with strings"
)]
pub struct BadSecretRef {
    /// The executor's name.
    pub executor: String,
    /// The variable whose entry is malformed.
    pub var: String,
}

impl ExecutorSpec {
    /// The executor's `env_from_secret`, by variable (empty when it has none).
    pub fn env_from_secret(&self) -> Result<BTreeMap<String, SecretRef>, BadSecretRef> {
        let Some(Value::Object(map)) = self.extra.get("env_from_secret") else {
            return Ok(BTreeMap::new());
        };
        map.iter()
            .map(|(var, source)| {
                let text =
                    |field: &str| source.get(field).and_then(Value::as_str).map(str::to_owned);
                match (text("name"), text("key")) {
                    (Some(name), Some(key)) => Ok((var.clone(), SecretRef { name, key })),
                    _ => Err(BadSecretRef {
                        executor: self.name.clone(),
                        var: var.clone(),
                    }),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Flow, LoadOptions};

    fn executor(yaml: &str) -> ExecutorSpec {
        let flow = Flow::from_yaml_str(yaml, "flow.yml", &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        flow.executors[0].clone()
    }

    #[test]
    fn entries_are_read_by_variable() {
        let spec = executor(
            "jtype: Flow\nexecutors:\n- name: a\n  env_from_secret:\n    TOKEN: {name: api, key: token}\n",
        );
        let secrets = spec.env_from_secret().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            secrets.get("TOKEN"),
            Some(&SecretRef {
                name: "api".into(),
                key: "token".into()
            })
        );
        assert!(
            executor("jtype: Flow\nexecutors:\n- name: a\n")
                .env_from_secret()
                .is_ok_and(|s| s.is_empty())
        );
    }

    #[test]
    fn a_malformed_entry_names_the_executor_and_variable() {
        let spec = executor(
            "jtype: Flow\nexecutors:\n- name: a\n  env_from_secret:\n    TOKEN: {name: api}\n",
        );
        let error = spec.env_from_secret().err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "executor `a`: env_from_secret `TOKEN` must be {name: SECRET, key: KEY} with strings"
            )
        );
    }
}
