//! Tokens as Meta checks them, against the fake Graph API that refuses what Meta
//! refuses: Instagram-login tokens are checked and used on graph.instagram.com
//! with the app's Instagram app (never parsed on graph.facebook.com), every call
//! carries `appsecret_proof`, and a token is registered only under an account it
//! can act for.

mod support;

use graphhook_processor::domain::ids::{AccountId, AppId};
use std::sync::Arc;

use graphhook_processor::gateway::{AppSecrets, MetaApp};
use graphhook_processor::publishing::PublishingSettings;
use graphhook_processor::store::{Store, TokenRecord};
use graphhook_processor::testing::fake_graph::{FakeGraph, Grant};
use graphhook_processor::testing::stack::{stack_apps, token_settings, Stack, STACK_APP};
use graphhook_processor::testing::ManualClock;
use graphhook_processor::tokens::manager::TokenManager;
use graphhook_processor::tokens::registration::{RegistrationError, TokenRegistration};
use graphhook_processor::tokens::TokenKind;
use secrecy::SecretString;
use support::stores;

const ACCOUNT: &str = "17841400000";
const OTHER_ACCOUNT: &str = "17841400999";
const PAGE: &str = "1050";
const NOW: i64 = 1_793_491_200_000;

async fn world(store: &Store, apps: AppSecrets) -> (Arc<FakeGraph>, TokenManager) {
    let clock = ManualClock::at(NOW);
    let fake = Arc::new(FakeGraph::start(clock.clone()).await);
    let settings = (
        token_settings(&[("k1", 1)], "k1"),
        PublishingSettings::default(),
    );
    let stack = Stack::with_apps(store, clock, &fake.hosts(), settings, apps);
    (fake, stack.tokens)
}

async fn register(
    tokens: &TokenManager,
    account: &str,
    token: &str,
    kind: TokenKind,
    page_id: Option<&str>,
) -> Result<TokenRecord, RegistrationError> {
    let request = TokenRegistration {
        token: SecretString::from(token),
        kind,
        tenant: None,
        page_id: page_id.map(str::to_owned),
        expires_in: None,
    };
    tokens
        .register(&AppId::from(STACK_APP), &AccountId::from(account), request)
        .await
        .map(|(record, _)| record)
}

fn rejected(error: &RegistrationError) -> bool {
    matches!(error, RegistrationError::Rejected(_))
}

fn not_for_account(error: &RegistrationError) -> bool {
    matches!(error, RegistrationError::NotForAccount(_))
}

/// Registers (account, token, kind, Page) and expects the refusal `expected`
/// tells; returns its text.
async fn refused(
    tokens: &TokenManager,
    (account, token, kind, page): (&str, &str, TokenKind, Option<&str>),
    expected: fn(&RegistrationError) -> bool,
) -> String {
    match register(tokens, account, token, kind, page).await {
        Ok(_) => panic!("{token} registered under {account}"),
        Err(error) => {
            assert!(expected(&error), "{error}");
            error.to_string()
        }
    }
}

/// Every request either server received carried `appsecret_proof`.
async fn every_call_proved(fake: &FakeGraph) -> usize {
    let mut requests = fake.facebook.received_requests().await.unwrap_or_default();
    requests.extend(fake.instagram.received_requests().await.unwrap_or_default());
    for request in &requests {
        assert!(
            request
                .url
                .query_pairs()
                .any(|(k, _)| k == "appsecret_proof"),
            "{} {} without appsecret_proof",
            request.method,
            request.url.path()
        );
    }
    requests.len()
}

fn instagram_grant(user: &str) -> Grant {
    Grant::InstagramLogin {
        user_id: user.to_owned(),
    }
}

#[tokio::test]
async fn an_instagram_login_token_is_checked_on_the_instagram_host_and_refused_on_the_facebook_host(
) {
    for store in stores().await {
        let (fake, tokens) = world(&store, stack_apps()).await;
        fake.issue("IGAA-good", instagram_grant(ACCOUNT), NOW);
        let record = register(
            &tokens,
            ACCOUNT,
            "IGAA-good",
            TokenKind::InstagramLogin,
            None,
        )
        .await
        .expect("registered");
        assert_eq!(record.user_id.as_deref(), Some(ACCOUNT));
        assert_eq!(fake.calls_to("Instagram GET /v24.0/me"), 1);
        assert_eq!(
            fake.calls_to("Facebook"),
            0,
            "never sent to graph.facebook.com"
        );
        assert!(fake.refusals().is_empty(), "{:?}", fake.refusals());
        // The handed-out credentials go to the Instagram host.
        let credentials = tokens
            .credentials(&AppId::from(STACK_APP), &AccountId::from(ACCOUNT))
            .await
            .unwrap();
        assert_eq!(credentials.kind.host(), graphhook_graph::Host::Instagram);

        // Claimed to be a Facebook-login token: debug_token cannot parse it.
        let claimed = (ACCOUNT, "IGAA-good", TokenKind::FacebookUser, None);
        let why = refused(&tokens, claimed, rejected).await;
        assert!(why.contains("not valid"), "{why}");
        assert!(every_call_proved(&fake).await >= 2);
    }
}

#[tokio::test]
async fn a_token_is_registered_only_under_an_account_it_can_act_for() {
    for store in stores().await {
        let (fake, tokens) = world(&store, stack_apps()).await;
        fake.issue("IGAA-mine", instagram_grant(ACCOUNT), NOW);
        let other = (OTHER_ACCOUNT, "IGAA-mine", TokenKind::InstagramLogin, None);
        let why = refused(&tokens, other, not_for_account).await;
        assert!(why.contains("another Instagram account"), "{why}");

        // A Facebook-login user token managing Page 1050, linked to ACCOUNT.
        let user = Grant::FacebookUser {
            user_id: "218471".into(),
            pages: vec![(PAGE.into(), Some(ACCOUNT.into()))],
        };
        fake.issue("EAAB-user", user, NOW);
        let linked = register(&tokens, ACCOUNT, "EAAB-user", TokenKind::FacebookUser, None)
            .await
            .expect("the Page's linked account");
        assert_eq!(
            linked.page_id.as_deref(),
            Some(PAGE),
            "the Page it acts through"
        );
        register(
            &tokens,
            ACCOUNT,
            "EAAB-user",
            TokenKind::FacebookUser,
            Some(PAGE),
        )
        .await
        .expect("with the Page named");
        for (account, page) in [(OTHER_ACCOUNT, None), (ACCOUNT, Some("2222"))] {
            let target = (account, "EAAB-user", TokenKind::FacebookUser, page);
            refused(&tokens, target, not_for_account).await;
        }

        // A Page token: its Page and the Page's linked account, nothing else.
        let page = Grant::Page {
            page_id: PAGE.into(),
            instagram: Some(ACCOUNT.into()),
        };
        fake.issue("EAAB-page", page, NOW);
        for account in [PAGE, ACCOUNT] {
            register(&tokens, account, "EAAB-page", TokenKind::Page, None)
                .await
                .unwrap_or_else(|e| panic!("{account}: {e}"));
        }
        let target = (OTHER_ACCOUNT, "EAAB-page", TokenKind::Page, None);
        refused(&tokens, target, not_for_account).await;
        assert_eq!(
            tokens
                .tokens_of(&AppId::from(STACK_APP), &AccountId::from(OTHER_ACCOUNT))
                .await
                .unwrap()
                .len(),
            0
        );
        every_call_proved(&fake).await;
    }
}

#[tokio::test]
async fn calls_without_the_right_appsecret_proof_are_refused_and_an_instagram_token_needs_its_app()
{
    for store in stores().await {
        // The Instagram app's secret is not the one Meta knows.
        let wrong = AppSecrets::new(
            [(
                STACK_APP.to_owned(),
                MetaApp {
                    secret: SecretString::from("app-secret"),
                    instagram: Some(("9876543210".into(), SecretString::from("not-the-secret"))),
                },
            )]
            .into(),
        );
        let (fake, tokens) = world(&store, wrong).await;
        fake.issue("IGAA-good", instagram_grant(ACCOUNT), NOW);
        let good = (ACCOUNT, "IGAA-good", TokenKind::InstagramLogin, None);
        refused(&tokens, good, rejected).await;
        assert_eq!(fake.refusals(), ["wrong appsecret_proof"]);

        // No Instagram app configured: not registered, and Meta is not asked.
        let facebook_only =
            AppSecrets::new([(STACK_APP.to_owned(), MetaApp::facebook("app-secret"))].into());
        let (fake, tokens) = world(&store, facebook_only).await;
        fake.issue("IGAA-good", instagram_grant(ACCOUNT), NOW);
        refused(&tokens, good, |e| {
            matches!(e, RegistrationError::NoInstagramApp)
        })
        .await;
        assert_eq!(fake.with(|s| s.calls.len()), 0);
    }
}
