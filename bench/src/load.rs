//! The load generator: HTTP/1.1 keep-alive connections driven by hyper, timing into HDR
//! histograms.

mod paced;

pub(crate) use paced::{paced, request_id};

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where requests go and what they carry.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Display name (`direct`, `switchyard`, `nginx`).
    pub name: &'static str,
    /// The listener.
    pub addr: SocketAddr,
    /// Headers every request to this target carries (credentials).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// One request shape.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// The path.
    pub path: &'static str,
    /// The JSON body.
    pub body: Bytes,
}

/// A keep-alive connection.
pub(crate) async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connect {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// `spec` as a request to `target`. Its body is `spec.body` itself (a reference count, never a
/// copy: a 100 KB body stays one buffer for every request), which hyper writes with the head
/// in one vectored write.
fn request(target: &Target, spec: &Spec) -> Request<Full<Bytes>> {
    let mut builder = Request::post(spec.path)
        .header("host", target.addr.to_string())
        .header("content-type", "application/json");
    for (name, value) in &target.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(spec.body.clone()))
        .expect("valid request")
}

/// Sends `spec` and reads the whole answer; returns the time it took (an error for a non-2xx).
pub(crate) async fn once(
    sender: &mut SendRequest<Full<Bytes>>,
    target: &Target,
    spec: &Spec,
) -> Result<Duration> {
    send(sender, target, request(target, spec)).await
}

/// Sends `request` (to `target`) and reads the whole answer; returns the time it took (an
/// error for a non-2xx).
async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    target: &Target,
    request: Request<Full<Bytes>>,
) -> Result<Duration> {
    sender.ready().await?;
    let started = Instant::now();
    let response = sender.send_request(request).await?;
    let status = response.status();
    response.into_body().collect().await?;
    if !status.is_success() {
        bail!("{} answered {status}", target.name);
    }
    Ok(started.elapsed())
}

/// Sends `spec` once on a fresh connection and returns the answer's body (an error for a
/// non-2xx), to check what a target answers before timing it.
pub(crate) async fn body(target: &Target, spec: &Spec) -> Result<Bytes> {
    Ok(answer(target, spec).await?.1)
}

/// Sends `spec` once on a fresh connection and returns the answer's headers and body (an
/// error for a non-2xx), to check what a target answers before timing it.
pub(crate) async fn answer(target: &Target, spec: &Spec) -> Result<(HeaderMap, Bytes)> {
    let mut sender = connect(target.addr).await?;
    sender.ready().await?;
    let response = sender.send_request(request(target, spec)).await?;
    let (head, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    if !head.status.is_success() {
        bail!(
            "{} answered {}: {}",
            target.name,
            head.status,
            String::from_utf8_lossy(&body)
        );
    }
    Ok((head.headers, body))
}

/// A histogram of microseconds.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

/// Sends `warmup` then `count` requests one after another on one connection and records each
/// one's time in µs. The client runs alone on a single-threaded runtime of its own thread, as
/// wrk's event loop does, so no hop between the load generator's threads is timed.
pub(crate) async fn sequential(
    target: &Target,
    spec: &Spec,
    warmup: u32,
    count: u32,
) -> Result<Histogram<u64>> {
    let (target, spec) = (target.clone(), spec.clone());
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(async {
                let mut sender = connect(target.addr).await?;
                for _ in 0..warmup {
                    once(&mut sender, &target, &spec).await?;
                }
                let mut hist = histogram();
                for _ in 0..count {
                    let took = once(&mut sender, &target, &spec).await?;
                    hist.record(took.as_micros().max(1) as u64)?;
                }
                Ok(hist)
            })
    })
    .await?
}

/// Throughput: `connections` connections sending back to back for `duration`.
pub(crate) struct Throughput {
    /// Successful requests.
    pub ok: u64,
    /// Failed requests.
    pub failed: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Drives `connections` connections for `duration`.
pub(crate) async fn throughput(
    target: &Target,
    spec: &Spec,
    connections: usize,
    duration: Duration,
) -> Result<Throughput> {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::with_capacity(connections);
    for _ in 0..connections {
        senders.push(connect(target.addr).await?);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut sender in senders {
        let (ok, failed, stop, target, spec) = (
            ok.clone(),
            failed.clone(),
            stop.clone(),
            target.clone(),
            spec.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match once(&mut sender, &target, &spec).await {
                    Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        match connect(target.addr).await {
                            Ok(fresh) => sender = fresh,
                            Err(_) => break,
                        }
                        0
                    }
                };
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    Ok(Throughput {
        ok: ok.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    })
}

/// Times the first body byte of `count` streamed requests, one after the other.
pub(crate) async fn first_byte(target: &Target, spec: &Spec, count: u32) -> Result<Histogram<u64>> {
    let mut sender = connect(target.addr).await?;
    let mut hist = histogram();
    for _ in 0..count {
        sender.ready().await?;
        let started = Instant::now();
        let response = sender.send_request(request(target, spec)).await?;
        if !response.status().is_success() {
            bail!("{} answered {}", target.name, response.status());
        }
        let mut body = response.into_body();
        let mut first = true;
        while let Some(frame) = body.frame().await {
            let frame = frame?;
            if first && frame.data_ref().is_some_and(|d| !d.is_empty()) {
                hist.record(started.elapsed().as_micros().max(1) as u64)?;
                first = false;
            }
        }
    }
    Ok(hist)
}

/// What holding many streams open gave.
#[derive(Debug, Default)]
pub(crate) struct Streams {
    /// Streams that completed with every chunk.
    pub completed: u64,
    /// Streams that failed or lost chunks.
    pub failed: u64,
}

/// Opens `count` streams at once; each must deliver `expect_marker` (the last event).
/// `while_open` runs once every stream has received its first chunk.
pub(crate) async fn hold_streams<F, Fut>(
    target: &Target,
    spec: &Spec,
    count: usize,
    expect_marker: &'static str,
    while_open: F,
) -> Result<(Streams, Fut::Output)>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future,
{
    let started = Arc::new(tokio::sync::Semaphore::new(0));
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let (target, spec, started) = (target.clone(), spec.clone(), started.clone());
        tasks.push(tokio::spawn(async move {
            let result: Result<bool> = async {
                let mut sender = connect(target.addr).await?;
                sender.ready().await?;
                let response = sender.send_request(request(&target, &spec)).await?;
                if !response.status().is_success() {
                    bail!("status {}", response.status());
                }
                let mut body = response.into_body();
                let mut seen = Vec::new();
                let mut signalled = false;
                while let Some(frame) = body.frame().await {
                    if let Some(data) = frame?.data_ref() {
                        if !signalled {
                            started.add_permits(1);
                            signalled = true;
                        }
                        seen.extend_from_slice(data);
                    }
                }
                Ok(String::from_utf8_lossy(&seen).contains(expect_marker))
            }
            .await;
            if result.is_err() {
                started.add_permits(1);
            }
            matches!(result, Ok(true))
        }));
    }
    let _all_open =
        tokio::time::timeout(Duration::from_secs(120), started.acquire_many(count as u32))
            .await
            .context("streams did not all open within 120 s")??;
    let during = while_open().await;
    let mut streams = Streams::default();
    for task in tasks {
        if task.await.unwrap_or(false) {
            streams.completed += 1;
        } else {
            streams.failed += 1;
        }
    }
    Ok((streams, during))
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn every_request_sends_the_specs_own_buffer() {
        let target = Target {
            name: "t",
            addr: "127.0.0.1:9".parse().unwrap(),
            headers: Vec::new(),
        };
        let spec = Spec {
            path: "/v1/messages",
            body: Bytes::from(vec![b'x'; 100 * 1024]),
        };
        for _ in 0..2 {
            let body = request(&target, &spec).into_body().collect().await.unwrap();
            let sent = body.to_bytes();
            assert_eq!(sent.len(), spec.body.len());
            assert_eq!(
                sent.as_ptr(),
                spec.body.as_ptr(),
                "the same buffer, not a copy"
            );
        }
    }
}
