//! Encode-side chat wire types: they borrow from the hub's structures and are serialized
//! straight into the output bytes (no `serde_json::Value` tree is built).

use std::borrow::Cow;
use std::fmt;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::wire::ChatUsage;

/// An upstream `/chat/completions` body.
#[derive(Serialize)]
pub(super) struct OutRequest<'a> {
    /// The model.
    pub(super) model: &'a str,
    /// The conversation.
    pub(super) messages: Vec<OutMessage<'a>>,
    /// Function tools.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) tools: Vec<OutTool<'a>>,
    /// Several tool calls per turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) parallel_tool_calls: Option<bool>,
    /// The tool choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) tool_choice: Option<OutToolChoice<'a>>,
    /// The token limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max_tokens: Option<u64>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) top_p: Option<f64>,
    /// Stop sequences.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub(super) stop: &'a [String],
    /// How many choices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) n: Option<u32>,
    /// Text, JSON mode or a JSON schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) response_format: Option<OutFormat<'a>>,
    /// The reasoning effort.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) reasoning_effort: Option<&'static str>,
    /// The end user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) user: Option<&'a str>,
    /// Stream the answer.
    pub(super) stream: bool,
    /// `{"include_usage": true}` on streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) stream_options: Option<IncludeUsage>,
}

/// `stream_options` as sent upstream.
#[derive(Serialize)]
pub(super) struct IncludeUsage {
    /// Always true.
    pub(super) include_usage: bool,
}

/// One function tool.
#[derive(Serialize)]
pub(super) struct OutTool<'a> {
    /// Always `function`.
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    /// The declaration.
    pub(super) function: OutFunction<'a>,
}

/// A tool's declaration.
#[derive(Serialize)]
pub(super) struct OutFunction<'a> {
    /// The tool name.
    pub(super) name: &'a str,
    /// What it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) description: Option<&'a str>,
    /// Its parameters schema, made acceptable to OpenAI while written.
    pub(super) parameters: OpenAiSchema<'a>,
    /// Strict schema adherence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) strict: Option<bool>,
}

/// `tool_choice`.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum OutToolChoice<'a> {
    /// `auto`, `none` or `required`.
    Mode(&'static str),
    /// One named function.
    Function {
        /// Always `function`.
        #[serde(rename = "type")]
        kind: &'static str,
        /// The function.
        function: NameOnly<'a>,
    },
}

/// `{"name": …}`.
#[derive(Serialize)]
pub(super) struct NameOnly<'a> {
    /// The name.
    pub(super) name: &'a str,
}

/// `response_format`.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum OutFormat<'a> {
    /// Plain text.
    Text,
    /// JSON mode.
    JsonObject,
    /// A JSON schema.
    JsonSchema {
        /// The schema and its name.
        json_schema: OutSchemaSpec<'a>,
    },
}

/// `response_format.json_schema`.
#[derive(Serialize)]
pub(super) struct OutSchemaSpec<'a> {
    /// The schema's name.
    pub(super) name: &'a str,
    /// The schema.
    pub(super) schema: &'a Value,
    /// Strict adherence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) strict: Option<bool>,
}

/// One chat message as sent.
#[derive(Serialize)]
pub(super) struct OutMessage<'a> {
    /// `system|user|assistant|tool`.
    pub(super) role: &'static str,
    /// A tool message: the call it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) tool_call_id: Option<&'a str>,
    /// The content (`null` on a tool-calling assistant message without text).
    pub(super) content: OutContent<'a>,
    /// The assistant's reasoning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) reasoning_content: Option<Cow<'a, str>>,
    /// The assistant's tool calls.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) tool_calls: Vec<OutCall<'a>>,
}

/// Message content: `null`, a string or parts.
pub(super) enum OutContent<'a> {
    /// `null`.
    Null,
    /// A string.
    Text(Cow<'a, str>),
    /// Parts.
    Parts(Vec<OutPart<'a>>),
}

impl Serialize for OutContent<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OutContent::Null => serializer.serialize_unit(),
            OutContent::Text(text) => serializer.serialize_str(text),
            OutContent::Parts(parts) => parts.serialize(serializer),
        }
    }
}

/// One content part as sent.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum OutPart<'a> {
    /// Text.
    Text {
        /// The text.
        text: &'a str,
    },
    /// An image.
    ImageUrl {
        /// The image.
        image_url: OutImage<'a>,
    },
    /// A file.
    File {
        /// The file.
        file: OutFile<'a>,
    },
}

/// `image_url` as sent.
#[derive(Serialize)]
pub(super) struct OutImage<'a> {
    /// A URL or data URL.
    pub(super) url: UrlOrData<'a>,
}

/// `file` as sent.
#[derive(Serialize)]
pub(super) struct OutFile<'a> {
    /// The file name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) filename: Option<&'a str>,
    /// The bytes as a data URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) file_data: Option<UrlOrData<'a>>,
    /// An uploaded file's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) file_id: Option<&'a str>,
}

/// A URL, or `data:<type>;base64,<data>` written without building the string first.
pub(super) enum UrlOrData<'a> {
    /// A URL as is.
    Url(&'a str),
    /// A data URL: media type and base64 data.
    Data(&'a str, &'a str),
}

impl Serialize for UrlOrData<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            UrlOrData::Url(url) => serializer.serialize_str(url),
            UrlOrData::Data(media_type, data) => serializer.collect_str(&DataUrl(media_type, data)),
        }
    }
}

/// Displays as a data URL.
struct DataUrl<'a>(&'a str, &'a str);

impl fmt::Display for DataUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "data:{};base64,{}", self.0, self.1)
    }
}

/// An assistant's tool call as sent.
#[derive(Serialize)]
pub(super) struct OutCall<'a> {
    /// The call id.
    pub(super) id: &'a str,
    /// Always `function`.
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    /// Name and arguments.
    pub(super) function: OutCallFunction<'a>,
}

/// A call's function.
#[derive(Serialize)]
pub(super) struct OutCallFunction<'a> {
    /// The tool name.
    pub(super) name: &'a str,
    /// JSON text of the arguments.
    pub(super) arguments: &'a str,
}

/// A whole `chat.completion` as sent to a client.
#[derive(Serialize)]
pub(super) struct OutCompletion<'a> {
    /// The answer's id.
    pub(super) id: &'a str,
    /// `chat.completion`.
    pub(super) object: &'static str,
    /// Unix seconds.
    pub(super) created: u64,
    /// The model.
    pub(super) model: &'a str,
    /// The one choice.
    pub(super) choices: [OutChoice<'a>; 1],
    /// Token counts.
    pub(super) usage: ChatUsage,
}

/// The answer's choice.
#[derive(Serialize)]
pub(super) struct OutChoice<'a> {
    /// Always 0.
    pub(super) index: u32,
    /// The message.
    pub(super) message: OutAnswer<'a>,
    /// Always `null`.
    pub(super) logprobs: Option<()>,
    /// Why generation stopped.
    pub(super) finish_reason: &'static str,
}

/// The answer's message.
#[derive(Serialize)]
pub(super) struct OutAnswer<'a> {
    /// `assistant`.
    pub(super) role: &'static str,
    /// The text (`null` when only tools were called).
    pub(super) content: Option<Cow<'a, str>>,
    /// Always `null`.
    pub(super) refusal: Option<()>,
    /// The reasoning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) reasoning_content: Option<Cow<'a, str>>,
    /// The tool calls.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) tool_calls: Vec<OutCall<'a>>,
}

/// Appends `piece` to `acc`, borrowing while there is only one piece.
pub(super) fn push_cow<'a>(acc: &mut Option<Cow<'a, str>>, piece: &'a str, separator: &str) {
    match acc {
        None => *acc = Some(Cow::Borrowed(piece)),
        Some(text) => {
            let text = text.to_mut();
            text.push_str(separator);
            text.push_str(piece);
        }
    }
}

/// A tool's parameters as OpenAI's APIs take them, written from the borrowed schema: an
/// object schema at the root (`type` defaulted, `$schema` left out) whose object nodes all
/// have `properties`.
pub(super) struct OpenAiSchema<'a>(pub(super) &'a Value);

impl Serialize for OpenAiSchema<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(_) => Node {
                value: self.0,
                root: true,
            }
            .serialize(serializer),
            _ => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", "object")?;
                map.serialize_entry("properties", &EmptyObject)?;
                map.end()
            }
        }
    }
}

/// `{}`.
struct EmptyObject;

impl Serialize for EmptyObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_map(Some(0))?.end()
    }
}

/// One schema node (objects get `properties` when they are of type object).
struct Node<'a> {
    /// The node.
    value: &'a Value,
    /// The root (drops `$schema`, defaults `type`).
    root: bool,
}

impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(node) = self.value else {
            return self.value.serialize(serializer);
        };
        let kind = node.get("type");
        let missing_type = self.root && kind.is_none();
        let is_object = missing_type || kind.and_then(Value::as_str) == Some("object");
        let missing_properties = is_object && !node.contains_key("properties");
        let mut map = serializer.serialize_map(None)?;
        if missing_type {
            map.serialize_entry("type", "object")?;
        }
        if missing_properties {
            map.serialize_entry("properties", &EmptyObject)?;
        }
        for (key, value) in node {
            match (key.as_str(), value) {
                ("$schema", _) if self.root => {}
                (
                    "properties" | "patternProperties" | "$defs" | "definitions",
                    Value::Object(_),
                ) => map.serialize_entry(key, &Children(value))?,
                ("items" | "additionalProperties" | "not", value) => {
                    map.serialize_entry(key, &Node { value, root: false })?
                }
                ("anyOf" | "oneOf" | "allOf" | "prefixItems", Value::Array(_)) => {
                    map.serialize_entry(key, &Children(value))?
                }
                _ => map.serialize_entry(key, value)?,
            }
        }
        map.end()
    }
}

/// A map or list whose values are all schema nodes.
struct Children<'a>(&'a Value);

impl Serialize for Children<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let child = |value| Node { value, root: false };
        match self.0 {
            Value::Object(children) => {
                let mut map = serializer.serialize_map(Some(children.len()))?;
                for (key, value) in children {
                    map.serialize_entry(key, &child(value))?;
                }
                map.end()
            }
            Value::Array(children) => {
                let mut seq = serializer.serialize_seq(Some(children.len()))?;
                for value in children {
                    seq.serialize_element(&child(value))?;
                }
                seq.end()
            }
            other => other.serialize(serializer),
        }
    }
}
