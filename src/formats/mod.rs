//! Records → events. Every record first passes the [`guard`] (size, UTF-8, depth), then the
//! decoder of its input's [`Format`], one file per format behind the one `match` of [`decode`].
//! A decoder makes zero or more native events of a record, of any kinds. A record that cannot
//! become events is a [`Rejection`] value, never an error that stops anything: the pipeline
//! counts it, logs it and dead-letters it.

pub mod guard;
pub mod native;

use std::fmt;

use smallvec::SmallVec;

use crate::event::Event;
use crate::source::Record;

/// The events of one record: one inline (the common case, no allocation), more on the heap.
pub type Events<'a> = SmallVec<[Event<'a>; 1]>;

/// The wire format of an input (PRODUCT.md §6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// socmetrics' own JSON (PRODUCT.md §1): the topic's role says which event it holds.
    #[default]
    Native,
}

/// Decodes one record of `format`: its events, or why it has none.
pub fn decode<'a>(
    format: Format,
    record: &Record<'a>,
    limits: guard::Limits,
) -> Result<Events<'a>, Rejection> {
    match format {
        Format::Native => native::decode(record, limits),
    }
}

/// Why a record was rejected: the `reason` label of `soc_events_rejected_total` and the
/// `socmetrics.reason` header of its dead letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// Larger than `limits.max_record_bytes`; rejected unread.
    TooLarge,
    /// Not valid UTF-8, so not JSON.
    InvalidUtf8,
    /// Nested deeper than `limits.max_depth`.
    TooDeep,
    /// Not JSON, not a JSON object, or an empty (null) record.
    InvalidJson,
    /// A required field is absent or null.
    MissingField,
    /// A field has the wrong type or an invalid value (timestamp, severity…).
    BadValue,
    /// A duration came out negative (its ends disagree): clamped to 0 and counted.
    ClockSkew,
}

impl RejectReason {
    pub const ALL: [RejectReason; 7] = [
        RejectReason::TooLarge,
        RejectReason::InvalidUtf8,
        RejectReason::TooDeep,
        RejectReason::InvalidJson,
        RejectReason::MissingField,
        RejectReason::BadValue,
        RejectReason::ClockSkew,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::TooLarge => "too_large",
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::TooDeep => "too_deep",
            RejectReason::InvalidJson => "invalid_json",
            RejectReason::MissingField => "missing_field",
            RejectReason::BadValue => "bad_value",
            RejectReason::ClockSkew => "clock_skew",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record that did not decode: the reason (a fixed label) and a human detail for logs and
/// the dead letter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub reason: RejectReason,
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: RejectReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }

    /// Maps a serde_json error to the reason a user can act on.
    pub(crate) fn from_json(error: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let detail = error.to_string();
        let reason = match error.classify() {
            Category::Data => RejectReason::BadValue,
            Category::Syntax if detail.starts_with("recursion limit exceeded") => {
                RejectReason::TooDeep
            }
            Category::Syntax | Category::Eof | Category::Io => RejectReason::InvalidJson,
        };
        Self { reason, detail }
    }

    pub(crate) fn missing(field: &str) -> Self {
        Self::new(
            RejectReason::MissingField,
            format!("required field `{field}` is missing or null"),
        )
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}
