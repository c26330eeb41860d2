//! Writing payloads: JSON bodies and server-sent events.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

/// Appends `data: <json>\n\n`, preceded by `event: <name>\n` when `event` is given.
pub(crate) fn push_event(out: &mut BytesMut, event: Option<&str>, data: &impl Serialize) {
    if let Some(event) = event {
        out.put_slice(b"event: ");
        out.put_slice(event.as_bytes());
        out.put_slice(b"\n");
    }
    out.put_slice(b"data: ");
    push_json(out, data);
    out.put_slice(b"\n\n");
}

/// Appends `data: <raw>\n\n` (for markers such as `[DONE]`).
pub(crate) fn push_raw_data(out: &mut BytesMut, raw: &str) {
    out.put_slice(b"data: ");
    out.put_slice(raw.as_bytes());
    out.put_slice(b"\n\n");
}

/// Appends the JSON of `value`.
pub(crate) fn push_json(out: &mut BytesMut, value: &impl Serialize) {
    let mut writer = out.writer();
    // Serializing the mock's own plain structs into memory cannot fail.
    serde_json::to_writer(&mut writer, value).expect("serializing a mock payload");
}

/// The JSON of `value`, as bytes.
pub(crate) fn json(value: &impl Serialize) -> Bytes {
    let mut out = BytesMut::new();
    push_json(&mut out, value);
    out.freeze()
}
