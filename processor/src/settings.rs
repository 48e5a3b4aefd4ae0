//! The `[processor]` configuration section.

use std::net::SocketAddr;

use graphhook_kafka::SettingsError;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// How the processor consumes and stores.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessorSettings {
    /// Address of the processor's HTTP server (`/healthz`, `/readyz`, `/metrics`,
    /// `/data-deletion/{code}`, the admin API). Port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// Bearer token of the admin API under `/v1`; without it the API is off (404).
    pub admin_token: Option<SecretString>,
    /// `postgres://...` in production; `sqlite://graphhook.db?mode=rwc` by default
    /// (the embedded mode).
    pub database_url: String,
    /// Connections to PostgreSQL (SQLite always uses one).
    pub max_connections: u32,
    /// Kafka consumer group.
    pub group_id: String,
    /// Most events applied in one database transaction.
    pub batch_size: usize,
    /// How long a batch waits to fill, in milliseconds.
    pub batch_wait_ms: u64,
    /// First retry delay after a transient failure, in milliseconds (doubles, with
    /// jitter, up to 30 s).
    pub retry_initial_ms: u64,
    /// How long processed event ids are remembered, in hours (0: forever). A
    /// redelivery or replay of an event older than this is applied again, so keep
    /// it well beyond Meta's 36-hour retries and any replay you may run.
    pub processed_events_retention_hours: u64,
}

impl Default for ProcessorSettings {
    fn default() -> Self {
        ProcessorSettings {
            listen: SocketAddr::from(([0, 0, 0, 0], 8081)),
            admin_token: None,
            database_url: "sqlite://graphhook.db?mode=rwc".to_owned(),
            max_connections: 8,
            group_id: "graphhook-processor".to_owned(),
            batch_size: 500,
            batch_wait_ms: 20,
            retry_initial_ms: 200,
            processed_events_retention_hours: 24 * 14,
        }
    }
}

impl ProcessorSettings {
    /// Checks values that deserialize but cannot work.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://")
            || self.database_url.starts_with("sqlite:"))
        {
            return Err(SettingsError::new(
                "processor.database_url",
                "must be a postgres:// or sqlite: URL",
            ));
        }
        if self.group_id.trim().is_empty() {
            return Err(SettingsError::new(
                "processor.group_id",
                "must not be empty",
            ));
        }
        if self.batch_size == 0 || self.batch_size > 10_000 {
            return Err(SettingsError::new(
                "processor.batch_size",
                "must be between 1 and 10000",
            ));
        }
        if let Some(token) = &self.admin_token {
            if token.expose_secret().trim().len() < 16 {
                return Err(SettingsError::new(
                    "processor.admin_token",
                    "must be at least 16 characters",
                ));
            }
        }
        if (1..48).contains(&self.processed_events_retention_hours) {
            return Err(SettingsError::new(
                "processor.processed_events_retention_hours",
                "must be 0 (forever) or at least 48: Meta retries deliveries for 36 hours",
            ));
        }
        if self.retry_initial_ms == 0 {
            return Err(SettingsError::new(
                "processor.retry_initial_ms",
                "must be positive",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_key() {
        let short_retention = ProcessorSettings {
            processed_events_retention_hours: 24,
            ..Default::default()
        };
        let error = short_retention.validate().unwrap_err().to_string();
        assert!(
            error.contains("processor.processed_events_retention_hours"),
            "{error}"
        );
        let weak_token = ProcessorSettings {
            admin_token: Some(SecretString::from("short")),
            ..Default::default()
        };
        let error = weak_token.validate().unwrap_err().to_string();
        assert!(
            error.contains("processor.admin_token") && !error.contains("short\""),
            "{error}"
        );
        assert!(ProcessorSettings::default().validate().is_ok());
        let forever = ProcessorSettings {
            processed_events_retention_hours: 0,
            ..Default::default()
        };
        assert!(forever.validate().is_ok());
    }
}
