//! Alert counting: `soc_alerts_total` per (source, severity) and `soc_alert_volume` over the
//! alert windows. Volumes are exact: each series keeps the `detected_at` of its alerts inside
//! the longest alert window in time order (8 bytes an alert, appended in the common case), and
//! a window's count is one binary search at scrape time. A window is `(now − length, now]`;
//! an alert stamped after `now` (a detection tool's clock ahead of ours) counts as now.

use std::collections::VecDeque;

use crate::event::Severity;

/// Counts of one (source, severity) pair.
#[derive(Debug, Default)]
pub struct AlertSeries {
    /// Distinct alerts consumed, all time.
    pub total: u64,
    /// (`detected_at` epoch ms, id hash) of the alerts inside the longest window, ascending.
    detected: VecDeque<(i64, u64)>,
    /// An alert of this series was seen (here or before a restore): the series is exported,
    /// at 0 when its windows are empty, so a source going quiet shows.
    pub seen: bool,
}

impl AlertSeries {
    /// Counts an alert; true when it is inside the longest window (and so kept).
    pub fn record(&mut self, detected_at: i64, id: u64, oldest_kept: i64) -> bool {
        self.total += 1;
        self.seen = true;
        self.keep(detected_at, id, oldest_kept)
    }

    /// Keeps an alert for the windows without counting it in the total (a restore).
    pub fn keep(&mut self, detected_at: i64, id: u64, oldest_kept: i64) -> bool {
        if detected_at <= oldest_kept {
            return false;
        }
        match self.detected.back() {
            Some(&(last, _)) if last > detected_at => {
                let at = self.detected.partition_point(|&(t, _)| t <= detected_at);
                self.detected.insert(at, (detected_at, id));
            }
            _ => self.detected.push_back((detected_at, id)),
        }
        true
    }

    /// Alerts detected after `start` (exclusive).
    pub fn count_after(&self, start: i64) -> u64 {
        let before = self.detected.partition_point(|&(t, _)| t <= start);
        (self.detected.len() - before) as u64
    }

    /// Forgets alerts at or before `oldest_kept`, handing their ids to `gone`.
    pub fn expire(&mut self, oldest_kept: i64, gone: &mut impl FnMut(u64)) {
        let stale = self.detected.partition_point(|&(t, _)| t <= oldest_kept);
        for (_, id) in self.detected.drain(..stale) {
            gone(id);
        }
    }

    /// Alerts kept for the windows.
    pub fn kept(&self) -> usize {
        self.detected.len()
    }
}

/// All alert series, densely indexed by `source id × 5 + severity`.
#[derive(Debug, Default)]
pub struct AlertBook {
    series: Vec<AlertSeries>,
}

impl AlertBook {
    pub fn series_mut(&mut self, source: u32, severity: Severity) -> &mut AlertSeries {
        let index = Self::index(source, severity);
        if index >= self.series.len() {
            self.series.resize_with(index + 1, AlertSeries::default);
        }
        &mut self.series[index]
    }

    /// Every series that has counted an alert, with its source id and severity.
    pub fn iter(&self) -> impl Iterator<Item = (u32, Severity, &AlertSeries)> {
        self.series
            .iter()
            .enumerate()
            .filter(|(_, series)| series.total > 0)
            .map(|(index, series)| {
                let source = (index / Severity::ALL.len()) as u32;
                (source, Severity::ALL[index % Severity::ALL.len()], series)
            })
    }

    pub fn expire(&mut self, oldest_kept: i64, gone: &mut impl FnMut(u64)) {
        for series in &mut self.series {
            series.expire(oldest_kept, gone);
        }
    }

    /// Every series seen, counted here or restored, with its source id and severity.
    pub fn iter_all(&self) -> impl Iterator<Item = (u32, Severity, &AlertSeries)> {
        self.series
            .iter()
            .enumerate()
            .filter(|(_, series)| series.seen)
            .map(|(index, series)| {
                let source = (index / Severity::ALL.len()) as u32;
                (source, Severity::ALL[index % Severity::ALL.len()], series)
            })
    }

    fn index(source: u32, severity: Severity) -> usize {
        source as usize * Severity::ALL.len() + severity.index()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_alerts_are_counted_in_their_windows() {
        let mut series = AlertSeries::default();
        for (i, t) in [100, 300, 200, 50, 300, 400].into_iter().enumerate() {
            series.record(t, i as u64, 0);
        }
        assert_eq!(series.total, 6);
        assert_eq!(series.count_after(0), 6);
        assert_eq!(series.count_after(100), 4);
        assert_eq!(series.count_after(300), 1);
        assert_eq!(series.count_after(400), 0);
    }

    #[test]
    fn alerts_older_than_the_longest_window_count_only_in_the_total() {
        let mut series = AlertSeries::default();
        assert!(!series.record(10, 1, 10));
        assert!(series.record(11, 2, 10));
        assert_eq!(series.total, 2);
        assert_eq!(series.count_after(i64::MIN), 1);
        let mut gone = Vec::new();
        series.expire(11, &mut |id| gone.push(id));
        assert_eq!(gone, [2]);
        assert_eq!(series.count_after(i64::MIN), 0);
        assert_eq!(series.total, 2);
    }

    #[test]
    fn series_are_indexed_by_source_and_severity() {
        let mut book = AlertBook::default();
        book.series_mut(2, Severity::High).record(5, 1, 0);
        book.series_mut(0, Severity::Low).record(5, 2, 0);
        let seen: Vec<_> = book
            .iter()
            .map(|(source, severity, s)| (source, severity, s.total))
            .collect();
        assert_eq!(seen, vec![(0, Severity::Low, 1), (2, Severity::High, 1)]);
    }
}
