//! Tool input schemas as Claude takes them (spec §3.4, Claude upstreams).
//!
//! Claude wants an object schema at the root: anything else becomes
//! `{"type":"object","properties":{}}`; root `anyOf`/`oneOf`/`allOf` are folded into the root
//! (their object branches' properties merged, existing keys win; `allOf` requirements unioned);
//! the root `type` is `object` and `properties` is always present. Nested nodes are kept.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// The root keys written anew (or dropped) by normalisation.
const REWRITTEN: &[&str] = &["type", "properties", "required", "anyOf", "oneOf", "allOf"];

/// The root combinators folded into the root.
const COMBINATORS: [&str; 3] = ["anyOf", "oneOf", "allOf"];

/// A schema as Claude takes it, written straight from the borrowed original.
pub(super) struct Normalized<'a>(Option<&'a Map<String, Value>>);

impl<'a> Normalized<'a> {
    /// Normalises `schema` (an empty or non-object schema is an empty object schema).
    pub(super) fn new(schema: &'a Value) -> Self {
        match schema {
            Value::Object(map) if !map.is_empty() => Normalized(Some(map)),
            _ => Normalized(None),
        }
    }
}

/// The root's properties, merged with its combinators' (earlier keys win).
struct Properties<'a>(&'a Map<String, Value>);

impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let own = match self.0.get("properties") {
            Some(Value::Object(map)) => Some(map),
            _ => None,
        };
        let mut added: Vec<(&str, &Value)> = Vec::new();
        for key in COMBINATORS {
            let Some(Value::Array(branches)) = self.0.get(key) else {
                continue;
            };
            for branch in branches {
                if let Some(Value::Object(props)) = branch.get("properties") {
                    for (name, value) in props {
                        if !own.is_some_and(|own| own.contains_key(name))
                            && !added.iter().any(|(n, _)| *n == name)
                        {
                            added.push((name, value));
                        }
                    }
                }
            }
        }
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in own.into_iter().flatten() {
            map.serialize_entry(name, value)?;
        }
        for (name, value) in added {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl Serialize for Normalized<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        let Some(given) = self.0 else {
            map.serialize_entry("type", "object")?;
            map.serialize_entry("properties", &Map::new())?;
            return map.end();
        };
        for (key, value) in given {
            if !REWRITTEN.contains(&key.as_str()) {
                map.serialize_entry(key, value)?;
            }
        }
        map.serialize_entry("type", "object")?;
        map.serialize_entry("properties", &Properties(given))?;
        let mut required: Vec<&Value> = match given.get("required") {
            Some(Value::Array(list)) => list.iter().collect(),
            _ => Vec::new(),
        };
        if let Some(Value::Array(branches)) = given.get("allOf") {
            for branch in branches {
                if let Some(Value::Array(list)) = branch.get("required") {
                    for name in list {
                        if !required.contains(&name) {
                            required.push(name);
                        }
                    }
                }
            }
        }
        if !required.is_empty() {
            map.serialize_entry("required", &required)?;
        }
        map.end()
    }
}

/// The normalised schema, as a value.
#[cfg(test)]
pub(super) fn normalize(schema: &Value) -> Value {
    serde_json::to_value(Normalized::new(schema)).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use serde_json::json;

    #[test]
    fn empty_and_invalid_become_an_empty_object() {
        let empty = json!({"type": "object", "properties": {}});
        assert_eq!(normalize(&json!(null)), empty);
        assert_eq!(normalize(&json!({})), empty);
        assert_eq!(normalize(&json!("x")), empty);
        assert_eq!(normalize(&json!({"type": "object"})), empty);
    }

    #[test]
    fn root_combinators_fold_into_the_root() {
        let schema = json!({
            "properties": {"a": {"type": "string"}},
            "anyOf": [{"type": "object", "properties": {"a": {"type": "integer"}, "b": {}}}],
            "allOf": [{"properties": {"c": {}}, "required": ["c"]}],
            "required": ["a"]
        });
        assert_eq!(
            normalize(&schema),
            json!({
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {}, "c": {}},
                "required": ["a", "c"]
            })
        );
    }
}
