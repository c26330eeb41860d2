//! The rule every OAuth token endpoint follows, in the config and in auth files alike: `https`,
//! or `http` only to this machine (a mock or a local sidecar), and no user info in the URL.

use url::{Host, Url};

/// Parses a token endpoint URL, or says why it is refused (the message never repeats the text,
/// which may carry a secret by mistake).
pub(crate) fn parse(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("invalid URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not carry a user name or password (use client-id and client-secret)".to_owned(),
        );
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(url.host()) => Ok(url),
        _ => Err("must be an https:// URL (http:// only to a loopback address)".to_owned()),
    }
}

fn is_loopback(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_only_to_loopback() {
        for ok in [
            "https://login.example.com/oauth2/v2.0/token",
            "http://127.0.0.1:8080/token",
            "http://127.1.2.3/token",
            "http://[::1]:9/token",
            "http://LOCALHOST/token",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        let refused = parse("http://login.example.com/token").unwrap_err();
        assert!(refused.contains("https://"), "{refused}");
        assert!(parse("http://10.0.0.1/token").is_err());
        assert!(parse("ftp://127.0.0.1/token").is_err());
        assert!(parse("not a url").unwrap_err().starts_with("invalid URL"));
    }

    #[test]
    fn user_info_is_refused_without_echoing_it() {
        let message = parse("https://client:hunter2@login.example.com/token").unwrap_err();
        assert!(message.contains("user name or password"), "{message}");
        assert!(!message.contains("hunter2"));
    }
}
