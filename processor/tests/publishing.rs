//! Instagram publishing against a fake Graph API that plays containers on a clock
//! the tests set: Meta's schedule, every failure section 9 of meta-platform.md
//! lists, one owner per container, and never a double post.

mod support;

use graphhook_processor::domain::ids::{AccountId, AppId, RequestId};
use std::sync::Arc;

use graphhook_kafka::Topics;
use graphhook_processor::domain::publication::Publication;
use graphhook_processor::metrics::ProcessorMetrics;
use graphhook_processor::publishing::intake::{accept, Intake};
use graphhook_processor::publishing::tracker::Tracker;
use graphhook_processor::publishing::PublishingSettings;
use graphhook_processor::store::Store;
use graphhook_processor::testing::fake_graph::{Ending, FakeGraph, Grant, Plan, PublishAnswer};
use graphhook_processor::testing::stack::{token_settings, Stack};
use graphhook_processor::testing::{apply_events, ManualClock};
use graphhook_processor::tokens::manager::TokenManager;
use graphhook_processor::tokens::registration::TokenRegistration;
use graphhook_processor::tokens::{TokenKind, TokenSettings};
use graphhook_processor::unit_of_work::UnitOfWork;
use graphhook_schema::output::{PublishStatus, PublishStatusRecord};
use graphhook_schema::publishing::PublishRequest;
use graphhook_schema::{normalize_delivery, DeliveryContext};
use secrecy::SecretString;
use serde_json::json;
use support::{connect, databases, stores};

const APP: &str = "1234567890";
const ACCOUNT: &str = "17841400000";
const NOW: i64 = 1_793_491_200_000;
const MINUTE: i64 = 60_000;

struct World {
    store: Store,
    clock: Arc<ManualClock>,
    fake: Arc<FakeGraph>,
    tokens: TokenManager,
    tracker: Tracker,
    metrics: ProcessorMetrics,
}

async fn world_on(store: Store, clock: Arc<ManualClock>, fake: Arc<FakeGraph>) -> World {
    world_with(store, clock, fake, token_settings(&[("k1", 3)], "k1"))
}

fn world_with(
    store: Store,
    clock: Arc<ManualClock>,
    fake: Arc<FakeGraph>,
    tokens: TokenSettings,
) -> World {
    let stack = Stack::new(
        &store,
        clock.clone(),
        &fake.hosts(),
        tokens,
        PublishingSettings::default(),
    );
    World {
        store,
        clock,
        fake,
        tokens: stack.tokens,
        tracker: stack.tracker,
        metrics: stack.metrics,
    }
}

async fn world(store: Store) -> World {
    let clock = ManualClock::at(NOW);
    let fake = Arc::new(FakeGraph::start(clock.clone()).await);
    let world = world_on(store, clock, fake).await;
    register_token(&world, ACCOUNT, TokenKind::InstagramLogin).await;
    world
}

async fn register_token(world: &World, account: &str, kind: TokenKind) {
    let (token, grant) = match kind {
        TokenKind::Page => (
            format!("PAGE-{account}"),
            Grant::Page {
                page_id: account.to_owned(),
                instagram: None,
            },
        ),
        _ => (
            format!("IGQVJ-{account}"),
            Grant::InstagramLogin {
                user_id: account.to_owned(),
            },
        ),
    };
    let now = graphhook_processor::clock::Clock::now_ms(&*world.clock);
    world.fake.issue(&token, grant, now);
    world
        .tokens
        .register(
            &AppId::from(APP),
            &AccountId::from(account),
            TokenRegistration {
                token: SecretString::from(token),
                kind,
                tenant: None,
                page_id: None,
                expires_in: None,
            },
        )
        .await
        .expect("token registered");
}

fn image(request_id: &str) -> PublishRequest {
    serde_json::from_value(
        json!({"request_id": request_id, "app_id": APP, "account_id": ACCOUNT,
        "kind": "image", "image_url": "https://cdn.example/p.jpg", "caption": "Sch\u{f6}n"}),
    )
    .unwrap()
}

fn reel(request_id: &str) -> PublishRequest {
    serde_json::from_value(
        json!({"request_id": request_id, "app_id": APP, "account_id": ACCOUNT,
        "kind": "reel", "video_url": "https://cdn.example/r.mp4"}),
    )
    .unwrap()
}

async fn request(world: &World, request: PublishRequest) -> Intake {
    let topics = Topics::new("t.");
    let mut uow = UnitOfWork::begin(
        &world.store,
        &topics,
        graphhook_processor::clock::Clock::now_ms(&*world.clock),
    )
    .await
    .unwrap();
    let intake = accept(&mut uow, request, "test").await.unwrap();
    uow.commit().await.unwrap();
    intake
}

async fn publication(world: &World, request_id: &str) -> Publication {
    world
        .store
        .publication(
            &AppId::from(APP),
            &AccountId::from(ACCOUNT),
            &RequestId::from(request_id),
        )
        .await
        .unwrap()
        .expect("publication")
}

/// Runs tracker passes, moving the clock to the next due action each time, until
/// every publication of the account has ended or `limit_ms` of test time passed.
async fn drive(world: &World, limit_ms: i64) {
    let end = now(world) + limit_ms;
    for _ in 0..10_000 {
        world.tracker.run_pass().await.unwrap();
        let open: Vec<Publication> = world
            .store
            .publications_of(
                &AppId::from(APP),
                &AccountId::from(ACCOUNT),
                None,
                "",
                1_000,
            )
            .await
            .unwrap()
            .into_iter()
            .filter(|p| !p.state.is_final())
            .collect();
        let Some(next) = open.iter().map(|p| p.next_action_at_ms).min() else {
            return;
        };
        let to = next.max(now(world) + 1);
        if to > end {
            world.clock.set(end);
            return;
        }
        world.clock.set(to);
    }
}

fn now(world: &World) -> i64 {
    graphhook_processor::clock::Clock::now_ms(&*world.clock)
}

/// Every record written to `publish-status.v1`, in order.
async fn all_statuses(world: &World) -> Vec<PublishStatusRecord> {
    world
        .store
        .pending_outbox(10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.topic == "t.publish-status.v1")
        .map(|r| serde_json::from_str::<PublishStatusRecord>(&r.payload).unwrap())
        .collect()
}

/// The statuses written to `publish-status.v1` for `request_id`, in order.
async fn statuses(world: &World, request_id: &str) -> Vec<PublishStatusRecord> {
    all_statuses(world)
        .await
        .into_iter()
        .filter(|r| r.request_id.as_deref() == Some(request_id))
        .collect()
}

fn names(records: &[PublishStatusRecord]) -> Vec<&'static str> {
    records.iter().map(|r| r.status.as_str()).collect()
}

fn plan(world: &World, plan: Plan) {
    world.fake.with(|s| s.plans.push_back(plan));
}

/// A world whose next container processes for `processing_ms`, then ends so.
async fn world_planned(store: Store, processing_ms: i64, ending: Ending) -> World {
    let world = world(store).await;
    plan(
        &world,
        Plan {
            processing_ms,
            ending,
        },
    );
    world
}

#[tokio::test]
async fn an_image_ready_on_the_first_read_is_published_once() {
    for store in stores().await {
        let world = world_planned(store, 4_000, Ending::Finish).await;
        request(&world, image("img-1")).await;
        drive(&world, 3_600_000).await;
        let records = statuses(&world, "img-1").await;
        assert_eq!(
            names(&records),
            [
                "requested",
                "container_created",
                "ready",
                "publishing",
                "published"
            ]
        );
        let done = records.last().unwrap();
        assert_eq!(done.media_id.as_deref(), Some("m-c1"));
        let p = publication(&world, "img-1").await;
        assert_eq!(
            (p.reads, p.calls),
            (1, 4),
            "create, one read, quota, publish"
        );
        assert_eq!(world.fake.publishes()["c1"], 1);
        assert_eq!(world.fake.double_posts(), 0);
    }
}

#[tokio::test]
async fn a_reel_in_progress_for_seven_minutes_is_read_on_metas_schedule_and_not_failed() {
    for store in stores().await {
        let world = world_planned(store, 7 * MINUTE, Ending::Finish).await;
        request(&world, reel("reel-1")).await;
        drive(&world, 5 * MINUTE + 30_000).await;
        let p = publication(&world, "reel-1").await;
        assert_eq!(
            p.state,
            PublishStatus::Processing,
            "not failed at five minutes"
        );
        assert_eq!(
            p.reads, 6,
            "reads at 10 s, then every minute: 10, 70, 130, 190, 250, 310 s"
        );
        drive(&world, 3_600_000).await;
        let p = publication(&world, "reel-1").await;
        assert_eq!(p.state, PublishStatus::Published);
        // Reads at 10, 70, 130, 190, 250, 310 s, then 376 and 448 s (growing by
        // a tenth), where it is done.
        assert_eq!(p.reads, 8);
        assert_eq!(world.fake.with(|s| s.containers["c1"].reads), 8);
        assert_eq!(
            names(&statuses(&world, "reel-1").await)[..3],
            ["requested", "container_created", "processing"]
        );
    }
}

#[tokio::test]
async fn an_error_with_an_input_subcode_fails_and_a_transient_one_gets_a_new_container() {
    for store in stores().await {
        let world = world_planned(store, 20_000, Ending::Error(2_207_026)).await;
        request(&world, reel("bad-video")).await;
        drive(&world, 3_600_000).await;
        let failed = statuses(&world, "bad-video").await.pop().unwrap();
        assert_eq!(failed.status, PublishStatus::Failed);
        let error = failed.error.unwrap();
        assert_eq!(
            (error.class.as_str(), error.subcode),
            ("fix_request", Some(2_207_026))
        );
        assert!(error.text.unwrap().contains("2207026"));

        plan(
            &world,
            Plan {
                processing_ms: 20_000,
                ending: Ending::Error(2_207_001),
            },
        );
        plan(
            &world,
            Plan {
                processing_ms: 20_000,
                ending: Ending::Finish,
            },
        );
        request(&world, reel("flaky-upload")).await;
        drive(&world, 3_600_000).await;
        let records = statuses(&world, "flaky-upload").await;
        let last = records.last().unwrap();
        assert_eq!(
            (last.status, last.attempt),
            (PublishStatus::Published, Some(2))
        );
        assert!(records
            .iter()
            .any(|r| r.reason.as_deref() == Some("new_container")));
        assert_eq!(world.fake.double_posts(), 0);
    }
}

#[tokio::test]
async fn a_container_that_never_finishes_expires_after_24_hours_at_a_bounded_cost() {
    for store in stores().await {
        let world = world_planned(store, i64::MAX / 4, Ending::Never).await;
        request(&world, reel("stuck")).await;
        drive(&world, 30 * 3_600_000).await;
        let p = publication(&world, "stuck").await;
        assert_eq!(p.state, PublishStatus::Expired);
        let bound = PublishingSettings::default().schedule().max_reads();
        assert!(
            p.reads <= bound && p.reads > 90,
            "{} reads (bound {bound})",
            p.reads
        );
        assert_eq!(world.fake.publishes()["c1"], 0);
    }
}

#[tokio::test]
async fn media_not_ready_after_finished_waits_and_publishes_again() {
    for store in stores().await {
        let world = world(store).await;
        world
            .fake
            .with(|s| s.publish_answers.push_back(PublishAnswer::NotReady));
        request(&world, image("not-ready")).await;
        drive(&world, 3_600_000).await;
        let records = statuses(&world, "not-ready").await;
        assert_eq!(
            names(&records)[2..],
            ["ready", "publishing", "ready", "publishing", "published"]
        );
        assert_eq!(records[4].reason.as_deref(), Some("media_not_ready"));
        assert_eq!(world.fake.publishes()["c1"], 2);
        assert_eq!(world.fake.double_posts(), 0);
    }
}

#[tokio::test]
async fn a_lost_throttled_or_garbled_publish_answer_is_read_back_and_never_sent_again() {
    for answer in [
        PublishAnswer::LoseAnswer,
        PublishAnswer::ThrottledButLive,
        PublishAnswer::GarbledId,
    ] {
        for store in stores().await {
            let world = world(store).await;
            world.fake.with(|s| s.publish_answers.push_back(answer));
            request(&world, image("lost")).await;
            drive(&world, 3_600_000).await;
            let records = statuses(&world, "lost").await;
            let steps = names(&records);
            assert_eq!(steps[3..5], ["publishing", "outcome_unknown"], "{answer:?}");
            if answer == PublishAnswer::ThrottledButLive {
                // A throttle answer holds the app's calls until the hold passes;
                // the read comes after it.
                assert_eq!(steps[5..], ["held", "outcome_unknown", "published"]);
            } else {
                assert_eq!(steps[5..], ["published"]);
            }
            let done = records.last().unwrap();
            assert_eq!(done.reason.as_deref(), Some("reconciled"));
            assert_eq!(done.media_id, None, "the media id cannot be proven");
            assert_eq!(world.fake.publishes()["c1"], 1, "exactly one media_publish");
        }
    }
}

#[tokio::test]
async fn a_full_quota_waits_until_the_rolling_window_frees_a_slot() {
    for store in stores().await {
        let world = world(store).await;
        world.fake.with(|s| s.quota = (50, 50));
        request(&world, image("quota")).await;
        drive(&world, 20 * MINUTE).await;
        let p = publication(&world, "quota").await;
        assert_eq!(p.state, PublishStatus::QuotaWait);
        assert_eq!(world.fake.publishes()["c1"], 0);
        world.fake.with(|s| s.quota = (49, 50));
        drive(&world, 3_600_000).await;
        let records = statuses(&world, "quota").await;
        assert_eq!(
            names(&records)[2..],
            ["ready", "quota_wait", "publishing", "published"]
        );
        assert_eq!(records[3].reason.as_deref(), Some("quota_full"));
        assert!(
            world.fake.calls_to("content_publishing_limit") >= 2,
            "the quota was read again"
        );
    }
}

#[tokio::test]
async fn a_publish_refused_for_quota_used_up_meanwhile_waits_and_posts_once() {
    for store in stores().await {
        let world = world(store).await;
        world.fake.with(|s| s.quota = (10, 50));
        request(&world, image("first")).await;
        drive(&world, 3_600_000).await;
        // Another tool uses the quota up; graphhook's cached read still says 11 of 50.
        world.fake.with(|s| s.quota = (50, 50));
        request(&world, image("second")).await;
        drive(&world, 20 * MINUTE).await;
        assert_eq!(
            publication(&world, "second").await.state,
            PublishStatus::QuotaWait
        );
        world.fake.with(|s| s.quota = (40, 50));
        drive(&world, 3_600_000).await;
        let records = statuses(&world, "second").await;
        assert_eq!(
            names(&records)[2..],
            [
                "ready",
                "publishing",
                "quota_wait",
                "publishing",
                "published"
            ]
        );
        assert_eq!(world.fake.double_posts(), 0);
        assert_eq!(
            world.fake.publishes()["c2"],
            2,
            "refused once, then published"
        );
    }
}

#[tokio::test]
async fn a_carousel_creates_and_finishes_its_children_before_the_parent_and_publishes_once() {
    for store in stores().await {
        let world = world(store).await;
        let carousel: PublishRequest = serde_json::from_value(json!({"request_id": "carousel", "app_id": APP,
            "account_id": ACCOUNT, "kind": "carousel", "caption": "three", "children": [
                {"image_url": "https://cdn.example/1.jpg"}, {"image_url": "https://cdn.example/2.jpg"},
                {"video_url": "https://cdn.example/3.mp4"}]}))
        .unwrap();
        request(&world, carousel).await;
        drive(&world, 3_600_000).await;
        let p = publication(&world, "carousel").await;
        assert_eq!(p.state, PublishStatus::Published);
        let children: Vec<String> = p
            .children
            .iter()
            .map(|c| c.id.clone().unwrap().into())
            .collect();
        assert_eq!(children, ["c1", "c2", "c3"]);
        assert_eq!(p.container_id.as_deref(), Some("c4"));
        let parent_created = world.fake.with(|s| s.containers["c4"].created_at_ms);
        let children_done = world.fake.with(|s| {
            children
                .iter()
                .map(|c| s.containers[c].created_at_ms + s.containers[c].plan.processing_ms)
                .max()
                .unwrap()
        });
        assert!(
            parent_created >= children_done,
            "children finished before the parent"
        );
        let publishes = world.fake.publishes();
        assert_eq!(publishes["c4"], 1);
        assert_eq!(publishes.values().sum::<u32>(), 1, "a carousel counts once");
    }
}

#[tokio::test]
async fn a_token_that_dies_mid_poll_holds_the_publication_until_a_new_token_comes() {
    for store in stores().await {
        let world = world_planned(store, 7 * MINUTE, Ending::Finish).await;
        request(&world, reel("dies")).await;
        drive(&world, 2 * MINUTE).await;
        // The token dies: a client service reports 190/463 (the state machine flags
        // the account), and the tracker holds the publication.
        let report = graphhook_schema::output::GraphErrorReport {
            app_id: APP.into(),
            account_id: ACCOUNT.into(),
            http_status: Some(400),
            code: Some(190),
            subcode: Some(463),
            is_transient: None,
            message: None,
            fbtrace_id: None,
            time_ms: now(&world),
        };
        graphhook_processor::testing::apply_graph_error(
            &world.store,
            &Topics::new("t."),
            &report,
            "g1",
            now(&world),
        )
        .await
        .unwrap();
        drive(&world, 30 * MINUTE).await;
        assert_eq!(publication(&world, "dies").await.state, PublishStatus::Held);
        world.clock.advance(MINUTE);
        register_token(&world, ACCOUNT, TokenKind::InstagramLogin).await;
        drive(&world, 3_600_000).await;
        let records = statuses(&world, "dies").await;
        assert!(records.iter().any(|r| r.status == PublishStatus::Held
            && r.reason.as_deref() == Some("account_not_active")));
        assert!(records
            .iter()
            .any(|r| r.reason.as_deref() == Some("resumed")));
        assert_eq!(records.last().unwrap().status, PublishStatus::Published);
        assert_eq!(world.fake.publishes()["c1"], 1);
    }
}

#[tokio::test]
async fn two_replicas_share_one_schedule_and_publish_once() {
    for url in databases().await {
        let clock = ManualClock::at(NOW);
        let fake = Arc::new(FakeGraph::start(clock.clone()).await);
        let a = world_on(connect(&url).await, clock.clone(), fake.clone()).await;
        let b = world_on(connect(&url).await, clock.clone(), fake.clone()).await;
        register_token(&a, ACCOUNT, TokenKind::InstagramLogin).await;
        plan(
            &a,
            Plan {
                processing_ms: 7 * MINUTE,
                ending: Ending::Finish,
            },
        );
        request(&a, reel("shared")).await;
        for _ in 0..200 {
            let (x, y) = tokio::join!(a.tracker.run_pass(), b.tracker.run_pass());
            x.unwrap();
            y.unwrap();
            let p = publication(&a, "shared").await;
            if p.state.is_final() {
                break;
            }
            clock.set(p.next_action_at_ms.max(now(&a) + 1));
        }
        let p = publication(&a, "shared").await;
        assert_eq!(p.state, PublishStatus::Published, "{url}");
        assert_eq!(
            fake.with(|s| s.containers["c1"].reads),
            8,
            "one schedule's reads"
        );
        assert_eq!(fake.calls_to("/media"), 2, "one container, one publish");
        assert_eq!(fake.publishes()["c1"], 1);
    }
}

#[tokio::test]
async fn an_owner_killed_between_its_publish_and_its_state_write_is_succeeded_without_a_second_publish(
) {
    for url in databases().await {
        let clock = ManualClock::at(NOW);
        let fake = Arc::new(FakeGraph::start(clock.clone()).await);
        let owner = world_on(connect(&url).await, clock.clone(), fake.clone()).await;
        let successor = world_on(connect(&url).await, clock.clone(), fake.clone()).await;
        register_token(&owner, ACCOUNT, TokenKind::InstagramLogin).await;
        fake.with(|s| {
            s.publish_answers
                .push_back(PublishAnswer::Hang { hang_ms: 60_000 })
        });
        request(&owner, image("killed")).await;
        // Up to the publish.
        for _ in 0..10 {
            owner.tracker.run_pass().await.unwrap();
            let p = publication(&owner, "killed").await;
            if p.state == PublishStatus::Ready {
                break;
            }
            clock.set(p.next_action_at_ms.max(now(&owner) + 1));
        }
        let tracker = owner.tracker.clone();
        let pass = tokio::spawn(async move { tracker.run_pass().await });
        for _ in 0..100 {
            if fake.publishes()["c1"] == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(fake.publishes()["c1"], 1, "the publish reached Meta");
        pass.abort();
        let _ = pass.await;
        assert_eq!(
            publication(&owner, "killed").await.state,
            PublishStatus::Publishing
        );
        clock.advance(2 * MINUTE);
        for _ in 0..5 {
            successor.tracker.run_pass().await.unwrap();
            clock.advance(MINUTE);
        }
        let records = statuses(&successor, "killed").await;
        assert_eq!(
            names(&records)[4..],
            ["outcome_unknown", "published"],
            "{url}"
        );
        assert_eq!(records[4].reason.as_deref(), Some("owner_lost"));
        assert_eq!(fake.publishes()["c1"], 1, "the successor published nothing");
    }
}

#[tokio::test]
async fn the_same_request_id_twice_is_one_publication() {
    for store in stores().await {
        let world = world(store).await;
        assert!(matches!(
            request(&world, image("twice")).await,
            Intake::Created(_)
        ));
        assert!(matches!(
            request(&world, image("twice")).await,
            Intake::Existing(_)
        ));
        drive(&world, 3_600_000).await;
        assert_eq!(
            names(&statuses(&world, "twice").await)
                .iter()
                .filter(|s| **s == "requested")
                .count(),
            1
        );
        assert_eq!(world.fake.calls_to("/media_publish"), 1);
    }
}

#[tokio::test]
async fn publish_false_tracks_until_the_second_call() {
    for store in stores().await {
        let world = world(store).await;
        let mut later = image("later");
        later.publish = false;
        request(&world, later.clone()).await;
        drive(&world, 30 * MINUTE).await;
        assert_eq!(
            publication(&world, "later").await.state,
            PublishStatus::Ready
        );
        later.publish = true;
        assert!(matches!(
            request(&world, later).await,
            Intake::PublishRequested(_)
        ));
        drive(&world, 3_600_000).await;
        assert_eq!(
            publication(&world, "later").await.state,
            PublishStatus::Published
        );
    }
}

fn feed_event(page: &str, post: &str) -> graphhook_schema::InboundEvent {
    let body = json!({"object": "page", "entry": [{"id": page, "time": 1_793_491_300, "changes": [{"field": "feed",
        "value": {"item": "status", "verb": "add", "post_id": post, "published": 1, "created_time": 1_793_491_300}}]}]})
    .to_string();
    let ctx = DeliveryContext {
        app: "main",
        app_id: APP,
        delivery_id: "d",
        received_at_ms: NOW,
    };
    normalize_delivery(&ctx, body.as_bytes()).unwrap().remove(0)
}

#[tokio::test]
async fn a_page_post_is_confirmed_by_its_feed_webhook_or_read_once_without_one() {
    for store in stores().await {
        let world = world(store).await;
        let page = "55";
        register_token(&world, page, TokenKind::Page).await;
        let post = |id: &str| -> PublishRequest {
            serde_json::from_value(json!({"request_id": id, "app_id": APP, "account_id": page,
                "kind": "page_post", "message": "Hello"}))
            .unwrap()
        };
        request(&world, post("by-webhook")).await;
        world.tracker.run_pass().await.unwrap();
        let p = world
            .store
            .publication(
                &AppId::from(APP),
                &AccountId::from(page),
                &RequestId::from("by-webhook"),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.state, p.post_id.as_deref()),
            (PublishStatus::Publishing, Some("55_1"))
        );
        apply_events(
            &world.store,
            &Topics::new("t."),
            &[feed_event(page, "55_1")],
            now(&world),
        )
        .await
        .unwrap();
        let p = world
            .store
            .publication(
                &AppId::from(APP),
                &AccountId::from(page),
                &RequestId::from("by-webhook"),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.state, PublishStatus::Published);
        let confirmed = all_statuses(&world)
            .await
            .into_iter()
            .find(|r| r.object_id == "55_1" && r.status == PublishStatus::Published)
            .unwrap();
        assert_eq!(confirmed.request_id.as_deref(), Some("by-webhook"));
        assert_eq!(confirmed.reason.as_deref(), Some("webhook"));
        assert_eq!(
            world.fake.calls_to("GET /v24.0/55_1"),
            0,
            "no read: the webhook said it"
        );

        request(&world, post("no-webhook")).await;
        world.tracker.run_pass().await.unwrap();
        world.clock.advance(4 * MINUTE);
        world.tracker.run_pass().await.unwrap();
        assert_eq!(
            world.fake.calls_to("GET /v24.0/55_2"),
            0,
            "waits for the webhook"
        );
        world.clock.advance(2 * MINUTE);
        world.tracker.run_pass().await.unwrap();
        let p = world
            .store
            .publication(
                &AppId::from(APP),
                &AccountId::from(page),
                &RequestId::from("no-webhook"),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.state, PublishStatus::Published);
        assert_eq!(world.fake.calls_to("GET /v24.0/55_2"), 1, "read once");
    }
}

/// The publication is held with `reason`, said once on `publish-status.v1` and
/// counted once.
async fn assert_held(world: &World, request_id: &str, reason: &str) {
    let p = publication(world, request_id).await;
    assert_eq!(p.state, PublishStatus::Held, "{request_id}");
    assert_eq!(p.reason.as_deref(), Some(reason), "{request_id}");
    let records = statuses(world, request_id).await;
    let held: Vec<_> = records
        .iter()
        .filter(|r| r.status == PublishStatus::Held)
        .collect();
    assert_eq!(held.len(), 1, "one held record: {records:?}");
    assert_eq!(held[0].reason.as_deref(), Some(reason));
    let counted = world
        .metrics
        .publication_holds
        .with_label_values(&[reason])
        .get();
    assert_eq!(counted, 1, "{reason}");
}

#[tokio::test]
async fn a_token_that_cannot_be_used_holds_the_publication_with_its_own_reason() {
    for store in stores().await {
        let clock = ManualClock::at(NOW);
        let fake = Arc::new(FakeGraph::start(clock.clone()).await);
        // No tokens.keys at all.
        let keyless = world_with(
            store.clone(),
            clock.clone(),
            fake.clone(),
            TokenSettings::default(),
        );
        request(&keyless, image("keyless")).await;
        keyless.tracker.run_pass().await.unwrap();
        assert_held(&keyless, "keyless", "tokens_not_configured").await;

        let first = world_on(store.clone(), clock.clone(), fake.clone()).await;
        register_token(&first, ACCOUNT, TokenKind::InstagramLogin).await;
        // k1, the token's key, removed from tokens.keys.
        let rotated = world_with(store, clock, fake, token_settings(&[("k2", 4)], "k2"));
        request(&rotated, image("unreadable")).await;
        // A Page post needs a Page token; the account has none.
        let post: PublishRequest = serde_json::from_value(json!({"request_id": "no-page-token",
            "app_id": APP, "account_id": ACCOUNT, "kind": "page_post", "message": "Hello"}))
        .unwrap();
        request(&rotated, post).await;
        rotated.tracker.run_pass().await.unwrap();
        assert_held(&rotated, "unreadable", "token_unreadable").await;
        assert_held(&rotated, "no-page-token", "token_missing").await;
        assert_eq!(
            rotated.fake.calls_to("/media"),
            0,
            "nothing was sent to Meta"
        );
    }
}
