//! The micro-benchmarks of the `switchyard` crate, run and read back: the Criterion ones
//! (`access`, `session`) and the allocation count per proxied request (`allocations`).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::report::Summary;

/// The most heap allocations a small proxied request (`scenario::small_request`, not streamed)
/// may cost on the serving thread: the count measured after the cuts of issue 22 with hyper's
/// client on the upstream side and its URI kept per credential (115), plus about 10 % for
/// dependency updates. A change that
/// allocates more per request fails the run; docs/performance.md, "Allocations per request".
pub(crate) const MAX_ALLOCATIONS_PER_REQUEST: f64 = 127.0;

/// Where the `allocations` bench writes its figures.
const ALLOCATIONS_JSON: &str = "target/bench/allocations.json";

/// Runs the access, session and allocations benches, reads the medians Criterion wrote under
/// `target/criterion` and the counts of `target/bench/allocations.json`, and fails when a
/// small request allocates more than [`MAX_ALLOCATIONS_PER_REQUEST`].
pub(crate) fn run(summary: &mut Summary) -> Result<()> {
    for bench in ["access", "session"] {
        cargo_bench(
            bench,
            &["--noplot", "--warm-up-time", "1", "--measurement-time", "3"],
        )?;
    }
    let out = std::env::current_dir()?.join(ALLOCATIONS_JSON);
    let out = out.to_string_lossy();
    cargo_bench("allocations", &["--out", &out, "--requests", "2000"])?;
    read_allocations(Path::new(ALLOCATIONS_JSON), summary)?;
    // A Claude Code request carries about 15 headers; that is the realistic call.
    summary.plugin_call_median_ns = Some(median(
        "target/criterion/config-api-key/wasm-provider-call-15-headers",
    )?);
    let wasm = median("target/criterion/session-standard/wasm-200k-message-hash")?;
    let native = median("target/criterion/session-standard/native-200k-message-hash")?;
    summary.extraction_wasm_over_native = Some(wasm / native);
    summary.affinity_pick_median_ns = Some(median(
        "target/criterion/affinity/pick-warm-binding-8-candidates",
    )?);
    Ok(())
}

/// `cargo bench -p switchyard --bench {bench} -- {args}`.
fn cargo_bench(bench: &str, args: &[&str]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["bench", "-p", "switchyard", "--bench", bench, "--"])
        .args(args)
        .status()
        .context("run cargo bench")?;
    if !status.success() {
        bail!("cargo bench --bench {bench} failed");
    }
    Ok(())
}

/// Reads the `allocations` bench's figures into `summary`; an error when a small request
/// allocates more than [`MAX_ALLOCATIONS_PER_REQUEST`].
fn read_allocations(path: &Path, summary: &mut Summary) -> Result<()> {
    let figures: Value =
        serde_json::from_slice(&std::fs::read(path).with_context(|| path.display().to_string())?)?;
    let figure = |case: &str, field: &str| {
        figures[case][field]
            .as_f64()
            .with_context(|| format!("{case}.{field} in {}", path.display()))
    };
    let per_request = figure("small", "allocations_per_request")?;
    summary.allocations_per_request = Some(per_request);
    summary.allocated_bytes_per_request = Some(figure("small", "bytes_per_request")?);
    summary.allocations_per_stream_request =
        Some(figure("small_stream", "allocations_per_request")?);
    summary.allocated_bytes_per_stream_request = Some(figure("small_stream", "bytes_per_request")?);
    check_allocations(per_request)
}

/// An error when `per_request` is above [`MAX_ALLOCATIONS_PER_REQUEST`].
fn check_allocations(per_request: f64) -> Result<()> {
    if per_request > MAX_ALLOCATIONS_PER_REQUEST {
        bail!(
            "a small proxied request allocates {per_request:.1} times on the serving thread, more than the bound of {MAX_ALLOCATIONS_PER_REQUEST} (bench/src/scenario/micro.rs)"
        );
    }
    Ok(())
}

/// The median estimate, in nanoseconds, of one Criterion benchmark folder.
fn median(dir: &str) -> Result<f64> {
    let path = Path::new(dir).join("new/estimates.json");
    let estimates: Value =
        serde_json::from_slice(&std::fs::read(&path).with_context(|| path.display().to_string())?)?;
    estimates["median"]["point_estimate"]
        .as_f64()
        .context("median in estimates.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allocation_figures_reach_the_summary_and_the_bound_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("allocations.json");
        let write = |small: f64| {
            let figures = serde_json::json!({
                "small": { "allocations_per_request": small, "bytes_per_request": 46000.0 },
                "small_stream": { "allocations_per_request": 180.0, "bytes_per_request": 43000.0 },
                "requests": 2000,
            });
            std::fs::write(&path, serde_json::to_vec(&figures).unwrap()).unwrap();
        };
        write(110.0);
        let mut summary = Summary::default();
        read_allocations(&path, &mut summary).unwrap();
        assert_eq!(summary.allocations_per_request, Some(110.0));
        assert_eq!(summary.allocated_bytes_per_request, Some(46000.0));
        assert_eq!(summary.allocations_per_stream_request, Some(180.0));
        assert_eq!(summary.allocated_bytes_per_stream_request, Some(43000.0));
        write(MAX_ALLOCATIONS_PER_REQUEST + 1.0);
        let error = read_allocations(&path, &mut Summary::default()).unwrap_err();
        assert!(error.to_string().contains("more than the bound"), "{error}");
        assert!(check_allocations(MAX_ALLOCATIONS_PER_REQUEST).is_ok());
    }
}
