//! The example runs: it answers a request through its own access provider, from its own
//! credential store, and its hook prints the usage.

use std::process::Command;

#[test]
fn the_example_answers_through_its_own_provider() {
    let output = Command::new(env!("CARGO_BIN_EXE_embed-example"))
        .arg("--once")
        .env("RUST_LOG", "warn")
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("credential registered: memory-claude-1 (claude)"),
        "{stdout}"
    );
    assert!(stdout.contains("reply: 200 OK"), "{stdout}");
    let usage = stdout
        .lines()
        .find(|line| line.starts_with("usage: "))
        .unwrap_or_else(|| panic!("no usage line:\n{stdout}"));
    assert!(
        usage.contains(&format!(
            "client={} status=200 model=claude-sonnet-4",
            switchyard::fingerprint("team-a")
        )),
        "{usage}"
    );
    assert!(usage.contains("credential=memory-claude-"), "{usage}");
}
