//! How the console is served: where, to whom, with which headers, and how much.

use switchyard_mock::MockUpstream;

use super::{SECRET, proxy};
use crate::harness::{Proxy, client, read};

#[tokio::test]
async fn the_console_is_served_with_a_strict_policy_only_where_management_is() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = proxy(&mock, "").await;
    for path in ["/management.html", "/console/"] {
        let reply = read(client().get(proxy.url(path)).send().await.unwrap()).await;
        assert_eq!(reply.status, 200, "{path}");
        assert!(reply.text().contains("<form id=\"login-form\">"), "{path}");
        let policy = reply.header("content-security-policy").unwrap();
        assert!(policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"));
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert_eq!(reply.header("x-frame-options"), Some("DENY"));
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
    }
    let script = read(
        client()
            .get(proxy.url("/console/api.js"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(script.status, 200);
    assert!(
        script
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.text().contains("Authorization"));
    let unknown = client()
        .get(proxy.url("/console/other.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    // Everything the page loads (the page, its style sheet and every module it imports)
    // stays within the 250 KB budget.
    let total = console_weight(&proxy).await;
    eprintln!("console page weight: {total} bytes uncompressed");
    assert!(total < 250 * 1024, "{total} bytes");

    // disable-control-panel: 404, while the API stays.
    proxy
        .rewrite_config(&format!(
            "remote-management:\n  secret-key: {SECRET}\n  disable-control-panel: true\nclaude-api-key:\n  - api-key: console-a\n    base-url: {}\n",
            mock.base_url()
        ))
        .await;
    let off = client()
        .get(proxy.url("/management.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 404);
    let api = client()
        .get(proxy.url("/v0/management/credentials"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    proxy.shutdown().await;

    // Without a management secret there is no console.
    let bare = Proxy::start(&format!(
        "claude-api-key:\n  - api-key: console-a\n    base-url: {}\n",
        mock.base_url()
    ))
    .await;
    let none = client().get(bare.url("/console/")).send().await.unwrap();
    assert_eq!(none.status(), 404);
    bare.shutdown().await;
    mock.shutdown().await;
}

/// The bytes a browser loads for the console: the page, its style sheet and each JavaScript
/// module reachable through `import … from "./x.js"`.
pub(crate) async fn console_weight(proxy: &Proxy) -> usize {
    let page = read(client().get(proxy.url("/console/")).send().await.unwrap()).await;
    let mut total = page.text().len();
    let mut pending = vec!["console.js".to_owned()];
    let mut seen = vec!["console.css".to_owned()];
    let css = read(
        client()
            .get(proxy.url("/console/console.css"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    total += css.text().len();
    while let Some(name) = pending.pop() {
        if seen.contains(&name) {
            continue;
        }
        let module = read(
            client()
                .get(proxy.url(&format!("/console/{name}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(module.status, 200, "{name}");
        total += module.text().len();
        for import in module.text().split("from \"./").skip(1) {
            if let Some(end) = import.find('"') {
                pending.push(import[..end].to_owned());
            }
        }
        seen.push(name);
    }
    assert!(seen.len() > 3, "{seen:?}");
    total
}
