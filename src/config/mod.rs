//! Layered configuration: built-in defaults, then a TOML file, then `GRAPHHOOK_`
//! environment variables (`__` separates levels: `GRAPHHOOK_KAFKA__BROKERS`,
//! `GRAPHHOOK_APPS__MAIN__SECRETS='["s1","s2"]'`), then secrets from files
//! (`<key>_file`, see `secret_files`), then validation that names the offending
//! key.

use std::collections::BTreeMap;
use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::Value;
use figment::Figment;
use graphhook_graph::GraphSettings;
use graphhook_ingest::{validate_apps, AppSettings, IngestSettings};
use graphhook_kafka::{KafkaSettings, SettingsError};
use graphhook_processor::gateway::{AppSecrets, MetaApp};
use graphhook_processor::publishing::PublishingSettings;
use graphhook_processor::settings::ProcessorSettings;
use graphhook_processor::tokens::TokenSettings;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::secret_files;

mod redact;
mod sources;

use crate::telemetry::LogSettings;
use redact::{is_secret_path, redact_secrets};
use sources::{check_toml_syntax, names_a_section, stray_variables};

/// Prefix of configuration environment variables.
pub const ENV_PREFIX: &str = "GRAPHHOOK_";

/// All of graphhook's configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[ingest]`: the webhook receiver.
    #[serde(default)]
    pub ingest: IngestSettings,
    /// `[apps.<name>]`: the Meta apps whose webhooks are received.
    #[serde(default)]
    pub apps: BTreeMap<String, AppSettings>,
    /// `[kafka]`: brokers, topics, producer deadline.
    #[serde(default)]
    pub kafka: KafkaSettings,
    /// `[processor]`: store, consumer group, batching.
    #[serde(default)]
    pub processor: ProcessorSettings,
    /// `[graph]`: where the Graph API is, timeouts, the call budget.
    #[serde(default)]
    pub graph: GraphSettings,
    /// `[tokens]`: encryption keys, refresh and alert windows.
    #[serde(default)]
    pub tokens: TokenSettings,
    /// `[publishing]`: Meta's polling schedule and the tracker's pacing.
    #[serde(default)]
    pub publishing: PublishingSettings,
    /// `[log]`: log format and level.
    #[serde(default)]
    pub log: LogSettings,
    /// `GRAPHHOOK_` environment variables that name no section and were ignored
    /// (a Kubernetes Service named `graphhook` injects `GRAPHHOOK_PORT`,
    /// `GRAPHHOOK_SERVICE_HOST`, ... into every pod): their names, for one
    /// warning line.
    #[serde(skip)]
    pub ignored_env: Vec<String>,
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The named file does not exist.
    #[error("configuration file {0} does not exist")]
    MissingFile(String),
    /// A value has the wrong type or an unknown key was given (figment names the key
    /// and where it came from).
    #[error("invalid configuration")]
    Invalid(#[from] Box<figment::Error>),
    /// A value is well-typed but cannot work.
    #[error("invalid configuration")]
    Rejected(#[from] SettingsError),
    /// The file is not TOML. Where and what, never the line itself: it may hold
    /// a secret.
    #[error("{file}:{line}:{column}: not valid TOML: {message} (the line is not shown: it may hold a secret)")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message, without the source text.
        message: String,
    },
}

impl Settings {
    /// Loads defaults, the optional file, and the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::MissingFile(path.display().to_string()));
            }
            check_toml_syntax(path)?;
            figment = figment.merge(Toml::file_exact(path));
        }
        let env = Env::prefixed(ENV_PREFIX)
            .split("__")
            .filter(|key| names_a_section(&key.as_str().replace('.', "__")));
        figment = figment.merge(env);
        let invalid = |e| ConfigError::Invalid(Box::new(redact_secrets(e)));
        let mut merged: Value = figment.extract().map_err(invalid)?;
        let mut settings: Settings = if secret_files::has_file_keys(&merged, is_secret_path) {
            secret_files::resolve(&mut merged, is_secret_path)?;
            Figment::from(Serialized::defaults(merged))
                .extract()
                .map_err(invalid)?
        } else {
            figment.extract().map_err(invalid)?
        };
        settings.ignored_env = stray_variables();
        Ok(settings)
    }

    /// Checks what ingest needs.
    pub fn validate_ingest(&self) -> Result<(), ConfigError> {
        self.kafka.validate()?;
        self.ingest.validate()?;
        self.kafka
            .check_holds_bodies(self.ingest.max_body_bytes, "ingest.max_body_bytes")?;
        validate_apps(&self.apps)?;
        self.log.validate()?;
        Ok(())
    }

    /// Checks what the processor needs.
    pub fn validate_processor(&self) -> Result<(), ConfigError> {
        self.kafka.validate()?;
        self.processor.validate()?;
        self.graph.validate()?;
        self.tokens.validate()?;
        self.publishing.validate()?;
        self.publishing.validate_with(&self.graph)?;
        self.log.validate()?;
        Ok(())
    }

    /// The configured apps' secrets by app id, for the processor's calls to Meta
    /// (the app token of `debug_token`, the client secret of `fb_exchange_token`,
    /// `appsecret_proof`): each app's first secret, and its Instagram app.
    pub fn app_secrets(&self) -> AppSecrets {
        AppSecrets::new(
            self.apps
                .values()
                .filter_map(|app| {
                    let secret: SecretString = app.secrets.first()?.clone();
                    let instagram = app
                        .instagram_app_id
                        .clone()
                        .zip(app.instagram_app_secret.clone());
                    Some((app.app_id.clone(), MetaApp { secret, instagram }))
                })
                .collect(),
        )
    }

    /// Checks that a production command has a real Kafka cluster configured.
    pub fn require_brokers(&self, command: &str) -> Result<(), ConfigError> {
        if self.kafka.embedded() {
            return Err(SettingsError::new(
                "kafka.brokers",
                format!("`graphhook {command}` needs a Kafka cluster; use `graphhook run` for the embedded mode"),
            )
            .into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
