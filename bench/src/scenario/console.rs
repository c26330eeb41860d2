//! The console's cost to the proxy (issue 21, point 4): the CPU time of the switchyard process
//! per second of wall time while it proxies a fixed 1,000 requests per second (open loop), with
//! no console and with one console subscriber — the live event stream read continuously and the
//! four views' endpoints polled every 5 s — in the same run, the two legs alternating in each
//! round (no console first in even rounds, the console first in odd ones). The console legs also
//! time each request's `usage` event: from the moment the client has read the whole answer to
//! the moment the event arrives on the stream.
//!
//! Its own mock and switchyard (usage statistics on, a management secret, otherwise the shared
//! config), so the other scenarios' processes and numbers stay as they were.

mod subscriber;
mod timeline;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http::{HeaderName, HeaderValue};
use http_body_util::BodyExt;

use self::subscriber::{Console, POLL_EVERY, POLLED};
use self::timeline::Timeline;
use super::{CLIENT_KEY, small_request};
use crate::load::{self, Spec, Target};
use crate::processes::{self, Process};
use crate::report::Summary;

/// The management secret of this scenario's switchyard.
const MANAGEMENT_KEY: &str = "bench-management-key";

/// Proxied requests per second in every leg.
pub(crate) const RATE: u32 = 1_000;

/// How long a leg's `usage` events may take to arrive after its load ended before the
/// missing ones are counted as missing.
const EVENT_DEADLINE: Duration = Duration::from_secs(10);

/// How long closing a console's stream may take to reach the proxy.
const CLOSE_DEADLINE: Duration = Duration::from_secs(10);

/// switchyard's config: the shared one (client key, session affinity, 8 Claude credentials on
/// `mock`) with usage statistics on and a management secret.
fn config_yaml(mock: &str) -> String {
    format!(
        "{}usage-statistics-enabled: true\nremote-management:\n  secret-key: {MANAGEMENT_KEY}\n",
        super::config_yaml(mock, true)
    )
}

/// A leg's window: `seconds` rounded up to whole poll periods, at least two, so each console
/// leg polls at the console's own rate (at 0 s, 5 s, …).
fn window(seconds: Duration) -> Duration {
    let periods = seconds.as_secs().div_ceil(POLL_EVERY.as_secs()).max(2);
    POLL_EVERY * periods as u32
}

/// The poll periods in `window`.
fn poll_periods(window: Duration) -> u32 {
    (window.as_secs() / POLL_EVERY.as_secs()) as u32
}

/// What one leg measured.
struct Leg {
    /// The proxy's CPU time (user + system) over the leg.
    cpu: Duration,
    /// The leg's wall time (first request to last answer).
    wall: Duration,
    /// Requests sent.
    sent: u64,
    /// With a console: the delays from answer to `usage` event, and the polls answered.
    console: Option<(timeline::Delays, u64)>,
}

impl Leg {
    /// The proxy's CPU time per second of wall time, as a percentage of one core.
    fn cpu_percent(&self) -> f64 {
        cpu_percent(self.cpu, self.wall)
    }
}

/// `cpu` per second of `wall`, as a percentage of one core.
fn cpu_percent(cpu: Duration, wall: Duration) -> f64 {
    cpu.as_secs_f64() / wall.as_secs_f64() * 100.0
}

/// The proxied request's target: switchyard with the client key.
fn proxied(switchyard: &Process) -> Target {
    Target {
        name: "switchyard",
        addr: switchyard.addr,
        headers: vec![(
            HeaderName::from_static("x-api-key"),
            HeaderValue::from_static(CLIENT_KEY),
        )],
    }
}

/// Starts the mock and switchyard, checks that a console's stream carries each request's
/// `usage` event, warms up, then measures `rounds` rounds of the two legs, each a window of
/// `seconds` rounded up to whole poll periods (at least 10 s) at [`RATE`].
pub(crate) async fn run(
    bin: &Path,
    work: &Path,
    rounds: u32,
    seconds: Duration,
    summary: &mut Summary,
) -> Result<()> {
    let mock = processes::mock(bin, 1, 0)?;
    let config = work.join("console.yaml");
    std::fs::write(&config, config_yaml(&format!("http://{}", mock.addr)))?;
    let switchyard = processes::switchyard(bin, &config)?;
    let target = proxied(&switchyard);
    let spec = small_request();
    check_events(&switchyard, &target, &spec)
        .await
        .context("the console scenario's check")?;
    load::paced(
        &target,
        &spec,
        RATE,
        Duration::from_secs(2),
        "warm-",
        Arc::new(|_| {}),
    )
    .await?;

    let window = window(seconds);
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for console in order {
            let leg = leg(&switchyard, &target, &spec, console, round, window).await?;
            println!(
                "console scenario, round {round}, {:<11} {:>5.2} % CPU ({} requests in {:.2} s)",
                if console { "one console" } else { "no console" },
                leg.cpu_percent(),
                leg.sent,
                leg.wall.as_secs_f64()
            );
            if console { &mut with } else { &mut without }.push(leg);
        }
    }
    report(&without, &with, summary)
}

/// One leg of `window` at [`RATE`], with one console or none; the requests' ids start with
/// the leg's own prefix.
async fn leg(
    switchyard: &Process,
    target: &Target,
    spec: &Spec,
    with_console: bool,
    round: u32,
    window: Duration,
) -> Result<Leg> {
    let prefix = format!("{}{round}-", if with_console { "c" } else { "n" });
    let total = u64::from(RATE) * window.as_secs();
    let timeline = Arc::new(Timeline::new(total));
    let mut console = if with_console {
        let opened = Console::open(
            switchyard.addr,
            MANAGEMENT_KEY,
            prefix.clone(),
            timeline.clone(),
        );
        Some(opened.await?)
    } else {
        None
    };
    let answered = {
        let timeline = timeline.clone();
        Arc::new(move |index| timeline.answered(index, Instant::now()))
    };
    let cpu_before = switchyard.cpu_time()?;
    if let Some(console) = &mut console {
        console.start_polling(poll_periods(window));
    }
    let run = load::paced(target, spec, RATE, window, &prefix, answered).await?;
    let cpu = switchyard.cpu_time()?.saturating_sub(cpu_before);
    if run.failed > 0 {
        bail!("{} of {} proxied requests failed", run.failed, run.sent);
    }
    let console = match console {
        Some(console) => {
            wait_for_events(&timeline, run.sent).await;
            let polls = console.polls();
            console.close().await?;
            until_no_stream(switchyard.addr, target, spec).await?;
            Some((timeline.delays(), polls))
        }
        None => None,
    };
    Ok(Leg {
        cpu,
        wall: run.elapsed,
        sent: run.sent,
        console,
    })
}

/// Opens a console, sends a few requests and fails unless each one's `usage` event arrives.
async fn check_events(switchyard: &Process, target: &Target, spec: &Spec) -> Result<()> {
    const REQUESTS: u64 = 20;
    let timeline = Arc::new(Timeline::new(REQUESTS));
    let console = Console::open(
        switchyard.addr,
        MANAGEMENT_KEY,
        "check-".to_owned(),
        timeline.clone(),
    )
    .await?;
    let window = Duration::from_millis(REQUESTS * 10);
    load::paced(target, spec, 100, window, "check-", Arc::new(|_| {})).await?;
    wait_for_events(&timeline, REQUESTS).await;
    console.close().await?;
    if timeline.events_seen() < REQUESTS {
        bail!(
            "{} of {REQUESTS} requests had a usage event on the stream (is usage-statistics-enabled on?)",
            timeline.events_seen()
        );
    }
    until_no_stream(switchyard.addr, target, spec).await
}

/// Waits until `expected` events are in `timeline`, or [`EVENT_DEADLINE`].
async fn wait_for_events(timeline: &Timeline, expected: u64) {
    let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
    loop {
        let arrived = timeline.event_arrived.notified();
        tokio::pin!(arrived);
        // Registered before the count is read, so no event slips between the two.
        arrived.as_mut().enable();
        if timeline.events_seen() >= expected {
            return;
        }
        if tokio::time::timeout_at(deadline, arrived).await.is_err() {
            return;
        }
    }
}

/// Waits until the proxy has no event stream open (`switchyard_event_streams 0` on
/// `/metrics`), so the next leg without a console has none. A stream's closed connection is
/// noticed when the proxy next writes to it: each check first sends one proxied request,
/// whose `usage` event does that write.
async fn until_no_stream(addr: SocketAddr, target: &Target, spec: &Spec) -> Result<()> {
    let started = Instant::now();
    loop {
        load::answer(target, spec).await?;
        if event_streams(addr).await? == 0 {
            return Ok(());
        }
        if started.elapsed() > CLOSE_DEADLINE {
            bail!("the console's event stream was still open after {CLOSE_DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `switchyard_event_streams` gauge of `/metrics`.
async fn event_streams(addr: SocketAddr) -> Result<u64> {
    let mut sender = load::connect(addr).await?;
    sender.ready().await?;
    let response = sender
        .send_request(subscriber::get(addr, "/metrics", MANAGEMENT_KEY))
        .await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        bail!("GET /metrics answered {status}");
    }
    gauge(&String::from_utf8_lossy(&body), "switchyard_event_streams")
}

/// The value of the unlabelled metric `name` in Prometheus text.
fn gauge(metrics: &str, name: &str) -> Result<u64> {
    metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .with_context(|| format!("no {name} in /metrics"))
}

/// Prints the figures over all rounds and fills the summary's console fields.
fn report(without: &[Leg], with: &[Leg], summary: &mut Summary) -> Result<()> {
    let total = |legs: &[Leg]| {
        legs.iter()
            .fold((Duration::ZERO, Duration::ZERO, 0), |acc, leg| {
                (acc.0 + leg.cpu, acc.1 + leg.wall, acc.2 + leg.sent)
            })
    };
    let (cpu_without, wall_without, sent_without) = total(without);
    let (cpu_with, wall_with, sent_with) = total(with);
    let mut delays = load::histogram();
    let (mut missing, mut event_first, mut polls) = (0, 0, 0);
    for (leg_delays, leg_polls) in with.iter().filter_map(|leg| leg.console.as_ref()) {
        delays.add(&leg_delays.histogram)?;
        missing += leg_delays.missing;
        event_first += leg_delays.event_first;
        polls += leg_polls;
    }
    summary.console_rps =
        Some((sent_without + sent_with) as f64 / (wall_without + wall_with).as_secs_f64());
    summary.cpu_percent_no_console = Some(cpu_percent(cpu_without, wall_without));
    summary.cpu_percent_one_console = Some(cpu_percent(cpu_with, wall_with));
    summary.console_event_delay_p50_us = Some(delays.value_at_quantile(0.5) as f64);
    summary.console_event_delay_p99_us = Some(delays.value_at_quantile(0.99) as f64);
    summary.console_events_missing = Some(missing);
    println!(
        "console scenario: {:.0} req/s offered; CPU {:.2} % of one core without a console, {:.2} % with one: {:+.2} points, {:+.1} % of the proxy's CPU without",
        summary.console_rps.unwrap_or_default(),
        summary.cpu_percent_no_console.unwrap_or_default(),
        summary.cpu_percent_one_console.unwrap_or_default(),
        summary.console_cpu_added_points().unwrap_or_default(),
        summary
            .console_cpu_added_share_percent()
            .unwrap_or_default(),
    );
    println!(
        "console scenario: usage event after the answer p50 {} µs, p99 {} µs, max {} µs over {} events ({missing} missing, {event_first} before the answer was read); {polls} polls of {}",
        delays.value_at_quantile(0.5),
        delays.value_at_quantile(0.99),
        delays.max(),
        delays.len(),
        POLLED.join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_whole_poll_periods_and_at_least_two() {
        assert_eq!(window(Duration::from_secs(4)), Duration::from_secs(10));
        assert_eq!(window(Duration::from_secs(10)), Duration::from_secs(10));
        assert_eq!(window(Duration::from_secs(11)), Duration::from_secs(15));
        assert_eq!(window(Duration::from_secs(20)), Duration::from_secs(20));
        assert_eq!(poll_periods(window(Duration::from_secs(4))), 2);
        assert_eq!(poll_periods(window(Duration::from_secs(11))), 3);
    }

    #[test]
    fn the_config_turns_usage_statistics_and_management_on_over_the_shared_one() {
        let yaml = config_yaml("http://127.0.0.1:9");
        let config: serde_json::Value = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(config["usage-statistics-enabled"], true);
        assert_eq!(
            config["remote-management"]["secret-key"], MANAGEMENT_KEY,
            "a secret turns the management API on"
        );
        assert_eq!(config["api-keys"][0], CLIENT_KEY);
        assert_eq!(
            config["claude-api-key"].as_array().unwrap().len(),
            super::super::CREDENTIALS
        );
    }

    #[test]
    fn the_stream_gauge_is_read_without_its_labelled_siblings() {
        let metrics = "# TYPE switchyard_event_streams gauge\nswitchyard_event_streams 1\n\
                       switchyard_event_streams_refused_total 4\n";
        assert_eq!(gauge(metrics, "switchyard_event_streams").unwrap(), 1);
        assert_eq!(
            gauge(metrics, "switchyard_event_streams_refused_total").unwrap(),
            4
        );
        assert!(gauge("", "switchyard_event_streams").is_err());
    }

    #[test]
    fn cpu_is_a_percentage_of_one_core() {
        let percent = cpu_percent(Duration::from_millis(800), Duration::from_secs(10));
        assert!((percent - 8.0).abs() < 1e-9, "{percent}");
    }
}
