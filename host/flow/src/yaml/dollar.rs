//! Jina's older environment references, `$NAME` and `${NAME}`, in string values.
//!
//! Jina expands them in every string value of a flow or executor YAML (`os.path.expandvars`
//! in `JAML.expand_dict` and `expand_env_var`, with a deprecation warning in favour of
//! `${{ ENV.NAME }}`), after parsing: keys are left alone, an unset variable stays as written,
//! and an expanded value is read as a number or boolean when it is one (Jina's `parse_arg`).
//! flowhost does the same, so a Jina file means the same here. Unlike `${{ ENV.NAME }}`, an
//! unset `$NAME` is not an error: a `$` is ordinary text in many values (prices, patterns).

use serde_norway::{Number, Value};

use crate::env::Vars;

/// Expands `$NAME` and `${NAME}` in every string value under `v`.
pub(crate) fn expand(v: &mut Value, vars: &Vars) {
    match v {
        Value::String(s) => {
            if let Some(expanded) = expand_str(s, vars) {
                *v = retyped(expanded);
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(|item| expand(item, vars)),
        Value::Mapping(map) => map.values_mut().for_each(|item| expand(item, vars)),
        Value::Tagged(tagged) => expand(&mut tagged.value, vars),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// `s` with its set variables replaced, or `None` when nothing was replaced. Follows Python's
/// `posixpath.expandvars`: `$` then ASCII letters, digits and `_`, or `${` anything `}`.
fn expand_str(s: &str, vars: &Vars) -> Option<String> {
    if !s.contains('$') {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut rest = s;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let (name, len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match vars.env_var(name).filter(|_| !name.is_empty()) {
            Some(value) => {
                out.push_str(&value);
                changed = true;
                rest = &after[len..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// An expanded value as Jina's `parse_arg` reads it: an integer, a float or a boolean when it
/// is one, else text.
fn retyped(s: String) -> Value {
    if let Ok(n) = s.parse::<i64>() {
        return Value::Number(n.into());
    }
    if let Ok(f) = s.parse::<f64>()
        && f.is_finite()
    {
        return Value::Number(Number::from(f));
    }
    match s.to_ascii_lowercase().as_str() {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars::with_env([("PORT", "4242"), ("NAME", "enc"), ("ON", "True")])
    }

    #[test]
    fn expands_set_variables_like_expandvars() {
        let v = vars();
        assert_eq!(expand_str("$NAME-x", &v).as_deref(), Some("enc-x"));
        assert_eq!(expand_str("a${NAME}b", &v).as_deref(), Some("aencb"));
        assert_eq!(
            expand_str("$MISSING and $NAME", &v).as_deref(),
            Some("$MISSING and enc")
        );
        assert_eq!(expand_str("costs $5, ^a$", &v), None);
        assert_eq!(expand_str("${NAME", &v), None);
    }

    #[test]
    fn expanded_values_are_typed_as_jina_types_them() {
        let mut doc: Value =
            serde_norway::from_str("{port: $PORT, on: '$ON', name: $NAME, $NAME: 1, l: [$PORT]}")
                .unwrap();
        expand(&mut doc, &vars());
        let expected: Value =
            serde_norway::from_str("{port: 4242, on: true, name: enc, $NAME: 1, l: [4242]}")
                .unwrap();
        assert_eq!(doc, expected);
    }
}
