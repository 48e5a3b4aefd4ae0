//! The call budget shared by every replica, through the gateway, against a fake
//! Graph API: a throttled account is held for the regain time Meta gives (other
//! accounts are not), high app usage spaces out the whole app's calls, and a second
//! replica knows what the first learned.

mod support;

use graphhook_processor::domain::ids::{AccountId, AppId};
use std::sync::Arc;

use graphhook_graph::{Call, Host};
use graphhook_processor::gateway::{Gateway, GatewayError};
use graphhook_processor::store::Store;
use graphhook_processor::testing::stack::{GraphHosts, Stack};
use graphhook_processor::testing::ManualClock;
use serde_json::json;
use support::{connect, databases};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const APP: &str = "1234567890";
const MINUTE: i64 = 60_000;
const NOW: i64 = 1_793_491_200_000;

fn gateway(store: &Store, server: &MockServer, clock: Arc<ManualClock>) -> Gateway {
    let tokens = graphhook_processor::tokens::TokenSettings::default();
    let publishing = graphhook_processor::publishing::PublishingSettings::default();
    Stack::new(
        store,
        clock,
        &GraphHosts::same(&server.uri()),
        tokens,
        publishing,
    )
    .gateway
}

fn read(account: &str) -> Call {
    Call::get(Host::Facebook, "account_read", format!("/{account}")).query("fields", "id")
}

async fn calls_to(server: &MockServer, account: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == format!("/v24.0/{account}"))
        .count()
}

#[tokio::test]
async fn usage_at_95_percent_with_12_minutes_to_regain_holds_that_account_only() {
    for url in databases().await {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v24.0/a1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "a1"})).insert_header(
                "x-business-use-case-usage",
                r#"{"a1":[{"type":"instagram","call_count":95,"total_cputime":30,"total_time":30,"estimated_time_to_regain_access":12}]}"#,
            ))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v24.0/a2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "a2"})))
            .mount(&server)
            .await;
        let clock = ManualClock::at(NOW);
        // Two replicas on one database: what the first learns, the second knows.
        let first = gateway(&connect(&url).await, &server, clock.clone());
        let second = gateway(&connect(&url).await, &server, clock.clone());
        first
            .call_for_account(&AppId::from(APP), &AccountId::from("a1"), read("a1"))
            .await
            .unwrap();
        for minute in [0, 5, 11] {
            clock.set(NOW + minute * MINUTE);
            let refused = second
                .call_for_account(&AppId::from(APP), &AccountId::from("a1"), read("a1"))
                .await
                .unwrap_err();
            assert!(
                matches!(refused, GatewayError::Held { until_ms } if until_ms == NOW + 12 * MINUTE),
                "{url} minute {minute}: {refused}"
            );
            second
                .call_for_account(&AppId::from(APP), &AccountId::from("a2"), read("a2"))
                .await
                .expect("other accounts are not held");
        }
        assert_eq!(
            calls_to(&server, "a1").await,
            1,
            "no call for a1 while held"
        );
        clock.set(NOW + 12 * MINUTE + 1);
        second
            .call_for_account(&AppId::from(APP), &AccountId::from("a1"), read("a1"))
            .await
            .unwrap();
        assert_eq!(calls_to(&server, "a1").await, 2);
    }
}

#[tokio::test]
async fn app_usage_near_100_slows_the_whole_app() {
    for url in databases().await {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"id": "x"}))
                    .insert_header(
                        "x-app-usage",
                        r#"{"call_count":95,"total_time":40,"total_cputime":40}"#,
                    ),
            )
            .mount(&server)
            .await;
        let clock = ManualClock::at(NOW);
        let gateway = gateway(&connect(&url).await, &server, clock.clone());
        gateway
            .call_for_account(&AppId::from(APP), &AccountId::from("a1"), read("a1"))
            .await
            .unwrap();
        // 95% of the allowance: calls are 45 s apart (0.75 of the 60 s maximum),
        // for every account of the app.
        gateway
            .call_for_account(&AppId::from(APP), &AccountId::from("a2"), read("a2"))
            .await
            .unwrap();
        let refused = gateway
            .call_for_account(&AppId::from(APP), &AccountId::from("a3"), read("a3"))
            .await
            .unwrap_err();
        assert!(matches!(refused, GatewayError::Spaced { .. }), "{refused}");
        clock.advance(44_000);
        assert!(gateway
            .call_for_account(&AppId::from(APP), &AccountId::from("a3"), read("a3"))
            .await
            .is_err());
        clock.advance(1_000);
        gateway
            .call_for_account(&AppId::from(APP), &AccountId::from("a3"), read("a3"))
            .await
            .unwrap();
        let made = server.received_requests().await.unwrap().len();
        assert_eq!(made, 3, "{url}");
        // Another app is not slowed.
        gateway
            .call_for_account(&AppId::from("999"), &AccountId::from("b1"), read("b1"))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_throttle_answer_without_headers_holds_the_account_for_the_configured_time() {
    for url in databases().await {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
                "message": "(#17) User request limit reached", "type": "OAuthException",
                "is_transient": true, "code": 17, "error_subcode": 2446079, "fbtrace_id": "Az"}})))
            .mount(&server)
            .await;
        let clock = ManualClock::at(NOW);
        let gateway = gateway(&connect(&url).await, &server, clock.clone());
        let throttled = gateway
            .call_for_account(&AppId::from(APP), &AccountId::from("a1"), read("a1"))
            .await
            .unwrap_err();
        assert_eq!(throttled.class().map(|c| c.as_str()), Some("wait"));
        clock.advance(4 * MINUTE);
        assert!(matches!(
            gateway
                .call_for_account(&AppId::from(APP), &AccountId::from("a1"), read("a1"))
                .await,
            Err(GatewayError::Held { .. })
        ));
        clock.advance(MINUTE + 1);
        assert!(matches!(
            gateway
                .call_for_account(&AppId::from(APP), &AccountId::from("a1"), read("a1"))
                .await,
            Err(GatewayError::Call(_))
        ));
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn a_call_made_keeps_its_answer_when_its_bookkeeping_fails() {
    use sqlx::Connection;
    for url in databases().await {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v24.0/a1/media_publish"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"id": "m-1"}))
                    .insert_header(
                        "x-app-usage",
                        r#"{"call_count":10,"total_cputime":1,"total_time":1}"#,
                    )
                    .set_delay(std::time::Duration::from_millis(1_500)),
            )
            .mount(&server)
            .await;
        let stack = Stack::new(
            &connect(&url).await,
            ManualClock::at(NOW),
            &GraphHosts::same(&server.uri()),
            graphhook_processor::tokens::TokenSettings::default(),
            graphhook_processor::publishing::PublishingSettings::default(),
        );
        let gateway = stack.gateway.clone();
        let call = Call::post(Host::Facebook, "media_publish", "/a1/media_publish")
            .form("creation_id", "c1");
        let pending = tokio::spawn(async move {
            gateway
                .call_for_account(&AppId::from(APP), &AccountId::from("a1"), call)
                .await
        });
        // Once the publish is at Meta, the store loses the budget's table.
        for _ in 0..100 {
            if !server
                .received_requests()
                .await
                .unwrap_or_default()
                .is_empty()
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let mut admin = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query("DROP TABLE graph_budget")
            .execute(&mut admin)
            .await
            .unwrap();
        let answer = pending
            .await
            .unwrap()
            .expect("the call's answer, not the bookkeeping's failure");
        assert_eq!(answer.body["id"], "m-1", "{url}: the media id is not lost");
        let failures = stack
            .metrics
            .graph_bookkeeping_failures
            .with_label_values(&["media_publish"])
            .get();
        assert_eq!(failures, 1, "{url}");
    }
}
