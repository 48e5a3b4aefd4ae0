//! The `[kafka]` configuration section.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How graphhook reaches Kafka.
#[derive(Clone, Serialize, Deserialize)]
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
    /// Replication factor of topics graphhook creates; -1 takes the broker's
    /// default (which is 1 unless the cluster changed it).
    pub replication_factor: i32,
    /// `min.insync.replicas` of topics graphhook creates (at most the replication
    /// factor): with `acks=all`, a record is acknowledged once this many replicas
    /// have it.
    pub min_insync_replicas: i32,
    /// How long ingest waits for Kafka to acknowledge a request's records before
    /// answering 503, in milliseconds.
    pub produce_deadline_ms: u64,
    /// The largest record graphhook writes, in bytes: the producers'
    /// `message.max.bytes` and the `max.message.bytes` of the topics it creates.
    /// Must hold a body of `ingest.max_body_bytes` (and its base64 copy in `dlq.v1`).
    pub max_message_bytes: usize,
    /// Extra librdkafka properties for every client (e.g. `security.protocol`).
    /// Values of keys that look secret are never printed. Nested tables are joined
    /// with dots, so `GRAPHHOOK_KAFKA__CLIENT__SASL__PASSWORD` (or `sasl.password`
    /// unquoted in TOML) sets `sasl.password`.
    #[serde(
        deserialize_with = "flatten_properties",
        serialize_with = "crate::redact::client_properties"
    )]
    pub client: BTreeMap<String, String>,
}

/// A librdkafka property value or a table of them (a dotted key split by the
/// configuration loader).
#[derive(Deserialize)]
#[serde(untagged)]
enum Property {
    Text(String),
    Number(i64),
    Flag(bool),
    Table(BTreeMap<String, Property>),
}

fn flatten_properties<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    fn flatten(
        prefix: &str,
        table: BTreeMap<String, Property>,
        out: &mut BTreeMap<String, String>,
    ) {
        for (key, value) in table {
            let key = if prefix.is_empty() {
                key
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                Property::Text(text) => {
                    out.insert(key, text);
                }
                Property::Number(n) => {
                    out.insert(key, n.to_string());
                }
                Property::Flag(flag) => {
                    out.insert(key, flag.to_string());
                }
                Property::Table(table) => flatten(&key, table, out),
            }
        }
    }
    let table = BTreeMap::<String, Property>::deserialize(deserializer)?;
    let mut out = BTreeMap::new();
    flatten("", table, &mut out);
    Ok(out)
}

impl std::fmt::Debug for KafkaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSettings")
            .field("brokers", &self.brokers)
            .field("topic_prefix", &self.topic_prefix)
            .field("create_topics", &self.create_topics)
            .field("partitions", &self.partitions)
            .field("replication_factor", &self.replication_factor)
            .field("min_insync_replicas", &self.min_insync_replicas)
            .field("produce_deadline_ms", &self.produce_deadline_ms)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("client", &self.client_redacted())
            .finish()
    }
}

/// Parts of librdkafka property names whose values are secrets (passwords, keys,
/// tokens, JAAS and OAuth configurations).
const SECRET_KEY_PARTS: [&str; 7] = [
    "password",
    "secret",
    "key",
    "token",
    "jaas",
    "credential",
    "oauthbearer.config",
];

/// Whether the librdkafka property `key` holds a secret.
pub fn is_secret_client_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEY_PARTS.iter().any(|part| key.contains(part))
}

/// Bytes a record needs beyond the body it carries: headers, the event envelope,
/// the JSON of a dead letter.
pub const RECORD_OVERHEAD_BYTES: usize = 64 * 1024;

/// The largest record graphhook may write for bodies of up to `max_body_bytes`: a
/// dead letter carries the original record in base64 (4/3 of its size).
pub fn required_message_bytes(max_body_bytes: usize) -> usize {
    (max_body_bytes + RECORD_OVERHEAD_BYTES).div_ceil(3) * 4 + RECORD_OVERHEAD_BYTES
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings {
            brokers: String::new(),
            topic_prefix: "graphhook.".to_owned(),
            create_topics: true,
            partitions: 6,
            replication_factor: 3,
            min_insync_replicas: 2,
            produce_deadline_ms: 3_000,
            max_message_bytes: 8 * 1024 * 1024,
            client: BTreeMap::new(),
        }
    }
}

pub use graphhook_schema::SettingsError;

/// Properties graphhook sets itself; overriding them would break its guarantees.
const RESERVED: [&str; 5] = [
    "acks",
    "enable.idempotence",
    "bootstrap.servers",
    "enable.auto.commit",
    "message.max.bytes",
];

impl KafkaSettings {
    /// `client` with the values of secret-looking keys replaced by `<redacted>`.
    pub fn client_redacted(&self) -> BTreeMap<&str, &str> {
        self.client
            .iter()
            .map(|(key, value)| {
                let shown = if is_secret_client_key(key) {
                    "<redacted>"
                } else {
                    value.as_str()
                };
                (key.as_str(), shown)
            })
            .collect()
    }

    /// Checks that records carrying bodies of `max_body_bytes` fit
    /// `max_message_bytes` (`max_body_key` names the setting of the caller).
    pub fn check_holds_bodies(
        &self,
        max_body_bytes: usize,
        max_body_key: &str,
    ) -> Result<(), SettingsError> {
        let needed = required_message_bytes(max_body_bytes);
        if self.max_message_bytes < needed {
            return Err(SettingsError::new(
                "kafka.max_message_bytes",
                format!(
                    "{} cannot hold records for {max_body_key} = {max_body_bytes}: at least {needed} is needed",
                    self.max_message_bytes
                ),
            ));
        }
        Ok(())
    }

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
        if self.min_insync_replicas < 1 {
            return Err(SettingsError::new(
                "kafka.min_insync_replicas",
                "must be at least 1",
            ));
        }
        if self.replication_factor > 0 && self.min_insync_replicas > self.replication_factor {
            return Err(SettingsError::new(
                "kafka.min_insync_replicas",
                format!(
                    "must be at most kafka.replication_factor ({}): no record could be acknowledged",
                    self.replication_factor
                ),
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
        if !(1024 * 1024..=1024 * 1024 * 1024).contains(&self.max_message_bytes) {
            return Err(SettingsError::new(
                "kafka.max_message_bytes",
                "must be between 1 MiB and 1 GiB",
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

    #[test]
    fn secret_client_values_never_appear_in_debug_output() {
        let mut settings = KafkaSettings::default();
        settings
            .client
            .insert("sasl.password".into(), "hunter2-sasl".into());
        settings
            .client
            .insert("ssl.key.pem".into(), "-----BEGIN KEY-----".into());
        settings.client.insert("linger.ms".into(), "7".into());
        let debug = format!("{settings:?}");
        assert!(
            !debug.contains("hunter2-sasl") && !debug.contains("BEGIN KEY"),
            "{debug}"
        );
        assert!(
            debug.contains("sasl.password") && debug.contains("\"7\""),
            "{debug}"
        );
    }

    #[test]
    fn the_record_limit_must_hold_the_body_limit_and_names_both_keys() {
        let settings = KafkaSettings::default();
        settings
            .check_holds_bodies(4 * 1024 * 1024, "ingest.max_body_bytes")
            .expect("the defaults fit together");
        let error = settings
            .check_holds_bodies(16 * 1024 * 1024, "ingest.max_body_bytes")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("kafka.max_message_bytes") && error.contains("ingest.max_body_bytes"),
            "{error}"
        );
    }
}
