//! Progress is committed when partitions are revoked: offsets stored after a batch
//! but not yet committed are not lost to a rebalance (real broker when
//! `KAFKA_BROKERS` is set, else the in-process cluster).

use std::time::Duration;

use graphhook_kafka::{base_config, producer_config, Bus, KafkaSettings};
use graphhook_processor::metrics::ProcessorMetrics;
use graphhook_processor::pipeline::context::ProcessorContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

#[tokio::test(flavor = "multi_thread")]
async fn stored_offsets_are_committed_when_partitions_are_revoked() {
    let unique = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let settings = KafkaSettings {
        brokers: std::env::var("KAFKA_BROKERS").unwrap_or_default(),
        topic_prefix: format!("rebalance-{unique}."),
        partitions: 1,
        ..Default::default()
    };
    let bus = Bus::start(&settings).expect("bus");
    let topic = format!("{}events.v1", settings.topic_prefix);
    bus.ensure_topics(
        &settings,
        std::slice::from_ref(&topic),
        Duration::from_secs(15),
    )
    .await
    .expect("topic");
    let producer: FutureProducer = producer_config(&settings, bus.bootstrap())
        .create()
        .unwrap();
    for n in 0..3 {
        producer
            .send(
                FutureRecord::to(&topic).key("k").payload(&format!("{n}")),
                Duration::from_secs(10),
            )
            .await
            .expect("written");
    }
    let group = format!("rebalance-{unique}");
    let mut config = base_config(&settings, bus.bootstrap());
    config
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest");
    let consumer: BaseConsumer<ProcessorContext> = config
        .create_with_context(ProcessorContext::new(
            ProcessorMetrics::new().unwrap(),
            Default::default(),
        ))
        .unwrap();
    consumer.subscribe(&[&topic]).unwrap();
    let mut seen = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while seen < 3 {
        assert!(std::time::Instant::now() < deadline, "records consumed");
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message.unwrap();
            seen += 1;
            let mut offsets = TopicPartitionList::new();
            offsets
                .add_partition_offset(
                    &topic,
                    message.partition(),
                    Offset::Offset(message.offset() + 1),
                )
                .unwrap();
            consumer.store_offsets(&offsets).unwrap();
        }
    }
    // Nothing was committed; leaving the group revokes the partition.
    consumer.unsubscribe();
    for _ in 0..20 {
        consumer.poll(Duration::from_millis(50));
    }
    drop(consumer);

    let mut reader_config = base_config(&settings, bus.bootstrap());
    reader_config.set("group.id", &group);
    let reader: BaseConsumer = reader_config.create().unwrap();
    let mut wanted = TopicPartitionList::new();
    wanted.add_partition(&topic, 0);
    let committed = reader
        .committed_offsets(wanted, Duration::from_secs(10))
        .unwrap();
    assert_eq!(
        committed.find_partition(&topic, 0).unwrap().offset(),
        Offset::Offset(3),
        "the stored offset was committed at revocation"
    );
}
