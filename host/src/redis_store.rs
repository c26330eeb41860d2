//! The store several replicas share (`routing.session-store: redis://…`): session
//! bindings (served through [`crate::affinity::redis::RedisCache`]) and credential
//! cooldowns live in one Redis.
//!
//! - One [`ConnectionManager`] per store (one multiplexed, pipelined connection that reconnects
//!   by itself) for every call, and one subscription connection for the cooldown channel.
//! - Every call has a short timeout ([`RedisOptions::call_timeout`]). A connection failure or a
//!   timeout makes the store *degraded* ([`health`]): calls skip Redis at once, bindings come
//!   from this process's memory, cooldowns stay local. The supervisor retries every
//!   [`RedisOptions::retry_interval`]; once Redis answers it resubscribes, reloads the cooldowns
//!   in force, publishes what this process learned meanwhile, and the store serves from Redis
//!   again. Both transitions are logged once.
//! - Cooldowns stay checked locally (no Redis round trip per candidate): this process's changes
//!   are published (a key per cooldown with its TTL, an index, and a pub/sub message) and the
//!   other replicas' changes are applied to the local [`StateTable`]. Every cooldown message and
//!   key is signed ([`signing`], `routing.session-store-secret`); one whose MAC does not check is
//!   ignored and counted ([`RedisStore::rejected`]), and a remote cooldown ends at most 24 h
//!   from now.
//!
//! The key layout is in [`keys`]. A store is built when a generation is prepared, off the request
//! path; an unreachable Redis starts it degraded, never fails the start.

mod cooldown_sync;
pub(crate) mod error;
pub(crate) mod health;
pub(crate) mod keys;
pub(crate) mod signing;
mod supervisor;
pub(crate) mod token_sync;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub(crate) use error::RedisStoreError;
pub(crate) use keys::KeyNames;
pub use signing::StoreSecret;

use self::health::Health;
use crate::clock::Clock;
use crate::credential::shared_cooldown::CooldownListener;
use crate::credential::state::StateTable;

/// Timeouts and intervals of a store. The defaults suit a Redis on the same network.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// The longest a call (on the request path or not) waits for Redis. Default 100 ms.
    pub call_timeout: Duration,
    /// The longest a (re)connection, with its resubscription and resynchronisation, may take;
    /// also how long building a store waits for Redis before it starts degraded. Default 2 s.
    pub connect_timeout: Duration,
    /// While degraded, how often the store tries Redis again. Default 1 s.
    pub retry_interval: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            call_timeout: Duration::from_millis(100),
            connect_timeout: Duration::from_secs(2),
            retry_interval: Duration::from_secs(1),
        }
    }
}

/// Which Redis, and the key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisTarget {
    /// A `redis://` or `rediss://` URL.
    pub url: String,
    /// `routing.session-store-prefix`.
    pub prefix: String,
    /// `routing.session-store-secret`: the key cooldown messages are signed with.
    pub secret: StoreSecret,
}

/// A connection to the shared store, with its health and its cooldown sharing.
#[derive(Debug)]
pub struct RedisStore {
    shared: Arc<Shared>,
    listener: Arc<dyn CooldownListener>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// What the store's tasks and callers share.
#[derive(Debug)]
struct Shared {
    target: RedisTarget,
    keys: KeyNames,
    client: redis::Client,
    connection: ConnectionManager,
    options: RedisOptions,
    health: Health,
    /// Tags this store's cooldown messages, so it skips its own.
    origin: String,
    states: Arc<StateTable>,
    clock: Arc<dyn Clock>,
    /// Calls that failed (connection, timeout, or an error answer).
    errors: AtomicU64,
    /// Remote cooldown changes applied so far.
    applied: watch::Sender<u64>,
    /// Signs this store's cooldown messages and checks the others'.
    signer: signing::Signer,
    /// Cooldown messages and keys ignored: bad or missing MAC, or unreadable.
    rejected: AtomicU64,
    /// When a rejection was last logged (at most one warning per [`REJECTION_LOG_INTERVAL`]).
    rejection_logged: Mutex<Option<std::time::Instant>>,
}

/// The least time between two warnings about rejected cooldown messages.
const REJECTION_LOG_INTERVAL: Duration = Duration::from_secs(60);

impl RedisStore {
    /// Whether two generations use the same store (both none, or the same instance).
    pub fn same(a: Option<&Arc<RedisStore>>, b: Option<&Arc<RedisStore>>) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Builds the store for `target` and waits (at most `options.connect_timeout`) for its first
    /// connection; Redis being unreachable starts it degraded. Only a URL the client rejects is
    /// an error. Cooldown changes of other replicas are applied to `states`; this process's are
    /// published once [`RedisStore::listener`] is installed in `states`.
    pub async fn connect(
        target: RedisTarget,
        options: RedisOptions,
        states: Arc<StateTable>,
        clock: Arc<dyn Clock>,
    ) -> Result<RedisStore, RedisStoreError> {
        crate::proxy::client_pool::install_crypto_provider();
        let client = redis::Client::open(target.url.as_str()).map_err(RedisStoreError::Url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.call_timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(options.retry_interval);
        let connection = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(RedisStoreError::Url)?;
        let keys = KeyNames::new(target.prefix.clone());
        let signer = signing::Signer::new(&target.secret, &target.prefix);
        let shared = Arc::new(Shared {
            health: Health::new(redacted(&target.url)),
            target,
            keys,
            client,
            connection,
            options,
            origin: origin_tag(),
            states,
            clock,
            errors: AtomicU64::new(0),
            applied: watch::channel(0).0,
            signer,
            rejected: AtomicU64::new(0),
            rejection_logged: Mutex::new(None),
        });
        let (stop, stopped) = watch::channel(false);
        let (changes, queued) = mpsc::unbounded_channel();
        let mut first_outcome = shared.health.subscribe();
        let tasks = vec![
            tokio::spawn(supervisor::run(shared.clone(), stopped.clone())),
            tokio::spawn(cooldown_sync::publish(
                shared.clone(),
                queued,
                stopped.clone(),
            )),
        ];
        let wait = shared.options.connect_timeout + shared.options.call_timeout;
        let _ = tokio::time::timeout(wait, first_outcome.changed()).await;
        Ok(RedisStore {
            shared,
            listener: Arc::new(cooldown_sync::Publisher::new(changes)),
            stop,
            tasks: Mutex::new(tasks),
        })
    }

    /// Where and under which prefix.
    pub fn target(&self) -> &RedisTarget {
        &self.shared.target
    }

    /// The key names.
    pub fn keys(&self) -> &KeyNames {
        &self.shared.keys
    }

    /// Whether Redis is being skipped (bindings and cooldowns are local).
    pub fn degraded(&self) -> bool {
        self.shared.health.is_degraded()
    }

    /// Watches the degraded flag (tests wait on it instead of sleeping).
    pub fn degraded_changes(&self) -> watch::Receiver<bool> {
        self.shared.health.subscribe()
    }

    /// Watches the number of other replicas' cooldown changes applied so far.
    pub fn applied_changes(&self) -> watch::Receiver<u64> {
        self.shared.applied.subscribe()
    }

    /// Calls that failed so far (connection, timeout or an error answer).
    pub fn errors(&self) -> u64 {
        self.shared.errors.load(Ordering::Relaxed)
    }

    /// Cooldown messages and keys ignored so far because their MAC did not check (or they
    /// could not be read).
    pub fn rejected(&self) -> u64 {
        self.shared.rejected.load(Ordering::Relaxed)
    }

    /// What to install in the state table (with
    /// [`StateTable::set_listener`](crate::credential::state::StateTable::set_listener)) so this
    /// process's cooldown changes are published.
    pub fn listener(&self) -> Arc<dyn CooldownListener> {
        self.listener.clone()
    }

    /// Runs `op` on the shared connection, unless the store is degraded, within the call
    /// timeout. A connection failure or timeout degrades the store.
    pub(crate) async fn call<T, F, Fut>(&self, op: F) -> Result<T, RedisStoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        self.shared.call(op).await
    }

    /// Stops the store's tasks (the subscription and the publisher). Idempotent.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Whether every task of the store has ended (after [`RedisStore::stop`]).
    pub fn finished(&self) -> bool {
        self.tasks.lock().iter().all(JoinHandle::is_finished)
    }
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

impl Shared {
    /// Counts an ignored cooldown message (`what` says why), warning at most once per interval.
    fn reject(&self, what: &dyn std::fmt::Display) {
        let total = self.rejected.fetch_add(1, Ordering::Relaxed) + 1;
        let now = std::time::Instant::now();
        let mut logged = self.rejection_logged.lock();
        if logged.is_none_or(|at| now.duration_since(at) >= REJECTION_LOG_INTERVAL) {
            *logged = Some(now);
            tracing::warn!(
                total,
                "session store: ignoring a cooldown message ({what}); is \
                 routing.session-store-secret the same on every replica?"
            );
        }
    }

    async fn call<T, F, Fut>(&self, op: F) -> Result<T, RedisStoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if self.health.is_degraded() {
            return Err(RedisStoreError::Degraded);
        }
        self.call_anyway(op).await
    }

    /// [`Shared::call`] without the breaker check: the supervisor's probes.
    async fn call_anyway<T, F, Fut>(&self, op: F) -> Result<T, RedisStoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let timeout = self.options.call_timeout;
        let result = match tokio::time::timeout(timeout, op(self.connection.clone())).await {
            Ok(answer) => answer.map_err(RedisStoreError::from),
            Err(_) => Err(RedisStoreError::Timeout(timeout)),
        };
        if let Err(error) = &result {
            self.errors.fetch_add(1, Ordering::Relaxed);
            if error.is_unavailable() {
                self.health.down(error);
            } else {
                tracing::warn!("session store: {error}");
            }
        }
        result
    }
}

/// The URL without its password, for logs.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<invalid URL>".to_owned(),
    }
}

/// A tag unique to this store instance.
fn origin_tag() -> String {
    use std::hash::BuildHasher;
    let seed = (
        std::process::id(),
        std::time::SystemTime::now(),
        std::thread::current().id(),
    );
    format!(
        "{:016x}",
        std::collections::hash_map::RandomState::new().hash_one(format!("{seed:?}"))
    )
}
