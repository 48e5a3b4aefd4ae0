//! Publishing end to end: a token registered through the admin API, a request
//! through the admin API and one through `publish-requests.v1`, the tracker
//! against a fake Graph API, and every status on `publish-status.v1`.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use graphhook_processor::clock::system_clock;
use graphhook_processor::testing::fake_graph::{Ending, FakeGraph, Grant, Plan};
use graphhook_processor::testing::stack::{STACK_INSTAGRAM_APP, STACK_INSTAGRAM_SECRET};
use graphhook_schema::output::{PublishStatus, PublishStatusRecord};
use graphhook_schema::topics::{PUBLISH_REQUESTS, PUBLISH_STATUS};
use rdkafka::Message;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;

use crate::harness::pipeline_with;
use crate::helpers::{metric_value, APP, APP_ID, SECRET};

const ACCOUNT: &str = "17841400077";

#[tokio::test(flavor = "multi_thread")]
async fn requests_from_the_admin_api_and_the_topic_are_published_and_every_status_is_written() {
    let fake = Arc::new(FakeGraph::start(system_clock()).await);
    fake.with(|s| {
        s.default_plan = Some(Plan {
            processing_ms: 1_500,
            ending: Ending::Finish,
        })
    });
    fake.with(|s| s.apps.facebook = (APP_ID.to_owned(), SECRET.to_owned()));
    fake.issue(
        "IGQVJ-e2e-token",
        Grant::InstagramLogin {
            user_id: ACCOUNT.to_owned(),
        },
        graphhook_schema::time::now_millis(),
    );
    let hosts = fake.hosts();
    let p = pipeline_with(|s| {
        s.graph.facebook_url = hosts.facebook.parse().unwrap();
        s.graph.instagram_url = hosts.instagram.parse().unwrap();
        let app = s.apps.get_mut(APP).expect("the harness app");
        app.instagram_app_id = Some(STACK_INSTAGRAM_APP.to_owned());
        app.instagram_app_secret = Some(SecretString::from(STACK_INSTAGRAM_SECRET));
        s.tokens
            .keys
            .insert("k1".into(), SecretString::from(STANDARD.encode([5u8; 32])));
        s.tokens.active_key = Some("k1".into());
        s.publishing.first_read_after_secs = 1;
        s.publishing.poll_interval_secs = 1;
        s.publishing.poll_cap_secs = 2;
        s.publishing.tick_ms = 100;
    })
    .await;
    let token = p
        .admin(
            Method::PUT,
            &format!("/v1/apps/{APP_ID}/accounts/{ACCOUNT}/token"),
        )
        .json(&json!({"token": "IGQVJ-e2e-token", "kind": "instagram_login"}))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200, "{}", token.text().await.unwrap());

    let publications = format!("/v1/apps/{APP_ID}/accounts/{ACCOUNT}/publications");
    let created = p
        .admin(Method::POST, &publications)
        .json(&json!({"request_id": "api-1", "kind": "image", "image_url": "https://cdn.example/a.jpg", "caption": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.unwrap();
    assert_eq!(created["token"], json!({"usable": true, "reason": null}));
    // Accepted for an account that cannot get a token yet, and the answer says why.
    let elsewhere = p
        .admin(
            Method::POST,
            &format!("/v1/apps/{APP_ID}/accounts/17841400078/publications"),
        )
        .json(&json!({"request_id": "early", "kind": "image", "image_url": "https://cdn.example/e.jpg"}))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 201);
    let elsewhere: serde_json::Value = elsewhere.json().await.unwrap();
    assert_eq!(
        elsewhere["token"],
        json!({"usable": false, "reason": "account_unknown"})
    );
    // A token that acts for another account is refused, and the problem says why.
    let stranger = p
        .admin(
            Method::PUT,
            &format!("/v1/apps/{APP_ID}/accounts/17841400078/token"),
        )
        .json(&json!({"token": "IGQVJ-e2e-token", "kind": "instagram_login"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 422);
    let problem: serde_json::Value = stranger.json().await.unwrap();
    assert_eq!(
        problem["type"],
        "urn:graphhook:problem:token-not-for-account"
    );
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("another Instagram account")),
        "{problem}"
    );
    let again = p
        .admin(Method::POST, &publications)
        .json(&json!({"request_id": "api-1", "kind": "image", "image_url": "https://cdn.example/a.jpg", "caption": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        200,
        "the same request id is the same publication"
    );
    let invalid = p
        .admin(Method::POST, &publications)
        .json(&json!({"request_id": "api-2", "kind": "image"}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 400);
    // Hostile bodies are refused by name, never stored and never a 500.
    for (body, field) in [
        (
            json!({"request_id": "h-1", "kind": "image", "image_url": "https://c/a.jpg", "caption": "a\u{0}b"}),
            "caption",
        ),
        (
            json!({"request_id": "h\u{0}2", "kind": "image", "image_url": "https://c/a.jpg"}),
            "request_id",
        ),
        (
            json!({"request_id": "h-3", "kind": "image", "container_id": "../me"}),
            "container_id",
        ),
        (
            json!({"request_id": "h-4", "kind": "page_post", "message": "x".repeat(70_000)}),
            "message",
        ),
        (
            json!({"request_id": "h-5", "kind": "image", "image_url": "javascript:alert(1)"}),
            "image_url",
        ),
    ] {
        let refused = p
            .admin(Method::POST, &publications)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400, "{field}");
        let problem: serde_json::Value = refused.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap_or("").contains(field),
            "{field}: {problem}"
        );
    }
    let refused_path = p
        .admin(
            Method::POST,
            &format!("/v1/apps/{APP_ID}/accounts/..%2Fme/publications"),
        )
        .json(&json!({"request_id": "h-6", "kind": "image", "image_url": "https://c/a.jpg"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused_path.status(),
        400,
        "an account id that is not Meta's"
    );
    p.write_raw(
        PUBLISH_REQUESTS,
        ACCOUNT,
        &json!({"request_id": "topic-1", "app_id": APP_ID, "account_id": ACCOUNT, "kind": "reel",
            "video_url": "https://cdn.example/r.mp4"})
        .to_string(),
    )
    .await;

    for request_id in ["api-1", "topic-1"] {
        p.eventually(&format!("{request_id} published"), || async {
            let response = p
                .admin(Method::GET, &format!("{publications}/{request_id}"))
                .send()
                .await
                .unwrap();
            response.status() == 200
                && response.json::<serde_json::Value>().await.unwrap()["state"] == "published"
        })
        .await;
    }
    let records: Vec<PublishStatusRecord> = p
        .app
        .read_records(PUBLISH_STATUS, 10)
        .await
        .iter()
        .map(|m| serde_json::from_slice(m.payload().unwrap()).unwrap())
        .collect();
    for request_id in ["api-1", "topic-1"] {
        let steps: Vec<PublishStatus> = records
            .iter()
            .filter(|r| r.request_id.as_deref() == Some(request_id))
            .map(|r| r.status)
            .collect();
        assert_eq!(
            steps.first(),
            Some(&PublishStatus::Requested),
            "{request_id}"
        );
        assert_eq!(
            steps.last(),
            Some(&PublishStatus::Published),
            "{request_id}"
        );
        assert!(
            steps.contains(&PublishStatus::Ready),
            "{request_id}: {steps:?}"
        );
    }
    assert!(records.iter().all(|r| !r.record_id.is_empty()));
    assert_eq!(fake.double_posts(), 0);
    assert_eq!(fake.calls_to("/media_publish"), 2);

    let listed = p
        .admin_get(&format!("{publications}?state=published"))
        .await;
    assert_eq!(listed["publications"].as_array().unwrap().len(), 2);
    p.eventually("the publications gauge", || async {
        let exposition = p.get("/metrics").await.text().await.unwrap();
        metric_value(&exposition, r#"graphhook_publications{state="published"}"#) == 2.0
            && metric_value(&exposition, "graphhook_publication_graph_calls_count") == 2.0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_requests_are_refused_on_the_api_and_dead_lettered_from_the_topic() {
    let p = pipeline_with(|_| {}).await;
    let publications = format!("/v1/apps/{APP_ID}/accounts/{ACCOUNT}/publications");
    let image = |extra: serde_json::Value| {
        let mut body =
            json!({"request_id": "x-1", "kind": "image", "image_url": "https://cdn.example/a.jpg"});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body
    };
    for (extra, field) in [
        (json!({"image_url": "https://"}), "image_url"),
        (json!({"options": {"method": "delete"}}), "options.method"),
        (
            json!({"options": {"suppress_http_code": "1"}}),
            "options.suppress_http_code",
        ),
        (json!({"not_before_ms": i64::MAX}), "not_before_ms"),
        (json!({"not_before_ms": -5}), "not_before_ms"),
        (json!({"caption": "ring\u{7}"}), "caption"),
        (json!({"message": "only for Page posts"}), "message"),
    ] {
        let response = p
            .admin(Method::POST, &publications)
            .json(&image(extra.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{extra}");
        let problem: serde_json::Value = response.json().await.unwrap();
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with(field)),
            "{problem}"
        );
    }
    let first = p
        .admin(Method::POST, &publications)
        .json(&image(json!({"caption": "a"})))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let different = p
        .admin(Method::POST, &publications)
        .json(&image(json!({"caption": "b"})))
        .send()
        .await
        .unwrap();
    assert_eq!(different.status(), 409);
    let problem: serde_json::Value = different.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.ends_with("differs in: caption")),
        "{problem}"
    );
    for account in ["%3Cscript%3E", "..%2F..%2Fx", "a.b"] {
        let response = p
            .admin(
                Method::PUT,
                &format!("/v1/apps/{APP_ID}/accounts/{account}"),
            )
            .json(&json!({"tenant": "acme"}))
            .send()
            .await
            .unwrap();
        assert!(
            matches!(response.status().as_u16(), 400 | 404),
            "{account}: {}",
            response.status()
        );
    }

    let request = |request_id: &str, app: &str, caption: &str| {
        json!({"request_id": request_id, "app_id": app, "account_id": ACCOUNT, "kind": "image",
            "image_url": "https://cdn.example/t.jpg", "caption": caption})
        .to_string()
    };
    p.write_raw(PUBLISH_REQUESTS, ACCOUNT, &request("t-app", "999", "a"))
        .await;
    p.write_raw(
        PUBLISH_REQUESTS,
        "17841400099",
        &request("t-key", APP_ID, "a"),
    )
    .await;
    p.write_raw(PUBLISH_REQUESTS, ACCOUNT, &request("t-same", APP_ID, "a"))
        .await;
    p.write_raw(PUBLISH_REQUESTS, ACCOUNT, &request("t-same", APP_ID, "b"))
        .await;
    let dead: Vec<graphhook_schema::output::DeadLetterRecord> = p
        .app
        .read_records(graphhook_schema::topics::DLQ, 3)
        .await
        .iter()
        .map(|m| serde_json::from_slice(m.payload().unwrap()).unwrap())
        .collect();
    let reasons: Vec<&str> = dead.iter().map(|d| d.error.as_str()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    // Records under different keys may be in different partitions: any order.
    for expected in [
        "app_id names no app",
        "key is not its account_id",
        "differs in caption",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(expected)),
            "{expected}: {reasons:?}"
        );
    }
    for request_id in ["t-app", "t-key"] {
        let response = p
            .admin(Method::GET, &format!("{publications}/{request_id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            404,
            "{request_id} never became a publication"
        );
    }
}
