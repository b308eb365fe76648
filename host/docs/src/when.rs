//! `when:` filters: DocArray v1's query language, parsed once when the flow
//! loads and evaluated per document on the request path.
//!
//! Follows `docarray.array.queryset` (0.21): `{field: {$op: value}}` with
//! `$eq $neq/$ne $gt $gte $lt $lte $in $nin $regex $size $exists`, the logical
//! `$and $or $not`, nested paths with `__` (`tags__lang`, `scores__cosine__value`)
//! and `{field}` placeholders that compare against another field of the same
//! document. Numbers compare by value (`5 == 5.0`), as in Python.

use serde_json::{Map, Value};

use crate::{Document, DocumentBatch};

/// A parsed filter.
#[derive(Debug, Clone)]
pub enum Filter {
    /// Every one holds (`$and`, a list, or several keys in one object); true when empty.
    All(Vec<Filter>),
    /// At least one holds (`$or`); false when empty.
    Any(Vec<Filter>),
    /// The inner filter does not hold (`$not`).
    Not(Box<Filter>),
    /// `{path: {op: value}}`: one comparison against one attribute of the document.
    Leaf {
        /// The key split on `__` (`tags__lang` → `tags`, `lang`): a document field, then keys
        /// or list positions into its value.
        path: Vec<String>,
        /// The comparison.
        op: Op,
        /// What the attribute is compared against.
        value: Operand,
    },
}

/// A comparison operator of a [`Filter::Leaf`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `$eq`: equal, numbers by value.
    Eq,
    /// `$neq` or `$ne`: not equal.
    Neq,
    /// `$gt`: greater than; numbers, strings and booleans compare only with their own kind.
    Gt,
    /// `$gte`: greater than or equal.
    Gte,
    /// `$lt`: less than.
    Lt,
    /// `$lte`: less than or equal.
    Lte,
    /// `$in`: equal to an item of the given list, or a substring of the given string.
    In,
    /// `$nin`: the negation of `$in`.
    Nin,
    /// `$regex`: a string the pattern matches somewhere in (unanchored).
    Regex,
    /// `$size`: a list or object with this many entries, or a string with this many characters.
    Size,
    /// `$exists`: present (`true`) or not (`false`); a top-level field counts only when
    /// non-empty, as docarray's `_is_not_empty`.
    Exists,
}

/// The right-hand side of a [`Filter::Leaf`].
#[derive(Debug, Clone)]
pub enum Operand {
    /// A JSON value written in the filter.
    Literal(Value),
    /// `{tags__name}`: another attribute of the document.
    Field(Vec<String>),
    /// The compiled pattern of a `$regex`.
    Pattern(regex::Regex),
}

/// A filter that cannot be parsed; the message says where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `when` filter at `{at}`: {problem}")]
pub struct FilterError {
    /// Where in the filter: keys joined by `.`, list positions as `[i]`, e.g.
    /// `tags__n.$approx`; `<root>` for the filter as a whole.
    pub at: String,
    /// What is wrong there.
    pub problem: String,
}

fn error(at: &str, problem: impl Into<String>) -> FilterError {
    FilterError {
        at: if at.is_empty() {
            "<root>".into()
        } else {
            at.into()
        },
        problem: problem.into(),
    }
}

impl Filter {
    /// Parses a `when:` value: an object of conditions or a list of them (all must hold).
    pub fn parse(value: &Value) -> Result<Filter, FilterError> {
        parse_any(value, "")
    }

    /// Whether `doc` (a node of `batch`) passes.
    pub fn matches(&self, doc: &Document, batch: &DocumentBatch) -> bool {
        match self {
            Filter::All(children) => children.iter().all(|f| f.matches(doc, batch)),
            Filter::Any(children) => children.iter().any(|f| f.matches(doc, batch)),
            Filter::Not(inner) => !inner.matches(doc, batch),
            Filter::Leaf { path, op, value } => {
                let actual = attribute(doc, batch, path);
                let expected = match value {
                    Operand::Field(other) => Some(attribute(doc, batch, other)),
                    Operand::Literal(v) => Some(v.clone()),
                    Operand::Pattern(_) => None,
                };
                evaluate(*op, &actual, expected.as_ref(), value, path)
            }
        }
    }
}

fn parse_any(value: &Value, at: &str) -> Result<Filter, FilterError> {
    match value {
        Value::Object(map) => parse_object(map, at),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_any(item, &format!("{at}[{i}]")))
            .collect::<Result<_, _>>()
            .map(Filter::All),
        other => Err(error(
            at,
            format!("expected an object or a list, got {other}"),
        )),
    }
}

fn parse_object(map: &Map<String, Value>, at: &str) -> Result<Filter, FilterError> {
    let mut parts = Vec::with_capacity(map.len());
    for (key, value) in map {
        let here = if at.is_empty() {
            key.clone()
        } else {
            format!("{at}.{key}")
        };
        parts.push(match key.as_str() {
            "$and" => Filter::All(children(value, &here)?),
            "$or" => Filter::Any(children(value, &here)?),
            "$not" => Filter::Not(Box::new(parse_any(value, &here)?)),
            op if op.starts_with('$') => {
                return Err(error(&here, format!("unknown operator `{op}`")));
            }
            field => parse_field(field, value, &here)?,
        });
    }
    Ok(if parts.len() == 1 {
        parts.remove(0)
    } else {
        Filter::All(parts)
    })
}

fn children(value: &Value, at: &str) -> Result<Vec<Filter>, FilterError> {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_any(item, &format!("{at}[{i}]")))
            .collect(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| parse_any(&Value::Object(Map::from_iter([(k.clone(), v.clone())])), at))
            .collect(),
        other => Err(error(
            at,
            format!("expected a list of conditions, got {other}"),
        )),
    }
}

fn parse_field(field: &str, conditions: &Value, at: &str) -> Result<Filter, FilterError> {
    let Value::Object(conditions) = conditions else {
        return Err(error(
            at,
            "expected `{<operator>: <value>}`, e.g. `{$eq: 5}`",
        ));
    };
    if conditions.is_empty() {
        return Err(error(
            at,
            "expected `{<operator>: <value>}`, e.g. `{$eq: 5}`",
        ));
    }
    let path: Vec<String> = field.split("__").map(str::to_owned).collect();
    let mut leaves = Vec::with_capacity(conditions.len());
    for (op_name, operand) in conditions {
        let here = format!("{at}.{op_name}");
        let leaf = match op_name.as_str() {
            "$not" => Filter::Not(Box::new(parse_field(field, operand, &here)?)),
            // As docarray reads them: the operand's conditions stand on their own (the
            // field they sit under is not applied to them), joined by the operator.
            "$and" => Filter::All(children(operand, &here)?),
            "$or" => Filter::Any(children(operand, &here)?),
            name => {
                let op = match name {
                    "$eq" => Op::Eq,
                    "$neq" | "$ne" => Op::Neq,
                    "$gt" => Op::Gt,
                    "$gte" => Op::Gte,
                    "$lt" => Op::Lt,
                    "$lte" => Op::Lte,
                    "$in" => Op::In,
                    "$nin" => Op::Nin,
                    "$regex" => Op::Regex,
                    "$size" => Op::Size,
                    "$exists" => Op::Exists,
                    other => return Err(error(&here, format!("unknown operator `{other}`"))),
                };
                Filter::Leaf {
                    path: path.clone(),
                    op,
                    value: operand_of(op, operand, &here)?,
                }
            }
        };
        leaves.push(leaf);
    }
    Ok(if leaves.len() == 1 {
        leaves.remove(0)
    } else {
        Filter::All(leaves)
    })
}

fn operand_of(op: Op, operand: &Value, at: &str) -> Result<Operand, FilterError> {
    if let Some(text) = operand.as_str()
        && text.starts_with('{')
    {
        let inner = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .ok_or_else(|| error(at, format!("the placeholder `{text}` is illegal")))?;
        return Ok(Operand::Field(
            inner.split("__").map(str::to_owned).collect(),
        ));
    }
    match op {
        Op::Regex => {
            let pattern = operand
                .as_str()
                .ok_or_else(|| error(at, "$regex takes a string"))?;
            regex::Regex::new(pattern)
                .map(Operand::Pattern)
                .map_err(|e| error(at, format!("bad regular expression: {e}")))
        }
        Op::Exists if !operand.is_boolean() => Err(error(at, "$exists takes true or false")),
        Op::In | Op::Nin if !(operand.is_array() || operand.is_string()) => {
            Err(error(at, "$in and $nin take a list"))
        }
        Op::Size if !operand.is_u64() => Err(error(at, "$size takes a whole number")),
        _ => Ok(Operand::Literal(operand.clone())),
    }
}

/// The value at `path` of a document, as JSON; `Null` when absent.
fn attribute(doc: &Document, batch: &DocumentBatch, path: &[String]) -> Value {
    let Some((field, rest)) = path.split_first() else {
        return Value::Null;
    };
    let children = |indices: &[u32]| {
        Value::Array(
            indices
                .iter()
                .filter_map(|&i| batch.nodes.get(i as usize))
                .map(|child| Value::String(child.id.clone()))
                .collect(),
        )
    };
    let opt_str = |s: &Option<String>| s.clone().map(Value::String).unwrap_or(Value::Null);
    let root = match field.as_str() {
        "id" => Value::String(doc.id.clone()),
        "parent_id" => opt_str(&doc.parent_id),
        "text" => opt_str(&doc.text),
        "uri" => opt_str(&doc.uri),
        "mime_type" => opt_str(&doc.mime_type),
        "modality" => opt_str(&doc.modality),
        "granularity" => doc.granularity.map(Value::from).unwrap_or(Value::Null),
        "adjacency" => doc.adjacency.map(Value::from).unwrap_or(Value::Null),
        "weight" => doc.weight.map(Value::from).unwrap_or(Value::Null),
        "offset" => doc.offset.map(Value::from).unwrap_or(Value::Null),
        "location" => Value::from(doc.location.clone()),
        "tags" => doc
            .tags
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(Value::Null),
        "scores" | "evaluations" => {
            let scores = if field == "scores" {
                &doc.scores
            } else {
                &doc.evaluations
            };
            Value::Object(
                scores
                    .iter()
                    .map(|s| {
                        (
                            s.name.clone(),
                            serde_json::json!({ "value": s.value, "op_name": s.op_name }),
                        )
                    })
                    .collect(),
            )
        }
        "chunks" => children(&doc.chunks),
        "matches" => children(&doc.matches),
        "embedding" | "tensor" => {
            let tensor = if field == "embedding" {
                &doc.embedding
            } else {
                &doc.tensor
            };
            tensor
                .as_ref()
                .map(|t| Value::from(crate::tensor_values(t)))
                .unwrap_or(Value::Null)
        }
        "blob" => doc
            .blob
            .as_ref()
            .map(|b| Value::from(b.len()))
            .unwrap_or(Value::Null),
        _ => Value::Null,
    };
    rest.iter().fold(root, |value, key| match value {
        Value::Object(mut map) => map.remove(key).unwrap_or(Value::Null),
        Value::Array(mut items) => key
            .parse::<usize>()
            .ok()
            .filter(|&i| i < items.len())
            .map(|i| items.swap_remove(i))
            .unwrap_or(Value::Null),
        _ => Value::Null,
    })
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn evaluate(
    op: Op,
    actual: &Value,
    expected: Option<&Value>,
    operand: &Operand,
    path: &[String],
) -> bool {
    use std::cmp::Ordering::*;
    let expected = expected.unwrap_or(&Value::Null);
    match op {
        Op::Eq => json_eq(actual, expected),
        Op::Neq => !json_eq(actual, expected),
        Op::Gt => matches!(compare(actual, expected), Some(Greater)),
        Op::Gte => matches!(compare(actual, expected), Some(Greater | Equal)),
        Op::Lt => matches!(compare(actual, expected), Some(Less)),
        Op::Lte => matches!(compare(actual, expected), Some(Less | Equal)),
        Op::In | Op::Nin => {
            let found = match expected {
                Value::Array(items) => items.iter().any(|item| json_eq(actual, item)),
                Value::String(haystack) => actual.as_str().is_some_and(|s| haystack.contains(s)),
                _ => false,
            };
            found == (op == Op::In)
        }
        Op::Regex => match (operand, actual) {
            (Operand::Pattern(pattern), Value::String(text)) => pattern.is_match(text),
            _ => false,
        },
        Op::Size => {
            let len = match actual {
                Value::Array(items) => items.len(),
                Value::Object(map) => map.len(),
                Value::String(s) => s.chars().count(),
                _ => return false,
            };
            expected.as_u64() == Some(len as u64)
        }
        Op::Exists => {
            let wanted = expected.as_bool().unwrap_or(true);
            // A nested path exists when it is not null; a top-level field when
            // it is set and not empty, as docarray's `_is_not_empty`.
            let present = if path.len() > 1 {
                !actual.is_null()
            } else {
                !is_empty_value(actual)
            };
            present == wanted
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{batch_of, document};
    use serde_json::json;

    fn tagged(tags: Value) -> DocumentBatch {
        let mut doc = document("d");
        doc.tags = Some(tags.to_string());
        doc.text = Some("hello world".into());
        batch_of([doc])
    }

    fn check(filter: Value, tags: Value) -> bool {
        let batch = tagged(tags);
        Filter::parse(&filter)
            .unwrap()
            .matches(&batch.nodes[0], &batch)
    }

    #[test]
    fn seed_filters_compare_numbers_by_value() {
        assert!(check(json!({"tags__key": {"$eq": 5}}), json!({"key": 5.0})));
        assert!(!check(json!({"tags__key": {"$eq": 5}}), json!({"key": 4})));
        assert!(!check(json!({"tags__key": {"$eq": 5}}), json!({})));
    }

    #[test]
    fn every_operator() {
        let tags = json!({"n": 3, "lang": "en", "list": [1, 2], "nested": {"deep": true}});
        for (filter, expected) in [
            (json!({"tags__n": {"$gt": 2}}), true),
            (json!({"tags__n": {"$gte": 3}}), true),
            (json!({"tags__n": {"$lt": 3}}), false),
            (json!({"tags__n": {"$lte": 3}}), true),
            (json!({"tags__n": {"$neq": 3}}), false),
            (json!({"tags__n": {"$ne": 4}}), true),
            (json!({"tags__lang": {"$in": ["en", "de"]}}), true),
            (json!({"tags__lang": {"$nin": ["en", "de"]}}), false),
            (json!({"text": {"$regex": "^hello"}}), true),
            (json!({"tags__list": {"$size": 2}}), true),
            (json!({"tags__nested__deep": {"$eq": true}}), true),
            (json!({"tags__missing": {"$exists": false}}), true),
            (json!({"text": {"$exists": true}}), true),
            (json!({"uri": {"$exists": true}}), false),
            (
                json!({"$or": [{"tags__n": {"$eq": 1}}, {"tags__lang": {"$eq": "en"}}]}),
                true,
            ),
            (
                json!({"$and": [{"tags__n": {"$eq": 1}}, {"tags__lang": {"$eq": "en"}}]}),
                false,
            ),
            (json!({"$not": {"tags__n": {"$eq": 3}}}), false),
            (json!({"tags__n": {"$gt": 1, "$lt": 3}}), false),
            (json!({"tags__n": {"$eq": "{tags__n}"}}), true),
        ] {
            assert_eq!(check(filter.clone(), tags.clone()), expected, "{filter}");
        }
    }

    #[test]
    fn or_and_and_under_a_field_join_their_own_conditions_as_docarray_does() {
        // docarray reads `{field: {$or: [...]}}` as the `$or` of the listed conditions.
        let tags = json!({"n": 3, "lang": "en"});
        let either =
            json!({"text": {"$or": [{"tags__n": {"$eq": 1}}, {"tags__lang": {"$eq": "en"}}]}});
        assert!(check(either, tags.clone()));
        let neither =
            json!({"text": {"$or": [{"tags__n": {"$eq": 1}}, {"tags__lang": {"$eq": "de"}}]}});
        assert!(!check(neither, tags.clone()));
        let both =
            json!({"text": {"$and": [{"tags__n": {"$eq": 3}}, {"tags__lang": {"$eq": "de"}}]}});
        assert!(!check(both, tags));
    }

    #[test]
    fn bad_filters_say_where() {
        let err = Filter::parse(&json!({"tags__n": {"$approx": 3}})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid `when` filter at `tags__n.$approx`: unknown operator `$approx`"
        );
        let err = Filter::parse(&json!({"text": {"$regex": "("}})).unwrap_err();
        assert!(err.to_string().contains("bad regular expression"));
        let err = Filter::parse(&json!({"tags__n": 5})).unwrap_err();
        assert!(err.to_string().contains("{$eq: 5}"));
    }
}
