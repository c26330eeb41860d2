//! A proxy with a plugins folder: its config, the compiled-component cache the tests share,
//! dropping a file into the folder, and reading a plugin's status.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use switchyard::test_util::plugin::{HostOptions, PluginHost, PluginOrigin, PluginStatus};
use switchyard::test_util::runtime::ReloadStatus;
use switchyard_mock::MockUpstream;

use super::Proxy;

/// The compiled-component cache the tests share (under `target/`), so a plugin compiled once
/// loads from the cache afterwards, as in a long-running proxy.
pub(crate) fn cache_dir() -> PathBuf {
    PathBuf::from(env!("SWITCHYARD_PLUGINS_TARGET_DIR")).join("e2e-cache")
}

/// Compiles `bytes` into the shared cache now (the swap-time target is for a cached compile).
pub(crate) async fn warm_cache(bytes: &[u8]) {
    let host = PluginHost::new(HostOptions {
        cache_dir: Some(cache_dir()),
        ..HostOptions::default()
    })
    .unwrap();
    host.load(bytes.to_vec(), PluginOrigin::Bytes)
        .await
        .unwrap();
}

/// A config with the plugins folder `plugins`, the given `auth.providers` entries (YAML list
/// items indented by four spaces; empty for none) and one Claude credential on `mock`.
pub(crate) fn config(mock: &MockUpstream, plugins: &Path, extra: &str, providers: &str) -> String {
    let mut yaml = format!(
        "plugins:\n  dir: {}\n  cache-dir: {}\n{extra}",
        plugins.display(),
        cache_dir().display()
    );
    if !providers.is_empty() {
        yaml.push_str(&format!("auth:\n  providers:\n{providers}"));
    }
    yaml.push_str(&super::yaml::claude(mock, &["upstream"]));
    yaml
}

/// The status entry called `name`.
pub(crate) fn status_of(proxy: &Proxy, name: &str) -> PluginStatus {
    let statuses = proxy.runtime().plugin_status();
    statuses
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no status for {name}: {statuses:#?}"))
        .clone()
}

/// Drops `bytes` as `plugins/<name>` and waits for the reload attempt that scanned it.
pub(crate) async fn drop_file(
    proxy: &Proxy,
    plugins: &Path,
    name: &str,
    bytes: &[u8],
) -> ReloadStatus {
    let attempts = proxy.runtime().reload_status().borrow().attempts;
    let sha256 = hex::encode(Sha256::digest(bytes));
    // Written beside the folder and moved in, so it appears complete at once.
    let temporary = plugins.parent().unwrap().join(format!(".{name}.part"));
    std::fs::write(&temporary, bytes).unwrap();
    std::fs::rename(&temporary, plugins.join(name)).unwrap();
    proxy
        .wait_reload(|s| {
            s.attempts > attempts
                && proxy
                    .runtime()
                    .plugin_status()
                    .iter()
                    .any(|p| p.name == name && p.sha256 == sha256)
        })
        .await
}
