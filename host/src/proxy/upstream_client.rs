//! The client an upstream call goes through: hyper's own client for a credential that connects
//! directly (the hot path), reqwest for one behind an outbound proxy (HTTP, HTTPS or SOCKS5).
//! Either way the call returns one shape ([`UpstreamResponse`]) and fails with the same
//! classification: no connection is [`UpstreamError::connect`], no answer in time is
//! [`UpstreamError::timeout`].

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use http::header::ACCEPT;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls_pki_types::CertificateDer;

use super::chunk_stream::{ChunkError, ChunkStream};
use super::upstream_error::{Cause, Phase, UpstreamError};

/// How long an idle upstream connection is kept.
pub(crate) const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// TCP keepalive on upstream connections: first probe after this much silence, then one
/// every as long, [`KEEPALIVE_RETRIES`] times (what reqwest set before).
const KEEPALIVE: Duration = Duration::from_secs(15);

/// Unanswered keepalive probes before the connection is dropped.
const KEEPALIVE_RETRIES: u32 = 3;

/// hyper's client over plain TCP or rustls.
type DirectClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The client one credential's upstream calls go through; cheap to clone (the connection pool
/// is shared by the clones).
#[derive(Clone)]
pub(crate) struct UpstreamClient(Arc<Via>);

#[expect(
    clippy::large_enum_variant,
    reason = "kept once behind the client's Arc, never moved on the hot path"
)]
enum Via {
    /// No outbound proxy: hyper's client, HTTP/1.1 or HTTP/2 as ALPN decides.
    Direct(DirectClient),
    /// Through an outbound proxy.
    Proxy(reqwest::Client),
}

impl std::fmt::Debug for UpstreamClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match *self.0 {
            Via::Direct(_) => "UpstreamClient::Direct",
            Via::Proxy(_) => "UpstreamClient::Proxy",
        })
    }
}

/// An upstream's answer: its head, and its body as it arrives.
pub(crate) struct UpstreamResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: ChunkStream,
}

impl std::fmt::Debug for UpstreamResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamResponse")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl UpstreamClient {
    /// A client that connects directly, within `connect_timeout`, and verifies TLS with `tls`
    /// (see [`tls_config`]). Redirects are not followed.
    pub(crate) fn direct(connect_timeout: Duration, tls: rustls::ClientConfig) -> Self {
        let mut tcp = HttpConnector::new();
        // The TLS layer above decides the scheme: `http` and `https` URLs both pass.
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(connect_timeout));
        tcp.set_nodelay(true);
        tcp.set_keepalive(Some(KEEPALIVE));
        tcp.set_keepalive_interval(Some(KEEPALIVE));
        tcp.set_keepalive_retries(Some(KEEPALIVE_RETRIES));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        UpstreamClient(Arc::new(Via::Direct(client)))
    }

    /// A client that goes through an outbound proxy (reqwest, built by the caller).
    pub(crate) fn via_proxy(client: reqwest::Client) -> Self {
        UpstreamClient(Arc::new(Via::Proxy(client)))
    }

    /// Whether this client goes through an outbound proxy.
    #[cfg(test)]
    pub(crate) fn is_proxied(&self) -> bool {
        matches!(*self.0, Via::Proxy(_))
    }

    /// POSTs `body` with `headers` to `url` and waits for the response head. No timeout of its
    /// own beyond the connect timeout: the caller bounds the wait.
    pub(crate) async fn post(
        &self,
        url: &http::Uri,
        mut headers: HeaderMap,
        body: Bytes,
    ) -> Result<UpstreamResponse, UpstreamError> {
        // What reqwest sent by default, kept so upstreams see the same request.
        headers
            .entry(ACCEPT)
            .or_insert(HeaderValue::from_static("*/*"));
        match &*self.0 {
            Via::Direct(client) => {
                let mut request = http::Request::new(Full::new(body));
                *request.method_mut() = Method::POST;
                *request.uri_mut() = url.clone();
                *request.headers_mut() = headers;
                let response = client
                    .request(request)
                    .await
                    .map_err(|e| classify(Box::new(e)))?;
                let (head, body) = response.into_parts();
                Ok(UpstreamResponse {
                    status: head.status,
                    headers: head.headers,
                    body: Box::pin(
                        body.into_data_stream()
                            .map_err(|e| Box::new(e) as ChunkError),
                    ),
                })
            }
            Via::Proxy(client) => {
                let request = client.post(url.to_string()).headers(headers).body(body);
                let mut response = request.send().await.map_err(|e| {
                    let timed_out = e.is_timeout();
                    // reqwest names the URL in its errors: dropped, whatever its query holds.
                    failed_send(Box::new(e.without_url()), timed_out)
                })?;
                let status = response.status();
                let headers = std::mem::take(response.headers_mut());
                Ok(UpstreamResponse {
                    status,
                    headers,
                    body: Box::pin(
                        response
                            .bytes_stream()
                            .map_err(|e| Box::new(e.without_url()) as ChunkError),
                    ),
                })
            }
        }
    }
}

/// A failed send of hyper's client: a timeout anywhere in its causes (the connect timeout) is
/// [`UpstreamError::timeout`], anything else [`UpstreamError::connect`].
fn classify(error: Cause) -> UpstreamError {
    let timed_out = timed_out(&*error);
    failed_send(error, timed_out)
}

/// A send that failed with `cause`: [`UpstreamError::timeout`] when it `timed_out`, else
/// [`UpstreamError::connect`].
fn failed_send(cause: Cause, timed_out: bool) -> UpstreamError {
    if timed_out {
        UpstreamError::timeout(Phase::Head, "", Some(cause))
    } else {
        UpstreamError::connect("", Some(cause))
    }
}

/// Whether `error` or one of its causes is a timeout.
fn timed_out(error: &(dyn Error + Send + Sync + 'static)) -> bool {
    let mut next: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(error) = next {
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        if let Some(hyper) = error.downcast_ref::<hyper::Error>()
            && hyper.is_timeout()
        {
            return true;
        }
        next = error.source();
    }
    false
}

/// The TLS settings of direct upstream connections: the ring provider, the platform's
/// certificate verification (as reqwest does it) trusting the platform's roots and
/// `extra_roots`. ALPN is set by [`UpstreamClient::direct`].
pub(crate) fn tls_config(
    extra_roots: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = if extra_roots.is_empty() {
        rustls_platform_verifier::Verifier::new(provider.clone())?
    } else {
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots, provider.clone())?
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use futures_util::StreamExt;
    use http::Version;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    use hyper_util::server::conn::auto;
    use tokio::net::TcpListener;

    use super::*;
    use crate::proxy::upstream_error::UpstreamErrorKind;

    /// A self-signed certificate for `localhost` and its key.
    fn certificate() -> (CertificateDer<'static>, rustls::ServerConfig) {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = certified.cert.der().clone();
        let key = rustls_pki_types::PrivateKeyDer::try_from(certified.signing_key.serialize_der())
            .unwrap();
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        (cert, config)
    }

    /// An HTTPS server on loopback that answers every request with its HTTP version; its port.
    async fn https_server(config: rustls::ServerConfig) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let answer =
                        service_fn(|request: http::Request<hyper::body::Incoming>| async move {
                            let version = format!("{:?}", request.version());
                            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(
                                version,
                            ))))
                        });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), answer)
                        .await;
                });
            }
        });
        port
    }

    async fn read_body(mut response: UpstreamResponse) -> String {
        let mut body = Vec::new();
        while let Some(chunk) = response.body.next().await {
            body.extend_from_slice(&chunk.unwrap());
        }
        String::from_utf8(body).unwrap()
    }

    fn url(text: &str) -> http::Uri {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn https_upstreams_are_verified_against_the_trusted_roots_and_speak_h2() {
        let (cert, server) = certificate();
        let port = https_server(server).await;
        let address = url(&format!("https://localhost:{port}/v1/messages"));

        let trusting =
            UpstreamClient::direct(Duration::from_secs(5), tls_config(vec![cert]).unwrap());
        let response = trusting
            .post(&address, HeaderMap::new(), Bytes::from_static(b"{}"))
            .await
            .unwrap();
        assert_eq!(response.status, StatusCode::OK);
        // ALPN chose HTTP/2.
        assert_eq!(read_body(response).await, format!("{:?}", Version::HTTP_2));

        // Without the test root the certificate is unknown: no connection.
        let platform =
            UpstreamClient::direct(Duration::from_secs(5), tls_config(Vec::new()).unwrap());
        let error = platform
            .post(&address, HeaderMap::new(), Bytes::new())
            .await
            .unwrap_err();
        assert_eq!(error.kind, UpstreamErrorKind::Connect);
        assert!(error.detail().contains("certificate"), "{}", error.detail());
    }

    #[tokio::test]
    async fn plain_http_upstreams_speak_http1() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let answer = service_fn(|request: http::Request<hyper::body::Incoming>| async move {
                let seen = format!(
                    "{:?} {} {}",
                    request.version(),
                    request.uri(),
                    request.headers()["accept"].to_str().unwrap()
                );
                Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(seen))))
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tcp), answer)
                .await;
        });
        let client =
            UpstreamClient::direct(Duration::from_secs(5), tls_config(Vec::new()).unwrap());
        let response = client
            .post(
                &url(&format!("http://127.0.0.1:{port}/v1/chat?alt=sse")),
                HeaderMap::new(),
                Bytes::new(),
            )
            .await
            .unwrap();
        assert_eq!(read_body(response).await, "HTTP/1.1 /v1/chat?alt=sse */*");
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error_without_the_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = listener.local_addr().unwrap();
        drop(listener);
        let client =
            UpstreamClient::direct(Duration::from_secs(5), tls_config(Vec::new()).unwrap());
        let error = client
            .post(
                &url(&format!(
                    "http://{dead}/v1beta/models/m:generateContent?key=secret-key"
                )),
                HeaderMap::new(),
                Bytes::new(),
            )
            .await
            .unwrap_err();
        assert_eq!(error.kind, UpstreamErrorKind::Connect);
        let detail = error.detail();
        assert!(detail.to_lowercase().contains("refused"), "{detail}");
        assert!(!detail.contains("secret-key"), "{detail}");
    }

    #[tokio::test]
    async fn a_connect_timeout_is_a_timeout() {
        // A listener whose accept queue (one connection with a backlog of 0) is full: Linux
        // drops further SYNs, so the client's connect never completes.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(0).unwrap();
        let address = listener.local_addr().unwrap();
        let _queued = tokio::net::TcpStream::connect(address).await.unwrap();
        let client =
            UpstreamClient::direct(Duration::from_millis(100), tls_config(Vec::new()).unwrap());
        let error = client
            .post(
                &url(&format!("http://{address}/v1/messages")),
                HeaderMap::new(),
                Bytes::new(),
            )
            .await
            .unwrap_err();
        assert_eq!(
            error.kind,
            UpstreamErrorKind::Timeout(Phase::Head),
            "{}",
            error.detail()
        );
        drop(listener);
    }

    #[test]
    fn a_timeout_anywhere_in_the_causes_is_a_timeout() {
        #[derive(Debug, thiserror::Error)]
        #[error("tcp connect error")]
        struct Wrapper(#[source] std::io::Error);

        let nested = Wrapper(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "connect timed out",
        ));
        let error = classify(Box::new(nested));
        assert_eq!(error.kind, UpstreamErrorKind::Timeout(Phase::Head));
        assert_eq!(
            error.detail(),
            "upstream timed out: tcp connect error: connect timed out"
        );

        let refused = Wrapper(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(classify(Box::new(refused)).kind, UpstreamErrorKind::Connect);
    }
}
