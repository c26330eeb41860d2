//! `GET /config` (the running config as JSON) and `GET`/`PUT /config.yaml` (the file itself).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderValue, header};
use serde_json::{Map, Value, json};

use super::{Management, ManagementError};
use crate::config::{
    self, Config, InstanceConfig, ModelAlias, OpenAiCompatConfig, ProviderKeyConfig, ProxyUrl,
    SessionStoreConfig, go_duration,
};

/// The config routes.
pub(crate) fn routes() -> Router<Arc<Management>> {
    Router::new()
        .route("/config", get(running))
        .route("/config.yaml", get(file).put(replace))
}

/// `GET /config`: the running config, with the reference's key names. `host`, `port`,
/// `remote-management` and `auth-dir` are left out, as the reference does.
async fn running(State(management): State<Arc<Management>>) -> Json<Value> {
    Json(config_json(&management.runtime.generation().config))
}

/// `GET /config.yaml`: the file's bytes.
async fn file(State(management): State<Arc<Management>>) -> Result<Response, ManagementError> {
    let text = management.config_text().await?;
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// `PUT /config.yaml`: the body replaces the file once it parses as YAML (else 400
/// `invalid_yaml`) and loads as a config (else 422 `invalid_config`); it is applied before the
/// answer `{"ok":true,"changed":["config"]}`. A refusal names the 1-based `line` and `column`
/// and the `key` path when they are known.
async fn replace(
    State(management): State<Arc<Management>>,
    body: Bytes,
) -> Result<Response, ManagementError> {
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| ManagementError::InvalidYaml("the body is not UTF-8".into()))?;
    let file = management.config_path()?.display().to_string();
    config::check_syntax(&text, &file).map_err(ManagementError::Config)?;
    management.replace_config(text).await?;
    Ok(Json(json!({ "ok": true, "changed": ["config"] })).into_response())
}

/// The running config as JSON.
pub(crate) fn config_json(config: &Config) -> Value {
    json!({
        "debug": config.debug,
        "log-format": config.log_format.as_str(),
        "usage-statistics-enabled": config.usage_statistics_enabled,
        "proxy-url": proxy_url(config.proxy_url.as_ref()),
        "passthrough-headers": config.passthrough_headers,
        "request-retry": config.retry.request_retry,
        "max-retry-credentials": config.retry.max_retry_credentials,
        "max-retry-interval": config.retry.max_retry_interval.as_secs(),
        "max-cooldowns-per-request": config.retry.max_cooldowns_per_request,
        "disable-cooling": config.disable_cooling,
        "allow-unauthenticated": config.allow_unauthenticated,
        "api-keys": config.api_keys,
        "tls": {
            "enable": config.tls.enable,
            "cert": config.tls.cert.display().to_string(),
            "key": config.tls.key.display().to_string(),
        },
        "routing": {
            "strategy": config.routing.strategy.as_str(),
            "session-affinity": config.routing.session_affinity,
            "session-affinity-ttl": go_duration::format_seconds(config.routing.session_affinity_ttl.as_secs()),
            "session-extractors": config.routing.session_extractors.iter().map(instance).collect::<Vec<_>>(),
            "session-store": match &config.routing.session_store {
                SessionStoreConfig::Memory => "memory".to_owned(),
                SessionStoreConfig::Redis(url) => url.clone(),
            },
            "session-store-prefix": config.routing.session_store_prefix,
        },
        "streaming": {
            "keepalive-seconds": config.streaming.keepalive.map_or(0, |k| k.as_secs()),
            "bootstrap-retries": config.streaming.bootstrap_retries,
        },
        "claude-api-key": config.claude_keys.iter().map(provider_key).collect::<Vec<_>>(),
        "codex-api-key": config.codex_keys.iter().map(provider_key).collect::<Vec<_>>(),
        "gemini-api-key": config.gemini_keys.iter().map(provider_key).collect::<Vec<_>>(),
        "vertex-api-key": config.vertex_keys.iter().map(provider_key).collect::<Vec<_>>(),
        "openai-compatibility": config.openai_compatibility.iter().map(compat).collect::<Vec<_>>(),
        "auth": {
            "providers": config.access_providers.iter().map(instance).collect::<Vec<_>>(),
        },
        "plugins": {
            "enabled": config.plugins.enabled,
            "dir": config.plugins.dir.display().to_string(),
            "cache-dir": config.plugins.cache_dir.display().to_string(),
            "limits": {
                "deadline-ms": config.plugins.limits.deadline.as_millis() as u64,
                "memory-mib": config.plugins.limits.memory_bytes >> 20,
            },
        },
        "body-limit-mb": config.body_limit_bytes >> 20,
        "upstream-timeouts": {
            "connect-ms": config.upstream_timeouts.connect.as_millis() as u64,
            "first-byte-ms": config.upstream_timeouts.first_byte.as_millis() as u64,
            "idle-ms": config.upstream_timeouts.idle.as_millis() as u64,
        },
        "cors": { "allow-origins": config.cors.allow_origins },
    })
}

fn proxy_url(url: Option<&ProxyUrl>) -> String {
    match url {
        None => String::new(),
        Some(ProxyUrl::Direct) => "direct".to_owned(),
        Some(ProxyUrl::Via(url)) => url.to_string(),
    }
}

fn headers(headers: &[(http::HeaderName, HeaderValue)]) -> Value {
    Value::Object(
        headers
            .iter()
            .map(|(name, value)| {
                (
                    name.to_string(),
                    json!(String::from_utf8_lossy(value.as_bytes())),
                )
            })
            .collect::<Map<_, _>>(),
    )
}

fn models(models: &[ModelAlias]) -> Value {
    models
        .iter()
        .map(|m| json!({ "name": m.name, "alias": m.alias }))
        .collect()
}

fn provider_key(entry: &ProviderKeyConfig) -> Value {
    json!({
        "api-key": entry.api_key,
        "base-url": entry.base_url.as_ref().map(|u| u.to_string()).unwrap_or_default(),
        "prefix": entry.prefix.clone().unwrap_or_default(),
        "headers": headers(&entry.headers),
        "models": models(&entry.models),
        "excluded-models": entry.excluded_models,
        "priority": entry.priority,
        "weight": entry.weight,
        "proxy-url": proxy_url(entry.proxy_url.as_ref()),
    })
}

fn compat(entry: &OpenAiCompatConfig) -> Value {
    json!({
        "name": entry.name,
        "base-url": entry.base_url.to_string(),
        "prefix": entry.prefix.clone().unwrap_or_default(),
        "headers": headers(&entry.headers),
        "api-key-entries": entry.api_key_entries.iter().map(|k| {
            let mut key = json!({
                "api-key": k.api_key,
                "proxy-url": proxy_url(k.proxy_url.as_ref()),
            });
            if let Some(weight) = k.weight {
                key["weight"] = json!(weight);
            }
            key
        }).collect::<Vec<_>>(),
        "models": models(&entry.models),
        "excluded-models": entry.excluded_models,
        "priority": entry.priority,
        "weight": entry.weight,
    })
}

fn instance(instance: &InstanceConfig) -> Value {
    json!({ "name": instance.name, "type": instance.kind, "config": instance.settings })
}
