//! The commit a build comes from, and its date, for the management API's `X-CPA-COMMIT` and
//! `X-CPA-BUILD-DATE` (`switchyard::build_info`).
//!
//! Both are read with `git` from the checkout the crate is built in; without one (a packaged
//! crate, no `git` on the machine) they are `unknown`. The date is the commit's (UTC), not the
//! clock's, so two builds of one commit carry the same values.
//!
//! The script asks cargo to run it again only when the checkout's `HEAD` moves: the worktree's
//! `HEAD` file and its reflog, the branch's loose ref and `packed-refs` — each watched only when
//! it exists (cargo treats a missing watched file as always changed, which would rebuild the
//! crate on every build). So a commit rebuilds the crate once, and nothing else does.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What is printed when there is no commit to name.
const UNKNOWN: &str = "unknown";

/// Prints the `cargo:rustc-env` lines (`SWITCHYARD_GIT_COMMIT`, `SWITCHYARD_BUILD_DATE`) and
/// the `cargo:rerun-if-changed` lines for the checkout at `dir`.
pub fn emit(dir: &Path) {
    let commit = git(dir, &["rev-parse", "HEAD"])
        .filter(|hash| hash.len() >= 7 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
    if commit.is_some() {
        for path in watched(dir) {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let date = commit.as_ref().and_then(|_| {
        git_utc(
            dir,
            &[
                "show",
                "-s",
                "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
                "--format=%cd",
                "HEAD",
            ],
        )
    });
    println!(
        "cargo:rustc-env=SWITCHYARD_GIT_COMMIT={}",
        commit.as_deref().unwrap_or(UNKNOWN)
    );
    println!(
        "cargo:rustc-env=SWITCHYARD_BUILD_DATE={}",
        date.as_deref().unwrap_or(UNKNOWN)
    );
}

/// The files whose change means `HEAD` may have moved, among those that exist.
fn watched(dir: &Path) -> Vec<PathBuf> {
    let mut paths = vec![
        git_path(dir, "HEAD"),
        git_path(dir, "logs/HEAD"),
        git_path(dir, "packed-refs"),
    ];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        paths.push(git_path(dir, &branch));
    }
    paths
        .into_iter()
        .flatten()
        .filter(|p| p.is_file())
        .collect()
}

/// `git rev-parse --git-path NAME`: where `NAME` lives for this worktree (a branch's ref is in
/// the common folder of all worktrees).
fn git_path(dir: &Path, name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(git(dir, &["rev-parse", "--git-path", name])?);
    Some(if path.is_absolute() {
        path
    } else {
        dir.join(path)
    })
}

/// A `git` command's trimmed output, in UTC; `None` when it fails or prints nothing.
fn git_utc(dir: &Path, args: &[&str]) -> Option<String> {
    run(Command::new("git").env("TZ", "UTC").args(args), dir)
}

/// A `git` command's trimmed output; `None` when it fails or prints nothing.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    run(Command::new("git").args(args), dir)
}

fn run(command: &mut Command, dir: &Path) -> Option<String> {
    let output = command
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !text.is_empty()).then_some(text)
}
