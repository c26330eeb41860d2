//! Builds the first-party plugins (WebAssembly components) and embeds them in the library.
//!
//! `plugins/` is its own cargo workspace; `switchyard_guest_build::build` compiles the packages listed in
//! [`FIRST_PARTY`] for `wasm32-wasip2` into `target/plugins/`, and this script writes
//! `$OUT_DIR/embedded_plugins.rs`, a table of their bytes (`include_bytes!`) that
//! `plugin::embedded` includes. Adding a first-party plugin is one line in [`FIRST_PARTY`].
//! It also tells the binary where to read the commit it is built from ([`build_info`]).

#[path = "build/build_info.rs"]
mod build_info;

use std::path::{Path, PathBuf};

use switchyard_guest_build as wasm_guest;

/// The first-party plugins embedded in the binary: the cargo package of each.
const FIRST_PARTY: &[&str] = &["config-api-key", "session-standard"];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_owned();
    let workspace = root.join("plugins");
    let target_dir = wasm_guest::plugins_target_dir(&root);

    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.lock").display()
    );
    for package in FIRST_PARTY {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(package).display()
        );
    }
    println!("cargo:rerun-if-changed=build/build_info.rs");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    build_info::emit(&manifest_dir, &out_dir);
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    println!(
        "cargo:rustc-env=SWITCHYARD_PLUGINS_TARGET_DIR={}",
        target_dir.display()
    );
    println!(
        "cargo:rustc-env=SWITCHYARD_WASMTIME_VERSION={}",
        wasmtime_version(&root)
    );

    let paths = match wasm_guest::build(&workspace, &target_dir, FIRST_PARTY) {
        Ok(paths) => paths,
        Err(message) => {
            println!("cargo:warning={message}");
            eprintln!("error: {message}");
            std::process::exit(1);
        }
    };
    let mut table = String::from(
        "/// The first-party plugins, built by `host/build.rs`: (cargo package, component bytes).\n\
         pub(crate) const EMBEDDED: &[(&str, &[u8])] = &[\n",
    );
    for (package, path) in FIRST_PARTY.iter().zip(&paths) {
        table.push_str(&format!(
            "    ({package:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    table.push_str("];\n");
    let out = out_dir.join("embedded_plugins.rs");
    std::fs::write(&out, table).unwrap();
}

/// The wasmtime version in `Cargo.lock`, part of the compiled-component cache key.
fn wasmtime_version(root: &Path) -> String {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasmtime\""
            && let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = "))
        {
            return version.trim_matches('"').to_owned();
        }
    }
    "unknown".to_owned()
}
