//! Lenient readers the vendor adapters share: fields found by dotted path whether the record
//! nests them (`{"kibana":{"alert":{…}}}`), flattens them (`{"kibana.alert.uuid":…}`) or mixes
//! both, and timestamps in the forms vendors write: RFC 3339 with any fraction (Sentinel's
//! seven digits), a space instead of `T`, no offset (UTC), `+0000` offsets without a colon
//! (Wazuh), and epoch seconds or milliseconds as numbers or strings (Splunk, OCSF).

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;

use super::{RejectReason, Rejection};
use crate::event::{EventTime, Severity};

/// Parses the record's text as a JSON object.
pub fn object(text: &str) -> Result<Value, Rejection> {
    let value: Value = serde_json::from_str(text).map_err(|e| Rejection::from_json(&e))?;
    if !value.is_object() {
        return Err(Rejection::new(
            RejectReason::InvalidJson,
            "record is not a JSON object",
        ));
    }
    Ok(value)
}

/// The value at a dotted `path`, nested, flattened or mixed; `None` for absent or null.
pub fn get<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let object = value.as_object()?;
    if let Some(found) = object.get(path) {
        return (!found.is_null()).then_some(found);
    }
    // Try every split at a dot: the longest flattened prefix first.
    let mut at = path.len();
    while let Some(dot) = path[..at].rfind('.') {
        if let Some(inner) = object.get(&path[..dot])
            && let Some(found) = get(inner, &path[dot + 1..])
        {
            return Some(found);
        }
        at = dot;
    }
    None
}

/// The first of `paths` that is present and not null.
pub fn first<'v>(value: &'v Value, paths: &[&str]) -> Option<&'v Value> {
    paths.iter().find_map(|path| get(value, path))
}

/// A non-empty string at `path`; numbers and booleans are given as their text (vendors write
/// ids as either).
pub fn text<'v>(value: &'v Value, path: &str) -> Option<Cow<'v, str>> {
    match get(value, path)? {
        Value::String(s) if !s.trim().is_empty() => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        _ => None,
    }
}

/// The first of `paths` that holds a non-empty string (or number).
pub fn first_text<'v>(value: &'v Value, paths: &[&str]) -> Option<Cow<'v, str>> {
    paths.iter().find_map(|path| text(value, path))
}

/// A required string: a `missing_field` rejection naming `path` otherwise.
pub fn required_text<'v>(value: &'v Value, path: &str) -> Result<Cow<'v, str>, Rejection> {
    text(value, path).ok_or_else(|| Rejection::missing(path))
}

/// An owned copy, for events that outlive the parsed value.
pub fn owned(text: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(text.into_owned())
}

/// A boolean, also written as `"true"`/`"false"` or 1/0.
pub fn flag(value: &Value, path: &str) -> Option<bool> {
    match get(value, path)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") || s == "1" => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") || s == "0" => Some(false),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        _ => None,
    }
}

/// An integer, also written as a string.
pub fn integer(value: &Value, path: &str) -> Option<i64> {
    match get(value, path)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The time at `path`, if present: a `bad_value` rejection naming the field when it is there
/// but unreadable.
pub fn time_at(value: &Value, path: &str) -> Result<Option<EventTime>, Rejection> {
    match get(value, path) {
        None => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(found) => time(found)
            .map(Some)
            .ok_or_else(|| Rejection::bad_value(format!("`{path}` = {found} is not a timestamp"))),
    }
}

/// The first of `paths` that holds a time (a present but unreadable one is a rejection).
pub fn first_time(value: &Value, paths: &[&str]) -> Result<Option<EventTime>, Rejection> {
    for path in paths {
        if let Some(at) = time_at(value, path)? {
            return Ok(Some(at));
        }
    }
    Ok(None)
}

/// A required time: `missing_field` naming the first path when none is there.
pub fn required_time(value: &Value, paths: &[&str]) -> Result<EventTime, Rejection> {
    first_time(value, paths)?.ok_or_else(|| Rejection::missing(paths[0]))
}

/// Epoch numbers below this are seconds, above it milliseconds: 10^11 s is the year 5138,
/// 10^11 ms is 1973-03-03, before any SOC event.
const SECONDS_BELOW: f64 = 1e11;

/// A vendor timestamp: see the module documentation for the forms read.
pub fn time(value: &Value) -> Option<EventTime> {
    match value {
        Value::Number(n) => epoch(n.as_f64()?),
        Value::String(s) => time_text(s.trim()),
        _ => None,
    }
}

/// Epoch seconds (possibly fractional) or milliseconds.
fn epoch(number: f64) -> Option<EventTime> {
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    let millis = if number < SECONDS_BELOW {
        number * 1000.0
    } else {
        number
    };
    // Beyond i64 milliseconds the clock bound rejects it anyway; saturate rather than wrap.
    Some(EventTime(millis.round().min(i64::MAX as f64) as i64))
}

/// A timestamp string in any of the forms vendors write.
pub fn time_text(text: &str) -> Option<EventTime> {
    if text.is_empty() {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return epoch(text.parse().ok()?);
    }
    if let Some(at) = EventTime::parse_rfc3339(text) {
        return (at.0 >= 0).then_some(at);
    }
    let normal = text.replacen(' ', "T", 1);
    for form in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%:z"] {
        if let Ok(parsed) = DateTime::parse_from_str(&normal, form) {
            return non_negative(parsed.timestamp_millis());
        }
    }
    let bare = normal.strip_suffix('Z').unwrap_or(&normal);
    NaiveDateTime::parse_from_str(bare, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .and_then(|naive| non_negative(naive.and_utc().timestamp_millis()))
}

fn non_negative(millis: i64) -> Option<EventTime> {
    (millis >= 0).then_some(EventTime(millis))
}

/// A severity word most tools use: the native five and `info`, `moderate`, `medium`,
/// `severe`, `urgent` (case-insensitive). Numeric scales are each adapter's own.
pub fn severity_word(text: &str) -> Option<Severity> {
    let word = text.trim().to_ascii_lowercase();
    Some(match word.as_str() {
        "informational" | "info" | "information" => Severity::Informational,
        "low" => Severity::Low,
        "medium" | "moderate" => Severity::Medium,
        "high" | "severe" => Severity::High,
        "critical" | "urgent" => Severity::Critical,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_are_found_nested_flattened_and_mixed() {
        let record = json!({
            "kibana.alert.uuid": "flat",
            "kibana": {"alert": {"rule": {"name": "nested"}}, "alert.severity": "mixed"},
            "none": null,
        });
        assert_eq!(text(&record, "kibana.alert.uuid").as_deref(), Some("flat"));
        assert_eq!(
            text(&record, "kibana.alert.rule.name").as_deref(),
            Some("nested")
        );
        assert_eq!(
            text(&record, "kibana.alert.severity").as_deref(),
            Some("mixed")
        );
        assert_eq!(get(&record, "none"), None);
        assert_eq!(get(&record, "kibana.alert.missing"), None);
    }

    #[test]
    fn vendor_times_are_read() {
        let at = |text: &str| time(&json!(text)).map(EventTime::millis);
        let base = 1_759_320_000_000; // 2025-10-01T12:00:00Z
        assert_eq!(at("2025-10-01T12:00:00Z"), Some(base));
        assert_eq!(at("2025-10-01T12:00:00.1234567Z"), Some(base + 123));
        assert_eq!(at("2025-10-01 12:00:00.1234567"), Some(base + 123));
        assert_eq!(at("2025-10-01T14:00:00.000+0200"), Some(base));
        assert_eq!(at("2025-10-01T12:00:00"), Some(base));
        assert_eq!(at("1759320000"), Some(base));
        assert_eq!(at("1759320000.250"), Some(base + 250));
        assert_eq!(at("1759320000000"), Some(base));
        assert_eq!(
            time(&json!(1_759_320_000)).map(EventTime::millis),
            Some(base)
        );
        assert_eq!(
            time(&json!(1_759_320_000_000_i64)).map(EventTime::millis),
            Some(base)
        );
        assert_eq!(at("yesterday"), None);
        assert_eq!(at("1969-12-31T23:59:59Z"), None);
        assert_eq!(time(&json!(-5)), None);
    }

    #[test]
    fn an_unreadable_time_names_its_field() {
        let record = json!({"a": {"t": "soon"}});
        let error = time_at(&record, "a.t").unwrap_err();
        assert_eq!(error.reason, RejectReason::BadValue);
        assert!(error.detail.contains("`a.t`"), "{}", error.detail);
        assert_eq!(time_at(&record, "a.missing"), Ok(None));
    }
}
