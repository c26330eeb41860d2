//! Other switchyard processes measured beside the default one, in the same interleaved rounds:
//! an earlier build (`--baseline-bin`) or the same build in the other serving mode
//! (`--other-runtime`). Each gets its own column in the table and its own keys in the JSON.

use std::path::{Path, PathBuf};

use switchyard::ServingMode;

/// The serving mode other than switchyard's default (`server.runtime` unset), measured beside
/// it unless the bench is told otherwise.
pub(crate) fn other_than_default() -> ServingMode {
    match ServingMode::default() {
        ServingMode::PerCore => ServingMode::WorkStealing,
        ServingMode::WorkStealing => ServingMode::PerCore,
    }
}

/// Parses a `server.runtime` value on the command line.
pub(crate) fn parse_runtime(text: &str) -> Result<ServingMode, String> {
    ServingMode::parse(text).ok_or_else(|| format!("{text:?}: use per-core or work-stealing"))
}

/// One extra switchyard process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variant {
    /// Its name in the printed output (a target name).
    pub name: &'static str,
    /// What stands for `switchyard` in its JSON keys (`rps_{key}`), or before the others
    /// (`{key}_added_latency_p50_us`).
    pub key: &'static str,
    /// Its binary, when not the one built beside the bench.
    pub binary: Option<PathBuf>,
    /// The serving mode it is configured with, when not the default.
    pub runtime: Option<ServingMode>,
}

impl Variant {
    /// The switchyard `binary` of another build, on the shared config.
    pub(crate) fn baseline(binary: PathBuf) -> Variant {
        Variant {
            name: "baseline",
            key: "baseline",
            binary: Some(binary),
            runtime: None,
        }
    }

    /// This build with `server.runtime: runtime`.
    pub(crate) fn runtime(runtime: ServingMode) -> Variant {
        // The JSON keys' spelling of the mode's name.
        let key = match runtime {
            ServingMode::PerCore => "per_core",
            ServingMode::WorkStealing => "work_stealing",
        };
        Variant {
            name: runtime.as_str(),
            key,
            binary: None,
            runtime: Some(runtime),
        }
    }

    /// The binary to start: its own, or `switchyard` in `bin`.
    pub(crate) fn binary_in(&self, bin: &Path) -> PathBuf {
        self.binary
            .clone()
            .unwrap_or_else(|| bin.join("switchyard"))
    }

    /// Its config: `shared` (a config with no `server:` section) and its serving mode.
    pub(crate) fn config_yaml(&self, shared: &str) -> String {
        match self.runtime {
            Some(runtime) => format!("{shared}server:\n  runtime: {}\n", runtime.as_str()),
            None => shared.to_owned(),
        }
    }

    /// Its column head in the table.
    pub(crate) fn label(&self) -> String {
        match self.binary {
            Some(_) => "baseline build".to_owned(),
            None => self.name.to_owned(),
        }
    }

    /// The JSON key of its figure whose default-process key is `key`: `switchyard` in the key
    /// replaced by [`Variant::key`] (`rps_switchyard` → `rps_baseline`), or the key prefixed
    /// with it (`added_latency_p50_us` → `baseline_added_latency_p50_us`).
    pub(crate) fn json_key(&self, key: &str) -> String {
        if key.contains("switchyard") {
            key.replace("switchyard", self.key)
        } else {
            format!("{}_{key}", self.key)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runtime_variant_adds_the_server_section_and_keeps_the_rest() {
        let shared = "host: 127.0.0.1\nport: 0\napi-keys: [k]\n";
        let variant = Variant::runtime(ServingMode::WorkStealing);
        let yaml = variant.config_yaml(shared);
        assert!(yaml.starts_with(shared));
        let config: serde_json::Value = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(config["server"]["runtime"], "work-stealing");
        assert_eq!(config["port"], 0);
        let per_core: serde_json::Value =
            serde_yaml_ng::from_str(&Variant::runtime(ServingMode::PerCore).config_yaml(shared))
                .unwrap();
        assert_eq!(per_core["server"]["runtime"], "per-core");
    }

    #[test]
    fn the_other_mode_is_not_the_default_and_both_parse() {
        assert_ne!(other_than_default(), ServingMode::default());
        assert_eq!(parse_runtime("per-core"), Ok(ServingMode::PerCore));
        assert_eq!(
            parse_runtime("work-stealing"),
            Ok(ServingMode::WorkStealing)
        );
        assert!(parse_runtime("threads").is_err());
    }

    #[test]
    fn a_baseline_runs_its_own_binary_on_the_shared_config() {
        let variant = Variant::baseline(PathBuf::from("/old/switchyard"));
        assert_eq!(variant.config_yaml("port: 0\n"), "port: 0\n");
        assert_eq!(
            variant.binary_in(Path::new("/bin")),
            Path::new("/old/switchyard")
        );
        let runtime = Variant::runtime(ServingMode::PerCore);
        assert_eq!(
            runtime.binary_in(Path::new("/bin")),
            Path::new("/bin/switchyard")
        );
    }

    #[test]
    fn json_keys_keep_the_baseline_keys_of_earlier_runs() {
        let baseline = Variant::baseline(PathBuf::from("/old/switchyard"));
        assert_eq!(baseline.json_key("rps_switchyard"), "rps_baseline");
        assert_eq!(
            baseline.json_key("cpu_us_per_request_switchyard"),
            "cpu_us_per_request_baseline"
        );
        assert_eq!(
            baseline.json_key("added_latency_p50_us"),
            "baseline_added_latency_p50_us"
        );
        let mode = Variant::runtime(ServingMode::WorkStealing);
        assert_eq!(
            mode.json_key("agent_rps_switchyard"),
            "agent_rps_work_stealing"
        );
        assert_eq!(
            mode.json_key("stream_added_ttfb_us"),
            "work_stealing_stream_added_ttfb_us"
        );
    }
}
