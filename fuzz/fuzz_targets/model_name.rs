//! A client's model name never changes the shape of a Gemini upstream URL, and the name check
//! never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::credential::Credential;
use switchyard::model::safe_name;
use switchyard::proxy::endpoint::Endpoint;

fuzz_target!(|model: &str| {
    let passes = safe_name::check(model).is_ok();
    let credential = Credential::from_json(
        "fuzz",
        &serde_json::json!({"type": "gemini", "api_key": "k", "base_url": "http://127.0.0.1:9/g"}),
    )
    .expect("a valid credential");
    let url = Endpoint::GeminiGenerate
        .upstream_url(&credential, model, true)
        .expect("a URL");
    assert_eq!(url.host_str(), Some("127.0.0.1"));
    assert_eq!(url.query(), Some("alt=sse"));
    assert_eq!(url.fragment(), None);
    let segments: Vec<&str> = url.path_segments().expect("a path").collect();
    assert_eq!(segments.len(), 4, "{url}");
    assert_eq!(&segments[..3], ["g", "v1beta", "models"]);
    if passes {
        assert!(!segments[3].contains('/'));
    }
});
