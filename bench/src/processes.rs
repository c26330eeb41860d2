//! The processes under test: the mock upstream, switchyard, nginx. Each is killed on drop.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// A child process that is killed when dropped.
pub(crate) struct Process {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Stop it with SIGTERM and wait (nginx: its master then stops its workers).
    terminate: bool,
}

impl Process {
    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system) this process and its direct children (nginx's workers) have
    /// used so far, from `/proc`.
    pub(crate) fn cpu_time(&self) -> Result<Duration> {
        let pid = self.pid();
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        let mut ticks = cpu_ticks(pid)?;
        for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
            ticks += cpu_ticks(child).unwrap_or(0);
        }
        // The kernel's USER_HZ, fixed at 100 on Linux.
        Ok(Duration::from_millis(ticks * 10))
    }

    /// Resident memory in MiB, from `/proc`.
    pub(crate) fn rss_mb(&self) -> Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no VmRSS")?;
        Ok(kb / 1024.0)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.terminate {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
        } else {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The folder of this binary (`target/release`), where the other binaries are built.
pub(crate) fn binary_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe.parent().context("binary has a folder")?.to_owned())
}

/// Builds the workspace in release mode (a no-op when up to date), which makes the switchyard
/// and mock binaries. The whole workspace, as `cargo build --release` at its root builds it:
/// a narrower `-p` selection would unify the dependencies' features differently and rebuild
/// them (and the next `cargo build --release` would rebuild them back).
pub(crate) fn build_binaries() -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(build_command());
    for name in variables_of_cargo_run(std::env::vars_os().map(|(name, _)| name)) {
        command.env_remove(name);
    }
    let status = command.status().context("run cargo build")?;
    if !status.success() {
        bail!("cargo build --release failed");
    }
    Ok(())
}

/// Of the environment's variable `names`, those `cargo run` set for this binary (its package's
/// `CARGO_PKG_*`, `CARGO_MANIFEST_DIR` …), which the inner build must not inherit: build
/// scripts that watch one of them (ring watches `CARGO_MANIFEST_DIR`) would run again, and
/// everything above them would be rebuilt, twice (by this build and by the user's next plain
/// `cargo build --release`). Cargo's own settings (`CARGO_HOME`, `CARGO_TARGET_DIR`,
/// `CARGO_PROFILE_*` …) stay.
fn variables_of_cargo_run(
    names: impl Iterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    const SET_BY_CARGO_RUN: &[&str] = &[
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    names
        .filter(|name| {
            name.to_str().is_some_and(|name| {
                SET_BY_CARGO_RUN.contains(&name) || name.starts_with("CARGO_PKG_")
            })
        })
        .collect()
}

/// The arguments of [`build_binaries`]' cargo command: every member of this workspace (found
/// from this crate's manifest, whatever the current folder), release profile.
fn build_command() -> Vec<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    vec![
        "build".to_owned(),
        "--release".to_owned(),
        "--workspace".to_owned(),
        "--manifest-path".to_owned(),
        manifest.display().to_string(),
    ]
}

/// Starts `binary` with `args` and waits for its `listening on http://ADDR` line.
fn start_listening(binary: &Path, args: &[&str], envs: &[(&str, &str)]) -> Result<Process> {
    let mut child = Command::new(binary)
        .args(args)
        // switchyard's serving mode comes from its config alone, not the bench's environment.
        .env_remove(switchyard::ServingMode::ENV)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("start {}", binary.display()))?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let Some(line) = lines.next() else {
            let _ = child.kill();
            bail!("{} exited before listening", binary.display());
        };
        let line = line?;
        if let Some(at) = line.find("listening on http://") {
            break line[at + "listening on http://".len()..]
                .trim()
                .parse::<SocketAddr>()?;
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(Process {
        child,
        addr,
        terminate: false,
    })
}

/// The mock upstream, streaming `chunks` chunks `interval_ms` apart.
pub(crate) fn mock(dir: &Path, chunks: u32, interval_ms: u64) -> Result<Process> {
    mock_with_args(dir, chunks, interval_ms, &[])
}

/// The mock upstream as [`mock`] makes it, with the confidential OAuth client `client_id`
/// registered (`--oauth-client`), so it grants that client access tokens by the
/// client-credentials grant at `{base}/oauth/token`.
pub(crate) fn mock_with_oauth_client(
    dir: &Path,
    chunks: u32,
    interval_ms: u64,
    client_id: &str,
    client_secret: &str,
) -> Result<Process> {
    let client = format!("{client_id}:{client_secret}");
    mock_with_args(dir, chunks, interval_ms, &["--oauth-client", &client])
}

/// The mock upstream with `extra` arguments after the common ones.
fn mock_with_args(dir: &Path, chunks: u32, interval_ms: u64, extra: &[&str]) -> Result<Process> {
    let (chunks, interval_ms) = (chunks.to_string(), interval_ms.to_string());
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--no-record",
        "--chunks",
        &chunks,
        "--chunk-interval-ms",
        &interval_ms,
    ];
    args.extend_from_slice(extra);
    start_listening(&dir.join("switchyard-mock"), &args, &[])
}

/// switchyard (the one built beside this binary, in `dir`) on `config`.
pub(crate) fn switchyard(dir: &Path, config: &Path) -> Result<Process> {
    switchyard_binary(&dir.join("switchyard"), config)
}

/// The switchyard `binary` (say, an earlier build) on `config`.
pub(crate) fn switchyard_binary(binary: &Path, config: &Path) -> Result<Process> {
    start_listening(
        binary,
        &["--config", &config.display().to_string()],
        &[("RUST_LOG", "error")],
    )
}

/// nginx in front of the mock: one process with two listeners.
pub(crate) struct Nginx {
    /// The process; its `addr` is the listener with nginx's default request buffering (the
    /// whole request body is read before the upstream call; a body over
    /// `client_body_buffer_size` goes to a temporary file).
    pub process: Process,
    /// The listener with `proxy_request_buffering off`: the body is forwarded as it arrives,
    /// as switchyard does, so a large request does not measure nginx's disk.
    pub unbuffered: SocketAddr,
}

/// nginx as a reverse proxy in front of `upstream`, when it is installed.
pub(crate) fn nginx(work: &Path, upstream: SocketAddr) -> Result<Option<Nginx>> {
    let Some(binary) = installed(&["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"])
    else {
        return Ok(None);
    };
    let (port, unbuffered_port) = (free_port()?, free_port()?);
    let prefix = work.join("nginx");
    std::fs::create_dir_all(prefix.join("logs"))?;
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(
        &conf_path,
        nginx_conf(&prefix, upstream, port, unbuffered_port),
    )?;
    let p = prefix.display().to_string();
    let child = Command::new(binary)
        .args(["-p", &p, "-c", &conf_path.display().to_string()])
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("start nginx")?;
    let process = Process::once_listening(child, port, true)?;
    let unbuffered: SocketAddr = format!("127.0.0.1:{unbuffered_port}").parse()?;
    wait_for_port(unbuffered)?;
    Ok(Some(Nginx {
        process,
        unbuffered,
    }))
}

/// nginx's configuration: a keep-alive upstream pool to `upstream`, response buffering off, and
/// two servers on `port` (request buffering as nginx's default) and `unbuffered_port`
/// (`proxy_request_buffering off`), with every temporary path under `prefix`.
fn nginx_conf(prefix: &Path, upstream: SocketAddr, port: u16, unbuffered_port: u16) -> String {
    let p = prefix.display();
    let server = |port: u16, extra: &str| {
        format!(
            "  server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      proxy_pass http://mock;\n      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n      proxy_buffering off;\n{extra}    }}\n  }}\n"
        )
    };
    format!(
        "worker_processes auto;\npid {p}/nginx.pid;\nerror_log stderr error;\n\
         events {{ worker_connections 8192; }}\n\
         http {{\n  access_log off;\n  keepalive_requests 10000000;\n  client_body_temp_path {p}/body;\n  proxy_temp_path {p}/proxy;\n  fastcgi_temp_path {p}/fastcgi;\n  uwsgi_temp_path {p}/uwsgi;\n  scgi_temp_path {p}/scgi;\n\
         \x20 upstream mock {{ server {upstream}; keepalive 256; }}\n{}{}}}\n",
        server(port, ""),
        server(unbuffered_port, "      proxy_request_buffering off;\n"),
    )
}

/// `redis-server` on a free loopback port without persistence, when it is installed.
pub(crate) fn redis_server(work: &Path) -> Result<Option<Process>> {
    let Some(binary) = installed(&["/usr/bin/redis-server", "/usr/local/bin/redis-server"]) else {
        return Ok(None);
    };
    let port = free_port()?;
    let dir = work.join("redis");
    std::fs::create_dir_all(&dir)?;
    let child = Command::new(binary)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("start redis-server")?;
    Ok(Some(Process::once_listening(child, port, false)?))
}

impl Process {
    /// `child`, once something accepts on its loopback `port`; `terminate`: stop it with
    /// SIGTERM rather than SIGKILL.
    fn once_listening(child: Child, port: u16, terminate: bool) -> Result<Process> {
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let process = Process {
            child,
            addr,
            terminate,
        };
        wait_for_port(addr)?;
        Ok(process)
    }
}

/// utime + stime of a process, in clock ticks (fields 14 and 15 of `/proc/PID/stat`, counted
/// after the parenthesised command name, which may contain spaces).
fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_name = stat.rsplit_once(')').context("no command name")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name, field 3 (state) is index 0, so utime (14) is index 11.
    let utime: u64 = fields.get(11).context("no utime")?.parse()?;
    let stime: u64 = fields.get(12).context("no stime")?.parse()?;
    Ok(utime + stime)
}

/// The first of `candidates` that exists.
fn installed(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// A port that was free a moment ago.
pub(crate) fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until something accepts on `addr` (nginx prints nothing when ready).
fn wait_for_port(addr: SocketAddr) -> Result<()> {
    for _ in 0..200 {
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(50)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    bail!("nothing listens on {addr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_is_the_whole_workspace_in_release_mode() {
        let args = build_command();
        assert_eq!(args[..3], ["build", "--release", "--workspace"]);
        assert_eq!(args[3], "--manifest-path");
        let manifest = std::fs::read_to_string(&args[4]).unwrap();
        assert!(
            manifest.contains("[workspace]"),
            "the workspace's root manifest"
        );
        assert!(
            manifest.contains("\"bench\""),
            "with the bench among its members"
        );
        assert!(
            !args.iter().any(|a| a == "-p" || a == "--package"),
            "no package selection: features unify as for `cargo build --release`"
        );
    }

    #[test]
    fn the_inner_build_drops_what_cargo_run_set_and_keeps_cargo_settings() {
        let names = [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_CRATE_NAME",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_PROFILE_RELEASE_DEBUG",
            "CARGO_INCREMENTAL",
            "CARGO",
            "PATH",
        ]
        .map(std::ffi::OsString::from);
        let dropped = variables_of_cargo_run(names.into_iter());
        assert_eq!(
            dropped,
            [
                "CARGO_MANIFEST_DIR",
                "CARGO_PKG_NAME",
                "CARGO_PKG_VERSION_MAJOR",
                "CARGO_CRATE_NAME"
            ]
            .map(std::ffi::OsString::from)
        );
    }

    #[test]
    fn nginx_buffers_requests_on_its_first_listener_only() {
        let prefix = Path::new("/tmp/bench-nginx");
        let conf = nginx_conf(prefix, "127.0.0.1:9".parse().unwrap(), 8001, 8002);
        let servers: Vec<&str> = conf.split("  server {").skip(1).collect();
        assert_eq!(servers.len(), 2, "{conf}");
        assert!(servers[0].contains("listen 127.0.0.1:8001;"));
        assert!(!servers[0].contains("proxy_request_buffering"));
        assert!(servers[1].contains("listen 127.0.0.1:8002;"));
        assert!(servers[1].contains("proxy_request_buffering off;"));
        for server in servers {
            assert!(server.contains("proxy_pass http://mock;"));
            assert!(server.contains("proxy_buffering off;"));
        }
        assert!(conf.contains("upstream mock { server 127.0.0.1:9; keepalive 256; }"));
    }

    #[test]
    fn nginx_accepts_the_configuration_when_installed() {
        let Some(binary) = installed(&["/usr/sbin/nginx", "/usr/bin/nginx"]) else {
            eprintln!("nginx is not installed: its syntax check is skipped");
            return;
        };
        let prefix = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(prefix.path().join("logs")).unwrap();
        let conf_path = prefix.path().join("nginx.conf");
        let conf = nginx_conf(prefix.path(), "127.0.0.1:9".parse().unwrap(), 8001, 8002);
        std::fs::write(&conf_path, conf).unwrap();
        let output = Command::new(binary)
            .arg("-t")
            .arg("-p")
            .arg(prefix.path())
            .arg("-c")
            .arg(&conf_path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
