//! The Graph API failing for minutes while publications and token refreshes are
//! due: the fake answers 5xx, then answers too late, then loses its answers after
//! the calls took effect, then throttles the app. Nothing is published twice, no
//! account loses its token or is flagged, calls stop while the app is throttled,
//! and everything completes once Meta answers again.

mod support;

use std::sync::Arc;

use graphhook_kafka::Topics;
use graphhook_processor::domain::ids::{AccountId, AppId, RequestId};
use graphhook_processor::publishing::intake::accept;
use graphhook_processor::publishing::PublishingSettings;
use graphhook_processor::testing::fake_graph::{FakeGraph, Fault, Grant};
use graphhook_processor::testing::stack::{stack_apps, token_settings, Stack, STACK_APP};
use graphhook_processor::testing::ManualClock;
use graphhook_processor::tokens::registration::TokenRegistration;
use graphhook_processor::tokens::TokenKind;
use graphhook_processor::unit_of_work::UnitOfWork;
use graphhook_schema::output::PublishStatus;
use graphhook_schema::publishing::PublishRequest;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use support::stores;

const ACCOUNTS: [&str; 3] = ["17841400031", "17841400032", "17841400033"];
const NOW: i64 = 1_793_491_200_000;
const MINUTE: i64 = 60_000;
const DAY_S: i64 = 86_400;
/// The Graph client's wait for an answer; late answers come after twice that.
const TIMEOUT_MS: u64 = 300;
/// The outage, in order: each fault for so many minutes of the test's clock.
/// It begins once the first publications' containers exist; every other answer
/// lost (then late) lets some calls through, so that `media_publish` calls take
/// effect and their answers are lost.
const OUTAGE: [(Fault, i64); 4] = [
    (Fault::LostAnswer { one_in: 2 }, 4),
    (Fault::ServerError, 3),
    (
        Fault::LateAnswer {
            delay_ms: 2 * TIMEOUT_MS,
            one_in: 2,
        },
        4,
    ),
    (Fault::Throttled, 12),
];

fn now(stack: &Stack) -> i64 {
    graphhook_processor::clock::Clock::now_ms(&*stack.clock)
}

/// An image per account, requested through the intake as the topic would.
async fn request_publications(stack: &Stack, n: usize) -> Vec<(AccountId, RequestId)> {
    let mut requested = Vec::new();
    let topics = Topics::new("t.");
    for account in ACCOUNTS {
        {
            let request_id = format!("{account}-{n}");
            let request: PublishRequest = serde_json::from_value(json!({
                "request_id": request_id, "app_id": STACK_APP, "account_id": account,
                "kind": "image", "image_url": format!("https://cdn.example/{request_id}.jpg")}))
            .expect("a valid request");
            let mut uow = UnitOfWork::begin(&stack.store, &topics, now(stack))
                .await
                .expect("a transaction");
            accept(&mut uow, request, "test").await.expect("accepted");
            uow.commit().await.expect("committed");
            requested.push((
                AccountId::from(account),
                RequestId::from(request_id.as_str()),
            ));
        }
    }
    requested
}

/// One step of both jobs, then the clock moves on by `step_ms`. Returns the
/// accounts the token job flagged or found needing a reconnect.
async fn step(stack: &Stack, step_ms: i64) -> usize {
    stack.tracker.run_pass().await.expect("tracker pass");
    let report = stack.tokens.run_pass().await.expect("token pass");
    stack.clock.advance(step_ms);
    report.reconnect + report.flagged
}

async fn states(stack: &Stack, requested: &[(AccountId, RequestId)]) -> Vec<PublishStatus> {
    let mut states = Vec::new();
    for (account, request_id) in requested {
        let publication = stack
            .store
            .publication(&AppId::from(STACK_APP), account, request_id)
            .await
            .expect("store")
            .expect("publication");
        states.push(publication.state);
    }
    states
}

async fn token_of(stack: &Stack, account: &str) -> String {
    let credentials = stack
        .tokens
        .credentials(&AppId::from(STACK_APP), &AccountId::from(account))
        .await
        .expect("the account has a usable token");
    credentials.token.expose_secret().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn publications_and_token_refreshes_ride_out_minutes_of_graph_failures() {
    for store in stores().await {
        let clock = ManualClock::at(NOW);
        let fake = Arc::new(FakeGraph::start(clock.clone()).await);
        let mut tokens = token_settings(&[("k1", 3)], "k1");
        tokens.refresh_jitter_hours = 0;
        let stack = Stack::with_timeout(
            &store,
            clock.clone(),
            &fake.hosts(),
            (tokens, PublishingSettings::default()),
            stack_apps(),
            TIMEOUT_MS,
        );
        for account in ACCOUNTS {
            let token = format!("IGQVJ-{account}");
            let grant = Grant::InstagramLogin {
                user_id: account.to_owned(),
            };
            fake.issue(&token, grant, NOW);
            let registration = TokenRegistration {
                token: SecretString::from(token),
                kind: TokenKind::InstagramLogin,
                tenant: None,
                page_id: None,
                expires_in: Some(6 * DAY_S),
            };
            stack
                .tokens
                .register(
                    &AppId::from(STACK_APP),
                    &AccountId::from(account),
                    registration,
                )
                .await
                .expect("token registered");
        }
        // A day later every token is in its refresh window (5 days left of 7).
        clock.advance(25 * 60 * MINUTE);
        // The first publications' containers are created; more are requested as
        // each fault begins.
        let mut requested = request_publications(&stack, 0).await;
        let mut flagged = step(&stack, 0).await;

        let mut publishes_during = Vec::new();
        for (phase, (fault, minutes)) in OUTAGE.into_iter().enumerate() {
            requested.extend(request_publications(&stack, phase + 1).await);
            let publishes_before = fake.calls_to("media_publish");
            fake.with(|s| s.fault = Some(fault));
            for _ in 0..minutes * 2 {
                flagged += step(&stack, MINUTE / 2).await;
            }
            publishes_during.push(fake.calls_to("media_publish") - publishes_before);
            let states = states(&stack, &requested).await;
            assert!(
                !states
                    .iter()
                    .any(|s| s.is_final() && *s != PublishStatus::Published),
                "{fault:?}: no publication given up during the outage: {states:?}"
            );
        }
        let throttled_calls = fake.with(|s| {
            s.fault = None;
            s.calls_while_throttled
        });

        // Meta answers again: within six hours of the test's clock everything is
        // published and every token refreshed.
        let healthy_at = now(&stack);
        for _ in 0..360 {
            let states = states(&stack, &requested).await;
            let mut refreshed = 0;
            for account in ACCOUNTS {
                refreshed +=
                    usize::from(token_of(&stack, account).await != format!("IGQVJ-{account}"));
            }
            if states.iter().all(|s| s.is_final()) && refreshed == ACCOUNTS.len() {
                break;
            }
            flagged += step(&stack, MINUTE).await;
        }

        let states = states(&stack, &requested).await;
        let (containers, calls) = fake.with(|s| (s.containers.len(), s.calls.len()));
        eprintln!(
            "graph outage: media_publish calls per phase {publishes_during:?}, calls while \
             throttled {throttled_calls}, containers {containers} for {} publications, \
             {calls} calls, all done {} min after the outage",
            requested.len(),
            (now(&stack) - healthy_at) / MINUTE
        );
        assert!(
            states.iter().all(|s| *s == PublishStatus::Published),
            "{states:?}"
        );
        assert!(
            publishes_during[0] > 0,
            "media_publish calls took effect and lost their answers: {publishes_during:?}"
        );
        let (published, double_posts) = fake.with(|s| {
            let published = s.containers.values().filter(|c| c.published).count();
            let doubles: u32 = s
                .containers
                .values()
                .map(|c| c.publishes_after_published)
                .sum();
            (published, doubles)
        });
        assert_eq!(published, requested.len(), "one post per publication");
        assert_eq!(
            double_posts, 0,
            "no media_publish for a published container"
        );
        assert_eq!(flagged, 0, "no account flagged or sent to reconnect");
        for account in ACCOUNTS {
            let token = token_of(&stack, account).await;
            assert_ne!(
                token,
                format!("IGQVJ-{account}"),
                "{account}'s token refreshed"
            );
            let valid = fake.with(|s| {
                s.tokens
                    .get(&token)
                    .is_some_and(|t| t.expires_at_ms > now(&stack))
            });
            assert!(
                valid,
                "{account} holds a token Meta issued and still honours"
            );
        }
        // Throttled for 12 minutes with publications due: the calls already on
        // their way when the first throttle answer came (one per account at
        // most), then, as a throttle answer holds the app's calls for 5 minutes,
        // at most a probe per job (tracker, tokens) when each hold ends. Without
        // the hold, every 30 s step would call for every open publication.
        let bound = ACCOUNTS.len() + 2 * (12 / 5);
        assert!(
            (1..=bound).contains(&(throttled_calls as usize)),
            "calls while throttled: {throttled_calls} (at most {bound})"
        );
        assert!(fake.refusals().is_empty(), "{:?}", fake.refusals());
    }
}
