//! A fake Graph API on loopback (wiremock) that plays Instagram containers on a
//! clock the test sets: each container is processed for a planned time and then
//! finishes, fails with a subcode, or never finishes (expires); publishing checks
//! the container's state, can lose its answer, can say "not ready" once, and counts
//! every publish per container, so that double posts are caught. Tests and the
//! publishing benchmark use it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

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
#[derive(Default)]
pub struct FakeState {
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
    /// Every call, as `METHOD path`.
    pub calls: Vec<String>,
}

/// The fake Graph API.
pub struct FakeGraph {
    /// The server; point `graph.facebook_url` and `graph.instagram_url` at it.
    pub server: MockServer,
    /// The state.
    pub state: Arc<Mutex<FakeState>>,
}

const DAY_MS: i64 = 86_400_000;

struct Handler {
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

impl Respond for Handler {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let now = self.clock.now_ms();
        let Ok(mut state) = self.state.lock() else {
            return ResponseTemplate::new(500);
        };
        let path = request.url.path().to_owned();
        state.calls.push(format!("{} {path}", request.method));
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("POST", [_, account, "media"]) => {
                state.next_id += 1;
                let id = format!("c{}", state.next_id);
                let fields = form(request);
                let media_url = fields
                    .get("image_url")
                    .or_else(|| fields.get("video_url"))
                    .cloned()
                    .unwrap_or_default();
                let planned = state
                    .plans_by_url
                    .get_mut(&media_url)
                    .and_then(VecDeque::pop_front);
                let plan = planned
                    .or_else(|| state.plans.pop_front())
                    .or(state.default_plan)
                    .unwrap_or(Plan {
                        processing_ms: 5_000,
                        ending: Ending::Finish,
                    });
                state.containers.insert(
                    id.clone(),
                    Container {
                        created_at_ms: now,
                        plan,
                        published: false,
                        publish_calls: 0,
                        reads: 0,
                        publishes_after_published: 0,
                        account_id: (*account).to_owned(),
                        url: media_url,
                    },
                );
                ResponseTemplate::new(200).set_body_json(json!({"id": id}))
            }
            ("POST", [_, _, "media_publish"]) => {
                let creation = form(request).remove("creation_id").unwrap_or_default();
                let media_url = state
                    .containers
                    .get(&creation)
                    .map(|c| c.url.clone())
                    .unwrap_or_default();
                let by_url = state
                    .publish_answers_by_url
                    .get_mut(&media_url)
                    .and_then(VecDeque::pop_front);
                let answer = by_url
                    .or_else(|| state.publish_answers.pop_front())
                    .unwrap_or(PublishAnswer::Normal);
                let Some(container) = state.containers.get_mut(&creation) else {
                    return error(400, 100, Some(33), "Unsupported post request");
                };
                container.publish_calls += 1;
                let finished = container.plan.ending == Ending::Finish
                    && now >= container.created_at_ms + container.plan.processing_ms;
                if !finished || answer == PublishAnswer::NotReady {
                    return error(400, 9007, Some(2_207_027), "Media ID is not available");
                }
                if container.published {
                    container.publishes_after_published += 1;
                    return error(400, 100, Some(2_207_008), "The media was published already");
                }
                let account = container.account_id.clone();
                let own = state.published_at.get(&account).map_or(0, |times| {
                    times.iter().filter(|at| now - **at < DAY_MS).count()
                }) as i64;
                if state.quota.0 + own >= state.quota.1 {
                    return error(400, 9, Some(2_207_042), "Application request limit reached");
                }
                let Some(container) = state.containers.get_mut(&creation) else {
                    return ResponseTemplate::new(500);
                };
                container.published = true;
                state.published_at.entry(account).or_default().push(now);
                let media = json!({"id": format!("m-{creation}")});
                match answer {
                    PublishAnswer::LoseAnswer => ResponseTemplate::new(502),
                    PublishAnswer::GarbledId => {
                        ResponseTemplate::new(200).set_body_json(json!({"id": "m\u{0}/../me"}))
                    }
                    PublishAnswer::ThrottledButLive => {
                        error(400, 4, Some(2_207_051), "Application request limit reached")
                    }
                    PublishAnswer::Hang { hang_ms } => ResponseTemplate::new(200)
                        .set_body_json(media)
                        .set_delay(Duration::from_millis(hang_ms)),
                    _ => ResponseTemplate::new(200).set_body_json(media),
                }
            }
            ("GET", [_, account, "content_publishing_limit"]) => {
                let own = state.published_at.get(*account).map_or(0, |times| {
                    times.iter().filter(|at| now - **at < DAY_MS).count()
                }) as i64;
                let (usage, total) = state.quota;
                ResponseTemplate::new(200).set_body_json(json!({"data": [{
                    "quota_usage": usage + own, "config": {"quota_total": total, "quota_duration": 86_400}}]}))
            }
            ("GET", [_, "debug_token"]) => {
                // Tokens starting with `PAGE` are Page tokens (no expiry).
                let page = request
                    .url
                    .query_pairs()
                    .any(|(k, v)| k == "input_token" && v.starts_with("PAGE"));
                let expires = if page { 0 } else { (now + 50 * DAY_MS) / 1000 };
                ResponseTemplate::new(200).set_body_json(json!({"data": {
                    "app_id": "1234567890", "type": if page { "PAGE" } else { "USER" }, "is_valid": true,
                    "issued_at": (now - 30 * DAY_MS) / 1000, "expires_at": expires,
                    "scopes": ["instagram_content_publish", "pages_manage_posts"], "user_id": "218471"}}))
            }
            ("POST", [_, page, "feed" | "photos"]) => {
                let post = format!("{page}_{}", state.page_posts.len() + 1);
                state.page_posts.push(post.clone());
                ResponseTemplate::new(200).set_body_json(json!({"id": post}))
            }
            ("GET", [_, id]) => {
                let Some(container) = state.containers.get_mut(*id) else {
                    if let Some(post) = state.page_posts.iter().find(|p| p.as_str() == *id) {
                        return ResponseTemplate::new(200)
                            .set_body_json(json!({"id": post, "is_published": true}));
                    }
                    return error(
                        400,
                        100,
                        Some(33),
                        "Unsupported get request. Object does not exist",
                    );
                };
                container.reads += 1;
                let done = now >= container.created_at_ms + container.plan.processing_ms;
                let (code, status) = if container.published {
                    ("PUBLISHED", "Published".to_owned())
                } else if now >= container.created_at_ms + DAY_MS {
                    ("EXPIRED", "Expired".to_owned())
                } else {
                    match (container.plan.ending, done) {
                        (Ending::Finish, true) => {
                            ("FINISHED", "Finished: Media has been uploaded".to_owned())
                        }
                        (Ending::Error(subcode), true) => (
                            "ERROR",
                            format!("Error: Media upload has failed with error code {subcode}"),
                        ),
                        _ => (
                            "IN_PROGRESS",
                            "In Progress: Media is still being processed.".to_owned(),
                        ),
                    }
                };
                ResponseTemplate::new(200)
                    .set_body_json(json!({"id": id, "status_code": code, "status": status}))
            }
            _ => error(400, 100, None, "Unknown path requested"),
        }
    }
}

impl FakeGraph {
    /// Starts the fake on loopback, on `clock`'s time.
    pub async fn start(clock: Arc<dyn Clock>) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(FakeState {
            quota: (0, 100),
            ..FakeState::default()
        }));
        let handler = || Handler {
            state: Arc::clone(&state),
            clock: Arc::clone(&clock),
        };
        Mock::given(method("GET"))
            .and(path("/v24.0/debug_token"))
            .respond_with(handler())
            .mount(&server)
            .await;
        Mock::given(path_regex("^/v[0-9.]+/.*"))
            .respond_with(handler())
            .mount(&server)
            .await;
        FakeGraph { server, state }
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
