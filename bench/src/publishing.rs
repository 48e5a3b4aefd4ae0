//! The publishing benchmark: a simulated day of publications against the fake
//! Graph API, time scaled down (the clock jumps to the next thing due), with the
//! tracker as `graphhook process` runs it. It reports Graph API calls per
//! publication beside a fixed 2-second poller fed the same containers, freshness
//! (Meta's `FINISHED` to our `ready` record, in simulated time), and double
//! publishes.

use graphhook_processor::domain::ids::{AccountId, AppId};
use std::sync::Arc;
use std::time::Instant;

use graphhook_kafka::Topics;
use graphhook_processor::publishing::intake::accept;
use graphhook_processor::publishing::PublishingSettings;
use graphhook_processor::store::Store;
use graphhook_processor::testing::fake_graph::{Ending, FakeGraph, Grant, Plan, PublishAnswer};
use graphhook_processor::testing::stack::{token_settings, Stack, STACK_APP};
use graphhook_processor::testing::ManualClock;
use graphhook_processor::tokens::registration::TokenRegistration;
use graphhook_processor::tokens::TokenKind;
use graphhook_processor::unit_of_work::UnitOfWork;
use graphhook_schema::output::{PublishStatus, PublishStatusRecord};
use graphhook_schema::publishing::PublishRequest;
use secrecy::SecretString;

/// `publishing` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The store (a fresh PostgreSQL database in the script).
    #[arg(long)]
    pub database_url: String,
    /// Publications over the simulated day.
    #[arg(long, default_value_t = 10_000)]
    pub count: usize,
    /// Accounts they are spread over (Instagram allows 50 to 100 posts a day each).
    #[arg(long, default_value_t = 250)]
    pub accounts: usize,
}

const DAY_MS: i64 = 86_400_000;
/// 2026-11-01T00:00:00Z.
const START: i64 = 1_793_491_200_000;
/// The naive poller's interval.
const NAIVE_POLL_MS: i64 = 2_000;

/// A small deterministic generator (the same day every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// Uniform in `[low, high)`.
    fn range(&mut self, low: i64, high: i64) -> i64 {
        low + i64::try_from(self.next() % u64::try_from(high - low).unwrap_or(1)).unwrap_or(0)
    }

    /// `true` with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
}

/// One simulated request: when it arrives, and what Meta will do with it.
struct Planned {
    at_ms: i64,
    request: PublishRequest,
    plans: Vec<Plan>,
    answer: Option<PublishAnswer>,
}

/// The day: 55% images (2 to 9 s of processing), 35% reels (30 s to 10 minutes,
/// one in ten up to 10 more), 10% stories (5 to 60 s); 3% of containers fail (two thirds of those
/// transiently: a new container finishes); 1% of publishes lose their answer, 1%
/// answer "not ready" once after `FINISHED`.
fn day(count: usize, accounts: usize) -> Vec<Planned> {
    let mut rng = Lcg(42);
    (0..count)
        .map(|i| {
            let account = 17_841_400_000_000_000u64 + (i % accounts) as u64;
            let kind = rng.range(0, 100);
            let (json_kind, processing) = match kind {
                0..=54 => ("image", rng.range(2_000, 9_000)),
                55..=89 => (
                    "reel",
                    rng.range(30_000, 10 * 60_000) + if rng.chance(100) { rng.range(0, 10 * 60_000) } else { 0 },
                ),
                _ => ("story", rng.range(5_000, 60_000)),
            };
            let url = format!("https://cdn.example/{i}.{}", if json_kind == "image" { "jpg" } else { "mp4" });
            let mut plans = vec![Plan {
                processing_ms: processing,
                ending: Ending::Finish,
            }];
            if rng.chance(30) {
                let transient = rng.chance(667);
                plans.insert(
                    0,
                    Plan {
                        processing_ms: processing,
                        ending: Ending::Error(if transient { 2_207_001 } else { 2_207_026 }),
                    },
                );
            }
            let answer = match rng.range(0, 100) {
                0 => Some(PublishAnswer::LoseAnswer),
                1 => Some(PublishAnswer::NotReady),
                _ => None,
            };
            let mut request = serde_json::json!({"request_id": format!("day-{i}"), "app_id": STACK_APP,
                "account_id": account.to_string(), "kind": json_kind, "caption": format!("post {i}")});
            let field = if json_kind == "image" { "image_url" } else { "video_url" };
            request[field] = serde_json::Value::String(url);
            Planned {
                at_ms: START + rng.range(0, DAY_MS),
                request: serde_json::from_value(request).unwrap_or_else(|e| panic!("a valid request: {e}")),
                plans,
                answer,
            }
        })
        .collect()
}

/// Runs the day and prints its figures.
pub async fn run(args: &Args) -> anyhow::Result<()> {
    let clock = ManualClock::at(START - 60_000);
    let fake = Arc::new(FakeGraph::start(clock.clone()).await);
    let store = Store::connect(&args.database_url, 8).await?;
    store.migrate().await?;
    let stack = Stack::new(
        &store,
        clock.clone(),
        &fake.hosts(),
        token_settings(&[("k1", 1)], "k1"),
        PublishingSettings {
            batch: 256,
            ..PublishingSettings::default()
        },
    );
    let mut planned = day(args.count, args.accounts);
    planned.sort_by_key(|p| p.at_ms);
    fake.with(|s| {
        s.quota = (0, 100);
        for p in &planned {
            let url = p
                .request
                .image_url
                .clone()
                .or_else(|| p.request.video_url.clone())
                .unwrap_or_default();
            s.plans_by_url
                .insert(url.clone(), p.plans.iter().copied().collect());
            if let Some(answer) = p.answer {
                s.publish_answers_by_url.insert(url, [answer].into());
            }
        }
    });
    let mut accounts: Vec<String> = planned
        .iter()
        .map(|p| p.request.account_id.clone())
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    for account in &accounts {
        let grant = Grant::InstagramLogin {
            user_id: account.clone(),
        };
        fake.issue(&format!("IGQVJ-{account}"), grant, START - 60_000);
        stack
            .tokens
            .register(
                &AppId::from(STACK_APP),
                &AccountId::from(account),
                TokenRegistration {
                    token: SecretString::from(format!("IGQVJ-{account}")),
                    kind: TokenKind::InstagramLogin,
                    tenant: None,
                    page_id: None,
                    expires_in: None,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("token of {account}: {e}"))?;
    }
    let calls_before = fake.with(|s| s.calls.len());
    let topics = Topics::new("t.");
    let started = Instant::now();
    let mut next_request = 0;
    loop {
        let now = graphhook_processor::clock::Clock::now_ms(&*clock);
        let mut uow = UnitOfWork::begin(&store, &topics, now).await?;
        while next_request < planned.len() && planned[next_request].at_ms <= now {
            accept(&mut uow, planned[next_request].request.clone(), "bench").await?;
            next_request += 1;
        }
        uow.commit().await?;
        while stack.tracker.run_pass().await? > 0 {}
        let due = store.next_publication_action().await?;
        let arrival = planned.get(next_request).map(|p| p.at_ms);
        let Some(next) = [due, arrival].into_iter().flatten().min() else {
            break;
        };
        clock.set(next.max(now + 1));
    }
    let wall = started.elapsed();
    report(&store, &fake, calls_before, args.count, wall).await
}

async fn report(
    store: &Store,
    fake: &FakeGraph,
    calls_before: usize,
    count: usize,
    wall: std::time::Duration,
) -> anyhow::Result<()> {
    let counts = store.publication_counts().await?;
    let count_of = |state: PublishStatus| {
        counts
            .iter()
            .find(|(s, _)| s == state.as_str())
            .map_or(0, |(_, n)| *n)
    };
    let ours = fake.with(|s| s.calls.len()) - calls_before;
    // The naive poller, fed the same containers: created, read every 2 s until
    // it is done, published when it finished.
    let (naive, finished_at) = fake.with(|s| {
        let mut calls = 0i64;
        let mut finished_at = std::collections::HashMap::new();
        for (id, c) in &s.containers {
            let done = c.plan.processing_ms.max(1);
            calls += 1 + (done + NAIVE_POLL_MS - 1) / NAIVE_POLL_MS;
            if c.plan.ending == Ending::Finish {
                calls += 1;
                finished_at.insert(id.clone(), c.created_at_ms + c.plan.processing_ms);
            }
        }
        (calls, finished_at)
    });
    let mut freshness: Vec<i64> = store
        .pending_outbox(1_000_000)
        .await?
        .into_iter()
        .filter(|r| r.topic.ends_with("publish-status.v1"))
        .filter_map(|r| serde_json::from_str::<PublishStatusRecord>(&r.payload).ok())
        .filter(|r| r.status == PublishStatus::Ready && r.reason.is_none())
        .filter_map(|r| {
            finished_at
                .get(&r.object_id)
                .map(|at| r.occurred_at_ms - at)
        })
        .collect();
    freshness.sort_unstable();
    let percentile = |q: f64| {
        freshness
            .get(((freshness.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .map_or(f64::NAN, |ms| *ms as f64 / 1000.0)
    };
    let per_publication = ours as f64 / count as f64;
    let naive_per_publication = naive as f64 / count as f64;
    println!(
        "publications={count} published={} failed={} expired={} open={} calls_per_publication={per_publication:.2} \
         naive_2s_calls_per_publication={naive_per_publication:.2} ratio={:.3} freshness_p50_s={:.1} \
         freshness_p95_s={:.1} freshness_max_s={:.1} double_publishes={} wall_seconds={:.1}",
        count_of(PublishStatus::Published),
        count_of(PublishStatus::Failed),
        count_of(PublishStatus::Expired),
        count as i64
            - count_of(PublishStatus::Published)
            - count_of(PublishStatus::Failed)
            - count_of(PublishStatus::Expired),
        per_publication / naive_per_publication,
        percentile(0.50),
        percentile(0.95),
        percentile(1.0),
        fake.double_posts(),
        wall.as_secs_f64(),
    );
    Ok(())
}
