//! The `[kafka]` configuration section.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How graphhook reaches Kafka.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSettings {
    /// `bootstrap.servers`. Empty means the embedded in-process cluster.
    pub brokers: String,
    /// Prefix of every topic name.
    pub topic_prefix: String,
    /// Create missing topics at start.
    pub create_topics: bool,
    /// Partitions of topics graphhook creates.
    pub partitions: i32,
    /// Replication factor of topics graphhook creates; -1 takes the broker's default.
    pub replication_factor: i32,
    /// How long ingest waits for Kafka to acknowledge a request's records before
    /// answering 503, in milliseconds.
    pub produce_deadline_ms: u64,
    /// Extra librdkafka properties for every client (e.g. `security.protocol`).
    pub client: BTreeMap<String, String>,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings {
            brokers: String::new(),
            topic_prefix: "graphhook.".to_owned(),
            create_topics: true,
            partitions: 6,
            replication_factor: -1,
            produce_deadline_ms: 3_000,
            client: BTreeMap::new(),
        }
    }
}

/// A configuration value that cannot work, naming its key.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct SettingsError {
    /// The full configuration key, e.g. `kafka.partitions`.
    pub key: String,
    /// What is wrong with it.
    pub problem: String,
}

impl SettingsError {
    /// A problem with `key`.
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        SettingsError {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// Properties graphhook sets itself; overriding them would break its guarantees.
const RESERVED: [&str; 4] = [
    "acks",
    "enable.idempotence",
    "bootstrap.servers",
    "enable.auto.commit",
];

impl KafkaSettings {
    /// Whether the embedded in-process cluster is used.
    pub fn embedded(&self) -> bool {
        self.brokers.trim().is_empty()
    }

    /// Checks values that deserialize but cannot work.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.partitions < 1 {
            return Err(SettingsError::new("kafka.partitions", "must be at least 1"));
        }
        if self.replication_factor == 0 || self.replication_factor < -1 {
            return Err(SettingsError::new(
                "kafka.replication_factor",
                "must be -1 (broker default) or at least 1",
            ));
        }
        if !(100..=20_000).contains(&self.produce_deadline_ms) {
            return Err(SettingsError::new(
                "kafka.produce_deadline_ms",
                "must be between 100 and 20000: Meta waits at most a few seconds",
            ));
        }
        let valid_prefix = self
            .topic_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid_prefix || self.topic_prefix.len() > 200 {
            return Err(SettingsError::new(
                "kafka.topic_prefix",
                "may contain only ASCII letters, digits, '.', '_' and '-'",
            ));
        }
        if let Some(key) = self.client.keys().find(|k| RESERVED.contains(&k.as_str())) {
            return Err(SettingsError::new(
                format!("kafka.client.{key}"),
                "is set by graphhook and cannot be overridden",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_embedded() {
        let settings = KafkaSettings::default();
        settings.validate().unwrap();
        assert!(settings.embedded());
    }

    #[test]
    fn errors_name_the_key() {
        let settings = KafkaSettings {
            partitions: 0,
            ..Default::default()
        };
        assert_eq!(settings.validate().unwrap_err().key, "kafka.partitions");
        let mut settings = KafkaSettings::default();
        settings.client.insert("acks".into(), "1".into());
        assert_eq!(settings.validate().unwrap_err().key, "kafka.client.acks");
        let settings = KafkaSettings {
            topic_prefix: "a b".into(),
            ..Default::default()
        };
        assert_eq!(settings.validate().unwrap_err().key, "kafka.topic_prefix");
    }
}
