//! `Span`: a duration written the human way (`5m`, `24h`, `7d`), as every duration of the
//! configuration is. Invariants: a `Span` always lasts longer than zero and fits an `i64` of
//! milliseconds, and it keeps its trimmed text, which is also the `window` label value.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::engine::Window;

/// A duration written the human way (`5m`, `24h`, `7d`), kept with its text, which is also the
/// `window` label value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub millis: i64,
}

impl Span {
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let duration = humantime::parse_duration(trimmed)
            .map_err(|e| format!("`{text}` is not a duration such as 5m, 24h or 7d ({e})"))?;
        let millis = i64::try_from(duration.as_millis())
            .map_err(|_| format!("`{text}` is too long a duration"))?;
        if millis <= 0 {
            return Err(format!("`{text}` must be longer than zero"));
        }
        Ok(Self {
            text: trimmed.to_owned(),
            millis,
        })
    }

    /// For literals in defaults, which are known to parse (the default tests would catch one
    /// that does not: it would last 1 ms).
    pub(super) fn must(text: &str) -> Self {
        Self::parse(text).unwrap_or_else(|_| Self {
            text: text.to_owned(),
            millis: 1,
        })
    }

    /// The engine's window of this span, labelled with its text.
    pub(super) fn window(&self) -> Window {
        Window {
            label: self.text.clone(),
            millis: self.millis,
        }
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Span::parse(&text).map_err(serde::de::Error::custom)
    }
}
