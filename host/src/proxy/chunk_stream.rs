//! The rest of an upstream body, as the upstream call hands it to the relay.

use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;

/// Why the rest of a body broke: the connection, or a translation of it.
pub(crate) type ChunkError = Box<dyn std::error::Error + Send + Sync>;

/// The rest of an upstream body.
pub(crate) type ChunkStream = Pin<Box<dyn Stream<Item = Result<Bytes, ChunkError>> + Send>>;
