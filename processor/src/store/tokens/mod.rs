//! Tokens as stored: metadata in columns, the token itself only as ciphertext (see
//! `tokens::cipher`). A refresh is claimed with a lease (`lease_owner`,
//! `lease_until_ms`) by one replica at a time (`refresh`); tokens are re-encrypted
//! under a new key by `keys`.

mod keys;
mod refresh;

use serde::Serialize;

use super::sql::name;
use super::{Store, StoreError};
use crate::domain::ids::{AccountId, AppId};
use crate::domain::token::Sealed;
use crate::domain::token::TokenKind;

/// A token's metadata: what the admin API shows (never the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    /// Meta's app id.
    pub app_id: AppId,
    /// The Instagram account (or Page) it is for.
    pub account_id: AccountId,
    /// Its kind.
    pub kind: TokenKind,
    /// The operator's tenant.
    pub tenant: Option<String>,
    /// The linked Page.
    pub page_id: Option<String>,
    /// The (app-scoped) user who granted it, from `debug_token`.
    pub user_id: Option<String>,
    /// Granted scopes, from `debug_token`.
    pub scopes: Vec<String>,
    /// When it was issued (or last refreshed), epoch ms.
    pub issued_at_ms: i64,
    /// When it expires, epoch ms; `None`: never (Page tokens).
    pub expires_at_ms: Option<i64>,
    /// When its data access expires, epoch ms.
    pub data_access_expires_at_ms: Option<i64>,
    /// When graphhook last refreshed it, epoch ms.
    pub last_refresh_at_ms: Option<i64>,
    /// When graphhook last checked it with Meta, epoch ms.
    pub last_check_at_ms: i64,
    /// The key it is encrypted under.
    pub key_id: String,
    /// Refresh failures in a row.
    pub failures: i64,
    /// No refresh is tried before this time, epoch ms.
    pub next_attempt_at_ms: i64,
}

/// A token as stored: its metadata and its ciphertext.
#[derive(Debug, Clone)]
pub struct StoredToken {
    /// The metadata.
    pub record: TokenRecord,
    /// The encrypted token.
    pub sealed: Sealed,
}

/// Which token: app, account and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenKey<'a> {
    /// Meta's app id.
    pub app_id: &'a AppId,
    /// The account.
    pub account_id: &'a AccountId,
    /// The kind.
    pub kind: TokenKind,
}

impl TokenRecord {
    /// The key of this token.
    pub fn key(&self) -> TokenKey<'_> {
        TokenKey {
            app_id: &self.app_id,
            account_id: &self.account_id,
            kind: self.kind,
        }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    app_id: String,
    account_id: String,
    kind: String,
    tenant: Option<String>,
    page_id: Option<String>,
    user_id: Option<String>,
    scopes: String,
    issued_at_ms: i64,
    expires_at_ms: Option<i64>,
    data_access_expires_at_ms: Option<i64>,
    last_refresh_at_ms: Option<i64>,
    last_check_at_ms: i64,
    key_id: String,
    nonce: String,
    ciphertext: String,
    failures: i64,
    next_attempt_at_ms: i64,
}

const COLUMNS: &str = "app_id, account_id, kind, tenant, page_id, user_id, scopes, issued_at_ms, \
    expires_at_ms, data_access_expires_at_ms, last_refresh_at_ms, last_check_at_ms, key_id, nonce, \
    ciphertext, failures, next_attempt_at_ms";

impl TryFrom<Row> for StoredToken {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        let kind =
            TokenKind::parse(&row.kind).ok_or_else(|| StoreError::Corrupt(row.kind.clone()))?;
        let scopes: Vec<String> = serde_json::from_str(&row.scopes)
            .map_err(|_| StoreError::Corrupt("token scopes".into()))?;
        Ok(StoredToken {
            record: TokenRecord {
                app_id: row.app_id.into(),
                account_id: row.account_id.into(),
                kind,
                tenant: row.tenant,
                page_id: row.page_id,
                user_id: row.user_id,
                scopes,
                issued_at_ms: row.issued_at_ms,
                expires_at_ms: row.expires_at_ms,
                data_access_expires_at_ms: row.data_access_expires_at_ms,
                last_refresh_at_ms: row.last_refresh_at_ms,
                last_check_at_ms: row.last_check_at_ms,
                key_id: row.key_id.clone(),
                failures: row.failures,
                next_attempt_at_ms: row.next_attempt_at_ms,
            },
            sealed: Sealed {
                key_id: row.key_id,
                nonce: row.nonce,
                ciphertext: row.ciphertext,
            },
        })
    }
}

/// A statement on the `tokens` table.
type TokenQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds a token's key (app id, account id, kind) as the statement's last three
/// parameters.
fn bind_key<'q>(query: TokenQuery<'q>, key: TokenKey<'q>) -> TokenQuery<'q> {
    query
        .bind(key.app_id)
        .bind(key.account_id)
        .bind(name(&key.kind))
}

fn tokens(rows: Vec<Row>) -> Result<Vec<StoredToken>, StoreError> {
    rows.into_iter().map(StoredToken::try_from).collect()
}

impl Store {
    /// Stores a (new or replaced) token; a replaced token starts with no failures,
    /// no pending retry and no lease.
    pub async fn save_token(&self, token: &StoredToken, now_ms: i64) -> Result<(), StoreError> {
        let r = &token.record;
        let scopes =
            serde_json::to_string(&r.scopes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(&format!(
            "INSERT INTO tokens ({COLUMNS}, lease_owner, lease_until_ms, updated_at_ms) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, 0, NULL, 0, $16) \
             ON CONFLICT (app_id, account_id, kind) DO UPDATE SET tenant = excluded.tenant, \
             page_id = excluded.page_id, user_id = excluded.user_id, scopes = excluded.scopes, \
             issued_at_ms = excluded.issued_at_ms, expires_at_ms = excluded.expires_at_ms, \
             data_access_expires_at_ms = excluded.data_access_expires_at_ms, \
             last_refresh_at_ms = excluded.last_refresh_at_ms, last_check_at_ms = excluded.last_check_at_ms, \
             key_id = excluded.key_id, nonce = excluded.nonce, ciphertext = excluded.ciphertext, \
             failures = 0, next_attempt_at_ms = 0, lease_owner = NULL, lease_until_ms = 0, \
             updated_at_ms = excluded.updated_at_ms"
        ))
        .bind(&r.app_id)
        .bind(&r.account_id)
        .bind(name(&r.kind))
        .bind(r.tenant.as_deref())
        .bind(r.page_id.as_deref())
        .bind(r.user_id.as_deref())
        .bind(scopes)
        .bind(r.issued_at_ms)
        .bind(r.expires_at_ms)
        .bind(r.data_access_expires_at_ms)
        .bind(r.last_refresh_at_ms)
        .bind(r.last_check_at_ms)
        .bind(&token.sealed.key_id)
        .bind(&token.sealed.nonce)
        .bind(&token.sealed.ciphertext)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// One token.
    pub async fn token(&self, key: TokenKey<'_>) -> Result<Option<StoredToken>, StoreError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM tokens WHERE app_id = $1 AND account_id = $2 AND kind = $3"
        ))
        .bind(key.app_id)
        .bind(key.account_id)
        .bind(name(&key.kind))
        .fetch_optional(self.pool())
        .await?;
        row.map(StoredToken::try_from).transpose()
    }

    /// An account's tokens.
    pub async fn tokens_of(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
    ) -> Result<Vec<StoredToken>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM tokens WHERE app_id = $1 AND account_id = $2 ORDER BY kind"
        ))
        .bind(app_id)
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        tokens(rows)
    }

    /// Tokens of active (or refreshing) accounts the pre-rotation job may have
    /// work for at `now_ms`: user tokens not expired yet that expire before
    /// `refresh_before_ms` and wait for no retry, or expire before
    /// `alert_before_ms` (their account may need flagging), and Page tokens not
    /// checked since `checked_before_ms`. Leased tokens are left out.
    pub async fn tokens_to_look_at(
        &self,
        now_ms: i64,
        refresh_before_ms: i64,
        alert_before_ms: i64,
        checked_before_ms: i64,
        limit: i64,
    ) -> Result<Vec<StoredToken>, StoreError> {
        let columns: Vec<String> = COLUMNS
            .split(", ")
            .map(|c| format!("t.{}", c.trim()))
            .collect();
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {} FROM tokens t JOIN accounts a ON a.app_id = t.app_id AND a.account_id = t.account_id \
             WHERE t.lease_until_ms < $1 AND a.state IN ('active', 'refreshing') AND \
             ((t.expires_at_ms IS NOT NULL AND t.expires_at_ms > $1 \
               AND ((t.expires_at_ms < $2 AND t.next_attempt_at_ms <= $1) OR t.expires_at_ms <= $3)) \
              OR (t.expires_at_ms IS NULL AND t.last_check_at_ms < $4)) \
             ORDER BY t.expires_at_ms LIMIT $5",
            columns.join(", ")
        ))
        .bind(now_ms)
        .bind(refresh_before_ms)
        .bind(alert_before_ms)
        .bind(checked_before_ms)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        tokens(rows)
    }
}
