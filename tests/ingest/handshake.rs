//! `GET /webhooks/{app}`: the subscription handshake.

use crate::helpers::{spawn_app, spawn_app_with, APP, VERIFY_TOKEN};

fn handshake_path(mode: &str, token: &str, challenge: &str) -> String {
    format!("/webhooks/{APP}?hub.mode={mode}&hub.verify_token={token}&hub.challenge={challenge}")
}

#[tokio::test]
async fn the_right_token_gets_the_challenge_back_as_text() {
    let app = spawn_app().await;
    let response = app
        .get(&handshake_path("subscribe", VERIFY_TOKEN, "1158201444"))
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(response.text().await.unwrap(), "1158201444");
}

#[tokio::test]
async fn a_wrong_token_mode_or_missing_challenge_is_refused_with_403() {
    let app = spawn_app().await;
    for path in [
        handshake_path("subscribe", "wrong-token", "1"),
        handshake_path("subscribe", &VERIFY_TOKEN[..VERIFY_TOKEN.len() - 1], "1"),
        handshake_path("unsubscribe", VERIFY_TOKEN, "1"),
        format!("/webhooks/{APP}?hub.mode=subscribe&hub.challenge=1"),
        format!("/webhooks/{APP}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}"),
        format!("/webhooks/{APP}"),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 403, "{path}");
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["type"], "urn:graphhook:problem:handshake-refused");
    }
}

#[tokio::test]
async fn an_app_without_a_verify_token_refuses_every_handshake() {
    let app = spawn_app_with(|s| {
        if let Some(app) = s.apps.get_mut(APP) {
            app.verify_token = None;
        }
    })
    .await;
    for token in ["", "anything", VERIFY_TOKEN] {
        let response = app.get(&handshake_path("subscribe", token, "42")).await;
        assert_eq!(response.status(), 403, "token {token:?}");
    }
}

#[tokio::test]
async fn a_handshake_for_an_unknown_app_is_404() {
    let app = spawn_app().await;
    let response = app
        .get(&format!(
            "/webhooks/other?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1"
        ))
        .await;
    assert_eq!(response.status(), 404);
}
