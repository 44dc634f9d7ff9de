//! tracing to stderr, human or JSON; `RUST_LOG` overrides `log.level`. Every line is scrubbed
//! of the configuration's secret values before it is written (PRODUCT.md §5), librdkafka's own
//! log lines and error callbacks included: they reach tracing through the clients' contexts.

use std::io::Write;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{LogConfig, LogFormat, Secrets};

pub fn init(config: &LogConfig, secrets: Secrets) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Scrubbing { secrets });
    let result = match config.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    // Already installed (tests running several daemons in one process): keep the first.
    let _ = result;
}

/// Makes a writer per event: the formatter writes each event in one call, so each call is
/// scrubbed whole.
struct Scrubbing {
    secrets: Secrets,
}

impl<'a> MakeWriter<'a> for Scrubbing {
    type Writer = ScrubbedStderr<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbedStderr {
            secrets: &self.secrets,
        }
    }
}

struct ScrubbedStderr<'a> {
    secrets: &'a Secrets,
}

impl Write for ScrubbedStderr<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut stderr = std::io::stderr().lock();
        if self.secrets.is_empty() {
            stderr.write_all(buf)?;
        } else {
            let text = String::from_utf8_lossy(buf);
            stderr.write_all(self.secrets.scrub(&text).as_bytes())?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
