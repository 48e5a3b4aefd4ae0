//! Logging: JSON lines in production, readable text for development. Every line
//! written inside a request carries the request's span fields (request id, app).

use graphhook_kafka::SettingsError;
use serde::Deserialize;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Pretty,
}

/// The `[log]` configuration section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `json` (default) or `pretty`.
    pub format: LogFormat,
    /// An `EnvFilter` directive, e.g. `info` or `info,graphhook_ingest=debug`.
    /// `RUST_LOG`, when set, takes precedence.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: LogFormat::Json,
            level: "info".to_owned(),
        }
    }
}

impl LogSettings {
    /// Checks that the level parses.
    pub fn validate(&self) -> Result<(), SettingsError> {
        EnvFilter::try_new(&self.level)
            .map(|_| ())
            .map_err(|e| SettingsError::new("log.level", e.to_string()))
    }
}

/// Installs the global subscriber writing to `sink`. Call once.
pub fn init<W>(settings: &LogSettings, sink: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sink);
    let result = match settings.format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    if let Err(error) = result {
        eprintln!("logging already initialised: {error}");
    }
}
