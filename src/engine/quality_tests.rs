//! Hand-computed scorecards: every ratio, zero denominators, repeats at the lookback edge,
//! overlapping analyst work, the cost model.

use super::*;
use crate::engine::incident::Incident;
use crate::event::Severity;
use crate::formats::native::{decode_alert, decode_case};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const NOW: i64 = 1_000 * DAY;

/// Builds incidents from native case events and alerts (ids interned in the given tables).
struct Fixture {
    incidents: Vec<(String, Incident)>,
    analysts: LabelValues,
    sources: LabelValues,
    root_causes: LabelValues,
}

impl Fixture {
    fn new() -> Self {
        Self {
            incidents: Vec::new(),
            analysts: LabelValues::new("analyst", 100, 64),
            sources: LabelValues::new("source", 100, 64),
            root_causes: LabelValues::new("root_cause", usize::MAX, 64),
        }
    }

    fn incident(&mut self, tenant: &str, id: &str) -> &mut Incident {
        if let Some(at) = self
            .incidents
            .iter()
            .position(|(key, _)| key == &format!("{tenant}/{id}"))
        {
            return &mut self.incidents[at].1;
        }
        self.incidents
            .push((format!("{tenant}/{id}"), Incident::new()));
        &mut self.incidents.last_mut().unwrap().1
    }

    fn case(&mut self, tenant: &str, json: &str) -> &mut Self {
        let case = decode_case(json).unwrap();
        let assignee = case.assignee.as_deref().map(|a| self.analysts.intern(a));
        let root = case
            .root_cause
            .as_deref()
            .map(|r| self.root_causes.intern(r));
        let id = case.incident_id.to_string();
        self.incident(tenant, &id)
            .apply_case(&case, &id, assignee, root);
        self
    }

    fn alert(&mut self, json: &str) -> &mut Self {
        let alert = decode_alert(json).unwrap();
        let source = self.sources.intern(&alert.source);
        let id = alert.incident_id.as_deref().unwrap().to_owned();
        let hash = crate::engine::id_hash(&alert.alert_id);
        self.incident("", &id).apply_alert(&alert, hash, source);
        self
    }

    fn compute(&self, settings: &ScorecardSettings) -> QualityCard {
        let incidents: Vec<(&str, &Incident)> = self
            .incidents
            .iter()
            .map(|(key, incident)| (key.split_once('/').unwrap().0, incident))
            .collect();
        let windows = [
            Window {
                label: "24h".into(),
                millis: DAY,
            },
            Window {
                label: "7d".into(),
                millis: 7 * DAY,
            },
        ];
        compute(
            &incidents,
            &windows,
            settings,
            &self.analysts,
            &self.sources,
            NOW,
        )
    }
}

/// The documented defaults (`Config::default()`), the one place they are written.
fn defaults() -> ScorecardSettings {
    crate::config::Config::default().engine_settings().scorecard
}

fn at(offset: i64) -> i64 {
    NOW + offset
}

#[test]
fn false_positive_ratios_count_resolutions_in_the_window_with_a_disposition() {
    let mut f = Fixture::new();
    // Resolved 1h ago as FP (2 alerts from edr), 2h ago as TP (1 alert from siem), 3h ago with
    // no disposition (not counted), and 3 days ago as FP (7d only).
    f.case("", &format!(r#"{{"incident_id":"a","at":{},"status":"resolved","severity":"high","disposition":"false_positive"}}"#, at(-HOUR)))
        .alert(&format!(r#"{{"alert_id":"a1","incident_id":"a","detected_at":{},"source":"edr","severity":"low"}}"#, at(-2 * HOUR)))
        .alert(&format!(r#"{{"alert_id":"a2","incident_id":"a","detected_at":{},"source":"edr","severity":"low"}}"#, at(-2 * HOUR)))
        .case("", &format!(r#"{{"incident_id":"b","at":{},"status":"resolved","severity":"high","disposition":"true_positive"}}"#, at(-2 * HOUR)))
        .alert(&format!(r#"{{"alert_id":"b1","incident_id":"b","detected_at":{},"source":"siem","severity":"low"}}"#, at(-3 * HOUR)))
        .case("", &format!(r#"{{"incident_id":"c","at":{},"status":"resolved","severity":"low"}}"#, at(-3 * HOUR)))
        .case("", &format!(r#"{{"incident_id":"d","at":{},"status":"resolved","severity":"high","disposition":"false_positive"}}"#, at(-3 * DAY)));
    let card = f.compute(&defaults());
    let (day, week) = (&card.per_window[0], &card.per_window[1]);
    let high = Severity::High.index();
    assert_eq!(day.false_positive[high], Ratio { num: 1, den: 2 });
    assert_eq!(day.false_positive[ALL_SLOT].value(), Some(0.5));
    assert_eq!(week.false_positive[ALL_SLOT], Ratio { num: 2, den: 3 });
    // Nothing low was resolved with a disposition: no ratio at all.
    assert_eq!(day.false_positive[Severity::Low.index()].value(), None);
    let by_source: Vec<_> = day
        .alert_false_positive
        .iter()
        .map(|(s, r)| (s.to_string(), *r))
        .collect();
    assert_eq!(
        by_source,
        [
            ("edr".to_owned(), Ratio { num: 2, den: 2 }),
            ("siem".to_owned(), Ratio { num: 0, den: 1 })
        ]
    );
}

#[test]
fn detection_escalation_and_threat_intel_ratios() {
    let mut f = Fixture::new();
    let tp = |id: &str, detection: &str, extra: &str| {
        format!(
            r#"{{"incident_id":"{id}","at":{},"status":"resolved","disposition":"true_positive","detection":"{detection}"{extra}}}"#,
            at(-HOUR)
        )
    };
    f.case("", &tp("h", "hunt", ""))
        .case("", &tp("u", "user_report", r#","tier":2"#))
        .case("", &tp("a", "alert", r#","threat_intel":true"#))
        .case("", &format!(r#"{{"incident_id":"f","at":{},"status":"escalated","disposition":"false_positive"}}"#, at(-HOUR)));
    let card = f.compute(&defaults());
    let day = &card.per_window[0];
    // True positives: hunt, user_report, alert → 2 of 3 found by the SOC.
    assert_eq!(day.detection, Ratio { num: 2, den: 3 });
    // Escalated: tier 2, status escalated → 2 of 4; threat intel 1 of 4.
    assert_eq!(day.escalation[ALL_SLOT], Ratio { num: 2, den: 4 });
    assert_eq!(
        day.escalation[crate::engine::card::UNKNOWN_SLOT],
        Ratio { num: 2, den: 4 }
    );
    assert_eq!(day.threat_intel, Ratio { num: 1, den: 4 });
    let only_alerts = ScorecardSettings {
        detected_by: [true, false, false, false],
        ..defaults()
    };
    assert_eq!(
        f.compute(&only_alerts).per_window[0].detection,
        Ratio { num: 1, den: 3 }
    );
    // An empty SOC has no ratios.
    let empty = Fixture::new().compute(&defaults());
    assert_eq!(empty.per_window[0].detection.value(), None);
    assert_eq!(empty.per_window[0].threat_intel.value(), None);
}

#[test]
fn repeats_match_an_earlier_incident_of_the_same_tenant_and_root_cause_within_the_lookback() {
    let mut f = Fixture::new();
    let lookback = 30 * DAY;
    let new = |id: &str, offset: i64, root: &str| {
        format!(
            r#"{{"incident_id":"{id}","at":{},"status":"new","root_cause":"{root}"}}"#,
            at(offset)
        )
    };
    // "phish" at −40d, then −10d (exactly 30d later: inside), then −1h.
    f.case("acme", &new("p1", -40 * DAY, "phish"))
        .case("acme", &new("p2", -10 * DAY, "phish"))
        .case("acme", &new("p3", -HOUR, "phish"))
        // "vpn" at −31d − 1ms, then −1h: 1 ms outside the lookback.
        .case("acme", &new("v1", -HOUR - lookback - 1, "vpn"))
        .case("acme", &new("v2", -HOUR, "vpn"))
        // Same root cause, other tenant: not a repeat of acme's.
        .case("globex", &new("g1", -2 * HOUR, "phish"))
        // No root cause: outside the ratio's population.
        .case(
            "acme",
            &format!(r#"{{"incident_id":"n","at":{},"status":"new"}}"#, at(-HOUR)),
        );
    let card = f.compute(&defaults());
    let (day, week) = (&card.per_window[0], &card.per_window[1]);
    // 24h: p3 (repeat), v2 (not), g1 (not) → 1 of 3.
    assert_eq!(day.repeat, Ratio { num: 1, den: 3 });
    assert_eq!(week.repeat, Ratio { num: 1, den: 3 });
    // p2 at −10d repeats p1 exactly at the lookback: visible with a 30d window.
    let incidents: Vec<(&str, &Incident)> = f
        .incidents
        .iter()
        .map(|(k, i)| (k.split_once('/').unwrap().0, i))
        .collect();
    let month = [Window {
        label: "30d".into(),
        millis: 30 * DAY,
    }];
    let card = compute(
        &incidents,
        &month,
        &defaults(),
        &f.analysts,
        &f.sources,
        NOW,
    );
    // 30d: p2 (repeat, exactly 30d after p1), p3 (repeat), v2, g1 → 2 of 4.
    assert_eq!(card.per_window[0].repeat, Ratio { num: 2, den: 4 });
}

#[test]
fn analyst_busy_time_counts_overlapping_incidents_once() {
    let mut f = Fixture::new();
    let ack = |id: &str, offset: i64, who: &str| {
        format!(
            r#"{{"incident_id":"{id}","at":{},"status":"acknowledged","assignee":"{who}"}}"#,
            at(offset)
        )
    };
    let resolve = |id: &str, offset: i64| {
        format!(
            r#"{{"incident_id":"{id}","at":{},"status":"resolved"}}"#,
            at(offset)
        )
    };
    // ana: [−10h, −4h) and [−6h, −2h) overlap → 8h; plus [−1h, now) open → 9h of 24h.
    f.case("", &ack("x", -10 * HOUR, "ana"))
        .case("", &resolve("x", -4 * HOUR))
        .case("", &ack("y", -6 * HOUR, "ana"))
        .case("", &resolve("y", -2 * HOUR))
        .case("", &ack("z", -HOUR, "ana"))
        // bob: started 30h ago, resolved 20h ago → 4h inside the 24h window.
        .case("", &ack("w", -30 * HOUR, "bob"))
        .case("", &resolve("w", -20 * HOUR))
        .alert(&format!(r#"{{"alert_id":"zz","incident_id":"z","detected_at":{},"source":"edr","severity":"low"}}"#, at(-2 * HOUR)))
        .alert(&format!(r#"{{"alert_id":"ww","incident_id":"w","detected_at":{},"source":"edr","severity":"low"}}"#, at(-31 * HOUR)));
    let card = f.compute(&defaults());
    let day = &card.per_window[0];
    let busy: Vec<_> = day
        .analyst_busy
        .iter()
        .map(|(a, s)| (a.to_string(), *s))
        .collect();
    assert_eq!(
        busy,
        [
            ("ana".to_owned(), 9.0 / 24.0),
            ("bob".to_owned(), 4.0 / 24.0)
        ]
    );
    let resolved: Vec<_> = day
        .analyst_resolved
        .iter()
        .map(|(a, n)| (a.to_string(), *n))
        .collect();
    assert_eq!(resolved, [("ana".to_owned(), 2), ("bob".to_owned(), 1)]);
    let alerts: Vec<_> = day
        .analyst_alerts
        .iter()
        .map(|(a, n)| (a.to_string(), *n))
        .collect();
    assert_eq!(alerts, [("ana".to_owned(), 1)], "bob's alert is 31h old");
    let open: Vec<_> = card
        .analyst_open
        .iter()
        .map(|(a, n)| (a.to_string(), *n))
        .collect();
    assert_eq!(open, [("ana".to_owned(), 1)]);
}

#[test]
fn cost_is_reported_else_modelled() {
    let mut f = Fixture::new();
    // Reported: 250. Modelled: high base 400 + 60/h × 3h (acknowledged → resolved) = 580.
    f.case(
        "",
        &format!(
            r#"{{"incident_id":"r","at":{},"status":"resolved","severity":"high","cost":250}}"#,
            at(-HOUR)
        ),
    )
    .case(
        "",
        &format!(
            r#"{{"incident_id":"m","at":{},"status":"acknowledged","severity":"high"}}"#,
            at(-5 * HOUR)
        ),
    )
    .case(
        "",
        &format!(
            r#"{{"incident_id":"m","at":{},"status":"resolved"}}"#,
            at(-2 * HOUR)
        ),
    );
    let card = f.compute(&defaults());
    assert_eq!(card.per_window[0].cost[Severity::High.index()], 830.0);
    assert_eq!(card.per_window[0].cost[ALL_SLOT], 830.0);
    assert_eq!(card.per_window[0].cost[Severity::Low.index()], 0.0);
}
