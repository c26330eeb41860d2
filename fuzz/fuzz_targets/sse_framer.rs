//! The SSE framer's incremental search finds the same event end as a scan of the whole held
//! tail, wherever a chunk boundary falls.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::proxy::stream_event::last_event_end;
use switchyard::proxy::stream_relay::last_event_end_since;

fuzz_target!(|data: &[u8]| {
    for cut in 0..=data.len() {
        // Held bytes never contain an event end: they start after the last one before the cut.
        let held_from = last_event_end(&data[..cut]).unwrap_or(0);
        let held = &data[held_from..];
        assert_eq!(
            last_event_end_since(held, cut - held_from),
            last_event_end(held)
        );
    }
});
