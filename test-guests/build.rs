//! Builds the test guests of `plugins/` for `wasm32-wasip2` and writes `$OUT_DIR/guests.rs`:
//! a `<NAME>_COMPONENT` constant (the component file) per guest and the macro
//! `foreach_guest!`, which names every guest, so a test crate can check that each one is used.

use std::fmt::Write;
use std::path::PathBuf;

/// The packages of the plugins workspace the tests load. Adding a guest is one line here; the
/// e2e harness then refuses to compile until a test uses it.
const GUESTS: &[&str] = &[
    "misbehave",
    "session-echo",
    "unknown-world",
    "versioned-v1",
    "versioned-v2",
    "jwt-hs256",
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_owned();
    let workspace = root.join("plugins");
    for input in [
        "wit",
        "plugins/Cargo.toml",
        "plugins/Cargo.lock",
        "plugins/testing",
        "plugins/jwt-hs256",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let target_dir = switchyard_guest_build::plugins_target_dir(&root);
    let paths = match switchyard_guest_build::build(&workspace, &target_dir, GUESTS) {
        Ok(paths) => paths,
        Err(message) => {
            println!("cargo:warning={message}");
            eprintln!("error: {message}");
            std::process::exit(1);
        }
    };
    let mut code = String::new();
    let mut each = String::new();
    for (package, path) in GUESTS.iter().zip(&paths) {
        let name = package.to_uppercase().replace('-', "_");
        writeln!(
            code,
            "/// The component file of the test guest `{package}`."
        )
        .unwrap();
        writeln!(
            code,
            "pub const {name}_COMPONENT: &str = {:?};",
            path.display().to_string()
        )
        .unwrap();
        writeln!(
            each,
            "        $mac!({name}, {package:?}, {name}_COMPONENT);"
        )
        .unwrap();
    }
    writeln!(
        code,
        "/// Calls `$mac!(NAME, \"package\", NAME_COMPONENT)` once for every test guest.\n\
         #[macro_export]\n\
         macro_rules! foreach_guest {{\n    ($mac:ident) => {{\n{each}    }};\n}}"
    )
    .unwrap();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("guests.rs");
    std::fs::write(out, code).unwrap();
}
