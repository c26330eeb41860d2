//! HTTPS: rustls with the configured certificate, HTTP/2 and HTTP/1.1 by ALPN.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsConfig;
use crate::proxy::client_pool::install_crypto_provider;

/// A certificate or key that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("tls: {file}: {message}")]
pub struct TlsError {
    /// The file at fault.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

/// The acceptor for `tls`, or an error naming the file.
pub(super) fn acceptor(tls: &TlsConfig) -> Result<TlsAcceptor, TlsError> {
    install_crypto_provider();
    let error = |path: &Path, message: String| TlsError {
        file: path.display().to_string(),
        message,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert)
        .map_err(|e| error(&tls.cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| error(&tls.cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(error(&tls.cert, "no certificate in the file".to_owned()));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| error(&tls.key, e.to_string()))?;
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| error(&tls.key, e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
