//! How the fake Graph API, like Meta, decides whether a call may be answered:
//! the token must be one it issued, on the host of its kind (an Instagram-login
//! token is not parsed on graph.facebook.com, nor a Facebook-login token on
//! graph.instagram.com), carry `appsecret_proof` under the secret of the app the
//! host knows (the app has "Require App Secret" on), and act for the object it
//! names.

// A refusal is the fake's whole answer to the call (test code only).
#![allow(clippy::result_large_err)]

use hmac::{Hmac, Mac};
use wiremock::{Request, ResponseTemplate};

use super::{error, FakeState};

/// Which host a fake server stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeHost {
    /// graph.facebook.com.
    Facebook,
    /// graph.instagram.com.
    Instagram,
}

/// What a token the fake issued is allowed to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// An Instagram-login token of this Instagram professional account.
    InstagramLogin {
        /// Its `user_id`.
        user_id: String,
    },
    /// A Facebook-login user token managing these Pages, each with its linked
    /// Instagram account.
    FacebookUser {
        /// The app-scoped user id.
        user_id: String,
        /// (Page id, linked Instagram account id).
        pages: Vec<(String, Option<String>)>,
    },
    /// A Page token.
    Page {
        /// The Page.
        page_id: String,
        /// Its linked Instagram account.
        instagram: Option<String>,
    },
}

impl Grant {
    /// The host Meta serves this kind of token on.
    pub fn host(&self) -> FakeHost {
        match self {
            Grant::InstagramLogin { .. } => FakeHost::Instagram,
            _ => FakeHost::Facebook,
        }
    }

    /// Whether the token acts for the object `id` (an account or a Page).
    pub fn acts_for(&self, id: &str) -> bool {
        match self {
            Grant::InstagramLogin { user_id } => user_id == id,
            Grant::FacebookUser { pages, .. } => pages
                .iter()
                .any(|(page, linked)| page == id || linked.as_deref() == Some(id)),
            Grant::Page { page_id, instagram } => page_id == id || instagram.as_deref() == Some(id),
        }
    }
}

/// A token the fake issued.
#[derive(Debug, Clone)]
pub struct FakeToken {
    /// What it may do.
    pub grant: Grant,
    /// When it was issued, epoch ms.
    pub issued_at_ms: i64,
    /// When it expires, epoch ms (0: never).
    pub expires_at_ms: i64,
}

/// The apps the fake knows: the Facebook app and its Instagram app.
#[derive(Debug, Clone)]
pub struct FakeApps {
    /// (id, secret) of the Facebook app.
    pub facebook: (String, String),
    /// (id, secret) of the Instagram app.
    pub instagram: (String, String),
}

/// The access token a request carries: `Authorization: Bearer` or the
/// `access_token` query parameter.
pub fn access_token(request: &Request) -> Option<String> {
    let header = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    header.or_else(|| query(request, "access_token"))
}

/// A query parameter of the request.
pub fn query(request: &Request, key: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn proof(secret: &str, token: &str) -> String {
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn cannot_parse() -> ResponseTemplate {
    error(
        400,
        190,
        None,
        "Invalid OAuth access token - Cannot parse access token",
    )
}

impl FakeState {
    /// The secret of the app `host` knows.
    fn host_secret(&self, host: FakeHost) -> &str {
        match host {
            FakeHost::Facebook => &self.apps.facebook.1,
            FakeHost::Instagram => &self.apps.instagram.1,
        }
    }

    /// Refuses a call whose `appsecret_proof` is missing or wrong for `token` on
    /// `host`, as Meta does for an app with "Require App Secret" on.
    pub fn check_proof(
        &mut self,
        host: FakeHost,
        request: &Request,
        token: &str,
    ) -> Result<(), ResponseTemplate> {
        if !self.require_proof {
            return Ok(());
        }
        let expected = proof(self.host_secret(host), token);
        match query(request, "appsecret_proof") {
            None => {
                self.refusals.push("no appsecret_proof".to_owned());
                Err(error(
                    400,
                    100,
                    None,
                    "API calls from the server require an appsecret_proof argument",
                ))
            }
            Some(given) if given != expected => {
                self.refusals.push("wrong appsecret_proof".to_owned());
                Err(error(
                    400,
                    100,
                    None,
                    "Invalid appsecret_proof provided in the API argument",
                ))
            }
            Some(_) => Ok(()),
        }
    }

    /// The grant of the request's token on `host`, or Meta's refusal: no token,
    /// a token the fake never issued or one of the other host, an expired one,
    /// a missing or wrong proof.
    pub fn authorize(
        &mut self,
        host: FakeHost,
        request: &Request,
        now_ms: i64,
    ) -> Result<Grant, ResponseTemplate> {
        let Some(token) = access_token(request) else {
            self.refusals.push("no token".to_owned());
            return Err(error(
                400,
                2500,
                None,
                "An active access token must be used",
            ));
        };
        let Some(known) = self.tokens.get(&token).cloned() else {
            self.refusals.push("unknown token".to_owned());
            return Err(cannot_parse());
        };
        if known.grant.host() != host {
            self.refusals
                .push(format!("token of the other host on {host:?}"));
            return Err(cannot_parse());
        }
        if known.expires_at_ms != 0 && known.expires_at_ms <= now_ms {
            self.refusals.push("expired token".to_owned());
            return Err(error(
                400,
                190,
                Some(463),
                "Error validating access token: Session has expired",
            ));
        }
        self.check_proof(host, request, &token)?;
        Ok(known.grant)
    }

    /// Refuses a call about `object` that the grant does not act for.
    pub fn require_acts_for(
        &mut self,
        grant: &Grant,
        object: &str,
    ) -> Result<(), ResponseTemplate> {
        if grant.acts_for(object) {
            return Ok(());
        }
        self.refusals.push("token not for the object".to_owned());
        Err(error(
            400,
            100,
            Some(33),
            "Unsupported request. Object does not exist, cannot be loaded due to missing permissions",
        ))
    }
}
