//! TLS to PostgreSQL, with libpq's `sslmode` meanings, so a URL that works with `psql` works
//! here: managed databases (and most hospital networks) refuse plain connections.
//!
//! | `sslmode` | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow`, `prefer` (the default) | when the server offers it | no |
//! | `require` | always | no; against `sslrootcert` if one is given (as libpq) |
//! | `verify-ca` | always | chain, against `sslrootcert` (required) |
//! | `verify-full` | always | chain and host name, against `sslrootcert` or the system's roots |
//!
//! `sslrootcert=system` (as libpq 16) means the system's roots and `verify-full`, and refuses
//! any weaker mode. Unlike libpq, `prefer` does not retry in plain text after a failed
//! handshake: a server whose TLS rustls refuses (TLS 1.1, SHA-1 signatures) needs
//! `sslmode=disable` or a better certificate.
//!
//! tokio-postgres itself knows only `disable`, `prefer` and `require`, and nothing of
//! certificates: `split` takes libpq's TLS options out of the URL before it is parsed.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use store::StoreError;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Encryption only (libpq's `prefer` and `require`): protects against listening, not
    /// against a server that pretends.
    Nothing,
    /// The chain up to a trusted root, whatever name the certificate is for (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`).
    Full,
}

/// The TLS options of one database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsPolicy {
    pub(crate) verify: Verify,
    /// `sslrootcert`: a PEM file of trusted roots; `None` for the system's.
    pub(crate) root: Option<PathBuf>,
}

/// Splits a URL (or a `key=value` connection string) into what tokio-postgres parses and the TLS
/// policy. Errors never repeat the URL, which may hold a password.
pub(crate) fn split(url: &str) -> Result<(String, TlsPolicy), StoreError> {
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    // A key=value string keeps its own text (quoted values may hold spaces): only the TLS
    // options are cut out of it. Their values never need quoting.
    let (head, options) = if is_url {
        match url.split_once('?') {
            Some((head, query)) => (head, query.split('&').collect::<Vec<_>>()),
            None => (url, Vec::new()),
        }
    } else {
        (url, url.split_whitespace().collect())
    };
    let fail = |message: String| Err(StoreError::Backend(format!("database URL: {message}")));
    let (mut mode, mut root, mut system_roots) = (None, None, false);
    let (mut kept, mut removed) = (Vec::new(), Vec::new());
    for option in options {
        let (key, value) = option.split_once('=').unwrap_or((option, ""));
        let value = if is_url { decode(value) } else { value.to_owned() };
        match key {
            "sslmode" => mode = Some(value),
            "sslrootcert" if value == "system" => system_roots = true,
            "sslrootcert" => root = Some(PathBuf::from(value)),
            "sslcert" | "sslkey" => return fail(format!("{key} (client certificates) is not supported")),
            _ => {
                kept.push(option);
                continue;
            }
        }
        removed.push(option);
    }
    // As libpq 16: `sslrootcert=system` means the system's roots, checked in full.
    let mode = match (mode, system_roots) {
        (None, true) => "verify-full".to_owned(),
        (Some(mode), true) if mode != "verify-full" => {
            return fail(format!("sslrootcert=system needs sslmode=verify-full, not {mode}"));
        }
        (mode, _) => mode.unwrap_or_else(|| "prefer".to_owned()),
    };
    let (driver_mode, verify) = match mode.as_str() {
        "disable" => ("sslmode=disable", Verify::Nothing),
        "allow" | "prefer" => ("sslmode=prefer", Verify::Nothing),
        "require" if root.is_some() => ("sslmode=require", Verify::Chain),
        "require" => ("sslmode=require", Verify::Nothing),
        // The chain without the name is only a check against roots chosen for this database:
        // against the system's, any publicly trusted certificate for any name would pass.
        "verify-ca" if root.is_none() => return fail("sslmode=verify-ca needs sslrootcert=FILE".to_owned()),
        "verify-ca" => ("sslmode=require", Verify::Chain),
        "verify-full" => ("sslmode=require", Verify::Full),
        other => {
            return fail(format!(
                "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            ));
        }
    };
    let url = if is_url {
        kept.push(driver_mode);
        format!("{head}?{}", kept.join("&"))
    } else {
        let mut text = head.to_owned();
        for option in removed {
            text = text.replacen(option, "", 1);
        }
        format!("{} {driver_mode}", text.trim())
    };
    Ok((url, TlsPolicy { verify, root }))
}

/// `%XX` escapes of a URL query value.
fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = bytes.get(i + 1..i + 3).and_then(|hex| std::str::from_utf8(hex).ok());
        match (byte, escaped.and_then(|hex| u8::from_str_radix(hex, 16).ok())) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The connector for a policy: roots are read here, once per pool, so a missing or unreadable
/// `sslrootcert` is an error at start-up, not on the first connection.
#[expect(
    deprecated,
    reason = "ring, not aws-lc (a C library to build); its one lack, post-quantum key exchange, \
              is not offered by the PostgreSQL servers of today either"
)]
pub(crate) fn connector(policy: &TlsPolicy) -> Result<MakeRustlsConnect, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Backend(format!("TLS set-up: {e}")))?;
    let algorithms = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ServerCertVerifier> = match policy.verify {
        Verify::Nothing => Arc::new(PartialCheck { check: Partial::Nothing, algorithms }),
        Verify::Chain | Verify::Full => {
            let roots = Arc::new(roots(policy.root.as_deref())?);
            let full = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| StoreError::Backend(format!("TLS set-up: {e}")))?;
            if policy.verify == Verify::Chain {
                Arc::new(PartialCheck { check: Partial::AnyName(full), algorithms })
            } else {
                full
            }
        }
    };
    let config = builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

fn roots(file: Option<&std::path::Path>) -> Result<RootCertStore, StoreError> {
    let mut store = RootCertStore::empty();
    let certificates: Vec<CertificateDer<'static>> = match file {
        Some(path) => CertificateDer::pem_file_iter(path)
            .and_then(Iterator::collect)
            .map_err(|e| StoreError::Backend(format!("sslrootcert {}: {e}", path.display())))?,
        None => rustls_native_certs::load_native_certs().certs,
    };
    let (added, _ignored) = store.add_parsable_certificates(certificates);
    if added == 0 {
        let source = file.map_or_else(|| "the system".to_owned(), |path| path.display().to_string());
        return Err(StoreError::Backend(format!("no trusted root certificates in {source}")));
    }
    Ok(store)
}

/// The checks rustls has no name for: `Nothing` (libpq's `prefer` and `require`: the connection
/// is encrypted to whoever holds the certificate's key, the certificate itself is not checked)
/// and `AnyName` (`verify-ca`: the full check, except that a certificate for another name is
/// accepted). The handshake's signature is always checked.
#[derive(Debug)]
enum Partial {
    Nothing,
    AnyName(Arc<WebPkiServerVerifier>),
}

#[derive(Debug)]
struct PartialCheck {
    check: Partial,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PartialCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Partial::AnyName(full) = &self.check else { return Ok(ServerCertVerified::assertion()) };
        match full.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(url: &str) -> (String, TlsPolicy) {
        split(url).expect("a valid URL")
    }

    #[test]
    fn libpq_modes_map_onto_the_driver_and_a_check() {
        let (url, tls) = policy("postgres://u@h/db");
        assert_eq!(url, "postgres://u@h/db?sslmode=prefer");
        assert_eq!(tls.verify, Verify::Nothing);
        let (url, tls) = policy("postgres://u@h/db?application_name=x&sslmode=verify-full");
        assert_eq!(url, "postgres://u@h/db?application_name=x&sslmode=require");
        assert_eq!(tls, TlsPolicy { verify: Verify::Full, root: None });
        let (_, tls) = policy("postgres://u@h/db?sslmode=verify-ca&sslrootcert=%2Fetc%2Fca.pem");
        assert_eq!(policy("postgres://h/db?sslrootcert=system").1, TlsPolicy { verify: Verify::Full, root: None });
        assert_eq!(tls, TlsPolicy { verify: Verify::Chain, root: Some(PathBuf::from("/etc/ca.pem")) });
        // libpq: `require` with a root file checks the chain, as `verify-ca`.
        assert_eq!(policy("postgres://h/db?sslmode=require&sslrootcert=/ca.pem").1.verify, Verify::Chain);
        assert_eq!(policy("postgres://h/db?sslmode=require").1.verify, Verify::Nothing);
        assert_eq!(policy("postgres://h/db?sslmode=disable").0, "postgres://h/db?sslmode=disable");
        let (url, tls) = policy("host=h sslmode=verify-full password='a  b' sslrootcert=/ca.pem dbname=d");
        assert_eq!(url, "host=h  password='a  b'  dbname=d sslmode=require");
        assert_eq!(tls, TlsPolicy { verify: Verify::Full, root: Some(PathBuf::from("/ca.pem")) });
    }

    #[test]
    fn unknown_modes_and_client_certificates_are_refused_without_the_password() {
        for url in [
            "postgres://u:secret@h/db?sslmode=always",
            "postgres://u:secret@h/db?sslcert=/c.pem",
            // The chain alone, against the system's roots, would accept any public certificate.
            "postgres://u:secret@h/db?sslmode=verify-ca",
            "postgres://u:secret@h/db?sslmode=require&sslrootcert=system",
        ] {
            let Err(StoreError::Backend(message)) = split(url) else { panic!("{url} was accepted") };
            assert!(!message.contains("secret"), "{message}");
        }
    }

    #[test]
    fn a_missing_root_file_is_an_error_at_set_up() {
        let policy = TlsPolicy { verify: Verify::Full, root: Some(PathBuf::from("/nonexistent/ca.pem")) };
        let Err(StoreError::Backend(message)) = connector(&policy) else { panic!("accepted a missing root file") };
        assert!(message.contains("/nonexistent/ca.pem"), "{message}");
    }
}
