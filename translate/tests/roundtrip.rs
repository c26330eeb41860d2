//! Property tests of the hub: A→B→A round trips of requests, answers and streams between every
//! pair of protocols, and every encoded body checked against serde mirrors of the protocol's
//! schema (required fields required).
//!
//! What the hub promises and these properties check:
//! - Roles and text survive, modulo merges every protocol may do: consecutive turns of one
//!   role are one turn (tool results and the user text after them), and system text is one
//!   string joined with `"\n\n"`.
//! - Tool-call ids, names and arguments (compared as parsed JSON) survive; tool results keep
//!   their call id and text.
//! - `max_tokens` and `temperature` survive.
//! - Usage: input, cached and output survive every pair; reasoning tokens survive where both
//!   protocols carry them (Anthropic Messages has no reasoning count).
//!
//! Documented limits (protocol, not codec): a tool result's `is_error` exists only in
//! Anthropic Messages (and Gemini), so the generator leaves it false; Gemini has no call ids,
//! so ids are generated on the way out of a Gemini answer and only their pairing is checked.

use proptest::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use switchyard_translate::ir::{
    Block, Delta, Event, Finish, Message, Part, Request, Response, Role, Tool, Usage,
};
use switchyard_translate::sse::SseReader;
use switchyard_translate::{
    Aggregator, ClientView, Format, NameMap, RequestOptions, decode_request, decode_response,
    encode_request, encode_response, testing, translate_request,
};

/// Every protocol whose codec is written.
const FORMATS: &[Format] = &[
    Format::Chat,
    Format::Responses,
    Format::Claude,
    Format::Gemini,
];

// ---------------------------------------------------------------------------------------------
// Strategies.

fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,10}"
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9 .,!?é漢\"\\\\\n]{0,40}[a-zA-Z0-9.!?]"
}

fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        text().prop_map(Value::String),
        any::<i32>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
    ]
}

fn arguments() -> impl Strategy<Value = String> {
    prop::collection::btree_map(ident(), json_scalar(), 0..4)
        .prop_map(|map| Value::Object(map.into_iter().collect()).to_string())
}

/// Tool names: mostly short identifiers, sometimes one longer than the 64 characters some
/// protocols allow (the name map shortens it and restores it).
fn tool_names() -> impl Strategy<Value = Vec<String>> {
    (
        prop::collection::btree_set(ident(), 1..5),
        prop::option::weighted(0.2, "[a-z]{70,80}"),
    )
        .prop_map(|(set, long)| {
            let mut names: Vec<String> = set.into_iter().map(|n| format!("t_{n}")).collect();
            names.extend(long);
            names
        })
}

fn tool(name: String) -> impl Strategy<Value = Tool> {
    (
        prop::option::of(text()),
        prop::collection::btree_set(ident(), 0..4),
    )
        .prop_map(move |(description, props)| {
            let properties: serde_json::Map<String, Value> = props
                .iter()
                .map(|p| (p.clone(), serde_json::json!({"type": "string"})))
                .collect();
            Tool {
                name: name.clone(),
                description,
                parameters: serde_json::json!({
                    "type": "object",
                    "properties": properties,
                    "required": props.iter().take(1).collect::<Vec<_>>(),
                }),
                strict: None,
                cache_control: None,
            }
        })
}

/// One exchange of the conversation: the user's text, then the assistant's optional text and
/// calls (answered at the start of the next user turn).
type Turn = (String, Option<String>, Vec<(usize, String)>);

fn turn() -> impl Strategy<Value = Turn> {
    (
        text(),
        prop::option::of(text()),
        prop::collection::vec((any::<usize>(), arguments()), 0..3),
    )
}

fn request() -> impl Strategy<Value = Request> {
    tool_names()
        .prop_flat_map(|names| {
            let tools: Vec<_> = names.into_iter().map(tool).collect();
            (
                tools,
                prop::collection::vec(text(), 0..3),
                prop::collection::vec(turn(), 1..5),
                text(),
                1u64..100_000,
                prop::option::of((0u32..=10).prop_map(|t| f64::from(t) / 10.0)),
                "[a-zA-Z0-9]{4,10}",
            )
        })
        .prop_map(
            |(tools, system, turns, last, max_tokens, temperature, salt)| {
                let mut messages = Vec::new();
                let mut pending: Vec<(String, String, String)> = Vec::new();
                for (i, (user, answer, calls)) in turns.into_iter().enumerate() {
                    let mut parts: Vec<Part> = pending
                        .drain(..)
                        .map(|(id, name, result)| Part::ToolResult {
                            call_id: id,
                            name: Some(name),
                            content: vec![Part::text(result)],
                            is_error: false,
                        })
                        .collect();
                    parts.push(Part::text(user));
                    messages.push(Message {
                        role: Role::User,
                        parts,
                    });
                    let mut parts: Vec<Part> = answer.into_iter().map(Part::text).collect();
                    for (j, (pick, arguments)) in calls.into_iter().enumerate() {
                        let id = format!("call_{salt}_{i}_{j}");
                        let name = tools[pick % tools.len()].name.clone();
                        pending.push((id.clone(), name.clone(), format!("result of {id}")));
                        parts.push(Part::ToolCall {
                            id,
                            name,
                            arguments,
                            signature: None,
                        });
                    }
                    if parts.is_empty() {
                        parts.push(Part::text("ok"));
                    }
                    messages.push(Message {
                        role: Role::Assistant,
                        parts,
                    });
                }
                let mut parts: Vec<Part> = pending
                    .drain(..)
                    .map(|(id, name, result)| Part::ToolResult {
                        call_id: id,
                        name: Some(name),
                        content: vec![Part::text(result)],
                        is_error: false,
                    })
                    .collect();
                parts.push(Part::text(last));
                messages.push(Message {
                    role: Role::User,
                    parts,
                });
                Request {
                    model: "model-x".into(),
                    system: system.into_iter().map(Part::text).collect(),
                    messages,
                    tools,
                    max_tokens: Some(max_tokens),
                    temperature,
                    ..Request::default()
                }
            },
        )
}

fn usage() -> impl Strategy<Value = Usage> {
    (0u64..1_000_000, 0u64..1_000_000)
        .prop_flat_map(|(input, output)| (Just(input), 0..=input, Just(output), 0..=output))
        .prop_map(|(input, cached, output, reasoning)| Usage {
            input,
            cached,
            cache_write: 0,
            output,
            reasoning,
        })
}

/// A hub answer calling only `names` (the tools of the request it answers).
fn response(names: Vec<String>) -> impl Strategy<Value = Response> {
    (
        prop::option::of(text()),
        prop::collection::vec((any::<usize>(), arguments()), 0..3),
        usage(),
        any::<bool>(),
        "[a-zA-Z0-9]{4,10}",
    )
        .prop_map(move |(answer, calls, usage, long, salt)| {
            let mut content: Vec<Part> = answer.into_iter().map(Part::text).collect();
            let finish = if calls.is_empty() {
                if long { Finish::Length } else { Finish::Stop }
            } else {
                Finish::ToolCalls
            };
            for (j, (pick, arguments)) in calls.into_iter().enumerate() {
                content.push(Part::ToolCall {
                    id: format!("call_{salt}_{j}"),
                    name: names[pick % names.len()].clone(),
                    arguments,
                    signature: None,
                });
            }
            if content.is_empty() {
                content.push(Part::text("done."));
            }
            Response {
                id: format!("resp_{salt}"),
                model: "model-x".into(),
                created: Some(1_700_000_000),
                content,
                finish,
                usage,
            }
        })
}

fn request_and_response() -> impl Strategy<Value = (Request, Response)> {
    request().prop_flat_map(|request| {
        let names = request.tools.iter().map(|t| t.name.clone()).collect();
        (Just(request), response(names))
    })
}

// ---------------------------------------------------------------------------------------------
// Projections: what the hub promises to keep.

/// A content item as compared.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Text(String),
    Call {
        id: String,
        name: String,
        arguments: Value,
    },
    Result {
        call_id: String,
        text: String,
    },
}

fn item(part: &Part) -> Option<Item> {
    match part {
        Part::Text { text, .. } => Some(Item::Text(text.clone())),
        Part::ToolCall {
            id,
            name,
            arguments,
            ..
        } => Some(Item::Call {
            id: id.clone(),
            name: name.clone(),
            arguments: serde_json::from_str(arguments).unwrap_or(Value::Null),
        }),
        Part::ToolResult {
            call_id, content, ..
        } => Some(Item::Result {
            call_id: call_id.clone(),
            text: content
                .iter()
                .filter_map(|p| match p {
                    Part::Text { text, .. } => Some(text.as_str()),
                    _ => None,
                })
                .collect(),
        }),
        _ => None,
    }
}

/// The conversation as (role, items), consecutive turns of one role merged.
fn turns(messages: &[Message]) -> Vec<(Role, Vec<Item>)> {
    let mut out: Vec<(Role, Vec<Item>)> = Vec::new();
    for message in messages {
        let items = message.parts.iter().filter_map(item);
        match out.last_mut() {
            Some((role, list)) if *role == message.role => list.extend(items),
            _ => out.push((message.role, items.collect())),
        }
    }
    out
}

fn system(request: &Request) -> String {
    request
        .system
        .iter()
        .filter_map(|p| match p {
            Part::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[derive(Debug, PartialEq)]
struct RequestView {
    system: String,
    turns: Vec<(Role, Vec<Item>)>,
    tools: Vec<(String, Option<String>)>,
    max_tokens: Option<u64>,
    temperature: Option<f64>,
}

/// The request as compared; with `positional`, call ids are replaced by their order of
/// appearance (Gemini carries no ids: only the pairing of calls and results is kept).
fn request_view(request: &Request, positional: bool) -> RequestView {
    let mut turns = turns(&request.messages);
    if positional {
        let mut ids = std::collections::HashMap::new();
        for (_, items) in &mut turns {
            for item in items {
                match item {
                    Item::Call { id, .. } => {
                        let n = ids.len();
                        *id = format!("#{}", ids.entry(id.clone()).or_insert(n));
                    }
                    Item::Result { call_id, .. } => {
                        *call_id = match ids.get(call_id.as_str()) {
                            Some(n) => format!("#{n}"),
                            None => format!("unanswered {call_id}"),
                        };
                    }
                    Item::Text(_) => {}
                }
            }
        }
    }
    RequestView {
        system: system(request),
        turns,
        tools: request
            .tools
            .iter()
            .map(|t| (t.name.clone(), t.description.clone()))
            .collect(),
        max_tokens: request.max_tokens,
        temperature: request.temperature,
    }
}

/// Writes the client's tool names back over an upstream's spelling.
fn restore_names(request: &mut Request, names: &NameMap) {
    for tool in &mut request.tools {
        tool.name = names.client(&tool.name);
    }
    for message in &mut request.messages {
        for part in &mut message.parts {
            if let Part::ToolCall { name, .. } = part {
                *name = names.client(name);
            }
        }
    }
}

fn view() -> ClientView {
    ClientView {
        model: "client-model".into(),
        id: "req_1".into(),
        created: 1_700_000_000,
        include_usage: true,
        gemini_sse: true,
        ..ClientView::default()
    }
}

fn options() -> RequestOptions<'static> {
    RequestOptions {
        upstream_model: "model-x",
        thinking: None,
        stream: None,
        client: view(),
    }
}

#[derive(Debug, PartialEq)]
struct ResponseView {
    content: Vec<Item>,
    finish: Finish,
    usage: (u64, u64, u64, Option<u64>),
}

/// Whether both protocols carry reasoning-token counts.
fn reasoning_carried(a: Format, b: Format) -> bool {
    a != Format::Claude && b != Format::Claude
}

fn response_view(response: &Response, reasoning: bool, ids: bool) -> ResponseView {
    let content = response
        .content
        .iter()
        .filter_map(item)
        .map(|item| match item {
            Item::Call {
                name, arguments, ..
            } if !ids => Item::Call {
                id: String::new(),
                name,
                arguments,
            },
            other => other,
        })
        .collect();
    let u = response.usage;
    ResponseView {
        content,
        finish: response.finish.clone(),
        usage: (
            u.input,
            u.cached,
            u.output,
            reasoning.then_some(u.reasoning),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Schema mirrors: the fields each protocol requires, required.

/// Mirror fields are read by serde only: their presence is the check.
#[allow(dead_code)]
mod chat {
    use super::*;

    #[derive(Deserialize)]
    pub(crate) struct Request {
        pub(crate) model: String,
        pub(crate) messages: Vec<Message>,
        #[serde(default)]
        pub(crate) tools: Vec<ToolDef>,
    }
    #[derive(Deserialize)]
    pub(crate) struct Message {
        pub(crate) role: String,
        #[serde(default)]
        pub(crate) content: Option<Value>,
        #[serde(default)]
        pub(crate) tool_calls: Option<Vec<ToolCall>>,
        #[serde(default)]
        pub(crate) tool_call_id: Option<String>,
    }
    #[derive(Deserialize)]
    pub(crate) struct ToolCall {
        pub(crate) id: String,
        #[serde(rename = "type")]
        pub(crate) kind: String,
        pub(crate) function: Function,
    }
    #[derive(Deserialize)]
    pub(crate) struct Function {
        pub(crate) name: String,
        pub(crate) arguments: String,
    }
    #[derive(Deserialize)]
    pub(crate) struct ToolDef {
        #[serde(rename = "type")]
        pub(crate) kind: String,
        pub(crate) function: FunctionDef,
    }
    #[derive(Deserialize)]
    pub(crate) struct FunctionDef {
        pub(crate) name: String,
        pub(crate) parameters: Value,
    }
    #[derive(Deserialize)]
    pub(crate) struct Completion {
        pub(crate) id: String,
        pub(crate) object: String,
        pub(crate) created: u64,
        pub(crate) model: String,
        pub(crate) choices: Vec<Choice>,
        pub(crate) usage: Usage,
    }
    #[derive(Deserialize)]
    pub(crate) struct Choice {
        pub(crate) index: u32,
        pub(crate) message: Message,
        pub(crate) finish_reason: Option<String>,
    }
    #[derive(Deserialize)]
    pub(crate) struct Usage {
        pub(crate) prompt_tokens: u64,
        pub(crate) completion_tokens: u64,
        pub(crate) total_tokens: u64,
    }
    #[derive(Deserialize)]
    pub(crate) struct Chunk {
        pub(crate) id: String,
        pub(crate) object: String,
        pub(crate) created: u64,
        pub(crate) model: String,
        pub(crate) choices: Vec<ChunkChoice>,
        #[serde(default)]
        pub(crate) usage: Option<Usage>,
    }
    #[derive(Deserialize)]
    pub(crate) struct ChunkChoice {
        pub(crate) index: u32,
        pub(crate) delta: ChunkDelta,
        #[serde(default)]
        pub(crate) finish_reason: Option<String>,
    }
    #[derive(Deserialize)]
    pub(crate) struct ChunkDelta {
        #[serde(default)]
        pub(crate) tool_calls: Option<Vec<ChunkCall>>,
    }
    #[derive(Deserialize)]
    pub(crate) struct ChunkCall {
        pub(crate) index: u32,
    }

    pub(crate) fn check_request(body: &[u8]) {
        let r: Request = serde_json::from_slice(body).expect("chat request schema");
        assert!(!r.model.is_empty());
        for m in &r.messages {
            assert!(
                ["system", "developer", "user", "assistant", "tool"].contains(&m.role.as_str())
            );
            if m.role == "tool" {
                assert!(
                    m.tool_call_id.is_some(),
                    "tool message without tool_call_id"
                );
            }
            for call in m.tool_calls.iter().flatten() {
                assert_eq!(call.kind, "function");
                assert!(!call.id.is_empty() && !call.function.name.is_empty());
                object(&call.function.arguments);
            }
        }
        for t in &r.tools {
            assert_eq!(t.kind, "function");
            assert!(!t.function.name.is_empty());
            assert!(t.function.parameters.is_object());
        }
    }

    pub(crate) fn check_response(body: &[u8]) {
        let c: Completion = serde_json::from_slice(body).expect("chat completion schema");
        assert_eq!(c.object, "chat.completion");
        assert!(!c.id.is_empty() && !c.model.is_empty() && c.created > 0);
        assert_eq!(c.choices.len(), 1);
        assert_eq!(c.choices[0].index, 0);
        assert!(c.choices[0].finish_reason.is_some());
        assert_eq!(c.choices[0].message.role, "assistant");
        for call in c.choices[0].message.tool_calls.iter().flatten() {
            assert_eq!(call.kind, "function");
            object(&call.function.arguments);
        }
        assert_eq!(
            c.usage.total_tokens,
            c.usage.prompt_tokens + c.usage.completion_tokens
        );
    }

    pub(crate) fn check_event(data: &str) {
        if data == "[DONE]" {
            return;
        }
        let c: Chunk = serde_json::from_str(data).expect("chat chunk schema");
        assert_eq!(c.object, "chat.completion.chunk");
        assert!(!c.id.is_empty() && !c.model.is_empty() && c.created > 0);
        for choice in &c.choices {
            assert_eq!(choice.index, 0);
            for call in choice.delta.tool_calls.iter().flatten() {
                let _ = call.index;
            }
        }
        let _ = c.usage;
    }
}

/// Mirror fields are read by serde only: their presence is the check.
#[allow(dead_code)]
mod responses {
    use super::*;

    #[derive(Deserialize)]
    pub(crate) struct Request {
        pub(crate) model: String,
        pub(crate) input: Vec<InputItem>,
        #[serde(default)]
        pub(crate) instructions: Option<String>,
        #[serde(default)]
        pub(crate) tools: Vec<ToolDef>,
    }
    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub(crate) enum InputItem {
        Message {
            role: String,
            content: Value,
        },
        FunctionCall {
            call_id: String,
            name: String,
            arguments: String,
        },
        FunctionCallOutput {
            call_id: String,
            output: Value,
        },
        Reasoning {
            summary: Vec<Value>,
        },
    }
    #[derive(Deserialize)]
    pub(crate) struct ToolDef {
        #[serde(rename = "type")]
        pub(crate) kind: String,
        pub(crate) name: String,
        pub(crate) parameters: Value,
    }
    #[derive(Deserialize)]
    pub(crate) struct ResponseObject {
        pub(crate) id: String,
        pub(crate) object: String,
        pub(crate) created_at: f64,
        pub(crate) status: String,
        pub(crate) model: String,
        pub(crate) output: Vec<OutputItem>,
        #[serde(default)]
        pub(crate) usage: Option<Usage>,
    }
    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub(crate) enum OutputItem {
        Message {
            id: String,
            role: String,
            status: String,
            content: Vec<OutputText>,
        },
        FunctionCall {
            call_id: String,
            name: String,
            arguments: String,
        },
        Reasoning {
            id: String,
            summary: Vec<Value>,
        },
    }
    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub(crate) enum OutputText {
        OutputText {
            text: String,
            annotations: Vec<Value>,
        },
        Refusal {
            refusal: String,
        },
    }
    #[derive(Deserialize)]
    pub(crate) struct Usage {
        pub(crate) input_tokens: u64,
        pub(crate) input_tokens_details: InputDetails,
        pub(crate) output_tokens: u64,
        pub(crate) output_tokens_details: OutputDetails,
        pub(crate) total_tokens: u64,
    }
    #[derive(Deserialize)]
    pub(crate) struct InputDetails {
        pub(crate) cached_tokens: u64,
    }
    #[derive(Deserialize)]
    pub(crate) struct OutputDetails {
        pub(crate) reasoning_tokens: u64,
    }
    #[derive(Deserialize)]
    pub(crate) struct StreamEvent {
        #[serde(rename = "type")]
        pub(crate) kind: String,
        pub(crate) sequence_number: u64,
        #[serde(default)]
        pub(crate) response: Option<ResponseObject>,
        #[serde(default)]
        pub(crate) item: Option<OutputItem>,
        #[serde(default)]
        pub(crate) output_index: Option<u64>,
        #[serde(default)]
        pub(crate) item_id: Option<String>,
        #[serde(default)]
        pub(crate) content_index: Option<u64>,
        #[serde(default)]
        pub(crate) delta: Option<String>,
    }

    fn check_object(r: &ResponseObject) {
        assert_eq!(r.object, "response");
        assert!(!r.id.is_empty() && !r.model.is_empty() && r.created_at > 0.0);
        assert!(
            ["completed", "incomplete", "in_progress", "failed", "queued"]
                .contains(&r.status.as_str())
        );
        for item in &r.output {
            match item {
                OutputItem::Message {
                    id, role, content, ..
                } => {
                    assert!(!id.is_empty());
                    assert_eq!(role, "assistant");
                    assert!(!content.is_empty());
                }
                OutputItem::FunctionCall {
                    call_id,
                    name,
                    arguments,
                } => {
                    assert!(!call_id.is_empty() && !name.is_empty());
                    if r.status != "in_progress" {
                        object(arguments);
                    }
                }
                OutputItem::Reasoning { .. } => {}
            }
        }
        if let Some(u) = &r.usage {
            assert_eq!(u.total_tokens, u.input_tokens + u.output_tokens);
            assert!(u.input_tokens_details.cached_tokens <= u.input_tokens);
            assert!(u.output_tokens_details.reasoning_tokens <= u.output_tokens);
        }
    }

    pub(crate) fn check_request(body: &[u8]) {
        let r: Request = serde_json::from_slice(body).expect("responses request schema");
        assert!(!r.model.is_empty());
        let _ = r.instructions;
        for item in &r.input {
            match item {
                InputItem::Message { role, content } => {
                    assert!(["user", "assistant", "system", "developer"].contains(&role.as_str()));
                    assert!(content.is_string() || content.is_array());
                }
                InputItem::FunctionCall {
                    call_id,
                    name,
                    arguments,
                } => {
                    assert!(!call_id.is_empty() && !name.is_empty());
                    object(arguments);
                }
                InputItem::FunctionCallOutput { call_id, output } => {
                    assert!(!call_id.is_empty());
                    assert!(output.is_string() || output.is_array());
                }
                InputItem::Reasoning { .. } => {}
            }
        }
        for t in &r.tools {
            assert_eq!(t.kind, "function");
            assert!(!t.name.is_empty() && t.parameters.is_object());
        }
    }

    pub(crate) fn check_response(body: &[u8]) {
        let r: ResponseObject = serde_json::from_slice(body).expect("responses object schema");
        check_object(&r);
        assert!(r.usage.is_some());
    }

    pub(crate) fn check_event(data: &str) {
        let e: StreamEvent = serde_json::from_str(data).expect("responses event schema");
        let needs = |field: bool, name: &str| assert!(field, "{} without {name}", e.kind);
        match e.kind.as_str() {
            "response.created"
            | "response.in_progress"
            | "response.completed"
            | "response.incomplete"
            | "response.failed" => {
                needs(e.response.is_some(), "response");
                if let Some(r) = &e.response {
                    check_object(r);
                }
            }
            "response.output_item.added" | "response.output_item.done" => {
                needs(e.item.is_some(), "item");
                needs(e.output_index.is_some(), "output_index");
            }
            "response.output_text.delta" | "response.output_text.done" => {
                needs(e.item_id.is_some(), "item_id");
                needs(e.output_index.is_some(), "output_index");
                needs(e.content_index.is_some(), "content_index");
                if e.kind.ends_with("delta") {
                    needs(e.delta.is_some(), "delta");
                }
            }
            "response.content_part.added" | "response.content_part.done" => {
                needs(e.item_id.is_some(), "item_id");
                needs(e.content_index.is_some(), "content_index");
            }
            "response.function_call_arguments.delta" | "response.function_call_arguments.done" => {
                needs(e.item_id.is_some(), "item_id");
                needs(e.output_index.is_some(), "output_index");
            }
            _ => {}
        }
        let _ = e.sequence_number;
    }
}

/// Mirror fields are read by serde only: their presence is the check.
#[allow(dead_code)]
mod claude {
    use super::*;

    #[derive(Deserialize)]
    pub(crate) struct Request {
        pub(crate) model: String,
        pub(crate) max_tokens: u64,
        pub(crate) messages: Vec<Message>,
        #[serde(default)]
        pub(crate) system: Option<Value>,
        #[serde(default)]
        pub(crate) tools: Vec<ToolDef>,
    }
    #[derive(Deserialize)]
    pub(crate) struct Message {
        pub(crate) role: String,
        pub(crate) content: Content,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    pub(crate) enum Content {
        Text(String),
        Blocks(Vec<Block>),
    }
    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub(crate) enum Block {
        Text {
            text: String,
        },
        ToolUse {
            id: String,
            name: String,
            input: serde_json::Map<String, Value>,
        },
        ToolResult {
            tool_use_id: String,
        },
        Thinking {
            thinking: String,
            signature: String,
        },
        RedactedThinking {
            data: String,
        },
        Image {
            source: Value,
        },
        Document {
            source: Value,
        },
    }
    #[derive(Deserialize)]
    pub(crate) struct ToolDef {
        pub(crate) name: String,
        pub(crate) input_schema: Value,
    }
    #[derive(Deserialize)]
    pub(crate) struct MessageObject {
        pub(crate) id: String,
        #[serde(rename = "type")]
        pub(crate) kind: String,
        pub(crate) role: String,
        pub(crate) model: String,
        pub(crate) content: Vec<Block>,
        pub(crate) stop_reason: Option<String>,
        pub(crate) usage: Usage,
    }
    #[derive(Deserialize)]
    pub(crate) struct Usage {
        pub(crate) input_tokens: u64,
        pub(crate) output_tokens: u64,
    }
    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub(crate) enum StreamEvent {
        MessageStart {
            message: MessageObject,
        },
        ContentBlockStart {
            index: u64,
            content_block: Block,
        },
        ContentBlockDelta {
            index: u64,
            delta: BlockDelta,
        },
        ContentBlockStop {
            index: u64,
        },
        MessageDelta {
            delta: MessageDelta,
            usage: DeltaUsage,
        },
        MessageStop,
        Ping,
        Error {
            error: Value,
        },
    }
    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub(crate) enum BlockDelta {
        #[serde(rename = "text_delta")]
        Text { text: String },
        #[serde(rename = "input_json_delta")]
        InputJson { partial_json: String },
        #[serde(rename = "thinking_delta")]
        Thinking { thinking: String },
        #[serde(rename = "signature_delta")]
        Signature { signature: String },
    }
    #[derive(Deserialize)]
    pub(crate) struct MessageDelta {
        pub(crate) stop_reason: Option<String>,
    }
    #[derive(Deserialize)]
    pub(crate) struct DeltaUsage {
        pub(crate) output_tokens: u64,
    }

    const STOPS: &[&str] = &[
        "end_turn",
        "max_tokens",
        "stop_sequence",
        "tool_use",
        "pause_turn",
        "refusal",
    ];

    pub(crate) fn check_request(body: &[u8]) {
        let r: Request = serde_json::from_slice(body).expect("claude request schema");
        assert!(!r.model.is_empty() && r.max_tokens > 0);
        if let Some(system) = &r.system {
            assert!(system.is_string() || system.is_array());
        }
        let mut last = "";
        for m in &r.messages {
            assert!(["user", "assistant"].contains(&m.role.as_str()));
            assert_ne!(last, m.role, "consecutive turns of one role");
            last = &m.role;
            if let Content::Blocks(blocks) = &m.content {
                // Tool results come first in a user turn.
                let first_other = blocks
                    .iter()
                    .position(|b| !matches!(b, Block::ToolResult { .. }))
                    .unwrap_or(blocks.len());
                assert!(
                    blocks[first_other..]
                        .iter()
                        .all(|b| !matches!(b, Block::ToolResult { .. })),
                    "tool_result after other content"
                );
            }
        }
        assert_eq!(r.messages.first().map(|m| m.role.as_str()), Some("user"));
        for t in &r.tools {
            assert!(!t.name.is_empty());
            assert_eq!(t.input_schema["type"], "object");
        }
    }

    pub(crate) fn check_response(body: &[u8]) {
        let m: MessageObject = serde_json::from_slice(body).expect("claude message schema");
        assert_eq!(m.kind, "message");
        assert_eq!(m.role, "assistant");
        assert!(!m.id.is_empty() && !m.model.is_empty());
        assert!(STOPS.contains(&m.stop_reason.as_deref().unwrap_or("")));
        let _ = (m.content, m.usage.input_tokens, m.usage.output_tokens);
    }

    pub(crate) fn check_event(data: &str) {
        let e: StreamEvent = serde_json::from_str(data).expect("claude event schema");
        match e {
            StreamEvent::MessageStart { message } => {
                assert_eq!(message.kind, "message");
                assert!(message.content.is_empty());
            }
            StreamEvent::MessageDelta { delta, usage } => {
                assert!(STOPS.contains(&delta.stop_reason.as_deref().unwrap_or("")));
                let _ = usage.output_tokens;
            }
            _ => {}
        }
    }
}

/// Mirror fields are read by serde only: their presence is the check.
#[allow(dead_code)]
mod gemini {
    use super::*;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct Request {
        pub(crate) contents: Vec<Content>,
        #[serde(default)]
        pub(crate) system_instruction: Option<Content>,
        #[serde(default)]
        pub(crate) tools: Vec<ToolDef>,
        #[serde(default)]
        pub(crate) generation_config: Option<GenerationConfig>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct GenerationConfig {
        #[serde(default)]
        pub(crate) max_output_tokens: Option<u64>,
        #[serde(default)]
        pub(crate) temperature: Option<f64>,
    }
    #[derive(Deserialize)]
    pub(crate) struct Content {
        #[serde(default)]
        pub(crate) role: Option<String>,
        pub(crate) parts: Vec<ContentPart>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct ContentPart {
        #[serde(default)]
        pub(crate) text: Option<String>,
        #[serde(default)]
        pub(crate) function_call: Option<FunctionCall>,
        #[serde(default)]
        pub(crate) function_response: Option<FunctionResponse>,
        #[serde(default)]
        pub(crate) inline_data: Option<Value>,
        #[serde(default)]
        pub(crate) file_data: Option<Value>,
        #[serde(default)]
        pub(crate) thought: Option<bool>,
        #[serde(default)]
        pub(crate) thought_signature: Option<String>,
    }
    #[derive(Deserialize)]
    pub(crate) struct FunctionCall {
        pub(crate) name: String,
        #[serde(default)]
        pub(crate) args: Option<serde_json::Map<String, Value>>,
        #[serde(default)]
        pub(crate) id: Option<String>,
    }
    #[derive(Deserialize)]
    pub(crate) struct FunctionResponse {
        pub(crate) name: String,
        pub(crate) response: serde_json::Map<String, Value>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct ToolDef {
        pub(crate) function_declarations: Vec<Declaration>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct Declaration {
        pub(crate) name: String,
        #[serde(default)]
        pub(crate) parameters: Option<Value>,
        #[serde(default)]
        pub(crate) parameters_json_schema: Option<Value>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct GenerateContentResponse {
        pub(crate) candidates: Vec<Candidate>,
        #[serde(default)]
        pub(crate) usage_metadata: Option<UsageMetadata>,
        #[serde(default)]
        pub(crate) model_version: Option<String>,
        #[serde(default)]
        pub(crate) response_id: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct Candidate {
        #[serde(default)]
        pub(crate) content: Option<Content>,
        #[serde(default)]
        pub(crate) finish_reason: Option<String>,
        #[serde(default)]
        pub(crate) index: Option<u32>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct UsageMetadata {
        pub(crate) prompt_token_count: u64,
        #[serde(default)]
        pub(crate) candidates_token_count: Option<u64>,
        pub(crate) total_token_count: u64,
        #[serde(default)]
        pub(crate) cached_content_token_count: Option<u64>,
        #[serde(default)]
        pub(crate) thoughts_token_count: Option<u64>,
    }

    const FINISHES: &[&str] = &[
        "STOP",
        "MAX_TOKENS",
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "OTHER",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "MALFORMED_FUNCTION_CALL",
        "UNEXPECTED_TOOL_CALL",
        "FINISH_REASON_UNSPECIFIED",
    ];

    fn check_content(content: &Content) {
        for part in &content.parts {
            let kinds = [
                part.text.is_some(),
                part.function_call.is_some(),
                part.function_response.is_some(),
                part.inline_data.is_some(),
                part.file_data.is_some(),
            ];
            assert!(
                kinds.iter().filter(|k| **k).count() <= 1,
                "a Gemini part holds one kind of data"
            );
            if let Some(call) = &part.function_call {
                assert!(!call.name.is_empty());
            }
        }
    }

    pub(crate) fn check_request(body: &[u8]) {
        let r: Request = serde_json::from_slice(body).expect("gemini request schema");
        for c in &r.contents {
            assert!(["user", "model"].contains(&c.role.as_deref().unwrap_or("")));
            check_content(c);
        }
        if let Some(system) = &r.system_instruction {
            assert!(system.parts.iter().all(|p| p.text.is_some()));
        }
        for t in &r.tools {
            for d in &t.function_declarations {
                assert!(!d.name.is_empty());
                assert!(d.parameters.is_some() || d.parameters_json_schema.is_some());
            }
        }
    }

    fn check_answer(r: &GenerateContentResponse, last: bool) {
        for c in &r.candidates {
            if let Some(content) = &c.content {
                assert_eq!(content.role.as_deref(), Some("model"));
                check_content(content);
            }
            if let Some(reason) = &c.finish_reason {
                assert!(FINISHES.contains(&reason.as_str()), "finishReason {reason}");
            }
        }
        if last {
            let u = r.usage_metadata.as_ref().expect("usageMetadata");
            assert!(u.cached_content_token_count.unwrap_or(0) <= u.prompt_token_count);
        }
    }

    pub(crate) fn check_response(body: &[u8]) {
        let r: GenerateContentResponse =
            serde_json::from_slice(body).expect("gemini response schema");
        assert_eq!(r.candidates.len(), 1);
        assert!(r.candidates[0].finish_reason.is_some());
        check_answer(&r, true);
    }

    pub(crate) fn check_event(data: &str) {
        let r: GenerateContentResponse = serde_json::from_str(data).expect("gemini chunk schema");
        check_answer(&r, false);
    }
}

/// A JSON object's text.
fn object(text: &str) {
    let value: Value = serde_json::from_str(text).expect("arguments are JSON");
    assert!(value.is_object(), "arguments are an object: {text}");
}

fn check_request_schema(format: Format, body: &[u8]) {
    match format {
        Format::Chat => chat::check_request(body),
        Format::Responses => responses::check_request(body),
        Format::Claude => claude::check_request(body),
        Format::Gemini => gemini::check_request(body),
    }
}

fn check_response_schema(format: Format, body: &[u8]) {
    match format {
        Format::Chat => chat::check_response(body),
        Format::Responses => responses::check_response(body),
        Format::Claude => claude::check_response(body),
        Format::Gemini => gemini::check_response(body),
    }
}

/// Every frame of a client stream parses into the protocol's event mirror.
fn check_stream_schema(format: Format, bytes: &[u8]) {
    let mut reader = SseReader::new(usize::MAX);
    let mut frames = Vec::new();
    reader
        .push(bytes, &mut frames)
        .expect("client stream frames");
    reader.finish(&mut frames);
    assert!(!frames.is_empty());
    for frame in &frames {
        match format {
            Format::Chat => chat::check_event(&frame.data),
            Format::Responses => {
                responses::check_event(&frame.data);
                let kind = serde_json::from_str::<Value>(&frame.data).expect("json")["type"]
                    .as_str()
                    .map(str::to_owned);
                assert_eq!(frame.event, kind, "SSE event name is the type");
            }
            Format::Claude => {
                claude::check_event(&frame.data);
                let kind = serde_json::from_str::<Value>(&frame.data).expect("json")["type"]
                    .as_str()
                    .map(str::to_owned);
                assert_eq!(frame.event, kind, "SSE event name is the type");
            }
            Format::Gemini => gemini::check_event(&frame.data),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Streams.

/// The events of `response` as a decoder emits them, text and arguments cut at `cuts`.
fn events(response: &Response, cuts: &[usize]) -> Vec<Event> {
    fn pieces(text: &str, cuts: &[usize]) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut bounds: Vec<usize> = cuts
            .iter()
            .map(|c| c % (chars.len() + 1))
            .filter(|&c| c > 0 && c < chars.len())
            .collect();
        bounds.sort_unstable();
        bounds.dedup();
        let mut out = Vec::new();
        let mut start = 0;
        for end in bounds.into_iter().chain([chars.len()]) {
            out.push(chars[start..end].iter().collect());
            start = end;
        }
        out
    }
    let mut out = vec![Event::Start {
        id: response.id.clone(),
        model: response.model.clone(),
    }];
    for (index, part) in response.content.iter().enumerate() {
        let (block, deltas): (Block, Vec<Delta>) = match part {
            Part::Text { text, .. } => (
                Block::Text,
                pieces(text, cuts).into_iter().map(Delta::Text).collect(),
            ),
            Part::ToolCall {
                id,
                name,
                arguments,
                ..
            } => (
                Block::ToolCall {
                    id: id.clone(),
                    name: name.clone(),
                },
                pieces(arguments, cuts)
                    .into_iter()
                    .map(Delta::Arguments)
                    .collect(),
            ),
            _ => continue,
        };
        out.push(Event::BlockStart { index, block });
        out.extend(
            deltas
                .into_iter()
                .map(|delta| Event::Delta { index, delta }),
        );
        out.push(Event::BlockStop { index });
    }
    out.push(Event::Usage(response.usage));
    out.push(Event::Finish(response.finish.clone()));
    out.push(Event::End);
    out
}

// ---------------------------------------------------------------------------------------------
// Properties.

proptest! {
    // 48 cases per property (16 pairs each); `PROPTEST_CASES` sets more.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    /// A→B→A requests keep roles, text, tool calls and results, tools and settings; every body
    /// on the way matches its protocol's schema.
    #[test]
    fn requests_round_trip(request in request()) {
        for &a in FORMATS {
            let body_a = encode_request(a, &request).expect("encode A");
            check_request_schema(a, &body_a);
            let decoded_a = decode_request(a, &body_a).expect("decode A");
            let positional = a == Format::Gemini;
            prop_assert_eq!(
                request_view(&decoded_a, positional),
                request_view(&request, positional),
                "hub→{:?}→hub", a
            );
            for &b in FORMATS {
                let translated = translate_request(a, b, &body_a, options()).expect("translate");
                check_request_schema(b, &translated.body);
                let mut decoded_b = decode_request(b, &translated.body).expect("decode B");
                let names = NameMap::new(request.tools.iter().map(|t| t.name.as_str()), b);
                restore_names(&mut decoded_b, &names);
                let positional = a == Format::Gemini || b == Format::Gemini;
                prop_assert_eq!(
                    request_view(&decoded_b, positional),
                    request_view(&request, positional),
                    "{:?}→{:?}", a, b
                );
                let back = translate_request(b, a, &encode_request(b, &decoded_b).expect("B"), options())
                    .expect("translate back");
                let mut decoded_aba = decode_request(a, &back.body).expect("decode A again");
                let names = NameMap::new(request.tools.iter().map(|t| t.name.as_str()), a);
                restore_names(&mut decoded_aba, &names);
                prop_assert_eq!(
                    request_view(&decoded_aba, positional),
                    request_view(&request, positional),
                    "{:?}→{:?}→{:?}", a, b, a
                );
            }
        }
    }

    /// An answer from upstream B reaches client A with its text, tool calls (client names,
    /// ids, arguments), finish and usage; the client's body matches A's schema.
    #[test]
    fn responses_round_trip((request, response) in request_and_response()) {
        for &a in FORMATS {
            let body_a = encode_request(a, &request).expect("encode A");
            for &b in FORMATS {
                let exchange = translate_request(a, b, &body_a, options()).expect("translate").exchange;
                let names = NameMap::new(request.tools.iter().map(|t| t.name.as_str()), b);
                let mut upstream = response.clone();
                for part in &mut upstream.content {
                    if let Part::ToolCall { name, .. } = part {
                        *name = names.upstream(name).to_owned();
                    }
                }
                let body_b = encode_response(b, &upstream, &view());
                check_response_schema(b, &body_b);
                let body_client = exchange.response(&body_b).expect("translate answer");
                check_response_schema(a, &body_client);
                let got = decode_response(a, &body_client).expect("decode A");
                let reasoning = reasoning_carried(a, b);
                let ids = a != Format::Gemini && b != Format::Gemini;
                prop_assert_eq!(
                    response_view(&got, reasoning, ids),
                    response_view(&response, reasoning, ids),
                    "{:?} client, {:?} upstream", a, b
                );
            }
        }
    }

    /// A stream from upstream B, cut at random byte boundaries, reaches client A as a stream
    /// of A's events that aggregates to the non-streamed translation of the same answer.
    #[test]
    fn streams_match_whole_answers(
        (request, response) in request_and_response(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
        splits in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        for &a in FORMATS {
            let body_a = encode_request(a, &request).expect("encode A");
            for &b in FORMATS {
                let exchange = translate_request(a, b, &body_a, options()).expect("translate").exchange;
                let names = NameMap::new(request.tools.iter().map(|t| t.name.as_str()), b);
                let mut upstream = response.clone();
                for part in &mut upstream.content {
                    if let Part::ToolCall { name, .. } = part {
                        *name = names.upstream(name).to_owned();
                    }
                }
                let stream_b = testing::encode_stream(b, &events(&upstream, &cuts), &view());
                let mut bounds: Vec<usize> = splits.iter().map(|s| s % (stream_b.len() + 1)).collect();
                bounds.sort_unstable();
                let mut translator = exchange.stream(1 << 20);
                let mut client = Vec::new();
                let mut start = 0;
                for end in bounds.into_iter().chain([stream_b.len()]) {
                    translator.push(&stream_b[start..end], &mut client).expect("push");
                    start = end;
                }
                translator.finish(&mut client).expect("finish");
                prop_assert!(translator.ended());
                check_stream_schema(a, &client);
                let mut aggregator = Aggregator::new();
                for event in testing::decode_stream(a, &client).expect("decode client stream") {
                    aggregator.push(&event);
                }
                prop_assert!(aggregator.ended());
                let streamed = aggregator.finish();
                let whole = decode_response(
                    a,
                    &exchange.response(&encode_response(b, &upstream, &view())).expect("whole"),
                ).expect("decode whole");
                let reasoning = reasoning_carried(a, b);
                let ids = a != Format::Gemini && b != Format::Gemini;
                prop_assert_eq!(
                    response_view(&streamed, reasoning, ids),
                    response_view(&whole, reasoning, ids),
                    "{:?} client, {:?} upstream", a, b
                );
            }
        }
    }
}
