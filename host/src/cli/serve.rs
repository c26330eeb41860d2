//! `switchyard` / `switchyard serve`: the proxy on the configured `host:port`, built with the
//! public [`Switchyard`] builder, until Ctrl-C or SIGTERM.

use std::path::{Path, PathBuf};

use super::logging;
use crate::Switchyard;
use crate::config::{Config, ConfigError, LogFormat};

/// The environment variable that may hold the local-only password.
pub(super) const LOCAL_PASSWORD_ENV: &str = "SWITCHYARD_LOCAL_PASSWORD";

/// The environment variable that holds a management secret for every client.
const MANAGEMENT_PASSWORD_ENV: &str = "MANAGEMENT_PASSWORD";

/// The local-only password: `--password`, else the first line of `--password-file`, else
/// `SWITCHYARD_LOCAL_PASSWORD` (`env`); empty values count as none, but an empty or unreadable
/// file is an error.
pub(super) fn local_password(
    argument: Option<String>,
    file: Option<&Path>,
    env: Option<String>,
) -> Result<Option<String>, String> {
    if let Some(password) = argument.filter(|p| !p.is_empty()) {
        return Ok(Some(password));
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--password-file {}: {e}", path.display()))?;
        let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
        if line.is_empty() {
            return Err(format!(
                "--password-file {}: the first line is empty",
                path.display()
            ));
        }
        return Ok(Some(line.to_owned()));
    }
    Ok(env.filter(|p| !p.is_empty()))
}

/// Loads `path`, sets logging up from it (unless `--log-format` chose), and serves until a
/// shutdown signal.
pub(super) async fn run(
    path: PathBuf,
    password: Option<String>,
    log_format: Option<LogFormat>,
) -> Result<(), String> {
    let loaded = Config::load(&path).map_err(|error| match error {
        ConfigError::Read { .. } => format!(
            "{error} (to start, run `switchyard --config examples/config.yaml`, or copy it to ./config.yaml)"
        ),
        other => other.to_string(),
    })?;
    let from_config = loaded.config.log_format;
    logging::init(loaded.config.debug, log_format.unwrap_or(from_config));
    if let Err(error) = crate::server::raise_open_file_limit() {
        tracing::warn!("cannot raise the open-file limit: {error}");
    }
    let mut builder = Switchyard::builder().loaded_config(loaded);
    if log_format.is_none() {
        builder = builder.log_format(from_config);
    }
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        builder = builder.local_password(&password);
    }
    if let Some(secret) = std::env::var(MANAGEMENT_PASSWORD_ENV)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
    {
        builder = builder.management_password(&secret);
    }
    let server = builder.build().await.map_err(|e| e.to_string())?;
    let addr = server.listen().await.map_err(|e| e.to_string())?;
    println!("switchyard listening on http://{addr}");
    server.run_until(super::shutdown_signal()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_password_comes_from_the_argument_a_file_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "from-file\nignored\n").unwrap();
        let env = || Some("from-env".to_owned());
        assert_eq!(
            local_password(Some("arg".into()), None, env()),
            Ok(Some("arg".into()))
        );
        assert_eq!(
            local_password(None, Some(&file), env()),
            Ok(Some("from-file".into()))
        );
        assert_eq!(
            local_password(None, None, env()),
            Ok(Some("from-env".into()))
        );
        assert_eq!(local_password(None, None, Some(String::new())), Ok(None));
        assert_eq!(local_password(None, None, None), Ok(None));
        std::fs::write(&file, "\n").unwrap();
        assert!(local_password(None, Some(&file), None).is_err());
        let missing = dir.path().join("missing");
        assert!(local_password(None, Some(&missing), env()).is_err());
    }
}
