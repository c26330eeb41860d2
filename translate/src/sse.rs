//! Server-sent events: an incremental reader of upstream frames and the writer of client ones.

use crate::error::TranslateError;

/// One SSE frame: its `event:` name and its `data:` lines joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// The `event:` field, when present.
    pub event: Option<String>,
    /// The `data:` lines, joined.
    pub data: String,
}

/// Reads SSE frames from chunks of any size. A frame larger than the limit is an error
/// instead of unbounded memory.
#[derive(Debug)]
pub struct SseReader {
    buffer: Vec<u8>,
    /// Where the scan for a frame end resumes in `buffer`.
    scanned: usize,
    max_frame: usize,
}

impl SseReader {
    /// A reader refusing frames over `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        SseReader {
            buffer: Vec::new(),
            scanned: 0,
            max_frame,
        }
    }

    /// Adds `chunk` and appends every frame it completes to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<(), TranslateError> {
        self.buffer.extend_from_slice(chunk);
        let mut start = 0;
        while let Some((len, skip)) =
            frame_end(&self.buffer[start..], self.scanned.saturating_sub(start))
        {
            if let Some(frame) = parse(&self.buffer[start..start + len]) {
                out.push(frame);
            }
            start += len + skip;
            self.scanned = start;
        }
        self.buffer.drain(..start);
        // Resume the search for `\n\n` a little before the end (a separator may straddle).
        self.scanned = self.buffer.len().saturating_sub(3);
        if self.buffer.len() > self.max_frame {
            return Err(TranslateError::Upstream(format!(
                "upstream stream event larger than {} bytes",
                self.max_frame
            )));
        }
        Ok(())
    }

    /// Ends the input: a last frame without its blank line still counts.
    pub fn finish(&mut self, out: &mut Vec<Frame>) {
        let rest = std::mem::take(&mut self.buffer);
        if let Some(frame) = parse(&rest) {
            out.push(frame);
        }
    }
}

/// The length of the first complete frame in `bytes` and of the separator after it.
fn frame_end(bytes: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while let Some(pos) = memchr::memchr2(b'\n', b'\r', &bytes[i..]) {
        let at = i + pos;
        let rest = &bytes[at..];
        for separator in [&b"\r\n\r\n"[..], b"\n\n", b"\r\r"] {
            if rest.starts_with(separator) {
                return Some((at, separator.len()));
            }
        }
        i = at + 1;
    }
    None
}

/// One frame's lines; `None` for a frame without data (comments, keep-alives).
fn parse(bytes: &[u8]) -> Option<Frame> {
    let text = String::from_utf8_lossy(bytes);
    let mut frame = Frame::default();
    let mut has_data = false;
    for line in text.lines() {
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => frame.event = Some(value.to_owned()),
            "data" => {
                if has_data {
                    frame.data.push('\n');
                }
                frame.data.push_str(value);
                has_data = true;
            }
            _ => {}
        }
    }
    has_data.then_some(frame)
}

/// Appends `event: <name>\ndata: <json>\n\n` (no `event:` line when `name` is `None`).
pub fn write_frame(out: &mut Vec<u8>, name: Option<&str>, json: &[u8]) {
    if let Some(name) = name {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(json);
    out.extend_from_slice(b"\n\n");
}

/// Appends one frame whose data is `value` serialized.
pub fn write_json<T: serde::Serialize>(out: &mut Vec<u8>, name: Option<&str>, value: &T) {
    if let Some(name) = name {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    // Straight into `out`, without an intermediate buffer. Serializing a value built in
    // memory (string keys only) into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
    out.extend_from_slice(b"\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(chunks: &[&str]) -> Vec<Frame> {
        let mut reader = SseReader::new(1 << 20);
        let mut out = Vec::new();
        for chunk in chunks {
            reader.push(chunk.as_bytes(), &mut out).unwrap();
        }
        reader.finish(&mut out);
        out
    }

    #[test]
    fn frames_split_anywhere() {
        let text = "event: a\ndata: {\"x\":1}\n\n: keep-alive\n\ndata: [DONE]\n\n";
        let whole = frames(&[text]);
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0].event.as_deref(), Some("a"));
        assert_eq!(whole[0].data, "{\"x\":1}");
        assert_eq!(whole[1].data, "[DONE]");
        for cut in 0..text.len() {
            assert_eq!(frames(&[&text[..cut], &text[cut..]]), whole, "cut at {cut}");
        }
    }

    #[test]
    fn crlf_multi_line_data_and_an_unterminated_last_frame() {
        let out = frames(&["data: a\r\ndata: b\r\n\r\ndata: c"]);
        assert_eq!(out[0].data, "a\nb");
        assert_eq!(out[1].data, "c");
    }

    #[test]
    fn an_endless_frame_is_refused() {
        let mut reader = SseReader::new(16);
        let mut out = Vec::new();
        assert!(reader.push(&[b'x'; 64], &mut out).is_err());
    }
}
