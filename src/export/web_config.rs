//! `http.web_config_file`: the Prometheus exporter-toolkit web configuration (`web-config.yml`,
//! as node_exporter's `--web.config.file` reads it): TLS, basic auth users with bcrypt hashes,
//! response headers. Read at start (an invalid file stops the start, every problem named by its
//! key) and re-read when it or a file it names changes, checked at every new connection and
//! every request (exporter-toolkit re-reads it at every handshake and request).
//!
//! Invariants: no secret (a key, a password hash) is ever part of a message or a `Debug`
//! output; relative paths are taken from the file's own directory, as exporter-toolkit does;
//! a file that stops being valid fails closed (connections are refused, requests get 500)
//! until it is valid again, so a broken edit never opens the door.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde::de::IgnoredAny;
use tokio_rustls::rustls::ServerConfig;

use super::tls;

/// Why a web configuration cannot be used: each problem starts with the key at fault.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}: {}", .path.display(), .problems.join("; "))]
pub struct WebConfigError {
    pub path: PathBuf,
    pub problems: Vec<String>,
}

/// The file as written. Every key of exporter-toolkit is known: the ones socmetrics cannot
/// honour are rejected by name rather than as unknown.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct WebConfigFile {
    tls_server_config: TlsFile,
    http_server_config: HttpFile,
    basic_auth_users: BTreeMap<String, PasswordHash>,
    rate_limit: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct TlsFile {
    cert: Option<String>,
    key: Option<Secret>,
    client_ca: Option<String>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    client_allowed_sans: Option<IgnoredAny>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Vec<String>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct HttpFile {
    http2: Option<bool>,
    headers: BTreeMap<String, String>,
}

/// A string that is never shown (a private key given inline).
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(transparent)]
pub(super) struct Secret(pub(super) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A user's bcrypt hash: checked for form at load, never shown.
#[derive(Clone, Default, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(transparent)]
pub struct PasswordHash(pub(super) String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// PEM text, from a file or given inline.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Pem {
    File(PathBuf),
    Inline(Secret),
}

/// Who must show a client certificate, and whether it is checked against `client_ca_file`
/// (Go's `tls.ClientAuthType`, by exporter-toolkit's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ClientAuth {
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    const NAMES: &str = "NoClientCert, RequestClientCert, RequireAnyClientCert, \
                         VerifyClientCertIfGiven, RequireAndVerifyClientCert";

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "" | "NoClientCert" => Self::NoClientCert,
            "RequestClientCert" => Self::RequestClientCert,
            // exporter-toolkit keeps the old name for compatibility.
            "RequireAnyClientCert" | "RequireClientCert" => Self::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => Self::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => Self::RequireAndVerifyClientCert,
            _ => return None,
        })
    }

    /// Whether certificates are verified against a CA, which must then be given.
    fn verifies(self) -> bool {
        matches!(
            self,
            Self::VerifyClientCertIfGiven | Self::RequireAndVerifyClientCert
        )
    }
}

/// TLS protocol versions rustls speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum TlsVersion {
    Tls12,
    Tls13,
}

impl TlsVersion {
    fn parse(key: &str, text: &str) -> Result<Self, String> {
        match text {
            "TLS12" => Ok(Self::Tls12),
            "TLS13" => Ok(Self::Tls13),
            "TLS10" | "TLS11" => Err(format!(
                "key `{key}`: {text} is not supported: socmetrics (rustls) speaks TLS12 and \
                 TLS13 only"
            )),
            _ => Err(format!("key `{key}`: `{text}` is not one of TLS12, TLS13")),
        }
    }
}

/// `tls_server_config`, checked: what [`tls::server_config`] turns into rustls's config.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct TlsSettings {
    pub cert: Pem,
    pub key: Pem,
    pub client_auth: ClientAuth,
    pub client_ca: Option<Pem>,
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
    /// Go names of TLS 1.2 suites, in preference order; empty: rustls's defaults.
    pub cipher_suites: Vec<String>,
    pub prefer_server_cipher_suites: bool,
    /// Go names of key-exchange groups, in preference order; empty: rustls's defaults.
    pub curve_preferences: Vec<String>,
}

impl TlsSettings {
    /// The files this configuration reads: a change to any of them is a reload.
    fn files(&self) -> impl Iterator<Item = &Path> {
        [Some(&self.cert), Some(&self.key), self.client_ca.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|pem| match pem {
                Pem::File(path) => Some(path.as_path()),
                Pem::Inline(_) => None,
            })
    }
}

/// Headers exporter-toolkit lets a web config add, with the values it accepts (none listed:
/// any value).
const ALLOWED_HEADERS: [(&str, &[&str]); 5] = [
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

/// A web configuration in force: what the server and each request use.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Set when the file configures TLS: the certificates, keys and client CAs, loaded.
    pub tls: Option<Arc<ServerConfig>>,
    /// Users and their bcrypt hashes; empty: no authentication.
    pub users: BTreeMap<String, PasswordHash>,
    /// Added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl WebConfig {
    /// Reads and checks `path` and the files it names, reporting every problem at once.
    pub fn load(path: &Path) -> Result<Self, WebConfigError> {
        read(path).1
    }
}

/// Reads `path` and the files it names, with the stamps of each taken before it was read (a
/// change while reading is then seen at the next check).
fn read(path: &Path) -> (Vec<(PathBuf, Stamp)>, Result<WebConfig, WebConfigError>) {
    let error = |problems: Vec<String>| WebConfigError {
        path: path.to_owned(),
        problems,
    };
    let mut stamps = vec![(path.to_owned(), stamp(path))];
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            return (
                stamps,
                Err(error(vec![format!("cannot read the file: {e}")])),
            );
        }
    };
    let parsed = match parse(&text, path.parent().unwrap_or(Path::new(""))) {
        Ok(parsed) => parsed,
        Err(problems) => return (stamps, Err(error(problems))),
    };
    let tls = match parsed.tls {
        Some(settings) => {
            stamps.extend(settings.files().map(|f| (f.to_owned(), stamp(f))));
            match tls::server_config(&settings) {
                Ok(config) => Some(Arc::new(config)),
                Err(problems) => return (stamps, Err(error(problems))),
            }
        }
        None => None,
    };
    let config = WebConfig {
        tls,
        users: parsed.users,
        headers: parsed.headers,
    };
    (stamps, Ok(config))
}

/// A checked file, before its PEM files are read.
#[derive(Debug)]
pub(super) struct Parsed {
    pub tls: Option<TlsSettings>,
    pub users: BTreeMap<String, PasswordHash>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// Parses and checks the YAML text of a web config whose relative paths start at `dir`.
pub(super) fn parse(text: &str, dir: &Path) -> Result<Parsed, Vec<String>> {
    let file = deserialize(text).map_err(|e| vec![e])?;
    let mut problems = Vec::new();
    if file.rate_limit.is_some() {
        problems.push(
            "key `rate_limit`: not supported by socmetrics (its connection cap and timeouts \
             bound what a client can take)"
                .to_owned(),
        );
    }
    let tls = tls_settings(file.tls_server_config, dir, &mut problems);
    let headers = headers(&file.http_server_config, &mut problems);
    for (user, hash) in &file.basic_auth_users {
        let key = format!("basic_auth_users.{user}");
        if user.contains(':') {
            problems.push(format!(
                "key `{key}`: a user name cannot contain `:` in basic auth"
            ));
        }
        if hash.0.parse::<bcrypt::HashParts>().is_err() {
            problems.push(format!(
                "key `{key}`: not a bcrypt hash (make one with `htpasswd -nBC 10 {user}`)"
            ));
        }
    }
    if problems.is_empty() {
        Ok(Parsed {
            tls,
            users: file.basic_auth_users,
            headers,
        })
    } else {
        Err(problems)
    }
}

/// The YAML into the file's shape, the error naming the key at fault. An empty file is the
/// empty configuration.
fn deserialize(text: &str) -> Result<WebConfigFile, String> {
    if text.trim().is_empty() {
        return Ok(WebConfigFile::default());
    }
    // No snippet of the file in messages: it may hold secrets.
    let options = serde_saphyr::options! { with_snippet: false };
    let mut key = None;
    serde_saphyr::with_deserializer_from_str_with_options(text, options, |deserializer| {
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            key = Some(e.path().to_string());
            e.into_inner()
        })
    })
    .map_err(|e| match key.as_deref() {
        Some(".") | Some("") | None => format!("not a web configuration: {e}"),
        Some(key) => format!("key `{key}`: {e}"),
    })
}

fn tls_settings(tls: TlsFile, dir: &Path, problems: &mut Vec<String>) -> Option<TlsSettings> {
    let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
    let path = |p: Option<PathBuf>| p.filter(|p| !p.as_os_str().is_empty()).map(|p| dir.join(p));
    let cert_file = path(tls.cert_file);
    let key_file = path(tls.key_file);
    let client_ca_file = path(tls.client_ca_file);
    let cert = nonempty(tls.cert);
    let key = nonempty(tls.key.map(|k| k.0));
    let client_ca = nonempty(tls.client_ca);
    let client_auth_type = nonempty(tls.client_auth_type);
    // exporter-toolkit's rule: TLS is on when any of these is set.
    let enabled = cert_file.is_some()
        || key_file.is_some()
        || client_ca_file.is_some()
        || cert.is_some()
        || key.is_some()
        || client_ca.is_some()
        || client_auth_type.is_some();
    if tls.client_allowed_sans.is_some() {
        problems.push(
            "key `tls_server_config.client_allowed_sans`: not supported by socmetrics; give \
             the allowed clients a CA of their own (client_ca_file with \
             RequireAndVerifyClientCert)"
                .to_owned(),
        );
    }
    if !enabled {
        return None;
    }
    let pem = |file: Option<PathBuf>,
               inline: Option<String>,
               name: &str,
               problems: &mut Vec<String>| {
        match (file, inline) {
            (Some(_), Some(_)) => {
                problems.push(format!(
                    "key `tls_server_config.{name}_file`: give either {name}_file or {name}, not both"
                ));
                None
            }
            (Some(file), None) => Some(Pem::File(file)),
            (None, Some(text)) => Some(Pem::Inline(Secret(text))),
            (None, None) => None,
        }
    };
    let cert = pem(cert_file, cert, "cert", problems);
    let key = pem(key_file, key, "key", problems);
    let client_ca = pem(client_ca_file, client_ca, "client_ca", problems);
    if cert.is_none() {
        problems.push("key `tls_server_config.cert_file`: missing (or cert)".to_owned());
    }
    if key.is_none() {
        problems.push("key `tls_server_config.key_file`: missing (or key)".to_owned());
    }
    let client_auth = match ClientAuth::parse(client_auth_type.as_deref().unwrap_or("")) {
        Some(auth) => auth,
        None => {
            problems.push(format!(
                "key `tls_server_config.client_auth_type`: `{}` is not one of {}",
                client_auth_type.unwrap_or_default(),
                ClientAuth::NAMES
            ));
            ClientAuth::NoClientCert
        }
    };
    if client_auth.verifies() && client_ca.is_none() {
        problems.push(format!(
            "key `tls_server_config.client_ca_file`: {client_auth:?} needs the CA that signs \
             the client certificates"
        ));
    }
    if client_auth == ClientAuth::NoClientCert && client_ca.is_some() {
        problems.push(
            "key `tls_server_config.client_auth_type`: a client CA is given but no client \
             certificate is asked for (use RequireAndVerifyClientCert)"
                .to_owned(),
        );
    }
    let mut version = |key: &str, text: Option<String>, default: TlsVersion| match nonempty(text)
        .map(|t| TlsVersion::parse(key, &t))
    {
        None => default,
        Some(Ok(version)) => version,
        Some(Err(problem)) => {
            problems.push(problem);
            default
        }
    };
    let min_version = version(
        "tls_server_config.min_version",
        tls.min_version,
        TlsVersion::Tls12,
    );
    let max_version = version(
        "tls_server_config.max_version",
        tls.max_version,
        TlsVersion::Tls13,
    );
    if min_version > max_version {
        problems.push("key `tls_server_config.min_version`: is above max_version".to_owned());
    }
    for suite in &tls.cipher_suites {
        if let Err(problem) = tls::check_cipher_suite(suite) {
            problems.push(format!("key `tls_server_config.cipher_suites`: {problem}"));
        }
    }
    for curve in &tls.curve_preferences {
        if let Err(problem) = tls::check_curve(curve) {
            problems.push(format!(
                "key `tls_server_config.curve_preferences`: {problem}"
            ));
        }
    }
    Some(TlsSettings {
        cert: cert?,
        key: key?,
        client_auth,
        client_ca,
        min_version,
        max_version,
        cipher_suites: tls.cipher_suites,
        prefer_server_cipher_suites: tls.prefer_server_cipher_suites.unwrap_or(true),
        curve_preferences: tls.curve_preferences,
    })
}

fn headers(http: &HttpFile, problems: &mut Vec<String>) -> Vec<(HeaderName, HeaderValue)> {
    // `http2` is accepted for compatibility: socmetrics serves HTTP/1.1 only.
    let _ = http.http2;
    let mut out = Vec::new();
    for (name, value) in &http.headers {
        let key = format!("http_server_config.headers.{name}");
        let Some((_, allowed)) = ALLOWED_HEADERS.iter().find(|(n, _)| n == name) else {
            let names: Vec<&str> = ALLOWED_HEADERS.iter().map(|(n, _)| *n).collect();
            problems.push(format!(
                "key `{key}`: cannot be configured (one of {})",
                names.join(", ")
            ));
            continue;
        };
        if value.is_empty() {
            continue;
        }
        if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
            problems.push(format!(
                "key `{key}`: `{value}` is not one of {}",
                allowed.join(", ")
            ));
            continue;
        }
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => out.push((name, value)),
            _ => problems.push(format!("key `{key}`: not a valid header value")),
        }
    }
    out
}

/// When a file was last written, as far as a reload needs to know.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

/// The web config file kept current: [`WebConfigSource::current`] re-reads it when it or a
/// file it names has changed since the last read (a stat of each per call, no read).
#[derive(Debug)]
pub struct WebConfigSource {
    path: PathBuf,
    /// Whether the server speaks TLS: fixed at start, a change needs a restart.
    tls: bool,
    state: Mutex<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    stamps: Vec<(PathBuf, Stamp)>,
    result: Result<Arc<WebConfig>, WebConfigError>,
}

impl WebConfigSource {
    /// Reads `path` for the first time: an error here stops the start.
    pub fn open(path: &Path) -> Result<Self, WebConfigError> {
        let loaded = Loaded::read(path, None);
        let config = loaded.result.clone()?;
        Ok(Self {
            path: path.to_owned(),
            tls: config.tls.is_some(),
            state: Mutex::new(loaded),
        })
    }

    /// Whether connections are TLS.
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// The configuration in force, re-read first if a file changed; an error while the file
    /// is invalid (logged once per change).
    pub fn current(&self) -> Result<Arc<WebConfig>, WebConfigError> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.stamps.iter().any(|(path, seen)| stamp(path) != *seen) {
            *state = Loaded::read(&self.path, Some(self.tls));
            match &state.result {
                Ok(_) => tracing::info!(path = %self.path.display(), "web config reloaded"),
                Err(error) => tracing::error!(
                    "web config invalid, refusing connections until it is fixed: {error}"
                ),
            }
        }
        state.result.clone()
    }
}

impl Loaded {
    /// Reads the file; `tls`: the mode the server runs in, which a reload cannot change.
    fn read(path: &Path, tls: Option<bool>) -> Self {
        let (stamps, result) = read(path);
        let result = result.and_then(|config| match tls {
            Some(tls) if tls != config.tls.is_some() => Err(WebConfigError {
                path: path.to_owned(),
                problems: vec![
                    "key `tls_server_config`: switching between HTTP and HTTPS needs a restart"
                        .to_owned(),
                ],
            }),
            _ => Ok(Arc::new(config)),
        });
        Self { stamps, result }
    }
}

#[cfg(test)]
pub(crate) mod tests;
