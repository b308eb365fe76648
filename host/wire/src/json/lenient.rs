//! What Jina's pydantic models let through that a plain serde derive would refuse, and the
//! one place serde's errors become the sentences flowhost answers with.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde_json::Number;

/// Where a JSON value was refused (`data[2].chunks[0].embedding`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct JsonError {
    /// The path to the value at fault, as serde_path_to_error writes it; empty for the whole
    /// value.
    pub path: String,
    /// What is wrong with it: `must be a string, got a number`.
    pub problem: String,
    /// Whether the text is not JSON at all (rather than JSON of the wrong shape).
    pub syntax: bool,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "`{}` {}", self.path, self.problem)
        }
    }
}

impl From<serde_path_to_error::Error<serde_json::Error>> for JsonError {
    fn from(error: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = match error.path().iter().next() {
            None => String::new(),
            Some(_) => error.path().to_string(),
        };
        JsonError {
            path,
            ..error.into_inner().into()
        }
    }
}

/// An error about the whole text (trailing characters after the value, say).
impl From<serde_json::Error> for JsonError {
    fn from(error: serde_json::Error) -> Self {
        JsonError {
            path: String::new(),
            syntax: error.is_syntax() || error.is_eof(),
            problem: problem(&error),
        }
    }
}

/// Reads one JSON value of type `T` from the whole of `json`.
///
/// Tracking the path to every value costs a third of the reading time on a body of numbers
/// (`cargo bench -p flowhost-wire --bench json`), so the text is read untracked and only read
/// again, with the path tracked, when it is refused: the second reading fails at the same
/// place and names it.
pub(super) fn from_slice<T: DeserializeOwned>(json: &[u8]) -> Result<T, JsonError> {
    let read = |json: &[u8]| -> Result<T, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        let value = T::deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(value)
    };
    let untracked = match read(json) {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Err(error) => Err(error.into()),
        // Only the trailing text was wrong.
        Ok(_) => Err(untracked.into()),
    }
}

/// serde_json's message as a sentence about the value: `invalid type: integer `5`, expected a
/// string at line 1 column 20` becomes `must be a string, got a number`. The position is
/// dropped because the path names the value better; a syntax error keeps it.
fn problem(error: &serde_json::Error) -> String {
    let message = error.to_string();
    if error.is_syntax() || error.is_eof() {
        return message;
    }
    let position = format!(" at line {} column {}", error.line(), error.column());
    let message = message.strip_suffix(&position).unwrap_or(&message);
    // serde writes `invalid type: {unexpected}, expected {expected}`; what is expected comes
    // from this crate's readers, so the last `, expected ` is the separator.
    if let Some((unexpected, expected)) =
        (message.strip_prefix("invalid type: ")).and_then(|rest| rest.rsplit_once(", expected "))
    {
        return format!("must be {expected}, got {}", json_kind(unexpected));
    }
    if let Some((unexpected, expected)) =
        (message.strip_prefix("invalid value: ")).and_then(|rest| rest.rsplit_once(", expected "))
    {
        return format!("must be {expected}, got {unexpected}");
    }
    message.to_owned()
}

/// serde's name for what it found (`sequence`, `integer `5``) as a JSON type's name.
fn json_kind(unexpected: &str) -> &str {
    let first = unexpected.split(' ').next().unwrap_or_default();
    match first {
        "boolean" => "a boolean",
        "integer" | "floating" => "a number",
        "string" | "character" => "a string",
        "sequence" => "a list",
        "map" => "an object",
        "null" | "unit" => "null",
        _ => unexpected,
    }
}

/// A string field as pydantic reads one: a number stands for its text (`5` is `"5"`, `1.0`
/// is `"1.0"`), `null` is unset.
pub(super) fn text_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    deserializer.deserialize_any(TextOrNumber)
}

struct TextOrNumber;

impl<'de> Visitor<'de> for TextOrNumber {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Some(text.to_owned()))
    }
    fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Some(text))
    }
    fn visit_i64<E: serde::de::Error>(self, number: i64) -> Result<Self::Value, E> {
        Ok(Some(number.to_string()))
    }
    fn visit_u64<E: serde::de::Error>(self, number: u64) -> Result<Self::Value, E> {
        Ok(Some(number.to_string()))
    }
    fn visit_f64<E: serde::de::Error>(self, number: f64) -> Result<Self::Value, E> {
        // As JSON writes it (`1.0`, not Rust's `1`).
        Ok(Some(
            Number::from_f64(number).map_or_else(|| number.to_string(), |n| n.to_string()),
        ))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A struct read from a JSON object only. A derived struct also takes a list of its fields
/// in order, which no Jina client sends and which would read `[["a"]]` as a document with id
/// `a`.
#[derive(Debug)]
pub(super) struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = Object<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: DeserializeOwned>(json: &str) -> Result<T, JsonError> {
        from_slice(json.as_bytes())
    }

    #[derive(Debug, serde::Deserialize)]
    struct Named {
        #[serde(default, deserialize_with = "text_or_number")]
        name: Option<String>,
        #[allow(dead_code)]
        count: Option<u8>,
    }

    #[test]
    fn numbers_stand_for_their_text() {
        let named: Named = read(r#"{"name": 1.0}"#).unwrap();
        assert_eq!(named.name.as_deref(), Some("1.0"));
        let named: Named = read(r#"{"name": 7}"#).unwrap();
        assert_eq!(named.name.as_deref(), Some("7"));
        let named: Named = read(r#"{"name": null}"#).unwrap();
        assert_eq!(named.name, None);
    }

    #[test]
    fn errors_name_the_value_and_say_what_was_found() {
        let error = read::<Named>(r#"{"name": {"a": 1}}"#).unwrap_err();
        assert_eq!(error.to_string(), "`name` must be a string, got an object");
        assert!(!error.syntax);
        let error = read::<Named>(r#"{"count": 300}"#).unwrap_err();
        assert_eq!(error.to_string(), "`count` must be u8, got integer `300`");
        let error = read::<Named>(r#"{"name": "a, expected b"#).unwrap_err();
        assert!(error.syntax, "{error}");
    }

    #[test]
    fn objects_only() {
        let error = read::<Object<Named>>(r#"["x"]"#).unwrap_err();
        assert_eq!(error.to_string(), "must be an object, got a list");
        assert!(read::<Object<Named>>(r#"{"name": "x"}"#).is_ok());
    }
}
