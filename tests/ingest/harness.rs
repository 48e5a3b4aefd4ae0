//! Ingest and processor together, as `graphhook run` starts them: a test posts to
//! ingest and reads the processor's rows, outputs and HTTP answers.

use graphhook_processor::domain::ids::{AccountId, AppId};
use std::time::Duration;

use graphhook::commands::{build_processor, spawn_processor, RunningProcessor};
use graphhook::config::Settings;
use graphhook_processor::store::Store;
use graphhook_processor::testing::test_database_url;
use graphhook_processor::testing::CrashPoint;
use graphhook_schema::account::AccountState;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use secrecy::SecretString;

use crate::callbacks::{post_callback, signed_form};
use crate::helpers::{spawn_app_with, TestApp, APP_ID};

pub const ADMIN_TOKEN: &str = "test-Admin-token-0123456789abcdef-XYZ";

pub struct Pipeline {
    pub app: TestApp,
    pub store: Store,
    pub database: String,
    pub processor: Option<RunningProcessor>,
}

pub async fn pipeline() -> Pipeline {
    pipeline_with(|_| {}).await
}

pub async fn pipeline_with(customize: impl FnOnce(&mut Settings)) -> Pipeline {
    let database = test_database_url().await.expect("test database");
    pipeline_on(database, customize).await
}

/// A pipeline on the database at `database` (see `test_database_urls`).
pub async fn pipeline_on(database: String, customize: impl FnOnce(&mut Settings)) -> Pipeline {
    let app = spawn_app_with(|s| {
        s.processor.database_url = SecretString::from(database.clone());
        s.processor.group_id = format!("test-{}", uuid::Uuid::new_v4().simple());
        s.processor.admin_token = vec![SecretString::from(ADMIN_TOKEN)];
        s.processor.batch_wait_ms = 5;
        s.processor.retry_initial_ms = 100;
        // A restarted processor takes over its partitions within seconds.
        s.kafka
            .client
            .insert("session.timeout.ms".into(), "6000".into());
        s.kafka
            .client
            .insert("heartbeat.interval.ms".into(), "500".into());
        customize(s);
    })
    .await;
    let store = Store::connect(&database, 2).await.expect("store");
    let mut pipeline = Pipeline {
        app,
        store,
        database,
        processor: None,
    };
    pipeline.start_processor(None).await;
    pipeline
}

impl Pipeline {
    /// Starts the processor (stopping a running one first), optionally set to stop
    /// at a crash point.
    pub async fn start_processor(&mut self, crash: Option<CrashPoint>) {
        self.stop_processor().await;
        let mut processor = build_processor(&self.app.settings, &self.app.bus)
            .await
            .expect("processor starts");
        processor.set_crash_point(crash);
        self.processor = Some(spawn_processor(processor));
    }

    /// Stops the processor gracefully and waits for it.
    pub async fn stop_processor(&mut self) {
        if let Some(running) = self.processor.take() {
            let _ = running.stop.send(true);
            let _ = running.task.await;
        }
    }

    /// Waits until the processor's task ends by itself (a crash point was reached).
    pub async fn wait_for_crash(&mut self) {
        let running = self.processor.take().expect("a processor is running");
        tokio::time::timeout(Duration::from_secs(90), running.task)
            .await
            .expect("the crash point is reached")
            .expect("the task ends");
    }

    /// The processor's URL of `path`: the data-deletion page on the public
    /// listener, everything else on the operations listener.
    pub fn url(&self, path: &str) -> String {
        let running = self.processor.as_ref().expect("processor running");
        let port = if path.starts_with("/data-deletion/") {
            running.port
        } else {
            running.ops_port
        };
        format!("http://127.0.0.1:{port}{path}")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.app
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.app
            .client
            .request(method, self.url(path))
            .bearer_auth(ADMIN_TOKEN)
    }

    /// GETs an admin path, expecting `200`, and returns the JSON body.
    pub async fn admin_get(&self, path: &str) -> serde_json::Value {
        let response = self
            .admin(reqwest::Method::GET, path)
            .send()
            .await
            .expect("request sent");
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }

    /// Posts a signed delivery to ingest, expecting `200`.
    pub async fn deliver(&self, body: &str) {
        assert_eq!(self.app.post_signed(body).await.status(), 200);
    }

    /// Posts a callback (`deauthorize` or `data-deletion`) signed as Meta signs it,
    /// expecting `200`.
    pub async fn callback(&self, kind: &str, payload: &str) -> reqwest::Response {
        let response = post_callback(&self.app, kind, signed_form(payload)).await;
        assert_eq!(response.status(), 200, "{kind} callback");
        response
    }

    /// Waits until the processor has applied `n` events.
    pub async fn processed(&self, n: i64) {
        self.eventually(&format!("{n} events applied"), || async {
            self.count("SELECT COUNT(*) FROM processed_events").await == n
        })
        .await;
    }

    pub async fn state(&self, account_id: &str) -> Option<AccountState> {
        let mut tx = self.store.begin().await.expect("transaction");
        tx.account(&AppId::from(APP_ID), &AccountId::from(account_id))
            .await
            .expect("account read")
            .map(|a| a.snapshot.state)
    }

    /// Polls `check` until it holds, for at most 30 s.
    pub async fn eventually<F, Fut>(&self, what: &str, check: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !check().await {
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Writes a record straight to one of the app's topics, as a client service would.
    pub async fn write_raw(&self, suffix: &str, key: &str, payload: &str) {
        let producer: FutureProducer =
            graphhook_kafka::producer_config(&self.app.settings.kafka, self.app.bus.bootstrap())
                .create()
                .expect("producer");
        producer
            .send(
                FutureRecord::to(&self.app.topic(suffix))
                    .key(key)
                    .payload(payload),
                Timeout::Never,
            )
            .await
            .expect("record written");
    }

    /// The number a `SELECT COUNT(*) ...` query answers.
    pub async fn count(&self, query: &str) -> i64 {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.database).await.expect("pool");
        let n: i64 = sqlx::query_scalar(query)
            .fetch_one(&pool)
            .await
            .expect("count query");
        pool.close().await;
        n
    }
}
