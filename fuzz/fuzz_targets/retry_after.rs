//! Any `Retry-After` text, read against any clock, is at most 24 hours and never panics.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use switchyard::proxy::upstream::{MAX_RETRY_AFTER, parse_retry_after};

fuzz_target!(|input: (&str, u32)| {
    let (text, seconds) = input;
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(seconds) * 4);
    if let Some(parsed) = parse_retry_after(text, now) {
        assert!(parsed.wait <= MAX_RETRY_AFTER);
    }
});
