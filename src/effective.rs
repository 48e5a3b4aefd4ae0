//! What `graphhook check-config --for <command>` checks and prints, and the
//! effective configuration the binary logs at start-up: every section's values
//! after defaults, file and environment, secrets written as `<secret>`.

use std::net::SocketAddr;

use graphhook_ingest::validate_apps;
use graphhook_processor::settings::guessable_token;
use secrecy::ExposeSecret;

use crate::config::{ConfigError, Settings};

/// The command a configuration is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// `graphhook ingest`.
    Ingest,
    /// `graphhook process`.
    Process,
    /// `graphhook run`.
    Run,
    /// `graphhook replay` (of deliveries; `--dlq` needs only `[kafka]`).
    Replay,
}

impl Role {
    /// The command's name.
    pub fn command(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Process => "process",
            Role::Run => "run",
            Role::Replay => "replay",
        }
    }

    fn receives(self) -> bool {
        matches!(self, Role::Ingest | Role::Run | Role::Replay)
    }

    fn processes(self) -> bool {
        matches!(self, Role::Process | Role::Run)
    }
}

impl Settings {
    /// Checks everything `role`'s command needs, naming the first key that fails.
    pub fn validate_for(&self, role: Role) -> Result<(), ConfigError> {
        match role {
            Role::Ingest => {
                self.require_brokers("ingest")?;
                self.validate_ingest()
            }
            Role::Process => {
                self.require_brokers("process")?;
                self.validate_processor()
            }
            Role::Run => {
                self.validate_ingest()?;
                self.validate_processor()
            }
            Role::Replay => self.validate_replay(false),
        }
    }

    /// What `graphhook replay` needs: `kafka.brokers` (the cluster that holds the
    /// deliveries) and `[kafka]`; re-driving deliveries also needs `[apps]` (each
    /// delivery is normalized for its app) and, for data-deletion callbacks,
    /// `ingest.public_base_url`.
    pub fn validate_replay(&self, dead_letters: bool) -> Result<(), ConfigError> {
        self.require_brokers("replay")?;
        self.kafka.validate()?;
        if !dead_letters {
            validate_apps(&self.apps)?;
            self.ingest.validate()?;
        }
        self.log.validate()?;
        Ok(())
    }

    /// What works but is probably not what the operator wants, for `role`.
    pub fn warnings_for(&self, role: Role) -> Vec<String> {
        let mut warnings = Vec::new();
        if !self.ignored_env.is_empty() {
            warnings.push(format!(
                "ignored environment variables that name no configuration section: {} \
                 (Kubernetes injects GRAPHHOOK_PORT, GRAPHHOOK_SERVICE_HOST, ... for a Service named graphhook; \
                 set enableServiceLinks: false on the pod)",
                self.ignored_env.join(", ")
            ));
        }
        if role.receives() && role != Role::Replay {
            for (name, app) in &self.apps {
                if app.verify_token.is_none() {
                    warnings.push(format!(
                        "apps.{name}.verify_token is not set: Meta's subscription handshake for this app is refused (403)"
                    ));
                }
            }
            if self.ingest.public_base_url.is_none() {
                warnings.push(
                    "ingest.public_base_url is not set: data-deletion callbacks are refused (Meta needs a status URL in the answer)"
                        .to_owned(),
                );
            }
        }
        if role.receives() {
            if let Some(url) = &self.ingest.public_base_url {
                if url.scheme() == "http" {
                    warnings.push(format!(
                        "ingest.public_base_url ({url}) is http://: Meta shows data-deletion status URLs to users and expects https://"
                    ));
                }
            }
        }
        if self.kafka.embedded() {
            if role == Role::Run {
                warnings.push("kafka.brokers is not set: the in-process Kafka cluster keeps records in memory and they do NOT survive a restart; set kafka.brokers for production".to_owned());
            }
        } else if self.kafka.replication_factor == 1 {
            warnings.push("kafka.replication_factor = 1: topics graphhook creates keep one copy; an acknowledged delivery is lost with its broker".to_owned());
        } else if self.kafka.replication_factor == -1 {
            warnings.push("kafka.replication_factor = -1 takes the broker's default.replication.factor, which is 1 unless the cluster changed it".to_owned());
        }
        if role.receives() && role != Role::Replay {
            warnings.extend(exposed("ingest.ops_listen", self.ingest.ops_listen));
        }
        if role.processes() {
            warnings.extend(exposed("processor.ops_listen", self.processor.ops_listen));
            if self.processor.admin_token.is_empty() {
                warnings.push("processor.admin_token is not set: the admin API is off".to_owned());
            }
            for (i, token) in self.processor.admin_token.iter().enumerate() {
                if let Some(why) = guessable_token(token.expose_secret()) {
                    warnings.push(format!(
                        "processor.admin_token[{i}] is guessable ({why}): replace it with openssl rand -hex 32"
                    ));
                }
            }
            if self.tokens.keys.is_empty() {
                warnings.push(
                    "tokens.keys is not set: tokens cannot be registered and nothing calls Meta"
                        .to_owned(),
                );
            }
            if self.apps.is_empty() {
                warnings.push("[apps] is empty: the admin API refuses every app and no app token exists for Meta's calls".to_owned());
            }
            if role == Role::Process
                && self
                    .processor
                    .database_url
                    .expose_secret()
                    .starts_with("sqlite:")
            {
                warnings.push("processor.database_url is SQLite: replicas of `graphhook process` cannot share it; use PostgreSQL".to_owned());
            }
        }
        warnings
    }

    /// Every section's effective values as TOML, secrets as `<secret>`.
    pub fn effective_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }

    /// Every section's effective values as one line of JSON, secrets as
    /// `<secret>` (the start-up log line).
    pub fn effective_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|error| format!("unavailable: {error}"))
    }
}

fn exposed(key: &str, address: SocketAddr) -> Option<String> {
    (!address.ip().is_loopback()).then(|| {
        format!("{key} ({address}) is not loopback: keep it off the internet (firewall, no public load balancer route)")
    })
}

/// `graphhook check-config --for <role>`: validates, then prints the warnings and
/// the effective configuration.
pub fn check_config(settings: &Settings, role: Role) -> anyhow::Result<String> {
    settings.validate_for(role)?;
    let mut out = format!(
        "configuration is valid for `graphhook {}`\n",
        role.command()
    );
    for warning in settings.warnings_for(role) {
        out.push_str(&format!("warning: {warning}\n"));
    }
    out.push_str("\n# effective configuration (secrets shown as <secret>)\n");
    out.push_str(&settings.effective_toml()?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use graphhook_ingest::AppSettings;
    use secrecy::SecretString;

    fn settings() -> Settings {
        let mut settings = Settings::default();
        settings.kafka.brokers = "k1:9092".into();
        settings.apps.insert(
            "main".into(),
            AppSettings {
                app_id: "1".into(),
                secrets: vec![SecretString::from("app-s3cret-value")],
                verify_token: Some(SecretString::from("verify-s3cret")),
                allow_sha1: false,
                instagram_app_id: None,
                instagram_app_secret: None,
            },
        );
        settings.processor.database_url =
            SecretString::from("postgres://graphhook:db-pa55@db/graphhook");
        settings.processor.admin_token =
            vec![SecretString::from("0f1e2d3c4b5a69788796a5b4c3d2e1f0-Xq7")];
        settings.ingest.public_base_url = Some("https://hooks.example.com".parse().expect("url"));
        settings
            .kafka
            .client
            .insert("sasl.password".into(), "sasl-pa55".into());
        settings
    }

    #[test]
    fn every_section_is_printed_and_no_secret() {
        let out = check_config(&settings(), Role::Process).expect("valid for process");
        for section in [
            "[ingest]",
            "[apps.main]",
            "[kafka]",
            "[kafka.client]",
            "[processor]",
            "[graph]",
            "[tokens]",
            "[publishing]",
            "[log]",
        ] {
            assert!(out.contains(section), "{section} missing:\n{out}");
        }
        for secret in [
            "app-s3cret-value",
            "verify-s3cret",
            "db-pa55",
            "0f1e2d3c",
            "sasl-pa55",
        ] {
            assert!(!out.contains(secret), "{secret} printed:\n{out}");
        }
        assert!(
            out.contains("postgres://graphhook:***@db/graphhook"),
            "{out}"
        );
        assert!(out.contains("\"sasl.password\" = \"<secret>\""), "{out}");
        let json = settings().effective_json();
        assert!(!json.contains("app-s3cret-value") && json.contains("<secret>"));
    }

    #[test]
    fn each_command_checks_what_it_needs() {
        let mut embedded = settings();
        embedded.kafka.brokers.clear();
        for role in [Role::Ingest, Role::Process, Role::Replay] {
            let error = format!(
                "{:#}",
                anyhow::Error::from(embedded.validate_for(role).unwrap_err())
            );
            assert!(error.contains("kafka.brokers"), "{role:?}: {error}");
        }
        embedded
            .validate_for(Role::Run)
            .expect("run may be embedded");
        let mut no_apps = settings();
        no_apps.apps.clear();
        no_apps
            .validate_for(Role::Process)
            .expect("the processor runs without apps");
        for role in [Role::Ingest, Role::Replay] {
            let error = format!(
                "{:#}",
                anyhow::Error::from(no_apps.validate_for(role).unwrap_err())
            );
            assert!(error.contains("apps"), "{role:?}: {error}");
        }
        no_apps
            .validate_replay(true)
            .expect("replaying dead letters needs no apps");
        let warnings = no_apps.warnings_for(Role::Process);
        assert!(
            warnings.iter().any(|w| w.contains("[apps] is empty")),
            "{warnings:?}"
        );
        let mut weak = settings();
        weak.processor.admin_token = vec![SecretString::from("short")];
        let error = format!(
            "{:#}",
            anyhow::Error::from(weak.validate_for(Role::Process).unwrap_err())
        );
        assert!(error.contains("processor.admin_token"), "{error}");
        weak.validate_for(Role::Ingest)
            .expect("ingest does not need the admin token");
    }

    #[test]
    fn warnings_name_what_is_probably_wrong() {
        let mut plain = settings();
        plain.ingest.public_base_url = Some("http://hooks.example.com".parse().expect("url"));
        plain.kafka.replication_factor = 1;
        plain.kafka.min_insync_replicas = 1;
        plain.ingest.ops_listen = "0.0.0.0:9080".parse().expect("address");
        let warnings = plain.warnings_for(Role::Ingest).join("\n");
        assert!(warnings.contains("ingest.public_base_url"), "{warnings}");
        assert!(
            warnings.contains("kafka.replication_factor = 1"),
            "{warnings}"
        );
        assert!(warnings.contains("ingest.ops_listen"), "{warnings}");
        let defaults = settings().warnings_for(Role::Ingest);
        assert!(defaults.is_empty(), "{defaults:?}");
        let mut bare = settings();
        bare.ingest.public_base_url = None;
        if let Some(app) = bare.apps.get_mut("main") {
            app.verify_token = None;
        }
        bare.processor.admin_token = vec![SecretString::from(
            "example-Admin-token-0123456789-change-me",
        )];
        bare.ignored_env = vec!["GRAPHHOOK_PORT".into(), "GRAPHHOOK_BIN".into()];
        let warnings = bare.warnings_for(Role::Run).join("\n");
        for expected in [
            "apps.main.verify_token is not set",
            "ingest.public_base_url is not set",
            "processor.admin_token[0] is guessable",
            "GRAPHHOOK_PORT, GRAPHHOOK_BIN",
            "enableServiceLinks",
        ] {
            assert!(warnings.contains(expected), "{expected}: {warnings}");
        }
        assert!(!warnings.contains("0123456789-change-me"), "{warnings}");
    }
}
