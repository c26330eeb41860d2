//! The request head handed to access providers and session extractors.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use super::bindings::WitRequestHead;
use super::header_filter::{HeaderFilter, HeaderSlots};

/// What the host knows about a request before its body (the WIT record `request-head`).
///
/// Built once per request and shared by every provider and extractor; Wasm plugins receive a
/// borrowed view of it holding the header fields they asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    client_address: String,
    arrival_time_ms: u64,
    client_ip: Option<IpAddr>,
    arrival: SystemTime,
}

impl RequestHead {
    /// A head from its parts. Header names are lowercased; `query` is the raw query string
    /// without `?`; `client_ip` is the TCP peer (never a forwarding header).
    pub fn new(
        method: &str,
        path: &str,
        query: &str,
        headers: impl IntoIterator<Item = (String, String)>,
        client_ip: Option<IpAddr>,
        arrival: SystemTime,
    ) -> RequestHead {
        let arrival_time_ms = arrival
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis()
            .try_into()
            .unwrap_or(u64::MAX);
        RequestHead {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: headers
                .into_iter()
                // In place: a name that came from an `http::HeaderName` is lower case already.
                .map(|(mut name, value)| {
                    name.make_ascii_lowercase();
                    (name, value)
                })
                .collect(),
            client_address: client_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            arrival_time_ms,
            client_ip,
            arrival,
        }
    }

    /// A head from an HTTP request's parts. Header values that are not UTF-8 are converted
    /// lossily.
    pub fn from_http(
        parts: &http::request::Parts,
        client_ip: Option<IpAddr>,
        arrival: SystemTime,
    ) -> RequestHead {
        RequestHead::new(
            parts.method.as_str(),
            parts.uri.path(),
            parts.uri.query().unwrap_or(""),
            parts.headers.iter().map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            }),
            client_ip,
            arrival,
        )
    }

    /// The method in upper case.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path as received, still percent-encoded.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The raw query string without `?` (empty when there is none).
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Every header field as `(lowercase name, value)`, in arrival order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first value of header `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of query parameter `name`, form-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The TCP peer's address.
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client_ip
    }

    /// When the request arrived.
    pub fn arrival(&self) -> SystemTime {
        self.arrival
    }

    /// The WIT form handed to a plugin: borrowed from `self`, with the header fields `filter`
    /// passes (placed in `slots`).
    pub(crate) fn wit<'a>(
        &'a self,
        filter: &HeaderFilter,
        slots: &'a mut HeaderSlots<'a>,
    ) -> WitRequestHead<'a> {
        WitRequestHead {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: slots.fill(&self.headers, filter),
            client_address: &self.client_address,
            arrival_time_ms: self.arrival_time_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_lower_cased_and_values_kept() {
        let head = RequestHead::new(
            "post",
            "/v1/messages",
            "",
            [
                ("X-Api-Key".to_owned(), "Key-ABC".to_owned()),
                ("content-type".to_owned(), "application/json".to_owned()),
            ],
            None,
            SystemTime::UNIX_EPOCH,
        );
        assert_eq!(head.method(), "POST");
        assert_eq!(
            head.headers(),
            [
                ("x-api-key".to_owned(), "Key-ABC".to_owned()),
                ("content-type".to_owned(), "application/json".to_owned())
            ]
        );
        assert_eq!(head.header("X-API-KEY"), Some("Key-ABC"));
    }
}
