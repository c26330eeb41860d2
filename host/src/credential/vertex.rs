//! What a Vertex AI credential calls: the project and location of a service account, the
//! base URL they give, and which protocol a model is called in.

use url::Url;

use super::{Credential, ProviderKind};
use crate::protocol::Protocol;

/// The location a Vertex auth file without `location` uses.
pub(crate) const DEFAULT_LOCATION: &str = "us-central1";

/// The Google Cloud project and location a Vertex service account calls
/// (`{base}/v1/projects/{project}/locations/{location}/publishers/…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VertexTarget {
    /// The project id.
    pub project: String,
    /// The location (region), such as `us-central1`, or `global`.
    pub location: String,
}

impl VertexTarget {
    /// The base URL of the location's endpoint: `https://{location}-aiplatform.googleapis.com`,
    /// or `https://aiplatform.googleapis.com` for `global`; `None` when the location is not
    /// a valid one (it would change the host).
    pub fn default_base_url(&self) -> Option<Url> {
        check_location(&self.location).ok()?;
        let host = match self.location.as_str() {
            "global" => "aiplatform.googleapis.com".to_owned(),
            location => format!("{location}-aiplatform.googleapis.com"),
        };
        Url::parse(&format!("https://{host}")).ok()
    }
}

/// Checks a Vertex location: it becomes part of a host name, so only lower-case letters,
/// digits and inner dashes are allowed.
pub(crate) fn check_location(location: &str) -> Result<(), String> {
    let valid = !location.is_empty()
        && location.len() <= 63
        && location
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !location.starts_with('-')
        && !location.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "location {location:?} is not a Vertex location (lower-case letters, digits and dashes, such as us-central1 or global)"
        ))
    }
}

/// Whether `model` (an upstream model name) is one of Anthropic's Claude models on Vertex.
pub(crate) fn is_claude_model(model: &str) -> bool {
    model
        .get(..7)
        .is_some_and(|head| head.eq_ignore_ascii_case("claude-"))
}

/// The protocol a Vertex credential calls `model` in: Anthropic Messages for a Claude model on
/// a service account (a `vertex-api-key` entry reaches Gemini models only), Gemini otherwise.
pub(crate) fn protocol_for(credential: &Credential, model: &str) -> Protocol {
    debug_assert_eq!(credential.provider, ProviderKind::Vertex);
    if credential.vertex.is_some() && is_claude_model(model) {
        Protocol::ClaudeMessages
    } else {
        Protocol::Gemini
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::testing::credential;

    fn target(location: &str) -> VertexTarget {
        VertexTarget {
            project: "p".to_owned(),
            location: location.to_owned(),
        }
    }

    #[test]
    fn the_base_url_follows_the_location() {
        assert_eq!(
            target("us-central1").default_base_url().unwrap().as_str(),
            "https://us-central1-aiplatform.googleapis.com/"
        );
        assert_eq!(
            target("global").default_base_url().unwrap().as_str(),
            "https://aiplatform.googleapis.com/"
        );
        assert_eq!(target("evil.example/x").default_base_url(), None);
    }

    #[test]
    fn locations_are_host_name_labels() {
        for good in ["us-central1", "global", "europe-west4"] {
            assert!(check_location(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "US-central1",
            "us.central1",
            "evil.com/x",
            "-a",
            "a-",
            "a b",
            "a@b",
        ] {
            assert!(check_location(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn claude_models_speak_messages_on_a_service_account_only() {
        let mut c = credential("v", 0);
        c.provider = ProviderKind::Vertex;
        c.vertex = Some(target("us-central1"));
        let claude = "Claude-Sonnet-4-5@20250929";
        assert!(c.speaks(Protocol::ClaudeMessages, claude));
        assert!(!c.speaks(Protocol::Gemini, claude));
        assert!(c.speaks(Protocol::Gemini, "gemini-2.5-pro"));
        assert!(!c.speaks(Protocol::ClaudeMessages, "gemini-2.5-pro"));
        assert!(!c.speaks(Protocol::OpenAiChat, "gemini-2.5-pro"));
        assert_eq!(
            c.upstream_protocol(Protocol::OpenAiChat, claude),
            Protocol::ClaudeMessages
        );
        assert_eq!(
            c.upstream_protocol(Protocol::OpenAiChat, "gemini-2.5-pro"),
            Protocol::Gemini
        );
        assert_eq!(
            c.upstream_protocol(Protocol::Gemini, claude),
            Protocol::ClaudeMessages
        );
        assert_eq!(
            c.upstream_protocol(Protocol::ClaudeMessages, "gemini-2.5-flash"),
            Protocol::Gemini
        );
        // A `vertex-api-key` entry (no project) reaches Gemini models only.
        c.vertex = None;
        assert!(!c.speaks(Protocol::ClaudeMessages, claude));
        assert_eq!(
            c.upstream_protocol(Protocol::ClaudeMessages, claude),
            Protocol::Gemini
        );
    }

    #[test]
    fn the_target_is_part_of_the_definition() {
        let mut a = credential("v", 0);
        a.provider = ProviderKind::Vertex;
        a.vertex = Some(target("us-central1"));
        let mut b = a.clone();
        assert!(a.same_definition(&b));
        b.vertex = Some(target("global"));
        assert!(!a.same_definition(&b));
    }

    #[test]
    fn other_providers_ignore_the_model() {
        let c = credential("c", 0);
        assert!(c.speaks(Protocol::ClaudeMessages, "gemini-2.5-pro"));
        assert_eq!(
            c.upstream_protocol(Protocol::Gemini, "gemini-2.5-pro"),
            Protocol::ClaudeMessages
        );
    }
}
