//! The Credentials view's actions in the browser: disabling and enabling a config credential
//! (the next proxied requests avoid it, then use it again), uploading an auth file through the
//! page's file input (a new row and a working credential) and deleting it through the dialog.

use std::collections::BTreeSet;

use fantoccini::Locator;
use fantoccini::key::Key;
use switchyard_mock::MockUpstream;

use super::browser::Browser;
use super::{SECRET, credential_ids, proxy, wait_for_rows};
use crate::harness::Proxy;

/// The id of the credential whose API key is `key`.
fn id_of(proxy: &Proxy, key: &str) -> String {
    proxy
        .runtime()
        .generation()
        .registry
        .credentials()
        .find(|c| {
            matches!(&c.secret, switchyard::test_util::credential::Secret::ApiKey(k) if k == key)
        })
        .unwrap_or_else(|| panic!("no credential with key {key}"))
        .id
        .to_string()
}

/// The keys (as the mock reports them) that answer `n` Messages requests in a row.
async fn served_by(proxy: &Proxy, n: usize) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for _ in 0..n {
        let reply = proxy.claude_turn().await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        keys.insert(reply.credential());
    }
    keys
}

#[tokio::test]
async fn disabling_a_config_credential_in_the_page_makes_requests_avoid_it() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = proxy(&mock, "").await;
    let browser = Browser::acquire().await;
    browser
        .open_console(&proxy.url("/management.html"), SECRET)
        .await;
    browser.view("credentials").await;
    let id = id_of(&proxy, "console-a");
    let row = format!("tr[data-id=\"{id}\"]");
    // Round robin over both keys: two requests use both.
    assert_eq!(served_by(&proxy, 2).await.len(), 2);

    browser
        .text_when(&format!("{row} button.toggle"), |t| t == "Disable")
        .await;
    browser.click(&format!("{row} button.toggle")).await;
    browser
        .text_when(&format!("{row} td.state"), |t| t == "disabled")
        .await;
    browser
        .text_when(&format!("{row} button.toggle"), |t| t == "Enable")
        .await;
    // Drawn anew, the row's button keeps the focus the click gave it.
    let focused = browser.client.active_element().await.unwrap();
    assert_eq!(focused.text().await.unwrap(), "Enable");
    let keys = served_by(&proxy, 4).await;
    assert_eq!(keys, BTreeSet::from(["console-b".to_owned()]));
    browser.screenshot("credentials-disabled").await;

    browser.click(&format!("{row} button.toggle")).await;
    browser
        .text_when(&format!("{row} td.state"), |t| t == "active")
        .await;
    assert!(served_by(&proxy, 2).await.contains("console-a"));
    proxy.shutdown().await;
    mock.shutdown().await;
}

#[tokio::test]
async fn an_auth_file_uploaded_through_the_page_serves_and_is_deleted_through_the_dialog() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = proxy(&mock, "").await;
    let configured = credential_ids(&proxy);
    let upload_dir = tempfile::tempdir().unwrap();
    let file = upload_dir.path().join("uploaded.json");
    let body = serde_json::json!({
        "type": "claude", "api_key": "console-file", "base_url": mock.base_url(),
    });
    std::fs::write(&file, body.to_string()).unwrap();

    let browser = Browser::acquire().await;
    browser
        .open_console(&proxy.url("/management.html"), SECRET)
        .await;
    browser.view("credentials").await;
    wait_for_rows(&browser, &configured).await;

    // The file input is the keyboard path of the drop zone.
    let input = browser
        .client
        .find(Locator::Id("upload-input"))
        .await
        .unwrap();
    input.send_keys(file.to_str().unwrap()).await.unwrap();
    browser
        .text_when("#credentials-message", |t| t.starts_with("uploaded"))
        .await;
    assert!(proxy.auth_dir().join("uploaded.json").exists());
    let id = id_of(&proxy, "console-file");
    let mut with_file = configured.clone();
    with_file.push(id.clone());
    with_file.sort();
    wait_for_rows(&browser, &with_file).await;
    // A working credential: round robin over three keys reaches it.
    assert!(served_by(&proxy, 3).await.contains("console-file"));
    browser.screenshot("credentials-uploaded").await;
    browser.set_dark(true).await;
    browser.screenshot("credentials-uploaded-dark").await;
    browser.set_dark(false).await;

    // Config credentials have no Delete; the file's asks first, and Cancel keeps it.
    let row = format!("tr[data-id=\"{}\"]", configured[0]);
    assert!(
        browser
            .client
            .find(Locator::Css(&format!("{row} button.delete")))
            .await
            .is_err()
    );
    let delete = format!("tr[data-id=\"{id}\"] button.delete");
    browser.click(&delete).await;
    let dialog = browser
        .client
        .find(Locator::Id("delete-dialog"))
        .await
        .unwrap();
    assert!(dialog.is_displayed().await.unwrap());
    let prompt = browser.text_when("#delete-name", |t| !t.is_empty()).await;
    assert!(prompt.contains("uploaded.json"), "{prompt}");
    browser.screenshot("credentials-delete-dialog").await;
    browser.click("#delete-cancel").await;
    assert!(!dialog.is_displayed().await.unwrap());
    assert!(proxy.auth_dir().join("uploaded.json").exists());
    // The keyboard: Escape closes it too, and nothing is deleted.
    browser.click(&delete).await;
    assert!(dialog.is_displayed().await.unwrap());
    let focused = browser.client.active_element().await.unwrap();
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("delete-cancel")
    );
    focused.send_keys(&Key::Escape.to_string()).await.unwrap();
    assert!(!dialog.is_displayed().await.unwrap());
    assert!(proxy.auth_dir().join("uploaded.json").exists());

    browser.click(&delete).await;
    browser.click("#delete-confirm").await;
    wait_for_rows(&browser, &configured).await;
    assert!(!proxy.auth_dir().join("uploaded.json").exists());
    assert_eq!(credential_ids(&proxy), configured);

    // A drop of two files, one the API refuses: the partial outcome's message is shown.
    let dropped = serde_json::json!({
        "type": "claude", "api_key": "console-dropped", "base_url": mock.base_url(),
    });
    browser
        .client
        .execute(
            "const files = new DataTransfer(); \
             files.items.add(new File([arguments[0]], 'dropped.json')); \
             files.items.add(new File(['not json'], 'broken.json')); \
             document.getElementById('upload-zone').dispatchEvent( \
               new DragEvent('drop', { dataTransfer: files, bubbles: true, cancelable: true }));",
            vec![serde_json::json!(dropped.to_string())],
        )
        .await
        .unwrap();
    let message = browser
        .text_when("#credentials-message", |t| t.contains("broken.json"))
        .await;
    assert!(
        message.contains("uploaded 1 of 2") && message.contains("not a JSON object"),
        "{message}"
    );
    let class = browser
        .client
        .find(Locator::Id("credentials-message"))
        .await
        .unwrap()
        .attr("class")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(class.contains("error"), "{class}");
    let mut with_dropped = configured.clone();
    with_dropped.push(id_of(&proxy, "console-dropped"));
    with_dropped.sort();
    wait_for_rows(&browser, &with_dropped).await;
    assert!(!proxy.auth_dir().join("broken.json").exists());

    // At 390 px the view does not overflow sideways.
    browser.set_width(390).await;
    assert!(!browser.overflows().await);
    browser.screenshot("credentials-390").await;
    proxy.shutdown().await;
    mock.shutdown().await;
}
