//! Plugin swap under load: not measurable until the plugins folder is watched.

use std::path::Path;

use anyhow::Result;

use crate::report::Summary;

/// Leaves the swap figures empty.
pub async fn run(_bin: &Path, _work: &Path, _summary: &mut Summary) -> Result<()> {
    println!("plugin swap: not measured yet");
    Ok(())
}
