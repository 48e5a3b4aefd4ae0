//! librdkafka's complaints when its brokers go away are WARN, not ERROR: the
//! embedded cluster stops before its last clients at every clean shutdown of
//! `graphhook run`, and ERROR is for what an operator must act on.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use graphhook_kafka::{producer_config, AckedSender, Bus, KafkaSettings, Record};
use rdkafka::message::OwnedHeaders;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut lines) = self.0.lock() {
            lines.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_that_goes_away_under_a_producer_is_warned_about_never_an_error() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the test's subscriber");

    let settings = KafkaSettings::default();
    let bus = Bus::start(&settings).expect("the in-process cluster");
    bus.ensure_topics(&settings, &["logs.t".to_owned()], Duration::from_secs(10))
        .await
        .expect("topic");
    let sender = AckedSender::new(producer_config(&settings, bus.bootstrap())).expect("producer");
    let record = Record {
        topic: Arc::from("logs.t"),
        key: "k".into(),
        payload: b"v".to_vec(),
        headers: OwnedHeaders::new(),
    };
    sender
        .send_all(vec![record], Duration::from_secs(10))
        .await
        .expect("acknowledged");
    drop(bus);

    let started = Instant::now();
    let warned = |lines: &[String]| {
        lines
            .iter()
            .any(|l| l.contains("\"WARN\"") && l.contains("librdkafka"))
    };
    while !warned(&captured.lines()) && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(sender);
    let lines = captured.lines();
    assert!(warned(&lines), "the lost brokers were reported: {lines:#?}");
    let errors: Vec<&String> = lines.iter().filter(|l| l.contains("\"ERROR\"")).collect();
    assert!(errors.is_empty(), "logged at ERROR: {errors:#?}");
}
