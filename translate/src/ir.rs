//! The hub representation every protocol is decoded into and encoded from.
//!
//! A request from a client protocol is decoded into an [`Request`], encoded into the upstream's
//! protocol; the upstream's answer is decoded into a [`Response`] (or, streamed, into
//! [`Event`]s) and encoded into the client's protocol. Four codecs instead of twelve pairs.
//!
//! Conventions every codec keeps:
//! - Tool names are the client's own; encoders shorten or sanitise them for their upstream
//!   through [`crate::NameMap`] and decoders of answers restore them the same way.
//! - Tool-call arguments are JSON text (an object); encoders that need an object parse it.
//! - Usage counts follow OpenAI's meaning (see [`Usage`]).

mod event;
mod request;
mod response;
mod thinking;
mod usage;

pub use event::{Block, Delta, Event};
pub use request::{
    Media, Message, Part, Request, ResponseFormat, Role, Signature, SignatureFamily, Tool,
    ToolChoice,
};
pub use response::{Finish, Response};
pub use thinking::{Effort, Thinking};
pub use usage::Usage;
