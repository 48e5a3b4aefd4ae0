//! Layered configuration: built-in defaults, then a TOML file, then `GRAPHHOOK_`
//! environment variables (`__` separates levels: `GRAPHHOOK_KAFKA__BROKERS`,
//! `GRAPHHOOK_APPS__MAIN__SECRETS='["s1","s2"]'`), then secrets from files
//! (`<key>_file`, see `secret_files`), then validation that names the offending
//! key.

use std::collections::BTreeMap;
use std::path::Path;

use figment::error::{Actual, Kind};
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
use crate::telemetry::LogSettings;

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

/// The sections a `GRAPHHOOK_<SECTION>__...` variable may name.
const SECTIONS: [&str; 8] = [
    "ingest",
    "apps",
    "kafka",
    "processor",
    "graph",
    "tokens",
    "publishing",
    "log",
];

/// Whether the environment variable key (prefix removed, levels split by `__`)
/// names a section of the configuration.
fn names_a_section(key: &str) -> bool {
    let section = key.split("__").next().unwrap_or_default();
    SECTIONS.iter().any(|s| s.eq_ignore_ascii_case(section))
}

/// The `GRAPHHOOK_` variables that name no section (`GRAPHHOOK_CONFIG`, the
/// command line's, aside).
fn stray_variables() -> Vec<String> {
    let mut names: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| {
            name.get(..ENV_PREFIX.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(ENV_PREFIX))
                && !name[ENV_PREFIX.len()..].eq_ignore_ascii_case("config")
                && !names_a_section(&name[ENV_PREFIX.len()..])
        })
        .collect();
    names.sort();
    names
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

/// Checks that `path` parses as TOML; the error names the place, not the text.
fn check_toml_syntax(path: &Path) -> Result<(), ConfigError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        // figment reports an unreadable file itself.
        return Ok(());
    };
    let Err(error) = toml::from_str::<toml::Table>(&text) else {
        return Ok(());
    };
    let offset = error.span().map_or(0, |span| span.start).min(text.len());
    let before = text.get(..offset).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Err(ConfigError::Syntax {
        file: path.display().to_string(),
        line,
        column,
        message: error.message().to_owned(),
    })
}

/// Configuration keys whose values are secrets, wherever they appear.
const SECRET_KEYS: [&str; 6] = [
    "secrets",
    "instagram_app_secret",
    "verify_token",
    "admin_token",
    "database_url",
    "keys",
];

/// Whether the value at `path` is a secret: a key of [`SECRET_KEYS`] (or inside
/// one), or any `kafka.client.*` property.
fn is_secret_path(path: &[String]) -> bool {
    path.iter().any(|key| SECRET_KEYS.contains(&key.as_str()))
        || (path.first().map(String::as_str) == Some("kafka")
            && path.get(1).map(String::as_str) == Some("client"))
}

/// Replaces the values quoted by errors about secret keys: figment's errors quote
/// what they found (`found string "..."`), which for a malformed secret is the
/// secret itself.
fn redact_secrets(error: figment::Error) -> figment::Error {
    let mut errors: Vec<figment::Error> = error
        .into_iter()
        .map(|mut e| {
            if is_secret_path(&e.path) {
                e.kind = redact_kind(e.kind);
            }
            e
        })
        .collect();
    let Some(mut chained) = errors.pop() else {
        return figment::Error::from("invalid configuration".to_owned());
    };
    while let Some(next) = errors.pop() {
        chained = chained.chain(next);
    }
    chained
}

fn redact_kind(kind: Kind) -> Kind {
    let hidden = |actual: Actual| match actual {
        Actual::Str(_) | Actual::Bytes(_) | Actual::Char(_) | Actual::Other(_) => {
            Actual::Other("a value (not shown: secret)".to_owned())
        }
        Actual::Unsigned(_) | Actual::Signed(_) | Actual::Float(_) => {
            Actual::Other("a number (not shown: secret)".to_owned())
        }
        other => other,
    };
    match kind {
        Kind::InvalidType(actual, expected) => Kind::InvalidType(hidden(actual), expected),
        Kind::InvalidValue(actual, expected) => Kind::InvalidValue(hidden(actual), expected),
        Kind::Unsupported(actual) => Kind::Unsupported(hidden(actual)),
        Kind::UnsupportedKey(actual, key) => Kind::UnsupportedKey(hidden(actual), key),
        Kind::UnknownVariant(_, expected) => {
            Kind::UnknownVariant("(not shown: secret)".to_owned(), expected)
        }
        Kind::Message(_) => Kind::Message("invalid value (not shown: secret)".to_owned()),
        other => other,
    }
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
// figment's `Jail` closures return figment's (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;
    use secrecy::ExposeSecret;

    const FILE: &str = r#"
        [ingest]
        listen = "127.0.0.1:9000"
        [kafka]
        brokers = "k1:9092"
        [apps.main]
        app_id = "123"
        secrets = ["from-file"]
    "#;

    fn load(jail: &Jail) -> Result<Settings, ConfigError> {
        Settings::load(Some(&jail.directory().join("graphhook.toml")))
    }

    #[test]
    fn environment_overrides_the_file_which_overrides_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file("graphhook.toml", FILE)?;
            jail.set_env("GRAPHHOOK_KAFKA__BROKERS", "k2:9092");
            jail.set_env("GRAPHHOOK_APPS__MAIN__SECRETS", r#"["a", 12345]"#);
            jail.set_env("GRAPHHOOK_APPS__MAIN__VERIFY_TOKEN", "987");
            let settings = load(jail).expect("loads");
            assert_eq!(settings.kafka.brokers, "k2:9092");
            assert_eq!(settings.ingest.listen.port(), 9000);
            assert_eq!(settings.kafka.produce_deadline_ms, 3000, "default kept");
            let app = &settings.apps["main"];
            let secrets: Vec<&str> = app.secrets.iter().map(|s| s.expose_secret()).collect();
            assert_eq!(secrets, ["a", "12345"]);
            assert_eq!(
                app.verify_token.as_ref().map(|t| t.expose_secret()),
                Some("987")
            );
            settings.validate_ingest().expect("valid");
            Ok(())
        });
    }

    #[test]
    fn errors_name_the_key() {
        Jail::expect_with(|jail| {
            jail.create_file("graphhook.toml", FILE)?;
            jail.set_env("GRAPHHOOK_KAFKA__PARTITIONS", "many");
            let error = format!("{:#}", anyhow::Error::from(load(jail).unwrap_err()));
            assert!(
                error.contains("KAFKA.PARTITIONS") || error.contains("kafka.partitions"),
                "{error}"
            );
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.create_file("graphhook.toml", &FILE.replace("listen", "lisen"))?;
            let error = format!("{:#}", anyhow::Error::from(load(jail).unwrap_err()));
            assert!(error.contains("lisen"), "{error}");
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.create_file("graphhook.toml", &FILE.replace(r#"["from-file"]"#, "[]"))?;
            let error = load(jail).expect("loads").validate_ingest().unwrap_err();
            let error = format!("{:#}", anyhow::Error::from(error));
            assert!(
                error.contains("apps.main.secrets: at least one secret"),
                "{error}"
            );
            Ok(())
        });
    }

    #[test]
    fn a_single_secret_may_be_one_string_and_a_malformed_one_is_never_printed() {
        Jail::expect_with(|jail| {
            jail.create_file("graphhook.toml", FILE)?;
            jail.set_env("GRAPHHOOK_APPS__MAIN__SECRETS", "only-one-s3cret");
            let settings = load(jail).expect("one string is one secret");
            let secrets: Vec<&str> = settings.apps["main"]
                .secrets
                .iter()
                .map(|s| s.expose_secret())
                .collect();
            assert_eq!(secrets, ["only-one-s3cret"]);
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.create_file("graphhook.toml", FILE)?;
            jail.set_env("GRAPHHOOK_APPS__MAIN__SECRETS", r#"[["leaked-s3cret"]]"#);
            jail.set_env("GRAPHHOOK_PROCESSOR__ADMIN_TOKEN", r#"[["leaked-t0ken"]]"#);
            let error = format!("{:#}", anyhow::Error::from(load(jail).unwrap_err()));
            assert!(
                !error.contains("leaked-s3cret") && !error.contains("leaked-t0ken"),
                "{error}"
            );
            let lower = error.to_lowercase();
            assert!(
                lower.contains("secrets") || lower.contains("admin_token"),
                "{error}"
            );
            Ok(())
        });
    }

    #[test]
    fn debug_output_shows_no_secret() {
        Jail::expect_with(|jail| {
            jail.create_file("graphhook.toml", FILE)?;
            jail.set_env(
                "GRAPHHOOK_PROCESSOR__DATABASE_URL",
                "postgres://graphhook:db-pa55word@db/graphhook",
            );
            jail.set_env(
                "GRAPHHOOK_PROCESSOR__ADMIN_TOKEN",
                "admin-t0ken-0123456789abcdef-xyz",
            );
            jail.set_env("GRAPHHOOK_KAFKA__CLIENT__SASL__PASSWORD", "sasl-pa55word");
            jail.set_env("GRAPHHOOK_KAFKA__CLIENT__LINGER__MS", "5");
            let settings = load(jail).expect("loads");
            assert_eq!(settings.kafka.client["sasl.password"], "sasl-pa55word");
            assert_eq!(settings.kafka.client["linger.ms"], "5");
            let debug = format!("{settings:?}");
            for secret in ["db-pa55word", "admin-t0ken", "sasl-pa55word", "from-file"] {
                assert!(!debug.contains(secret), "{secret} in {debug}");
            }
            Ok(())
        });
    }

    #[test]
    fn variables_that_name_no_section_are_ignored_and_listed() {
        Jail::expect_with(|jail| {
            jail.create_file("graphhook.toml", FILE)?;
            jail.set_env("GRAPHHOOK_PORT", "tcp://10.0.0.7:8080");
            jail.set_env("GRAPHHOOK_SERVICE_HOST", "10.0.0.7");
            jail.set_env("GRAPHHOOK_PORT_8080_TCP_ADDR", "10.0.0.7");
            jail.set_env("GRAPHHOOK_BIN", "/usr/local/bin/graphhook");
            jail.set_env("GRAPHHOOK_KAFKA__BROKERS", "k2:9092");
            let settings = load(jail).expect("stray variables do not stop graphhook");
            assert_eq!(settings.kafka.brokers, "k2:9092", "sections still apply");
            assert_eq!(
                settings.ignored_env,
                [
                    "GRAPHHOOK_BIN",
                    "GRAPHHOOK_PORT",
                    "GRAPHHOOK_PORT_8080_TCP_ADDR",
                    "GRAPHHOOK_SERVICE_HOST"
                ]
            );
            jail.set_env("GRAPHHOOK_KAFKA__NO_SUCH_KEY", "1");
            let error = format!("{:#}", anyhow::Error::from(load(jail).unwrap_err()));
            assert!(
                error.contains("no_such_key"),
                "a typo inside a section still fails: {error}"
            );
            Ok(())
        });
    }

    #[test]
    fn a_toml_syntax_error_names_the_place_and_never_prints_the_line() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "graphhook.toml",
                "[apps.main]\napp_id = \"123\"\nsecrets = [\"leaked-s3cret\", \"other-s3cret\"\n",
            )?;
            let error = format!("{:#}", anyhow::Error::from(load(jail).unwrap_err()));
            assert!(!error.contains("s3cret"), "{error}");
            assert!(error.contains("graphhook.toml:"), "{error}");
            assert!(error.contains("not valid TOML"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_list_that_does_not_parse_is_refused_not_taken_as_one_secret() {
        Jail::expect_with(|jail| {
            jail.create_file("graphhook.toml", FILE)?;
            jail.set_env("GRAPHHOOK_APPS__MAIN__SECRETS", r#"["leaked-s3cret","#);
            let error = format!("{:#}", anyhow::Error::from(load(jail).unwrap_err()));
            assert!(!error.contains("leaked-s3cret"), "{error}");
            assert!(error.to_lowercase().contains("secrets"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn token_key_ids_from_the_environment_match_whatever_their_case() {
        Jail::expect_with(|jail| {
            jail.create_file("graphhook.toml", FILE)?;
            jail.set_env(
                "GRAPHHOOK_TOKENS__KEYS__K2026_11",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            );
            jail.set_env("GRAPHHOOK_TOKENS__ACTIVE_KEY", "K2026_11");
            let settings = load(jail).expect("loads");
            settings
                .validate_processor()
                .expect("K2026_11 names k2026_11");
            Ok(())
        });
    }

    #[test]
    fn production_commands_require_brokers() {
        let error = Settings::default().require_brokers("ingest").unwrap_err();
        assert!(format!("{:#}", anyhow::Error::from(error)).contains("kafka.brokers"));
    }

    #[test]
    fn a_missing_file_is_named() {
        let error = Settings::load(Some(Path::new("/nonexistent/graphhook.toml"))).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/graphhook.toml"));
    }
}
