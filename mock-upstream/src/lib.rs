//! A mock LLM upstream: a real HTTP server on loopback that speaks the four upstream protocols
//! switchyard calls (OpenAI Chat Completions, OpenAI Responses, Anthropic Messages, Gemini
//! `generateContent`), for the end-to-end tests, the benchmark and `switchyard demo`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use switchyard_mock::{Fault, MockUpstream};
//!
//! let mock = MockUpstream::start().await?;
//! // Point an upstream credential at `mock.base_url()`, then steer and observe it:
//! mock.set_fault("key-a", Fault::status(429).with_retry_after("7").times(1));
//! // ... send traffic ...
//! mock.wait_for_requests(2, Duration::from_secs(10)).await.unwrap();
//! println!("{:?}", mock.cache_stats());
//! mock.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! What it does, per request:
//!
//! 1. Identifies the answering credential from `x-api-key`, `Authorization: Bearer …`,
//!    `x-goog-api-key` or `?key=` (none: 401 in the protocol's error shape). Every response names
//!    it in the `x-mock-credential` header, and the reply text names it too:
//!    `mock reply via <key> to: <first 40 characters of the last user text>`. A credential
//!    starting `mock-at-` is an access token from the mock's token endpoint (below): it must be
//!    one the mock issued, unexpired and not invalidated (else 401 in the protocol's shape), and
//!    the credential key is then the token's *subject* — the service account's email or the
//!    client id — for the header, the reply text, faults and the counts.
//! 2. Records the request (see [`RecordedRequest`]) and wakes the waits
//!    ([`MockUpstream::wait_for_requests`] and friends).
//! 3. Applies the [`Fault`] set for that credential (or for all credentials), if any.
//! 4. Consults the credential's prompt cache (see [`CacheStats`] for the model) and answers, as one
//!    JSON body or as a paced stream in the protocol's real SSE shape.
//!
//! What an answer holds, per protocol (`<seq>` is the request's sequence number):
//!
//! - **Tool calls.** A request that defines function tools is answered with a call of the one
//!   its tool choice names (OpenAI chat `{"type":"function","function":{"name"}}`, Responses
//!   `{"type":"function","name"}`, Anthropic `{"type":"tool","name"}`, Gemini
//!   `toolConfig.functionCallingConfig.allowedFunctionNames`), else of the first; none when the
//!   choice forbids calls (`"none"`, `{"type":"none"}`, mode `NONE`) or when the last turn is a
//!   tool result (chat `tool`, Responses `function_call_output`, Anthropic `tool_result`, Gemini
//!   `functionResponse`): that request gets text, so a two-turn tool conversation ends. The
//!   arguments are `{"reply": <the reply text>}`. Shapes: chat `tool_calls` (id `call_mock_<seq>`,
//!   finish `tool_calls`); Responses a `function_call` item (`call_id` `call_mock_<seq>`);
//!   Anthropic a `tool_use` block (id `toolu_mock_<seq>`, stop `tool_use`); Gemini a
//!   `functionCall {name, args}` part (no id, finish `STOP`). Streamed, the arguments arrive in
//!   pieces (chat `tool_calls` deltas, Responses `response.function_call_arguments.delta`,
//!   Anthropic `input_json_delta`), except Gemini's call, which comes whole in one chunk.
//! - **Thinking**, when asked for (chat `reasoning_effort`, Responses `reasoning.effort`, other
//!   than `none`; Anthropic `thinking.type` `enabled` / `adaptive`; Gemini
//!   `generationConfig.thinkingConfig.includeThoughts`): the answer opens with the text
//!   `mock thinking` — chat `reasoning_content` (message or delta); a Responses `reasoning` item
//!   with a `summary_text` and `encrypted_content` `mock-openai-sig-<seq>` (streamed with the
//!   `response.reasoning_summary_*` events); an Anthropic `thinking` block with signature
//!   `mock-claude-sig-<seq>` (streamed as `thinking_delta` + `signature_delta`); a Gemini part
//!   with `thought: true` and `thoughtSignature` the base64 of `mock-gemini-sig-<seq>`.
//! - **Usage**, with each protocol's meaning: chat and Responses count cached tokens inside the
//!   input (`prompt_tokens_details` / `input_tokens_details.cached_tokens`) and reasoning
//!   inside the output (`completion_tokens_details` / `output_tokens_details.reasoning_tokens`);
//!   Anthropic's `input_tokens` excludes `cache_read_input_tokens` and its `output_tokens`
//!   includes thinking; Gemini's `promptTokenCount` includes `cachedContentTokenCount` and its
//!   `candidatesTokenCount` excludes `thoughtsTokenCount`.
//!
//! Requests are checked as strictly as the real APIs check them, so a test catches a
//! translation that produces an invalid upstream body: a 400 in the protocol's error shape,
//! naming the problem, for a missing `model` (chat, Responses, Anthropic) or `messages` /
//! `input` / `contents`; an unknown role; an Anthropic first message that is not the user's;
//! an Anthropic `tool_result` whose `tool_use_id` is no `tool_use` of the message right before
//! (or a `tool_use` left unanswered in the next message); a chat `tool` message answering no
//! `tool_calls` of the assistant message before it (or calls left unanswered); a Responses
//! `function_call_output` whose `call_id` no earlier `function_call` of the input made (unless
//! `previous_response_id` is set); a Gemini function-response turn whose part count differs
//! from the call count of the turn before, a call turn that follows no user turn, a content
//! without parts; tools without a name (or an Anthropic custom tool without `input_schema`);
//! an Anthropic `tool_choice` naming no tool; an Anthropic thinking budget under 1024 or not
//! under `max_tokens`. Anthropic roles need not alternate (the API no longer requires it).
//! `max_tokens` is required only when [`MockUpstreamBuilder::require_max_tokens`] says so.
//! `count_tokens` (`{"input_tokens": n}`) and Gemini `countTokens` (`{"totalTokens": n}`, for a
//! `contents` or a `generateContentRequest` body) apply the same checks. Rejected requests are
//! recorded like any other.
//!
//! # OAuth token endpoint
//!
//! `POST /oauth/token` ([`MockUpstream::token_url`]), form-encoded, answers as RFC 6749 says:
//! `{"access_token":"mock-at-<n>","token_type":"Bearer","expires_in":<s>}` (plus
//! `"refresh_token":"mock-rt-<n>"` for the refresh grant), or `{"error","error_description"}`
//! with 400 (401 and `WWW-Authenticate` for `invalid_client`). Bodies over 64 KiB, a body that
//! is not `application/x-www-form-urlencoded` or a parameter given twice: 400
//! `invalid_request`; an unknown grant: 400 `unsupported_grant_type`.
//!
//! - `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with `assertion` (RFC 7523): an
//!   RS256 JWT whose signature verifies with the key registered for its `iss`
//!   ([`MockUpstream::register_service_account`]), `aud` the token URL, `iat` at most 60 s
//!   ahead, `exp` in the future and at most 3600 s after `iat`, and `scope` including
//!   `https://www.googleapis.com/auth/cloud-platform`; otherwise 400 `invalid_grant` naming
//!   the failed check. Subject: the `iss` email.
//! - `grant_type=client_credentials`: a registered confidential client
//!   ([`MockUpstream::register_client`]) authenticating with `Authorization: Basic` (id and
//!   secret form-urlencoded, then base64) or `client_id` + `client_secret` in the form, not
//!   both (400 `invalid_request`); unknown client or wrong secret: 401 `invalid_client`.
//!   `scope` and `audience` are recorded ([`TokenStats`]). Subject: the client id.
//! - `grant_type=refresh_token` with `refresh_token`, the client authenticating as above (a
//!   public client sends only `client_id`): each refresh token is good once; success rotates
//!   it (a new one comes back, [`MockUpstream::latest_refresh_token`]); a used one gets 400
//!   `invalid_grant` `refresh token already used`, an unknown one or one of another client
//!   400 `invalid_grant`. Subject: the client id.
//!
//! Token requests are not recorded as model requests; [`MockUpstream::token_stats`] and
//! [`MockUpstream::wait_for_token_grants`] observe them. Steering:
//! [`MockUpstream::set_token_lifetime`], [`MockUpstream::expire_access_tokens`],
//! [`MockUpstream::set_token_endpoint_status`], [`MockUpstream::issue_refresh_token`].
//!
//! # Vertex AI routes
//!
//! - `POST /v1/projects/{project}/locations/{location}/publishers/google/models/{model}:`
//!   `generateContent` / `streamGenerateContent` (`?alt=sse` as for Gemini) / `countTokens`:
//!   the Gemini endpoints.
//! - `…/publishers/anthropic/models/{model}:rawPredict` and `:streamRawPredict`: Anthropic
//!   Messages for the model in the path; the body must carry
//!   `"anthropic_version": "vertex-2023-10-16"` and no `model`, and `"stream": true` exactly
//!   on `streamRawPredict` (else 400 `invalid_request_error` naming the field).
//!   `…/publishers/anthropic/models/count-tokens:rawPredict`: Anthropic `count_tokens` (body
//!   with `model` and `messages`).
//! - These take only `Authorization: Bearer <a valid token the mock issued>`; an API key,
//!   another bearer or none gets 401 in the protocol's shape (Gemini `UNAUTHENTICATED`,
//!   Anthropic `authentication_error`). The project and location stay in
//!   [`RecordedRequest::path`].
//! - `POST /v1/publishers/google/models/{model}:{action}` (the `vertex-api-key` shape): the
//!   Gemini endpoints with an API key in `x-goog-api-key` only (an `Authorization` header: 401).
//!
//! Knobs a request can carry (they override the mock's defaults for that request only):
//! [`CHUNKS_HEADER`] / [`CHUNK_INTERVAL_MS_HEADER`], or the same numbers in a top-level body field
//! `"mock": {"chunks": N, "chunk_interval_ms": M}` (which survives a proxy that drops unknown
//! headers). Response headers a test can read: [`CREDENTIAL_HEADER`], [`CACHE_HEADER`],
//! [`SEQUENCE_HEADER`].
//!
//! Streams: the opening events and the first content chunk leave at once; each further chunk
//! one interval later; the closing events (`[DONE]`, `message_stop`, `response.completed`, …)
//! right after the last chunk. The mock speaks HTTP/1.1 and HTTP/2 (prior knowledge).

mod conversation;
mod credential;
mod disconnect;
mod exchange;
mod fault;
mod paced_body;
mod pacing;
mod prompt_cache;
mod protocol;
mod recorder;
mod server;
mod state;
mod token_authority;
mod token_endpoint;
mod upstream;
mod vertex_route;
mod wire;

pub use fault::{Fault, FaultBehavior};
pub use prompt_cache::{CacheCounts, CacheStats};
pub use protocol::Protocol;
pub use recorder::{RecordedRequest, WaitTimeout};
pub use token_authority::TokenStats;
pub use upstream::{MockUpstream, MockUpstreamBuilder};

/// Request header that overrides the number of content chunks of one streamed answer.
pub const CHUNKS_HEADER: &str = "x-mock-chunks";

/// Request header that overrides the pause, in milliseconds, between the content chunks of one
/// streamed answer.
pub const CHUNK_INTERVAL_MS_HEADER: &str = "x-mock-chunk-interval-ms";

/// Response header naming the credential that answered.
pub const CREDENTIAL_HEADER: &str = "x-mock-credential";

/// Response header with the prompt-cache outcome of a generation request: `hit`, `miss`, or
/// `none` (the conversation had no earlier turn to look up).
pub const CACHE_HEADER: &str = "x-mock-cache";

/// Response header with the request's sequence number, matching [`RecordedRequest::sequence`].
pub const SEQUENCE_HEADER: &str = "x-mock-sequence";
