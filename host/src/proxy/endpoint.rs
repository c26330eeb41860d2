//! The upstream endpoints switchyard forwards to, and their URLs per provider.

use crate::credential::{Credential, ProviderKind};
use crate::protocol::Protocol;

/// The upstream paths that do not depend on the request.
const FIXED_PATHS: &[&str] = &[
    "/v1/messages",
    "/v1/messages/count_tokens",
    "/chat/completions",
    "/responses",
];

/// One client-facing operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Endpoint {
    /// `POST /v1/chat/completions`.
    ChatCompletions,
    /// `POST /v1/responses`.
    Responses,
    /// `POST /v1/messages`.
    Messages,
    /// `POST /v1/messages/count_tokens`.
    CountTokens,
    /// `POST /v1beta/models/{model}:generateContent`.
    GeminiGenerate,
    /// `POST /v1beta/models/{model}:streamGenerateContent`.
    GeminiStream,
    /// `POST /v1beta/models/{model}:countTokens`.
    GeminiCountTokens,
}

impl Endpoint {
    /// The protocol of the endpoint.
    pub(crate) fn protocol(self) -> Protocol {
        match self {
            Endpoint::ChatCompletions => Protocol::OpenAiChat,
            Endpoint::Responses => Protocol::OpenAiResponses,
            Endpoint::Messages | Endpoint::CountTokens => Protocol::ClaudeMessages,
            Endpoint::GeminiGenerate | Endpoint::GeminiStream | Endpoint::GeminiCountTokens => {
                Protocol::Gemini
            }
        }
    }

    /// The client-facing route, for logs and usage records.
    pub(crate) fn route(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "/v1/chat/completions",
            Endpoint::Responses => "/v1/responses",
            Endpoint::Messages => "/v1/messages",
            Endpoint::CountTokens => "/v1/messages/count_tokens",
            Endpoint::GeminiGenerate => "/v1beta/models:generateContent",
            Endpoint::GeminiStream => "/v1beta/models:streamGenerateContent",
            Endpoint::GeminiCountTokens => "/v1beta/models:countTokens",
        }
    }

    /// The Gemini action for a path suffix such as `generateContent`.
    pub(crate) fn gemini_action(action: &str) -> Option<Self> {
        match action {
            "generateContent" => Some(Endpoint::GeminiGenerate),
            "streamGenerateContent" => Some(Endpoint::GeminiStream),
            "countTokens" => Some(Endpoint::GeminiCountTokens),
            _ => None,
        }
    }

    /// The upstream URL for `credential`. `sse` asks a Gemini stream for SSE framing; `stream`
    /// picks Vertex's streaming Claude action. Fixed URLs are parsed once per credential; a
    /// Gemini or Vertex URL gets the model as one encoded path segment, so no model name can
    /// change the path, query or fragment.
    pub(crate) fn upstream_url(
        self,
        credential: &Credential,
        upstream_model: &str,
        sse: bool,
        stream: bool,
    ) -> Option<url::Url> {
        match credential.provider {
            ProviderKind::Gemini => {
                return self.gemini_url(&credential.base_url, upstream_model, sse);
            }
            ProviderKind::Vertex => {
                return self.vertex_url(credential, upstream_model, sse, stream);
            }
            _ => {}
        }
        let path = self.fixed_path(credential.provider);
        credential
            .urls
            .get(&credential.base_url, FIXED_PATHS, path)
            .or_else(|| {
                let base = credential.base_url.as_str().trim_end_matches('/');
                url::Url::parse(&format!("{base}{path}")).ok()
            })
    }

    /// [`Endpoint::upstream_url`] as the `http::Uri` an HTTP client sends. A fixed URL is
    /// converted once per credential and cloned without copying after that; a Gemini or
    /// Vertex URL (it names the model) is built and converted per call.
    pub(crate) fn upstream_uri(
        self,
        credential: &Credential,
        upstream_model: &str,
        sse: bool,
        stream: bool,
    ) -> Option<http::Uri> {
        let per_call = || {
            let url = self.upstream_url(credential, upstream_model, sse, stream)?;
            http::Uri::try_from(url.as_str()).ok()
        };
        if matches!(
            credential.provider,
            ProviderKind::Gemini | ProviderKind::Vertex
        ) {
            return per_call();
        }
        let path = self.fixed_path(credential.provider);
        credential
            .urls
            .get_uri(&credential.base_url, FIXED_PATHS, path)
            .or_else(per_call)
    }

    /// The upstream path of a provider whose path does not depend on the model.
    fn fixed_path(self, provider: ProviderKind) -> &'static str {
        match (provider, self) {
            (ProviderKind::Claude, Endpoint::CountTokens) => "/v1/messages/count_tokens",
            (ProviderKind::Claude, _) => "/v1/messages",
            (_, Endpoint::ChatCompletions) => "/chat/completions",
            (_, _) => "/responses",
        }
    }

    /// The Gemini action of a Gemini endpoint.
    fn gemini_action_name(self) -> &'static str {
        match self {
            Endpoint::GeminiStream => "streamGenerateContent",
            Endpoint::GeminiCountTokens => "countTokens",
            _ => "generateContent",
        }
    }

    /// A Vertex AI URL: below the credential's publishers root (parsed once:
    /// `{base}/v1/projects/{project}/locations/{location}/publishers` for a service account,
    /// `{base}/v1/publishers` for a `vertex-api-key` entry), `google/models/{model}:{action}`
    /// for Gemini (`?alt=sse` for SSE), `anthropic/models/{model}:rawPredict` (or
    /// `:streamRawPredict`) for Claude messages, `anthropic/models/count-tokens:rawPredict` for
    /// Claude token counts.
    fn vertex_url(
        self,
        credential: &Credential,
        model: &str,
        sse: bool,
        stream: bool,
    ) -> Option<url::Url> {
        let mut url = credential.urls.publishers(|| {
            let mut root = credential.base_url.clone();
            root.set_query(None);
            root.set_fragment(None);
            {
                let mut segments = root.path_segments_mut().ok()?;
                segments.pop_if_empty().push("v1");
                if let Some(target) = &credential.vertex {
                    segments.extend(["projects", &target.project, "locations", &target.location]);
                }
                segments.push("publishers");
            }
            Some(root)
        })?;
        let last = match self {
            Endpoint::GeminiGenerate | Endpoint::GeminiStream | Endpoint::GeminiCountTokens => {
                format!("{model}:{}", self.gemini_action_name())
            }
            Endpoint::Messages if stream => format!("{model}:streamRawPredict"),
            Endpoint::Messages => format!("{model}:rawPredict"),
            Endpoint::CountTokens => "count-tokens:rawPredict".to_owned(),
            Endpoint::ChatCompletions | Endpoint::Responses => return None,
        };
        let publisher = match self.protocol() {
            Protocol::ClaudeMessages => "anthropic",
            _ => "google",
        };
        url.path_segments_mut()
            .ok()?
            .extend([publisher, "models", &last]);
        if sse && self.protocol() == Protocol::Gemini {
            url.set_query(Some("alt=sse"));
        }
        Some(url)
    }

    /// `{base}/v1beta/models/{model}:{action}[?alt=sse]`, the model pushed as one segment.
    fn gemini_url(self, base: &url::Url, model: &str, sse: bool) -> Option<url::Url> {
        let action = self.gemini_action_name();
        let mut url = base.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut().ok()?.pop_if_empty().extend([
            "v1beta",
            "models",
            &format!("{model}:{action}"),
        ]);
        if sse {
            url.set_query(Some("alt=sse"));
        }
        Some(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::testing::credential;

    fn url_of(endpoint: Endpoint, c: &Credential, model: &str, sse: bool) -> String {
        endpoint
            .upstream_url(c, model, sse, false)
            .unwrap()
            .to_string()
    }

    #[test]
    fn fixed_urls_are_cached_per_credential() {
        let c = credential("a", 0);
        let first = Endpoint::Messages
            .upstream_url(&c, "m", false, false)
            .unwrap();
        assert_eq!(first.as_str(), "http://127.0.0.1:9/v1/messages");
        assert_eq!(
            Endpoint::Messages.upstream_url(&c, "x", false, false),
            Some(first)
        );
    }

    /// Every credential shape a URL depends on: each provider, a base with a path (with and
    /// without a trailing slash), a prefixed credential, Vertex by service account and by key.
    fn url_shapes() -> Vec<Credential> {
        let mut shapes = Vec::new();
        for provider in [
            ProviderKind::Claude,
            ProviderKind::Codex,
            ProviderKind::OpenAiCompatibility,
            ProviderKind::Gemini,
        ] {
            for base in [
                "http://127.0.0.1:9",
                "http://127.0.0.1:9/v1/",
                "https://upstream.example/g",
            ] {
                let mut c = credential("a", 0);
                c.provider = provider;
                c.base_url = url::Url::parse(base).unwrap();
                shapes.push(c);
            }
        }
        let mut prefixed = credential("p", 0);
        prefixed.prefix = Some("teamA".into());
        shapes.push(prefixed);
        shapes.push(vertex("us-central1"));
        shapes.push(vertex("global"));
        let mut api_key = vertex("us-central1");
        api_key.vertex = None;
        api_key.base_url = url::Url::parse("https://vertex.example/").unwrap();
        shapes.push(api_key);
        shapes
    }

    /// The URI is the URL each request built before, for every endpoint, model shape and
    /// framing, the first time and from what was kept.
    #[test]
    fn the_upstream_uri_is_the_upstream_url() {
        let endpoints = [
            Endpoint::ChatCompletions,
            Endpoint::Responses,
            Endpoint::Messages,
            Endpoint::CountTokens,
            Endpoint::GeminiGenerate,
            Endpoint::GeminiStream,
            Endpoint::GeminiCountTokens,
        ];
        for c in url_shapes() {
            for endpoint in endpoints {
                for model in ["claude-sonnet-4", "gemini-2.5-pro", "x/../y?z#w", "m@1 b"] {
                    for (sse, stream) in [(false, false), (true, true), (false, true)] {
                        let url = endpoint.upstream_url(&c, model, sse, stream);
                        for _ in 0..2 {
                            let uri = endpoint.upstream_uri(&c, model, sse, stream);
                            assert_eq!(
                                uri.as_ref().map(ToString::to_string),
                                url.as_ref().map(|u| u.as_str().to_owned()),
                                "{:?} {} {endpoint:?} {model}",
                                c.provider,
                                c.base_url
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_kept_uri_shares_its_bytes() {
        let c = credential("a", 0);
        let first = Endpoint::Messages
            .upstream_uri(&c, "m", false, false)
            .unwrap();
        let again = Endpoint::Messages
            .upstream_uri(&c, "other", true, true)
            .unwrap();
        assert_eq!(first, again);
        assert_eq!(
            first.path_and_query().unwrap().as_str().as_ptr(),
            again.path_and_query().unwrap().as_str().as_ptr(),
            "the second is a clone of what was kept, not a new parse"
        );
    }

    #[test]
    fn urls_per_provider() {
        let mut c = credential("a", 0);
        assert_eq!(
            url_of(Endpoint::Messages, &c, "m", false),
            "http://127.0.0.1:9/v1/messages"
        );
        assert_eq!(
            url_of(Endpoint::CountTokens, &c, "m", false),
            "http://127.0.0.1:9/v1/messages/count_tokens"
        );
        c.provider = ProviderKind::Gemini;
        assert_eq!(
            url_of(Endpoint::GeminiStream, &c, "gemini-2.5-pro", true),
            "http://127.0.0.1:9/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
        c.base_url = url::Url::parse("http://127.0.0.1:9/google/").unwrap();
        assert_eq!(
            url_of(Endpoint::GeminiCountTokens, &c, "gemini-2.5-pro", false),
            "http://127.0.0.1:9/google/v1beta/models/gemini-2.5-pro:countTokens"
        );
        c.provider = ProviderKind::OpenAiCompatibility;
        c.urls = Default::default();
        c.base_url = url::Url::parse("http://127.0.0.1:9/v1/").unwrap();
        assert_eq!(
            url_of(Endpoint::ChatCompletions, &c, "m", false),
            "http://127.0.0.1:9/v1/chat/completions"
        );
        c.provider = ProviderKind::Codex;
        c.urls = Default::default();
        assert_eq!(
            url_of(Endpoint::Responses, &c, "m", false),
            "http://127.0.0.1:9/v1/responses"
        );
    }

    fn vertex(location: &str) -> Credential {
        let mut c = credential("v", 0);
        c.provider = ProviderKind::Vertex;
        let target = crate::credential::VertexTarget {
            project: "proj-1".into(),
            location: location.into(),
        };
        c.base_url = target.default_base_url().unwrap();
        c.vertex = Some(target);
        c
    }

    #[test]
    fn vertex_service_account_urls() {
        let c = vertex("us-central1");
        let root = "https://us-central1-aiplatform.googleapis.com/v1/projects/proj-1/locations/us-central1/publishers";
        let url = |endpoint: Endpoint, model: &str, sse: bool, stream: bool| {
            endpoint
                .upstream_url(&c, model, sse, stream)
                .unwrap()
                .to_string()
        };
        assert_eq!(
            url(Endpoint::GeminiGenerate, "gemini-2.5-pro", false, false),
            format!("{root}/google/models/gemini-2.5-pro:generateContent")
        );
        assert_eq!(
            url(Endpoint::GeminiStream, "gemini-2.5-pro", true, true),
            format!("{root}/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse")
        );
        assert_eq!(
            url(Endpoint::GeminiCountTokens, "gemini-2.5-pro", false, false),
            format!("{root}/google/models/gemini-2.5-pro:countTokens")
        );
        assert_eq!(
            url(
                Endpoint::Messages,
                "claude-sonnet-4-5@20250929",
                false,
                false
            ),
            format!("{root}/anthropic/models/claude-sonnet-4-5@20250929:rawPredict")
        );
        assert_eq!(
            url(
                Endpoint::Messages,
                "claude-sonnet-4-5@20250929",
                false,
                true
            ),
            format!("{root}/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict")
        );
        assert_eq!(
            url(
                Endpoint::CountTokens,
                "claude-sonnet-4-5@20250929",
                false,
                false
            ),
            format!("{root}/anthropic/models/count-tokens:rawPredict")
        );
        assert_eq!(
            Endpoint::ChatCompletions.upstream_url(&c, "m", false, false),
            None
        );
        // The model stays one segment.
        let odd = Endpoint::Messages
            .upstream_url(&c, "x/../../v2/y?z#w", false, false)
            .unwrap();
        assert_eq!(
            odd.as_str(),
            format!("{root}/anthropic/models/x%2F..%2F..%2Fv2%2Fy%3Fz%23w:rawPredict")
        );
        assert_eq!((odd.query(), odd.fragment()), (None, None));
    }

    #[test]
    fn vertex_global_base_url_and_api_key_urls() {
        let global = vertex("global");
        assert_eq!(
            Endpoint::GeminiGenerate
                .upstream_url(&global, "gemini-2.5-flash", false, false)
                .unwrap()
                .as_str(),
            "https://aiplatform.googleapis.com/v1/projects/proj-1/locations/global/publishers/google/models/gemini-2.5-flash:generateContent"
        );
        let mut custom = vertex("europe-west4");
        custom.base_url = url::Url::parse("http://127.0.0.1:9/vertex").unwrap();
        assert_eq!(
            Endpoint::Messages
                .upstream_url(&custom, "claude-x@1", false, true)
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/vertex/v1/projects/proj-1/locations/europe-west4/publishers/anthropic/models/claude-x@1:streamRawPredict"
        );
        let mut api_key = vertex("us-central1");
        api_key.vertex = None;
        api_key.base_url = url::Url::parse("https://vertex.example/").unwrap();
        assert_eq!(
            Endpoint::GeminiStream
                .upstream_url(&api_key, "gemini-2.5-pro", true, true)
                .unwrap()
                .as_str(),
            "https://vertex.example/v1/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
    }

    #[test]
    fn a_gemini_model_stays_one_segment() {
        let mut c = credential("a", 0);
        c.provider = ProviderKind::Gemini;
        let url = Endpoint::GeminiGenerate
            .upstream_url(&c, "x/../veo:predict?#", false, false)
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/v1beta/models/x%2F..%2Fveo:predict%3F%23:generateContent"
        );
        assert_eq!(url.query(), None);
        assert_eq!(url.fragment(), None);
    }

    /// Percent-decodes `text` (test helper).
    fn decode(text: &str) -> Vec<u8> {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }

    /// No model changes the upstream URL's host, path shape, query or fragment; a model that
    /// passes [`crate::model::safe_name::check`] arrives unchanged in its one segment.
    fn url_property(model: &str, base: &str, sse: bool) {
        let mut c = credential("a", 0);
        c.provider = ProviderKind::Gemini;
        c.base_url = url::Url::parse(base).unwrap();
        let base_segments = c
            .base_url
            .path_segments()
            .unwrap()
            .filter(|s| !s.is_empty())
            .count();
        for endpoint in [
            Endpoint::GeminiGenerate,
            Endpoint::GeminiStream,
            Endpoint::GeminiCountTokens,
        ] {
            let url = endpoint.upstream_url(&c, model, sse, false).unwrap();
            assert_eq!(url.host_str(), Some("127.0.0.1"));
            assert_eq!(url.fragment(), None);
            assert_eq!(url.query(), sse.then_some("alt=sse"));
            let segments: Vec<&str> = url.path_segments().unwrap().collect();
            assert_eq!(segments.len(), base_segments + 3, "{url}");
            assert_eq!(
                &segments[base_segments..base_segments + 2],
                ["v1beta", "models"]
            );
            let last = segments[base_segments + 2];
            let action = last.rsplit_once(':').unwrap().1;
            if crate::model::safe_name::check(model).is_ok() {
                assert_eq!(
                    decode(last),
                    format!("{model}:{action}").into_bytes(),
                    "{url}"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(256))]

        #[test]
        fn no_model_changes_the_url_shape(
            model in proptest::prelude::any::<String>(),
            base in proptest::sample::select(vec!["http://127.0.0.1:9", "http://127.0.0.1:9/", "http://127.0.0.1:9/g/"]),
            sse in proptest::prelude::any::<bool>(),
        ) {
            url_property(&model, base, sse);
        }

        #[test]
        fn path_like_models_keep_the_url_shape(
            model in r"[a-z./%?#\\:@ -]{0,40}",
            sse in proptest::prelude::any::<bool>(),
        ) {
            url_property(&model, "http://127.0.0.1:9/", sse);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(100_000))]

        /// The long run (`cargo test -- --ignored`), the stable stand-in for `cargo fuzz`.
        #[test]
        #[ignore = "long-running property test"]
        fn no_model_changes_the_url_shape_long(
            model in proptest::prelude::any::<String>(),
            sse in proptest::prelude::any::<bool>(),
        ) {
            url_property(&model, "http://127.0.0.1:9/g", sse);
        }
    }
}
