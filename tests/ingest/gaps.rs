//! Offset gaps: a processor whose group committed an offset inside a record
//! batch is restarted. tansu 0.6.0 answers a fetch that starts inside a batch
//! with the next batch, so the rest of that batch is served to nobody; the
//! processor must see the jump from its committed offset and re-read. On a
//! broker that serves from the offset asked (Kafka, librdkafka's mock cluster)
//! there is no gap and the same records must be applied all the same.

use std::time::Duration;

use graphhook_ingest::records::event_record;
use graphhook_kafka::base_config;
use graphhook_schema::topics::EVENTS;
use graphhook_schema::{normalize_delivery, DeliveryContext};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::json;

use crate::harness::pipeline;
use crate::helpers::{APP, APP_ID};

const BATCHES: usize = 3;
const PER_BATCH: usize = 10;
const COMMITTED: i64 = 3;

/// The `events.v1` records of one account's comments, numbered `first..`.
fn comments(first: usize) -> Vec<(String, graphhook_ingest::records::OutgoingRecord)> {
    (first..first + PER_BATCH)
        .map(|n| {
            let body = json!({"object": "instagram", "entry": [{"id": "17841400000000001", "time": 1_700_000_000,
                "changes": [{"field": "comments", "value": {"id": format!("gap-comment-{n}"), "text": "hi",
                "media": {"id": format!("gap-media-{n}")}}}]}]})
            .to_string();
            let delivery_id = format!("gap-delivery-{n}");
            let ctx = DeliveryContext {
                app: APP,
                app_id: APP_ID,
                delivery_id: &delivery_id,
                received_at_ms: 1_700_000_000_000,
            };
            let event = normalize_delivery(&ctx, body.as_bytes())
                .expect("a valid delivery")
                .pop()
                .expect("one event");
            (
                event.event_id.to_string(),
                event_record(&event).expect("a record"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn records_a_broker_skips_after_a_committed_offset_inside_a_batch_are_read_again() {
    let mut p = pipeline().await;
    p.stop_processor().await;
    // A group of its own that nobody has joined: its offset can be committed from
    // outside (a group that still has the stopped member refuses that).
    p.app.settings.processor.group_id = format!("gaps-{}", uuid::Uuid::new_v4().simple());
    let settings = &p.app.settings;
    let bootstrap = p.app.bus.bootstrap();
    let topic = p.app.topic(EVENTS);

    // Three record batches of ten (all one account, so one partition).
    let mut producer_config = graphhook_kafka::producer_config(&settings.kafka, bootstrap);
    producer_config.set("linger.ms", "200");
    let producer: FutureProducer = producer_config.create().expect("producer");
    let mut ids = Vec::new();
    let mut partition = 0;
    for batch in 0..BATCHES {
        let records = comments(batch * PER_BATCH);
        let sends = records.iter().map(|(_, record)| {
            producer.send(
                FutureRecord::to(&topic)
                    .key(&record.key)
                    .payload(&record.payload)
                    .headers(record.headers.clone()),
                Timeout::Never,
            )
        });
        for (sent, (id, _)) in futures_util::future::join_all(sends)
            .await
            .into_iter()
            .zip(records)
        {
            let delivered = sent.expect("acknowledged");
            partition = delivered.partition;
            ids.push((delivered.offset, id));
        }
    }
    ids.sort();
    let first = ids[0].0;

    // The group's progress lies inside the first batch, as a processor that
    // committed mid-batch before it was killed leaves it.
    let mut config = base_config(&settings.kafka, bootstrap);
    config
        .set("group.id", &settings.processor.group_id)
        .set("enable.auto.commit", "false");
    let committer: BaseConsumer = config.create().expect("consumer");
    let mut offsets = TopicPartitionList::new();
    offsets
        .add_partition_offset(&topic, partition, Offset::Offset(first + COMMITTED))
        .expect("offset");
    committer
        .commit(&offsets, CommitMode::Sync)
        .expect("offset committed");
    drop(committer);

    p.start_processor(None).await;
    let expected: Vec<&String> = ids
        .iter()
        .filter(|(offset, _)| *offset >= first + COMMITTED)
        .map(|(_, id)| id)
        .collect();
    p.eventually(
        "every event at or after the committed offset applied",
        || async {
            let mut applied = 0;
            for id in &expected {
                applied += p
                    .count(&format!(
                        "SELECT COUNT(*) FROM processed_events WHERE event_id = '{id}'"
                    ))
                    .await;
            }
            applied == expected.len() as i64
        },
    )
    .await;
    let metrics = p.get("/metrics").await.text().await.expect("metrics");
    let given_up = metrics
        .lines()
        .filter(|l| {
            l.starts_with("graphhook_processor_offset_gap_rereads_total") && l.contains("given_up")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>();
    let gaps = metrics
        .lines()
        .filter(|l| l.starts_with("graphhook_processor_offset_gaps_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>();
    println!("offsets skipped by the broker and re-read: {gaps}");
    assert_eq!(given_up, 0.0, "{metrics}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    p.stop_processor().await;
}
