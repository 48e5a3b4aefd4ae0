//! A fake Graph API on loopback (wiremock) that plays Instagram containers on a
//! clock the test sets: each container is processed for a planned time and then
//! finishes, fails with a subcode, or never finishes (expires); publishing checks
//! the container's state, can lose its answer, can say "not ready" once, and counts
//! every publish per container, so that double posts are caught; it refreshes
//! Instagram-login tokens, and plays failures on every call while a test sets
//! one ([`Fault`]). Tests and the publishing benchmark use it.
//!
//! It refuses what Meta refuses (see [`Grant`]): two servers stand for the two hosts,
//! and a call is answered only with a token the fake issued (the test grants
//! them), on its kind's host, with `appsecret_proof`, for an object the token acts
//! for.

mod auth;
mod faults;
mod refresh;
mod respond;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub use auth::{FakeApps, FakeHost, FakeToken, Grant};
pub use faults::Fault;

use super::stack::{
    GraphHosts, STACK_APP, STACK_APP_SECRET, STACK_INSTAGRAM_APP, STACK_INSTAGRAM_SECRET,
};
use crate::clock::Clock;

/// How a container ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// `FINISHED`.
    Finish,
    /// `ERROR` with this subcode in the status text.
    Error(i64),
    /// Never finishes (expires after 24 hours).
    Never,
}

/// What the next container created will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Processing time, ms.
    pub processing_ms: i64,
    /// How it ends.
    pub ending: Ending,
}

/// How the next `media_publish` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishAnswer {
    /// Publishes and answers the media id.
    Normal,
    /// Publishes, then answers 502 (the answer is lost).
    LoseAnswer,
    /// Publishes, then answers a throttle error (code 4, subcode 2207051).
    ThrottledButLive,
    /// Answers 9007 / 2207027 without publishing.
    NotReady,
    /// Publishes, then answers an id no Meta id looks like (a NUL, a path).
    GarbledId,
    /// Publishes and answers only after `hang_ms` (a caller that times out, or is
    /// killed, never learns the outcome).
    Hang {
        /// How long the answer takes, ms.
        hang_ms: u64,
    },
}

/// A container as the fake keeps it.
#[derive(Debug, Clone)]
pub struct Container {
    /// When it was created (test clock), ms.
    pub created_at_ms: i64,
    /// Its plan.
    pub plan: Plan,
    /// Published.
    pub published: bool,
    /// `media_publish` calls for it.
    pub publish_calls: u32,
    /// Status reads of it.
    pub reads: u32,
    /// `media_publish` calls after it was published: double posts.
    pub publishes_after_published: u32,
    /// The account it was created for.
    pub account_id: String,
    /// Its `image_url` or `video_url`.
    pub url: String,
}

/// The fake's state, shared with the test.
pub struct FakeState {
    /// The apps it knows (the stack's by default).
    pub apps: FakeApps,
    /// Tokens it issued.
    pub tokens: HashMap<String, FakeToken>,
    /// Whether calls must carry `appsecret_proof` ("Require App Secret"; on by
    /// default).
    pub require_proof: bool,
    /// Why calls were refused, in order.
    pub refusals: Vec<String>,
    next_id: u64,
    /// Containers by id.
    pub containers: HashMap<String, Container>,
    /// Plans for the next containers, in order (then `default_plan`).
    pub plans: VecDeque<Plan>,
    /// Plans by media URL, in order (a new container for the same URL takes the
    /// next one), before `plans`.
    pub plans_by_url: HashMap<String, VecDeque<Plan>>,
    /// Answers of `media_publish` by the container's media URL, in order, before
    /// `publish_answers`.
    pub publish_answers_by_url: HashMap<String, VecDeque<PublishAnswer>>,
    /// The plan of containers without one queued.
    pub default_plan: Option<Plan>,
    /// Answers of the next `media_publish` calls, in order (then normal).
    pub publish_answers: VecDeque<PublishAnswer>,
    /// Publications the quota counts besides the fake's own: (usage, total).
    pub quota: (i64, i64),
    /// Publish times of the fake's own publications by account, ms (the rolling
    /// window).
    pub published_at: HashMap<String, Vec<i64>>,
    /// Page posts made.
    pub page_posts: Vec<String>,
    /// Every call, as `Host METHOD path` (`Instagram GET /v24.0/me`).
    pub calls: Vec<String>,
    /// The failure played on every call, if any.
    pub fault: Option<Fault>,
    /// Calls made while [`Fault::Throttled`] was played.
    pub calls_while_throttled: u32,
    /// Calls a partial fault counted (one in so many is hit).
    faulted_calls: u32,
}

impl Default for FakeState {
    fn default() -> Self {
        FakeState {
            apps: FakeApps {
                facebook: (STACK_APP.to_owned(), STACK_APP_SECRET.to_owned()),
                instagram: (
                    STACK_INSTAGRAM_APP.to_owned(),
                    STACK_INSTAGRAM_SECRET.to_owned(),
                ),
            },
            tokens: HashMap::new(),
            require_proof: true,
            refusals: Vec::new(),
            next_id: 0,
            containers: HashMap::new(),
            plans: VecDeque::new(),
            plans_by_url: HashMap::new(),
            publish_answers_by_url: HashMap::new(),
            default_plan: None,
            publish_answers: VecDeque::new(),
            quota: (0, 100),
            published_at: HashMap::new(),
            page_posts: Vec::new(),
            calls: Vec::new(),
            fault: None,
            calls_while_throttled: 0,
            faulted_calls: 0,
        }
    }
}

/// The fake Graph API.
pub struct FakeGraph {
    /// Stands for graph.facebook.com.
    pub facebook: MockServer,
    /// Stands for graph.instagram.com.
    pub instagram: MockServer,
    /// The state.
    pub state: Arc<Mutex<FakeState>>,
}

const DAY_MS: i64 = 86_400_000;

struct Handler {
    host: FakeHost,
    state: Arc<Mutex<FakeState>>,
    clock: Arc<dyn Clock>,
}

fn error(status: u16, code: i64, subcode: Option<i64>, message: &str) -> ResponseTemplate {
    let mut body = json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Fake"}});
    if let Some(subcode) = subcode {
        body["error"]["error_subcode"] = json!(subcode);
    }
    ResponseTemplate::new(status).set_body_json(body)
}

fn form(request: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

impl FakeGraph {
    /// Starts the fake on loopback, on `clock`'s time.
    pub async fn start(clock: Arc<dyn Clock>) -> Self {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let serve = |host| {
            let handler = Handler {
                host,
                state: Arc::clone(&state),
                clock: Arc::clone(&clock),
            };
            async move {
                let server = MockServer::start().await;
                Mock::given(any())
                    .respond_with(handler)
                    .mount(&server)
                    .await;
                server
            }
        };
        let facebook = serve(FakeHost::Facebook).await;
        let instagram = serve(FakeHost::Instagram).await;
        FakeGraph {
            facebook,
            instagram,
            state,
        }
    }

    /// Where the stack calls it.
    pub fn hosts(&self) -> GraphHosts {
        GraphHosts {
            facebook: self.facebook.uri(),
            instagram: self.instagram.uri(),
        }
    }

    /// Issues `token` with `grant`, valid for 50 days from `now_ms` (Page
    /// tokens: without expiry).
    pub fn issue(&self, token: &str, grant: Grant, now_ms: i64) {
        let expires_at_ms = match grant {
            Grant::Page { .. } => 0,
            _ => now_ms + 50 * DAY_MS,
        };
        self.with(|s| {
            s.tokens.insert(
                token.to_owned(),
                FakeToken {
                    grant,
                    issued_at_ms: now_ms,
                    expires_at_ms,
                },
            )
        });
    }

    /// Why calls were refused so far.
    pub fn refusals(&self) -> Vec<String> {
        self.with(|s| s.refusals.clone())
    }

    /// Runs `f` on the state.
    pub fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        match self.state.lock() {
            Ok(mut state) => f(&mut state),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// `media_publish` calls per container.
    pub fn publishes(&self) -> HashMap<String, u32> {
        self.with(|s| {
            s.containers
                .iter()
                .map(|(id, c)| (id.clone(), c.publish_calls))
                .collect()
        })
    }

    /// `media_publish` calls made for containers already published: each one a
    /// double post on the real Instagram.
    pub fn double_posts(&self) -> u32 {
        self.with(|s| {
            s.containers
                .values()
                .map(|c| c.publishes_after_published)
                .sum()
        })
    }

    /// How many calls were made to paths containing `part`.
    pub fn calls_to(&self, part: &str) -> usize {
        self.with(|s| s.calls.iter().filter(|c| c.contains(part)).count())
    }
}
