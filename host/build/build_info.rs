//! Where the `switchyard` binary learns the commit it is built from, for the management API's
//! `X-CPA-COMMIT` and `X-CPA-BUILD-DATE` (`switchyard::build_info`).
//!
//! The binary reads the checkout's `HEAD` reflog itself (`include_bytes!` in `src/main.rs`, the
//! path in `SWITCHYARD_GIT_REFLOG`): its last line names the commit `HEAD` moved to and when.
//! rustc then tracks that one file for the binary alone, so a commit recompiles `main.rs` and
//! relinks — not the library, and this script does not run again (were it to watch git, every
//! commit would rebuild the whole crate).
//!
//! When that reflog is missing or does not end at `HEAD` (reflogs turned off), the script
//! writes a one-line stand-in and watches `HEAD`, the branch and `packed-refs` instead (each
//! only when it exists: cargo takes a missing watched file as always changed): correct, at the
//! cost of a full rebuild per commit. Outside a git checkout (a packaged crate, no `git`) the
//! stand-in is empty and both values are `unknown`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Prints `cargo:rustc-env=SWITCHYARD_GIT_REFLOG=…` for the checkout at `dir`, writing any
/// stand-in into `out_dir`.
pub(crate) fn emit(dir: &Path, out_dir: &Path) {
    let head = git(dir, &["rev-parse", "HEAD"]).filter(|hash| is_hash(hash));
    let reflog = git_path(dir, "logs/HEAD").filter(|path| path.is_file());
    let path = match (&head, reflog) {
        (Some(head), Some(reflog)) if last_new_hash(&reflog).as_deref() == Some(head) => reflog,
        (Some(head), _) => {
            for path in ["HEAD", "packed-refs"]
                .iter()
                .filter_map(|name| git_path(dir, name))
                .chain(git(dir, &["symbolic-ref", "-q", "HEAD"]).and_then(|r| git_path(dir, &r)))
                .filter(|path| path.is_file())
            {
                println!("cargo:rerun-if-changed={}", path.display());
            }
            let seconds = git(dir, &["show", "-s", "--format=%ct", "HEAD"]).unwrap_or_default();
            let zeros = "0".repeat(head.len());
            stand_in(
                out_dir,
                &format!("{zeros} {head} build <build> {seconds} +0000\tbuild\n"),
            )
        }
        (None, _) => stand_in(out_dir, ""),
    };
    println!("cargo:rustc-env=SWITCHYARD_GIT_REFLOG={}", path.display());
}

/// Writes the stand-in reflog and returns its path.
fn stand_in(out_dir: &Path, text: &str) -> PathBuf {
    let path = out_dir.join("head-reflog");
    std::fs::write(&path, text).unwrap();
    path
}

/// The commit the last line of the reflog at `path` moved `HEAD` to.
fn last_new_hash(path: &Path) -> Option<String> {
    let text = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&text);
    let line = text.trim_end_matches('\n').rsplit('\n').next()?;
    let hash = line.split(' ').nth(1)?;
    is_hash(hash).then(|| hash.to_owned())
}

/// 40 (SHA-1) or 64 (SHA-256) hexadecimal digits.
fn is_hash(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `git rev-parse --git-path NAME`: where `NAME` lives for this worktree (a branch's ref is in
/// the folder all worktrees share).
fn git_path(dir: &Path, name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(git(dir, &["rev-parse", "--git-path", name])?);
    Some(if path.is_absolute() {
        path
    } else {
        dir.join(path)
    })
}

/// A `git` command's trimmed output; `None` when it fails or prints nothing.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !text.is_empty()).then_some(text)
}
