//! Open-loop load: requests sent on a fixed schedule whatever the answers, as independent
//! clients send them, rather than as fast as answers come back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use tokio::task::JoinSet;

use super::{Spec, Target, connect, request, send};

/// The header that names each request, echoed into its usage record.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How often the schedule is checked; each check sends every request that has come due.
const TICK: Duration = Duration::from_millis(1);

/// What a paced run gave.
#[derive(Debug)]
pub(crate) struct Paced {
    /// Requests sent (`rate` × the duration).
    pub sent: u64,
    /// Requests that failed (a non-2xx answer or a broken connection).
    pub failed: u64,
    /// From the first request to the last answer.
    pub elapsed: Duration,
}

/// The id of request `index` of a run whose ids start with `prefix`.
pub(crate) fn request_id(prefix: &str, index: u64) -> String {
    format!("{prefix}{index}")
}

/// Sends `spec` to `target` at `rate` requests per second for `duration` (open loop: request
/// `i` goes out at `i / rate` seconds, on an idle keep-alive connection or a new one, whether
/// or not earlier ones were answered) and waits for every answer. Request `i` carries
/// `x-request-id: {id_prefix}{i}` ([`request_id`]); `answered(i)` is called once its whole
/// answer has been read with a 2xx status.
pub(crate) async fn paced(
    target: &Target,
    spec: &Spec,
    rate: u32,
    duration: Duration,
    id_prefix: &str,
    answered: Arc<dyn Fn(u64) + Send + Sync>,
) -> Result<Paced> {
    let total = (f64::from(rate) * duration.as_secs_f64()).round() as u64;
    let idle: Arc<Mutex<Vec<SendRequest<Full<Bytes>>>>> = Arc::default();
    let failed = Arc::new(AtomicU64::new(0));
    let mut in_flight = JoinSet::new();
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let started = Instant::now();
    let mut sent = 0;
    while sent < total {
        ticks.tick().await;
        let due = ((started.elapsed().as_secs_f64() * f64::from(rate)) as u64 + 1).min(total);
        for index in sent..due {
            let id = HeaderValue::from_str(&request_id(id_prefix, index))?;
            let (target, spec) = (target.clone(), spec.clone());
            let (idle, failed, answered) = (idle.clone(), failed.clone(), answered.clone());
            in_flight.spawn(async move {
                let pooled = idle.lock().expect("pool lock").pop();
                let mut sender = match pooled {
                    Some(sender) => sender,
                    None => match connect(target.addr).await {
                        Ok(sender) => sender,
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    },
                };
                let mut request = request(&target, &spec);
                request.headers_mut().insert(REQUEST_ID, id);
                match send(&mut sender, &target, request).await {
                    Ok(_) => {
                        answered(index);
                        idle.lock().expect("pool lock").push(sender);
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        sent = due;
        // Reap finished requests as we go, so the set holds only those in flight.
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
    Ok(Paced {
        sent,
        failed: failed.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use switchyard_mock::MockUpstream;

    use super::*;
    use crate::scenario::small_request;

    #[tokio::test]
    async fn every_request_goes_out_once_with_its_id_on_schedule_and_is_answered() {
        let mock = MockUpstream::start().await.unwrap();
        let target = Target {
            name: "mock",
            addr: mock.addr(),
            headers: vec![(
                HeaderName::from_static("x-api-key"),
                HeaderValue::from_static("cred-1"),
            )],
        };
        let answered = Arc::new(Mutex::new(Vec::new()));
        let record = answered.clone();
        let run = paced(
            &target,
            &small_request(),
            200,
            Duration::from_millis(250),
            "t-",
            Arc::new(move |index| record.lock().unwrap().push(index)),
        )
        .await
        .unwrap();

        assert_eq!((run.sent, run.failed), (50, 0));
        let mut answered = answered.lock().unwrap().clone();
        answered.sort_unstable();
        assert_eq!(
            answered,
            (0..50).collect::<Vec<u64>>(),
            "each answered once"
        );
        let mut ids: Vec<String> = mock
            .requests()
            .iter()
            .map(|r| r.header("x-request-id").unwrap().to_owned())
            .collect();
        ids.sort_unstable();
        let mut expected: Vec<String> = (0..50).map(|i| request_id("t-", i)).collect();
        expected.sort_unstable();
        assert_eq!(ids, expected, "one request per id reached the server");
        // Request 49 is due at 245 ms: an open loop keeps its schedule, it never runs ahead.
        assert!(
            run.elapsed >= Duration::from_millis(245),
            "{:?}",
            run.elapsed
        );
    }
}
