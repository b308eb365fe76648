//! The bodies of flowhost's fuzz targets, written once and used twice: by the cargo-fuzz
//! crate in `tests/fuzz` (one `fuzz_target!` per function) and by `tests/all/fuzz_corpus.rs`,
//! which replays the committed corpus and every crash found so far as ordinary tests.
//!
//! Each function takes arbitrary bytes and must return without panicking: errors are the
//! expected answer to bad input, a panic (or a stack overflow) is a bug. Where an invariant is
//! cheap to state (a loaded flow saves and loads back equal, a valid batch stays valid), the
//! function asserts it, so the fuzzer finds wrong answers as well as crashes.
//!
//! Run them with `bash scripts/fuzz.sh` (see there).

use flowhost_docs::when::Filter;
use flowhost_docs::{self as docs, Document, DocumentBatch, Dtype, NamedScore, Tensor};
use flowhost_flow::{Flow, LoadOptions, Vars};
use flowhost_registry::reference::{ImageRef, Uses};
use flowhost_wire::proto::jina::DataRequestProto;
use flowhost_wire::{ExceptionInfo, Response, RouteEntry, Status};
use flowhost_wire::{json, protobuf as convert};
use prost::Message as _;

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// The fuzz targets, by name: what `scripts/fuzz.sh` runs and the corpus directories hold.
pub const TARGETS: &[(&str, Target)] = &[
    ("proto_request", proto_request),
    ("http_json", http_json),
    ("flow_yaml", flow_yaml),
    ("when_query", when_query),
    ("uses_reference", uses_reference),
    ("guest_output", guest_output),
];

// ---------------------------------------------------------------------------------------------
// Requests from clients
// ---------------------------------------------------------------------------------------------

/// A gRPC request body: a `DataRequestProto` as a flow request, and back out both ways.
pub fn proto_request(data: &[u8]) {
    let Ok(message) = DataRequestProto::decode(data) else {
        return;
    };
    let _ = convert::response_from_proto(message.clone());
    let Ok(request) = convert::request_from_proto(message) else {
        return;
    };
    // The conversion builds trees, but may nest deeper than a batch may; either answer is fine.
    let _ = docs::validate(&request.docs);
    let _ = flowhost_wire::json::documents::batch_to_json(&request.docs);
    let _ = convert::request_to_proto(&request).encode_to_vec();
    let _ = convert::batch_into_proto(request.docs).len();
}

/// An HTTP `/post` body: JSON as a flow request, and the reply to it as JSON.
pub fn http_json(data: &[u8]) {
    let Ok(request) = json::request_from_slice(data, None) else {
        return;
    };
    let _ = docs::validate(&request.docs);
    let mut response = response_for(request.request_id, request.endpoint, request.docs);
    response.parameters = request.parameters;
    let _ = json::response_to_string(&response);
}

/// A reply carrying `docs`, with a route entry and an error status so every part renders.
fn response_for(request_id: String, endpoint: String, docs: DocumentBatch) -> Response {
    let failure = Status::Error(ExceptionInfo {
        name: "ValueError".into(),
        args: vec!["bad".into()],
        stacks: Vec::new(),
        executor: "fuzz".into(),
        description: "executor `fuzz` failed".into(),
    });
    Response {
        request_id,
        endpoint,
        docs,
        parameters: serde_json::Map::new(),
        routes: vec![RouteEntry {
            executor: "fuzz".into(),
            start: std::time::UNIX_EPOCH,
            end: None,
            status: failure.clone(),
        }],
        status: failure,
    }
}

// ---------------------------------------------------------------------------------------------
// Flow files and what they contain
// ---------------------------------------------------------------------------------------------

fn load_options() -> LoadOptions {
    LoadOptions {
        vars: Vars::with_env([("PORT", "12345"), ("REPLICAS", "2"), ("NAME", "fuzz")]),
    }
}

/// A flow file: if it loads, it saves, and the saved text loads back as the same flow.
pub fn flow_yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = load_options();
    let Ok(flow) = Flow::from_yaml_str(text, "fuzz.yml", &opts) else {
        return;
    };
    let _ = flow.effective_executors();
    let _ = flow.gateway_args();
    let _ = flow.topology();
    let saved = flow
        .to_yaml()
        .unwrap_or_else(|e| panic!("a loaded flow does not save: {e}\n--- loaded from:\n{text}"));
    let back = Flow::from_yaml_str(&saved, "saved.yml", &opts).unwrap_or_else(|e| {
        panic!("a saved flow does not load: {e}\n--- saved:\n{saved}\n--- loaded from:\n{text}")
    });
    assert_eq!(
        back, flow,
        "a flow does not round-trip\n--- saved:\n{saved}\n--- loaded from:\n{text}"
    );
    let again = back.to_yaml().expect("a reloaded flow saves");
    assert_eq!(again, saved, "saving a flow is not stable");
}

/// A `when` filter (JSON, as a flow file's `when:` becomes): if it parses, it evaluates on
/// every document of a small batch.
pub fn when_query(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(filter) = Filter::parse(&value) else {
        return;
    };
    let batch = when_batch();
    for doc in &batch.nodes {
        let _ = filter.matches(doc, &batch);
    }
    // What the router does with a filter: keep the roots that pass, with their subtrees.
    let kept = docs::retain_roots(batch, |doc, batch| filter.matches(doc, batch));
    assert_eq!(docs::validate(&kept), Ok(()), "retain_roots broke a batch");
}

/// Documents with every field a filter can look at.
fn when_batch() -> DocumentBatch {
    let mut root = docs::document("root");
    root.text = Some("hello world".into());
    root.tags = Some(
        r#"{"n": 3, "lang": "en", "list": [1, 2.5, "x"], "nested": {"deep": true, "k": null}}"#
            .into(),
    );
    root.scores = vec![NamedScore {
        name: "cosine".into(),
        value: 0.25,
        op_name: Some("cosine".into()),
        description: None,
        ref_id: None,
    }];
    root.evaluations = root.scores.clone();
    root.embedding = Some(Tensor {
        dtype: Dtype::Float32,
        shape: vec![2],
        data: [1.0f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
    });
    root.granularity = Some(0);
    root.weight = Some(1.5);
    root.location = vec![0.0, 1.0];
    root.chunks = vec![1, 2];
    root.matches = vec![3];
    let mut chunk = docs::document("chunk");
    chunk.text = Some("héllo".into());
    chunk.tags = Some(r#"{"n": 4.0, "lang": "de"}"#.into());
    chunk.parent_id = Some("root".into());
    chunk.blob = Some(b"\x00\xff".to_vec());
    let mut tensor = docs::document("tensor");
    tensor.tensor = Some(Tensor {
        dtype: Dtype::Float16,
        shape: vec![],
        data: vec![0x00, 0x3c],
    });
    tensor.tags = Some("not json".into());
    let mut matched = docs::document("match");
    matched.uri = Some("https://example.invalid/x".into());
    matched.mime_type = Some("text/plain".into());
    matched.modality = Some("text".into());
    matched.offset = Some(-1.0);
    matched.adjacency = Some(1);
    let mut other = docs::document("");
    other.tags = Some(r#"{"n": "3", "list": []}"#.into());
    DocumentBatch {
        nodes: vec![root, chunk, tensor, matched, other],
        roots: vec![0, 4],
    }
}

/// An executor's `uses:` value; a registry reference, once parsed, prints as one that parses
/// back to the same image.
pub fn uses_reference(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(image) = ImageRef::parse_oci(text) {
        let _ = image.tag_or_default();
        let _ = image.to_string();
    }
    let _ = flowhost_registry::docker_name::normalize(text);
    let Ok(uses) = Uses::parse(text) else {
        return;
    };
    let printed = uses.to_string();
    let same_image = |a: &ImageRef, b: &ImageRef| {
        a.registry == b.registry
            && a.repository == b.repository
            && a.digest == b.digest
            && a.tag_or_default() == b.tag_or_default()
    };
    let reparsed = || {
        Uses::parse(&printed).unwrap_or_else(|e| {
            panic!("`{text}` parses, but its printed form `{printed}` does not: {e}")
        })
    };
    let round_trips = match &uses {
        Uses::Path(_) | Uses::ExecutorYaml(_) => true,
        Uses::Oci(image) => matches!(reparsed(), Uses::Oci(back) if same_image(image, &back)),
        Uses::Docker(image) => {
            matches!(reparsed(), Uses::Docker(back) if same_image(image, &back))
        }
        Uses::Hub(hub) => matches!(reparsed(), Uses::Hub(back) if back == *hub),
    };
    assert!(
        round_trips,
        "`{text}` parses as {uses:?}, but `{printed}` parses as {:?}",
        Uses::parse(&printed)
    );
}

// ---------------------------------------------------------------------------------------------
// What a guest returns
// ---------------------------------------------------------------------------------------------

/// A batch an executor returned, decoded from the bytes by [`decode_batch`]: whatever
/// `docs::validate` accepts must render as protobuf and JSON, and survive the router's
/// filtering and merging, without panicking or overflowing the stack.
pub fn guest_output(data: &[u8]) {
    let batch = decode_batch(data);
    if docs::validate(&batch).is_err() {
        return;
    }
    let _ = flowhost_wire::json::documents::batch_to_json(&batch).to_string();
    let response = response_for("fuzz".into(), "/".into(), batch.clone());
    let _ = json::response_to_string(&response);
    let _ = convert::response_to_proto(response).encode_to_vec();

    // The router keeps the roots a `when` filter passes and merges the outputs of parallel
    // branches: both must leave a valid batch valid.
    let mut flip = false;
    let kept = docs::retain_roots(batch.clone(), |_, _| {
        flip = !flip;
        flip
    });
    assert_eq!(docs::validate(&kept), Ok(()), "retain_roots broke a batch");
    let merged = flowhost_docs::merge::reduce([batch.clone(), kept]);
    assert_eq!(docs::validate(&merged), Ok(()), "reduce broke a batch");
    let _ = convert::batch_into_proto(batch).len();
}

/// Reads bytes one field at a time; past the end every read is zero, so any input decodes.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn u32(&mut self) -> u32 {
        u32::from(self.u16()) | (u32::from(self.u16()) << 16)
    }

    fn f64(&mut self) -> f64 {
        f64::from_bits(u64::from(self.u32()) | (u64::from(self.u32()) << 32))
    }

    /// Up to `len` bytes (fewer at the end of the input).
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let (taken, rest) = self.0.split_at(len.min(self.0.len()));
        self.0 = rest;
        taken.to_vec()
    }

    /// A short string: a length byte (below `max`), then that many bytes, lossily UTF-8.
    fn text(&mut self, max: u8) -> String {
        let len = self.byte() % max;
        String::from_utf8_lossy(&self.bytes(len.into())).into_owned()
    }

    /// A node index for a batch of `len` nodes: mostly in range, sometimes just past the end,
    /// sometimes near `u32::MAX`.
    fn index(&mut self, len: usize) -> u32 {
        let v = self.u16();
        let low = u32::from(v & 0x3fff);
        match v >> 14 {
            0 | 1 => u32::try_from(usize::from(v & 0x7fff) % len.max(1)).unwrap_or(u32::MAX),
            2 => u32::try_from(len).unwrap_or(u32::MAX).saturating_add(low),
            _ => u32::MAX - low,
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The most data bytes a decoded tensor gets (more would only slow the fuzzer down).
const MAX_TENSOR_BYTES: usize = 4096;

/// Decodes a batch from fuzzer bytes. Deterministic, total, and shaped to reach the cases
/// `docs::validate` must catch:
///
/// - byte 0, the shape: `& 3` picks an explicit graph of at most 16 nodes (0), a chain of
///   up to 600 nodes linked by chunks or matches as the next bytes' bits say (1), a tree of up
///   to 600 nodes with a fan-out of 1 to 4 (2), or up to 600 roots (3);
/// - explicit graphs: per node, a byte of chunk and match counts and a `u16` per index
///   ([`Input::index`]: in range, just out of range, or near `u32::MAX`), then the roots;
/// - then up to 3 edits (add a chunk, match or root, drop the last root, clear a node's
///   children, replace the first root), which make shared nodes, cycles and orphans;
/// - then each node's fields while bytes remain: a flag byte says which follow, tensors with
///   any dtype, up to 127 dimensions, huge or small sizes, and data that fits or does not.
pub fn decode_batch(data: &[u8]) -> DocumentBatch {
    let mut input = Input(data);
    let shape = input.byte();
    let len = match shape & 3 {
        0 => usize::from(input.byte() % 17),
        _ => usize::from(input.u16()) % 600 + 1,
    };
    let mut nodes: Vec<Document> = (0..len).map(|i| docs::document(format!("d{i}"))).collect();
    let mut roots = Vec::new();
    let as_index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    match shape & 3 {
        0 => {
            for node in &mut nodes {
                let counts = input.byte();
                for _ in 0..counts & 7 {
                    node.chunks.push(input.index(len));
                }
                for _ in 0..(counts >> 3) & 7 {
                    node.matches.push(input.index(len));
                }
            }
            for _ in 0..input.byte() % 9 {
                roots.push(input.index(len));
            }
        }
        1 => {
            let mut bits = 0u8;
            for node in 1..len {
                if node % 8 == 1 {
                    bits = input.byte();
                }
                let parent = &mut nodes[node - 1];
                if bits & (1 << (node % 8)) == 0 {
                    parent.chunks.push(as_index(node));
                } else {
                    parent.matches.push(as_index(node));
                }
            }
            roots.push(0);
        }
        2 => {
            let fan_out = usize::from(input.byte() % 4) + 1;
            let matches = shape & 4 != 0;
            for node in 1..len {
                let parent = &mut nodes[(node - 1) / fan_out];
                if matches {
                    parent.matches.push(as_index(node));
                } else {
                    parent.chunks.push(as_index(node));
                }
            }
            roots.push(0);
        }
        _ => roots.extend((0..len).map(as_index)),
    }
    for _ in 0..input.byte() % 4 {
        match input.byte() % 6 {
            0 | 1 => {
                let (parent, child) = (input.index(len), input.index(len));
                if let Some(node) = nodes.get_mut(parent as usize) {
                    if input.byte() & 1 == 0 {
                        node.chunks.push(child);
                    } else {
                        node.matches.push(child);
                    }
                }
            }
            2 => roots.push(input.index(len)),
            3 => {
                roots.pop();
            }
            4 => {
                if let Some(node) = nodes.get_mut(input.index(len) as usize) {
                    node.chunks.clear();
                    node.matches.clear();
                }
            }
            _ => {
                let index = input.index(len);
                match roots.first_mut() {
                    Some(first) => *first = index,
                    None => roots.push(index),
                }
            }
        }
    }
    for node in &mut nodes {
        if input.is_empty() {
            break;
        }
        decode_fields(&mut input, node);
    }
    DocumentBatch { nodes, roots }
}

fn decode_fields(input: &mut Input<'_>, doc: &mut Document) {
    let flags = input.byte();
    if flags & 1 != 0 {
        doc.text = Some(input.text(32));
    }
    if flags & 2 != 0 {
        doc.tags = Some(input.text(64));
    }
    if flags & 4 != 0 {
        doc.tensor = Some(decode_tensor(input));
    }
    if flags & 8 != 0 {
        doc.embedding = Some(decode_tensor(input));
    }
    if flags & 16 != 0 {
        let len = input.byte();
        doc.blob = Some(input.bytes(len.into()));
    }
    if flags & 32 != 0 {
        for _ in 0..input.byte() % 4 {
            let score = NamedScore {
                name: input.text(8),
                value: input.f64(),
                op_name: Some(input.text(8)).filter(|s| !s.is_empty()),
                description: None,
                ref_id: None,
            };
            if input.byte() & 1 == 0 {
                doc.scores.push(score);
            } else {
                doc.evaluations.push(score);
            }
        }
    }
    if flags & 64 != 0 {
        let some = input.byte();
        let field = |bit: u8| some & (1 << bit) != 0;
        let (granularity, adjacency) = (field(0), field(1));
        let (weight, offset, strings) = (field(2), field(3), field(4));
        if granularity {
            doc.granularity = Some(input.u32() as i32);
        }
        if adjacency {
            doc.adjacency = Some(input.u32() as i32);
        }
        if weight {
            doc.weight = Some(input.f64());
        }
        if offset {
            doc.offset = Some(input.f64());
        }
        for _ in 0..input.byte() % 4 {
            doc.location.push(input.f64());
        }
        if strings {
            doc.parent_id = Some(input.text(16));
            doc.uri = Some(input.text(16));
            doc.mime_type = Some(input.text(16));
            doc.modality = Some(input.text(16));
        }
    }
    if flags & 128 != 0 {
        // Empty and repeated ids are the guest's to send.
        doc.id = input.text(16);
    }
}

fn decode_tensor(input: &mut Input<'_>) -> Tensor {
    let dtype = Dtype::ALL[usize::from(input.byte()) % Dtype::ALL.len()];
    let dims = input.byte();
    let dims = if dims & 0x80 != 0 {
        dims & 0x7f
    } else {
        dims % 5
    };
    let shape: Vec<u32> = (0..dims)
        .map(|_| match input.byte() {
            big if big & 0x80 != 0 => input.u32(),
            small => u32::from(small % 5),
        })
        .collect();
    let needed = shape
        .iter()
        .try_fold(docs::element_size(dtype), |n, &d| n.checked_mul(d as usize))
        .filter(|&n| n <= MAX_TENSOR_BYTES);
    let len = match (input.byte() % 4, needed) {
        (0 | 1, Some(needed)) => needed,
        (3, Some(needed)) => needed + 1,
        _ => usize::from(input.byte()),
    };
    let mut data = input.bytes(len);
    data.resize(len, 0);
    Tensor { dtype, shape, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_takes_empty_and_junk_input() {
        for (_, target) in TARGETS {
            for data in [
                &b""[..],
                b"\0",
                b"\xff\xff\xff\xff",
                b"{}",
                b"[]",
                b"jtype: Flow",
            ] {
                target(data);
            }
        }
    }

    #[test]
    fn the_decoder_reaches_valid_and_invalid_batches() {
        // A chain of 200 nodes: too deep.
        let chain = decode_batch(&[1, 199, 0]);
        assert_eq!(chain.nodes.len(), 200);
        assert!(matches!(
            docs::validate(&chain),
            Err(docs::BatchError::TooDeep { .. })
        ));
        // A chain of MAX_DEPTH nodes: just deep enough.
        let depth = u8::try_from(docs::MAX_DEPTH - 1).unwrap();
        assert_eq!(docs::validate(&decode_batch(&[1, depth, 0])), Ok(()));
        // Two nodes, node 0 lists node 1 as a chunk twice.
        let shared = decode_batch(&[0, 2, 2, 1, 0, 1, 0, 0, 1, 0, 0]);
        assert!(matches!(
            docs::validate(&shared),
            Err(docs::BatchError::SharedNode { index: 1 })
        ));
        // One root with a valid float32 tensor of shape [2, 3].
        let tensor = decode_batch(&[3, 0, 0, 0, 4, 1, 2, 2, 3, 0]);
        let t = tensor.nodes[0].tensor.as_ref().unwrap();
        assert_eq!((t.shape.as_slice(), t.data.len()), (&[2, 3][..], 24));
        assert_eq!(docs::validate(&tensor), Ok(()));
        guest_output(&[3, 0, 0, 0, 4, 1, 2, 2, 3, 0]);
    }
}
