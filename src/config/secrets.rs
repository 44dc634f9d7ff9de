//! `kafka.properties` values and the secrets among them (PRODUCT.md §5).
//!
//! A value may be written in place, or referenced: exactly `${env:NAME}` takes the environment
//! variable `NAME`, exactly `${file:PATH}` the content of the file at `PATH` without its trailing
//! newline (the forms Kafka's own config providers use). References are resolved when a client
//! is configured, and checked when the config is loaded.
//!
//! Redaction goes by value, not by key name: a property's value is shown only when its key is
//! known to hold nothing secret ([`HARMLESS`]); every other value, whatever the key is called
//! (`sasl.passwd` misspelt included), is printed as `<redacted>` and scrubbed from every log
//! line and error message ([`Secrets::scrub`]). A reference is shown as written: it names where
//! the secret is, not what it is.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// What a redacted value is printed as.
pub const REDACTED: &str = "<redacted>";

/// Values shorter than this are not scrubbed from text: a two-character value would mangle
/// every line, and is no secret worth the name. Such values are still never printed by
/// `check-config`.
const SHORTEST_SCRUBBED: usize = 3;

/// librdkafka properties whose values are not secret: protocols, mechanisms, user names, file
/// paths (the key material stays in the file), and tuning numbers. Any other key's value is
/// treated as a secret.
const HARMLESS: &[&str] = &[
    "acks",
    "allow.auto.create.topics",
    "api.version.request",
    "auto.commit.interval.ms",
    "auto.offset.reset",
    "batch.num.messages",
    "batch.size",
    "broker.address.family",
    "check.crcs",
    "client.id",
    "client.rack",
    "compression.codec",
    "compression.type",
    "connections.max.idle.ms",
    "debug",
    "enable.ssl.certificate.verification",
    "fetch.error.backoff.ms",
    "fetch.max.bytes",
    "fetch.message.max.bytes",
    "fetch.min.bytes",
    "fetch.queue.backoff.ms",
    "fetch.wait.max.ms",
    "heartbeat.interval.ms",
    "isolation.level",
    "linger.ms",
    "log.connection.close",
    "max.in.flight.requests.per.connection",
    "max.partition.fetch.bytes",
    "max.poll.interval.ms",
    "message.max.bytes",
    "metadata.max.age.ms",
    "queue.buffering.max.kbytes",
    "queue.buffering.max.messages",
    "queue.buffering.max.ms",
    "queued.max.messages.kbytes",
    "queued.min.messages",
    "receive.message.max.bytes",
    "reconnect.backoff.max.ms",
    "reconnect.backoff.ms",
    "request.timeout.ms",
    "retries",
    "retry.backoff.max.ms",
    "retry.backoff.ms",
    "sasl.kerberos.service.name",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.oauthbearer.method",
    "sasl.oauthbearer.scope",
    "sasl.oauthbearer.token.endpoint.url",
    "sasl.username",
    "security.protocol",
    "session.timeout.ms",
    "socket.connection.setup.timeout.ms",
    "socket.keepalive.enable",
    "socket.max.fails",
    "socket.receive.buffer.bytes",
    "socket.send.buffer.bytes",
    "socket.timeout.ms",
    "ssl.ca.location",
    "ssl.certificate.location",
    "ssl.cipher.suites",
    "ssl.crl.location",
    "ssl.curves.list",
    "ssl.endpoint.identification.algorithm",
    "ssl.key.location",
    "ssl.keystore.location",
    "ssl.sigalgs.list",
    "statistics.interval.ms",
    "topic.metadata.refresh.interval.ms",
];

/// Whether `key`'s value may be shown.
pub fn is_harmless(key: &str) -> bool {
    HARMLESS.contains(&key)
}

/// Where a property's value comes from.
#[derive(Debug, PartialEq, Eq)]
enum Source<'a> {
    Literal(&'a str),
    Env(&'a str),
    File(&'a str),
}

fn source(value: &str) -> Source<'_> {
    let reference = value
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'));
    match reference {
        Some(rest) => match (rest.strip_prefix("env:"), rest.strip_prefix("file:")) {
            (Some(name), _) if !name.is_empty() => Source::Env(name),
            (_, Some(path)) if !path.is_empty() => Source::File(path),
            _ => Source::Literal(value),
        },
        None => Source::Literal(value),
    }
}

/// Why a property's value cannot be read. Never carries the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("key `kafka.properties.{key}`: environment variable {name} is not set")]
    MissingEnv { key: String, name: String },
    #[error("key `kafka.properties.{key}`: cannot read {path}: {reason}")]
    File {
        key: String,
        path: String,
        reason: String,
    },
}

/// The value of `key` with references resolved.
pub fn resolve<'a>(key: &str, value: &'a str) -> Result<Cow<'a, str>, SecretError> {
    match source(value) {
        Source::Literal(text) => Ok(Cow::Borrowed(text)),
        Source::Env(name) => {
            std::env::var(name)
                .map(Cow::Owned)
                .map_err(|_| SecretError::MissingEnv {
                    key: key.to_owned(),
                    name: name.to_owned(),
                })
        }
        Source::File(path) => std::fs::read_to_string(path)
            .map(|text| {
                let trimmed = text.strip_suffix('\n').unwrap_or(&text);
                let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
                Cow::Owned(trimmed.to_owned())
            })
            .map_err(|error| SecretError::File {
                key: key.to_owned(),
                path: path.to_owned(),
                reason: error.kind().to_string(),
            }),
    }
}

/// Every property with its references resolved, in key order.
pub fn resolve_all(
    properties: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, SecretError> {
    properties
        .iter()
        .map(|(key, value)| Ok((key.clone(), resolve(key, value)?.into_owned())))
        .collect()
}

/// How `check-config` shows a property's value: as written when harmless or a reference,
/// else redacted.
pub fn shown(key: &str, value: &str) -> String {
    if is_harmless(key) || source(value) != Source::Literal(value) {
        value.to_owned()
    } else {
        REDACTED.to_owned()
    }
}

/// The secret values of a configuration, to be scrubbed from any text that leaves the
/// process: log lines and error messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Secrets {
    /// Longest first, so a secret containing another is scrubbed whole.
    values: Vec<String>,
}

impl Secrets {
    /// The values of every property that is not known to be harmless, resolved (a reference
    /// that cannot be resolved is left out: the load reports it; the reference itself names
    /// where the secret is, and stays readable). Each value is also scrubbed in the escaped
    /// forms a JSON log line or a quoted error message would show it in.
    pub fn of(properties: &BTreeMap<String, String>) -> Self {
        let mut values: Vec<String> = properties
            .iter()
            .filter(|(key, _)| !is_harmless(key))
            .filter_map(|(key, value)| resolve(key, value).ok().map(Cow::into_owned))
            .flat_map(|value| {
                let json = serde_json::to_string(&value).unwrap_or_default();
                let debug = format!("{value:?}");
                let unquote = |text: &str| {
                    let inner = text.strip_prefix('"').and_then(|t| t.strip_suffix('"'));
                    inner.unwrap_or(text).to_owned()
                };
                let escaped = [unquote(&json), unquote(&debug)];
                std::iter::once(value).chain(escaped)
            })
            .filter(|value| value.chars().count() >= SHORTEST_SCRUBBED)
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Self { values }
    }

    /// `text` with every secret value replaced by `<redacted>`.
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut scrubbed = Cow::Borrowed(text);
        for secret in &self.values {
            if scrubbed.contains(secret.as_str()) {
                scrubbed = Cow::Owned(scrubbed.replace(secret.as_str(), REDACTED));
            }
        }
        scrubbed
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn properties(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn references_name_the_environment_or_a_file() {
        assert_eq!(
            source("${env:KAFKA_PASSWORD}"),
            Source::Env("KAFKA_PASSWORD")
        );
        assert_eq!(
            source("${file:/run/secrets/kafka}"),
            Source::File("/run/secrets/kafka")
        );
        // Not references: kept as written.
        for text in [
            "${env:}",
            "${file:}",
            "$env:X",
            "${vault:x}",
            "pre${env:X}",
            "S3cr3t",
        ] {
            assert_eq!(source(text), Source::Literal(text), "{text}");
        }
    }

    #[test]
    fn a_file_reference_reads_the_file_without_its_newline() {
        let dir = std::env::temp_dir().join(format!("socmetrics-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("password");
        std::fs::write(&path, "S3cr3t-from-file\n").expect("write");
        let value = format!("${{file:{}}}", path.display());
        assert_eq!(
            resolve("sasl.password", &value).expect("readable"),
            "S3cr3t-from-file"
        );
        let missing = format!("${{file:{}}}", dir.join("absent").display());
        let error = resolve("sasl.password", &missing).expect_err("absent file");
        assert!(
            error
                .to_string()
                .starts_with("key `kafka.properties.sasl.password`: cannot read "),
            "{error}"
        );
    }

    #[test]
    fn a_missing_environment_variable_names_the_key_and_the_variable() {
        let error = resolve("sasl.password", "${env:SOCMETRICS_TEST_UNSET_VARIABLE_42}")
            .expect_err("unset");
        assert_eq!(
            error.to_string(),
            "key `kafka.properties.sasl.password`: environment variable \
             SOCMETRICS_TEST_UNSET_VARIABLE_42 is not set"
        );
    }

    #[test]
    fn values_are_shown_only_when_known_harmless() {
        assert_eq!(shown("security.protocol", "SASL_SSL"), "SASL_SSL");
        assert_eq!(shown("sasl.username", "soc"), "soc");
        assert_eq!(shown("sasl.password", "S3cr3t"), REDACTED);
        // A misspelt key is not known to be harmless: redacted by value.
        assert_eq!(shown("sasl.passwd", "S3cr3t"), REDACTED);
        assert_eq!(
            shown("sasl.jaas.config", "x password=\"S3cr3t\";"),
            REDACTED
        );
        assert_eq!(
            shown("sasl.password", "${env:KAFKA_PASSWORD}"),
            "${env:KAFKA_PASSWORD}"
        );
    }

    #[test]
    fn secrets_are_scrubbed_from_text_whatever_the_key() {
        let secrets = Secrets::of(&properties(&[
            ("sasl.passwd", "S3cr3t"),
            ("sasl.jaas.config", "required password=\"S3cr3t-longer\";"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.username", "soc-user"),
            ("x.short", "ab"),
        ]));
        let text = "Invalid value \"required password=\"S3cr3t-longer\";\" for \"sasl.jaas.config\"; \
                    also S3cr3t; protocol SASL_SSL user soc-user ab";
        assert_eq!(
            secrets.scrub(text),
            "Invalid value \"<redacted>\" for \"sasl.jaas.config\"; also <redacted>; \
             protocol SASL_SSL user soc-user ab"
        );
        assert!(matches!(secrets.scrub("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_referenced_secret_is_scrubbed_by_its_resolved_value() {
        let dir = std::env::temp_dir().join(format!("socmetrics-scrub-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("password");
        std::fs::write(&path, "Fr0mF1le\n").expect("write");
        let secrets = Secrets::of(&properties(&[(
            "sasl.password",
            &format!("${{file:{}}}", path.display()),
        )]));
        assert_eq!(
            secrets.scrub("auth failed for Fr0mF1le"),
            "auth failed for <redacted>"
        );
    }

    #[test]
    fn a_secret_is_scrubbed_in_its_json_and_quoted_forms() {
        let secrets = Secrets::of(&properties(&[("sasl.jaas.config", "password=\"p\\w\";")]));
        let json =
            serde_json::json!({ "message": "bad value password=\"p\\w\"; here" }).to_string();
        assert_eq!(
            secrets.scrub(&json),
            r#"{"message":"bad value <redacted> here"}"#
        );
        let quoted = format!("{:?}", "password=\"p\\w\";");
        assert_eq!(secrets.scrub(&quoted), "\"<redacted>\"");
    }
}
