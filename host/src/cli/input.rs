//! Documents given on the command line: `--text` values, or a file of Jina
//! JSON documents (one JSON list, or one object per line).

use std::path::Path;

use anyhow::Context as _;
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
    let text = std::fs::read(path)
        .with_context(|| format!("cannot read documents from {}", path.display()))?;
    let is_list = text.trim_ascii_start().starts_with(b"[");
    if is_list {
        return flowhost_wire::json::documents::batch_from_slice(&text)
            .with_context(|| format!("{}: not a JSON list of documents", path.display()));
    }
    let mut batch = docs::empty_batch();
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.trim_ascii().is_empty() {
            continue;
        }
        flowhost_wire::json::documents::push_document_from_slice(&mut batch, line)
            .with_context(|| format!("{}:{}: not a JSON document", path.display(), n + 1))?;
    }
    Ok(batch)
}
