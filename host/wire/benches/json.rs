//! Reading and writing Jina's JSON documents, against serde_json's own floor on the same
//! text (parsing it into a `Value` tree, which the reader used to start from).
//!
//! `cargo bench -p flowhost-wire --bench json`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

use flowhost_wire::json::documents::{JsonBatch, JsonDocuments, batch_from_slice, batch_to_json};

/// `docs` documents with a text, tags and a `dim`-float embedding each, as a client sends them.
fn body(docs: usize, dim: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    let data: Vec<Value> = (0..docs)
        .map(|i| {
            let embedding: Vec<f32> = (0..dim).map(|_| next()).collect();
            json!({"id": format!("d{i}"), "text": "hello", "tags": {"n": i}, "embedding": embedding})
        })
        .collect();
    serde_json::to_vec(&data).unwrap_or_default()
}

fn documents(c: &mut Criterion) {
    let text = body(100, 512);
    let mut group = c.benchmark_group("json documents, 100 x 512 floats");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("floor: serde_json Value tree", |b| {
        b.iter(|| serde_json::from_slice::<Value>(&text).map(|v| v.is_array()))
    });
    group.bench_function("read (batch_from_slice)", |b| {
        b.iter(|| batch_from_slice(&text).map(|batch| batch.nodes.len()))
    });
    // What reading costs with serde_path_to_error on: the reader only does this again after
    // a refusal, to name the value at fault.
    group.bench_function("read with every path tracked", |b| {
        b.iter(|| {
            let mut de = serde_json::Deserializer::from_slice(&text);
            serde_path_to_error::deserialize::<_, JsonDocuments>(&mut de).map(|d| d.0.nodes.len())
        })
    });
    let batch = batch_from_slice(&text).unwrap_or_else(|_| flowhost_docs::empty_batch());
    group.bench_function("write (batch_to_json, then text)", |b| {
        b.iter(|| batch_to_json(&batch).to_string().len())
    });
    group.bench_function("write (JsonBatch, straight to text)", |b| {
        b.iter(|| serde_json::to_vec(&JsonBatch::new(&batch)).map(|text| text.len()))
    });
    group.finish();
}

criterion_group!(benches, documents);
criterion_main!(benches);
