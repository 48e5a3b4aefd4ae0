//! The `[ingest]` and `[apps.<name>]` configuration sections.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use graphhook_kafka::SettingsError;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

/// How the webhook receiver listens and behaves.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSettings {
    /// The public listener: webhooks and callbacks only. Port 0 picks a free port
    /// (tests).
    pub listen: SocketAddr,
    /// The operations listener: `/healthz`, `/readyz`, `/metrics`. Loopback by
    /// default; give it a private address for probes and scrapers, never a public
    /// one.
    pub ops_listen: SocketAddr,
    /// HTTP worker threads; defaults to the number of CPUs.
    pub workers: Option<usize>,
    /// Largest accepted request body; larger ones get 413.
    pub max_body_bytes: usize,
    /// Public base URL of graphhook, used in data-deletion answers
    /// (`<base>/data-deletion/<code>`). Data-deletion callbacks are refused without it.
    pub public_base_url: Option<Url>,
    /// How long a stopping server lets in-flight requests finish, in seconds.
    pub shutdown_timeout_secs: u64,
    /// How long the readiness check waits for broker metadata, in milliseconds.
    pub readiness_timeout_ms: u64,
    /// How often the readiness check runs; `/readyz` answers its latest result.
    pub readiness_interval_ms: u64,
    /// A request body must arrive within this time, in milliseconds (a sender
    /// trickling it loses the connection with 408).
    pub body_timeout_ms: u64,
    /// Bytes of request bodies all requests together may hold; beyond it new
    /// requests wait `body_budget_wait_ms`, then get 503 (Meta retries).
    pub max_bytes_in_flight: usize,
    /// How long a request waits for room in `max_bytes_in_flight`, in milliseconds.
    pub body_budget_wait_ms: u64,
    /// On SIGTERM, how long `/readyz` says "draining" while deliveries are still
    /// served, before the listener closes (cover the load balancer's health-check
    /// interval times its failure threshold), in seconds.
    pub drain_secs: u64,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            ops_listen: SocketAddr::from(([127, 0, 0, 1], 9080)),
            workers: None,
            max_body_bytes: 4 * 1024 * 1024,
            public_base_url: None,
            shutdown_timeout_secs: 30,
            readiness_timeout_ms: 2_000,
            readiness_interval_ms: 1_000,
            body_timeout_ms: 10_000,
            max_bytes_in_flight: 32 * 1024 * 1024,
            body_budget_wait_ms: 1_000,
            drain_secs: 10,
        }
    }
}

/// One Meta app whose webhooks graphhook receives at `/webhooks/<name>`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppSettings {
    /// Meta's numeric app id.
    #[serde(deserialize_with = "graphhook_schema::lenient::string")]
    pub app_id: String,
    /// App secrets; a delivery signed with any of them is valid (rotation, the
    /// separate Instagram-login secret).
    #[serde(
        deserialize_with = "graphhook_kafka::lenient::secrets",
        serialize_with = "graphhook_kafka::redact::secret_list"
    )]
    pub secrets: Vec<SecretString>,
    /// The verify token typed in the App Dashboard; without it handshakes are refused.
    #[serde(
        default,
        deserialize_with = "graphhook_kafka::lenient::optional_secret",
        serialize_with = "graphhook_kafka::redact::optional_secret"
    )]
    pub verify_token: Option<SecretString>,
    /// Accept the legacy `X-Hub-Signature` (SHA-1) when no SHA-256 signature is sent.
    #[serde(default)]
    pub allow_sha1: bool,
    /// The app's Instagram app id ("Instagram API with Instagram Login"): the
    /// app Instagram-login tokens are issued for.
    #[serde(
        default,
        deserialize_with = "graphhook_schema::lenient::optional_string"
    )]
    pub instagram_app_id: Option<String>,
    /// The Instagram app's secret: Instagram-login tokens are checked, refreshed
    /// and proved (`appsecret_proof`) with it on graph.instagram.com. Deliveries
    /// signed with it are valid too.
    #[serde(
        default,
        deserialize_with = "graphhook_kafka::lenient::optional_secret",
        serialize_with = "graphhook_kafka::redact::optional_secret"
    )]
    pub instagram_app_secret: Option<SecretString>,
}

impl AppSettings {
    /// Every secret a delivery may be signed with: `secrets`, then the Instagram
    /// app's secret.
    pub fn signing_secrets(&self) -> Vec<SecretString> {
        let mut secrets = self.secrets.clone();
        secrets.extend(self.instagram_app_secret.clone());
        secrets
    }
}

impl IngestSettings {
    /// Checks values that deserialize but cannot work.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.max_body_bytes < 1024 || self.max_body_bytes > 256 * 1024 * 1024 {
            return Err(SettingsError::new(
                "ingest.max_body_bytes",
                "must be between 1 KiB and 256 MiB",
            ));
        }
        if self.workers == Some(0) {
            return Err(SettingsError::new("ingest.workers", "must be at least 1"));
        }
        if let Some(url) = &self.public_base_url {
            if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
                return Err(SettingsError::new(
                    "ingest.public_base_url",
                    "must be an absolute http(s) URL",
                ));
            }
        }
        for (key, value) in [
            ("ingest.readiness_timeout_ms", self.readiness_timeout_ms),
            ("ingest.readiness_interval_ms", self.readiness_interval_ms),
            ("ingest.body_timeout_ms", self.body_timeout_ms),
        ] {
            if value == 0 {
                return Err(SettingsError::new(key, "must be positive"));
            }
        }
        if self.max_bytes_in_flight < self.max_body_bytes {
            return Err(SettingsError::new(
                "ingest.max_bytes_in_flight",
                "must be at least ingest.max_body_bytes",
            ));
        }
        if self.drain_secs > 600 {
            return Err(SettingsError::new(
                "ingest.drain_secs",
                "must be at most 600",
            ));
        }
        if self.listen == self.ops_listen && self.listen.port() != 0 {
            return Err(SettingsError::new(
                "ingest.ops_listen",
                "must differ from ingest.listen: operations stay off the public listener",
            ));
        }
        Ok(())
    }
}

fn is_meta_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_digit())
}

/// The Instagram app: its id and secret come together.
fn validate_instagram_app(
    app: &AppSettings,
    key: &dyn Fn(&str) -> String,
) -> Result<(), SettingsError> {
    match (&app.instagram_app_id, &app.instagram_app_secret) {
        (None, None) => Ok(()),
        (Some(id), Some(secret)) => {
            if !is_meta_id(id) {
                return Err(SettingsError::new(
                    key("instagram_app_id"),
                    "must be Meta's numeric Instagram app id",
                ));
            }
            if secret.expose_secret().trim().is_empty() {
                return Err(SettingsError::new(key("instagram_app_secret"), "is empty"));
            }
            Ok(())
        }
        (Some(_), None) => Err(SettingsError::new(
            key("instagram_app_secret"),
            "is required with instagram_app_id",
        )),
        (None, Some(_)) => Err(SettingsError::new(
            key("instagram_app_id"),
            "is required with instagram_app_secret",
        )),
    }
}

/// Checks the `[apps]` table: at least one app, valid names, ids and secrets.
pub fn validate_apps(apps: &BTreeMap<String, AppSettings>) -> Result<(), SettingsError> {
    if apps.is_empty() {
        return Err(SettingsError::new(
            "apps",
            "configure at least one app ([apps.<name>] with app_id and secrets)",
        ));
    }
    for (name, app) in apps {
        let key = |field: &str| format!("apps.{name}.{field}");
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            return Err(SettingsError::new(
                format!("apps.{name}"),
                "app names may contain only ASCII letters, digits, '-' and '_' (at most 64)",
            ));
        }
        if !is_meta_id(&app.app_id) {
            return Err(SettingsError::new(
                key("app_id"),
                "must be Meta's numeric app id",
            ));
        }
        if app.secrets.is_empty() {
            return Err(SettingsError::new(
                key("secrets"),
                "at least one secret is required",
            ));
        }
        if let Some(i) = app
            .secrets
            .iter()
            .position(|s| s.expose_secret().trim().is_empty())
        {
            return Err(SettingsError::new(
                format!("{}[{i}]", key("secrets")),
                "is empty",
            ));
        }
        validate_instagram_app(app, &key)?;
        if app
            .verify_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().is_empty())
        {
            return Err(SettingsError::new(
                key("verify_token"),
                "is empty; omit it to refuse handshakes",
            ));
        }
    }
    Ok(())
}
