//! The Graph client against a fake Graph API on loopback (wiremock): where tokens
//! go, usage headers, single flight, every error class from real error bodies,
//! and timeouts of reads and mutations.

use std::time::Duration;

use graphhook_graph::{Call, GraphClient, GraphSettings, Host};
use graphhook_schema::graph_error::ErrorClass;
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "EAAGm0PX4ZCpsBAsecret-token-value";

async fn client(server: &MockServer, timeout_ms: u64) -> GraphClient {
    let settings = GraphSettings {
        facebook_url: server.uri().parse().unwrap(),
        instagram_url: server.uri().parse().unwrap(),
        api_version: "v24.0".into(),
        read_timeout_ms: timeout_ms,
        mutation_timeout_ms: timeout_ms,
        ..GraphSettings::default()
    };
    GraphClient::new(&settings).unwrap()
}

fn status_read() -> Call {
    Call::get(Host::Facebook, "container_status", "/1790000001")
        .query("fields", "status_code,status")
        .token(SecretString::from(TOKEN))
        .for_account("1", "17841400000")
}

fn error(status: u16, body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

#[tokio::test]
async fn the_token_goes_in_the_authorization_header_and_usage_headers_are_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v24.0/1790000001"))
        .and(query_param("fields", "status_code,status"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status_code": "FINISHED", "id": "1790000001"}))
                .insert_header("x-app-usage", r#"{"call_count":28,"total_time":25,"total_cputime":25}"#)
                .insert_header(
                    "x-business-use-case-usage",
                    r#"{"17841400000":[{"type":"instagram","call_count":95,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":12}]}"#,
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let answer = client(&server, 2_000)
        .await
        .call(&status_read())
        .await
        .unwrap();
    assert_eq!(answer.body["status_code"], "FINISHED");
    assert!((answer.usage.app.unwrap().share() - 0.28).abs() < 1e-9);
    assert_eq!(answer.usage.business[0].regain_minutes, 12);
    let requests = server.received_requests().await.unwrap();
    assert!(
        !requests[0].url.as_str().contains(TOKEN),
        "no token in the URL"
    );
}

#[tokio::test]
async fn identical_concurrent_reads_are_made_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v24.0/1790000001"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status_code": "IN_PROGRESS"}))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    let client = client(&server, 2_000).await;
    let reads: Vec<_> = (0..6)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.call(&status_read()).await })
        })
        .collect();
    for read in reads {
        assert_eq!(
            read.await.unwrap().unwrap().body["status_code"],
            "IN_PROGRESS"
        );
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    // Mutations are never shared.
    Mock::given(method("POST"))
        .and(path("/v24.0/17841400000/media_publish"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "m1"})))
        .mount(&server)
        .await;
    let publish = Call::post(
        Host::Facebook,
        "media_publish",
        "/17841400000/media_publish",
    )
    .form("creation_id", "1790000001")
    .token(SecretString::from(TOKEN));
    let (a, b) = tokio::join!(client.call(&publish), client.call(&publish));
    assert!(a.is_ok() && b.is_ok());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

/// Real error bodies (meta-platform.md sections 7 and 9) and the class each gets.
fn real_errors() -> Vec<(u16, serde_json::Value, ErrorClass)> {
    vec![
        (
            400,
            json!({"error":{"message":"Error validating access token: Session has expired on Tuesday, 17-Nov-26 09:00:00 PST.","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"A1b2"}}),
            ErrorClass::Reconnect,
        ),
        (
            400,
            json!({"error":{"message":"Error validating access token: The user has not authorized application 123.","type":"OAuthException","code":190,"error_subcode":458,"fbtrace_id":"A1b3"}}),
            ErrorClass::Reconnect,
        ),
        (
            403,
            json!({"error":{"message":"(#10) Application does not have permission for this action","type":"OAuthException","code":10,"fbtrace_id":"A1b4"}}),
            ErrorClass::Reconnect,
        ),
        (
            400,
            json!({"error":{"message":"(#200) Permissions error","type":"OAuthException","code":200,"fbtrace_id":"A1b5"}}),
            ErrorClass::Reconnect,
        ),
        (
            400,
            json!({"error":{"message":"The user is not an admin of the page","type":"OAuthException","code":492,"fbtrace_id":"A1b6"}}),
            ErrorClass::Reconnect,
        ),
        (
            400,
            json!({"error":{"message":"The Instagram account is restricted.","type":"OAuthException","code":25,"error_subcode":2207050,"fbtrace_id":"A1b7"}}),
            ErrorClass::Reconnect,
        ),
        (
            400,
            json!({"error":{"message":"(#4) Application request limit reached","type":"OAuthException","is_transient":true,"code":4,"fbtrace_id":"A1b8"}}),
            ErrorClass::Wait,
        ),
        (
            400,
            json!({"error":{"message":"(#17) User request limit reached","type":"OAuthException","is_transient":true,"code":17,"error_subcode":2446079,"fbtrace_id":"A1b9"}}),
            ErrorClass::Wait,
        ),
        (
            400,
            json!({"error":{"message":"(#32) Page request limit reached","type":"OAuthException","code":32,"fbtrace_id":"A1c1"}}),
            ErrorClass::Wait,
        ),
        (
            400,
            json!({"error":{"message":"Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613,"fbtrace_id":"A1c2"}}),
            ErrorClass::Wait,
        ),
        (
            400,
            json!({"error":{"message":"There have been too many calls from this Instagram account.","type":"OAuthException","code":80002,"fbtrace_id":"A1c3"}}),
            ErrorClass::Wait,
        ),
        (
            400,
            json!({"error":{"message":"Application request limit reached","type":"OAuthException","code":4,"error_subcode":2207051,"fbtrace_id":"A1c4"}}),
            ErrorClass::Wait,
        ),
        (
            400,
            json!({"error":{"message":"An unknown error occurred","type":"OAuthException","code":1,"is_transient":true,"fbtrace_id":"A1c5"}}),
            ErrorClass::RetryLater,
        ),
        (
            400,
            json!({"error":{"message":"Service temporarily unavailable","type":"OAuthException","code":2,"is_transient":true,"fbtrace_id":"A1c6"}}),
            ErrorClass::RetryLater,
        ),
        (
            500,
            json!({"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","is_transient":true,"code":2,"fbtrace_id":"A1c7"}}),
            ErrorClass::RetryLater,
        ),
        (
            400,
            json!({"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_subcode":2207023,"error_user_title":"Media type unknown","error_user_msg":"The media type is not supported.","fbtrace_id":"A1c8"}}),
            ErrorClass::FixRequest,
        ),
        (
            400,
            json!({"error":{"message":"The video format is not supported.","type":"OAuthException","code":352,"error_subcode":2207026,"fbtrace_id":"A1c9"}}),
            ErrorClass::FixRequest,
        ),
        (
            400,
            json!({"error":{"message":"Media download has failed. The media URI doesn't meet our requirements.","type":"OAuthException","code":9004,"error_subcode":2207052,"fbtrace_id":"A1d1"}}),
            ErrorClass::FixRequest,
        ),
        (
            400,
            json!({"error":{"message":"The aspect ratio is not supported.","type":"OAuthException","code":36003,"fbtrace_id":"A1d2"}}),
            ErrorClass::FixRequest,
        ),
        (
            400,
            json!({"error":{"message":"Media ID is not available","type":"OAuthException","code":9007,"error_subcode":2207027,"is_transient":false,"error_user_title":"Media not ready","fbtrace_id":"A1d3"}}),
            ErrorClass::NotReady,
        ),
        (
            400,
            json!({"error":{"message":"Application request limit reached","type":"OAuthException","code":9,"error_subcode":2207042,"error_user_title":"Daily posting limit","fbtrace_id":"A1d4"}}),
            ErrorClass::Wait,
        ),
        (429, json!({}), ErrorClass::Wait),
        (503, json!({}), ErrorClass::RetryLater),
    ]
}

#[tokio::test]
async fn every_error_class_from_real_error_bodies() {
    for (status, body, expected) in real_errors() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(error(status, body.clone()))
            .mount(&server)
            .await;
        let failed = client(&server, 2_000)
            .await
            .call(&status_read())
            .await
            .unwrap_err();
        assert_eq!(failed.class, expected, "{body}");
        assert_eq!(failed.failure.http_status, Some(status));
        if let Some(meta) = body.get("error").and_then(|e| e.get("fbtrace_id")) {
            let parsed = failed.error.as_ref().expect("the error object is parsed");
            assert_eq!(parsed.fbtrace_id.as_deref(), meta.as_str());
        }
        assert!(!failed.to_string().contains(TOKEN));
    }
}

#[tokio::test]
async fn a_timed_out_read_is_retried_later_and_a_timed_out_mutation_has_an_unknown_outcome() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(800)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(800)))
        .mount(&server)
        .await;
    let client = client(&server, 200).await;
    let read = client.call(&status_read()).await.unwrap_err();
    assert_eq!(read.class, ErrorClass::RetryLater);
    assert_eq!(read.transport.as_deref(), Some("timed out"));
    let publish = Call::post(
        Host::Facebook,
        "media_publish",
        "/17841400000/media_publish",
    )
    .form("creation_id", "1790000001")
    .token(SecretString::from(TOKEN));
    let mutation = client.call(&publish).await.unwrap_err();
    assert_eq!(mutation.class, ErrorClass::UnknownOutcome);
    let server_error = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server_error)
        .await;
    let lost = crate::client(&server_error, 2_000)
        .await
        .call(&publish)
        .await
        .unwrap_err();
    assert_eq!(
        lost.class,
        ErrorClass::UnknownOutcome,
        "a 502 on publish is no answer"
    );
}
