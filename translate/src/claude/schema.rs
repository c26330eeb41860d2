//! Tool input schemas as Claude takes them (spec §3.4, Claude upstreams).
//!
//! Claude wants an object schema at the root: anything else becomes
//! `{"type":"object","properties":{}}`; root `anyOf`/`oneOf`/`allOf` are folded into the root
//! (their object branches' properties merged, existing keys win; `allOf` requirements unioned);
//! the root `type` is `object` and `properties` is always present. Nested nodes are kept.

use serde_json::{Map, Value};

/// The normalised schema.
pub(super) fn normalize(schema: &Value) -> Value {
    let Value::Object(given) = schema else {
        return empty();
    };
    if given.is_empty() {
        return empty();
    }
    let mut root = given.clone();
    let mut properties = match root.remove("properties") {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let mut required: Vec<Value> = match root.remove("required") {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    };
    for key in ["anyOf", "oneOf", "allOf"] {
        let Some(Value::Array(branches)) = root.remove(key) else {
            continue;
        };
        for branch in &branches {
            if let Some(Value::Object(props)) = branch.get("properties") {
                for (name, value) in props {
                    properties
                        .entry(name.clone())
                        .or_insert_with(|| value.clone());
                }
            }
            if key == "allOf"
                && let Some(Value::Array(list)) = branch.get("required")
            {
                for name in list {
                    if !required.contains(name) {
                        required.push(name.clone());
                    }
                }
            }
        }
    }
    root.insert("type".to_owned(), Value::String("object".to_owned()));
    root.insert("properties".to_owned(), Value::Object(properties));
    if !required.is_empty() {
        root.insert("required".to_owned(), Value::Array(required));
    }
    Value::Object(root)
}

fn empty() -> Value {
    serde_json::json!({"type": "object", "properties": {}})
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
