//! `Indexer`: a stateful in-memory vector index.
//!
//! * `/index` (`index`): stores every document, which must have an embedding,
//!   and leaves the request's documents unchanged.
//! * `/search` (`search`): for each query document, ranks every stored document
//!   by cosine similarity of the embeddings and attaches the best
//!   `parameters.limit` (default 10) as `matches`, best first, each a copy of the
//!   stored document with `scores["cosine"]`.
//! * anything else (`other`, the catch-all): unchanged.

use flowhost_guest::{
    Document, DocumentArray, Error, Executor, Metas, NamedScore, NoConfig, Request, Result,
};

/// One stored document with its embedding decoded once, at index time.
struct Entry {
    doc: Document,
    vector: Vec<f32>,
    norm: f32,
}

/// The index: documents in insertion order.
pub struct Indexer {
    entries: Vec<Entry>,
}

impl Executor for Indexer {
    type Config = NoConfig;

    fn new(_config: NoConfig, _metas: &Metas) -> Result<Self> {
        Ok(Self {
            entries: Vec::new(),
        })
    }
}

/// The embedding of `doc` as `f32`s, or a `ValueError` naming the document.
fn embedding(doc: &Document, role: &str) -> Result<Vec<f32>> {
    match &doc.embedding {
        Some(tensor) => Ok(tensor.cast_f32_vec()),
        None => Err(Error::value_error(format!(
            "{role} document {:?} has no embedding",
            doc.id
        ))),
    }
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

impl Indexer {
    /// `/index`: stores the documents; checks them all before storing any.
    fn index(&mut self, docs: &DocumentArray, _req: &Request) -> Result<()> {
        let vectors = docs
            .iter()
            .map(|doc| embedding(doc, "indexed"))
            .collect::<Result<Vec<_>>>()?;
        for (doc, vector) in docs.iter().zip(vectors) {
            let norm = norm(&vector);
            self.entries.push(Entry {
                doc: doc.clone(),
                vector,
                norm,
            });
        }
        flowhost_guest::info!("indexer holds {} documents", self.entries.len());
        Ok(())
    }

    /// `/search`: attaches the best matches to each query.
    fn search(&mut self, docs: &mut DocumentArray, req: &Request) -> Result<()> {
        let limit: usize = req.param_or("limit", 10)?;
        flowhost_guest::info!(
            "searching {} queries against {} documents",
            docs.len(),
            self.entries.len()
        );
        for query in docs.iter_mut() {
            let q = embedding(query, "query")?;
            let q_norm = norm(&q);
            let mut ranked = Vec::with_capacity(self.entries.len());
            for (i, entry) in self.entries.iter().enumerate() {
                if entry.vector.len() != q.len() {
                    return Err(Error::value_error(format!(
                        "query document {:?} has {} dimensions but stored document {:?} has {}",
                        query.id,
                        q.len(),
                        entry.doc.id,
                        entry.vector.len()
                    )));
                }
                let dot: f32 = q.iter().zip(&entry.vector).map(|(a, b)| a * b).sum();
                let denom = q_norm * entry.norm;
                let similarity = if denom > 0.0 { dot / denom } else { 0.0 };
                ranked.push((similarity, i));
            }
            // Best first; ties keep insertion order (the sort is stable).
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
            for (similarity, i) in ranked.into_iter().take(limit) {
                let mut m = self.entries[i].doc.clone();
                m.scores.insert(
                    "cosine".to_owned(),
                    NamedScore::new(f64::from(similarity)).with_op_name("cosine"),
                );
                query.add_match(m);
            }
        }
        Ok(())
    }

    /// Any other endpoint: nothing to do.
    fn other(&mut self, _docs: &DocumentArray, _req: &Request) -> Result<()> {
        Ok(())
    }
}

flowhost_guest::export_executor!(Indexer {
    index => "/index",
    search => "/search",
    other => *,
});
