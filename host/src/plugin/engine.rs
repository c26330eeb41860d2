//! The one wasmtime `Engine` and the thread that ticks its epoch.

use std::time::Duration;

use wasmtime::{Config, Engine, OptLevel};

/// How often the epoch advances; call deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The engine all plugins run on: Cranelift, optimised for speed, epoch interruption on.
pub(crate) fn new_engine() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .cranelift_opt_level(OptLevel::Speed);
    Engine::new(&config)
}

/// Starts the thread that advances `engine`'s epoch every [`EPOCH_TICK`]. It holds only a
/// weak reference and ends once the engine is gone.
pub(crate) fn start_epoch_ticker(engine: &Engine) -> std::io::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("switchyard-epoch".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
}

/// The epoch deadline, in ticks, for a call of at most `deadline`. One tick more than the
/// quotient, since the current tick may be about to end.
pub(crate) fn deadline_ticks(deadline: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos().max(1);
    u64::try_from(deadline.as_nanos().div_ceil(tick)).unwrap_or(u64::MAX / 2) + 1
}
