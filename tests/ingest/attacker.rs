//! What an attacker sends, end to end: control characters in paths and queries
//! are refused before any database call (400, never a 503 that invites retries
//! and a database error dump per request), problem bodies name the field and
//! never echo the value, and a wrong method tells a stranger nothing.

use graphhook_processor::testing::test_database_urls;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{pipeline, pipeline_on};
use crate::helpers::APP_ID;

async fn problem(response: reqwest::Response, status: StatusCode) -> Value {
    let shown = format!("{} {:?}", response.status(), response.headers());
    assert_eq!(response.status(), status, "{shown}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "{shown}"
    );
    response.json().await.expect("problem body")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nul_in_a_path_or_query_is_a_400_on_every_listener_and_engine() {
    for database in test_database_urls().await.expect("test databases") {
        let engine = database.split(':').next().unwrap_or_default().to_owned();
        let p = pipeline_on(database, |_| {}).await;
        let accounts = format!("/v1/apps/{APP_ID}/accounts");
        let requests = [
            p.app.client.get(p.url("/data-deletion/%00")),
            p.admin(Method::GET, &format!("{accounts}?after=%00")),
            p.admin(Method::GET, &format!("{accounts}/%00")),
            p.admin(Method::GET, &format!("{accounts}/1784%0A1/publications")),
            p.admin(Method::PUT, &format!("{accounts}/%00/token"))
                .json(&json!({"token": "t", "kind": "page"})),
            p.app.client.get(format!("{}/webhooks/%00", p.app.address)),
        ];
        for request in requests {
            let body = problem(request.send().await.unwrap(), StatusCode::BAD_REQUEST).await;
            assert_eq!(
                body["detail"], "The path or query contains a control character.",
                "{engine}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn problem_bodies_name_the_field_never_the_value() {
    let p = pipeline().await;
    let token = format!("/v1/apps/{APP_ID}/accounts/17841400000/token");
    let leaked = "EAABleakedTokenValue0123456789";
    for body in [
        json!({"token": "IGAA-x", "kind": leaked}),
        json!({"token": "IGAA-x", "kind": "page", "tenant": {"x": leaked}}),
        json!({"token": "IGAA-x", "kind": "page", leaked: 1}),
    ] {
        let response = p
            .admin(Method::PUT, &token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = problem(response, StatusCode::BAD_REQUEST).await;
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(!detail.contains("EAAB"), "{detail}");
        assert!(
            detail.starts_with("kind:")
                || detail.starts_with("tenant:")
                || detail.contains("unknown field"),
            "{detail}"
        );
    }
    let listing = format!("/v1/apps/{APP_ID}/accounts?state={leaked}");
    let response = p.admin(Method::GET, &listing).send().await.unwrap();
    let problem = problem(response, StatusCode::BAD_REQUEST).await;
    assert!(
        !problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("EAAB"),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_method_is_a_405_problem_for_the_admin_and_a_401_for_a_stranger() {
    let p = pipeline().await;
    let account = format!("/v1/apps/{APP_ID}/accounts/17841400000");
    let stranger = p.app.client.post(p.url(&account)).send().await.unwrap();
    assert!(stranger.headers().get("allow").is_none());
    problem(stranger, StatusCode::UNAUTHORIZED).await;
    for (method, path, allow) in [
        (Method::DELETE, account.clone(), "GET, PUT"),
        (Method::GET, format!("{account}/events"), "POST"),
        (Method::PUT, format!("{account}/publications"), "GET, POST"),
    ] {
        let response = p.admin(method, &path).send().await.unwrap();
        assert_eq!(response.headers()["allow"], allow, "{path}");
        problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
    }
    problem(
        p.admin(Method::GET, "/v1/nothing").send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
}
