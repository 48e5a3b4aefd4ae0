//! Logging: JSON lines in production, readable text for development. Every line
//! written inside a request carries the request's span fields (request id, app).

use graphhook_kafka::SettingsError;
use graphhook_web::{RequestLogSettings, SuccessLevel};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::http_noise::{is_http_noise, HttpNoise};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Pretty,
}

/// The `[log]` configuration section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `json` (default) or `pretty`.
    pub format: LogFormat,
    /// An `EnvFilter` directive, e.g. `info` or `info,graphhook_ingest=debug`.
    /// `RUST_LOG`, when set, takes precedence.
    pub level: String,
    /// The level of a successful request's line on the public listeners (`off`,
    /// `trace`, `debug`, `info`); health checks and scrapes on the operations
    /// listeners are at most `debug`. Refused and failed requests are always
    /// written (rate-limited).
    pub success_level: SuccessLevel,
    /// Load balancers and proxies (addresses or CIDR ranges) whose
    /// `X-Forwarded-For` is believed for the client address of request lines.
    #[serde(deserialize_with = "networks")]
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: LogFormat::Json,
            level: "info".to_owned(),
            success_level: SuccessLevel::Info,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Addresses or CIDR ranges (`10.0.0.7`, `10.0.0.0/8`, `2001:db8::/32`).
fn networks<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    Vec::<String>::deserialize(deserializer)?
        .iter()
        .map(|text| {
            let text = text.trim();
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "{text:?} is neither an IP address nor a CIDR range"
                    ))
                })
        })
        .collect()
}

impl LogSettings {
    /// How request lines are written.
    pub fn requests(&self) -> RequestLogSettings {
        RequestLogSettings {
            success_level: self.success_level,
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }

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
    let output = tracing_subscriber::fmt::layer().with_writer(sink);
    let output = match settings.format {
        LogFormat::Json => output
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .boxed(),
        LogFormat::Pretty => output.boxed(),
    };
    let result = tracing_subscriber::registry()
        .with(filter)
        .with(output.with_filter(filter_fn(|metadata| !is_http_noise(metadata))))
        .with(HttpNoise::default())
        .try_init();
    if let Err(error) = result {
        eprintln!("logging already initialised: {error}");
    }
}
