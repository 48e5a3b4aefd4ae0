//! Tokens never leave graphhook: the real binary registers, refreshes and refuses
//! tokens against a fake Graph API, and every log line (at debug level), every API
//! answer, every metric and every problem body is searched for them.

mod common;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::spawn;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ADMIN: &str = "secrets-test-admin-token-0123456789abcdef";
const GOOD: &str = "IGQVJtoken-registered-and-refreshed-aaaa";
const REFRESHED: &str = "IGQVJtoken-handed-out-by-the-refresh-bbbb";
const INVALID: &str = "EAAGtoken-meta-says-is-invalid-cccc";
const FAILING: &str = "EAAGtoken-whose-check-fails-dddd";
const MALFORMED: &str = "EAAGtoken-in-a-malformed-request-eeee";
const DAY_S: i64 = 86_400;
const INSTAGRAM_SECRET: &str = "instagram-app-s3cret-ffff";

async fn fake_graph_api() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v24.0/debug_token"))
        .and(query_param("input_token", INVALID))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "app_id": "42", "is_valid": false, "error": {"code": 190, "subcode": 460, "message": "The session has been invalidated because the user changed their password."}}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v24.0/debug_token"))
        .and(query_param("input_token", FAILING))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": {
            "message": "An unexpected error has occurred.", "type": "OAuthException", "code": 2, "is_transient": true, "fbtrace_id": "AzZz"}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v24.0/me"))
        .and(header("authorization", format!("Bearer {GOOD}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "27017841400000", "user_id": "17841400000", "username": "acme"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/refresh_access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": REFRESHED, "token_type": "bearer", "expires_in": 5_184_000})))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_appear_in_no_log_line_api_answer_metric_or_problem_body() {
    let server = fake_graph_api().await;
    let prefix = format!("secrets-{}.", uuid::Uuid::new_v4().simple());
    let mut running = spawn(
        &prefix,
        &[
            ("GRAPHHOOK_GRAPH__FACEBOOK_URL", server.uri()),
            ("GRAPHHOOK_GRAPH__INSTAGRAM_URL", server.uri()),
            ("GRAPHHOOK_TOKENS__KEYS__K1", STANDARD.encode([9u8; 32])),
            ("GRAPHHOOK_TOKENS__ACTIVE_KEY", "k1".to_owned()),
            ("GRAPHHOOK_TOKENS__CHECK_INTERVAL_SECS", "1".to_owned()),
            ("GRAPHHOOK_PROCESSOR__ADMIN_TOKEN", ADMIN.to_owned()),
            ("GRAPHHOOK_APPS__MAIN__INSTAGRAM_APP_ID", "4242".to_owned()),
            (
                "GRAPHHOOK_APPS__MAIN__INSTAGRAM_APP_SECRET",
                INSTAGRAM_SECRET.to_owned(),
            ),
        ],
    );
    let processor = running.wait_for("processor started")["ops_port"]
        .as_u64()
        .unwrap();
    let ingest = running.wait_for("ingest listening")["ops_port"]
        .as_u64()
        .unwrap();
    let client = reqwest::Client::new();
    let token_url = format!("http://127.0.0.1:{processor}/v1/apps/42/accounts/17841400000/token");
    let mut seen_by_callers = Vec::new();
    let put = |body: serde_json::Value| {
        let request = client.put(&token_url).bearer_auth(ADMIN).json(&body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let registered = put(json!({"token": GOOD, "kind": "instagram_login", "tenant": "acme", "expires_in": 5 * DAY_S})).await;
    assert_eq!(registered.0, 200, "{}", registered.1);
    for (token, expected) in [(INVALID, 422), (FAILING, 503)] {
        let refused = put(json!({"token": token, "kind": "facebook_user"})).await;
        assert_eq!(refused.0, expected, "{}", refused.1);
        seen_by_callers.push(refused.1);
    }
    let malformed = put(json!({"token": MALFORMED, "kind": "not_a_kind"})).await;
    assert_eq!(malformed.0, 400);
    seen_by_callers.push(malformed.1);
    seen_by_callers.push(registered.1);

    // The pre-rotation job refreshes the token (5 days left, 7-day window).
    let refreshed = Instant::now();
    loop {
        let metadata = client
            .get(&token_url)
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        let text = metadata.text().await.unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let done = !value["tokens"][0]["last_refresh_at_ms"].is_null();
        seen_by_callers.push(text);
        if done {
            break;
        }
        assert!(
            refreshed.elapsed() < Duration::from_secs(30),
            "the token was not refreshed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for port in [processor, ingest] {
        let metrics = client
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
            .unwrap();
        seen_by_callers.push(metrics.text().await.unwrap());
    }
    let refresh_call = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/refresh_access_token")
        .expect("the refresh reached Meta");
    assert_eq!(
        refresh_call.headers["authorization"],
        format!("Bearer {GOOD}").as_str()
    );

    let (exit, logs) = running.stop().await;
    assert!(exit.success());
    assert!(logs.iter().any(|l| l.contains("token refreshed")));
    assert!(logs.iter().any(|l| l.contains("Graph API call failed")));
    let everything = format!("{}\n{}", logs.join("\n"), seen_by_callers.join("\n"));
    for token in [
        GOOD,
        REFRESHED,
        INVALID,
        FAILING,
        MALFORMED,
        ADMIN,
        INSTAGRAM_SECRET,
    ] {
        assert!(!everything.contains(token), "{token} leaked");
    }
}
