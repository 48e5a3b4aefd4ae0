//! Publications as stored. A tracker claims due publications with a lease and a
//! new fencing value (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one
//! writer), and every write of an owner checks the fence, so a replica that lost
//! its lease (paused, partitioned) cannot overwrite its successor's work.

use graphhook_schema::output::{PublicationError, PublishStatus};
use graphhook_schema::publishing::PublishRequest;

use super::transaction::parse;
use super::{Engine, Store, StoreError, StoreTx};
use crate::domain::publication::{Child, Publication};

const COLUMNS: &str = "app_id, account_id, request_id, kind, request, publish, state, held_from, container_id, \
    children, media_id, post_id, publish_sent, error_class, error_code, error_subcode, error_text, attempts, reads, \
    calls, created_at_ms, container_created_at_ms, last_not_ready_at_ms, ready_at_ms, done_at_ms, \
    next_action_at_ms, fence, reason";

#[derive(sqlx::FromRow)]
struct Row {
    app_id: String,
    account_id: String,
    request_id: String,
    request: String,
    publish: i64,
    state: String,
    held_from: Option<String>,
    container_id: Option<String>,
    children: String,
    media_id: Option<String>,
    post_id: Option<String>,
    publish_sent: i64,
    error_class: Option<String>,
    error_code: Option<i64>,
    error_subcode: Option<i64>,
    error_text: Option<String>,
    attempts: i64,
    reads: i64,
    calls: i64,
    created_at_ms: i64,
    container_created_at_ms: Option<i64>,
    last_not_ready_at_ms: Option<i64>,
    ready_at_ms: Option<i64>,
    done_at_ms: Option<i64>,
    next_action_at_ms: i64,
    fence: i64,
    reason: Option<String>,
}

impl TryFrom<Row> for Publication {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        let request: PublishRequest = serde_json::from_str(&row.request)
            .map_err(|_| StoreError::Corrupt(format!("publication {} request", row.request_id)))?;
        let children: Vec<Child> = serde_json::from_str(&row.children)
            .map_err(|_| StoreError::Corrupt(format!("publication {} children", row.request_id)))?;
        Ok(Publication {
            kind: request.kind,
            app_id: row.app_id,
            account_id: row.account_id,
            request_id: row.request_id,
            request,
            publish: row.publish != 0,
            state: parse(&row.state)?,
            held_from: row.held_from.as_deref().map(parse).transpose()?,
            container_id: row.container_id,
            children,
            media_id: row.media_id,
            post_id: row.post_id,
            publish_sent: row.publish_sent != 0,
            error: match row.error_class {
                Some(class) => Some(PublicationError {
                    class: parse(&class)?,
                    code: row.error_code,
                    subcode: row.error_subcode,
                    text: row.error_text,
                }),
                None => None,
            },
            attempts: row.attempts,
            reads: row.reads,
            calls: row.calls,
            created_at_ms: row.created_at_ms,
            container_created_at_ms: row.container_created_at_ms,
            last_not_ready_at_ms: row.last_not_ready_at_ms,
            ready_at_ms: row.ready_at_ms,
            done_at_ms: row.done_at_ms,
            next_action_at_ms: row.next_action_at_ms,
            fence: row.fence,
            reason: row.reason,
        })
    }
}

fn publications(rows: Vec<Row>) -> Result<Vec<Publication>, StoreError> {
    rows.into_iter().map(Publication::try_from).collect()
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The states a tracker never acts on again.
pub(super) const FINAL: &str = "('published', 'failed', 'expired')";

impl StoreTx {
    /// Stores a new publication; `false` when one with its request id exists (the
    /// same request twice is one publication).
    pub async fn insert_publication(
        &mut self,
        p: &Publication,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(&format!(
            "INSERT INTO publications ({COLUMNS}, lease_owner, lease_until_ms, updated_at_ms) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8, NULL, NULL, 0, NULL, NULL, NULL, NULL, 0, 0, 0, $9, \
              NULL, NULL, NULL, NULL, $10, 0, NULL, NULL, 0, $9) ON CONFLICT (app_id, account_id, request_id) DO NOTHING"
        ))
        .bind(&p.app_id)
        .bind(&p.account_id)
        .bind(&p.request_id)
        .bind(p.kind.as_str())
        .bind(json(&p.request)?)
        .bind(i64::from(p.publish))
        .bind(p.state.as_str())
        .bind(json(&p.children)?)
        .bind(now_ms)
        .bind(p.next_action_at_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// One publication.
    pub async fn publication(
        &mut self,
        app_id: &str,
        account_id: &str,
        request_id: &str,
    ) -> Result<Option<Publication>, StoreError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM publications WHERE app_id = $1 AND account_id = $2 AND request_id = $3"
        ))
        .bind(app_id)
        .bind(account_id)
        .bind(request_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(Publication::try_from).transpose()
    }

    /// The publication that made Page post `post_id`, if one did and is not done.
    pub async fn publication_of_post(
        &mut self,
        app_id: &str,
        post_id: &str,
    ) -> Result<Option<Publication>, StoreError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM publications WHERE app_id = $1 AND post_id = $2 AND state NOT IN {FINAL}"
        ))
        .bind(app_id)
        .bind(post_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(Publication::try_from).transpose()
    }

    /// Writes `p` if its fence is still current; the fence moves on to
    /// `p.fence + bump`. `false` when another owner took the publication since.
    pub async fn save_publication(
        &mut self,
        p: &Publication,
        bump: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let error = p.error.as_ref();
        let updated = sqlx::query(
            "UPDATE publications SET publish = $1, state = $2, held_from = $3, container_id = $4, children = $5, \
             media_id = $6, post_id = $7, publish_sent = $8, error_class = $9, error_code = $10, error_subcode = $11, \
             error_text = $12, attempts = $13, reads = $14, calls = $15, container_created_at_ms = $16, \
             last_not_ready_at_ms = $17, ready_at_ms = $18, done_at_ms = $19, next_action_at_ms = $20, \
             fence = $21, updated_at_ms = $22, reason = $27 \
             WHERE app_id = $23 AND account_id = $24 AND request_id = $25 AND fence = $26",
        )
        .bind(i64::from(p.publish))
        .bind(p.state.as_str())
        .bind(p.held_from.map(PublishStatus::as_str))
        .bind(p.container_id.as_deref())
        .bind(json(&p.children)?)
        .bind(p.media_id.as_deref())
        .bind(p.post_id.as_deref())
        .bind(i64::from(p.publish_sent))
        .bind(error.map(|e| e.class.as_str()))
        .bind(error.and_then(|e| e.code))
        .bind(error.and_then(|e| e.subcode))
        .bind(error.and_then(|e| e.text.as_deref()))
        .bind(p.attempts)
        .bind(p.reads)
        .bind(p.calls)
        .bind(p.container_created_at_ms)
        .bind(p.last_not_ready_at_ms)
        .bind(p.ready_at_ms)
        .bind(p.done_at_ms)
        .bind(p.next_action_at_ms)
        .bind(p.fence + bump)
        .bind(now_ms)
        .bind(&p.app_id)
        .bind(&p.account_id)
        .bind(&p.request_id)
        .bind(p.fence)
        .bind(p.reason.as_deref())
        .execute(&mut *self.tx)
        .await?;
        Ok(updated.rows_affected() == 1)
    }
}

impl Store {
    /// Claims up to `limit` publications due at `now_ms` for `owner` until
    /// `lease_until_ms`, each with a new fencing value (returned in them).
    pub async fn claim_publications(
        &self,
        owner: &str,
        now_ms: i64,
        lease_until_ms: i64,
        limit: i64,
    ) -> Result<Vec<Publication>, StoreError> {
        let skip_locked = match self.engine() {
            Engine::Postgres => "FOR UPDATE SKIP LOCKED",
            Engine::Sqlite => "",
        };
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "UPDATE publications SET lease_owner = $1, lease_until_ms = $2, fence = fence + 1 \
             WHERE (app_id, account_id, request_id) IN (SELECT app_id, account_id, request_id FROM publications \
               WHERE next_action_at_ms <= $3 AND lease_until_ms < $3 AND state NOT IN {FINAL} \
               ORDER BY next_action_at_ms LIMIT $4 {skip_locked}) \
             RETURNING {COLUMNS}"
        ))
        .bind(owner)
        .bind(lease_until_ms)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        publications(rows)
    }

    /// Gives up a lease (the fence stays: a later owner gets a new one).
    pub async fn release_publication(
        &self,
        p: &Publication,
        owner: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE publications SET lease_owner = NULL, lease_until_ms = 0 \
             WHERE app_id = $1 AND account_id = $2 AND request_id = $3 AND lease_owner = $4",
        )
        .bind(&p.app_id)
        .bind(&p.account_id)
        .bind(&p.request_id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// One publication.
    pub async fn publication(
        &self,
        app_id: &str,
        account_id: &str,
        request_id: &str,
    ) -> Result<Option<Publication>, StoreError> {
        let mut tx = self.begin().await?;
        tx.publication(app_id, account_id, request_id).await
    }

    /// An account's publications (in `state`, if given) by request id, after
    /// `after`.
    pub async fn publications_of(
        &self,
        app_id: &str,
        account_id: &str,
        state: Option<PublishStatus>,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Publication>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM publications WHERE app_id = $1 AND account_id = $2 \
             AND ($3 = '' OR state = $3) AND request_id > $4 ORDER BY request_id LIMIT $5"
        ))
        .bind(app_id)
        .bind(account_id)
        .bind(state.map_or("", PublishStatus::as_str))
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        publications(rows)
    }

    /// When the earliest open publication is due, if any (simulations jump to it).
    pub async fn next_publication_action(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT MIN(next_action_at_ms) FROM publications WHERE state NOT IN {FINAL}"
        ))
        .fetch_one(self.pool())
        .await?)
    }

    /// Publications by state (the metric).
    pub async fn publication_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT state, COUNT(*) FROM publications GROUP BY state")
                .fetch_all(self.pool())
                .await?,
        )
    }
}
