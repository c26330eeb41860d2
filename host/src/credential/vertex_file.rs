//! Vertex AI service-account auth files, in the reference's format:
//! `{"type":"vertex","service_account":{…the Google JSON key…},"project_id","email","location",
//! "prefix"}`, plus an optional `base_url` overriding the computed base. Reading one (the
//! file store's other fields apply as for every auth file) and writing one from a key
//! (`switchyard vertex-import`, `POST /v0/management/vertex/import`).

use std::sync::Arc;

use serde_json::{Map, Value, json};
use switchyard_oauth::{CLOUD_PLATFORM_SCOPE, ServiceAccountKey};
use url::Url;

use super::vertex::{DEFAULT_LOCATION, VertexTarget, check_location};
use super::{ProviderKind, Secret};
use crate::token::TokenSource;

/// What a `vertex` auth file adds to the fields every auth file has.
#[derive(Debug)]
pub(crate) struct VertexFile {
    /// The service account's token source.
    pub secret: Secret,
    /// `base_url`, or the location's endpoint.
    pub base_url: Url,
    /// The project and location.
    pub target: VertexTarget,
}

/// Reads the Vertex fields of an auth file of `provider` (`None` for other providers), or
/// says why the file is skipped. The reason never quotes the key.
pub(crate) fn read(
    provider: ProviderKind,
    metadata: &Map<String, Value>,
) -> Result<Option<VertexFile>, String> {
    if provider != ProviderKind::Vertex {
        return Ok(None);
    }
    let location = match text(metadata, "location") {
        "" => DEFAULT_LOCATION.to_owned(),
        location => location.to_owned(),
    };
    check_location(&location).map_err(|e| format!("vertex: {e}"))?;
    let Some(key_json) = metadata.get("service_account").filter(|v| v.is_object()) else {
        return Err("vertex: no service_account object (the Google JSON key)".to_owned());
    };
    let key = ServiceAccountKey::from_json(key_json)
        .map_err(|e| format!("vertex: service_account: {e}"))?;
    let project = match text(metadata, "project_id") {
        "" => key.project_id.trim().to_owned(),
        project => project.to_owned(),
    };
    if project.is_empty() {
        return Err("vertex: no project_id (in the file or the key)".to_owned());
    }
    let target = VertexTarget { project, location };
    let base_url = match text(metadata, "base_url") {
        "" => target
            .default_base_url()
            .ok_or_else(|| "vertex: no base URL for the location".to_owned())?,
        text => Url::parse(text.trim_end_matches('/')).map_err(|e| format!("base_url: {e}"))?,
    };
    Ok(Some(VertexFile {
        secret: Secret::Managed(Arc::new(TokenSource::ServiceAccount {
            key,
            scope: CLOUD_PLATFORM_SCOPE.into(),
        })),
        base_url,
        target,
    }))
}

/// A trimmed string field, empty when absent or not a string.
fn text<'a>(metadata: &'a Map<String, Value>, key: &str) -> &'a str {
    metadata
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
}

/// An auth file made from a service-account key, ready to write.
#[derive(Clone)]
pub(crate) struct ImportedKey {
    /// `vertex-<project>.json`.
    pub file_name: String,
    /// The file's JSON.
    pub bytes: Vec<u8>,
    /// The key's project.
    pub project_id: String,
    /// The key's `client_email`.
    pub email: String,
    /// The location written.
    pub location: String,
}

impl std::fmt::Debug for ImportedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedKey")
            .field("file_name", &self.file_name)
            .field("project_id", &self.project_id)
            .field("email", &self.email)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// Makes the auth file of the Google JSON key `key_json`, for `location` (default
/// `us-central1`) and `prefix`. The error names the problem and never quotes the key.
pub(crate) fn import(
    key_json: &[u8],
    prefix: Option<&str>,
    location: Option<&str>,
) -> Result<ImportedKey, String> {
    // A syntax error names a position, never the text there.
    let value: Value =
        serde_json::from_slice(key_json).map_err(|e| format!("the key is not valid JSON ({e})"))?;
    if !value.is_object() {
        return Err("the key is not a JSON object".to_owned());
    }
    let location = match location.map(str::trim) {
        None | Some("") => DEFAULT_LOCATION.to_owned(),
        Some(location) => location.to_owned(),
    };
    check_location(&location)?;
    let prefix = prefix.unwrap_or("").trim().trim_matches('/');
    if prefix.contains('/') {
        return Err("prefix must not contain '/'".to_owned());
    }
    let key = ServiceAccountKey::from_json(&value)
        .map_err(|e| format!("not a usable service-account key: {e}"))?;
    let project_id = key.project_id.trim().to_owned();
    if project_id.is_empty() {
        return Err("the key has no project_id".to_owned());
    }
    let mut file = json!({
        "type": "vertex",
        "service_account": value,
        "project_id": project_id,
        "email": key.client_email,
        "location": location,
    });
    if !prefix.is_empty() {
        file["prefix"] = json!(prefix);
    }
    Ok(ImportedKey {
        file_name: format!("vertex-{}.json", file_part(&project_id)),
        bytes: serde_json::to_vec_pretty(&file).expect("JSON values serialize"),
        email: key.client_email.clone(),
        project_id,
        location,
    })
}

/// `text` as part of a file name: characters other than ASCII letters, digits, `-` and `_`
/// become `-` (a domain-scoped project id such as `example.com:p` has `.` and `:`).
fn file_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::file_store::parse_file;
    use std::path::Path;

    /// The test-only service-account key (`tests/fixtures/oauth`).
    const KEY: &str = include_str!("../../../tests/fixtures/oauth/service-account.json");

    fn key() -> Value {
        serde_json::from_str(KEY).unwrap()
    }

    fn parse(file: Value) -> Result<crate::credential::Credential, String> {
        parse_file(
            Path::new("/auth/vertex-x.json"),
            &serde_json::to_vec(&file).unwrap(),
        )
    }

    #[test]
    fn a_vertex_file_becomes_a_service_account_credential() {
        let c = parse(
            json!({"type": "vertex", "service_account": key(), "prefix": "team",
            "priority": 3, "email": "sa@example.test",
            "models": [{"name": "claude-sonnet-4-5@20250929", "alias": "claude-sonnet-4-5"}]}),
        )
        .unwrap();
        assert_eq!(c.provider, ProviderKind::Vertex);
        assert_eq!(
            c.vertex,
            Some(VertexTarget {
                project: "switchyard-test".into(),
                location: "us-central1".into()
            })
        );
        assert_eq!(
            c.base_url.as_str(),
            "https://us-central1-aiplatform.googleapis.com/"
        );
        let Secret::Managed(source) = &c.secret else {
            panic!("a managed token, got {:?}", c.secret);
        };
        assert_eq!(source.grant(), "jwt_bearer");
        let TokenSource::ServiceAccount { scope, .. } = &**source else {
            panic!("a service account");
        };
        assert_eq!(scope, CLOUD_PLATFORM_SCOPE);
        assert_eq!((c.prefix.as_deref(), c.priority), (Some("team"), 3));
        assert_eq!(c.models[0].name, "claude-sonnet-4-5@20250929");
        assert_eq!(c.label, "sa@example.test");
        assert!(!format!("{c:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn project_location_and_base_url_can_be_given() {
        let c = parse(json!({"type": "vertex", "service_account": key(),
            "project_id": "other", "location": "global"}))
        .unwrap();
        assert_eq!(c.vertex.as_ref().unwrap().project, "other");
        assert_eq!(c.base_url.as_str(), "https://aiplatform.googleapis.com/");
        let c = parse(json!({"type": "vertex", "service_account": key(),
            "location": "europe-west4", "base_url": "http://127.0.0.1:9/vertex/"}))
        .unwrap();
        assert_eq!(c.base_url.as_str(), "http://127.0.0.1:9/vertex");
        assert_eq!(c.vertex.unwrap().location, "europe-west4");
    }

    #[test]
    fn a_bad_key_skips_the_file_without_quoting_it() {
        let mut bad = key();
        bad["private_key"] =
            json!("-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n");
        let reason = parse(json!({"type": "vertex", "service_account": bad})).unwrap_err();
        assert!(reason.contains("service_account"), "{reason}");
        assert!(!reason.contains("U0VDUkVU"), "{reason}");
        let mut wrong = key();
        wrong["type"] = json!("authorized_user");
        assert!(parse(json!({"type": "vertex", "service_account": wrong})).is_err());
    }

    #[test]
    fn a_file_without_a_key_or_with_a_bad_location_is_skipped() {
        let reason = parse(json!({"type": "vertex", "project_id": "p"})).unwrap_err();
        assert!(reason.contains("service_account"), "{reason}");
        let reason = parse(json!({"type": "vertex", "service_account": "text"})).unwrap_err();
        assert!(reason.contains("service_account"), "{reason}");
        let reason =
            parse(json!({"type": "vertex", "service_account": {}, "location": "evil.example/x"}))
                .unwrap_err();
        assert!(reason.contains("location"), "{reason}");
    }

    #[test]
    fn an_imported_key_makes_a_file_that_reads_back() {
        let imported = import(KEY.as_bytes(), Some("/team/"), Some("global")).unwrap();
        assert_eq!(imported.file_name, "vertex-switchyard-test.json");
        assert_eq!(imported.project_id, "switchyard-test");
        assert_eq!(imported.location, "global");
        let file: Value = serde_json::from_slice(&imported.bytes).unwrap();
        assert_eq!(file["type"], "vertex");
        assert_eq!(file["service_account"], key());
        assert_eq!(file["project_id"], "switchyard-test");
        assert_eq!(file["email"], key()["client_email"]);
        assert_eq!(file["location"], "global");
        assert_eq!(file["prefix"], "team");
        assert_eq!(imported.email, key()["client_email"].as_str().unwrap());
        let c = parse(file).unwrap();
        assert_eq!(c.prefix.as_deref(), Some("team"));
        assert_eq!(c.vertex.unwrap().location, "global");
        let plain = import(KEY.as_bytes(), None, None).unwrap();
        let file: Value = serde_json::from_slice(&plain.bytes).unwrap();
        assert_eq!(file["location"], DEFAULT_LOCATION);
        assert!(file.get("prefix").is_none());
        assert!(!format!("{plain:?}").contains("PRIVATE"));
    }

    #[test]
    fn an_import_refuses_what_is_not_a_key_before_reading_it() {
        let not_json = import(b"{\"private_key\": \"SECRET", None, None).unwrap_err();
        assert!(not_json.contains("not valid JSON"), "{not_json}");
        assert!(!not_json.contains("SECRET"), "{not_json}");
        let array = import(b"[1]", None, None).unwrap_err();
        assert!(array.contains("not a JSON object"), "{array}");
        let location = import(KEY.as_bytes(), None, Some("a.b")).unwrap_err();
        assert!(location.contains("location"), "{location}");
        let prefix = import(KEY.as_bytes(), Some("a/b"), None).unwrap_err();
        assert!(prefix.contains("prefix"), "{prefix}");
    }

    #[test]
    fn project_ids_become_safe_file_names() {
        assert_eq!(file_part("my-proj_1"), "my-proj_1");
        assert_eq!(file_part("example.com:proj"), "example-com-proj");
        assert_eq!(file_part("../x/y"), "---x-y");
    }
}
