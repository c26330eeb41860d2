//! switchyard embedded in a program: the program owns its client keys (a native access
//! provider looks them up in its map), keeps upstream credentials in memory (a custom
//! credential store) and prints the usage of every request (a hook). Upstream is the demo's
//! mock, started in-process, so it runs with no account.
//!
//! ```sh
//! cargo run -p embed-example             # serve until Ctrl-C, printing a curl line to try
//! cargo run -p embed-example -- --once   # send one request through itself, print, exit
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use anyhow::Context;
use serde_json::json;
use switchyard::{
    AccessFuture, AccessOutcome, AccessProvider, BoxFuture, Credential, CredentialListing,
    CredentialStore, Hooks, InstanceConfig, InstanceSpec, RequestHead, SdkConfig, Switchyard,
    UsageRecord, secrets_equal,
};
use switchyard_mock::MockUpstream;
use tokio::sync::mpsc;

/// The client key the example accepts, and the team it belongs to.
const CLIENT_KEY: &str = "sk-embed-team-a";

/// The program's own client keys: key → team. Shared with the provider, editable at runtime.
type KeyMap = Arc<RwLock<HashMap<String, String>>>;

/// A native access provider: `Authorization: Bearer <key>` or `x-api-key`, looked up in the
/// program's map (in constant time per key).
struct TeamKeys {
    keys: KeyMap,
}

impl AccessProvider for TeamKeys {
    fn authenticate<'a>(&'a self, head: &'a RequestHead) -> AccessFuture<'a> {
        Box::pin(async move {
            let presented = head
                .header("authorization")
                .map(|value| value.strip_prefix("Bearer ").unwrap_or(value))
                .or_else(|| head.header("x-api-key"));
            let Some(presented) = presented else {
                return Ok(AccessOutcome::NoCredentials);
            };
            let keys = self.keys.read().expect("key map lock");
            // Compare against every key (no early exit) so timing says nothing about them.
            let mut team = None;
            for (key, owner) in keys.iter() {
                if secrets_equal(key, presented) {
                    team = Some(owner.clone());
                }
            }
            Ok(match team {
                Some(team) => AccessOutcome::Allow {
                    principal: team,
                    metadata: vec![("source".into(), "embed-example".into())],
                },
                None => AccessOutcome::InvalidCredential,
            })
        })
    }
}

/// Upstream credentials the program keeps in memory (as auth-file JSON documents).
#[derive(Debug, Default)]
struct MemoryCredentials {
    entries: RwLock<Vec<(String, serde_json::Value)>>,
}

impl CredentialStore for MemoryCredentials {
    fn list<'a>(
        &'a self,
        _auth_dir: &'a Path,
    ) -> BoxFuture<'a, std::io::Result<CredentialListing>> {
        Box::pin(async move {
            let mut listing = CredentialListing::default();
            for (id, json) in self.entries.read().expect("store lock").iter() {
                match Credential::from_json(id, json) {
                    Ok(credential) => listing.credentials.push(credential),
                    Err(reason) => listing.skipped.push((id.into(), reason)),
                }
            }
            Ok(listing)
        })
    }
}

/// Prints every request's usage, and tells `main` about it.
struct PrintUsage(mpsc::UnboundedSender<UsageRecord>);

impl Hooks for PrintUsage {
    fn credential_registered(&self, credential: &Credential) {
        println!(
            "credential registered: {} ({})",
            credential.id, credential.provider
        );
    }

    fn request_result(&self, record: &UsageRecord) {
        println!(
            "usage: client={} status={} model={} credential={} input={} output={} latency={}ms",
            record.api_key,
            record.status,
            record.model,
            record.credential,
            record.tokens.input_tokens,
            record.tokens.output_tokens,
            record.latency_ms,
        );
        let _ = self.0.send(record.clone());
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let once = std::env::args().any(|arg| arg == "--once");
    let mock = MockUpstream::start()
        .await
        .context("starting the mock upstream")?;

    let keys: KeyMap = Arc::new(RwLock::new(HashMap::from([(
        CLIENT_KEY.to_owned(),
        "team-a".to_owned(),
    )])));
    let credentials = MemoryCredentials::default();
    for n in 1..=2 {
        credentials.entries.write().expect("store lock").push((
            format!("memory-claude-{n}"),
            json!({"type": "claude", "api_key": format!("sk-mock-{n}"), "base_url": mock.base_url()}),
        ));
    }
    let (usage_tx, mut usage) = mpsc::unbounded_channel();

    let provider_keys = keys.clone();
    let switchyard = Switchyard::builder()
        .register_access_provider("team-keys", move |_: &InstanceConfig| {
            Ok(Arc::new(TeamKeys {
                keys: provider_keys.clone(),
            }) as Arc<dyn AccessProvider>)
        })
        .credential_store(credentials)
        .hooks(PrintUsage(usage_tx))
        .config(
            SdkConfig::new()
                .listen("127.0.0.1", 0)
                .access_provider(InstanceSpec::new("teams", "team-keys")),
        )
        .build()
        .await?;
    let addr = switchyard.listen().await?;
    println!("embed example listening on http://{addr}");

    if once {
        let reply = reqwest_client()?
            .post(format!("http://{addr}/v1/messages"))
            .bearer_auth(CLIENT_KEY)
            .json(&json!({
                "model": "claude-sonnet-4",
                "max_tokens": 32,
                "messages": [{"role": "user", "content": "Hello from the embed example"}],
            }))
            .send()
            .await?;
        let status = reply.status();
        let body: serde_json::Value = reply.json().await?;
        println!("reply: {status} {body}");
        let record = usage.recv().await.context("a usage record")?;
        switchyard.shutdown().await;
        mock.shutdown().await;
        anyhow::ensure!(status == 200, "the request through the example failed");
        // Records name the client by a fingerprint of its principal, never the principal.
        anyhow::ensure!(
            record.api_key == switchyard::fingerprint("team-a"),
            "the hook saw {record:?}"
        );
        return Ok(());
    }

    println!(
        "try: curl -s http://{addr}/v1/messages -H 'authorization: Bearer {CLIENT_KEY}' \
         -H 'content-type: application/json' \
         -d '{{\"model\":\"claude-sonnet-4\",\"max_tokens\":32,\"messages\":[{{\"role\":\"user\",\"content\":\"Hi\"}}]}}'"
    );
    println!("Ctrl-C stops it.");
    switchyard
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    mock.shutdown().await;
    Ok(())
}

/// A plain HTTP client (reqwest is built without a default TLS provider in this workspace).
fn reqwest_client() -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder().no_proxy().build()?)
}
