//! A streamed answer in the hub representation: what every upstream stream decoder produces
//! and every client stream encoder consumes.
//!
//! Decoders guarantee this order: one [`Event::Start`]; then blocks, each
//! [`Event::BlockStart`], any [`Event::Delta`]s with the same index, [`Event::BlockStop`]; at
//! most one block open at a time; block indexes count up from 0 without gaps;
//! [`Event::Usage`] anywhere after the start; then [`Event::Finish`] once and
//! [`Event::End`] once, last. Encoders may rely on it.

use super::response::Finish;
use super::usage::Usage;

/// One step of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The answer begins.
    Start {
        /// The upstream's id for the answer (may be empty).
        id: String,
        /// The model the upstream says answers (may be empty).
        model: String,
    },
    /// A content block opens.
    BlockStart {
        /// Its index, from 0.
        index: usize,
        /// What kind of block.
        block: Block,
    },
    /// More of the open block.
    Delta {
        /// The open block's index.
        index: usize,
        /// The piece.
        delta: Delta,
    },
    /// The open block is complete.
    BlockStop {
        /// Its index.
        index: usize,
    },
    /// Token counts so far (merge with [`Usage::merge`]).
    Usage(Usage),
    /// Why generation stopped (once, after the last block).
    Finish(Finish),
    /// The stream is over (once, last).
    End,
}

/// The kind of a content block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Answer text.
    Text,
    /// Reasoning text.
    Thinking,
    /// Reasoning the upstream hid: opaque data only its own family can read back (whole at
    /// the start; no deltas).
    RedactedThinking {
        /// The opaque payload.
        data: String,
        /// Which family produced it.
        family: super::request::SignatureFamily,
    },
    /// A tool call (arguments come as deltas).
    ToolCall {
        /// The call id.
        id: String,
        /// The tool name, as the client declared it.
        name: String,
    },
}

/// A piece of an open block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delta {
    /// Answer text.
    Text(String),
    /// Reasoning text.
    Thinking(String),
    /// The thinking block's signature (the whole value; the last one wins).
    Signature(super::request::Signature),
    /// A fragment of a tool call's JSON arguments.
    Arguments(String),
}
