//! Building Python and JavaScript plugins from source: the examples under `examples/plugins/`
//! and the skeletons `switchyard plugin new` writes.
//!
//! A build takes 30 s to a minute, so each component is cached under `target/` by a hash of
//! everything that goes into it (the sources, the WIT package, the world, the toolchain's
//! version): a repeated test run builds nothing. The toolchains are installed by `.ci/run`
//! (`pip install componentize-py`, `npm ci` in the JavaScript example; the tests run that
//! `npm ci` themselves when Node.js is there); when one is missing the test fails and says
//! so, rather than skipping.

use std::path::{Path, PathBuf};
use std::process::Command;

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

/// The repository's root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the host crate is in the repository")
        .to_owned()
}

/// The JavaScript example's folder (its `node_modules` holds componentize-js).
pub(crate) fn js_example_dir() -> PathBuf {
    repo().join("examples/plugins/js-session-header")
}

/// The Python example's folder.
pub(crate) fn python_example_dir() -> PathBuf {
    repo().join("examples/plugins/python-hmac")
}

/// Where built components are kept between test runs.
fn cache_root() -> PathBuf {
    PathBuf::from(env!("SWITCHYARD_PLUGINS_TARGET_DIR")).join("polyglot")
}

/// One build at a time: they are CPU-bound, and two tests may want the same component.
static BUILDING: Mutex<()> = Mutex::new(());

/// A plugin's sources and how to build them.
pub(crate) struct Build<'a> {
    /// The folder with the sources (`*.py` or `*.js` directly in it).
    pub dir: &'a Path,
    /// The WIT world.
    pub world: &'a str,
    /// The WIT package folder, relative to `dir` (componentize-js wants a relative path).
    pub wit: &'a str,
    /// A name for the cached file.
    pub name: &'a str,
}

/// The component built from a Python plugin (module `app`) with componentize-py.
pub(crate) fn python(build: &Build<'_>) -> PathBuf {
    let version = tool_version(
        Command::new("componentize-py").arg("--version"),
        "componentize-py, the Python plugin toolchain, is not installed: run `.ci/run` \
         (it runs `pip install componentize-py==0.25.1`)",
    );
    cached(build, "py", &version, |out| {
        let mut command = Command::new("componentize-py");
        command
            .current_dir(build.dir)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .args(["-q", "-d", build.wit, "-w", build.world])
            .args(["componentize", "app", "-o"])
            .arg(out);
        command
    })
}

/// The component built from a JavaScript plugin (`entry`) with componentize-js, from the
/// JavaScript example's `node_modules`.
pub(crate) fn javascript(build: &Build<'_>, entry: &str) -> PathBuf {
    let tool = js_example_dir().join("node_modules/.bin/componentize-js");
    let package =
        js_example_dir().join("node_modules/@bytecodealliance/componentize-js/package.json");
    install_javascript_toolchain(&package);
    let version = std::fs::read_to_string(&package).unwrap_or_else(|_| {
        panic!(
            "componentize-js, the JavaScript plugin toolchain, is not installed in {}: run `.ci/run` \
             (it runs `npm ci` there)",
            js_example_dir().display()
        )
    });
    cached(build, "js", &version, |out| {
        let mut command = Command::new(&tool);
        command
            .current_dir(build.dir)
            .arg(entry)
            .args(["--wit", build.wit, "--world-name", build.world])
            // No wasi:http imports: plugins get no network (the host does not offer it).
            .args(["--disable", "http", "fetch-event", "-o"])
            .arg(out);
        command
    })
}

/// Runs `npm ci` in the JavaScript example once when its `node_modules` lacks `package` (the
/// lockfile pins componentize-js), so `cargo test` works on a machine with Node.js but without
/// a prior `.ci/run`. Without npm the caller's check reports the missing toolchain.
fn install_javascript_toolchain(package: &Path) {
    let _one_at_a_time = BUILDING.lock();
    if package.is_file() {
        return;
    }
    let Ok(output) = Command::new("npm")
        .current_dir(js_example_dir())
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .output()
    else {
        return;
    };
    assert!(
        output.status.success(),
        "`npm ci` in {} failed:\n{}",
        js_example_dir().display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The first line a tool prints for `command` (its version), or a panic with `missing`.
fn tool_version(command: &mut Command, missing: &str) -> String {
    match command.output() {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        }
        Ok(output) => panic!("{missing}\n{}", String::from_utf8_lossy(&output.stderr)),
        Err(_) => panic!("{missing}"),
    }
}

/// The cached component for `build`, built by `command(output path)` when it is not there.
fn cached(
    build: &Build<'_>,
    extension: &str,
    tool: &str,
    command: impl FnOnce(&Path) -> Command,
) -> PathBuf {
    let mut hash = Sha256::new();
    for part in [tool, build.world, build.wit] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let mut sources: Vec<PathBuf> = std::fs::read_dir(build.dir)
        .expect("the plugin's folder")
        .map(|entry| entry.expect("a folder entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == extension) && path.is_file())
        .collect();
    sources.sort();
    let wit = build.dir.join(build.wit);
    let mut wit_files: Vec<PathBuf> = std::fs::read_dir(&wit)
        .unwrap_or_else(|e| panic!("the WIT folder {}: {e}", wit.display()))
        .map(|entry| entry.expect("a folder entry").path())
        .collect();
    wit_files.sort();
    for file in sources.iter().chain(&wit_files) {
        hash.update(file.file_name().unwrap().as_encoded_bytes());
        hash.update([0]);
        hash.update(std::fs::read(file).expect("a source file"));
        hash.update([0]);
    }
    let key = hex::encode(&hash.finalize()[..8]);
    let output = cache_root().join(format!("{}-{key}.wasm", build.name));
    let _one_at_a_time = BUILDING.lock();
    if output.is_file() {
        return output;
    }
    std::fs::create_dir_all(cache_root()).expect("the cache folder");
    let partial = cache_root().join(format!("{}-{key}.partial.wasm", build.name));
    let mut command = command(&partial);
    let started = std::time::Instant::now();
    let result = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        result.status.success() && partial.is_file(),
        "building {} failed ({}):\n{}{}",
        build.name,
        result.status,
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    eprintln!("built {} in {:?}", build.name, started.elapsed());
    std::fs::rename(&partial, &output).expect("move the component into the cache");
    output
}
