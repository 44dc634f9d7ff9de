//! Remembers which keys were seen within a horizon of clock time, in two generations: a key
//! seen at `t` is remembered at least until `t + horizon` and at most until `t + 2 × horizon`,
//! with O(1) work per key and no per-key timestamps or sweeps. Keys are 64-bit hashes of the
//! ids (xxh3, stable across processes, so the set can be rebuilt from the changelog).

use foldhash::{HashSet, HashSetExt};

/// Keys seen recently (alert ids, case event ids).
#[derive(Debug)]
pub struct SeenKeys {
    horizon_ms: i64,
    current: HashSet<u64>,
    previous: HashSet<u64>,
    /// Clock time the current generation started.
    current_since: Option<i64>,
}

impl SeenKeys {
    pub fn new(horizon_ms: i64) -> Self {
        Self {
            horizon_ms: horizon_ms.max(1),
            current: HashSet::new(),
            previous: HashSet::new(),
            current_since: None,
        }
    }

    /// Records `key` as seen at `now`; false when it was already seen within the horizon.
    pub fn insert(&mut self, key: u64, now: i64) -> bool {
        self.rotate(now);
        if self.current.contains(&key) || self.previous.contains(&key) {
            return false;
        }
        self.current.insert(key);
        true
    }

    /// Starts a new generation when the current one is a horizon old; forgets everything when
    /// the clock jumped past two horizons.
    pub fn rotate(&mut self, now: i64) {
        let since = *self.current_since.get_or_insert(now);
        let age = now.saturating_sub(since);
        if age >= 2 * self.horizon_ms {
            self.previous.clear();
            self.current.clear();
            self.current_since = Some(now);
        } else if age >= self.horizon_ms {
            self.previous = std::mem::take(&mut self.current);
            self.current_since = Some(now);
        }
    }

    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> u64 {
        super::super::id_hash(id)
    }

    #[test]
    fn a_repeat_within_the_horizon_is_seen() {
        let mut seen = SeenKeys::new(1_000);
        assert!(seen.insert(key("a"), 0));
        assert!(!seen.insert(key("a"), 999));
        assert!(seen.insert(key("b"), 1_500));
        // "a" was seen at 0: still remembered at 1 999 (< 0 + 2 × horizon).
        assert!(!seen.insert(key("a"), 1_999));
        assert!(!seen.insert(key("b"), 2_499));
    }

    #[test]
    fn keys_are_forgotten_after_two_horizons() {
        let mut seen = SeenKeys::new(1_000);
        assert!(seen.insert(key("a"), 0));
        assert!(seen.insert(key("b"), 1_000));
        assert!(seen.insert(key("a"), 2_000));
        assert_eq!(seen.len(), 2);
        assert!(seen.insert(key("c"), 10_000));
        assert_eq!(seen.len(), 1);
    }
}
