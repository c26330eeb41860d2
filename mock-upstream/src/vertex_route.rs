//! The Vertex AI endpoints: Gemini and Anthropic models under a project and location, which
//! take only an access token the mock issued, and the project-less Gemini endpoint (the
//! `vertex-api-key` shape), which takes only an API key in `x-goog-api-key`.

use http::Method;

use crate::credential::Access;
use crate::protocol::{Protocol, Route, RouteError, gemini_framing};

/// The Anthropic publisher's model name for token counting.
const ANTHROPIC_COUNT_TOKENS_MODEL: &str = "count-tokens";

/// The Vertex endpoint a request is for and the credential it takes; `None` when the path is
/// not a Vertex path at all.
pub(crate) fn resolve(
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Option<Result<(Route, Access), RouteError>> {
    let rest = path.strip_prefix("/v1/")?;
    // Cheap exit for every other endpoint under `/v1/`.
    if !(rest.starts_with("projects/") || rest.starts_with("publishers/")) {
        return None;
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let (publisher, target, access) = match segments.as_slice() {
        [
            "projects",
            project,
            "locations",
            location,
            "publishers",
            publisher,
            "models",
            target,
        ] if !project.is_empty() && !location.is_empty() => {
            (*publisher, *target, Access::IssuedToken)
        }
        ["publishers", "google", "models", target] => ("google", *target, Access::GoogApiKey),
        _ => return Some(Err(RouteError::NotFound(Protocol::Gemini))),
    };
    let route = match (publisher, target.rsplit_once(':')) {
        ("google", Some((model, action))) if !model.is_empty() => {
            let model = model.to_owned();
            match action {
                "generateContent" => Route::GeminiGenerate {
                    model,
                    stream: None,
                },
                "streamGenerateContent" => Route::GeminiGenerate {
                    model,
                    stream: Some(gemini_framing(query)),
                },
                "countTokens" => Route::GeminiCountTokens { model },
                _ => return Some(Err(RouteError::NotFound(Protocol::Gemini))),
            }
        }
        ("anthropic", Some((ANTHROPIC_COUNT_TOKENS_MODEL, "rawPredict")))
            if access == Access::IssuedToken =>
        {
            Route::MessagesCountTokens
        }
        ("anthropic", Some((model, action)))
            if !model.is_empty() && access == Access::IssuedToken =>
        {
            let model = model.to_owned();
            match action {
                "rawPredict" => Route::VertexRawPredict {
                    model,
                    stream: false,
                },
                "streamRawPredict" => Route::VertexRawPredict {
                    model,
                    stream: true,
                },
                _ => return Some(Err(RouteError::NotFound(Protocol::Anthropic))),
            }
        }
        _ => return Some(Err(RouteError::NotFound(Protocol::Gemini))),
    };
    if method != Method::POST {
        return Some(Err(RouteError::MethodNotAllowed(route.protocol())));
    }
    Some(Ok((route, access)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Framing;

    const BASE: &str = "/v1/projects/p1/locations/us-east5/publishers";

    #[test]
    fn routes_the_vertex_endpoints() {
        let post = Method::POST;
        assert_eq!(
            resolve(
                &post,
                &format!("{BASE}/google/models/gemini-2.5-pro:streamGenerateContent"),
                Some("alt=sse")
            ),
            Some(Ok((
                Route::GeminiGenerate {
                    model: "gemini-2.5-pro".into(),
                    stream: Some(Framing::Sse)
                },
                Access::IssuedToken
            )))
        );
        assert_eq!(
            resolve(
                &post,
                &format!("{BASE}/anthropic/models/claude-x@20250101:streamRawPredict"),
                None
            ),
            Some(Ok((
                Route::VertexRawPredict {
                    model: "claude-x@20250101".into(),
                    stream: true
                },
                Access::IssuedToken
            )))
        );
        assert_eq!(
            resolve(
                &post,
                &format!("{BASE}/anthropic/models/count-tokens:rawPredict"),
                None
            ),
            Some(Ok((Route::MessagesCountTokens, Access::IssuedToken)))
        );
        assert_eq!(
            resolve(&post, "/v1/publishers/google/models/g:countTokens", None),
            Some(Ok((
                Route::GeminiCountTokens { model: "g".into() },
                Access::GoogApiKey
            )))
        );
        assert_eq!(
            resolve(&post, "/v1/publishers/anthropic/models/c:rawPredict", None),
            Some(Err(RouteError::NotFound(Protocol::Gemini)))
        );
        assert_eq!(
            resolve(
                &Method::GET,
                &format!("{BASE}/anthropic/models/c:rawPredict"),
                None
            ),
            Some(Err(RouteError::MethodNotAllowed(Protocol::Anthropic)))
        );
        assert_eq!(resolve(&post, "/v1/messages", None), None);
        assert_eq!(resolve(&post, "/v1/models/g:generateContent", None), None);
    }
}
