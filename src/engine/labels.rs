//! Untrusted label values (source, rule, analyst, tenant) interned to small ids, with a length
//! limit and a cap on distinct values per label so a noisy or hostile producer cannot explode
//! the number of Prometheus series. Past the cap a value becomes `other`.

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;

/// The value every label takes past its cap.
pub const OVERFLOW_VALUE: &str = "other";

/// Interns the values of one label.
#[derive(Debug)]
pub struct LabelValues {
    /// The label's name, for `soc_label_overflow_total{label}`.
    name: &'static str,
    ids: HashMap<Arc<str>, u32>,
    values: Vec<Arc<str>>,
    max_values: usize,
    max_length: usize,
    other: Option<u32>,
    overflowed: u64,
}

impl LabelValues {
    pub fn new(name: &'static str, max_values: usize, max_length: usize) -> Self {
        Self {
            name,
            ids: HashMap::new(),
            values: Vec::new(),
            max_values,
            max_length,
            other: None,
            overflowed: 0,
        }
    }

    /// The id of `value`, truncated to the length limit; `other` past the cap.
    pub fn intern(&mut self, value: &str) -> u32 {
        let value = truncate_chars(value, self.max_length);
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        if value != OVERFLOW_VALUE {
            if self.ids.len() < self.max_values {
                let id = self.push(value);
                self.ids.insert(Arc::clone(&self.values[id as usize]), id);
                return id;
            }
            self.overflowed += 1;
        }
        // A producer's own `other` shares the overflow series rather than making a second one.
        match self.other {
            Some(id) => id,
            None => {
                let id = self.push(OVERFLOW_VALUE);
                self.other = Some(id);
                id
            }
        }
    }

    fn push(&mut self, value: &str) -> u32 {
        let id = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.values.push(Arc::from(value));
        id
    }

    pub fn value(&self, id: u32) -> &Arc<str> {
        &self.values[id as usize]
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// How many values were folded into `other` so far.
    pub fn overflowed(&self) -> u64 {
        self.overflowed
    }
}

/// The longest prefix of `text` of at most `max_chars` characters.
fn truncate_chars(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_same_id() {
        let mut sources = LabelValues::new("source", 10, 64);
        let a = sources.intern("splunk");
        let b = sources.intern("sentinel");
        assert_ne!(a, b);
        assert_eq!(sources.intern("splunk"), a);
        assert_eq!(&**sources.value(b), "sentinel");
    }

    #[test]
    fn values_past_the_cap_become_other_and_are_counted() {
        let mut sources = LabelValues::new("source", 2, 64);
        sources.intern("a");
        sources.intern("b");
        let other = sources.intern("c");
        assert_eq!(&**sources.value(other), "other");
        assert_eq!(sources.intern("d"), other);
        assert_eq!(sources.intern("a"), 0);
        assert_eq!(sources.overflowed(), 2);
        assert_eq!(sources.len(), 3);
    }

    #[test]
    fn long_values_are_truncated_on_a_char_boundary() {
        let mut sources = LabelValues::new("source", 10, 3);
        let id = sources.intern("ééééé");
        assert_eq!(&**sources.value(id), "ééé");
        assert_eq!(sources.intern("éééx"), id);
    }

    #[test]
    fn a_producers_own_other_shares_the_overflow_series() {
        let mut sources = LabelValues::new("source", 1, 64);
        let own = sources.intern("other");
        sources.intern("a");
        let overflow = sources.intern("b");
        assert_eq!(own, overflow);
    }
}
