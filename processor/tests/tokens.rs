//! Tokens against a fake Graph API (wiremock) and a real store, with time through a
//! clock the tests set: registration, pre-rotation, failures, two replicas, the
//! alert before expiry, key rotation.

mod support;

use graphhook_processor::domain::ids::{AccountId, AppId};
use std::sync::Arc;

use graphhook_processor::store::Store;
use graphhook_processor::testing::stack::{token_settings, GraphHosts, Stack};
use graphhook_processor::testing::ManualClock;
use graphhook_processor::tokens::cipher::TokenCipher;
use graphhook_processor::tokens::manager::TokenManager;
use graphhook_processor::tokens::registration::TokenRegistration;
use graphhook_processor::tokens::rotation::rotate_key;
use graphhook_processor::tokens::{TokenKind, TokenSettings};
use graphhook_schema::account::AccountState;
use graphhook_schema::output::AccountTransitionRecord;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use support::{connect, databases, stores};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const APP: &str = "1234567890";
const ACCOUNT: &str = "17841400000";
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
/// 2026-11-01T00:00:00Z.
const NOW: i64 = 1_793_491_200_000;

fn manager(
    store: &Store,
    server: &MockServer,
    clock: Arc<ManualClock>,
    settings: TokenSettings,
) -> TokenManager {
    let publishing = graphhook_processor::publishing::PublishingSettings::default();
    Stack::new(
        store,
        clock,
        &GraphHosts::same(&server.uri()),
        settings,
        publishing,
    )
    .tokens
}

/// `debug_token` answers for `token`: valid, for the app, issued and expiring as
/// given (seconds; expires 0: never).
async fn debug_token(server: &MockServer, token: &str, kind: &str, issued_s: i64, expires_s: i64) {
    Mock::given(method("GET"))
        .and(path("/v24.0/debug_token"))
        .and(query_param("input_token", token))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "app_id": APP, "type": kind, "application": "graphhook test", "is_valid": true,
            "issued_at": issued_s, "expires_at": expires_s, "data_access_expires_at": expires_s + 30 * 86_400,
            "scopes": ["instagram_basic", "instagram_content_publish"], "user_id": "218471"
        }})))
        .mount(server)
        .await;
}

/// `/me` with `token` answers `body` (who the token acts for).
async fn me(server: &MockServer, token: &str, body: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path("/v24.0/me"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// A Page token of Page 55, linked to `ACCOUNT`.
async fn page_token(server: &MockServer, token: &str) {
    debug_token(server, token, "PAGE", NOW / 1000, 0).await;
    me(
        server,
        token,
        json!({"id": "55", "instagram_business_account": {"id": ACCOUNT}}),
    )
    .await;
}

async fn register_with(
    manager: &TokenManager,
    token: &str,
    kind: TokenKind,
    expires_in: Option<i64>,
) {
    manager
        .register(
            &AppId::from(APP),
            &AccountId::from(ACCOUNT),
            TokenRegistration {
                token: SecretString::from(token),
                kind,
                tenant: Some("acme".into()),
                page_id: None,
                expires_in,
            },
        )
        .await
        .expect("registered");
}

async fn register(manager: &TokenManager, token: &str, kind: TokenKind) {
    register_with(manager, token, kind, None).await;
}

/// An Instagram-login token of `ACCOUNT` (checked with `/me` on the Instagram
/// host), registered with `expires_in` seconds left (`None`: not told).
async fn instagram_login(
    server: &MockServer,
    manager: &TokenManager,
    token: &str,
    expires_in: Option<i64>,
) {
    me(
        server,
        token,
        json!({"id": "27001", "user_id": ACCOUNT, "username": "acme"}),
    )
    .await;
    register_with(manager, token, TokenKind::InstagramLogin, expires_in).await;
}

/// An Instagram-login token expiring in `days_left`.
async fn instagram_token(server: &MockServer, manager: &TokenManager, token: &str, days_left: i64) {
    instagram_login(server, manager, token, Some(days_left * DAY / 1000)).await;
}

/// A fake Graph API, a clock at `NOW`, and a token manager with one key on `store`.
/// `debug_token` cannot parse tokens it was not told about (Instagram-login
/// tokens among them), as Meta's cannot.
async fn setup(store: &Store) -> (MockServer, Arc<ManualClock>, TokenManager) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v24.0/debug_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"is_valid": false,
            "error": {"code": 190, "message": "Invalid OAuth access token - Cannot parse access token"}}})))
        .with_priority(10)
        .mount(&server)
        .await;
    let clock = ManualClock::at(NOW);
    let tokens = manager(
        store,
        &server,
        clock.clone(),
        token_settings(&[("k1", 1)], "k1"),
    );
    (server, clock, tokens)
}

/// A manager with an Instagram-login token registered with `expires_in` seconds
/// left (`None`: the client did not say).
async fn with_instagram_token(
    store: &Store,
    token: &str,
    expires_in: Option<i64>,
) -> (MockServer, Arc<ManualClock>, TokenManager) {
    let (server, clock, tokens) = setup(store).await;
    instagram_login(&server, &tokens, token, expires_in).await;
    (server, clock, tokens)
}

/// Instagram's refresh endpoint answering `response` (to mount).
fn on_refresh(response: ResponseTemplate) -> Mock {
    Mock::given(method("GET"))
        .and(path("/refresh_access_token"))
        .respond_with(response)
}

fn ig_refresh(new_token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": new_token, "token_type": "bearer", "expires_in": 5_184_000
    }))
}

async fn refresh_calls(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/refresh_access_token")
        .count()
}

async fn state(store: &Store) -> AccountState {
    store
        .account(&AppId::from(APP), &AccountId::from(ACCOUNT))
        .await
        .unwrap()
        .expect("account")
        .snapshot
        .state
}

async fn transitions(store: &Store) -> Vec<AccountTransitionRecord> {
    store
        .pending_outbox(1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.topic == "t.accounts.v1")
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .collect()
}

#[tokio::test]
async fn refresh_succeeds_and_the_new_expiry_is_stored_encrypted() {
    for store in stores().await {
        let (server, _, tokens) = setup(&store).await;
        instagram_token(&server, &tokens, "IGQVJ-old-token", 5).await;
        Mock::given(method("GET"))
            .and(path("/refresh_access_token"))
            .and(query_param("grant_type", "ig_refresh_token"))
            .respond_with(ig_refresh("IGQVJ-new-token"))
            .expect(1)
            .mount(&server)
            .await;
        let report = tokens.run_pass().await.unwrap();
        assert_eq!(report.refreshed, 1, "{report:?}");
        let request = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.url.path() == "/refresh_access_token")
            .unwrap();
        assert_eq!(request.headers["authorization"], "Bearer IGQVJ-old-token");
        assert!(
            !request.url.as_str().contains("IGQVJ"),
            "the token is not in the URL"
        );
        let stored = store
            .token(graphhook_processor::store::TokenKey {
                app_id: &AppId::from(APP),
                account_id: &AccountId::from(ACCOUNT),
                kind: TokenKind::InstagramLogin,
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.record.expires_at_ms, Some(NOW + 5_184_000_000));
        assert_eq!(stored.record.last_refresh_at_ms, Some(NOW));
        assert!(!stored.sealed.ciphertext.contains("IGQVJ"));
        let credentials = tokens
            .credentials(&AppId::from(APP), &AccountId::from(ACCOUNT))
            .await
            .unwrap();
        assert_eq!(credentials.token.expose_secret(), "IGQVJ-new-token");
        let moves: Vec<_> = transitions(&store)
            .await
            .iter()
            .map(|t| (t.from, t.to))
            .collect();
        assert_eq!(
            moves,
            [
                (AccountState::Active, AccountState::Refreshing),
                (AccountState::Refreshing, AccountState::Active)
            ]
        );
        assert_eq!(
            tokens.run_pass().await.unwrap().refreshed,
            0,
            "nothing left to do"
        );
    }
}

#[tokio::test]
async fn a_refresh_answered_500_twice_then_succeeds() {
    for store in stores().await {
        let (server, clock, tokens) = setup(&store).await;
        instagram_token(&server, &tokens, "IGQVJ-old", 5).await;
        on_refresh(ResponseTemplate::new(500).set_body_json(json!({"error": {"message": "An unexpected error has occurred.", "type": "OAuthException", "is_transient": true, "code": 2}})))
            .up_to_n_times(2).mount(&server).await;
        on_refresh(ig_refresh("IGQVJ-new")).mount(&server).await;
        assert_eq!(tokens.run_pass().await.unwrap().failed, 1);
        assert_eq!(
            state(&store).await,
            AccountState::Active,
            "usable while retrying"
        );
        assert_eq!(
            tokens.run_pass().await.unwrap(),
            Default::default(),
            "backing off"
        );
        clock.advance(60_000);
        assert_eq!(tokens.run_pass().await.unwrap().failed, 1);
        clock.advance(60_000);
        assert_eq!(
            tokens.run_pass().await.unwrap(),
            Default::default(),
            "the wait doubled"
        );
        clock.advance(60_000);
        assert_eq!(tokens.run_pass().await.unwrap().refreshed, 1);
        assert_eq!(refresh_calls(&server).await, 3);
        assert_eq!(
            tokens
                .credentials(&AppId::from(APP), &AccountId::from(ACCOUNT))
                .await
                .unwrap()
                .token
                .expose_secret(),
            "IGQVJ-new"
        );
    }
}

#[tokio::test]
async fn a_token_younger_than_24_hours_is_not_sent_for_refresh() {
    for store in stores().await {
        // The client did not say when it expires: refreshed as soon as Meta
        // allows, 24 hours after registration.
        let (server, clock, tokens) = with_instagram_token(&store, "IGQVJ-young", None).await;
        on_refresh(ig_refresh("IGQVJ-grown")).mount(&server).await;
        tokens.run_pass().await.unwrap();
        clock.advance(22 * HOUR);
        tokens.run_pass().await.unwrap();
        assert_eq!(
            refresh_calls(&server).await,
            0,
            "not before it is 24 hours old"
        );
        clock.advance(2 * HOUR);
        assert_eq!(tokens.run_pass().await.unwrap().refreshed, 1);
        assert_eq!(refresh_calls(&server).await, 1);
    }
}

#[tokio::test]
async fn a_190_463_during_refresh_flags_the_account_and_writes_accounts_v1() {
    for store in stores().await {
        let (server, clock, tokens) = setup(&store).await;
        instagram_token(&server, &tokens, "IGQVJ-dead", 5).await;
        on_refresh(ResponseTemplate::new(400).set_body_json(json!({"error": {
                "message": "Error validating access token: Session has expired on Sunday.",
                "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "AxYz"}})))
            .expect(1).mount(&server).await;
        assert_eq!(tokens.run_pass().await.unwrap().reconnect, 1);
        assert_eq!(state(&store).await, AccountState::ReconnectRequired);
        let last = transitions(&store).await.pop().unwrap();
        assert_eq!(
            (
                last.from,
                last.to,
                last.reason.as_str(),
                last.action.as_str()
            ),
            (
                AccountState::Refreshing,
                AccountState::ReconnectRequired,
                "token_invalid",
                "reconnect"
            )
        );
        clock.advance(DAY);
        tokens.run_pass().await.unwrap();
        assert_eq!(
            refresh_calls(&server).await,
            1,
            "a dead token is not tried again"
        );
        assert!(matches!(
            tokens
                .credentials(&AppId::from(APP), &AccountId::from(ACCOUNT))
                .await,
            Err(graphhook_processor::tokens::manager::CredentialsError::NotActive { .. })
        ));
    }
}

#[tokio::test]
async fn two_replicas_against_one_database_make_exactly_one_refresh_call() {
    for url in databases().await {
        let server = MockServer::start().await;
        let clock = ManualClock::at(NOW);
        let (first, second) = (connect(&url).await, connect(&url).await);
        let replica_a = manager(
            &first,
            &server,
            clock.clone(),
            token_settings(&[("k1", 1)], "k1"),
        );
        let replica_b = manager(
            &second,
            &server,
            clock.clone(),
            token_settings(&[("k1", 1)], "k1"),
        );
        instagram_token(&server, &replica_a, "IGQVJ-shared", 5).await;
        on_refresh(ig_refresh("IGQVJ-once").set_delay(std::time::Duration::from_millis(400)))
            .mount(&server)
            .await;
        let (a, b) = tokio::join!(replica_a.run_pass(), replica_b.run_pass());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.refreshed + b.refreshed, 1, "{a:?} {b:?}");
        assert_eq!(refresh_calls(&server).await, 1, "{url}");
        let (app, account) = (AppId::from(APP), AccountId::from(ACCOUNT));
        let (ca, cb) = tokio::join!(
            replica_a.credentials(&app, &account),
            replica_b.credentials(&app, &account)
        );
        assert_eq!(ca.unwrap().token.expose_secret(), "IGQVJ-once");
        assert_eq!(cb.unwrap().token.expose_secret(), "IGQVJ-once");
    }
}

#[tokio::test]
async fn a_token_that_cannot_be_refreshed_is_flagged_before_it_expires() {
    for store in stores().await {
        let (server, clock, tokens) = setup(&store).await;
        instagram_token(&server, &tokens, "IGQVJ-stuck", 6).await;
        on_refresh(ResponseTemplate::new(503)).mount(&server).await;
        let expires = NOW + 6 * DAY;
        let mut flagged_at = None;
        while clock_now(&clock) < expires {
            let report = tokens.run_pass().await.unwrap();
            if report.flagged > 0 {
                flagged_at = Some(clock_now(&clock));
                break;
            }
            clock.advance(HOUR);
        }
        let flagged_at = flagged_at.expect("flagged before the token died");
        assert!(
            expires - flagged_at <= 72 * HOUR && expires - flagged_at > 71 * HOUR,
            "flagged {} hours before expiry",
            (expires - flagged_at) as f64 / HOUR as f64
        );
        assert_eq!(state(&store).await, AccountState::ReconnectRequired);
        let last = transitions(&store).await.pop().unwrap();
        assert_eq!(
            (last.reason.as_str(), last.action.as_str()),
            ("token_expiring", "reconnect")
        );
        assert!(
            refresh_calls(&server).await >= 3,
            "it kept trying until then"
        );
    }
}

fn clock_now(clock: &ManualClock) -> i64 {
    use graphhook_processor::clock::Clock;
    clock.now_ms()
}

#[tokio::test]
async fn a_good_token_brings_a_reconnect_required_account_back_and_bad_ones_are_refused() {
    for store in stores().await {
        let (server, clock, tokens) = setup(&store).await;
        instagram_token(&server, &tokens, "IGQVJ-first", 50).await;
        tokens.run_pass().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let flagged = graphhook_processor::domain::account::apply(
            tx.account(&AppId::from(APP), &AccountId::from(ACCOUNT))
                .await
                .unwrap()
                .unwrap()
                .snapshot,
            graphhook_processor::domain::account::Trigger::TokenExpiring,
            NOW,
        )
        .unwrap();
        tx.save_transition(
            &AppId::from(APP),
            &AccountId::from(ACCOUNT),
            &flagged,
            "test",
            NOW,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        page_token(&server, "EAAG-page").await;
        clock.advance(1_000);
        let (record, transition) = tokens
            .register(
                &AppId::from(APP),
                &AccountId::from(ACCOUNT),
                TokenRegistration {
                    token: SecretString::from("EAAG-page"),
                    kind: TokenKind::Page,
                    tenant: None,
                    page_id: Some("55".into()),
                    expires_in: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(record.expires_at_ms, None, "Page tokens do not expire");
        let transition = transition.expect("back to active");
        assert_eq!(transition.to, AccountState::Active);
        assert_eq!(transition.reason.as_str(), "token_registered");
        // Another app's token, an invalid one, a user token claimed to be a Page token.
        Mock::given(method("GET"))
            .and(path("/v24.0/debug_token"))
            .and(query_param("input_token", "EAAG-other-app"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"app_id": "999", "type": "USER", "is_valid": true, "expires_at": 0}})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v24.0/debug_token"))
            .and(query_param("input_token", "EAAG-invalid"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"app_id": APP, "is_valid": false, "error": {"code": 190, "subcode": 460, "message": "password changed"}}})))
            .mount(&server)
            .await;
        debug_token(
            &server,
            "EAAG-user",
            "USER",
            NOW / 1000,
            (NOW + 50 * DAY) / 1000,
        )
        .await;
        for (token, kind, why) in [
            ("EAAG-other-app", TokenKind::FacebookUser, "another app"),
            ("EAAG-invalid", TokenKind::FacebookUser, "not valid"),
            ("EAAG-user", TokenKind::Page, "not a page token"),
            // An Instagram-login token on graph.facebook.com: not parsed there.
            ("IGQVJ-first", TokenKind::Page, "not valid"),
            ("IGQVJ-first", TokenKind::FacebookUser, "not valid"),
        ] {
            let refused = tokens
                .register(
                    &AppId::from(APP),
                    &AccountId::from(ACCOUNT),
                    TokenRegistration {
                        token: SecretString::from(token),
                        kind,
                        tenant: None,
                        page_id: None,
                        expires_in: None,
                    },
                )
                .await
                .unwrap_err()
                .to_string();
            assert!(refused.contains(why), "{refused}");
            assert!(!refused.contains(token));
        }
    }
}

#[tokio::test]
async fn after_rotate_key_the_old_key_can_be_removed_and_every_token_still_decrypts() {
    for store in stores().await {
        let (server, clock, old) = setup(&store).await;
        instagram_token(&server, &old, "IGQVJ-rotated", 50).await;
        page_token(&server, "EAAG-page-rotated").await;
        register(&old, "EAAG-page-rotated", TokenKind::Page).await;
        let both = TokenCipher::from_settings(&token_settings(&[("k1", 1), ("k2", 2)], "k2"))
            .unwrap()
            .unwrap();
        assert_eq!(rotate_key(&store, &both).await.unwrap(), 2);
        assert_eq!(
            rotate_key(&store, &both).await.unwrap(),
            0,
            "nothing left under k1"
        );
        assert_eq!(store.tokens_by_key().await.unwrap(), [("k2".to_owned(), 2)]);
        let new_only = manager(&store, &server, clock, token_settings(&[("k2", 2)], "k2"));
        for kind in [TokenKind::InstagramLogin, TokenKind::Page] {
            let credentials = new_only
                .credentials_of(&AppId::from(APP), &AccountId::from(ACCOUNT), kind)
                .await
                .unwrap();
            assert!(credentials.token.expose_secret().ends_with("rotated"));
        }
    }
}

#[tokio::test]
async fn an_account_whose_token_is_being_refreshed_still_gets_its_token() {
    use graphhook_kafka::Topics;
    use graphhook_processor::apply::transitions::{transition_account, AccountChange};
    use graphhook_processor::domain::account::Trigger;
    use graphhook_processor::unit_of_work::UnitOfWork;
    for store in stores().await {
        let (_server, _, tokens) =
            with_instagram_token(&store, "IGQVJ-fine", Some(50 * DAY / 1000)).await;
        // Another caller's (or replica's) refresh has begun and not ended.
        let topics = Topics::new("t.");
        let mut uow = UnitOfWork::begin(&store, &topics, NOW).await.unwrap();
        let change = AccountChange {
            app_id: &AppId::from(APP),
            account_id: &AccountId::from(ACCOUNT),
            trigger: Trigger::RefreshStarted,
            at_ms: NOW,
            source_id: "refresh-1",
        };
        assert!(transition_account(&mut uow, &change)
            .await
            .unwrap()
            .is_some());
        uow.commit().await.unwrap();
        assert_eq!(state(&store).await, AccountState::Refreshing);
        let credentials = tokens
            .credentials(&AppId::from(APP), &AccountId::from(ACCOUNT))
            .await
            .unwrap();
        assert_eq!(credentials.token.expose_secret(), "IGQVJ-fine");
    }
}

#[tokio::test]
async fn concurrent_callers_of_a_token_inside_its_hard_margin_share_one_refresh() {
    for store in stores().await {
        // Registered with 20 hours left: inside the 24-hour hard margin, and
        // (a job that has not run) not flagged yet.
        let (server, _, tokens) =
            with_instagram_token(&store, "IGQVJ-margin", Some(20 * HOUR / 1000)).await;
        on_refresh(ig_refresh("IGQVJ-renewed").set_delay(std::time::Duration::from_millis(300)))
            .mount(&server)
            .await;
        let callers: Vec<_> = (0..5)
            .map(|_| {
                let tokens = tokens.clone();
                tokio::spawn(async move {
                    tokens
                        .credentials(&AppId::from(APP), &AccountId::from(ACCOUNT))
                        .await
                })
            })
            .collect();
        for caller in callers {
            let credentials = caller.await.unwrap().unwrap();
            assert_eq!(credentials.token.expose_secret(), "IGQVJ-renewed");
        }
        assert_eq!(refresh_calls(&server).await, 1);
    }
}
