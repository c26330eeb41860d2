//! The `switchyard-mock` binary: its `--oauth-client` flag registers confidential clients that
//! a separate mock process then serves the client-credentials grant to.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use serde_json::{Value, json};

use crate::support::{JsonBody, client, header, json_of};

/// A running `switchyard-mock` process, killed on drop.
struct MockProcess {
    child: Child,
    base_url: String,
}

impl MockProcess {
    /// Starts the binary with `args` on a free loopback port and waits for its `listening on`
    /// line.
    fn start(args: &[&str]) -> MockProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard-mock"))
            .args(["--listen", "127.0.0.1:0", "--no-record"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting switchyard-mock");
        let stdout = child.stdout.take().expect("its stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading its first line");
        let Some((_, base_url)) = line.trim().split_once("listening on ") else {
            let _ = child.kill();
            panic!("no `listening on` line: {line:?}");
        };
        MockProcess {
            base_url: base_url.to_owned(),
            child,
        }
    }

    /// The client-credentials grant with `form` (plus `grant_type`) and an optional
    /// `Authorization: Basic` of `basic`: the status and the JSON body.
    async fn client_credentials(
        &self,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> (u16, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .extend_pairs(form)
            .finish();
        let mut request = client()
            .post(format!("{}/oauth/token", self.base_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some((id, secret)) = basic {
            let encoded = BASE64_STANDARD.encode(format!("{id}:{secret}"));
            request = request.header("authorization", format!("Basic {encoded}"));
        }
        let response = request.send().await.expect("sending the token request");
        let status = response.status().as_u16();
        (status, json_of(response).await)
    }

    /// A chat completion with `Authorization: Bearer {bearer}`: the status and the
    /// `x-mock-credential` header.
    async fn chat(&self, bearer: &str) -> (u16, Option<String>) {
        let response = client()
            .post(format!("{}/v1/chat/completions", self.base_url))
            .header("authorization", format!("Bearer {bearer}"))
            .json_body(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}))
            .send()
            .await
            .expect("sending the chat request");
        let credential = header(&response, "x-mock-credential").map(str::to_owned);
        (response.status().as_u16(), credential)
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn an_oauth_client_from_the_command_line_gets_tokens_that_answer_as_its_id() {
    let mock = MockProcess::start(&[
        "--oauth-client",
        "bench-client:s3cret:with-colon",
        "--oauth-client",
        "other-client:plain",
    ]);
    // The secret is everything after the first colon.
    let (status, body) = mock
        .client_credentials(
            &[
                ("client_id", "bench-client"),
                ("client_secret", "s3cret:with-colon"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600, "tokens live one hour");
    let token = body["access_token"].as_str().expect("an access token");
    assert_eq!(
        mock.chat(token).await,
        (200, Some("bench-client".to_owned())),
        "a request with the token is answered as the client id"
    );
    // The second flag registered a second client, here authenticating with Basic.
    let (status, body) = mock
        .client_credentials(&[], Some(("other-client", "plain")))
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().expect("an access token");
    assert_eq!(
        mock.chat(token).await,
        (200, Some("other-client".to_owned()))
    );
}

#[tokio::test]
async fn a_wrong_secret_or_an_unregistered_client_gets_no_token() {
    let mock = MockProcess::start(&["--oauth-client", "bench-client:s3cret:with-colon"]);
    for (id, secret) in [
        ("bench-client", "s3cret"),
        ("bench-client", "with-colon"),
        ("unknown-client", "s3cret:with-colon"),
    ] {
        let (status, body) = mock
            .client_credentials(&[("client_id", id), ("client_secret", secret)], None)
            .await;
        assert_eq!(status, 401, "{id} with {secret}: {body}");
        assert_eq!(body["error"], "invalid_client", "{body}");
    }
    // Without the flag the mock knows no client at all.
    let bare = MockProcess::start(&[]);
    let (status, _) = bare
        .client_credentials(
            &[
                ("client_id", "bench-client"),
                ("client_secret", "s3cret:with-colon"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 401);
}

#[test]
fn the_help_documents_the_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_switchyard-mock"))
        .arg("--help")
        .output()
        .expect("running switchyard-mock --help");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{help}");
    assert!(help.contains("--oauth-client <ID:SECRET>"), "{help}");
    assert!(help.contains("client-credentials grant"), "{help}");
}
