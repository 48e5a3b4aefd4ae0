//! The fake's answers, path by path, after [`super::auth`] let the call through.

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::{Request, Respond, ResponseTemplate};

use super::auth::{access_token, query, FakeHost, Grant};
use super::refresh::refresh;
use super::{error, form, Container, Ending, FakeState, Handler, Plan, PublishAnswer, DAY_MS};

impl Respond for Handler {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let now = self.clock.now_ms();
        let Ok(mut state) = self.state.lock() else {
            return ResponseTemplate::new(500);
        };
        let path = request.url.path();
        state
            .calls
            .push(format!("{:?} {} {path}", self.host, request.method));
        let fault = state.fault;
        if let Some(instead) = fault.and_then(|fault| fault.instead(&mut state)) {
            return instead;
        }
        let answer = self.answer(&mut state, request, now);
        match fault {
            Some(fault) => fault.after(&mut state, answer),
            None => answer,
        }
    }
}

impl Handler {
    fn answer(&self, state: &mut FakeState, request: &Request, now: i64) -> ResponseTemplate {
        let path = request.url.path();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let method = request.method.as_str();
        if (method, segments.as_slice()) == ("GET", ["refresh_access_token"].as_slice()) {
            return refresh(state, self.host, request, now);
        }
        let Some((version, rest)) = segments.split_first() else {
            return error(400, 100, None, "Unknown path requested");
        };
        if !version.starts_with('v') {
            return error(400, 100, None, "Unknown path requested");
        }
        if (method, rest) == ("GET", ["debug_token"].as_slice()) {
            return match self.host {
                FakeHost::Facebook => debug_token(state, request, now),
                FakeHost::Instagram => error(400, 100, None, "Unknown path requested"),
            };
        }
        let grant = match state.authorize(self.host, request, now) {
            Ok(grant) => grant,
            Err(refused) => return refused,
        };
        match (method, rest) {
            ("GET", ["me"]) => me(&grant),
            ("GET", ["me", "accounts"]) => match &grant {
                Grant::FacebookUser { pages, .. } => {
                    let data: Vec<Value> = pages.iter().map(|(p, ig)| page(p, ig)).collect();
                    ResponseTemplate::new(200).set_body_json(json!({"data": data}))
                }
                _ => error(
                    400,
                    100,
                    None,
                    "Tried accessing nonexisting field (accounts)",
                ),
            },
            ("POST", [account, "media"]) => {
                if let Err(refused) = state.require_acts_for(&grant, account) {
                    return refused;
                }
                create_container(state, request, account, now)
            }
            ("POST", [account, "media_publish"]) => {
                if let Err(refused) = state.require_acts_for(&grant, account) {
                    return refused;
                }
                publish(state, request, now)
            }
            ("GET", [account, "content_publishing_limit"]) => {
                if let Err(refused) = state.require_acts_for(&grant, account) {
                    return refused;
                }
                let own = state.own_publications(account, now);
                let (usage, total) = state.quota;
                ResponseTemplate::new(200).set_body_json(json!({"data": [{
                    "quota_usage": usage + own, "config": {"quota_total": total, "quota_duration": 86_400}}]}))
            }
            ("POST", [page, "feed" | "photos"]) => {
                if let Err(refused) = state.require_acts_for(&grant, page) {
                    return refused;
                }
                let post = format!("{page}_{}", state.page_posts.len() + 1);
                state.page_posts.push(post.clone());
                ResponseTemplate::new(200).set_body_json(json!({"id": post}))
            }
            ("GET", [id]) => read_object(state, &grant, id, now),
            _ => error(400, 100, None, "Unknown path requested"),
        }
    }
}

fn page(id: &str, instagram: &Option<String>) -> Value {
    match instagram {
        Some(ig) => json!({"id": id, "instagram_business_account": {"id": ig}}),
        None => json!({"id": id}),
    }
}

fn me(grant: &Grant) -> ResponseTemplate {
    let body = match grant {
        Grant::InstagramLogin { user_id } => {
            json!({"id": format!("27{user_id}"), "user_id": user_id, "username": "fake"})
        }
        Grant::FacebookUser { user_id, .. } => json!({"id": user_id, "name": "Fake User"}),
        Grant::Page { page_id, instagram } => page(page_id, instagram),
    };
    ResponseTemplate::new(200).set_body_json(body)
}

/// `debug_token` with the app token `<app id>|<secret>` of the Facebook app:
/// Instagram-login tokens and tokens it never issued cannot be parsed.
fn debug_token(state: &mut FakeState, request: &Request, now: i64) -> ResponseTemplate {
    let (app_id, secret) = state.apps.facebook.clone();
    let app_token = format!("{app_id}|{secret}");
    if access_token(request).as_deref() != Some(app_token.as_str()) {
        state
            .refusals
            .push("debug_token without the app token".to_owned());
        return error(400, 190, None, "Invalid OAuth access token signature.");
    }
    if let Err(refused) = state.check_proof(FakeHost::Facebook, request, &app_token) {
        return refused;
    }
    let input = query(request, "input_token").unwrap_or_default();
    let known = state
        .tokens
        .get(&input)
        .filter(|t| t.grant.host() == FakeHost::Facebook)
        .cloned();
    let Some(token) = known else {
        return ResponseTemplate::new(200).set_body_json(json!({"data": {"is_valid": false,
            "error": {"code": 190, "message": "Invalid OAuth access token - Cannot parse access token"}}}));
    };
    let (kind, user_id) = match &token.grant {
        Grant::Page { .. } => ("PAGE", "218471".to_owned()),
        Grant::FacebookUser { user_id, .. } => ("USER", user_id.clone()),
        Grant::InstagramLogin { user_id } => ("USER", user_id.clone()),
    };
    let valid = token.expires_at_ms == 0 || token.expires_at_ms > now;
    ResponseTemplate::new(200).set_body_json(json!({"data": {
        "app_id": app_id, "type": kind, "is_valid": valid,
        "issued_at": (now - 30 * DAY_MS) / 1000, "expires_at": token.expires_at_ms / 1000,
        "scopes": ["instagram_content_publish", "pages_manage_posts"], "user_id": user_id}}))
}

impl FakeState {
    /// The fake's own publications of `account` in the rolling day.
    fn own_publications(&self, account: &str, now: i64) -> i64 {
        self.published_at.get(account).map_or(0, |times| {
            times.iter().filter(|at| now - **at < DAY_MS).count()
        }) as i64
    }
}

fn create_container(
    state: &mut FakeState,
    request: &Request,
    account: &str,
    now: i64,
) -> ResponseTemplate {
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
            account_id: account.to_owned(),
            url: media_url,
        },
    );
    ResponseTemplate::new(200).set_body_json(json!({"id": id}))
}

fn publish(state: &mut FakeState, request: &Request, now: i64) -> ResponseTemplate {
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
    if state.quota.0 + state.own_publications(&account, now) >= state.quota.1 {
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

/// `GET /{id}`: a container's status, a Page post, or a Page the token manages.
fn read_object(state: &mut FakeState, grant: &Grant, id: &str, now: i64) -> ResponseTemplate {
    let missing = || {
        error(
            400,
            100,
            Some(33),
            "Unsupported get request. Object does not exist",
        )
    };
    let Some(container) = state.containers.get(id).cloned() else {
        if let Some(post) = state.page_posts.iter().find(|p| p.as_str() == id) {
            let page_id = post.split('_').next().unwrap_or_default();
            if !grant.acts_for(page_id) {
                return missing();
            }
            return ResponseTemplate::new(200)
                .set_body_json(json!({"id": post, "is_published": true}));
        }
        return match grant {
            Grant::FacebookUser { pages, .. } => pages
                .iter()
                .find(|(p, _)| p == id)
                .map_or_else(missing, |(p, ig)| {
                    ResponseTemplate::new(200).set_body_json(page(p, ig))
                }),
            Grant::Page { page_id, instagram } if page_id == id => {
                ResponseTemplate::new(200).set_body_json(page(page_id, instagram))
            }
            _ => missing(),
        };
    };
    if let Err(refused) = state.require_acts_for(grant, &container.account_id) {
        return refused;
    }
    if let Some(kept) = state.containers.get_mut(id) {
        kept.reads += 1;
    }
    let done = now >= container.created_at_ms + container.plan.processing_ms;
    let (code, status) = if container.published {
        ("PUBLISHED", "Published".to_owned())
    } else if now >= container.created_at_ms + DAY_MS {
        ("EXPIRED", "Expired".to_owned())
    } else {
        match (container.plan.ending, done) {
            (Ending::Finish, true) => ("FINISHED", "Finished: Media has been uploaded".to_owned()),
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
