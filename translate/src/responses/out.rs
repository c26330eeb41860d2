//! Serialize-only mirrors of what the codec writes (request bodies toward a Responses upstream,
//! whole answers toward a Responses client). They borrow from the hub values and are written
//! straight into the output buffer, so no `Value` tree is built on the way.

use std::borrow::Cow;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::ir::Usage;

/// A `POST /responses` body toward a public Responses API upstream.
#[derive(Serialize)]
pub(crate) struct RequestOut<'a> {
    /// The upstream model.
    pub(crate) model: &'a str,
    /// The system texts joined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) instructions: Option<Cow<'a, str>>,
    /// The input items.
    pub(crate) input: Vec<InputItem<'a>>,
    /// Only when the client streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stream: Option<bool>,
    /// Always `false`.
    pub(crate) store: bool,
    /// Function tools.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) tools: Vec<ToolOut<'a>>,
    /// The tool choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_choice: Option<ChoiceOut<'a>>,
    /// Several calls per turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) parallel_tool_calls: Option<bool>,
    /// The token limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_output_tokens: Option<u64>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) top_p: Option<f64>,
    /// Reasoning settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reasoning: Option<ReasoningOut>,
    /// `["reasoning.encrypted_content"]` when reasoning is asked for or replayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) include: Option<[&'static str; 1]>,
    /// Text output settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) text: Option<TextOut<'a>>,
    /// The end user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) safety_identifier: Option<&'a str>,
}

/// `reasoning`.
#[derive(Serialize, Default)]
pub(crate) struct ReasoningOut {
    /// The effort.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) effort: Option<&'static str>,
    /// `auto` when summaries are asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) summary: Option<&'static str>,
}

/// `text`.
#[derive(Serialize)]
pub(crate) struct TextOut<'a> {
    /// `text.format`.
    pub(crate) format: FormatOut<'a>,
}

/// `text.format`.
#[derive(Serialize)]
pub(crate) struct FormatOut<'a> {
    /// `text|json_object|json_schema`.
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    /// The schema's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<&'a str>,
    /// The schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) schema: Option<&'a Value>,
    /// Strict mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) strict: Option<bool>,
}

/// `tool_choice`.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum ChoiceOut<'a> {
    /// `auto|none|required`.
    Mode(&'static str),
    /// One function.
    Function {
        /// `function`.
        #[serde(rename = "type")]
        kind: &'static str,
        /// The tool.
        name: &'a str,
    },
}

/// A function tool.
#[derive(Serialize)]
pub(crate) struct ToolOut<'a> {
    /// `function`.
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    /// The name.
    pub(crate) name: &'a str,
    /// The schema, as OpenAI accepts it.
    pub(crate) parameters: OpenAiSchema<'a>,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<&'a str>,
    /// Strict mode.
    pub(crate) strict: bool,
}

/// An input item.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum InputItem<'a> {
    /// A message.
    Message {
        /// `message`.
        #[serde(rename = "type")]
        kind: &'static str,
        /// `user|assistant`.
        role: &'static str,
        /// The parts.
        content: Vec<PartOut<'a>>,
    },
    /// A function call.
    Call {
        /// `function_call`.
        #[serde(rename = "type")]
        kind: &'static str,
        /// The (shortened) call id.
        call_id: Cow<'a, str>,
        /// The tool.
        name: &'a str,
        /// JSON arguments.
        arguments: &'a str,
    },
    /// A function call's output.
    Output {
        /// `function_call_output`.
        #[serde(rename = "type")]
        kind: &'static str,
        /// The (shortened) call id.
        call_id: Cow<'a, str>,
        /// A string or parts.
        output: OutputOut<'a>,
    },
    /// A replayed reasoning item.
    Reasoning {
        /// `reasoning`.
        #[serde(rename = "type")]
        kind: &'static str,
        /// The summary texts.
        summary: Vec<SummaryOut<'a>>,
        /// The opaque state.
        encrypted_content: &'a str,
    },
}

/// A function call output: text, or parts.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum OutputOut<'a> {
    /// Text only.
    Text(Cow<'a, str>),
    /// Parts.
    Parts(Vec<PartOut<'a>>),
}

/// A summary text.
#[derive(Serialize)]
pub(crate) struct SummaryOut<'a> {
    /// `summary_text`.
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    /// The text.
    pub(crate) text: &'a str,
}

/// A content part.
#[derive(Serialize)]
pub(crate) struct PartOut<'a> {
    /// `input_text|output_text|input_image|input_file`.
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    /// Texts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) text: Option<&'a str>,
    /// Images: URL or data URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) image_url: Option<Cow<'a, str>>,
    /// Files: data URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) file_data: Option<String>,
    /// Files: URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) file_url: Option<&'a str>,
    /// Images and files: a provider file id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) file_id: Option<&'a str>,
    /// Files: the name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) filename: Option<&'a str>,
    /// Images: `auto`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<&'static str>,
}

impl<'a> PartOut<'a> {
    /// A part of type `kind` with nothing else set.
    pub(crate) fn new(kind: &'static str) -> Self {
        PartOut {
            kind,
            text: None,
            image_url: None,
            file_data: None,
            file_url: None,
            file_id: None,
            filename: None,
            detail: None,
        }
    }
}

/// A tool schema as OpenAI accepts it, written without copying: the root loses `$schema` and
/// gets `type: object` when it has no type, and every object schema node gets `properties`
/// when it has none (property names are never taken for schema nodes).
pub(crate) struct OpenAiSchema<'a> {
    /// The schema node.
    pub(crate) value: &'a Value,
    /// Whether this is the root.
    pub(crate) root: bool,
}

impl<'a> OpenAiSchema<'a> {
    fn child(value: &'a Value) -> Self {
        OpenAiSchema { value, root: false }
    }
}

/// Schema nodes held by a map of names.
struct SchemaMap<'a>(&'a serde_json::Map<String, Value>);

impl Serialize for SchemaMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, &OpenAiSchema::child(v))?;
        }
        map.end()
    }
}

/// Schema nodes held by a list.
struct SchemaList<'a>(&'a [Value]);

impl Serialize for SchemaList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for v in self.0 {
            seq.serialize_element(&OpenAiSchema::child(v))?;
        }
        seq.end()
    }
}

/// An empty object.
struct Empty;

impl Serialize for Empty {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_map(Some(0))?.end()
    }
}

impl Serialize for OpenAiSchema<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let node = match self.value {
            Value::Object(node) => node,
            _ if self.root => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", "object")?;
                map.serialize_entry("properties", &Empty)?;
                return map.end();
            }
            other => return other.serialize(serializer),
        };
        let add_type = self.root && !node.contains_key("type");
        let is_object = add_type || node.get("type").and_then(Value::as_str) == Some("object");
        let add_properties = is_object && !node.contains_key("properties");
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in node {
            match (key.as_str(), value) {
                ("$schema", _) if self.root => {}
                (
                    "properties" | "patternProperties" | "$defs" | "definitions",
                    Value::Object(m),
                ) => map.serialize_entry(key, &SchemaMap(m))?,
                ("items" | "additionalProperties" | "not", v) => {
                    map.serialize_entry(key, &OpenAiSchema::child(v))?
                }
                ("anyOf" | "oneOf" | "allOf" | "prefixItems", Value::Array(list)) => {
                    map.serialize_entry(key, &SchemaList(list))?
                }
                _ => map.serialize_entry(key, value)?,
            }
        }
        if add_type {
            map.serialize_entry("type", "object")?;
        }
        if add_properties {
            map.serialize_entry("properties", &Empty)?;
        }
        map.end()
    }
}

/// A whole response object toward a Responses client.
#[derive(Serialize)]
pub(crate) struct ResponseOut<'a> {
    /// `resp_…`.
    pub(crate) id: &'a str,
    /// `response`.
    pub(crate) object: &'static str,
    /// Unix seconds.
    pub(crate) created_at: u64,
    /// `completed|incomplete`.
    pub(crate) status: &'a str,
    /// Always `false`.
    pub(crate) background: bool,
    /// Always `null`.
    pub(crate) error: Option<()>,
    /// Why it is incomplete.
    pub(crate) incomplete_details: Option<ReasonOut>,
    /// Always `null`.
    pub(crate) instructions: Option<()>,
    /// Always `null`.
    pub(crate) max_output_tokens: Option<()>,
    /// The client's model.
    pub(crate) model: &'a str,
    /// The output items.
    pub(crate) output: Vec<OutputItem<'a>>,
    /// Always `true`.
    pub(crate) parallel_tool_calls: bool,
    /// Always `null`.
    pub(crate) previous_response_id: Option<()>,
    /// Always nulls.
    pub(crate) reasoning: NullReasoning,
    /// Always `false`.
    pub(crate) store: bool,
    /// Always `null`.
    pub(crate) temperature: Option<()>,
    /// Always text.
    pub(crate) text: TextFormatText,
    /// Always `auto`.
    pub(crate) tool_choice: &'static str,
    /// Always empty.
    pub(crate) tools: [(); 0],
    /// Always `null`.
    pub(crate) top_p: Option<()>,
    /// Always `disabled`.
    pub(crate) truncation: &'static str,
    /// Token counts.
    pub(crate) usage: Option<UsageOut>,
    /// Always `null`.
    pub(crate) user: Option<()>,
    /// Always empty.
    pub(crate) metadata: Empty2,
}

/// `{}`.
#[derive(Serialize, Default)]
pub(crate) struct Empty2 {}

/// `{"effort": null, "summary": null}`.
#[derive(Serialize, Default)]
pub(crate) struct NullReasoning {
    effort: Option<()>,
    summary: Option<()>,
}

/// `{"format": {"type": "text"}}`.
#[derive(Serialize, Default)]
pub(crate) struct TextFormatText {
    format: TypeText,
}

/// `{"type": "text"}`.
#[derive(Serialize)]
struct TypeText {
    #[serde(rename = "type")]
    kind: &'static str,
}

impl Default for TypeText {
    fn default() -> Self {
        TypeText { kind: "text" }
    }
}

/// `incomplete_details`.
#[derive(Serialize)]
pub(crate) struct ReasonOut {
    /// The reason.
    pub(crate) reason: &'static str,
}

/// The `usage` object.
#[derive(Serialize)]
pub(crate) struct UsageOut {
    input_tokens: u64,
    input_tokens_details: InputDetailsOut,
    output_tokens: u64,
    output_tokens_details: OutputDetailsOut,
    total_tokens: u64,
}

#[derive(Serialize)]
struct InputDetailsOut {
    cached_tokens: u64,
    cache_write_tokens: u64,
}

#[derive(Serialize)]
struct OutputDetailsOut {
    reasoning_tokens: u64,
}

impl From<&Usage> for UsageOut {
    fn from(usage: &Usage) -> Self {
        UsageOut {
            input_tokens: usage.input,
            input_tokens_details: InputDetailsOut {
                cached_tokens: usage.cached,
                cache_write_tokens: usage.cache_write,
            },
            output_tokens: usage.output,
            output_tokens_details: OutputDetailsOut {
                reasoning_tokens: usage.reasoning,
            },
            total_tokens: usage.total(),
        }
    }
}

/// An output item of a response.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum OutputItem<'a> {
    /// A message with one text.
    Message {
        /// `msg_…`.
        id: String,
        /// `message`.
        #[serde(rename = "type")]
        kind: &'static str,
        /// The item status.
        status: &'a str,
        /// `assistant`.
        role: &'static str,
        /// One output text.
        content: [OutputText<'a>; 1],
    },
    /// A reasoning item.
    Reasoning {
        /// `rs_…`.
        id: String,
        /// `reasoning`.
        #[serde(rename = "type")]
        kind: &'static str,
        /// The summary texts.
        summary: Vec<SummaryOut<'a>>,
        /// The opaque state.
        #[serde(skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
    },
    /// A tool call.
    Call {
        /// `fc_…` / `ctc_…`.
        id: String,
        /// `function_call|custom_tool_call`.
        #[serde(rename = "type")]
        kind: &'static str,
        /// The item status.
        status: &'a str,
        /// The call id.
        call_id: Cow<'a, str>,
        /// The tool's own name.
        name: &'a str,
        /// Function calls: JSON arguments.
        #[serde(skip_serializing_if = "Option::is_none")]
        arguments: Option<&'a str>,
        /// Custom calls: the raw input.
        #[serde(skip_serializing_if = "Option::is_none")]
        input: Option<String>,
        /// Namespaced tools: the namespace.
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace: Option<&'a str>,
    },
}

/// An `output_text` part.
#[derive(Serialize)]
pub(crate) struct OutputText<'a> {
    /// `output_text`.
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    /// The text.
    pub(crate) text: Cow<'a, str>,
    /// Always empty.
    pub(crate) annotations: [(); 0],
    /// Always empty.
    pub(crate) logprobs: [(); 0],
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn written(value: &Value) -> Value {
        serde_json::to_value(OpenAiSchema { value, root: true }).unwrap()
    }

    #[test]
    fn schemas_are_written_as_openai_accepts_them() {
        let schema = json!({
            "$schema": "x",
            "properties": {
                "type": {"type": "object"},
                "list": {"type": "array", "items": {"type": "object"}},
                "either": {"anyOf": [{"type": "object"}, {"type": "string"}]},
                "open": {"type": "object", "additionalProperties": true}
            }
        });
        assert_eq!(
            written(&schema),
            json!({
                "type": "object",
                "properties": {
                    "type": {"type": "object", "properties": {}},
                    "list": {"type": "array", "items": {"type": "object", "properties": {}}},
                    "either": {"anyOf": [{"type": "object", "properties": {}}, {"type": "string"}]},
                    "open": {"type": "object", "additionalProperties": true, "properties": {}}
                }
            })
        );
        assert_eq!(
            written(&json!(null)),
            json!({"type": "object", "properties": {}})
        );
        let nested = json!({"type": "object", "properties": {"a": {"$schema": "kept"}}});
        assert_eq!(written(&nested), nested);
    }
}
