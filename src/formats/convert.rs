//! What `socmetrics convert` prints for one record, and what a fixture's expected output holds:
//! each native event as one JSON object, or the refusal as `{"rejected": reason, "detail": …}`
//! or `{"skipped": reason}`. One definition, so the fixtures check what users see.

use serde_json::{Value, json};

use super::{Format, Refusal, encode, guard, native};

/// The lines one record of `format` becomes. A native record may be an alert or a case event
/// ([`native::decode_any`]).
pub fn convert(format: Format, text: &str, limits: guard::Limits) -> Vec<Value> {
    let events = guard::check(Some(text.as_bytes()), limits)
        .map_err(Refusal::from)
        .and_then(|text| match format {
            Format::Native => native::decode_any(text)
                .map(|event| super::Events::from_buf([event]))
                .map_err(Refusal::from),
            vendor => super::decode_text(vendor, text),
        });
    match events {
        Ok(events) => events.iter().map(encode::to_value).collect(),
        Err(Refusal::Reject(rejection)) => vec![json!({
            "rejected": rejection.reason.as_str(),
            "detail": rejection.detail,
        })],
        Err(Refusal::Skip(reason)) => vec![json!({"skipped": reason.as_str()})],
    }
}
