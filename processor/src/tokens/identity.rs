//! Which accounts a token can act for, asked of Meta where the token's kind is
//! served: an Instagram-login token on graph.instagram.com (`/me`: its
//! `user_id`), a Page token on graph.facebook.com (`/me`: the Page and its
//! linked Instagram account), a Facebook-login user token on graph.facebook.com
//! (the Pages it manages and their linked Instagram accounts). Registering a
//! token under an account it cannot act for is refused, not found out at the
//! first publish.

use graphhook_graph::answer::Action;
use graphhook_graph::Call;
use graphhook_schema::publishing::meta_id_in;
use secrecy::SecretString;
use serde_json::Value;

use super::meta::TokenCallError;
use super::TokenKind;
use crate::domain::ids::{AccountId, AppId};
use crate::gateway::{Gateway, GatewayError};

/// What Meta says a token acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The Page the account is reached through, when there is one (Facebook
    /// login).
    pub page_id: Option<String>,
    /// The Instagram-login user id (Instagram login).
    pub user_id: Option<String>,
}

/// Why a token may not be registered under an account.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Meta answered, and the account is not one the token acts for.
    #[error("{0}")]
    NotForAccount(&'static str),
    /// Asking Meta failed.
    #[error(transparent)]
    Call(#[from] TokenCallError),
}

fn linked_instagram(page: &Value) -> Option<String> {
    page.get("instagram_business_account")
        .and_then(|linked| meta_id_in(linked, "id"))
}

/// Asks Meta `call` on the app's behalf; the answer's body.
async fn ask(gateway: &Gateway, app_id: &AppId, call: Call) -> Result<Value, IdentityError> {
    let answer = gateway
        .call_for_app(app_id, call)
        .await
        .map_err(TokenCallError::from)?;
    Ok(answer.body)
}

/// Asks Meta which accounts `token` acts for and checks that `account_id` is one
/// of them. `page_id` is the Page the client named (Facebook login).
pub async fn check_owner(
    gateway: &Gateway,
    (app_id, account_id): (&AppId, &AccountId),
    kind: TokenKind,
    token: &SecretString,
    page_id: Option<&str>,
) -> Result<Identity, IdentityError> {
    let read = |endpoint: &'static str, path: &str, fields: &str| {
        Call::get(kind.host(), endpoint, path)
            .query("fields", fields)
            .token(token.clone())
    };
    let page_fields = "id,instagram_business_account";
    match kind {
        TokenKind::InstagramLogin => {
            let me = ask(
                gateway,
                app_id,
                read("token_owner", "/me", "user_id,username"),
            )
            .await?;
            match meta_id_in(&me, "user_id").or_else(|| meta_id_in(&me, "id")) {
                Some(user) if *account_id == user => Ok(Identity {
                    page_id: None,
                    user_id: Some(user),
                }),
                Some(_) => Err(IdentityError::NotForAccount(
                    "the token belongs to another Instagram account",
                )),
                None => Err(TokenCallError::Malformed("no user_id in /me").into()),
            }
        }
        TokenKind::Page => {
            let me = ask(gateway, app_id, read("token_owner", "/me", page_fields)).await?;
            let page = meta_id_in(&me, "id").ok_or(TokenCallError::Malformed("no id in /me"))?;
            if page_id.is_some_and(|named| named != page) {
                return Err(IdentityError::NotForAccount(
                    "the token is the token of another Page than page_id",
                ));
            }
            acting_page(std::slice::from_ref(&me), account_id).ok_or(IdentityError::NotForAccount(
                "the token's Page is neither this account nor linked to it",
            ))
        }
        TokenKind::FacebookUser => {
            let pages = match page_id {
                Some(page) => {
                    let call = read("token_owner", &format!("/{page}"), page_fields);
                    match ask(gateway, app_id, call).await {
                        Ok(body) => vec![body],
                        // "Object does not exist, cannot be loaded due to missing
                        // permissions": the token does not manage that Page.
                        Err(IdentityError::Call(TokenCallError::Gateway(GatewayError::Call(
                            error,
                        )))) if error.action() == Action::FixRequest => {
                            return Err(IdentityError::NotForAccount(
                                "the token does not manage the Page named by page_id",
                            ))
                        }
                        Err(error) => return Err(error),
                    }
                }
                None => {
                    let call =
                        read("token_pages", "/me/accounts", page_fields).query("limit", "100");
                    match ask(gateway, app_id, call).await?.get("data") {
                        Some(Value::Array(pages)) => pages.clone(),
                        _ => {
                            return Err(TokenCallError::Malformed("no data in /me/accounts").into())
                        }
                    }
                }
            };
            acting_page(&pages, account_id).ok_or(IdentityError::NotForAccount(
                "none of the token's Pages is this account or linked to it",
            ))
        }
    }
}

/// The first of `pages` that is `account_id` or linked to it, as the identity
/// the token acts through.
fn acting_page(pages: &[Value], account_id: &AccountId) -> Option<Identity> {
    pages.iter().find_map(|page| {
        let id = meta_id_in(page, "id")?;
        let acts =
            *account_id == id || linked_instagram(page).as_deref() == Some(account_id.as_str());
        acts.then_some(Identity {
            page_id: Some(id),
            user_id: None,
        })
    })
}
