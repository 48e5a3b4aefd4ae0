//! librdkafka client configuration.

use rdkafka::ClientConfig;

use crate::KafkaSettings;

/// Configuration every client shares: bootstrap servers and the operator's extra
/// properties.
pub fn base_config(settings: &KafkaSettings, bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    for (key, value) in &settings.client {
        config.set(key, value);
    }
    config
}

/// A producer that never loses or duplicates what it was given: `acks=all`,
/// idempotent, and giving up on a record at the produce deadline, so that a request
/// answered 503 does not leave records queued for long.
pub fn producer_config(settings: &KafkaSettings, bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("linger.ms", "2")
        .set("compression.type", "lz4")
        .set("queue.buffering.max.kbytes", "262144")
        .set("batch.size", "1000000");
    for (key, value) in base_config(settings, bootstrap).config_map() {
        config.set(key, value);
    }
    config
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("message.max.bytes", settings.max_message_bytes.to_string())
        .set(
            "message.timeout.ms",
            settings.produce_deadline_ms.to_string(),
        );
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producer_guarantees_cannot_be_weakened_by_extra_properties() {
        let mut settings = KafkaSettings::default();
        settings.client.insert("linger.ms".into(), "10".into());
        let config = producer_config(&settings, "h:9092");
        assert_eq!(config.get("acks"), Some("all"));
        assert_eq!(config.get("enable.idempotence"), Some("true"));
        assert_eq!(config.get("linger.ms"), Some("10"));
        assert_eq!(config.get("message.timeout.ms"), Some("3000"));
        assert_eq!(config.get("bootstrap.servers"), Some("h:9092"));
        assert_eq!(config.get("message.max.bytes"), Some("8388608"));
    }
}
