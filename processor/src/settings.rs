//! The `[processor]` configuration section.

use std::net::SocketAddr;

use graphhook_kafka::SettingsError;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// How the processor consumes and stores.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessorSettings {
    /// The public listener: only the data-deletion status page
    /// (`/data-deletion/{code}`). Port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// The operations and administration listener: `/healthz`, `/readyz`,
    /// `/metrics` and the admin API under `/v1`. Loopback by default.
    pub ops_listen: SocketAddr,
    /// Bearer tokens of the admin API under `/v1` (one, or a list while rotating:
    /// each is accepted); without any the API is off (404). At least 32 random
    /// characters each (`openssl rand -hex 32`).
    #[serde(
        deserialize_with = "graphhook_kafka::lenient::secrets",
        serialize_with = "graphhook_kafka::redact::secret_list"
    )]
    pub admin_token: Vec<SecretString>,
    /// Largest request body the admin API accepts; larger ones get 413.
    pub max_body_bytes: usize,
    /// On SIGTERM, how long `/readyz` says "draining" before the processor stops,
    /// in seconds.
    pub drain_secs: u64,
    /// `postgres://...` in production; `sqlite://graphhook.db?mode=rwc` by default
    /// (the embedded mode). A secret: it can hold a password.
    #[serde(serialize_with = "serialize_redacted_url")]
    pub database_url: SecretString,
    /// Connections to PostgreSQL (SQLite always uses one).
    pub max_connections: u32,
    /// Kafka consumer group.
    pub group_id: String,
    /// Most events applied in one database transaction.
    pub batch_size: usize,
    /// How long a batch waits for more records to fill, in milliseconds. With 0 (the
    /// default) a batch is what has arrived: one record when they come one at a
    /// time, `batch_size` under load, where records wait while the previous batch
    /// commits. More trades latency for fewer, larger transactions at low rates.
    pub batch_wait_ms: u64,
    /// First retry delay after a transient failure, in milliseconds (doubles, with
    /// jitter, up to 30 s).
    pub retry_initial_ms: u64,
    /// How long processed event ids are remembered, in hours (0: forever). A
    /// redelivery or replay of an event older than this is applied again, so keep
    /// it well beyond Meta's 36-hour retries and any replay you may run.
    pub processed_events_retention_hours: u64,
    /// When the broker serves a record past offsets it did not serve (a gap), the
    /// partition is re-read from the gap's start and, where the broker answers
    /// past it again, from further back: at most this many offsets before the
    /// gap. Re-read records already applied are skipped.
    pub gap_reread_max: u64,
}

impl Default for ProcessorSettings {
    fn default() -> Self {
        ProcessorSettings {
            listen: SocketAddr::from(([0, 0, 0, 0], 8081)),
            ops_listen: SocketAddr::from(([127, 0, 0, 1], 9081)),
            admin_token: Vec::new(),
            max_body_bytes: 1024 * 1024,
            drain_secs: 5,
            database_url: SecretString::from("sqlite://graphhook.db?mode=rwc"),
            max_connections: 8,
            group_id: "graphhook-processor".to_owned(),
            batch_size: 500,
            batch_wait_ms: 0,
            retry_initial_ms: 200,
            processed_events_retention_hours: 24 * 14,
            gap_reread_max: 10_000,
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

fn serialize_redacted_url<S: Serializer>(url: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url.expose_secret()))
}

/// Why `token` would be a weak admin token, if it would: shorter than 32
/// characters, spaces in it, or too few distinct characters or kinds of them to
/// have come from a random generator.
pub fn weak_token(token: &str) -> Option<&'static str> {
    if token.chars().count() < 32 {
        return Some("must be at least 32 characters (openssl rand -hex 32)");
    }
    if token.chars().any(char::is_whitespace) {
        return Some("must not contain spaces");
    }
    let distinct: std::collections::BTreeSet<char> = token.chars().collect();
    let kinds = [
        token.chars().any(|c| c.is_ascii_lowercase()),
        token.chars().any(|c| c.is_ascii_uppercase()),
        token.chars().any(|c| c.is_ascii_digit()),
        token.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if distinct.len() < 10 || kinds.iter().filter(|k| **k).count() < 2 {
        return Some("does not look random (openssl rand -hex 32)");
    }
    None
}

/// Why a token that passes [`weak_token`] is still guessable, if it is: a
/// common word, a run of six ascending characters (`123456`, `abcdef`), or a
/// six-character piece repeated. `openssl rand -hex 32` makes none of these
/// but once in many thousand tokens.
pub fn guessable_token(token: &str) -> Option<&'static str> {
    const WORDS: [&str; 9] = [
        "password", "passwort", "change", "example", "secret", "admin", "token", "qwerty",
        "letmein",
    ];
    let lower = token.to_ascii_lowercase();
    if WORDS.iter().any(|word| lower.contains(word)) {
        return Some("contains a common word");
    }
    let bytes = lower.as_bytes();
    if bytes
        .windows(6)
        .any(|w| w.windows(2).all(|p| p[1] == p[0].wrapping_add(1)))
    {
        return Some("contains a sequence");
    }
    let repeated = (0..bytes.len().saturating_sub(6)).any(|i| {
        let piece = &bytes[i..i + 6];
        bytes[i + 6..].windows(6).any(|w| w == piece)
    });
    if repeated {
        return Some("repeats itself");
    }
    None
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
        for (i, token) in self.admin_token.iter().enumerate() {
            if let Some(problem) = weak_token(token.expose_secret().trim()) {
                let key = if self.admin_token.len() == 1 {
                    "processor.admin_token".to_owned()
                } else {
                    format!("processor.admin_token[{i}]")
                };
                return Err(SettingsError::new(key, problem));
            }
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.max_body_bytes) {
            return Err(SettingsError::new(
                "processor.max_body_bytes",
                "must be between 1 KiB and 64 MiB",
            ));
        }
        if self.drain_secs > 600 {
            return Err(SettingsError::new(
                "processor.drain_secs",
                "must be at most 600",
            ));
        }
        if self.listen == self.ops_listen && self.listen.port() != 0 {
            return Err(SettingsError::new(
                "processor.ops_listen",
                "must differ from processor.listen: administration stays off the public listener",
            ));
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
        let weak = ProcessorSettings {
            admin_token: vec![SecretString::from("short")],
            ..Default::default()
        };
        let error = weak.validate().unwrap_err().to_string();
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

    #[test]
    fn guessable_admin_tokens_are_told_apart_from_random_ones() {
        for guessable in [
            "example-Admin-token-0123456789-change-me",
            "passwordpassword1234567890123456",
            "Zq7vB3xK9mW2pL5nR8tY4cF6hJ1gD0sQ-abcdefgh",
            "q8Zr2Lx9Wv4Kt7Pq8Zr2Lx9Wv4Kt7Pm1Nb6Hc3Dy5",
        ] {
            assert!(guessable_token(guessable).is_some(), "{guessable} passed");
        }
        for random in [
            "f8ae2cbd747466ce557c739911537ff789d44a99297a35c9acdd15d224843ccf",
            "NgJvYB6rhlRvWsmtoL8nbGc+KrE7EuvfOEpdhgZJY4s=",
        ] {
            assert_eq!(guessable_token(random), None, "{random} warned about");
        }
    }

    #[test]
    fn admin_tokens_must_look_random() {
        for weak in [
            "short",
            "0123456789012345678901234567890123",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "changeme changeme changeme changeme",
        ] {
            assert!(weak_token(weak).is_some(), "{weak} accepted");
        }
        for strong in [
            "3f9c2a7be1d04c55a8e6b2f7c9d1e0a43f9c2a7be1d04c55a8e6b2f7c9d1e0a4",
            "q1W8zr0X+5v9YbT2nL6pK4mJ3hG7fD0sA==",
        ] {
            assert_eq!(weak_token(strong), None, "{strong} refused");
        }
        let rotating = ProcessorSettings {
            admin_token: vec![
                SecretString::from("3f9c2a7be1d04c55a8e6b2f7c9d1e0a43f9c2a7b"),
                SecretString::from("too-short"),
            ],
            ..Default::default()
        };
        let error = rotating.validate().unwrap_err();
        assert_eq!(error.key, "processor.admin_token[1]");
    }
}
