//! Tool schemas toward and from Gemini.
//!
//! [`clean`] is spec §3.4's cleanup for Gemini upstreams, applied to one tool's parameter
//! schema (never to a whole request): `$ref`, `const`, `allOf`/`anyOf`/`oneOf`, type arrays
//! and the keywords Gemini rejects are rewritten or removed, constraints survive as
//! description hints. [`from_openapi`] reads Gemini's own OpenAPI-subset `parameters`
//! (upper-case `OBJECT`, `STRING` …) as JSON Schema.

use serde_json::{Map, Value};

/// Keywords copied into the description as hints, then removed.
const HINTED: &[&str] = &[
    "minLength",
    "maxLength",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "format",
    "default",
    "examples",
];

/// Keywords removed outright.
const REMOVED: &[&str] = &[
    "$schema",
    "$defs",
    "definitions",
    "const",
    "$ref",
    "$id",
    "additionalProperties",
    "propertyNames",
    "patternProperties",
    "if",
    "then",
    "else",
    "$comment",
    "enumDescriptions",
    "enumTitles",
    "prefill",
    "deprecated",
    "encrypted",
    "title",
    "strict",
];

/// A tool's parameter schema cleaned for a Gemini upstream.
pub(crate) fn clean(schema: &Value) -> Value {
    match schema {
        Value::Object(_) => {
            let mut out = schema.clone();
            clean_node(&mut out, 0);
            strip_nullable(Some(&mut out), false);
            out
        }
        _ => serde_json::json!({"type": "object", "properties": {}}),
    }
}

fn add_hint(node: &mut Map<String, Value>, hint: &str) {
    let description = match node.get("description").and_then(Value::as_str) {
        Some(existing) if existing.contains(hint) => return,
        Some(existing) if !existing.is_empty() => format!("{existing} ({hint})"),
        _ => hint.to_owned(),
    };
    node.insert("description".to_owned(), Value::String(description));
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn type_name(node: &Map<String, Value>) -> Option<&str> {
    node.get("type").and_then(Value::as_str)
}

/// Cleans one schema node (depth-bounded: deeper nodes are left as they are).
fn clean_node(value: &mut Value, depth: usize) {
    let Value::Object(node) = value else {
        return;
    };
    if depth > 64 {
        return;
    }
    // 1. $ref: the node becomes an object with a hint.
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference).to_owned();
        let description = node.get("description").cloned();
        node.clear();
        node.insert("type".to_owned(), Value::String("object".to_owned()));
        if let Some(description) = description {
            node.insert("description".to_owned(), description);
        }
        add_hint(node, &format!("See: {name}"));
        return;
    }
    // 7. allOf: branches merged into the node.
    if let Some(Value::Array(branches)) = node.remove("allOf") {
        for mut branch in branches {
            clean_node(&mut branch, depth + 1);
            let Value::Object(branch) = branch else {
                continue;
            };
            for (key, value) in branch {
                match (key.as_str(), node.get_mut(&key)) {
                    ("properties", Some(Value::Object(mine))) => {
                        if let Value::Object(theirs) = value {
                            for (name, schema) in theirs {
                                mine.entry(name).or_insert(schema);
                            }
                        }
                    }
                    ("required", Some(Value::Array(mine))) => {
                        if let Value::Array(theirs) = value {
                            for name in theirs {
                                if !mine.contains(&name) {
                                    mine.push(name);
                                }
                            }
                        }
                    }
                    (_, Some(_)) => {}
                    (_, None) => {
                        node.insert(key, value);
                    }
                }
            }
        }
    }
    // 8. anyOf / oneOf: one branch.
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = node.remove(key) {
            pick_branch(node, branches, depth);
        }
    }
    // 2. const → enum.
    if let Some(constant) = node.remove("const")
        && !node.contains_key("enum")
    {
        node.insert("enum".to_owned(), Value::Array(vec![constant]));
    }
    // 3-4. enums are strings.
    if let Some(Value::Array(values)) = node.get("enum") {
        let values: Vec<Value> = values
            .iter()
            .map(|v| Value::String(scalar_text(v)))
            .collect();
        if (2..=10).contains(&values.len()) {
            let listed: Vec<String> = values.iter().map(scalar_text).collect();
            add_hint(node, &format!("Allowed: {}", listed.join(", ")));
        }
        node.insert("enum".to_owned(), Value::Array(values));
        node.insert("type".to_owned(), Value::String("string".to_owned()));
    }
    // 9. type arrays collapse to the first non-null type.
    let mut nullable = node.get("nullable").and_then(Value::as_bool) == Some(true);
    if let Some(Value::Array(types)) = node.get("type") {
        let names: Vec<String> = types.iter().map(scalar_text).collect();
        let real: Vec<&String> = names.iter().filter(|t| *t != "null").collect();
        nullable |= real.len() < names.len();
        let first = real
            .first()
            .map(|t| t.to_string())
            .unwrap_or_else(|| "string".to_owned());
        if real.len() > 1 {
            let all: Vec<&str> = real.iter().map(|t| t.as_str()).collect();
            add_hint(node, &format!("Accepts: {}", all.join(" | ")));
        }
        node.insert("type".to_owned(), Value::String(first));
    }
    if nullable {
        add_hint(node, "nullable");
        node.insert("nullable".to_owned(), Value::Bool(true));
    }
    // 5-6. hints for what is removed.
    if node.get("additionalProperties") == Some(&Value::Bool(false)) {
        add_hint(node, "No extra properties allowed");
    }
    for key in HINTED {
        if let Some(value) = node.remove(*key) {
            add_hint(node, &format!("{key}: {}", scalar_text(&value)));
        }
    }
    // 10. keywords Gemini rejects.
    node.retain(|key, _| !REMOVED.contains(&key.as_str()) && !key.starts_with("x-"));
    // Recurse into sub-schemas.
    if let Some(Value::Object(properties)) = node.get_mut("properties") {
        for schema in properties.values_mut() {
            clean_node(schema, depth + 1);
        }
    }
    if let Some(items) = node.get_mut("items") {
        match items {
            Value::Array(list) => list.iter_mut().for_each(|s| clean_node(s, depth + 1)),
            other => clean_node(other, depth + 1),
        }
    }
    // A nullable property is not required.
    let optional: Vec<String> = match node.get("properties") {
        Some(Value::Object(properties)) => properties
            .iter()
            .filter(|(_, s)| s.get("nullable") == Some(&Value::Bool(true)))
            .map(|(name, _)| name.clone())
            .collect(),
        _ => Vec::new(),
    };
    strip_nullable(node.get_mut("properties"), true);
    strip_nullable(node.get_mut("items"), false);
    // 11. required names that exist.
    let names: Vec<String> = match node.get("properties") {
        Some(Value::Object(properties)) => properties.keys().cloned().collect(),
        _ => Vec::new(),
    };
    if let Some(Value::Array(required)) = node.get_mut("required") {
        required.retain(|r| {
            r.as_str()
                .is_some_and(|r| names.iter().any(|n| n == r) && !optional.iter().any(|n| n == r))
        });
        if required.is_empty() {
            node.remove("required");
        }
    } else if node.contains_key("required") {
        node.remove("required");
    }
}

/// Removes the `nullable` marks of sub-schemas once their parent has read them (Gemini
/// rejects the key in a JSON schema).
fn strip_nullable(value: Option<&mut Value>, map: bool) {
    let remove = |v: &mut Value| {
        if let Value::Object(o) = v {
            o.remove("nullable");
        }
    };
    match value {
        Some(Value::Object(properties)) if map => properties.values_mut().for_each(remove),
        Some(Value::Array(list)) => list.iter_mut().for_each(remove),
        Some(other) if !map => remove(other),
        _ => {}
    }
}

/// Replaces `anyOf`/`oneOf` by its best branch: object > array > other typed > null.
fn pick_branch(node: &mut Map<String, Value>, branches: Vec<Value>, depth: usize) {
    let rank = |branch: &Value| -> u8 {
        let Value::Object(b) = branch else { return 0 };
        match type_name(b) {
            Some("object") => 4,
            _ if b.contains_key("properties") => 4,
            Some("array") => 3,
            _ if b.contains_key("items") => 3,
            Some("null") => 0,
            Some(_) => 2,
            None => 1,
        }
    };
    let has_null = branches
        .iter()
        .any(|b| b.get("type").and_then(Value::as_str) == Some("null"));
    let types: Vec<String> = branches
        .iter()
        .filter_map(|b| b.get("type").and_then(Value::as_str))
        .filter(|t| *t != "null")
        .map(str::to_owned)
        .collect();
    let mut best: Option<Value> = None;
    for branch in branches {
        if best.as_ref().is_none_or(|b| rank(&branch) > rank(b)) {
            best = Some(branch);
        }
    }
    if let Some(mut best) = best {
        clean_node(&mut best, depth + 1);
        if let Value::Object(best) = best {
            for (key, value) in best {
                if key == "description" && node.contains_key("description") {
                    continue;
                }
                node.insert(key, value);
            }
        }
    }
    if types.len() > 1 {
        add_hint(node, &format!("Accepts: {}", types.join(" | ")));
    }
    if has_null {
        node.insert("nullable".to_owned(), Value::Bool(true));
    }
}

/// Gemini's OpenAPI-subset schema as JSON Schema: `type` values lower-cased, `nullable`
/// kept; everything else as given.
pub(crate) fn from_openapi(schema: &Value) -> Value {
    let mut out = schema.clone();
    lower_types(&mut out, 0);
    out
}

fn lower_types(value: &mut Value, depth: usize) {
    let Value::Object(node) = value else {
        return;
    };
    if depth > 64 {
        return;
    }
    if let Some(Value::String(kind)) = node.get_mut("type") {
        *kind = kind.to_ascii_lowercase();
    }
    // OpenAPI's `nullable` is no JSON Schema keyword: the type gains "null" instead.
    if node.remove("nullable") == Some(Value::Bool(true))
        && let Some(Value::String(kind)) = node.get("type")
    {
        let kind = kind.clone();
        node.insert("type".to_owned(), serde_json::json!([kind, "null"]));
    }
    if let Some(Value::Object(properties)) = node.get_mut("properties") {
        properties
            .values_mut()
            .for_each(|s| lower_types(s, depth + 1));
    }
    if let Some(items) = node.get_mut("items") {
        lower_types(items, depth + 1);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(list)) = node.get_mut(key) {
            list.iter_mut().for_each(|s| lower_types(s, depth + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openapi_nullable_becomes_a_null_type() {
        let schema =
            json!({"type": "OBJECT", "properties": {"d": {"type": "INTEGER", "nullable": true}}});
        assert_eq!(
            from_openapi(&schema),
            json!({"type": "object", "properties": {"d": {"type": ["integer", "null"]}}})
        );
    }

    #[test]
    fn cleanup_rewrites_what_gemini_rejects() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "unit": {"enum": ["c", "f"]},
                "n": {"type": ["integer", "null"], "minimum": 1, "maxLength": 3},
                "choice": {"anyOf": [{"type": "string"}, {"type": "object", "properties": {"a": {"type": "string"}}}]},
                "fixed": {"const": 3},
                "ref": {"$ref": "#/$defs/Thing"},
                "x-extra": {"type": "string"}
            },
            "required": ["unit", "n", "ghost"],
            "x-vendor": 1
        });
        let out = clean(&schema);
        assert_eq!(out.get("$schema"), None);
        assert_eq!(out.get("additionalProperties"), None);
        assert_eq!(out.get("x-vendor"), None);
        assert_eq!(out["description"], "No extra properties allowed");
        assert_eq!(out["properties"]["unit"]["type"], "string");
        assert_eq!(out["properties"]["unit"]["description"], "Allowed: c, f");
        assert_eq!(out["properties"]["n"]["type"], "integer");
        assert_eq!(out["properties"]["choice"]["type"], "object");
        assert_eq!(out["properties"]["fixed"]["enum"], json!(["3"]));
        assert_eq!(out["properties"]["ref"]["description"], "See: Thing");
        // Property names are not keywords.
        assert_eq!(out["properties"]["x-extra"]["type"], "string");
        assert_eq!(out["required"], json!(["unit"]));
        assert_eq!(
            clean(&json!(null)),
            json!({"type": "object", "properties": {}})
        );
    }

    #[test]
    fn openapi_types_are_lower_cased() {
        let out =
            from_openapi(&json!({"type": "OBJECT", "properties": {"type": {"type": "STRING"}}}));
        assert_eq!(
            out,
            json!({"type": "object", "properties": {"type": {"type": "string"}}})
        );
    }
}
