//! What a Responses client declared beyond plain function tools, so that answers give its
//! calls back in the shape it declared: freeform (`custom`) tools get `custom_tool_call` items
//! with the raw `input`, namespaced tools get `name` + `namespace` again (spec §3.2).

use serde_json::Value;

/// A Responses client's freeform tools and namespaced tools, by the flattened names the hub
/// uses. Filled by [`crate::translate_request`] for Responses clients; empty otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTools {
    /// Flattened names of freeform tools.
    pub(crate) custom: Vec<String>,
    /// (flattened name, namespace, the child's own name).
    pub(crate) namespaced: Vec<(String, String, String)>,
}

impl ClientTools {
    /// Whether `name` is a freeform tool.
    pub(crate) fn is_custom(&self, name: &str) -> bool {
        self.custom.iter().any(|c| c == name)
    }

    /// The namespace and own name of a flattened namespaced tool name.
    pub(crate) fn split(&self, name: &str) -> Option<(&str, &str)> {
        self.namespaced
            .iter()
            .find(|(flat, _, _)| flat == name)
            .map(|(_, ns, child)| (ns.as_str(), child.as_str()))
    }
}

/// The raw input of a freeform call from its hub arguments (`{"input": "…"}`); other JSON is
/// passed as its text.
pub(crate) fn custom_input(arguments: &str) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(o)) if o.is_empty() => String::new(),
        Ok(Value::Object(mut o)) => match o.remove("input") {
            Some(Value::String(input)) => input,
            _ => arguments.to_owned(),
        },
        _ => arguments.to_owned(),
    }
}
