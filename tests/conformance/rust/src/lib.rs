//! The conformance executor of `tests/conformance/README.md`, written with the Rust SDK:
//! the reference the other languages' conformance executors are held to.

use flowhost_guest::serde_json::{Map, Value, json};
use flowhost_guest::{
    DType, Document, DocumentArray, Error, Executor, Metas, Reply, Request, Result, Tensor,
};

/// Keeps `uses_with` whole: `params` echoes it, unknown keys included.
pub struct Conformance {
    uses_with: Map<String, Value>,
    label: String,
    metas: Metas,
}

impl Executor for Conformance {
    type Config = Map<String, Value>;

    fn new(uses_with: Map<String, Value>, metas: &Metas) -> Result<Self> {
        let label = match uses_with.get("label") {
            None => "conformance".to_owned(),
            Some(Value::String(label)) => label.clone(),
            Some(other) => {
                return Err(Error::value_error(format!(
                    "label must be a string, got {other}"
                )));
            }
        };
        Ok(Self {
            uses_with,
            label,
            metas: metas.clone(),
        })
    }
}

fn mutate_tree(doc: &mut Document, label: &str) -> Result<()> {
    if let Some(text) = &mut doc.text {
        text.push('!');
    }
    doc.set_tag("label", label);
    if let Some(embedding) = &doc.embedding
        && embedding.dtype() == DType::Float32
    {
        let doubled: Vec<f32> = embedding.iter::<f32>()?.map(|x| x * 2.0).collect();
        doc.embedding = Some(Tensor::from_f32(&doubled, embedding.shape())?);
    }
    for child in doc.chunks.iter_mut().chain(doc.matches.iter_mut()) {
        mutate_tree(child, label)?;
    }
    Ok(())
}

impl Conformance {
    fn unchanged(&mut self, _docs: &DocumentArray, _req: &Request) -> Result<()> {
        Ok(())
    }

    fn roundtrip(&mut self, docs: DocumentArray, _req: &Request) -> Result<Reply> {
        Ok(Reply::Docs(docs))
    }

    fn mutate(&mut self, docs: &mut DocumentArray, _req: &Request) -> Result<()> {
        for doc in docs.iter_mut() {
            mutate_tree(doc, &self.label)?;
        }
        docs.push(Document::from_text(format!("added by {}", self.label)));
        Ok(())
    }

    fn params(&mut self, _docs: DocumentArray, req: &Request) -> Result<Reply> {
        let metas = &self.metas;
        let tags = json!({
            "parameters": req.parameters(),
            "uses_with": self.uses_with,
            "metas": {
                "name": metas.name,
                "description": metas.description,
                "workspace": metas.workspace,
                "replica_id": metas.replica_id,
                "shard_id": metas.shard_id,
                "shards": metas.shards,
                "replicas": metas.replicas,
            },
        });
        let mut doc = Document::new();
        if let Value::Object(tags) = tags {
            doc.set_tags(tags);
        }
        Ok(Reply::Docs(DocumentArray::from(vec![doc])))
    }

    fn fail(&mut self, docs: &DocumentArray, _req: &Request) -> Result<()> {
        Err(
            Error::value_error(format!("conformance failure: {} documents", docs.len()))
                .with_details(format!("raised at {}:{}", file!(), line!())),
        )
    }

    fn log(&mut self, _docs: &DocumentArray, _req: &Request) -> Result<()> {
        flowhost_guest::info!("conformance log info");
        flowhost_guest::warn!("conformance log warn");
        println!("conformance stdout");
        Ok(())
    }

    fn workspace(&mut self, _docs: DocumentArray, req: &Request) -> Result<Reply> {
        let Some(workspace) = &self.metas.workspace else {
            return Err(Error::new("NoWorkspace", "no workspace was granted"));
        };
        let content: String = req.param_or("content", String::new())?;
        let path = format!("{workspace}/conformance.txt");
        let io = |e: std::io::Error| Error::new("OSError", format!("{path}: {e}"));
        std::fs::write(&path, &content).map_err(io)?;
        let read = std::fs::read_to_string(&path).map_err(io)?;
        Ok(Reply::Docs(DocumentArray::from(vec![Document::from_text(
            read,
        )])))
    }

    fn other(&mut self, docs: &mut DocumentArray, req: &Request) -> Result<()> {
        for doc in docs.iter_mut() {
            doc.set_tag("endpoint", req.endpoint());
        }
        Ok(())
    }
}

flowhost_guest::export_executor!(Conformance {
    unchanged => "/unchanged",
    roundtrip => "/roundtrip",
    mutate => "/mutate",
    params => "/params",
    fail => "/fail",
    log => "/log",
    workspace => "/workspace",
    other => *,
});
