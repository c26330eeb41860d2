//! The state a running mock shares between its control handle and its request handlers.

use tokio::sync::watch;

use crate::fault::FaultTable;
use crate::pacing::Pacing;
use crate::prompt_cache::PromptCache;
use crate::recorder::Recorder;
use crate::token_authority::TokenAuthority;

/// Everything the handlers read and the control handle steers. Each part locks only for
/// in-memory bookkeeping and never across an await.
#[derive(Debug)]
pub(crate) struct MockState {
    /// Default pacing of streamed answers.
    pub(crate) pacing: Pacing,
    /// Faults to inject.
    pub(crate) faults: FaultTable,
    /// Requests and events seen.
    pub(crate) recorder: Recorder,
    /// The per-credential prompt-cache model.
    pub(crate) prompt_cache: PromptCache,
    /// Top-level request fields the mock does not know: a request with one gets a 400 that
    /// echoes the field's name, as real providers answer unknown parameters.
    pub(crate) unknown_fields: Vec<String>,
    /// Anthropic requests without `max_tokens` get a 400, as the real API answers them.
    pub(crate) require_max_tokens: bool,
    /// The OAuth token endpoint's authority: registered accounts and issued tokens.
    pub(crate) tokens: TokenAuthority,
    /// `true` once the mock is shutting down: hung requests and stalled streams end.
    shutting_down: watch::Sender<bool>,
}

impl MockState {
    /// Fresh state.
    pub(crate) fn new(
        pacing: Pacing,
        keep_requests: bool,
        unknown_fields: Vec<String>,
        require_max_tokens: bool,
        token_url: String,
    ) -> Self {
        MockState {
            pacing,
            unknown_fields,
            require_max_tokens,
            faults: FaultTable::default(),
            recorder: Recorder::new(keep_requests),
            prompt_cache: PromptCache::default(),
            tokens: TokenAuthority::new(token_url),
            shutting_down: watch::Sender::new(false),
        }
    }

    /// Starts the shutdown (idempotent).
    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.send_replace(true);
    }

    /// Resolves once the shutdown has begun.
    pub(crate) fn shutdown_begun(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut shutting_down = self.shutting_down.subscribe();
        async move {
            // An error means the sender, and with it the whole mock, is gone: a shutdown too.
            let _ = shutting_down.wait_for(|begun| *begun).await;
        }
    }
}
