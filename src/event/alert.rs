//! The native alert: one detection raised by a tool (SIEM, EDR, NDR…).

use std::borrow::Cow;

use super::{EventTime, Severity};

/// One alert, borrowing its strings from the record it was decoded from where it can.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert<'a> {
    /// The tool's own id of the alert; the dedupe key.
    pub alert_id: Cow<'a, str>,
    /// When the detection fired.
    pub detected_at: EventTime,
    /// First malicious activity the alert covers, when the tool knows it.
    pub occurred_at: Option<EventTime>,
    /// The detection tool (splunk, sentinel…).
    pub source: Cow<'a, str>,
    pub rule: Option<Cow<'a, str>>,
    pub severity: Severity,
    /// The incident the alert belongs to, when the tool or a SOAR already knows it.
    pub incident_id: Option<Cow<'a, str>>,
    pub asset: Option<Cow<'a, str>>,
    pub tenant: Option<Cow<'a, str>>,
    /// Enriched by threat intelligence.
    pub threat_intel: bool,
}
