//! The processor's HTTP API: operations endpoints and the admin API under `/v1`.

use graphhook_schema::topics::GRAPH_ERRORS;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{pipeline, pipeline_with, Pipeline};
use crate::helpers::APP_ID;

async fn problem(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    response.json().await.expect("problem body")
}

async fn register(p: &Pipeline, account: &str, body: Value) -> Value {
    let response = p
        .admin(
            Method::PUT,
            &format!("/v1/apps/{APP_ID}/accounts/{account}"),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_needs_the_bearer_token_and_is_off_without_one() {
    let p = pipeline().await;
    let path = format!("/v1/apps/{APP_ID}/accounts?state=active");
    let none = p.get(&path).await;
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    problem(none, StatusCode::UNAUTHORIZED).await;
    let wrong = p
        .app
        .client
        .get(p.url(&path))
        .bearer_auth("not-the-admin-token-at-all")
        .send()
        .await
        .unwrap();
    problem(wrong, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        p.admin(Method::GET, &path).send().await.unwrap().status(),
        200
    );

    let off = pipeline_with(|s| s.processor.admin_token = Vec::new()).await;
    problem(
        off.admin(Method::GET, &path).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(off.get("/healthz").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_are_registered_updated_read_with_transitions_and_listed_by_state() {
    let p = pipeline().await;
    let created = register(
        &p,
        "17841400021",
        json!({"user_id": "u9", "tenant": "acme"}),
    )
    .await;
    assert_eq!(created["state"], "active");
    assert_eq!(created["state_changed_at_ms"], Value::Null);
    let updated = register(&p, "17841400021", json!({"page_id": "p21"})).await;
    assert_eq!(
        (
            updated["user_id"].clone(),
            updated["tenant"].clone(),
            updated["page_id"].clone()
        ),
        (json!("u9"), json!("acme"), json!("p21")),
        "absent fields are kept"
    );
    for account in ["17841400022", "17841400023", "17841400024"] {
        register(&p, account, json!({})).await;
        let report = json!({"app_id": APP_ID, "account_id": account, "http_status": 400, "code": 190, "message": "expired", "time_ms": 1_700_000_000_000_i64});
        p.write_raw(GRAPH_ERRORS, account, &report.to_string())
            .await;
    }
    p.eventually("three accounts flagged", || async {
        p.count("SELECT COUNT(*) FROM accounts WHERE state = 'reconnect_required'")
            .await
            == 3
    })
    .await;

    let one: Value = p
        .admin_get(&format!("/v1/apps/{APP_ID}/accounts/17841400022"))
        .await;
    assert_eq!(one["account"]["state"], "reconnect_required");
    assert_eq!(one["account"]["reason"], "token_invalid");
    assert_eq!(one["transitions"][0]["to"], "reconnect_required");
    assert_eq!(one["transitions"][0]["action"], "reconnect");

    let list = |after: &str| {
        p.admin(
            Method::GET,
            &format!("/v1/apps/{APP_ID}/accounts?state=reconnect_required&limit=2&after={after}"),
        )
        .send()
    };
    let first: Value = list("").await.unwrap().json().await.unwrap();
    let ids = |page: &Value| -> Vec<String> {
        page["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["account_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&first), ["17841400022", "17841400023"]);
    assert_eq!(first["next_after"], "17841400023");
    let second: Value = list("17841400023").await.unwrap().json().await.unwrap();
    assert_eq!(ids(&second), ["17841400024"]);
    assert_eq!(second["next_after"], Value::Null);

    let missing = p
        .admin(Method::GET, &format!("/v1/apps/{APP_ID}/accounts/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(missing, StatusCode::NOT_FOUND).await["detail"],
        "No such account."
    );
    let bad_state = p
        .admin(
            Method::GET,
            &format!("/v1/apps/{APP_ID}/accounts?state=sleepy"),
        )
        .send()
        .await
        .unwrap();
    problem(bad_state, StatusCode::BAD_REQUEST).await;
    let bad_body = p
        .admin(Method::PUT, &format!("/v1/apps/{APP_ID}/accounts/x"))
        .json(&json!({"colour": "blue"}))
        .send()
        .await
        .unwrap();
    problem(bad_body, StatusCode::BAD_REQUEST).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn operations_endpoints_answer() {
    let p = pipeline().await;
    assert_eq!(p.get("/healthz").await.status(), 200);
    p.eventually("ready", || async { p.get("/readyz").await.status() == 200 })
        .await;
    let exposition = p.get("/metrics").await.text().await.unwrap();
    assert!(exposition.contains("graphhook_processor_ready 1"));
    p.deliver(r#"{"object":"instagram","entry":[{"id":"17841400041","time":1700000000,"changes":[{"field":"comments","value":{"id":"c1"}}]}]}"#).await;
    p.processed(1).await;
    // librdkafka reports lag in its statistics, every 5 s.
    p.eventually("consumer lag reported", || async {
        let exposition = p.get("/metrics").await.text().await.unwrap();
        exposition.contains("graphhook_processor_consumer_lag{partition=")
    })
    .await;
    problem(p.get("/nowhere").await, StatusCode::NOT_FOUND).await;
    let exposition = p.get("/metrics").await.text().await.unwrap();
    assert!(
        exposition.contains(r#"graphhook_processor_http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{exposition}"
    );
    assert!(exposition.contains(
        r#"graphhook_processor_http_requests_total{method="GET",route="unmatched",status="404"} 1"#
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_service_reports_a_reconnection_and_the_account_becomes_active() {
    let p = pipeline().await;
    let account = "17841400051";
    let report = json!({"app_id": APP_ID, "account_id": account, "http_status": 400, "code": 190, "time_ms": 1_700_000_000_000_i64});
    p.write_raw(GRAPH_ERRORS, account, &report.to_string())
        .await;
    p.eventually("flagged", || async {
        p.state(account).await == Some(graphhook_schema::account::AccountState::ReconnectRequired)
    })
    .await;
    let path = format!("/v1/apps/{APP_ID}/accounts/{account}/events");
    let post = |body: Value| p.admin(Method::POST, &path).json(&body).send();

    let reconnected: Value = post(json!({"event": "reconnected"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reconnected["account"]["state"], "active");
    assert_eq!(reconnected["transition"]["from"], "reconnect_required");
    assert_eq!(reconnected["transition"]["reason"], "reconnected");
    let again: Value = post(json!({"event": "reconnected"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["transition"],
        Value::Null,
        "nothing changes on an active account"
    );

    let records = p
        .app
        .read_records(graphhook_schema::topics::ACCOUNTS, 2)
        .await;
    assert_eq!(records.len(), 2, "flagged, then reconnected");
    let last: Value =
        serde_json::from_slice(rdkafka::Message::payload(&records[1]).unwrap()).unwrap();
    assert_eq!(
        (last["to"].clone(), last["reason"].clone()),
        (json!("active"), json!("reconnected"))
    );
    assert!(last["source_event_id"]
        .as_str()
        .unwrap()
        .starts_with("admin/"));

    let refreshing: Value = post(json!({"event": "refresh_started"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refreshing["account"]["state"], "refreshing");
    problem(
        post(json!({"event": "teleported"})).await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
}
