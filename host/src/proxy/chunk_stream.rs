//! The rest of an upstream body, as the upstream call hands it to the relay.

use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;

/// The rest of an upstream body.
pub(crate) type ChunkStream = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;
