//! `tls_server_config` as a rustls server configuration (ring provider): the certificate
//! chain and key (PEM, from files or inline), the client-certificate policy by Go's names,
//! TLS 1.2 and 1.3 bounds, cipher suites and curves by Go's names. HTTP/1.1 only (ALPN
//! `http/1.1`).
//!
//! Invariant: no message carries key material; a key that cannot be read is named by its
//! key and path only.

use std::sync::Arc;

use tokio_rustls::rustls::client::danger::HandshakeSignatureValid;
use tokio_rustls::rustls::crypto::{
    self, CryptoProvider, WebPkiSupportedAlgorithms, ring as provider,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
    SupportedCipherSuite, version,
};

use super::web_config::{ClientAuth, Pem, TlsSettings, TlsVersion};

/// Go's names of the TLS 1.3 suites: always on, as in Go, whatever `cipher_suites` says.
const TLS13_SUITES: [&str; 3] = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// The rustls TLS 1.2 suite of a Go cipher-suite name (Go also accepts `…_CHACHA20_POLY1305`
/// without `_SHA256`); `None` for a TLS 1.3 name.
fn tls12_suite(name: &str) -> Result<Option<SupportedCipherSuite>, String> {
    if TLS13_SUITES.contains(&name) {
        return Ok(None);
    }
    let wanted = if name.ends_with("_CHACHA20_POLY1305") {
        format!("{name}_SHA256")
    } else {
        name.to_owned()
    };
    let tls12 = || {
        provider::ALL_CIPHER_SUITES
            .iter()
            .filter(|s| matches!(s, SupportedCipherSuite::Tls12(_)))
    };
    tls12()
        .find(|s| s.suite().as_str() == Some(wanted.as_str()))
        .copied()
        .map(Some)
        .ok_or_else(|| {
            let offered: Vec<&str> = tls12().filter_map(|s| s.suite().as_str()).collect();
            format!(
                "`{name}` is not a suite socmetrics offers (TLS 1.2: {})",
                offered.join(", ")
            )
        })
}

/// Checks a Go cipher-suite name.
pub(super) fn check_cipher_suite(name: &str) -> Result<(), String> {
    tls12_suite(name).map(|_| ())
}

fn kx_group(name: &str) -> Result<&'static dyn crypto::SupportedKxGroup, String> {
    match name {
        "CurveP256" => Ok(provider::kx_group::SECP256R1),
        "CurveP384" => Ok(provider::kx_group::SECP384R1),
        "X25519" => Ok(provider::kx_group::X25519),
        "CurveP521" => Err("`CurveP521` is not supported by socmetrics (rustls, ring)".into()),
        _ => Err(format!(
            "`{name}` is not one of CurveP256, CurveP384, X25519"
        )),
    }
}

/// Checks a Go curve name.
pub(super) fn check_curve(name: &str) -> Result<(), String> {
    kx_group(name).map(|_| ())
}

/// The rustls configuration of checked settings, reading the PEM they name; the problems
/// name their keys.
pub(super) fn server_config(settings: &TlsSettings) -> Result<ServerConfig, Vec<String>> {
    let mut problems = Vec::new();
    let certs = certificates(&settings.cert, "tls_server_config.cert_file", &mut problems);
    let key = private_key(&settings.key, &mut problems);
    let client_cas = settings
        .client_ca
        .as_ref()
        .map(|pem| certificates(pem, "tls_server_config.client_ca_file", &mut problems));
    let provider = Arc::new(crypto_provider(settings));
    let verifier = client_verifier(settings.client_auth, client_cas, &provider, &mut problems);
    let (Some(certs), Some(key), Some(verifier)) = (certs, key, verifier) else {
        return Err(problems);
    };
    let versions: Vec<&'static tokio_rustls::rustls::SupportedProtocolVersion> = [
        (TlsVersion::Tls12, &version::TLS12),
        (TlsVersion::Tls13, &version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| (settings.min_version..=settings.max_version).contains(v))
    .map(|(_, supported)| supported)
    .collect();
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| vec![format!("key `tls_server_config`: {e}")])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| {
            let problem = match e {
                tokio_rustls::rustls::Error::InconsistentKeys(_) => {
                    "does not go with the certificate"
                }
                _ => "not a private key rustls can use (RSA, ECDSA or Ed25519)",
            };
            vec![format!("key `tls_server_config.key_file`: {problem}")]
        })?;
    config.ignore_client_order = settings.prefer_server_cipher_suites;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// ring's provider, narrowed to the configured suites and curves.
fn crypto_provider(settings: &TlsSettings) -> CryptoProvider {
    let mut crypto = provider::default_provider();
    if !settings.cipher_suites.is_empty() {
        let mut suites: Vec<SupportedCipherSuite> = provider::ALL_CIPHER_SUITES
            .iter()
            .filter(|s| matches!(s, SupportedCipherSuite::Tls13(_)))
            .copied()
            .collect();
        suites.extend(
            settings
                .cipher_suites
                .iter()
                .filter_map(|name| tls12_suite(name).ok().flatten()),
        );
        crypto.cipher_suites = suites;
    }
    if !settings.curve_preferences.is_empty() {
        crypto.kx_groups = settings
            .curve_preferences
            .iter()
            .filter_map(|name| kx_group(name).ok())
            .collect();
    }
    crypto
}

fn certificates(
    pem: &Pem,
    key: &str,
    problems: &mut Vec<String>,
) -> Option<Vec<CertificateDer<'static>>> {
    let (certs, origin): (Result<Vec<_>, _>, String) = match pem {
        Pem::File(path) => match std::fs::read(path) {
            Ok(bytes) => (
                CertificateDer::pem_slice_iter(&bytes).collect(),
                path.display().to_string(),
            ),
            Err(e) => {
                problems.push(format!("key `{key}`: cannot read {}: {e}", path.display()));
                return None;
            }
        },
        Pem::Inline(text) => (
            CertificateDer::pem_slice_iter(text.0.as_bytes()).collect(),
            "the inline PEM".to_owned(),
        ),
    };
    match certs {
        Ok(certs) if !certs.is_empty() => Some(certs),
        Ok(_) => {
            problems.push(format!("key `{key}`: no PEM certificate in {origin}"));
            None
        }
        Err(e) => {
            problems.push(format!(
                "key `{key}`: {origin} is not PEM certificates ({e})"
            ));
            None
        }
    }
}

/// The private key; errors say where, never what was read.
fn private_key(pem: &Pem, problems: &mut Vec<String>) -> Option<PrivateKeyDer<'static>> {
    let key = "tls_server_config.key_file";
    let parsed = match pem {
        Pem::File(path) => match std::fs::read(path) {
            Ok(bytes) => PrivateKeyDer::from_pem_slice(&bytes)
                .map_err(|_| format!("key `{key}`: no PEM private key in {}", path.display())),
            Err(e) => Err(format!(
                "key `{key}`: cannot read {}: {}",
                path.display(),
                e.kind()
            )),
        },
        Pem::Inline(text) => PrivateKeyDer::from_pem_slice(text.0.as_bytes())
            .map_err(|_| "key `tls_server_config.key`: not a PEM private key".to_owned()),
    };
    parsed.map_err(|problem| problems.push(problem)).ok()
}

fn client_verifier(
    auth: ClientAuth,
    client_cas: Option<Option<Vec<CertificateDer<'static>>>>,
    provider: &Arc<CryptoProvider>,
    problems: &mut Vec<String>,
) -> Option<Arc<dyn ClientCertVerifier>> {
    let any = |mandatory| -> Arc<dyn ClientCertVerifier> {
        Arc::new(AnyClientCert {
            mandatory,
            algorithms: provider.signature_verification_algorithms,
        })
    };
    match auth {
        ClientAuth::NoClientCert => Some(WebPkiClientVerifier::no_client_auth()),
        ClientAuth::RequestClientCert => Some(any(false)),
        ClientAuth::RequireAnyClientCert => Some(any(true)),
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert => {
            let key = "tls_server_config.client_ca_file";
            let cas = client_cas.flatten()?;
            let mut roots = RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(cas);
            if added == 0 {
                problems.push(format!("key `{key}`: no usable CA certificate"));
                return None;
            }
            let builder =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider));
            let builder = if auth == ClientAuth::VerifyClientCertIfGiven {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            builder
                .build()
                .map_err(|e| problems.push(format!("key `{key}`: {e}")))
                .ok()
        }
    }
}

/// `RequestClientCert` and `RequireAnyClientCert`: a certificate is asked for (required or
/// not) and the client must prove it holds its key, but the certificate is not checked
/// against any CA, as in Go.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, tokio_rustls::rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
