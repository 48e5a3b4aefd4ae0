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
    /// (the embedded mode). A secret: it can hold a password.
    pub database_url: SecretString,
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
            database_url: SecretString::from("sqlite://graphhook.db?mode=rwc"),
            max_connections: 8,
            group_id: "graphhook-processor".to_owned(),
            batch_size: 500,
            batch_wait_ms: 20,
            retry_initial_ms: 200,
            processed_events_retention_hours: 24 * 14,
        }
    }
}

/// `url` with its password, if any, replaced by `***` (for summaries and logs).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, None), |(a, p)| (a, Some(p)));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let query_free = |p: &str| -> String {
        match p.split_once('?') {
            Some((path, query)) if query.to_ascii_lowercase().contains("password") => {
                format!("{path}?***")
            }
            _ => p.to_owned(),
        }
    };
    match path {
        Some(path) => format!("{scheme}://{authority}/{}", query_free(path)),
        None => format!("{scheme}://{authority}"),
    }
}

impl ProcessorSettings {
    /// The database URL without its password.
    pub fn database_url_redacted(&self) -> String {
        redact_url(self.database_url.expose_secret())
    }

    /// Checks values that deserialize but cannot work.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let url = self.database_url.expose_secret();
        if !(url.starts_with("postgres://")
            || url.starts_with("postgresql://")
            || url.starts_with("sqlite:"))
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
    fn the_database_password_never_shows() {
        let settings = ProcessorSettings {
            database_url: SecretString::from("postgres://graphhook:pa55w0rd@db:5432/graphhook"),
            ..Default::default()
        };
        assert!(!format!("{settings:?}").contains("pa55w0rd"));
        assert_eq!(
            settings.database_url_redacted(),
            "postgres://graphhook:***@db:5432/graphhook"
        );
        assert_eq!(
            redact_url("postgres://db/g?user=x&password=y"),
            "postgres://db/g?***"
        );
        assert_eq!(
            redact_url("sqlite://graphhook.db?mode=rwc"),
            "sqlite://graphhook.db?mode=rwc"
        );
    }

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
