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
    assert_eq!(curls.len(), 7, "{curls:#?}");
    let run = |line: &str| {
        let output = Command::new("sh").arg("-c").arg(line).output().unwrap();
        assert!(
            output.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    // The credential a `… | grep -i x-mock-credential` line printed.
    let credential = |line: &str| {
        let out = run(line);
        let (name, value) = out.trim().split_once(':').expect("a header line");
        assert!(name.eq_ignore_ascii_case("x-mock-credential"), "{out}");
        value.trim().to_owned()
    };
    let plain: serde_json::Value = serde_json::from_str(&run(&curls[0])).unwrap();
    assert_eq!(plain["type"], "message");
    let stream = run(&curls[1]);
    assert!(
        stream.starts_with("data: ") && stream.ends_with("data: [DONE]\n\n"),
        "{stream}"
    );

    // 3. The same message again: one session, one credential.
    let first = credential(&curls[2]);
    assert!(first.starts_with("demo-openai-"), "{first}");
    assert_eq!(
        credential(&curls[2]),
        first,
        "identical messages hash to one session"
    );

    // 4. Two turns of one conversation (one X-Session-ID, different bodies): one credential.
    for line in &curls[3..5] {
        assert!(line.contains("x-session-id: demo-conversation-1"), "{line}");
    }
    assert_ne!(curls[3], curls[4], "the second turn has more messages");
    let turn_1 = credential(&curls[3]);
    assert!(turn_1.starts_with("demo-claude-"), "{turn_1}");
    for _ in 0..3 {
        assert_eq!(credential(&curls[4]), turn_1, "a turn of the same session");
    }
    // Two new conversations are two new bindings: round-robin gives them different
    // credentials, and each keeps its own.
    let (a, b) = (credential(&curls[5]), credential(&curls[6]));
    assert_ne!(a, b, "new sessions are spread over the credentials");
    assert_eq!(credential(&curls[5]), a);
    assert_eq!(credential(&curls[6]), b);
}
