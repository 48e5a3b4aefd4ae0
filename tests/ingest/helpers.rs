//! Spawns ingest on a free port against the real broker (`KAFKA_BROKERS`) or the
//! in-process cluster, with topics of its own, and reads records back.

use std::time::Duration;

use graphhook::commands::start_ingest;
use graphhook::config::Settings;
use graphhook_ingest::publisher::Publisher;
use graphhook_ingest::signature::sign_sha256;
use graphhook_ingest::startup::Stopper;
use graphhook_ingest::AppSettings;
use graphhook_kafka::{base_config, Bus, Topics};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{Offset, TopicPartitionList};
use secrecy::SecretString;

pub const APP: &str = "main";
pub const APP_ID: &str = "1234567890";
pub const SECRET: &str = "s3cr3t-app-secret";
pub const VERIFY_TOKEN: &str = "v3rify-token";

pub struct TestApp {
    /// The public listener (webhooks, callbacks).
    pub address: String,
    /// The operations listener (health, readiness, metrics).
    pub ops_address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    pub bus: Bus,
    pub handle: Stopper,
    pub publisher: Publisher,
}

/// Settings for one test: its own topic prefix, a free port, one app.
pub fn test_settings() -> Settings {
    let mut settings = Settings::default();
    settings.kafka.brokers = std::env::var("KAFKA_BROKERS").unwrap_or_default();
    settings.kafka.topic_prefix = format!("test-{}.", uuid::Uuid::new_v4().simple());
    settings.kafka.partitions = 2;
    settings.ingest.listen = "127.0.0.1:0".parse().unwrap();
    settings.ingest.ops_listen = "127.0.0.1:0".parse().unwrap();
    settings.processor.listen = "127.0.0.1:0".parse().unwrap();
    settings.processor.ops_listen = "127.0.0.1:0".parse().unwrap();
    settings.ingest.workers = Some(2);
    settings.ingest.public_base_url = Some("https://hooks.example.com/graphhook/".parse().unwrap());
    settings.apps.insert(
        APP.to_owned(),
        AppSettings {
            app_id: APP_ID.to_owned(),
            secrets: vec![SecretString::from(SECRET)],
            verify_token: Some(SecretString::from(VERIFY_TOKEN)),
            allow_sha1: false,
            instagram_app_id: None,
            instagram_app_secret: None,
        },
    );
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings();
    customize(&mut settings);
    settings.validate_ingest().expect("test settings are valid");
    let bus = Bus::start(&settings.kafka).expect("bus starts");
    let app = start_ingest(&settings, &bus).await.expect("ingest starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let ops_address = format!("http://127.0.0.1:{}", app.ops_port());
    let handle = app.stopper();
    let publisher = app.publisher();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        ops_address,
        client: reqwest::Client::new(),
        settings,
        bus,
        handle,
        publisher,
    }
}

impl TestApp {
    pub async fn post_signed(&self, body: &str) -> reqwest::Response {
        self.signed_webhook(body)
            .send()
            .await
            .expect("request sent")
    }

    /// A delivery signed as Meta signs it, ready to send.
    pub fn signed_webhook(&self, body: &str) -> reqwest::RequestBuilder {
        let signature = sign_sha256(SECRET.as_bytes(), body.as_bytes());
        self.webhook(body).header("X-Hub-Signature-256", signature)
    }

    pub fn webhook(&self, body: &str) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}/webhooks/{APP}", self.address))
            .header("content-type", "application/json")
            .body(body.to_owned())
    }

    pub async fn post_webhook(&self, body: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.webhook(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request sent")
    }

    /// GETs `path` from the listener that serves it: health, readiness and
    /// metrics from the operations listener, the rest from the public one.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        let ops = ["/healthz", "/readyz", "/metrics"].contains(&path);
        let base = if ops {
            &self.ops_address
        } else {
            &self.address
        };
        self.client
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("request sent")
    }

    /// Waits until `/readyz` answers `status`: readiness is a cached check, run
    /// every `ingest.readiness_interval_ms`, so a change shows within about that.
    pub async fn readiness_becomes(&self, status: u16) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.get("/readyz").await.status().as_u16();
            if now == status {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "/readyz still answers {now}, not {status}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn metrics(&self) -> String {
        self.get("/metrics").await.text().await.unwrap()
    }

    pub fn topic(&self, suffix: &str) -> String {
        Topics::new(&self.settings.kafka.topic_prefix).name(suffix)
    }

    /// Reads records of a topic from the beginning until `expected` arrived, then
    /// keeps listening briefly so that extra records would be seen too.
    pub async fn read_records(&self, suffix: &str, expected: usize) -> Vec<OwnedMessage> {
        let topic = self.topic(suffix);
        let mut config = base_config(&self.settings.kafka, self.bus.bootstrap());
        config
            .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
            .set("enable.auto.commit", "false");
        let consumer: BaseConsumer = config.create().expect("consumer");
        tokio::task::spawn_blocking(move || drain(consumer, &topic, expected))
            .await
            .expect("reader finished")
    }
}

fn drain(consumer: BaseConsumer, topic: &str, expected: usize) -> Vec<OwnedMessage> {
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("topic metadata");
    let mut assignment = TopicPartitionList::new();
    for partition in metadata.topics()[0].partitions() {
        assignment
            .add_partition_offset(topic, partition.id(), Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).expect("assign");
    let mut records = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut quiet_until = None;
    while std::time::Instant::now() < deadline {
        if records.len() >= expected {
            let until =
                *quiet_until.get_or_insert(std::time::Instant::now() + Duration::from_millis(1500));
            if std::time::Instant::now() >= until {
                break;
            }
        }
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            records.push(message.expect("record").detach());
        }
    }
    records
}

pub use graphhook_ingest::records::header_value as header;

/// The value of `metric{labels}` in a Prometheus text exposition, 0 when absent.
pub fn metric_value(exposition: &str, series: &str) -> f64 {
    exposition
        .lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}
