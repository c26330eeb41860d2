//! The control handle of a running mock, and its builder.

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::fault::Fault;
use crate::pacing::Pacing;
use crate::prompt_cache::CacheStats;
use crate::recorder::{RecordedRequest, WaitTimeout};
use crate::server;
use crate::state::MockState;
use crate::token_authority::TokenStats;
use crate::token_endpoint::TOKEN_PATH;

/// Options for a mock, then [`MockUpstreamBuilder::start`].
#[derive(Clone, Debug)]
pub struct MockUpstreamBuilder {
    listen: SocketAddr,
    pacing: Pacing,
    record_requests: bool,
    unknown_fields: Vec<String>,
    require_max_tokens: bool,
}

impl Default for MockUpstreamBuilder {
    fn default() -> Self {
        MockUpstreamBuilder {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            pacing: Pacing::default(),
            record_requests: true,
            unknown_fields: Vec::new(),
            require_max_tokens: false,
        }
    }
}

impl MockUpstreamBuilder {
    /// The address to listen on (default `127.0.0.1:0`: a free port on loopback).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Content chunks in a streamed answer (default 5; at least 1).
    pub fn chunks(mut self, chunks: u32) -> Self {
        self.pacing.chunks = chunks;
        self
    }

    /// The pause between the chunks of a streamed answer (default none).
    pub fn chunk_interval(mut self, interval: Duration) -> Self {
        self.pacing.interval = interval;
        self
    }

    /// Whether to keep every request for [`MockUpstream::requests`] (default yes). Counts and
    /// waits work either way; turn it off for benchmarks.
    pub fn record_requests(mut self, record: bool) -> Self {
        self.record_requests = record;
        self
    }

    /// Top-level request fields this mock does not know: a request carrying one gets a 400 in
    /// the protocol's error shape whose message echoes the field's name (OpenAI
    /// `Unrecognized request argument supplied: <name>`, Anthropic `<name>: Extra inputs are
    /// not permitted`, Gemini `Unknown name "<name>"`), as the real providers do.
    pub fn unknown_fields<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.unknown_fields = names.into_iter().map(Into::into).collect();
        self
    }

    /// Whether an Anthropic Messages request without `max_tokens` gets a 400
    /// (`max_tokens: Field required`), as the real API answers it (default no: many tests send
    /// short bodies without it). Turn it on to check that a translated request is complete.
    /// Every other check of a request's shape is always on (see the crate documentation).
    pub fn require_max_tokens(mut self, require: bool) -> Self {
        self.require_max_tokens = require;
        self
    }

    /// Binds the address and starts serving on the current Tokio runtime.
    pub async fn start(self) -> io::Result<MockUpstream> {
        let listener = TcpListener::bind(self.listen).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(MockState::new(
            self.pacing.normalized(),
            self.record_requests,
            self.unknown_fields,
            self.require_max_tokens,
            format!("http://{addr}{TOKEN_PATH}"),
        ));
        let server = tokio::spawn(server::serve(listener, Arc::clone(&state)));
        Ok(MockUpstream {
            state,
            addr,
            server: Some(server),
        })
    }
}

/// A running mock upstream and the handle to steer and observe it. Dropping it stops the server
/// (in the background); [`MockUpstream::shutdown`] stops it and waits.
#[derive(Debug)]
pub struct MockUpstream {
    state: Arc<MockState>,
    addr: SocketAddr,
    server: Option<JoinHandle<()>>,
}

impl MockUpstream {
    /// Starts a mock with the default options (see [`MockUpstreamBuilder`]).
    pub async fn start() -> io::Result<MockUpstream> {
        MockUpstream::builder().start().await
    }

    /// Options for a mock.
    pub fn builder() -> MockUpstreamBuilder {
        MockUpstreamBuilder::default()
    }

    /// The address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, ends hung requests and stalled streams, lets other open exchanges finish
    /// (up to a few seconds), and returns when the server has stopped.
    pub async fn shutdown(mut self) {
        self.state.begin_shutdown();
        if let Some(server) = self.server.take() {
            // The server task only fails if it panicked; there is nothing left to stop then.
            let _ = server.await;
        }
    }

    /// Sets (replaces) the fault of the credential `key`.
    pub fn set_fault(&self, key: impl Into<String>, fault: Fault) {
        self.state.faults.set(Some(key.into()), fault);
    }

    /// Sets (replaces) the fault for every credential; a credential's own fault comes first.
    pub fn set_fault_for_all(&self, fault: Fault) {
        self.state.faults.set(None, fault);
    }

    /// Removes the fault of the credential `key` (not the one for every credential).
    pub fn clear_fault(&self, key: &str) {
        self.state.faults.clear(Some(key));
    }

    /// Removes every fault, per credential and for all.
    pub fn clear_faults(&self) {
        self.state.faults.clear_all();
    }

    /// The recorded requests, in arrival order (empty when recording is off).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.recorder.requests()
    }

    /// Requests received so far (with or without a credential, on any path).
    pub fn request_count(&self) -> u64 {
        self.state.recorder.request_count()
    }

    /// Requests received with the credential `key`.
    pub fn request_count_for(&self, key: &str) -> u64 {
        self.state.recorder.credential_count(key)
    }

    /// Requests received per credential key.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.state.recorder.credential_counts()
    }

    /// Exchanges the client abandoned before the mock finished them: a stream dropped before
    /// its end, or a request dropped while delayed or hanging.
    pub fn disconnect_count(&self) -> u64 {
        self.state.recorder.disconnect_count()
    }

    /// Streamed answers currently open.
    pub fn open_streams(&self) -> u64 {
        self.state.recorder.open_streams()
    }

    /// Waits until at least `count` requests have been received (and recorded).
    pub async fn wait_for_requests(
        &self,
        count: u64,
        timeout: Duration,
    ) -> Result<(), WaitTimeout> {
        let recorder = &self.state.recorder;
        recorder
            .wait_until("requests", count, timeout, || recorder.request_count())
            .await
    }

    /// Waits until at least `count` requests with the credential `key` have been received.
    pub async fn wait_for_requests_for(
        &self,
        key: &str,
        count: u64,
        timeout: Duration,
    ) -> Result<(), WaitTimeout> {
        let recorder = &self.state.recorder;
        let what = format!("requests with credential {key}");
        recorder
            .wait_until(&what, count, timeout, || recorder.credential_count(key))
            .await
    }

    /// Waits until at least `count` disconnects (see [`MockUpstream::disconnect_count`]).
    pub async fn wait_for_disconnects(
        &self,
        count: u64,
        timeout: Duration,
    ) -> Result<(), WaitTimeout> {
        let recorder = &self.state.recorder;
        recorder
            .wait_until("disconnects", count, timeout, || {
                recorder.disconnect_count()
            })
            .await
    }

    /// Prompt-cache lookups and hits, per credential and in total (see [`CacheStats`]).
    pub fn cache_stats(&self) -> CacheStats {
        self.state.prompt_cache.stats()
    }

    /// Empties every credential's prompt cache and zeroes its counts.
    pub fn reset_cache(&self) {
        self.state.prompt_cache.reset();
    }

    /// The URL of the mock's OAuth token endpoint, `{base_url}/oauth/token`: the `token_uri`
    /// of a service-account key, the `token-url` of an OAuth client, and the `aud` a JWT
    /// assertion must carry.
    pub fn token_url(&self) -> String {
        self.state.tokens.token_url().to_owned()
    }

    /// Trusts `public_key_der` (the RSA public key as PKCS#1 `RSAPublicKey` DER, what
    /// `ring`'s `RsaKeyPair::public_key()` gives) for JWT assertions whose `iss` is `email`.
    /// Tokens granted on such an assertion have `email` as their subject.
    pub fn register_service_account(&self, email: impl Into<String>, public_key_der: Vec<u8>) {
        self.state
            .tokens
            .register_service_account(email.into(), public_key_der);
    }

    /// Registers (or replaces) an OAuth client: confidential with `client_secret`, public
    /// without. Tokens granted to it have `client_id` as their subject.
    pub fn register_client(&self, client_id: impl Into<String>, client_secret: Option<&str>) {
        self.state
            .tokens
            .register_client(client_id.into(), client_secret.map(str::to_owned));
    }

    /// A fresh, valid refresh token for `client_id` (registered as a public client if it is
    /// not registered yet). It becomes the client's [`MockUpstream::latest_refresh_token`].
    pub fn issue_refresh_token(&self, client_id: &str) -> String {
        self.state.tokens.issue_refresh_token(client_id)
    }

    /// The refresh token most recently issued to `client_id`, by
    /// [`MockUpstream::issue_refresh_token`] or by a rotation at the token endpoint.
    pub fn latest_refresh_token(&self, client_id: &str) -> Option<String> {
        self.state.tokens.latest_refresh_token(client_id)
    }

    /// The lifetime of access tokens issued from now on (default one hour): their
    /// `expires_in`, in whole seconds (at least one), and how long the model routes accept
    /// them. Tokens already issued keep theirs.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.state.tokens.set_lifetime(lifetime);
    }

    /// Invalidates every access token issued so far: the model routes answer 401 to them
    /// from now on (tokens issued later are valid).
    pub fn expire_access_tokens(&self) {
        self.state.tokens.expire_access_tokens();
    }

    /// While `Some(status)`, the token endpoint answers every request with `status` and
    /// `{"error":"temporarily_unavailable"}` (the endpoint is "down"); `None` restores it.
    pub fn set_token_endpoint_status(&self, status: Option<u16>) {
        self.state.tokens.set_endpoint_status(status);
    }

    /// What the token endpoint granted and refused, and the bearers the model routes refused.
    pub fn token_stats(&self) -> TokenStats {
        self.state.tokens.stats()
    }

    /// Waits until at least `count` token grants (of any kind) have succeeded.
    pub async fn wait_for_token_grants(
        &self,
        count: u64,
        timeout: Duration,
    ) -> Result<(), WaitTimeout> {
        self.state.tokens.wait_for_grants(count, timeout).await
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.state.begin_shutdown();
    }
}
