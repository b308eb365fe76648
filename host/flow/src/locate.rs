//! Finding the line and column of a node in YAML text, for error messages.
//!
//! serde_norway's `Value` carries no positions, but its errors do: an error raised while a
//! node is being deserialized is stamped with that node's line and column. So to locate
//! `executors[2].replica` we deserialize the text once more with a seed that walks down that
//! path and fails on purpose at the target; the failure's `location()` is the answer. This
//! costs one extra parse per error message, and nothing when the flow is valid.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step of a path into a YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl From<&str> for Seg {
    fn from(s: &str) -> Seg {
        Seg::Key(s.to_string())
    }
}

impl From<usize> for Seg {
    fn from(i: usize) -> Seg {
        Seg::Index(i)
    }
}

/// Whether a path's last key means the key itself or its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Key,
    Value,
}

const FOUND: &str = "\u{1}flowhost-locate-found\u{1}";

/// Line and column (1-based) of the node at `path`, or of its nearest ancestor that exists.
pub fn locate(text: &str, path: &[Seg], target: Target) -> Option<(usize, usize)> {
    (0..=path.len()).rev().find_map(|len| {
        let target = if len == path.len() {
            target
        } else {
            Target::Value
        };
        locate_exact(text, &path[..len], target)
    })
}

fn locate_exact(text: &str, path: &[Seg], target: Target) -> Option<(usize, usize)> {
    let de = serde_norway::Deserializer::from_str(text);
    match (Seek { rest: path, target }).deserialize(de) {
        Ok(()) => None,
        Err(err) if err.to_string().contains(FOUND) => {
            err.location().map(|l| (l.line(), l.column()))
        }
        Err(_) => None,
    }
}

struct Seek<'p> {
    rest: &'p [Seg],
    target: Target,
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.rest.is_empty() {
            d.deserialize_any(Stop)
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Seg::Key(want), rest)) = self.rest.split_first() else {
            return Ok(());
        };
        let stop_at_key = rest.is_empty() && self.target == Target::Key;
        while let Some(matched) = map.next_key_seed(KeySeed {
            want,
            stop: stop_at_key,
        })? {
            if matched {
                return map.next_value_seed(Seek {
                    rest,
                    target: self.target,
                });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Seg::Index(want), rest)) = self.rest.split_first() else {
            return Ok(());
        };
        for _ in 0..*want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Seek {
            rest,
            target: self.target,
        })
        .map(|_| ())
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged node such as `!Flow {...}`: look inside the tagged value.
        let (_, variant) = data.variant::<IgnoredAny>()?;
        de::VariantAccess::newtype_variant_seed(variant, self)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Reads a mapping key; fails with FOUND if it is the wanted key and the key is the target.
struct KeySeed<'p> {
    want: &'p str,
    stop: bool,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl KeySeed<'_> {
    fn check<E: de::Error>(&self, key: &str) -> Result<bool, E> {
        match (key == self.want, self.stop) {
            (true, true) => Err(E::custom(FOUND)),
            (matched, _) => Ok(matched),
        }
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        self.check(v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        self.check("null")
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<bool, A::Error> {
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<bool, A::Error> {
        Ok(false)
    }
}

/// Fails on whatever node it is given, so the error carries that node's position.
struct Stop;

impl<'de> Visitor<'de> for Stop {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "jtype: Flow\nwith:\n  port: 1\nexecutors:\n  - name: a\n    replica: 2\n  - name: b\n    needs: [a, c]\n";

    fn p(segs: &[Seg]) -> Vec<Seg> {
        segs.to_vec()
    }

    #[test]
    fn locates_keys_and_values() {
        let path = p(&["executors".into(), 0.into(), "replica".into()]);
        assert_eq!(locate(TEXT, &path, Target::Key), Some((6, 5)));
        assert_eq!(locate(TEXT, &path, Target::Value), Some((6, 14)));
        let path = p(&["executors".into(), 1.into(), "needs".into(), 1.into()]);
        assert_eq!(locate(TEXT, &path, Target::Value), Some((8, 16)));
        let path = p(&["with".into(), "port".into()]);
        assert_eq!(locate(TEXT, &path, Target::Key), Some((3, 3)));
    }

    #[test]
    fn falls_back_to_nearest_ancestor() {
        let path = p(&["executors".into(), 1.into(), "nope".into()]);
        assert_eq!(locate(TEXT, &path, Target::Key), Some((7, 5)));
    }

    #[test]
    fn looks_inside_tagged_root() {
        let text = "!Flow\nexecutors:\n  - name: a\n";
        let path = p(&["executors".into(), 0.into(), "name".into()]);
        assert_eq!(locate(text, &path, Target::Key), Some((3, 5)));
    }
}
