//! Topic creation at start-up meets a broker that accepts a connection and never
//! answers on it (seen with tansu on a loaded machine: "OperationTimedOut" and a
//! process that never started). The broker here is the real one (`KAFKA_BROKERS`)
//! behind a proxy that holds the connections it accepts during its first
//! seconds without a byte of answer.

use std::time::Duration;

use graphhook_kafka::{Bus, BusError, KafkaSettings};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// Listens on loopback; connections accepted before `hold_for` has passed are
/// held silent until their client closes them, later ones are forwarded to
/// `upstream` (when there is one). Returns the proxy's address.
async fn proxy(upstream: Option<String>, hold_for: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("its address").to_string();
    let started = Instant::now();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut client, _)) = listener.accept().await {
            match &upstream {
                Some(upstream) if started.elapsed() >= hold_for => {
                    let upstream = upstream.clone();
                    tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(&upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                }
                _ => held.push(client),
            }
        }
    });
    address
}

/// The real broker (`KAFKA_BROKERS`). librdkafka's in-process cluster does not
/// serve topic creation requests (graphhook creates its topics directly there),
/// so without one the test says it did not run.
fn real_broker() -> Option<String> {
    std::env::var("KAFKA_BROKERS")
        .ok()
        .map(|brokers| brokers.trim().to_owned())
        .filter(|brokers| !brokers.is_empty())
}

fn settings(brokers: &str) -> KafkaSettings {
    KafkaSettings {
        brokers: brokers.to_owned(),
        partitions: 2,
        replication_factor: 1,
        min_insync_replicas: 1,
        ..Default::default()
    }
}

fn topic_exists(brokers: &str, topic: &str) -> bool {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("a metadata client");
    consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map(|metadata| {
            metadata
                .topics()
                .iter()
                .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty())
        })
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread")]
async fn topics_are_created_when_the_broker_answers_after_a_connection_it_never_served() {
    let Some(upstream) = real_broker() else {
        eprintln!("not run: topic creation needs a real broker (KAFKA_BROKERS)");
        return;
    };
    let through = proxy(Some(upstream.clone()), Duration::from_secs(2)).await;
    let topic = format!("creation-{}.events.v1", std::process::id());
    let bus = Bus::External(through);
    let started = Instant::now();
    let created = bus
        .ensure_topics(
            &settings(bus.bootstrap()),
            std::slice::from_ref(&topic),
            // Less than librdkafka takes to give up a silent connection by itself
            // (its ApiVersion request waits 10 s): one request that waits the
            // whole time is never answered.
            Duration::from_secs(8),
        )
        .await;
    assert!(created.is_ok(), "{created:?}");
    // The first request was held unanswered until its attempt ran out.
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(topic_exists(&upstream, &topic), "{topic} on {upstream}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_that_never_answers_fails_within_the_time_allowed_and_says_so() {
    let through = proxy(None, Duration::ZERO).await;
    let bus = Bus::External(through.clone());
    let started = Instant::now();
    let created = bus
        .ensure_topics(
            &settings(&through),
            &["never.events.v1".to_owned()],
            Duration::from_secs(6),
        )
        .await;
    let elapsed = started.elapsed();
    match created {
        Err(BusError::CreateTopic { reason, .. }) => {
            assert!(reason.contains("2 attempts in 6s"), "{reason}")
        }
        other => panic!("expected a creation error, got {other:?}"),
    }
    assert!(
        elapsed >= Duration::from_secs(5) && elapsed < Duration::from_secs(9),
        "{elapsed:?}"
    );
}
