//! `GET graph.instagram.com/refresh_access_token`: a new 60-day token for an
//! Instagram-login token at least 24 hours old and not expired. The old token
//! stays valid until its own expiry, so a caller that lost the answer still
//! holds a working token.

use serde_json::json;
use wiremock::{Request, ResponseTemplate};

use super::auth::{access_token, query, FakeHost, FakeToken, Grant};
use super::{error, FakeState, DAY_MS};

/// How long a refreshed token lives.
const REFRESHED_FOR_MS: i64 = 60 * DAY_MS;

/// Answers a refresh on `host`.
pub(super) fn refresh(
    state: &mut FakeState,
    host: FakeHost,
    request: &Request,
    now: i64,
) -> ResponseTemplate {
    if host != FakeHost::Instagram {
        return error(400, 100, None, "Unknown path requested");
    }
    if query(request, "grant_type").as_deref() != Some("ig_refresh_token") {
        return error(400, 100, None, "Invalid grant_type");
    }
    let grant = match state.authorize(host, request, now) {
        Ok(grant) => grant,
        Err(refused) => return refused,
    };
    if !matches!(grant, Grant::InstagramLogin { .. }) {
        return error(400, 100, None, "Invalid grant_type");
    }
    let issued_at_ms = access_token(request)
        .and_then(|token| state.tokens.get(&token).map(|t| t.issued_at_ms))
        .unwrap_or(now);
    if now - issued_at_ms < DAY_MS {
        state
            .refusals
            .push("refresh of a token younger than 24 hours".to_owned());
        return error(400, 190, None, "The access token is less than 24 hours old");
    }
    state.next_id += 1;
    let token = format!("IGQVJ-refreshed-{}", state.next_id);
    state.tokens.insert(
        token.clone(),
        FakeToken {
            grant,
            issued_at_ms: now,
            expires_at_ms: now + REFRESHED_FOR_MS,
        },
    );
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": token, "token_type": "bearer", "expires_in": REFRESHED_FOR_MS / 1000}))
}
