//! Any bytes are a parsed body or a 400, never a panic; a parsed model is replaced whole.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use switchyard::proxy::error::ProxyError;
use switchyard::proxy::request_body::RequestBody;

fuzz_target!(|data: &[u8]| {
    match RequestBody::parse(Bytes::copy_from_slice(data)) {
        Err(error) => assert!(matches!(error, ProxyError::InvalidRequest(_))),
        Ok(body) => {
            if body.model.is_some() {
                let again = RequestBody::parse(body.with_model("m")).expect("still JSON");
                assert_eq!(again.model.as_deref(), Some("m"));
            }
        }
    }
});
