//! The web config as exporter-toolkit defines it: what is accepted, what is refused and how
//! the refusal names its key, that no secret reaches a message, and reloads.

use std::path::{Path, PathBuf};

use super::*;

/// A directory with a CA, a server certificate and key signed by it, removed on drop.
pub(crate) struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "socmetrics-web-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "socmetrics test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let params =
            rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let client_key = rcgen::KeyPair::generate().unwrap();
        let client = rcgen::CertificateParams::new(vec!["scraper".into()])
            .unwrap()
            .signed_by(&client_key, &issuer)
            .unwrap();
        std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
        std::fs::write(dir.join("client.pem"), client.pem()).unwrap();
        std::fs::write(dir.join("client.key"), client_key.serialize_pem()).unwrap();
        Self { dir }
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A bcrypt hash of `password` at the lowest cost (tests stay fast).
pub(crate) fn hash(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}

fn problems(text: &str) -> Vec<String> {
    parse(text, Path::new("/etc/socmetrics")).unwrap_err()
}

#[test]
fn a_complete_config_is_read_with_paths_from_its_own_directory() {
    let pki = Pki::new("complete");
    let path = pki.write(
        "web.yml",
        &format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  \
             client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}\n  \
             min_version: TLS13\n  curve_preferences: [X25519, CurveP256]\n\
             http_server_config:\n  http2: true\n  headers:\n    X-Frame-Options: deny\n    \
             Strict-Transport-Security: max-age=31536000\n    X-XSS-Protection: ''\n\
             basic_auth_users:\n  prometheus: '{}'\n",
            pki.dir.join("ca.pem").display(),
            hash("s3cret")
        ),
    );
    let parsed = parse(&std::fs::read_to_string(&path).unwrap(), &pki.dir).unwrap();
    let tls = parsed.tls.as_ref().unwrap();
    assert_eq!(tls.cert, Pem::File(pki.dir.join("server.pem")));
    assert_eq!(tls.key, Pem::File(pki.dir.join("server.key")));
    assert_eq!(tls.client_ca, Some(Pem::File(pki.dir.join("ca.pem"))));
    assert_eq!(tls.client_auth, ClientAuth::RequireAndVerifyClientCert);
    assert_eq!(
        (tls.min_version, tls.max_version),
        (TlsVersion::Tls13, TlsVersion::Tls13)
    );
    let config = WebConfig::load(&path).unwrap();
    assert!(config.tls.is_some());
    assert_eq!(
        config.users.keys().collect::<Vec<_>>(),
        ["prometheus"],
        "users"
    );
    let headers: Vec<(String, String)> = config
        .headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    // A blank header is unset, as exporter-toolkit documents.
    assert_eq!(
        headers,
        [
            (
                "strict-transport-security".into(),
                "max-age=31536000".into()
            ),
            ("x-frame-options".into(), "deny".into()),
        ]
    );
}

#[test]
fn an_empty_file_or_an_empty_tls_section_means_plain_http() {
    for text in ["", "tls_server_config: {}\n", "basic_auth_users: {}\n"] {
        let parsed = parse(text, Path::new("/")).unwrap();
        assert!(parsed.tls.is_none(), "{text:?}");
        assert!(parsed.users.is_empty());
    }
}

#[test]
fn unknown_keys_are_named_with_their_section() {
    assert_eq!(problems("tls_server_confg: {}\n").len(), 1);
    assert!(
        problems("tls_server_confg: {}\n")[0].starts_with("key `tls_server_confg`: unknown field"),
        "{:?}",
        problems("tls_server_confg: {}\n")
    );
    let nested = problems("tls_server_config:\n  cert_fil: a.pem\n");
    assert!(
        nested[0].starts_with("key `tls_server_config.cert_fil`: unknown field"),
        "{nested:?}"
    );
}

#[test]
fn tls_versions_below_1_2_are_refused_by_name() {
    let found = problems(
        "tls_server_config:\n  cert_file: a.pem\n  key_file: a.key\n  min_version: TLS10\n  max_version: TLS11\n",
    );
    assert_eq!(
        found,
        [
            "key `tls_server_config.min_version`: TLS10 is not supported: socmetrics (rustls) \
             speaks TLS12 and TLS13 only",
            "key `tls_server_config.max_version`: TLS11 is not supported: socmetrics (rustls) \
             speaks TLS12 and TLS13 only",
        ]
    );
    let inverted = problems(
        "tls_server_config:\n  cert_file: a.pem\n  key_file: a.key\n  min_version: TLS13\n  max_version: TLS12\n",
    );
    assert_eq!(
        inverted,
        ["key `tls_server_config.min_version`: is above max_version"]
    );
}

#[test]
fn client_auth_needs_a_ca_when_it_verifies_and_a_ca_needs_client_auth() {
    let base = "tls_server_config:\n  cert_file: a.pem\n  key_file: a.key\n";
    assert_eq!(
        problems(&format!(
            "{base}  client_auth_type: RequireAndVerifyClientCert\n"
        )),
        [
            "key `tls_server_config.client_ca_file`: RequireAndVerifyClientCert needs the CA \
          that signs the client certificates"
        ]
    );
    assert_eq!(
        problems(&format!("{base}  client_ca_file: ca.pem\n")),
        [
            "key `tls_server_config.client_auth_type`: a client CA is given but no client \
          certificate is asked for (use RequireAndVerifyClientCert)"
        ]
    );
    let wrong = problems(&format!("{base}  client_auth_type: Always\n"));
    assert!(
        wrong[0].starts_with("key `tls_server_config.client_auth_type`: `Always` is not one of"),
        "{wrong:?}"
    );
    for ok in [
        "NoClientCert",
        "RequestClientCert",
        "RequireAnyClientCert",
        "RequireClientCert",
    ] {
        parse(&format!("{base}  client_auth_type: {ok}\n"), Path::new("/")).unwrap();
    }
}

#[test]
fn a_tls_section_without_certificate_or_key_is_refused() {
    assert_eq!(
        problems("tls_server_config:\n  client_auth_type: NoClientCert\n"),
        [
            "key `tls_server_config.cert_file`: missing (or cert)",
            "key `tls_server_config.key_file`: missing (or key)",
        ]
    );
}

#[test]
fn keys_socmetrics_cannot_honour_are_refused_by_name() {
    let found = problems(
        "rate_limit:\n  interval: 1s\n  burst: 10\ntls_server_config:\n  client_allowed_sans: [a]\n",
    );
    assert!(
        found[0].starts_with("key `rate_limit`: not supported"),
        "{found:?}"
    );
    assert!(
        found[1].starts_with("key `tls_server_config.client_allowed_sans`: not supported"),
        "{found:?}"
    );
}

#[test]
fn cipher_suites_and_curves_by_go_names() {
    let base = "tls_server_config:\n  cert_file: a.pem\n  key_file: a.key\n";
    parse(
        &format!(
            "{base}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, \
             TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305, TLS_AES_128_GCM_SHA256]\n"
        ),
        Path::new("/"),
    )
    .unwrap();
    let cbc = problems(&format!(
        "{base}  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n"
    ));
    assert!(
        cbc[0].starts_with(
            "key `tls_server_config.cipher_suites`: `TLS_RSA_WITH_AES_128_CBC_SHA` is not a \
             suite socmetrics offers (TLS 1.2: TLS_ECDHE_"
        ),
        "{cbc:?}"
    );
    let curve = problems(&format!("{base}  curve_preferences: [CurveP521]\n"));
    assert_eq!(
        curve,
        [
            "key `tls_server_config.curve_preferences`: `CurveP521` is not supported by \
          socmetrics (rustls, ring)"
        ]
    );
}

#[test]
fn headers_are_those_exporter_toolkit_allows() {
    let found = problems(
        "http_server_config:\n  headers:\n    X-Frame-Options: allow\n    Server: socmetrics\n",
    );
    assert_eq!(
        found,
        [
            "key `http_server_config.headers.Server`: cannot be configured (one of \
             Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, \
             X-XSS-Protection, Content-Security-Policy)",
            "key `http_server_config.headers.X-Frame-Options`: `allow` is not one of deny, \
             sameorigin",
        ]
    );
}

#[test]
fn a_bad_hash_is_named_by_its_user_and_not_shown() {
    let found = problems("basic_auth_users:\n  alice: plaintext-password\n  'bob:x': ''\n");
    assert_eq!(
        found,
        [
            "key `basic_auth_users.alice`: not a bcrypt hash (make one with `htpasswd -nBC \
             10 alice`)",
            "key `basic_auth_users.bob:x`: a user name cannot contain `:` in basic auth",
            "key `basic_auth_users.bob:x`: not a bcrypt hash (make one with `htpasswd -nBC \
             10 bob:x`)",
        ]
    );
    assert!(!found.join(" ").contains("plaintext-password"));
}

#[test]
fn a_bad_key_file_is_named_without_showing_its_content() {
    let pki = Pki::new("badkey");
    pki.write(
        "bad.key",
        "-----BEGIN PRIVATE KEY-----\nSUPERSECRETBYTES\n-----END PRIVATE KEY-----\n",
    );
    let path = pki.write(
        "web.yml",
        "tls_server_config:\n  cert_file: server.pem\n  key_file: bad.key\n",
    );
    let error = WebConfig::load(&path).unwrap_err();
    let text = error.to_string();
    assert_eq!(
        error.problems,
        [
            "key `tls_server_config.key_file`: not a private key rustls can use (RSA, ECDSA or \
          Ed25519)"
        ]
    );
    assert!(!text.contains("SUPERSECRET"), "{text}");
    pki.write("bad.key", "SUPERSECRET, not PEM at all\n");
    assert_eq!(
        WebConfig::load(&path).unwrap_err().problems,
        [format!(
            "key `tls_server_config.key_file`: no PEM private key in {}",
            pki.dir.join("bad.key").display()
        )]
    );

    // A key that is not the certificate's.
    pki.write(
        "web.yml",
        "tls_server_config:\n  cert_file: server.pem\n  key_file: client.key\n",
    );
    let mismatch = WebConfig::load(&path).unwrap_err();
    assert!(
        mismatch.problems[0]
            .starts_with("key `tls_server_config.key_file`: does not go with the certificate"),
        "{mismatch:?}"
    );
    // A missing file.
    pki.write(
        "web.yml",
        "tls_server_config:\n  cert_file: nowhere.pem\n  key_file: server.key\n",
    );
    let missing = WebConfig::load(&path).unwrap_err();
    assert!(
        missing.problems[0].starts_with("key `tls_server_config.cert_file`: cannot read "),
        "{missing:?}"
    );
}

#[test]
fn an_inline_key_is_redacted_in_debug_output() {
    let hash = hash("x");
    let parsed = parse(
        &format!("tls_server_config:\n  cert: CERTTEXT\n  key: KEYTEXT\nbasic_auth_users:\n  u: '{hash}'\n"),
        Path::new("/"),
    )
    .unwrap();
    let shown = format!("{parsed:?}");
    assert!(!shown.contains("KEYTEXT"), "{shown}");
    assert!(!shown.contains(&hash[7..]), "{shown}");
    assert!(shown.contains("<redacted>"));
}

#[test]
fn a_changed_file_is_reloaded_an_invalid_one_fails_closed_until_fixed() {
    let pki = Pki::new("reload");
    let path = pki.write(
        "web.yml",
        &format!("basic_auth_users:\n  a: '{}'\n", hash("a")),
    );
    let source = WebConfigSource::open(&path).unwrap();
    assert!(!source.tls());
    assert_eq!(source.current().unwrap().users.len(), 1);

    let write = |text: &str| {
        // Another length, so that the change is seen even within the clock's resolution.
        std::fs::write(&path, text).unwrap();
    };
    write(&format!(
        "basic_auth_users:\n  a: '{}'\n  bb: '{}'\n",
        hash("a"),
        hash("b")
    ));
    assert_eq!(source.current().unwrap().users.len(), 2);
    write("basic_auth_users: [not, a, map]\n");
    let error = source.current().unwrap_err();
    assert!(
        error.problems[0].starts_with("key `basic_auth_users`"),
        "{error:?}"
    );
    assert!(source.current().is_err(), "stays refused while unchanged");
    write("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n");
    assert_eq!(
        source.current().unwrap_err().problems,
        ["key `tls_server_config`: switching between HTTP and HTTPS needs a restart"]
    );
    write("");
    assert!(source.current().unwrap().users.is_empty());
}

#[test]
fn a_replaced_certificate_is_seen() {
    let pki = Pki::new("certs");
    let path = pki.write(
        "web.yml",
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n",
    );
    let source = WebConfigSource::open(&path).unwrap();
    let first = source.current().unwrap();
    assert!(
        Arc::ptr_eq(&first, &source.current().unwrap()),
        "unchanged: not re-read"
    );
    // The files' stamps, not only the web config's, are watched.
    let key = std::fs::read_to_string(pki.dir.join("server.key")).unwrap();
    std::fs::write(pki.dir.join("server.key"), format!("{key}\n")).unwrap();
    let second = source.current().unwrap();
    assert!(
        !Arc::ptr_eq(&first, &second),
        "re-read after the key changed"
    );
    std::fs::remove_file(pki.dir.join("server.pem")).unwrap();
    assert!(source.current().is_err());
}
