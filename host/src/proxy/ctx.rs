//! What every step of one proxied request reads: the process-wide runtime and the generation
//! the request was admitted under, passed together; and what the client's call itself says
//! before its body is read.

use crate::generation::Generation;
use crate::runtime::Runtime;

use super::endpoint::Endpoint;

/// One request's view of the proxy: the runtime (clock, metrics, clients, usage) and the
/// generation (config, credentials, selector, affinity) it runs in from start to end.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    /// The process-wide state.
    pub runtime: &'a Runtime,
    /// The configuration generation the request was admitted under.
    pub generation: &'a Generation,
}

/// What the route of a client's call says: the operation, and for Gemini the model and framing
/// taken from the path and query.
#[derive(Debug, Clone)]
pub(crate) struct ClientCall {
    /// The operation.
    pub endpoint: Endpoint,
    /// The model named in the path (Gemini), which wins over the body's.
    pub path_model: Option<String>,
    /// For Gemini streams: SSE framing (`alt=sse`).
    pub sse: bool,
}
