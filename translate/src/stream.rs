//! A per-stream state machine: upstream SSE bytes in, client protocol bytes out.

use crate::ir::{Block, Delta, Event};
use crate::sse::{Frame, SseReader};
use crate::{Exchange, Format, NameMap, TranslateError, chat, claude, gemini, responses};

/// The upstream side: SSE frames to hub events.
#[derive(Debug)]
enum Decoder {
    Chat(chat::StreamDecoder),
    Responses(responses::StreamDecoder),
    Claude(claude::StreamDecoder),
    Gemini(gemini::StreamDecoder),
}

/// The client side: hub events to the client's bytes.
#[derive(Debug)]
enum Encoder {
    Chat(chat::StreamEncoder),
    Responses(responses::StreamEncoder),
    Claude(claude::StreamEncoder),
    Gemini(gemini::StreamEncoder),
}

/// The most content a Responses client's stream keeps for its final `response.completed`
/// event (which repeats the whole output).
const MAX_RETAINED: usize = 64 << 20;

/// Translates one upstream stream for the client, chunk by chunk. Memory is bounded: a frame
/// and a content block may each hold at most `max_frame` bytes (a tool call held until its id
/// and name arrive, or, toward a Gemini client, until it is complete), and a Responses client's
/// stream, which repeats its whole output at the end, at most 64 MiB.
#[derive(Debug)]
pub struct StreamTranslator {
    reader: SseReader,
    decoder: Decoder,
    encoder: Encoder,
    names: NameMap,
    frames: Vec<Frame>,
    events: Vec<Event>,
    ended: bool,
    /// The largest frame and content block.
    max_frame: usize,
    /// Bytes of the open block's deltas.
    block_bytes: usize,
    /// Bytes of every delta so far.
    total_bytes: usize,
    /// The most `total_bytes` may reach (the client keeps the whole output).
    max_total: usize,
}

impl StreamTranslator {
    pub(crate) fn new(exchange: &Exchange, max_frame: usize) -> Self {
        let decoder = match exchange.upstream {
            Format::Chat => Decoder::Chat(chat::StreamDecoder::new()),
            Format::Responses => Decoder::Responses(responses::StreamDecoder::new()),
            Format::Claude => Decoder::Claude(claude::StreamDecoder::new()),
            Format::Gemini => Decoder::Gemini(gemini::StreamDecoder::new()),
        };
        let view = &exchange.view;
        let encoder = match exchange.client {
            Format::Chat => Encoder::Chat(chat::StreamEncoder::new(view)),
            Format::Responses => Encoder::Responses(responses::StreamEncoder::new(view)),
            Format::Claude => Encoder::Claude(claude::StreamEncoder::new(view)),
            Format::Gemini => Encoder::Gemini(gemini::StreamEncoder::new(view)),
        };
        StreamTranslator {
            reader: SseReader::new(max_frame),
            decoder,
            encoder,
            names: exchange.names.clone(),
            frames: Vec::new(),
            events: Vec::new(),
            ended: false,
            max_frame,
            block_bytes: 0,
            total_bytes: 0,
            max_total: if exchange.client == Format::Responses {
                MAX_RETAINED
            } else {
                usize::MAX
            },
        }
    }

    /// Translates one upstream chunk, appending the client's bytes to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.reader.push(chunk, &mut self.frames)?;
        self.drain(out)
    }

    /// The upstream stream ended: closes what is open and ends the client's stream.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.reader.finish(&mut self.frames);
        self.drain(out)?;
        if !self.ended {
            match &mut self.decoder {
                Decoder::Chat(d) => d.finish(&mut self.events)?,
                Decoder::Responses(d) => d.finish(&mut self.events)?,
                Decoder::Claude(d) => d.finish(&mut self.events)?,
                Decoder::Gemini(d) => d.finish(&mut self.events)?,
            }
            self.encode(out)?;
        }
        Ok(())
    }

    /// Whether the client's stream has ended.
    pub fn ended(&self) -> bool {
        self.ended
    }

    fn drain(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let mut frames = std::mem::take(&mut self.frames);
        for frame in frames.drain(..) {
            if self.ended {
                break;
            }
            match &mut self.decoder {
                Decoder::Chat(d) => d.frame(&frame, &mut self.events)?,
                Decoder::Responses(d) => d.frame(&frame, &mut self.events)?,
                Decoder::Claude(d) => d.frame(&frame, &mut self.events)?,
                Decoder::Gemini(d) => d.frame(&frame, &mut self.events)?,
            }
            // Encode as we go, so an `End` stops the rest.
            self.encode(out)?;
        }
        self.frames = frames;
        Ok(())
    }

    fn encode(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let mut events = std::mem::take(&mut self.events);
        let mut result = Ok(());
        for event in events.drain(..) {
            if let Err(e) = self.encode_one(event, out) {
                result = Err(e);
                break;
            }
        }
        events.clear();
        self.events = events;
        result
    }

    /// Counts what the encoder may keep, then encodes `event`.
    fn check_size(&mut self, event: &Event) -> Result<(), TranslateError> {
        match event {
            Event::BlockStart { .. } => self.block_bytes = 0,
            Event::Delta { delta, .. } => {
                let len = match delta {
                    Delta::Text(text) | Delta::Thinking(text) | Delta::Arguments(text) => {
                        text.len()
                    }
                    Delta::Signature(signature) => signature.value.len(),
                };
                self.block_bytes += len;
                self.total_bytes += len;
                if self.block_bytes > self.max_frame {
                    return Err(TranslateError::Upstream(format!(
                        "an upstream content block grew past {} bytes",
                        self.max_frame
                    )));
                }
                if self.total_bytes > self.max_total {
                    return Err(TranslateError::Upstream(format!(
                        "the upstream answer grew past {} MiB",
                        self.max_total >> 20
                    )));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn encode_one(&mut self, mut event: Event, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        if self.ended {
            return Ok(());
        }
        self.check_size(&event)?;
        if let Event::BlockStart {
            block: Block::ToolCall { name, .. },
            ..
        } = &mut event
        {
            *name = self.names.client(name);
        }
        match &mut self.encoder {
            Encoder::Chat(e) => e.event(&event, out),
            Encoder::Responses(e) => e.event(&event, out),
            Encoder::Claude(e) => e.event(&event, out),
            Encoder::Gemini(e) => e.event(&event, out),
        }
        if event == Event::End {
            self.ended = true;
        }
        Ok(())
    }
}

/// Test and bench support, not a stable API: a whole hub event sequence as the bytes a
/// `format` stream carries (what that protocol's client would receive), and back.
#[doc(hidden)]
pub mod testing {
    use super::*;
    use crate::ClientView;
    use crate::sse::SseReader;

    /// Encodes `events` as a `format` stream (Gemini with the framing `view` asks for).
    pub fn encode_stream(format: Format, events: &[Event], view: &ClientView) -> Vec<u8> {
        let mut encoder = match format {
            Format::Chat => Encoder::Chat(chat::StreamEncoder::new(view)),
            Format::Responses => Encoder::Responses(responses::StreamEncoder::new(view)),
            Format::Claude => Encoder::Claude(claude::StreamEncoder::new(view)),
            Format::Gemini => Encoder::Gemini(gemini::StreamEncoder::new(view)),
        };
        let mut out = Vec::new();
        for event in events {
            match &mut encoder {
                Encoder::Chat(e) => e.event(event, &mut out),
                Encoder::Responses(e) => e.event(event, &mut out),
                Encoder::Claude(e) => e.event(event, &mut out),
                Encoder::Gemini(e) => e.event(event, &mut out),
            }
        }
        out
    }

    /// Decodes a whole `format` stream (SSE framing) into hub events.
    pub fn decode_stream(format: Format, bytes: &[u8]) -> Result<Vec<Event>, TranslateError> {
        let mut reader = SseReader::new(usize::MAX);
        let mut frames = Vec::new();
        reader.push(bytes, &mut frames)?;
        reader.finish(&mut frames);
        let mut decoder = match format {
            Format::Chat => Decoder::Chat(chat::StreamDecoder::new()),
            Format::Responses => Decoder::Responses(responses::StreamDecoder::new()),
            Format::Claude => Decoder::Claude(claude::StreamDecoder::new()),
            Format::Gemini => Decoder::Gemini(gemini::StreamDecoder::new()),
        };
        let mut events = Vec::new();
        for frame in &frames {
            match &mut decoder {
                Decoder::Chat(d) => d.frame(frame, &mut events)?,
                Decoder::Responses(d) => d.frame(frame, &mut events)?,
                Decoder::Claude(d) => d.frame(frame, &mut events)?,
                Decoder::Gemini(d) => d.frame(frame, &mut events)?,
            }
        }
        if !events.contains(&Event::End) {
            match &mut decoder {
                Decoder::Chat(d) => d.finish(&mut events)?,
                Decoder::Responses(d) => d.finish(&mut events)?,
                Decoder::Claude(d) => d.finish(&mut events)?,
                Decoder::Gemini(d) => d.finish(&mut events)?,
            }
        }
        Ok(events)
    }
}
