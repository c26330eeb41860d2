//! One console, as the browser's console loads the proxy: the live event stream
//! (`GET /v0/management/events`) read continuously, and the four views' endpoints polled every
//! 5 s. Each `usage` event's arrival is written to a [`Timeline`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::{Request, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::task::JoinHandle;

use super::timeline::Timeline;
use crate::load;

/// The management API's root.
const MANAGEMENT: &str = "/v0/management";

/// The endpoints the console polls.
pub(crate) const POLLED: [&str; 4] = ["/credentials", "/history", "/sessions", "/plugins"];

/// How often the console polls them.
pub(crate) const POLL_EVERY: Duration = Duration::from_secs(5);

/// The comment that opens an event stream: from then on, events reach it.
const CONNECTED: &[u8] = b": connected\n\n";

/// A console's event stream being read, and its polling once started.
pub(crate) struct Console {
    addr: SocketAddr,
    key: Arc<str>,
    reader: JoinHandle<Result<()>>,
    poller: Option<JoinHandle<Result<()>>>,
    polls: Arc<AtomicU64>,
}

impl Console {
    /// Opens the event stream at `addr` with the management `key` and returns once it is
    /// subscribed; every `usage` event whose request id is `id_prefix` and an index is written
    /// to `timeline`.
    pub(crate) async fn open(
        addr: SocketAddr,
        key: &str,
        id_prefix: String,
        timeline: Arc<Timeline>,
    ) -> Result<Console> {
        let key: Arc<str> = key.into();
        let mut sender = load::connect(addr).await?;
        sender.ready().await?;
        let response = sender
            .send_request(get(addr, &format!("{MANAGEMENT}/events"), &key))
            .await?;
        if !response.status().is_success() {
            bail!("GET {MANAGEMENT}/events answered {}", response.status());
        }
        let mut body = response.into_body();
        let mut buffer = Vec::new();
        while !buffer.starts_with(CONNECTED) {
            let frame = body
                .frame()
                .await
                .context("the event stream ended before it said `: connected`")??;
            if let Some(data) = frame.data_ref() {
                buffer.extend_from_slice(data);
            }
        }
        buffer.drain(..CONNECTED.len());
        let reader = tokio::spawn(async move {
            // The stream's connection lives as long as its sender.
            let _sender = sender;
            read_events(body, buffer, &id_prefix, &timeline).await
        });
        Ok(Console {
            addr,
            key,
            reader,
            poller: None,
            polls: Arc::default(),
        })
    }

    /// Starts polling [`POLLED`] now and every [`POLL_EVERY`], one after another on one
    /// keep-alive connection, as the console's views do, `rounds` times in all (so a window of
    /// `rounds` poll periods holds exactly that many, even when its last answer comes a little
    /// after the next period would begin).
    pub(crate) fn start_polling(&mut self, rounds: u32) {
        let (addr, key, polls) = (self.addr, self.key.clone(), self.polls.clone());
        self.poller = Some(tokio::spawn(async move {
            let mut sender = load::connect(addr).await?;
            let mut ticks = tokio::time::interval(POLL_EVERY);
            for _ in 0..rounds {
                ticks.tick().await;
                for path in POLLED {
                    let path = format!("{MANAGEMENT}{path}");
                    sender.ready().await?;
                    let response = sender.send_request(get(addr, &path, &key)).await?;
                    let status = response.status();
                    response.into_body().collect().await?;
                    if !status.is_success() {
                        bail!("GET {path} answered {status}");
                    }
                    polls.fetch_add(1, Ordering::Relaxed);
                }
            }
            // Done: the connection closes, and `close` finds the task finished.
            Ok(())
        }));
    }

    /// Polls answered so far (each of the four endpoints counts one).
    pub(crate) fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    /// Stops reading and polling and closes both connections; fails when the event stream
    /// ended on its own (the proxy drops a subscriber that falls behind) or a poll failed.
    pub(crate) async fn close(self) -> Result<()> {
        for task in [Some(self.reader), self.poller].into_iter().flatten() {
            if task.is_finished() {
                task.await??;
            } else {
                task.abort();
                let _ = task.await;
            }
        }
        Ok(())
    }
}

/// A GET of `path` with the management key.
pub(crate) fn get(addr: SocketAddr, path: &str, key: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header(header::HOST, addr.to_string())
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Full::default())
        .expect("valid request")
}

/// Reads events until the stream ends (an error: a console's stream does not end by itself).
async fn read_events(
    mut body: Incoming,
    mut buffer: Vec<u8>,
    id_prefix: &str,
    timeline: &Timeline,
) -> Result<()> {
    loop {
        let at = Instant::now();
        while let Some(end) = buffer.windows(2).position(|pair| pair == b"\n\n") {
            let block: Vec<u8> = buffer.drain(..end + 2).collect();
            if let Some(request_id) = usage_request_id(&block) {
                timeline.event_for_id(id_prefix, &request_id, at);
            }
        }
        let Some(frame) = body.frame().await else {
            bail!("the event stream ended (was it dropped as too slow?)");
        };
        if let Some(data) = frame?.data_ref() {
            buffer.extend_from_slice(data);
        }
    }
}

/// The `request_id` of a `usage` event's SSE block (`event: usage` and `data: {…}` lines), or
/// `None` for any other block.
pub(crate) fn usage_request_id(block: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(block).ok()?;
    let mut usage = false;
    let mut data = None;
    for line in text.lines() {
        if let Some(kind) = line.strip_prefix("event: ") {
            usage = kind == "usage";
        } else if let Some(json) = line.strip_prefix("data: ") {
            data = Some(json);
        }
    }
    if !usage {
        return None;
    }
    let record: serde_json::Value = serde_json::from_str(data?).ok()?;
    Some(record["request_id"].as_str()?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usage_block_gives_its_request_id() {
        let block =
            b"event: usage\ndata: {\"model\":\"m\",\"request_id\":\"r0-12\",\"status\":200}\n\n";
        assert_eq!(usage_request_id(block).as_deref(), Some("r0-12"));
    }

    #[test]
    fn other_blocks_give_none() {
        let credential = b"event: credential\ndata: {\"id\":\"c\",\"request_id\":\"r0-1\"}\n\n";
        assert_eq!(usage_request_id(credential), None);
        assert_eq!(usage_request_id(b": keepalive\n\n"), None);
        assert_eq!(usage_request_id(b"event: usage\ndata: not json\n\n"), None);
        assert_eq!(usage_request_id(b"event: usage\n\n"), None);
    }
}
