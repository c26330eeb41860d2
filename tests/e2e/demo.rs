//! `switchyard demo` runs on its own and its printed curl lines work.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the child when the test ends, pass or fail.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_demo_serves_its_own_curl_lines() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(["demo", "--port", "0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("demo starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.starts_with("switchyard listening on http://127.0.0.1:"),
        "{first}"
    );
    let mut curls = Vec::new();
    for line in lines {
        let line = line.unwrap();
        if line.starts_with("Ctrl-C") {
            break;
        }
        if line.starts_with("curl ") {
            curls.push(line);
        }
    }
    assert_eq!(curls.len(), 3);
    let run = |line: &str| {
        let output = Command::new("sh").arg("-c").arg(line).output().unwrap();
        assert!(
            output.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let plain: serde_json::Value = serde_json::from_str(&run(&curls[0])).unwrap();
    assert_eq!(plain["type"], "message");
    let stream = run(&curls[1]);
    assert!(
        stream.starts_with("data: ") && stream.ends_with("data: [DONE]\n\n"),
        "{stream}"
    );
    let first_credential = run(&curls[2]);
    let second_credential = run(&curls[2]);
    assert!(
        first_credential
            .to_ascii_lowercase()
            .starts_with("x-mock-credential: demo-openai-")
    );
    assert_ne!(
        first_credential, second_credential,
        "round-robin over the two OpenAI credentials"
    );
}
