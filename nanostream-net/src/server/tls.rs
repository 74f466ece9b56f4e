//! TLS with rustls: loading the certificate and key, and the server-side settings.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{ServerError, TlsSettings};

/// Builds rustls's server settings from the PEM files named in `settings`.
pub(crate) fn server_config(settings: &TlsSettings) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    let certs = load_certs(&settings.cert)?;
    let key = load_key(&settings.key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Start(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServerError::Tls {
            what: "private key",
            path: settings.key.clone(),
            reason: format!("it does not match the certificate or is not usable: {e}"),
        })?;
    Ok(Arc::new(config))
}

fn open(path: &Path, what: &'static str) -> Result<BufReader<File>, ServerError> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|e| ServerError::Tls {
            what,
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ServerError> {
    let bad = |reason: String| ServerError::Tls {
        what: "certificate",
        path: path.to_path_buf(),
        reason,
    };
    let certs = rustls_pemfile::certs(&mut open(path, "certificate")?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in the file".into()));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, ServerError> {
    rustls_pemfile::private_key(&mut open(path, "private key")?)
        .map_err(|e| e.to_string())
        .and_then(|key| key.ok_or_else(|| "no PEM private key in the file".to_string()))
        .map_err(|reason| ServerError::Tls {
            what: "private key",
            path: path.to_path_buf(),
            reason,
        })
}
