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
}

const EXIT_CONFIG: u8 = 64;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (config, command) = match load(&cli.command) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("socmetrics: {error:#}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Command::CheckConfig { .. } = command {
        print!("{}", config.to_redacted_toml());
        return ExitCode::SUCCESS;
    }
    app::logging::init(&config.log);
    match serve(config, command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("socmetrics: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(command: &Command) -> anyhow::Result<(Config, &Command)> {
    let config = match command {
        Command::Run { config } | Command::CheckConfig { config } => Config::load(config)?,
        Command::Demo { config, listen, .. } => {
            let mut loaded = match config {
                Some(path) => Config::load(path)?,
                None => Config::from_env()?,
            };
            if let Some(listen) = listen {
                loaded.http.listen = listen.clone();
                loaded.validate()?;
            }
            loaded
        }
    };
    Ok((config, command))
}

fn serve(config: Config, command: &Command) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        app::signal::install(shutdown.clone()).context("cannot install signal handlers")?;
        match command {
            Command::Demo { history, .. } => app::demo::run(config, *history, shutdown).await?,
            _ => app::daemon::run(config, shutdown).await?,
        }
        Ok(())
    })
}
