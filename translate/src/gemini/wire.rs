//! Serde mirrors of the Gemini `generateContent` wire schema: requests, answers and stream
//! chunks. Keys are written in camelCase and read in camelCase or snake_case (the REST API
//! accepts both; clients send both).

use std::borrow::Cow;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

fn is_false(value: &bool) -> bool {
    !*value
}

/// A `generateContent` request body.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerateContentRequest<'a> {
    /// `models/<name>` (only the count request's inner request carries it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) model: Option<String>,
    /// The conversation.
    #[serde(borrow, default)]
    pub(crate) contents: Vec<Content<'a>>,
    /// System instructions.
    #[serde(
        borrow,
        default,
        alias = "system_instruction",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) system_instruction: Option<Content<'a>>,
    /// Tool declarations (functions and built-in tools).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) tools: Vec<Tool>,
    /// How functions may be called.
    #[serde(
        default,
        alias = "tool_config",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) tool_config: Option<ToolConfig>,
    /// Sampling and output settings.
    #[serde(
        default,
        alias = "generation_config",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) generation_config: Option<GenerationConfig>,
    /// A context cache name (only Gemini can resolve it).
    #[serde(
        default,
        alias = "cached_content",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) cached_content: Option<Value>,
    /// Not Gemini's: some clients say `stream` in the body.
    #[serde(default, skip_serializing)]
    pub(crate) stream: Option<bool>,
}

/// One turn: a role and its parts.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct Content<'a> {
    /// `user` or `model` (`function`/`tool` read as `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) role: Option<String>,
    /// The parts, in order.
    #[serde(borrow, default)]
    pub(crate) parts: Vec<WirePart<'a>>,
}

/// One part of a turn.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WirePart<'a> {
    /// Text (a thought when `thought` is set).
    #[serde(
        deserialize_with = "optional_cow",
        borrow,
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) text: Option<Cow<'a, str>>,
    /// The text is the model's reasoning.
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "null_false"
    )]
    pub(crate) thought: bool,
    /// The opaque signature of the model's reasoning up to this part.
    #[serde(
        deserialize_with = "optional_cow",
        borrow,
        default,
        alias = "thought_signature",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) thought_signature: Option<Cow<'a, str>>,
    /// Inline bytes.
    #[serde(
        borrow,
        default,
        alias = "inline_data",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) inline_data: Option<Blob<'a>>,
    /// A file by URI.
    #[serde(default, alias = "file_data", skip_serializing_if = "Option::is_none")]
    pub(crate) file_data: Option<FileData>,
    /// A function call by the model.
    #[serde(
        default,
        alias = "function_call",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) function_call: Option<FunctionCall<'a>>,
    /// A function's result, sent by the client.
    #[serde(
        default,
        alias = "function_response",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) function_response: Option<FunctionResponse<'a>>,
}

fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.map(|k| k.max(0.0) as u64))
}

/// A string borrowed from the input when it has no escapes.
#[derive(Deserialize)]
struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);

fn optional_cow<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    Ok(Option::<Borrowed<'a>>::deserialize(d)?.map(|b| b.0))
}

fn null_false<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

/// Inline bytes.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Blob<'a> {
    /// The MIME type.
    #[serde(borrow, default, alias = "mime_type")]
    pub(crate) mime_type: Cow<'a, str>,
    /// Base64 data.
    #[serde(borrow, default)]
    pub(crate) data: Cow<'a, str>,
}

/// A file by URI.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileData {
    /// The MIME type, when given.
    #[serde(default, alias = "mime_type", skip_serializing_if = "Option::is_none")]
    pub(crate) mime_type: Option<String>,
    /// The file's URI.
    #[serde(default, alias = "file_uri")]
    pub(crate) file_uri: String,
}

/// A function call.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct FunctionCall<'a> {
    /// An id, when the caller gave one (Gemini usually does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    /// The function's name.
    #[serde(default)]
    pub(crate) name: String,
    /// The arguments object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) args: Option<Json<'a>>,
}

/// A function's result.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct FunctionResponse<'a> {
    /// The id of the call it answers, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    /// The function's name.
    #[serde(default)]
    pub(crate) name: String,
    /// The result object.
    #[serde(default)]
    pub(crate) response: Option<Json<'a>>,
}

/// A free-form JSON value of a part: parsed when read; when written, borrowed JSON text (no
/// tree is built) or a one-key object.
#[derive(Debug)]
pub(crate) enum Json<'a> {
    /// Read from a body.
    Value(Value),
    /// JSON text known to be valid, written as it is.
    Raw(&'a RawValue),
    /// `{}`.
    EmptyObject,
    /// `{key: text}`.
    Wrapped(&'static str, Cow<'a, str>),
}

impl Json<'_> {
    /// The value read from a body (`None` for one built to be written).
    pub(crate) fn value(&self) -> Option<&Value> {
        match self {
            Json::Value(value) => Some(value),
            _ => None,
        }
    }
}

impl Serialize for Json<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Value(value) => value.serialize(s),
            Json::Raw(raw) => raw.serialize(s),
            Json::EmptyObject => s.serialize_map(Some(0))?.end(),
            Json::Wrapped(key, text) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry(key, text)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json<'_> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Json::Value)
    }
}

/// One `tools[]` entry: function declarations, or a built-in tool (kept as raw keys).
///
/// Read by hand rather than through `flatten`, which would buffer the whole entry (schemas
/// included) before reading it a second time.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Tool {
    /// Function declarations.
    #[serde(
        default,
        alias = "function_declarations",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) function_declarations: Option<Vec<FunctionDeclaration>>,
    /// Any other key: a built-in tool (`googleSearch`, `codeExecution` …).
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

impl<'de> Deserialize<'de> for Tool {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> serde::de::Visitor<'de> for Entry {
            type Value = Tool;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a tool object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Tool, A::Error> {
                let mut tool = Tool::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match &*key {
                        "functionDeclarations" | "function_declarations" => {
                            if tool.function_declarations.is_some() {
                                return Err(serde::de::Error::duplicate_field(
                                    "functionDeclarations",
                                ));
                            }
                            tool.function_declarations = map.next_value()?;
                        }
                        _ => {
                            let value = map.next_value::<Value>()?;
                            tool.other.insert(key.into_owned(), value);
                        }
                    }
                }
                Ok(tool)
            }
        }
        d.deserialize_map(Entry)
    }
}

/// A function the model may call.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionDeclaration {
    /// Its name.
    #[serde(default)]
    pub(crate) name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    /// An OpenAPI-subset schema of its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) parameters: Option<Value>,
    /// A JSON Schema of its arguments.
    #[serde(
        default,
        alias = "parameters_json_schema",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) parameters_json_schema: Option<Value>,
}

/// `toolConfig`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolConfig {
    /// How functions may be called.
    #[serde(
        default,
        alias = "function_calling_config",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) function_calling_config: Option<FunctionCallingConfig>,
}

/// `toolConfig.functionCallingConfig`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionCallingConfig {
    /// `AUTO`, `ANY`, `NONE` or `VALIDATED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mode: Option<String>,
    /// With `ANY`: the functions allowed.
    #[serde(
        default,
        alias = "allowed_function_names",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) allowed_function_names: Vec<String>,
}

/// `generationConfig`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerationConfig {
    /// The most tokens to generate.
    #[serde(
        default,
        alias = "max_output_tokens",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) max_output_tokens: Option<u64>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, alias = "top_p", skip_serializing_if = "Option::is_none")]
    pub(crate) top_p: Option<f64>,
    /// Top-k sampling (read from any number, written as an integer).
    #[serde(
        default,
        alias = "top_k",
        deserialize_with = "whole_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) top_k: Option<u64>,
    /// Stop sequences.
    #[serde(
        default,
        alias = "stop_sequences",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) stop_sequences: Vec<String>,
    /// How many candidates.
    #[serde(
        default,
        alias = "candidate_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) candidate_count: Option<u32>,
    /// `text/plain`, `application/json` or `text/x.enum`.
    #[serde(
        default,
        alias = "response_mime_type",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) response_mime_type: Option<String>,
    /// An OpenAPI-subset schema of the answer.
    #[serde(
        default,
        alias = "response_schema",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) response_schema: Option<Value>,
    /// A JSON Schema of the answer.
    #[serde(
        default,
        alias = "response_json_schema",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) response_json_schema: Option<Value>,
    /// Output modalities (`TEXT`, `IMAGE`, `AUDIO`).
    #[serde(
        default,
        alias = "response_modalities",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) response_modalities: Vec<String>,
    /// Speech output settings (only Gemini can take them).
    #[serde(
        default,
        alias = "speech_config",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) speech_config: Option<Value>,
    /// Reasoning settings.
    #[serde(
        default,
        alias = "thinking_config",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) thinking_config: Option<ThinkingConfig>,
}

/// `generationConfig.thinkingConfig`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ThinkingConfig {
    /// Return thoughts.
    #[serde(
        default,
        alias = "include_thoughts",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) include_thoughts: Option<bool>,
    /// A token budget: 0 off, -1 dynamic.
    #[serde(
        default,
        alias = "thinking_budget",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) thinking_budget: Option<i64>,
    /// A level (Gemini 3): `minimal|low|medium|high`.
    #[serde(
        default,
        alias = "thinking_level",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) thinking_level: Option<String>,
}

/// A whole answer, or one stream chunk.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerateContentResponse<'a> {
    /// The candidates (switchyard reads the first).
    #[serde(borrow, default)]
    pub(crate) candidates: Vec<Candidate<'a>>,
    /// Why the prompt was blocked, when it was.
    #[serde(
        default,
        alias = "prompt_feedback",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) prompt_feedback: Option<PromptFeedback>,
    /// Token counts.
    #[serde(
        default,
        alias = "usage_metadata",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) usage_metadata: Option<UsageMetadata>,
    /// The model that answered.
    #[serde(
        default,
        alias = "model_version",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) model_version: Option<String>,
    /// The answer's id.
    #[serde(
        default,
        alias = "response_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) response_id: Option<String>,
    /// RFC 3339 time of the answer.
    #[serde(
        default,
        alias = "create_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) create_time: Option<String>,
    /// An error object (in a stream).
    #[serde(default, skip_serializing)]
    pub(crate) error: Option<Value>,
}

/// One candidate answer.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Candidate<'a> {
    /// Its content.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub(crate) content: Option<Content<'a>>,
    /// Why it stopped.
    #[serde(
        default,
        alias = "finish_reason",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) finish_reason: Option<String>,
    /// Its index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) index: Option<u32>,
}

/// `promptFeedback`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromptFeedback {
    /// Why the prompt was blocked.
    #[serde(
        default,
        alias = "block_reason",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) block_reason: Option<String>,
}

/// `usageMetadata`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageMetadata {
    /// Prompt tokens (cached ones included).
    #[serde(
        default,
        alias = "prompt_token_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) prompt_token_count: Option<u64>,
    /// Of the prompt: read from the context cache.
    #[serde(
        default,
        alias = "cached_content_token_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) cached_content_token_count: Option<u64>,
    /// Generated tokens, thoughts excluded.
    #[serde(
        default,
        alias = "candidates_token_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) candidates_token_count: Option<u64>,
    /// Thought tokens.
    #[serde(
        default,
        alias = "thoughts_token_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) thoughts_token_count: Option<u64>,
    /// Everything.
    #[serde(
        default,
        alias = "total_token_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) total_token_count: Option<u64>,
}
