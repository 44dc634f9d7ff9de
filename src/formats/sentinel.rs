//! The `sentinel` adapter: not written yet (issue 11). Every record is skipped as unhandled.

use super::{Events, Refusal, SkipReason};

pub fn decode(_text: &str) -> Result<Events<'_>, Refusal> {
    Err(Refusal::Skip(SkipReason::UnhandledType))
}
