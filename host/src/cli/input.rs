//! Documents given on the command line: `--text` values, or a file of Jina
//! JSON documents (one JSON list, or one object per line).

use std::path::Path;

use anyhow::Context as _;
use serde_json::Value;

use flowhost_docs as docs;

pub fn read_docs(texts: &[String], file: Option<&Path>) -> anyhow::Result<docs::DocumentBatch> {
    let Some(path) = file else {
        let texts = texts.iter().map(|text| {
            let mut doc = docs::document(docs::new_id());
            doc.text = Some(text.clone());
            doc
        });
        return Ok(docs::batch_of(texts));
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read documents from {}", path.display()))?;
    let values: Vec<Value> = match serde_json::from_str(&text) {
        Ok(Value::Array(list)) => list,
        _ => text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(n, line)| {
                serde_json::from_str(line)
                    .with_context(|| format!("{}:{}: not a JSON document", path.display(), n + 1))
            })
            .collect::<anyhow::Result<_>>()?,
    };
    flowhost_wire::json::documents::batch_from_json(&values)
        .with_context(|| format!("in {}", path.display()))
}
