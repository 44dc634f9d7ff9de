//! `[[compliance.objectives]]` evaluated on the scorecard's values: each objective picks one
//! gauge series by its KPI and labels; met or not, and the share met per framework. An
//! objective whose series does not exist (an empty population) is neither met nor missed.

use std::collections::BTreeMap;

use crate::config::Objective;
use crate::engine::scorecard::{Kind, Kpi, Label, Series, Value};

/// The value of the one gauge series of the objective's KPI whose labels include its labels,
/// if exactly one does.
fn pick(series: &[Series<'_>], objective: &Objective) -> Option<f64> {
    let kpi = Kpi::from_name(&objective.kpi).filter(|k| k.kind() == Kind::Gauge)?;
    let mut matching = series.iter().filter(|s| {
        s.kpi == kpi
            && objective
                .labels
                .iter()
                .all(|(name, value)| s.label(name).is_some_and(|v| v == value.as_str()))
    });
    let first = matching.next()?;
    matching.next().is_none().then(|| first.value.number())
}

/// `soc_compliance_objective_met` and `soc_compliance_score` series.
pub fn evaluate<'a>(series: &[Series<'_>], objectives: &'a [Objective]) -> Vec<Series<'a>> {
    let mut out = Vec::new();
    let mut tally: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for objective in objectives {
        let Some(value) = pick(series, objective) else {
            continue;
        };
        let met = objective.op.holds(value, objective.target);
        out.push(Series::new(
            Kpi::ComplianceObjectiveMet,
            &[
                Label::Framework(&objective.framework),
                Label::Control(&objective.control),
            ],
            Value::Gauge(if met { 1.0 } else { 0.0 }),
        ));
        let entry = tally.entry(&objective.framework).or_default();
        entry.0 += u64::from(met);
        entry.1 += 1;
    }
    for (framework, (met, total)) in tally {
        out.push(Series::new(
            Kpi::ComplianceScore,
            &[Label::Framework(framework)],
            Value::Gauge(100.0 * met as f64 / total as f64),
        ));
    }
    out
}
