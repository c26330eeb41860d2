//! The path-valued config keys, which only the file on disk may change (architecture: Trust boundaries).
//!
//! The management key manages the proxy, not the machine: a write through the management API
//! (`PUT /config.yaml` or any other route) that would point `auth-dir`, the plugins folders or
//! the TLS files somewhere else is refused with 403 `path_keys_are_file_only` before anything
//! is written. Values are compared as the validated config holds them — `~` and relative paths
//! resolved — so spelling the same folder differently is not a change.

use std::path::Path;

use crate::config::Config;

/// A path-valued key and how to read its resolved value.
type PathKey = (&'static str, fn(&Config) -> &Path);

/// The path-valued keys, in the order the README lists them.
const PATH_KEYS: [PathKey; 5] = [
    ("auth-dir", |c| &c.auth_dir),
    ("plugins.dir", |c| &c.plugins.dir),
    ("plugins.cache-dir", |c| &c.plugins.cache_dir),
    ("tls.cert", |c| &c.tls.cert),
    ("tls.key", |c| &c.tls.key),
];

/// The path-valued keys whose resolved values differ between `before` and `after`.
pub(crate) fn changed(before: &Config, after: &Config) -> Vec<&'static str> {
    PATH_KEYS
        .into_iter()
        .filter(|(_, value)| value(before) != value(after))
        .map(|(key, _)| key)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn config(yaml: &str) -> Config {
        Config::parse(yaml, None, PathBuf::from("/etc/sy"))
            .unwrap()
            .config
    }

    #[test]
    fn paths_compare_after_resolving() {
        let base = config("auth-dir: auths\n");
        assert!(changed(&base, &config("")).is_empty(), "the default");
        assert!(changed(&base, &config("auth-dir: ./auths\n")).is_empty());
        assert!(changed(&base, &config("auth-dir: /etc/sy/auths/\n")).is_empty());
        assert_eq!(
            changed(&base, &config("auth-dir: /root/.codex\n")),
            ["auth-dir"]
        );
        assert_eq!(
            changed(
                &base,
                &config(
                    "plugins:\n  dir: /tmp/p\n  cache-dir: /tmp/c\ntls:\n  cert: a.pem\n  key: b.pem\n"
                )
            ),
            ["plugins.dir", "plugins.cache-dir", "tls.cert", "tls.key"]
        );
    }
}
