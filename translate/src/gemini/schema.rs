//! Tool schemas toward and from Gemini.
//!
//! [`clean`] is spec §3.4's cleanup for Gemini upstreams, applied to one tool's parameter
//! schema (never to a whole request): `$ref`, `const`, `allOf`/`anyOf`/`oneOf`, type arrays
//! and the keywords Gemini rejects are rewritten or removed, constraints survive as
//! description hints. [`from_openapi`] reads Gemini's own OpenAPI-subset `parameters`
//! (upper-case `OBJECT`, `STRING` …) as JSON Schema.

use std::borrow::Cow;
use std::collections::BTreeMap;

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
///
/// One pass: each node is read where it lies and written once into the result (the input is
/// never cloned first and then pruned).
pub(crate) fn clean(schema: &Value) -> Value {
    match schema {
        Value::Object(_) => {
            let mut out = clean_value(schema, 0);
            strip_nullable(Some(&mut out), false);
            out
        }
        _ => serde_json::json!({"type": "object", "properties": {}}),
    }
}

/// A schema node being cleaned: its keys and values borrowed from the input until changed.
#[derive(Default)]
struct Node<'a> {
    entries: BTreeMap<Cow<'a, str>, Cow<'a, Value>>,
}

impl<'a> Node<'a> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.entries.get(key).map(|v| &**v)
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries.get_mut(key).map(Cow::to_mut)
    }

    fn contains_key(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    fn insert(&mut self, key: impl Into<Cow<'a, str>>, value: Value) {
        self.entries.insert(key.into(), Cow::Owned(value));
    }

    fn remove(&mut self, key: &str) -> Option<Cow<'a, Value>> {
        self.entries.remove(key)
    }

    fn into_map(self) -> Map<String, Value> {
        self.entries
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

fn add_hint(node: &mut Node<'_>, hint: &str) {
    let description = match node.get("description").and_then(Value::as_str) {
        Some(existing) if existing.contains(hint) => return,
        Some(existing) if !existing.is_empty() => format!("{existing} ({hint})"),
        _ => hint.to_owned(),
    };
    node.insert("description", Value::String(description));
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

/// One schema node cleaned (depth-bounded: deeper nodes are copied as they are).
fn clean_value(value: &Value, depth: usize) -> Value {
    match value {
        Value::Object(node) if depth <= 64 => Value::Object(clean_node(node, depth)),
        other => other.clone(),
    }
}

/// Cleans one schema object.
fn clean_node(source: &Map<String, Value>, depth: usize) -> Map<String, Value> {
    // 1. $ref: the node becomes an object with a hint.
    if let Some(reference) = source.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        let mut node = Node::default();
        node.insert("type", Value::String("object".to_owned()));
        if let Some(description) = source.get("description") {
            node.entries
                .insert(Cow::Borrowed("description"), Cow::Borrowed(description));
        }
        add_hint(&mut node, &format!("See: {name}"));
        return node.into_map();
    }
    let mut node = Node {
        entries: source
            .iter()
            .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v)))
            .collect(),
    };
    // 7. allOf: branches merged into the node.
    if let Some(all) = node.remove("allOf")
        && let Value::Array(branches) = &*all
    {
        for branch in branches {
            let Value::Object(branch) = clean_value(branch, depth + 1) else {
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
                    (_, None) => node.insert(key, value),
                }
            }
        }
    }
    // 8. anyOf / oneOf: one branch.
    for key in ["anyOf", "oneOf"] {
        if let Some(any) = node.remove(key)
            && let Value::Array(branches) = &*any
        {
            pick_branch(&mut node, branches, depth);
        }
    }
    // 2. const → enum.
    if let Some(constant) = node.remove("const")
        && !node.contains_key("enum")
    {
        node.insert("enum", Value::Array(vec![constant.into_owned()]));
    }
    // 3-4. enums are strings.
    if let Some(Value::Array(values)) = node.get("enum") {
        let listed: Vec<String> = values.iter().map(scalar_text).collect();
        if (2..=10).contains(&listed.len()) {
            add_hint(&mut node, &format!("Allowed: {}", listed.join(", ")));
        }
        let values = listed.into_iter().map(Value::String).collect();
        node.insert("enum", Value::Array(values));
        node.insert("type", Value::String("string".to_owned()));
    }
    // 9. type arrays collapse to the first non-null type.
    let mut nullable = node.get("nullable").and_then(Value::as_bool) == Some(true);
    if let Some(Value::Array(types)) = node.get("type") {
        let names: Vec<String> = types.iter().map(scalar_text).collect();
        let real: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|t| *t != "null")
            .collect();
        nullable |= real.len() < names.len();
        let first = real.first().copied().unwrap_or("string").to_owned();
        if real.len() > 1 {
            add_hint(&mut node, &format!("Accepts: {}", real.join(" | ")));
        }
        node.insert("type", Value::String(first));
    }
    if nullable {
        add_hint(&mut node, "nullable");
        node.insert("nullable", Value::Bool(true));
    }
    // 5-6. hints for what is removed.
    if node.get("additionalProperties") == Some(&Value::Bool(false)) {
        add_hint(&mut node, "No extra properties allowed");
    }
    for key in HINTED {
        if let Some(value) = node.remove(key) {
            add_hint(&mut node, &format!("{key}: {}", scalar_text(&value)));
        }
    }
    // 10. keywords Gemini rejects.
    node.entries
        .retain(|key, _| !REMOVED.contains(&&**key) && !key.starts_with("x-"));
    // Recurse into sub-schemas.
    if let Some(Value::Object(properties)) = node.get("properties") {
        let cleaned: Map<String, Value> = properties
            .iter()
            .map(|(name, schema)| (name.clone(), clean_value(schema, depth + 1)))
            .collect();
        node.insert("properties", Value::Object(cleaned));
    }
    if let Some(items) = node.get("items") {
        let cleaned = match items {
            Value::Array(list) => {
                Value::Array(list.iter().map(|s| clean_value(s, depth + 1)).collect())
            }
            other => clean_value(other, depth + 1),
        };
        node.insert("items", cleaned);
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
    let keep = |r: &Value, properties: Option<&Value>| {
        r.as_str().is_some_and(|r| {
            matches!(properties, Some(Value::Object(p)) if p.contains_key(r))
                && !optional.iter().any(|n| n == r)
        })
    };
    if let Some(Value::Array(required)) = node.get("required") {
        let properties = node.get("properties");
        let kept: Vec<Value> = required
            .iter()
            .filter(|r| keep(r, properties))
            .cloned()
            .collect();
        if kept.is_empty() {
            node.remove("required");
        } else if kept.len() != required.len() {
            node.insert("required", Value::Array(kept));
        }
    } else if node.contains_key("required") {
        node.remove("required");
    }
    node.into_map()
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
fn pick_branch(node: &mut Node<'_>, branches: &[Value], depth: usize) {
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
    let types: Vec<&str> = branches
        .iter()
        .filter_map(|b| b.get("type").and_then(Value::as_str))
        .filter(|t| *t != "null")
        .collect();
    let mut best: Option<&Value> = None;
    for branch in branches {
        if best.is_none_or(|b| rank(branch) > rank(b)) {
            best = Some(branch);
        }
    }
    if let Some(best) = best
        && let Value::Object(best) = clean_value(best, depth + 1)
    {
        for (key, value) in best {
            if key == "description" && node.contains_key("description") {
                continue;
            }
            node.insert(key, value);
        }
    }
    if types.len() > 1 {
        add_hint(node, &format!("Accepts: {}", types.join(" | ")));
    }
    if has_null {
        node.insert("nullable", Value::Bool(true));
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
