//! The Criterion micro-benchmarks of the `switchyard` crate, run and read back.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::report::Summary;

/// Runs the access and session benches and reads the medians they wrote under
/// `target/criterion`.
pub(crate) fn run(summary: &mut Summary) -> Result<()> {
    for bench in ["access", "session"] {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["bench", "-p", "switchyard", "--bench", bench, "--"])
            .args(["--noplot", "--warm-up-time", "1", "--measurement-time", "3"])
            .status()
            .context("run cargo bench")?;
        if !status.success() {
            bail!("cargo bench --bench {bench} failed");
        }
    }
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

/// The median estimate, in nanoseconds, of one Criterion benchmark folder.
fn median(dir: &str) -> Result<f64> {
    let path = Path::new(dir).join("new/estimates.json");
    let estimates: Value =
        serde_json::from_slice(&std::fs::read(&path).with_context(|| path.display().to_string())?)?;
    estimates["median"]["point_estimate"]
        .as_f64()
        .context("median in estimates.json")
}
