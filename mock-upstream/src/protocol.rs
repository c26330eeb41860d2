//! The four upstream protocols: routing, request parsing, answers, streams and error shapes.

mod anthropic;
mod gemini;
mod openai_chat;
mod openai_responses;

use bytes::{Bytes, BytesMut};
use http::{Method, StatusCode};
use serde_json::Value;

use crate::conversation::Conversation;

/// An upstream protocol the mock speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// OpenAI Chat Completions (`/v1/chat/completions`, `/v1/models`).
    OpenAiChat,
    /// OpenAI Responses (`/v1/responses`).
    OpenAiResponses,
    /// Anthropic Messages (`/v1/messages`, `/v1/messages/count_tokens`).
    Anthropic,
    /// Gemini (`/v1beta/models/{model}:generateContent` and friends).
    Gemini,
}

/// How a streamed answer is framed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Server-sent events.
    Sse,
    /// Gemini's `streamGenerateContent` without `alt=sse`: one JSON array, sent element by element.
    JsonArray,
}

impl Framing {
    /// The `content-type` of a stream so framed.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Framing::Sse => "text/event-stream",
            Framing::JsonArray => "application/json",
        }
    }
}

/// A recognised endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// `POST /v1/chat/completions`.
    ChatCompletions,
    /// `POST /v1/responses`.
    Responses,
    /// `POST /v1/messages`.
    Messages,
    /// `POST /v1/messages/count_tokens`.
    MessagesCountTokens,
    /// `POST /v1beta/models/{model}:generateContent` or `:streamGenerateContent`.
    GeminiGenerate {
        /// The model named in the path.
        model: String,
        /// `None` for `generateContent`; the framing for `streamGenerateContent`.
        stream: Option<Framing>,
    },
    /// `POST /v1beta/models/{model}:countTokens`.
    GeminiCountTokens {
        /// The model named in the path.
        model: String,
    },
    /// `GET /v1/models`.
    ListModels,
    /// Vertex AI's Anthropic publisher: `…/publishers/anthropic/models/{model}:rawPredict`
    /// (`stream: false`) or `:streamRawPredict` (`stream: true`).
    VertexRawPredict {
        /// The model named in the path.
        model: String,
        /// Whether the endpoint streams.
        stream: bool,
    },
}

/// Why a request matched no endpoint, and which protocol's error shape to answer in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RouteError {
    /// No such path.
    NotFound(Protocol),
    /// The path exists for another method.
    MethodNotAllowed(Protocol),
}

impl Route {
    /// The endpoint a request is for.
    pub(crate) fn resolve(
        method: &Method,
        path: &str,
        query: Option<&str>,
    ) -> Result<Route, RouteError> {
        let post = |route: Route| {
            if method == Method::POST {
                Ok(route)
            } else {
                Err(RouteError::MethodNotAllowed(route.protocol()))
            }
        };
        match path {
            "/v1/chat/completions" | "/chat/completions" => post(Route::ChatCompletions),
            "/v1/responses" | "/responses" => post(Route::Responses),
            "/v1/messages" => post(Route::Messages),
            "/v1/messages/count_tokens" => post(Route::MessagesCountTokens),
            "/v1/models" | "/models" if method == Method::GET => Ok(Route::ListModels),
            "/v1/models" | "/models" => Err(RouteError::MethodNotAllowed(Protocol::OpenAiChat)),
            _ => {
                let gemini_target = path
                    .strip_prefix("/v1beta/models/")
                    .or_else(|| path.strip_prefix("/v1/models/"))
                    .and_then(|target| target.rsplit_once(':'));
                match gemini_target {
                    Some((model, action)) if !model.is_empty() && !model.contains('/') => {
                        let model = model.to_owned();
                        match action {
                            "generateContent" => post(Route::GeminiGenerate {
                                model,
                                stream: None,
                            }),
                            "streamGenerateContent" => post(Route::GeminiGenerate {
                                model,
                                stream: Some(gemini_framing(query)),
                            }),
                            "countTokens" => post(Route::GeminiCountTokens { model }),
                            _ => Err(RouteError::NotFound(Protocol::Gemini)),
                        }
                    }
                    _ => Err(RouteError::NotFound(protocol_of_path(path))),
                }
            }
        }
    }

    /// The protocol the endpoint belongs to.
    pub(crate) fn protocol(&self) -> Protocol {
        match self {
            Route::ChatCompletions | Route::ListModels => Protocol::OpenAiChat,
            Route::Responses => Protocol::OpenAiResponses,
            Route::Messages | Route::MessagesCountTokens | Route::VertexRawPredict { .. } => {
                Protocol::Anthropic
            }
            Route::GeminiGenerate { .. } | Route::GeminiCountTokens { .. } => Protocol::Gemini,
        }
    }
}

/// `alt=sse` (or `$alt=sse`) asks for SSE; otherwise Gemini streams a JSON array.
pub(crate) fn gemini_framing(query: Option<&str>) -> Framing {
    let sse = query.is_some_and(|query| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .any(|(name, value)| (name == "alt" || name == "$alt") && value == "sse")
    });
    if sse {
        Framing::Sse
    } else {
        Framing::JsonArray
    }
}

/// The protocol whose error shape suits an unknown path.
fn protocol_of_path(path: &str) -> Protocol {
    if path.starts_with("/v1beta") {
        Protocol::Gemini
    } else if path.starts_with("/v1/messages") {
        Protocol::Anthropic
    } else if path.starts_with("/v1/responses") {
        Protocol::OpenAiResponses
    } else {
        Protocol::OpenAiChat
    }
}

/// A parsed generation (or token-count) request.
#[derive(Debug)]
pub(crate) struct GenerateRequest {
    /// The model the upstream was asked for.
    pub(crate) model: String,
    /// The normalized conversation.
    pub(crate) conversation: Conversation,
    /// `Some` when the client asked for a stream.
    pub(crate) stream: Option<Framing>,
    /// OpenAI Chat `stream_options.include_usage`: end the stream with a usage chunk.
    pub(crate) include_usage: bool,
    /// The function the answer calls instead of replying in text: the one `tool_choice` names,
    /// else the first function tool the request defines; `None` when it defines none, when
    /// `tool_choice` forbids calls, or when the last turn is a tool result (so that a two-turn
    /// tool conversation ends with text).
    pub(crate) tool: Option<String>,
    /// The request asked for thinking / reasoning: the answer opens with it.
    pub(crate) thinking: bool,
}

/// The text of the mock's thinking (every protocol, when the request asks for thinking).
pub(crate) const THINKING_TEXT: &str = "mock thinking";

/// Token counts of one answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    /// All input tokens, cached ones included.
    pub(crate) input: u64,
    /// Input tokens served from the prompt cache.
    pub(crate) cached: u64,
    /// Output tokens of the answer proper (text or tool call), thinking excluded.
    pub(crate) output: u64,
    /// Thinking (reasoning) tokens, apart from [`Usage::output`].
    pub(crate) reasoning: u64,
}

impl Usage {
    /// Output tokens with thinking included (what Anthropic and OpenAI count as output).
    pub(crate) fn output_with_reasoning(&self) -> u64 {
        self.output + self.reasoning
    }

    /// Input plus output plus thinking.
    pub(crate) fn total(&self) -> u64 {
        self.input + self.output + self.reasoning
    }
}

/// The answer the mock gives to one generation request.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    /// The request's sequence number (used to make ids unique).
    pub(crate) sequence: u64,
    /// The model the upstream was asked for, echoed back.
    pub(crate) model: String,
    /// The reply text.
    pub(crate) text: String,
    /// Unix seconds.
    pub(crate) created: u64,
    /// Token counts.
    pub(crate) usage: Usage,
    /// OpenAI Chat `stream_options.include_usage`.
    pub(crate) include_usage: bool,
    /// The function called instead of a text reply; [`Answer::text`] is then its arguments
    /// (a JSON object as a string), streamed in pieces like a text reply.
    pub(crate) tool: Option<String>,
    /// The answer opens with thinking ([`THINKING_TEXT`]) and its signature.
    pub(crate) thinking: bool,
}

impl Answer {
    /// The tool call's arguments as JSON (an empty object for a text answer).
    pub(crate) fn arguments(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| Value::Object(Default::default()))
    }
}

/// Writes one streamed answer, event by event, in a protocol's framing. The stream is: the
/// opening, then one [`StreamEncoder::chunk`] per content piece, then either the closing or an
/// error.
pub(crate) trait StreamEncoder: Send {
    /// Events before the first content piece (may write nothing).
    fn opening(&mut self, out: &mut BytesMut);
    /// One content piece.
    fn chunk(&mut self, piece: &str, out: &mut BytesMut);
    /// The events that end a complete answer.
    fn closing(&mut self, out: &mut BytesMut);
    /// The terminal error event that ends a broken answer.
    fn error(&mut self, status: StatusCode, message: &str, out: &mut BytesMut);
}

impl Protocol {
    /// Parses a generation (or token-count) request body for `route`.
    /// `require_max_tokens` makes `max_tokens` mandatory in an Anthropic Messages request.
    pub(crate) fn parse(
        route: &Route,
        body: &Value,
        require_max_tokens: bool,
    ) -> Result<GenerateRequest, String> {
        if !body.is_object() {
            return Err("the request body must be a JSON object".to_owned());
        }
        match route {
            Route::ChatCompletions => openai_chat::parse(body),
            Route::Responses => openai_responses::parse(body),
            Route::Messages => anthropic::parse(body, false, require_max_tokens),
            Route::MessagesCountTokens => anthropic::parse(body, true, false),
            Route::VertexRawPredict { model, stream } => {
                anthropic::parse_vertex(body, model, *stream, require_max_tokens)
            }
            Route::GeminiGenerate { model, stream } => gemini::parse(body, model, *stream),
            Route::GeminiCountTokens { model } => gemini::parse_count_tokens(body, model),
            Route::ListModels => Err("this endpoint takes no body".to_owned()),
        }
    }

    /// The non-streaming answer body.
    pub(crate) fn answer_body(self, answer: &Answer) -> Bytes {
        match self {
            Protocol::OpenAiChat => openai_chat::answer_body(answer),
            Protocol::OpenAiResponses => openai_responses::answer_body(answer),
            Protocol::Anthropic => anthropic::answer_body(answer),
            Protocol::Gemini => gemini::answer_body(answer),
        }
    }

    /// How many content pieces a streamed answer has when `chunks` are asked for: Gemini sends
    /// a function call whole, in one chunk.
    pub(crate) fn stream_pieces(self, answer: &Answer, chunks: u32) -> u32 {
        if self == Protocol::Gemini && answer.tool.is_some() {
            1
        } else {
            chunks
        }
    }

    /// A stream encoder for `answer`.
    pub(crate) fn stream_encoder(self, answer: Answer, framing: Framing) -> Box<dyn StreamEncoder> {
        match self {
            Protocol::OpenAiChat => Box::new(openai_chat::ChunkEncoder::new(answer)),
            Protocol::OpenAiResponses => Box::new(openai_responses::EventEncoder::new(answer)),
            Protocol::Anthropic => Box::new(anthropic::EventEncoder::new(answer)),
            Protocol::Gemini => Box::new(gemini::ChunkEncoder::new(answer, framing)),
        }
    }

    /// The token-count answer body (`{"input_tokens": n}` / `{"totalTokens": n}`).
    pub(crate) fn count_tokens_body(self, tokens: u64) -> Bytes {
        match self {
            Protocol::Gemini => gemini::count_tokens_body(tokens),
            _ => anthropic::count_tokens_body(tokens),
        }
    }

    /// How the provider words a 400 for a top-level field it does not know.
    pub(crate) fn unknown_field_message(self, name: &str) -> String {
        match self {
            Protocol::OpenAiChat | Protocol::OpenAiResponses => {
                format!("Unrecognized request argument supplied: {name}")
            }
            Protocol::Anthropic => format!("{name}: Extra inputs are not permitted"),
            Protocol::Gemini => format!(
                "Invalid JSON payload received. Unknown name \"{name}\": Cannot find field."
            ),
        }
    }

    /// The protocol's error body for `status`.
    pub(crate) fn error_body(self, status: StatusCode, message: &str) -> Bytes {
        match self {
            Protocol::OpenAiChat | Protocol::OpenAiResponses => {
                openai_chat::error_body(status, message)
            }
            Protocol::Anthropic => anthropic::error_body(status, message),
            Protocol::Gemini => gemini::error_body(status, message),
        }
    }
}

/// The OpenAI model list the mock serves.
pub(crate) fn model_list_body(created: u64) -> Bytes {
    openai_chat::model_list_body(created)
}

/// Splits `text` into `pieces` runs of characters as even as possible (some may be empty when
/// the text is shorter than the piece count).
pub(crate) fn split_reply(text: &str, pieces: u32) -> Vec<&str> {
    let pieces = pieces.max(1) as usize;
    let boundaries: Vec<usize> = text
        .char_indices()
        .map(|(index, _)| index)
        .chain(std::iter::once(text.len()))
        .collect();
    let chars = boundaries.len() - 1;
    (0..pieces)
        .map(|piece| {
            let start = boundaries[piece * chars / pieces];
            let end = boundaries[(piece + 1) * chars / pieces];
            &text[start..end]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_every_endpoint() {
        let post = Method::POST;
        assert_eq!(
            Route::resolve(&post, "/chat/completions", None),
            Ok(Route::ChatCompletions)
        );
        assert_eq!(
            Route::resolve(
                &post,
                "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
                Some("alt=sse")
            ),
            Ok(Route::GeminiGenerate {
                model: "gemini-2.5-pro".into(),
                stream: Some(Framing::Sse)
            })
        );
        assert_eq!(
            Route::resolve(&post, "/v1beta/models/g:streamGenerateContent", None),
            Ok(Route::GeminiGenerate {
                model: "g".into(),
                stream: Some(Framing::JsonArray)
            })
        );
        assert_eq!(
            Route::resolve(&post, "/v1beta/models/g:countTokens", None),
            Ok(Route::GeminiCountTokens { model: "g".into() })
        );
        assert_eq!(
            Route::resolve(&Method::GET, "/v1/messages", None),
            Err(RouteError::MethodNotAllowed(Protocol::Anthropic))
        );
        assert_eq!(
            Route::resolve(&post, "/v1beta/nothing", None),
            Err(RouteError::NotFound(Protocol::Gemini))
        );
        assert_eq!(
            Route::resolve(&Method::GET, "/v1/models", None),
            Ok(Route::ListModels)
        );
    }

    #[test]
    fn split_reply_covers_the_text_in_order() {
        let text = "héllo wörld";
        for pieces in 1..20 {
            let split = split_reply(text, pieces);
            assert_eq!(split.len(), pieces as usize);
            assert_eq!(split.concat(), text);
        }
    }
}
