//! What a registration request must be, and what Meta's answers about a token
//! mean for it: pure decisions, no call and no store.

use graphhook_graph::answer::Action;
use secrecy::ExposeSecret;

use super::{RegistrationError, TokenRegistration};
use crate::domain::content::check_id;
use crate::domain::ids::{AccountId, AppId};
use crate::gateway::GatewayError;
use crate::tokens::meta::{Inspection, TokenCallError};
use crate::tokens::TokenKind;

/// The longest token accepted, in bytes.
const MAX_TOKEN_BYTES: usize = 4_096;
/// The longest `expires_in` accepted: 60 days and a margin.
const MAX_EXPIRES_IN_SECS: i64 = 61 * 86_400;
/// How long a long-lived Instagram-login token lives.
const INSTAGRAM_LIFETIME_MS: i64 = 60 * 86_400_000;
/// Instagram-login tokens can be refreshed once they are this old.
const INSTAGRAM_REFRESHABLE_AFTER_MS: i64 = 86_400_000;

pub(super) fn check(
    app_id: &AppId,
    account_id: &AccountId,
    request: &TokenRegistration,
) -> Result<(), RegistrationError> {
    let invalid = |r: crate::domain::content::Rejection| RegistrationError::Invalid(r.0);
    check_id("app id", app_id).map_err(invalid)?;
    check_id("account id", account_id).map_err(invalid)?;
    for (what, value) in [("tenant", &request.tenant), ("page id", &request.page_id)] {
        if let Some(value) = value {
            check_id(what, value).map_err(invalid)?;
        }
    }
    let token = request.token.expose_secret();
    if token.is_empty()
        || token.len() > MAX_TOKEN_BYTES
        || token.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(RegistrationError::Invalid(format!(
            "token must be 1 to {MAX_TOKEN_BYTES} bytes without spaces or control characters"
        )));
    }
    match request.expires_in {
        Some(seconds) if !(1..=MAX_EXPIRES_IN_SECS).contains(&seconds) => {
            Err(RegistrationError::Invalid(format!(
                "expires_in must be 1 to {MAX_EXPIRES_IN_SECS} seconds"
            )))
        }
        Some(_) if request.kind != TokenKind::InstagramLogin => Err(RegistrationError::Invalid(
            "expires_in is for instagram_login tokens (debug_token tells the others')".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// Meta's answer to a token call as the registration's outcome: a token Meta
/// refuses (reconnect or fix-request class) is refused; anything else is Meta
/// not being available.
pub(super) fn meta_failure(error: TokenCallError) -> RegistrationError {
    if let TokenCallError::Gateway(GatewayError::Call(call)) = &error {
        if matches!(call.action(), Action::Reconnect(_) | Action::FixRequest) {
            return RegistrationError::Rejected(format!("Meta refused the token ({call})"));
        }
    }
    RegistrationError::Meta(error)
}

/// What is known of an Instagram-login token without `debug_token`: valid (its
/// owner check on graph.instagram.com is the proof), and its expiry as the client
/// gave it; without one, an expiry that starts the refresh as soon as Meta allows
/// it (the refresh answer then says the real one).
pub(super) fn instagram_inspection(
    expires_in: Option<i64>,
    now_ms: i64,
    refresh_window_ms: i64,
) -> Inspection {
    let (issued, expires) = match expires_in {
        Some(seconds) => {
            let expires = now_ms.saturating_add(seconds.saturating_mul(1000));
            (now_ms.min(expires - INSTAGRAM_LIFETIME_MS), expires)
        }
        None => (
            now_ms,
            now_ms + INSTAGRAM_REFRESHABLE_AFTER_MS + refresh_window_ms,
        ),
    };
    Inspection {
        is_valid: true,
        app_id: None,
        kind: Some("USER".to_owned()),
        issued_at_ms: Some(issued),
        expires_at_ms: Some(expires),
        data_access_expires_at_ms: None,
        scopes: Vec::new(),
        user_id: None,
        error: None,
    }
}

/// Why Meta's answer about a token does not allow storing it, if it does not.
pub(super) fn refusal(
    app_id: &AppId,
    kind: TokenKind,
    inspection: &Inspection,
    now_ms: i64,
) -> Option<String> {
    if !inspection.is_valid {
        return Some("it is not valid".to_owned());
    }
    if inspection.app_id.as_deref() != Some(app_id) {
        return Some("it was issued for another app".to_owned());
    }
    if inspection.expires_at_ms.is_some_and(|e| e <= now_ms) {
        return Some("it has expired".to_owned());
    }
    let page = inspection.kind.as_deref() == Some("PAGE");
    if (kind == TokenKind::Page) != page && inspection.kind.is_some() {
        return Some(format!(
            "it is a {} token, not a {} token",
            inspection.kind.as_deref().unwrap_or("?"),
            kind.as_str()
        ));
    }
    None
}
