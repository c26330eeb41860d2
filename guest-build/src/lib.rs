//! Builds WebAssembly guest components from the `plugins/` cargo workspace.
//!
//! Shared by `host/build.rs` (the first-party plugins embedded in the binary), the tests (the
//! misbehaving test guests, the `plugin new` skeletons) and the benchmark, so all build the
//! same way: `cargo build --release --target wasm32-wasip2` in a separate target directory,
//! with an environment cleaned of everything the outer cargo set for its own build.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Rust target plugins are built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// Variables a build script or an outer cargo sets that would misdirect a nested cargo:
/// flags meant for the host target, wrappers, the outer target directory.
const REMOVED: &[&str] = &[
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "RUSTC",
    "RUSTDOC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTC_LINKER",
    "TARGET",
    "HOST",
    "OUT_DIR",
    "OPT_LEVEL",
    "PROFILE",
    "DEBUG",
    "NUM_JOBS",
    "MAKEFLAGS",
    "MFLAGS",
];

/// `CARGO_*` variables that configure cargo itself (its home, registries, network) and are
/// kept; every other `CARGO_*` variable is removed.
const KEPT_CARGO_PREFIXES: &[&str] = &[
    "CARGO_HOME",
    "CARGO_NET_",
    "CARGO_HTTP_",
    "CARGO_REGISTRIES_",
    "CARGO_REGISTRY_",
];

/// `target/plugins` under the target directory of the cargo workspace at `root`
/// (`CARGO_TARGET_DIR` when set): where the plugins workspace is built.
pub fn plugins_target_dir(root: &Path) -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    };
    target.join("plugins")
}

/// Builds `packages` of the cargo workspace at `workspace` for [`WASM_TARGET`] in release
/// mode into `target_dir`, and returns each package's component path, in order.
///
/// Installs the target with `rustup` when it is missing. Errors are one line saying what went
/// wrong and what to run.
pub fn build(
    workspace: &Path,
    target_dir: &Path,
    packages: &[&str],
) -> Result<Vec<PathBuf>, String> {
    ensure_target()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    clean_env(&mut command);
    command
        .current_dir(workspace)
        .arg("build")
        .arg("--release")
        .arg("--target")
        .arg(WASM_TARGET)
        .arg("--target-dir")
        .arg(target_dir)
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"));
    for package in packages {
        command.arg("--package").arg(package);
    }
    // The nested cargo's progress and diagnostics go to stderr (shown when the build fails);
    // its stdout must not be mistaken for build-script directives.
    command.stdout(std::process::Stdio::null());
    let status = command
        .status()
        .map_err(|e| format!("could not run cargo to build the plugins: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building plugins {packages:?} in {} failed ({status}); see the cargo output above",
            workspace.display()
        ));
    }
    packages
        .iter()
        .map(|package| {
            let path = component_path(target_dir, package);
            if path.is_file() {
                Ok(path)
            } else {
                Err(format!(
                    "cargo built {package} but {} is missing",
                    path.display()
                ))
            }
        })
        .collect()
}

/// Where cargo puts the component of `package` (a `cdylib`).
pub fn component_path(target_dir: &Path, package: &str) -> PathBuf {
    target_dir
        .join(WASM_TARGET)
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_")))
}

/// Removes the outer build's variables from `command` (see [`REMOVED`]).
fn clean_env(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let cargo_internal =
            name.starts_with("CARGO_") && !KEPT_CARGO_PREFIXES.iter().any(|p| name.starts_with(p));
        if cargo_internal || REMOVED.contains(&name) || name.starts_with("DEP_") {
            command.env_remove(name);
        }
    }
}

/// Makes sure the standard library for [`WASM_TARGET`] is installed, installing it with
/// `rustup` when it is missing.
fn ensure_target() -> Result<(), String> {
    if target_installed() {
        return Ok(());
    }
    let added = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if added && target_installed() {
        Ok(())
    } else {
        Err(format!(
            "the Rust target {WASM_TARGET} is missing and could not be installed: run `rustup target add {WASM_TARGET}`"
        ))
    }
}

/// Whether the `rustc` a nested cargo would use has the standard library for the target.
fn target_installed() -> bool {
    let mut command = Command::new("rustc");
    clean_env(&mut command);
    let Ok(output) = command.args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    output.status.success()
        && Path::new(&sysroot)
            .join("lib/rustlib")
            .join(WASM_TARGET)
            .is_dir()
}
