//! The checks every record passes before any decoder sees it: present, within the size limit,
//! valid UTF-8, nested no deeper than the depth limit. serde_json skips unknown fields without
//! recursion, so depth would otherwise be unbounded there; the depth check is one vectorised
//! count of brackets, and a precise scan only for the rare record with more brackets than the
//! limit.

use super::{RejectReason, Rejection};

/// Returns the record as text, or why it cannot be read.
pub fn check(payload: Option<&[u8]>, limits: Limits) -> Result<&str, Rejection> {
    let max_record_bytes = limits.max_record_bytes;
    let bytes = payload.unwrap_or_default();
    if bytes.len() > max_record_bytes {
        return Err(Rejection::new(
            RejectReason::TooLarge,
            format!(
                "record of {} bytes exceeds limits.max_record_bytes = {max_record_bytes}",
                bytes.len()
            ),
        ));
    }
    if bytes.is_empty() {
        return Err(Rejection::new(
            RejectReason::InvalidJson,
            "empty record (null value)",
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        Rejection::new(
            RejectReason::InvalidUtf8,
            format!("record is not valid UTF-8: {error}"),
        )
    })?;
    if openers(bytes) > limits.max_depth && nesting_depth(bytes) > limits.max_depth {
        return Err(Rejection::new(
            RejectReason::TooDeep,
            format!("record nests deeper than {} levels", limits.max_depth),
        ));
    }
    Ok(text)
}

/// The limits the guard enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_record_bytes: usize,
    pub max_depth: usize,
}

/// How many `{` and `[` the bytes hold. `[` (0x5B) and `{` (0x7B) are the only bytes that are
/// `{` with bit 0x20 set; counting into a `u8` per 255-byte chunk lets the compiler vectorise
/// (about 5× the plain filter-count, measured in benches/alerts.rs).
fn openers(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|chunk| {
            chunk
                .iter()
                .fold(0u8, |n, &b| n + u8::from((b | 0x20) == b'{')) as usize
        })
        .sum()
}

/// Deepest nesting of objects and arrays, ignoring brackets inside strings.
fn nesting_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &byte in bytes {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_record_bytes: usize) -> Limits {
        Limits {
            max_record_bytes,
            max_depth: 4,
        }
    }

    #[test]
    fn rejects_oversized_records_unread() {
        let big = vec![b'x'; 2 * 1024 * 1024];
        let rejection = check(Some(&big), limits(1024 * 1024)).unwrap_err();
        assert_eq!(rejection.reason, RejectReason::TooLarge);
        assert!(check(Some(&big[..1024]), limits(1024)).is_ok());
    }

    #[test]
    fn rejects_invalid_utf8_and_empty_records() {
        let bad = b"{\"alert_id\": \"\xff\xfe\"}";
        assert_eq!(
            check(Some(bad), limits(4096)).unwrap_err().reason,
            RejectReason::InvalidUtf8
        );
        assert_eq!(
            check(None, limits(4096)).unwrap_err().reason,
            RejectReason::InvalidJson
        );
        assert_eq!(
            check(Some(b""), limits(4096)).unwrap_err().reason,
            RejectReason::InvalidJson
        );
    }

    #[test]
    fn openers_counts_both_brackets_only() {
        let text = "{[ ]} [[{ {x;[".repeat(100);
        assert_eq!(openers(text.as_bytes()), 700);
        assert_eq!(openers(b"\x5b\x7b\x5d\x7d\x3b\x1b"), 2);
    }

    #[test]
    fn rejects_nesting_past_the_limit_only() {
        let at_limit = br#"{"a":[{"b":[1]}],"c":[[]],"d":{}}"#;
        assert!(check(Some(at_limit), limits(4096)).is_ok());
        let too_deep = br#"{"a":[{"b":[[1]]}]}"#;
        assert_eq!(
            check(Some(too_deep), limits(4096)).unwrap_err().reason,
            RejectReason::TooDeep
        );
        let brackets_in_strings = br#"{"a":"[[[[[[{{{{{","b":"\"[[[[[["}"#;
        assert!(check(Some(brackets_in_strings), limits(4096)).is_ok());
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            check(Some(deep.as_bytes()), limits(1 << 20))
                .unwrap_err()
                .reason,
            RejectReason::TooDeep
        );
    }
}
