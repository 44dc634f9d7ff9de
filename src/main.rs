//! The `socmetrics` command line: parse, load config, hand over to the library.
//! Exit codes: 0 done, 1 runtime failure, 64 bad usage or config.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use socmetrics::app;
use socmetrics::config::Config;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Turns a SOC's alert and case streams into Prometheus KPIs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon against Kafka.
    Run {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a config file and print the effective config (secrets redacted).
    CheckConfig {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run the pipeline on built-in simulated SOC traffic; no Kafka needed.
    Demo {
        /// Config file; defaults (with environment overrides) when absent.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Overrides http.listen.
        #[arg(long)]
        listen: Option<String>,
        /// Simulated history replayed at start (e.g. 24h, 1h, 0s).
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        history: std::time::Duration,
    },
    /// Print the native events an adapter makes of a file (NDJSON, `-` for stdin), one JSON
    /// per line, with each rejection and skip and its reason.
    Convert {
        /// native, ocsf, sentinel, ecs, splunk, thehive or wazuh.
        #[arg(long, short, value_parser = parse_format)]
        format: socmetrics::formats::Format,
        /// Config file for `limits.*`; defaults when absent.
        #[arg(long, short)]
        config: Option<PathBuf>,
        file: PathBuf,
    },
}

fn parse_format(text: &str) -> Result<socmetrics::formats::Format, String> {
    socmetrics::formats::Format::parse(text).ok_or_else(|| {
        format!("unknown format `{text}`: expected one of native, ocsf, sentinel, ecs, splunk, thehive, wazuh")
    })
}

const EXIT_CONFIG: u8 = 64;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::CheckConfig { config } => match kafka_config(config) {
            Ok(config) => {
                print!("{}", config.to_redacted_toml());
                ExitCode::SUCCESS
            }
            Err(error) => config_error(&error),
        },
        Command::Run { config } => match kafka_config(config) {
            Ok(config) => serve(config, Task::Daemon),
            Err(error) => config_error(&error),
        },
        Command::Convert {
            format,
            config,
            file,
        } => convert(*format, config.as_deref(), file),
        Command::Demo {
            config,
            listen,
            history,
        } => match demo_config(config.as_deref(), listen.as_deref()) {
            Ok(config) => serve(config, Task::Demo(*history)),
            Err(error) => config_error(&error),
        },
    }
}

fn convert(
    format: socmetrics::formats::Format,
    config: Option<&std::path::Path>,
    file: &std::path::Path,
) -> ExitCode {
    let config = match demo_config(config, None) {
        Ok(config) => config,
        Err(error) => return config_error(&error),
    };
    match app::convert::run(&config, format, file, std::io::stdout().lock()) {
        Ok(done) => {
            eprintln!(
                "socmetrics: {} records: {} events, {} rejected, {} skipped",
                done.records, done.events, done.rejected, done.skipped
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("socmetrics: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// What `serve` runs.
#[derive(Debug)]
enum Task {
    Daemon,
    Demo(std::time::Duration),
}

fn config_error(error: &anyhow::Error) -> ExitCode {
    eprintln!("socmetrics: {error:#}");
    ExitCode::from(EXIT_CONFIG)
}

/// A config for Kafka: loaded, validated, and every `kafka.properties` entry taken by
/// librdkafka (a property it refuses is a config error naming the key, never its value).
fn kafka_config(path: &std::path::Path) -> anyhow::Result<Config> {
    let config = Config::load(path)?;
    socmetrics::source::consumer::check_properties(&config)?;
    Ok(config)
}

/// The demo's config: the file if given, else defaults with environment overrides.
fn demo_config(path: Option<&std::path::Path>, listen: Option<&str>) -> anyhow::Result<Config> {
    let mut loaded = match path {
        Some(path) => Config::load(path)?,
        None => Config::from_env()?,
    };
    if let Some(listen) = listen {
        loaded.http.listen = listen.to_owned();
        loaded.validate()?;
    }
    Ok(loaded)
}

fn serve(config: Config, task: Task) -> ExitCode {
    let secrets = config.secrets();
    app::logging::init(&config.log, secrets.clone());
    match run(config, task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The log line is scrubbed by the logger; this one here.
            tracing::error!("{error:#}");
            eprintln!("socmetrics: {}", secrets.scrub(&format!("{error:#}")));
            ExitCode::FAILURE
        }
    }
}

/// How long blocking work still running when the daemon is done (a Kafka client waiting on
/// an unreachable broker) may delay the exit.
const BLOCKING_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

fn run(config: Config, task: Task) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let result = runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        app::signal::install(shutdown.clone()).context("cannot install signal handlers")?;
        match task {
            Task::Demo(history) => app::demo::run(config, history, shutdown).await?,
            Task::Daemon => app::daemon::run(config, shutdown).await?,
        }
        Ok(())
    });
    runtime.shutdown_timeout(BLOCKING_GRACE);
    result
}
