//! `graphhook`: see `graphhook --help`.

use std::process::ExitCode;

use clap::Parser;
use graphhook::cli::{Cli, Command, TokensCommand};
use graphhook::config::Settings;
use graphhook::{commands, telemetry};

/// glibc's allocator showed as ~15% of ingest's CPU under load; mimalloc is faster
/// for the many small, short-lived allocations of request handling.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {:#}", anyhow::Error::from(error));
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log, std::io::stdout);
    let result = match cli.command {
        Command::Run => commands::run(settings).await,
        Command::Ingest => commands::ingest(settings).await,
        Command::Process => commands::process(settings).await,
        Command::Migrate => commands::migrate(&settings).await,
        Command::Replay(args) => commands::replay(&settings, &args).await,
        Command::Tokens(TokensCommand::RotateKey) => commands::rotate_key(&settings).await,
        Command::CheckConfig => {
            commands::check_config(&settings).map(|summary| println!("{summary}"))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "graphhook stopped");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
