//! `socmetrics convert --format F FILE`: the native events an adapter makes of a file, one JSON
//! per line on stdout, each rejection and skip in its place with its reason and line number, and
//! a count of each on stderr. To check a mapping by eye, or to turn an export into native files.

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use anyhow::Context;

use crate::config::Config;
use crate::formats::{Format, convert::convert, guard::Limits};

/// What a conversion came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Converted {
    pub records: u64,
    pub events: u64,
    pub rejected: u64,
    pub skipped: u64,
}

/// Converts `path` (`-`: stdin) in `format` to `out`.
pub fn run(
    config: &Config,
    format: Format,
    path: &Path,
    out: impl Write,
) -> anyhow::Result<Converted> {
    let limits = Limits {
        max_record_bytes: config.limits.max_record_bytes,
        max_depth: config.limits.max_depth,
    };
    let input: Box<dyn BufRead> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        Box::new(std::io::BufReader::new(file))
    };
    let mut out = BufWriter::new(out);
    let mut done = Converted::default();
    for (n, line) in input.split(b'\n').enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        done.records += 1;
        for mut value in convert(format, text, limits) {
            if let Some(object) = value.as_object_mut() {
                if object.contains_key("rejected") {
                    done.rejected += 1;
                    object.insert("line".into(), (n + 1).into());
                } else if object.contains_key("skipped") {
                    done.skipped += 1;
                    object.insert("line".into(), (n + 1).into());
                } else {
                    done.events += 1;
                }
            }
            writeln!(out, "{value}")?;
        }
    }
    out.flush()?;
    Ok(done)
}
