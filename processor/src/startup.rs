//! Builds the processor: store (migrated), output producer, subscribed consumer.

use std::time::Duration;

use graphhook_kafka::{base_config, producer_config, KafkaSettings, Topics};
use graphhook_schema::topics::GRAPH_ERRORS;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;

use crate::consumer::EventLoop;
use crate::settings::ProcessorSettings;
use crate::store::{Store, StoreError};

/// Why the processor could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A Kafka client could not be created or subscribed.
    #[error("cannot set up the processor's Kafka clients")]
    Kafka(#[from] KafkaError),
}

/// Connects everything; the returned loop runs until shutdown.
pub async fn start(
    settings: &ProcessorSettings,
    kafka: &KafkaSettings,
    bootstrap: &str,
) -> Result<EventLoop, StartError> {
    let store = Store::connect(&settings.database_url, settings.max_connections).await?;
    store.migrate().await?;
    let topics = Topics::new(&kafka.topic_prefix);
    let producer = producer_config(kafka, bootstrap).create()?;
    let mut config = base_config(kafka, bootstrap);
    config
        .set("group.id", &settings.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("max.poll.interval.ms", "600000");
    let consumer: StreamConsumer = config.create()?;
    consumer.subscribe(&[&topics.events(), &topics.name(GRAPH_ERRORS)])?;
    tracing::info!(engine = store.engine().name(), group = %settings.group_id, "processor started");
    Ok(EventLoop {
        store,
        consumer,
        producer,
        topics,
        batch_size: settings.batch_size,
        batch_wait: Duration::from_millis(settings.batch_wait_ms),
        retry_initial: Duration::from_millis(settings.retry_initial_ms),
    })
}
