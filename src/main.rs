//! `graphhook`: see `graphhook --help`.

use std::process::ExitCode;

use clap::Parser;
use graphhook::cli::{Cli, Command, TokensCommand};
use graphhook::config::Settings;
use graphhook::effective::Role;
use graphhook::{commands, effective, telemetry};

/// glibc's allocator showed as ~15% of ingest's CPU under load; mimalloc is faster
/// for the many small, short-lived allocations of request handling.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (option 15 of the bundled mimalloc v3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory freed after a burst (bodies held by slow senders) goes back to the
/// system at once rather than after mimalloc's delay, which in measurements often
/// kept it resident for good. `MIMALLOC_PURGE_DELAY`, when set, decides instead.
#[allow(unsafe_code)]
fn return_freed_memory_promptly() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: called first thing in `main`, before any other thread exists
        // (mimalloc's option setters are not thread-safe).
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
}

fn main() -> ExitCode {
    return_freed_memory_promptly();
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(graphhook_main()),
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn graphhook_main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Healthcheck { url } = &cli.command {
        return match commands::healthcheck(url).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("unhealthy: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {:#}", anyhow::Error::from(error));
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log, std::io::stdout);
    let serving = match cli.command {
        Command::Run => Some(Role::Run),
        Command::Ingest => Some(Role::Ingest),
        Command::Process => Some(Role::Process),
        _ => None,
    };
    if let Some(role) = serving {
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            config = %settings.effective_json(),
            "graphhook starting"
        );
        for warning in settings.warnings_for(role) {
            tracing::warn!(%warning, "configuration");
        }
    } else if !settings.ignored_env.is_empty()
        && !matches!(cli.command, Command::CheckConfig { .. })
    {
        tracing::warn!(
            variables = %settings.ignored_env.join(", "),
            "ignored environment variables that name no configuration section"
        );
    }
    let result = match cli.command {
        Command::Run => commands::run(settings).await,
        Command::Ingest => commands::ingest(settings).await,
        Command::Process => commands::process(settings).await,
        Command::Migrate => commands::migrate(&settings).await,
        Command::Replay(args) => commands::replay(&settings, &args).await,
        Command::Tokens(TokensCommand::RotateKey) => commands::rotate_key(&settings).await,
        Command::CheckConfig { role } => {
            effective::check_config(&settings, role).map(|summary| print!("{summary}"))
        }
        Command::Healthcheck { .. } => Ok(()),
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
