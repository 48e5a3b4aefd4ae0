//! Publications as stored. A tracker claims due publications with a lease and a
//! new fencing value (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one
//! writer), and every write of an owner checks the fence, so a replica that lost
//! its lease (paused, partitioned) cannot overwrite its successor's work.

mod row;

use graphhook_schema::output::PublishStatus;

use super::{Engine, Store, StoreError, StoreTx};
use crate::domain::ids::{AccountId, AppId, RequestId};
use crate::domain::publication::Publication;
pub(in crate::store) use row::final_states;
use row::{json, publications, save_statement, saved_columns, Row, COLUMNS};

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
        .bind(p.app_id.as_str())
        .bind(p.account_id.as_str())
        .bind(p.request_id.as_str())
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
        app_id: &AppId,
        account_id: &AccountId,
        request_id: &RequestId,
    ) -> Result<Option<Publication>, StoreError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM publications WHERE app_id = $1 AND account_id = $2 AND request_id = $3"
        ))
        .bind(app_id.as_str())
        .bind(account_id.as_str())
        .bind(request_id.as_str())
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(Publication::try_from).transpose()
    }

    /// The publication that made Page post `post_id`, if one did and is not done.
    pub async fn publication_of_post(
        &mut self,
        app_id: &AppId,
        post_id: &str,
    ) -> Result<Option<Publication>, StoreError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM publications WHERE app_id = $1 AND post_id = $2 AND state NOT IN {}",
            final_states()
        ))
        .bind(app_id.as_str())
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
        let saved = saved_columns(p, bump, now_ms)?;
        let key = [
            p.app_id.as_str(),
            p.account_id.as_str(),
            p.request_id.as_str(),
        ];
        let sql = save_statement(&saved);
        let mut query = sqlx::query(&sql);
        for (_, value) in saved {
            query = value.bind_to(query);
        }
        let updated = query
            .bind(key[0])
            .bind(key[1])
            .bind(key[2])
            .bind(p.fence)
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
               WHERE next_action_at_ms <= $3 AND lease_until_ms < $3 AND state NOT IN {} \
               ORDER BY next_action_at_ms LIMIT $4 {skip_locked}) \
             RETURNING {COLUMNS}",
            final_states()
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
        .bind(p.app_id.as_str())
        .bind(p.account_id.as_str())
        .bind(p.request_id.as_str())
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// One publication.
    pub async fn publication(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
        request_id: &RequestId,
    ) -> Result<Option<Publication>, StoreError> {
        let mut tx = self.begin().await?;
        tx.publication(app_id, account_id, request_id).await
    }

    /// An account's publications (in `state`, if given) by request id, after
    /// `after`.
    pub async fn publications_of(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
        state: Option<PublishStatus>,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Publication>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM publications WHERE app_id = $1 AND account_id = $2 \
             AND ($3 = '' OR state = $3) AND request_id > $4 ORDER BY request_id LIMIT $5"
        ))
        .bind(app_id.as_str())
        .bind(account_id.as_str())
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
            "SELECT MIN(next_action_at_ms) FROM publications WHERE state NOT IN {}",
            final_states()
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
