//! What a Graph call costs the store: SQL statements per call through the
//! gateway, counted from sqlx's own per-statement events (target
//! `sqlx::query`), on each configured engine. One test in its own binary: the
//! counting subscriber is process-wide.

mod support;

use graphhook_processor::domain::ids::{AccountId, AppId};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use graphhook_graph::{Call, Host};
use graphhook_processor::gateway::{Gateway, GatewayError};
use graphhook_processor::store::Store;
use graphhook_processor::testing::stack::{GraphHosts, Stack};
use graphhook_processor::testing::ManualClock;
use serde_json::json;
use support::{connect, databases};
use tracing_subscriber::layer::SubscriberExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const APP: &str = "1234567890";
const NOW: i64 = 1_793_491_200_000;

/// Counts the statements sqlx runs.
struct Statements(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn gateway(store: &Store, server: &MockServer, clock: Arc<ManualClock>) -> Gateway {
    Stack::new(
        store,
        clock,
        &GraphHosts::same(&server.uri()),
        Default::default(),
        Default::default(),
    )
    .gateway
}

fn read(account: &str) -> Call {
    Call::get(Host::Facebook, "account_read", format!("/{account}")).query("fields", "id")
}

/// Meta's usage headers on every answer: the app's, and two use cases of one
/// account (three observations, two scopes).
fn with_usage(template: ResponseTemplate) -> ResponseTemplate {
    template
        .insert_header(
            "x-app-usage",
            r#"{"call_count":20,"total_time":10,"total_cputime":10}"#,
        )
        .insert_header(
            "x-business-use-case-usage",
            r#"{"a1":[{"type":"instagram","call_count":30,"total_cputime":5,"total_time":5,"estimated_time_to_regain_access":0},{"type":"pages","call_count":40,"total_cputime":5,"total_time":5,"estimated_time_to_regain_access":0}]}"#,
        )
}

#[tokio::test]
async fn a_graph_call_costs_two_statements_and_a_throttle_answer_three() {
    let statements = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(Statements(statements.clone()));
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    for url in databases().await {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v24.0/a1"))
            .respond_with(with_usage(
                ResponseTemplate::new(200).set_body_json(json!({"id": "a1"})),
            ))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v24.0/a2"))
            .respond_with(with_usage(ResponseTemplate::new(400).set_body_json(
                json!({"error": {"code": 80_002, "message": "too many calls"}}),
            )))
            .mount(&server)
            .await;
        let clock = ManualClock::at(NOW);
        let gateway = gateway(&connect(&url).await, &server, clock.clone());
        // Statements one call at `at_ms` costs, and its result.
        let measured = |account: &'static str, at_ms: i64| {
            let (gateway, clock, statements) = (&gateway, &clock, &statements);
            async move {
                clock.set(at_ms);
                let before = statements.load(Ordering::SeqCst);
                let result = gateway
                    .call_for_account(&AppId::from(APP), &AccountId::from(account), read(account))
                    .await;
                (statements.load(Ordering::SeqCst) - before, result)
            }
        };
        let (first, answer) = measured("a1", NOW).await;
        answer.unwrap();
        let (steady, answer) = measured("a1", NOW + 1_000).await;
        answer.unwrap();
        let (throttle, answer) = measured("a2", NOW + 2_000).await;
        let throttled = answer.unwrap_err();
        println!(
            "{}: statements per Graph call: first {first}, steady {steady}, throttle answer {throttle}",
            url.split(':').next().unwrap_or("?")
        );
        assert!(matches!(throttled, GatewayError::Call(_)), "{throttled}");
        assert_eq!(
            steady, 2,
            "{url}: the budget read and one write for three usage observations"
        );
        assert_eq!(
            first, 3,
            "{url}: the first call also counts the held accounts"
        );
        assert_eq!(
            throttle, 3,
            "{url}: a throttle answer holds the account: the held accounts are counted"
        );
    }
}
