//! Translation cost (issue 19, point 7): a 100 KB coding-agent request in each client protocol
//! translated to every other upstream protocol, its ~10 KB answer translated back, and a
//! 500-event stream translated chunk by chunk, each beside `serde_json::from_slice::<Value>`
//! of the same bytes (the yardstick: a translation should cost at most twice that parse).
//!
//! Run: `cargo bench -p switchyard-translate --bench translate -- --warm-up-time 1
//! --measurement-time 3`. Results go into `docs/performance.md` ("Translation cost").

use std::hint::black_box;

/// The proxy's allocator (`host/src/main.rs`), so allocation costs what it costs in production.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use switchyard_translate::ir::{
    Block, Delta, Event, Finish, Message, Part, Request, Response, Role, Tool, Usage,
};
use switchyard_translate::{
    ClientView, Format, RequestOptions, encode_request, encode_response, testing, translate_request,
};

/// Every protocol whose codec is written.
const FORMATS: &[Format] = &[
    Format::Chat,
    Format::Responses,
    Format::Claude,
    Format::Gemini,
];

/// Deterministic filler text of about `len` bytes, varied by `seed`.
fn prose(seed: usize, len: usize) -> String {
    const WORDS: &[&str] = &[
        "the", "function", "returns", "a", "vector", "of", "parsed", "entries", "when", "config",
        "file", "is", "missing", "we", "fall", "back", "to", "defaults", "and", "log", "warning",
        "error", "handling", "path", "buffer", "struct", "trait", "impl", "async", "request",
    ];
    let mut out = String::with_capacity(len + 16);
    let mut i = seed;
    while out.len() < len {
        out.push_str(WORDS[i % WORDS.len()]);
        out.push(if i.is_multiple_of(13) { '\n' } else { ' ' });
        i = i.wrapping_mul(31).wrapping_add(7);
    }
    out
}

fn tools() -> Vec<Tool> {
    (0..20)
        .map(|i| Tool {
            name: format!("tool_{i}_{}", ["read", "write", "grep", "bash", "edit"][i % 5]),
            description: Some(prose(i, 300)),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "The file path, relative to the workspace root."},
                    "pattern": {"type": "string", "description": "A regular expression."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "flags": {"type": "array", "items": {"type": "string", "enum": ["i", "m", "s"]}},
                    "options": {"type": "object", "properties": {
                        "recursive": {"type": "boolean"}, "follow": {"type": "boolean"}
                    }, "additionalProperties": false}
                },
                "required": ["path"],
                "additionalProperties": false
            }),
            strict: None,
            cache_control: None,
        })
        .collect()
}

/// A coding agent's request of about 100 KB: a system prompt, 40 turns with tool calls and
/// tool results, 20 tools with schemas.
fn agent_request() -> Request {
    let tools = tools();
    let mut messages = Vec::new();
    let mut pending: Option<(String, String)> = None;
    for turn in 0..20 {
        let mut parts = Vec::new();
        if let Some((id, name)) = pending.take() {
            parts.push(Part::ToolResult {
                call_id: id,
                name: Some(name),
                content: vec![Part::text(prose(turn * 7, 1500))],
                is_error: false,
            });
        }
        parts.push(Part::text(prose(turn, 300)));
        messages.push(Message {
            role: Role::User,
            parts,
        });
        let id = format!("call_{turn:04}_abcdefghijkl");
        messages.push(Message {
            role: Role::Assistant,
            parts: vec![
                Part::text(prose(turn * 3, 400)),
                Part::ToolCall {
                    id: id.clone(),
                    name: tools[turn % tools.len()].name.clone(),
                    arguments:
                        json!({"path": format!("src/module_{turn}.rs"), "pattern": "fn \\w+",
                        "limit": 50, "options": {"recursive": true}})
                        .to_string(),
                    signature: None,
                },
            ],
        });
        pending = Some((id, tools[turn % tools.len()].name.clone()));
    }
    messages.push(Message {
        role: Role::User,
        parts: vec![
            Part::ToolResult {
                call_id: pending.clone().unwrap_or_default().0,
                name: pending.map(|(_, name)| name),
                content: vec![Part::text(prose(99, 1500))],
                is_error: false,
            },
            Part::text("Now fix the failing test."),
        ],
    });
    Request {
        model: "client-model".into(),
        system: vec![Part::text(prose(1, 12_000))],
        messages,
        tools,
        max_tokens: Some(8192),
        temperature: Some(0.2),
        ..Request::default()
    }
}

/// Its answer, about 10 KB: text and three tool calls.
fn agent_response() -> Response {
    let mut content = vec![Part::text(prose(5, 8000))];
    for i in 0..3 {
        content.push(Part::ToolCall {
            id: format!("call_answer_{i}"),
            name: format!("tool_{i}_{}", ["read", "write", "grep"][i]),
            arguments: json!({"path": format!("src/fix_{i}.rs"), "pattern": prose(i, 400)})
                .to_string(),
            signature: None,
        });
    }
    Response {
        id: "resp_1".into(),
        model: "model-x".into(),
        created: Some(1_700_000_000),
        content,
        finish: Finish::ToolCalls,
        usage: Usage {
            input: 30_000,
            cached: 20_000,
            cache_write: 0,
            output: 2_500,
            reasoning: 400,
        },
    }
}

/// A 500-event stream: start, a text block of 380 deltas, three tool calls of 36 argument
/// deltas each, usage, finish, end.
fn stream_events() -> Vec<Event> {
    let mut events = vec![Event::Start {
        id: "resp_1".into(),
        model: "model-x".into(),
    }];
    events.push(Event::BlockStart {
        index: 0,
        block: Block::Text,
    });
    for i in 0..380 {
        events.push(Event::Delta {
            index: 0,
            delta: Delta::Text(prose(i, 12)),
        });
    }
    events.push(Event::BlockStop { index: 0 });
    for call in 1..=3 {
        events.push(Event::BlockStart {
            index: call,
            block: Block::ToolCall {
                id: format!("call_{call}"),
                name: format!("tool_{call}_write"),
            },
        });
        events.push(Event::Delta {
            index: call,
            delta: Delta::Arguments("{\"path\":\"".into()),
        });
        for i in 0..34 {
            events.push(Event::Delta {
                index: call,
                delta: Delta::Arguments(format!("part{i}/")),
            });
        }
        events.push(Event::Delta {
            index: call,
            delta: Delta::Arguments("x.rs\"}".into()),
        });
        events.push(Event::BlockStop { index: call });
    }
    events.push(Event::Usage(agent_response().usage));
    events.push(Event::Finish(Finish::ToolCalls));
    events.push(Event::End);
    events
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

fn name(format: Format) -> &'static str {
    match format {
        Format::Chat => "chat",
        Format::Responses => "responses",
        Format::Claude => "claude",
        Format::Gemini => "gemini",
    }
}

fn requests(c: &mut Criterion) {
    let request = agent_request();
    let mut group = c.benchmark_group("request");
    for &from in FORMATS {
        let Ok(body) = encode_request(from, &request) else {
            continue;
        };
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(BenchmarkId::new("serde_json", name(from)), |b| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(&body)))
        });
        for &to in FORMATS {
            if to == from {
                continue;
            }
            let id = BenchmarkId::new(format!("{}_to_{}", name(from), name(to)), body.len());
            group.bench_function(id, |b| {
                b.iter(|| translate_request(from, to, black_box(&body), options()))
            });
        }
    }
    group.finish();
}

fn responses(c: &mut Criterion) {
    let request = agent_request();
    let response = agent_response();
    let mut group = c.benchmark_group("response");
    for &upstream in FORMATS {
        let body = encode_response(upstream, &response, &view());
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(BenchmarkId::new("serde_json", name(upstream)), |b| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(&body)))
        });
        for &client in FORMATS {
            if client == upstream {
                continue;
            }
            let Ok(client_body) = encode_request(client, &request) else {
                continue;
            };
            let Ok(translated) = translate_request(client, upstream, &client_body, options())
            else {
                continue;
            };
            let exchange = translated.exchange;
            let id = BenchmarkId::new(
                format!("{}_to_{}", name(upstream), name(client)),
                body.len(),
            );
            group.bench_function(id, |b| b.iter(|| exchange.response(black_box(&body))));
        }
    }
    group.finish();
}

/// `bytes` cut after every blank line (one piece per SSE frame).
fn frames(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..bytes.len() {
        if bytes[i] == b'\n' && bytes[i - 1] == b'\n' {
            out.push(&bytes[start..=i]);
            start = i + 1;
        }
    }
    if start < bytes.len() {
        out.push(&bytes[start..]);
    }
    out
}

fn streams(c: &mut Criterion) {
    let request = agent_request();
    let events = stream_events();
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Elements(events.len() as u64));
    for &upstream in FORMATS {
        let bytes = testing::encode_stream(upstream, &events, &view());
        // One chunk per upstream frame, as a network read would usually bring them.
        let chunks = frames(&bytes);
        for &client in FORMATS {
            if client == upstream {
                continue;
            }
            let Ok(client_body) = encode_request(client, &request) else {
                continue;
            };
            let Ok(translated) = translate_request(client, upstream, &client_body, options())
            else {
                continue;
            };
            let exchange = translated.exchange;
            let id = BenchmarkId::new(
                format!("{}_to_{}", name(upstream), name(client)),
                events.len(),
            );
            group.bench_function(id, |b| {
                let mut out = Vec::with_capacity(bytes.len() * 2);
                b.iter(|| {
                    out.clear();
                    let mut translator = exchange.stream(1 << 20);
                    for chunk in &chunks {
                        let _ = translator.push(black_box(chunk), &mut out);
                    }
                    let _ = translator.finish(&mut out);
                    out.len()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, requests, responses, streams);
criterion_main!(benches);
