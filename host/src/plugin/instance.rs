//! A configured plugin instance: its settings, limits, a small pool of live instances, and
//! its fault accounting.
//!
//! Each live instance is a wasmtime `Store` with the world's bindings, configured with this
//! instance's settings when it was created. A call checks one out of the pool (creating one
//! when the pool is empty), runs with a deadline and a memory cap, and gives it back; a call
//! that faults discards its live instance instead. At most `limits.max-concurrency` calls of
//! one configured instance are in flight at once; a call that cannot get a slot within its
//! deadline is refused ([`Fault::Busy`]).

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Store;

use super::bindings::{
    AccessProvider, AccessProviderPre, SessionExtractor, SessionExtractorPre, WitRequestHead,
};
use super::call_times::CallTimes;
use super::engine::deadline_ticks;
use super::header_filter::HeaderSlots;
use super::health::{FaultPolicy, Health};
use super::idle_pool::IdlePool;
use super::state::{LogOrigin, PluginState};
use super::{Fault, Plugin, PluginError, PluginWorld, RequestHead, WorldPre};
use crate::client_address::AddressGroup;
use crate::clock::Clock;
use crate::config::PluginLimits;
use crate::events::EventHub;
use crate::history::latency_histogram::Distribution;

/// The bindings of one world, as far as the pool needs them.
pub(crate) trait WorldBindings: Sized + Send + 'static {
    /// The world.
    const WORLD: PluginWorld;

    /// The pre-instantiated component of this world.
    type Pre: Clone + Send + Sync + 'static;

    /// The pre-instantiated component of a plugin, when the plugin implements this world.
    fn pre(world: &WorldPre) -> Option<&Self::Pre>;

    /// Instantiates `pre` into `store`.
    fn instantiate(
        pre: &Self::Pre,
        store: &mut Store<PluginState>,
    ) -> impl Future<Output = wasmtime::Result<Self>> + Send;

    /// Calls the world's `configure` export.
    fn configure(
        &self,
        store: &mut Store<PluginState>,
        settings: &str,
    ) -> impl Future<Output = wasmtime::Result<Result<(), String>>> + Send;
}

/// Implements [`WorldBindings`] for the bindings `$bindings` of one world (bindgen gives the
/// worlds no common trait): `$pre` is its pre-instantiated form, `$world` its [`PluginWorld`],
/// `$variant` its [`WorldPre`] variant and `$interface` the accessor of its exported interface.
macro_rules! world_bindings {
    ($bindings:ident, $pre:ident, $world:ident, $variant:ident, $interface:ident) => {
        impl WorldBindings for $bindings {
            const WORLD: PluginWorld = PluginWorld::$world;

            type Pre = $pre<PluginState>;

            fn pre(world: &WorldPre) -> Option<&Self::Pre> {
                match world {
                    WorldPre::$variant(pre) => Some(pre),
                    _ => None,
                }
            }

            async fn instantiate(
                pre: &Self::Pre,
                store: &mut Store<PluginState>,
            ) -> wasmtime::Result<Self> {
                pre.instantiate_async(store).await
            }

            async fn configure(
                &self,
                store: &mut Store<PluginState>,
                settings: &str,
            ) -> wasmtime::Result<Result<(), String>> {
                self.$interface().call_configure(store, settings).await
            }
        }
    };
}

world_bindings!(
    AccessProvider,
    AccessProviderPre,
    AccessProvider,
    Access,
    switchyard_plugin_access
);
world_bindings!(
    SessionExtractor,
    SessionExtractorPre,
    SessionExtractor,
    Session,
    switchyard_plugin_session
);

/// One live instance: a store and the world's bindings in it.
pub(crate) struct Live<B> {
    /// The store.
    pub(crate) store: Store<PluginState>,
    /// The bindings.
    pub(crate) bindings: B,
    /// The call slot held while checked out.
    permit: Option<OwnedSemaphorePermit>,
    /// Who the current call is for (fault accounting).
    client: Option<AddressGroup>,
}

/// Counters of a configured instance (for the management API and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct InstanceStats {
    /// Calls attempted, including those refused by a quarantine.
    pub calls: u64,
    /// Calls that faulted (trap, deadline, memory, start failure).
    pub faults: u64,
    /// Calls refused because all `max-concurrency` call slots stayed busy (503 `plugin_busy`).
    pub busy: u64,
    /// Log records refused because their message or field list was over the host's limits.
    pub log_refused: u64,
    /// Times the instance was quarantined.
    pub quarantines: u64,
    /// Live instances created (each pays instantiation and `configure`).
    pub instantiations: u64,
    /// Live instances waiting in the pool.
    pub idle: usize,
    /// The largest linear memory a live instance has had after a call (all its memories
    /// together), in bytes: what `limits.memory-mib` must leave room for.
    pub memory_bytes: u64,
    /// The end of the current quarantine.
    pub quarantined_until: Option<SystemTime>,
    /// How long its calls took (those that ran: not the ones refused by a quarantine or for
    /// want of a call slot).
    pub(crate) call_times: Distribution,
}

/// A configured instance of a plugin of world `B`.
pub(crate) struct PluginInstance<B: WorldBindings> {
    plugin: Plugin,
    pre: B::Pre,
    origin: Arc<LogOrigin>,
    settings: String,
    limits: PluginLimits,
    policy: FaultPolicy,
    clock: Arc<dyn Clock>,
    events: Option<Arc<EventHub>>,
    idle: IdlePool<Live<B>>,
    /// One permit per call in flight (`limits.max-concurrency`).
    slots: Arc<Semaphore>,
    health: Mutex<Health>,
    /// Whether `health` may hold a quarantine (spares the lock and the clock otherwise).
    quarantined: AtomicBool,
    calls: AtomicU64,
    faults: AtomicU64,
    busy: AtomicU64,
    quarantines: AtomicU64,
    instantiations: AtomicU64,
    memory_bytes: AtomicU64,
    call_times: CallTimes,
}

/// What a configured instance is made from.
pub(crate) struct InstanceSpec {
    pub(crate) name: String,
    pub(crate) settings: String,
    pub(crate) limits: PluginLimits,
    pub(crate) pool_size: usize,
    pub(crate) policy: FaultPolicy,
    pub(crate) clock: Arc<dyn Clock>,
    /// Where quarantines and recoveries are announced.
    pub(crate) events: Option<Arc<EventHub>>,
}

impl<B: WorldBindings> PluginInstance<B> {
    /// Creates the configured instance and its first live instance, so settings the plugin
    /// rejects are reported now rather than on a request.
    pub(crate) async fn new(
        plugin: Plugin,
        pre: B::Pre,
        spec: InstanceSpec,
    ) -> Result<PluginInstance<B>, PluginError> {
        let instance = PluginInstance {
            origin: Arc::new(LogOrigin::new(plugin.name(), &spec.name)),
            plugin,
            pre,
            settings: spec.settings,
            limits: spec.limits,
            policy: spec.policy,
            clock: spec.clock,
            events: spec.events,
            idle: IdlePool::new(spec.pool_size, crate::serving_core::count()),
            slots: Arc::new(Semaphore::new(
                spec.limits.max_concurrency.clamp(1, Semaphore::MAX_PERMITS),
            )),
            health: Mutex::new(Health::default()),
            quarantined: AtomicBool::new(false),
            calls: AtomicU64::new(0),
            faults: AtomicU64::new(0),
            busy: AtomicU64::new(0),
            quarantines: AtomicU64::new(0),
            instantiations: AtomicU64::new(0),
            memory_bytes: AtomicU64::new(0),
            call_times: CallTimes::default(),
        };
        let live = instance.spawn().await?;
        instance.idle.put(live);
        Ok(instance)
    }

    /// The plugin this is an instance of.
    pub(crate) fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// The configured instance's name.
    pub(crate) fn name(&self) -> &str {
        &self.origin.instance
    }

    /// The counters.
    pub(crate) fn stats(&self) -> InstanceStats {
        InstanceStats {
            calls: self.calls.load(Ordering::Relaxed),
            faults: self.faults.load(Ordering::Relaxed),
            busy: self.busy.load(Ordering::Relaxed),
            log_refused: self.origin.log_refused.load(Ordering::Relaxed),
            quarantines: self.quarantines.load(Ordering::Relaxed),
            instantiations: self.instantiations.load(Ordering::Relaxed),
            idle: self.idle.len(),
            memory_bytes: self.memory_bytes.load(Ordering::Relaxed),
            quarantined_until: self.health.lock().quarantined_until(self.clock.now()),
            call_times: self.call_times.read(),
        }
    }

    /// A live instance armed for one call for a client at `client` (the request's client
    /// address, for fault accounting): from the pool, or created and configured now. Refused
    /// while the instance is quarantined, and when no call slot frees up within the deadline.
    pub(crate) async fn checkout(&self, client: Option<IpAddr>) -> Result<Live<B>, Fault> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.quarantined.load(Ordering::Acquire) {
            let mut health = self.health.lock();
            health.admit(self.clock.now()).map_err(Fault::Quarantined)?;
            self.quarantined.store(false, Ordering::Release);
            drop(health);
            self.announce("recovered", None);
        }
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                match tokio::time::timeout(self.limits.deadline, self.slots.clone().acquire_owned())
                    .await
                {
                    Ok(Ok(permit)) => permit,
                    _ => {
                        self.busy.fetch_add(1, Ordering::Relaxed);
                        return Err(Fault::Busy(self.limits.max_concurrency));
                    }
                }
            }
        };
        let pooled = self.idle.take();
        let mut live = match pooled {
            Some(live) => live,
            None => match self.spawn().await {
                Ok(live) => live,
                Err(error) => return Err(self.fault(Fault::Start(error.to_string()), None, None)),
            },
        };
        let client = client.map(AddressGroup::of);
        self.health
            .lock()
            .record_call(self.clock.now(), &self.policy);
        live.permit = Some(permit);
        live.client = client;
        live.store.data_mut().begin_call();
        live.store
            .set_epoch_deadline(deadline_ticks(self.limits.deadline));
        Ok(live)
    }

    /// Makes one call for the request `head`: checks a live instance out (for the request's
    /// client), hands `call` its bindings, its store and the header fields the plugin declared,
    /// bounds the call by the deadline, and checks the instance back in.
    pub(crate) async fn call<R>(
        &self,
        head: &RequestHead,
        call: impl AsyncFnOnce(&B, &mut Store<PluginState>, WitRequestHead<'_>) -> wasmtime::Result<R>,
    ) -> Result<R, Fault> {
        let mut live = self.checkout(head.client_ip()).await?;
        let mut slots = HeaderSlots::new();
        let wit = head.wit(self.plugin.header_filter(), &mut slots);
        let Live {
            store, bindings, ..
        } = &mut live;
        let started = Instant::now();
        let result = within(self.limits.deadline, call(bindings, store, wit)).await;
        self.call_times.record(started.elapsed());
        self.checkin(live, result)
    }

    /// Ends a call: on success the live instance goes back to the pool (if there is room)
    /// and the answer is returned; on error it is discarded and the fault recorded.
    /// `result` is `None` when the host-side deadline expired first.
    pub(crate) fn checkin<R>(
        &self,
        mut live: Live<B>,
        result: Option<wasmtime::Result<R>>,
    ) -> Result<R, Fault> {
        let output = live.store.data().output.take();
        // The slot frees when the call ends, whether the live instance is kept or not.
        live.permit = None;
        let client = live.client.take();
        match result {
            Some(Ok(answer)) => {
                self.note_memory(&live);
                if let Some(output) = output {
                    tracing::debug!(plugin = %self.origin.kind, instance = %self.origin.instance, %output, "plugin output");
                }
                self.idle.put(live);
                Ok(answer)
            }
            Some(Err(error)) => {
                let fault =
                    Fault::from_call(&error, live.store.data().limiter.exceeded, &self.limits);
                tracing::debug!(plugin = %self.origin.kind, instance = %self.origin.instance, error = ?error, "plugin call failed");
                Err(self.fault(fault, output, client))
            }
            None => Err(self.fault(Fault::Deadline(self.limits.deadline), output, client)),
        }
    }

    /// Counts `fault` (of a call for `client`), quarantines the instance when the policy
    /// says so, and logs it. Only faults the plugin caused count towards a quarantine.
    fn fault(&self, fault: Fault, output: Option<String>, client: Option<AddressGroup>) -> Fault {
        self.faults.fetch_add(1, Ordering::Relaxed);
        let quarantined = if fault.caused_by_plugin() {
            self.health
                .lock()
                .record_fault(self.clock.now(), client, &self.policy)
        } else {
            None
        };
        tracing::warn!(
            plugin = %self.origin.kind,
            instance = %self.origin.instance,
            %fault,
            output = output.as_deref().unwrap_or(""),
            "plugin fault"
        );
        if let Some(until) = quarantined {
            self.quarantined.store(true, Ordering::Release);
            self.quarantines.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                plugin = %self.origin.kind,
                instance = %self.origin.instance,
                seconds = self.policy.quarantine.as_secs(),
                until = ?until,
                "plugin instance quarantined: too many of its recent calls faulted"
            );
            self.announce("quarantined", Some(until));
        }
        fault
    }

    /// Publishes a `plugin` event: this instance is now in `state` (until `until`).
    fn announce(&self, state: &str, until: Option<SystemTime>) {
        super::announce(self.events.as_deref(), || {
            let mut event = serde_json::json!({
                "plugin": self.origin.kind,
                "instance": self.origin.instance,
                "state": state,
            });
            if let Some(until) = until {
                event["until"] = crate::rfc3339::format(until).into();
            }
            event
        });
    }

    /// Records the linear memory of `live` when it is the largest seen.
    fn note_memory(&self, live: &Live<B>) {
        let bytes = u64::try_from(live.store.data().limiter.total_bytes).unwrap_or(u64::MAX);
        // Read first: memory rarely grows, and a read keeps the cache line shared.
        if bytes > self.memory_bytes.load(Ordering::Relaxed) {
            self.memory_bytes.fetch_max(bytes, Ordering::Relaxed);
        }
    }

    /// Creates a live instance and applies the settings to it.
    async fn spawn(&self) -> Result<Live<B>, PluginError> {
        self.instantiations.fetch_add(1, Ordering::Relaxed);
        let mut store = self
            .plugin
            .core()
            .new_store(self.origin.clone(), &self.limits);
        let started = tokio::time::timeout(self.limits.deadline, async {
            let bindings = B::instantiate(&self.pre, &mut store).await?;
            let configured = bindings.configure(&mut store, &self.settings).await?;
            Ok::<_, wasmtime::Error>((bindings, configured))
        })
        .await;
        let memory = store.data().limiter.exceeded;
        match started {
            Ok(Ok((bindings, Ok(())))) => {
                let live = Live {
                    store,
                    bindings,
                    permit: None,
                    client: None,
                };
                self.note_memory(&live);
                Ok(live)
            }
            Ok(Ok((_, Err(message)))) => Err(PluginError::Rejected(message)),
            Ok(Err(error)) => Err(PluginError::Start(Fault::from_call(
                &error,
                memory,
                &self.limits,
            ))),
            Err(_) => Err(PluginError::Start(Fault::Deadline(self.limits.deadline))),
        }
    }
}

/// Runs `future` for at most `limit` (from now); `None` when the limit passed first.
///
/// The timer is only armed if the future has to wait: a call that completes without waiting
/// (the usual case: the guest computes and returns) costs one clock read. A guest that
/// computes too long is stopped by the epoch deadline instead; this covers a guest waiting on
/// the host (a WASI sleep or poll).
async fn within<F: Future>(limit: std::time::Duration, future: F) -> Option<F::Output> {
    let start = tokio::time::Instant::now();
    let mut future = std::pin::pin!(future);
    let mut timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(cx) {
            return std::task::Poll::Ready(Some(output));
        }
        let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(start + limit)));
        match timer.as_mut().poll(cx) {
            std::task::Poll::Ready(()) => std::task::Poll::Ready(None),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    })
    .await
}
