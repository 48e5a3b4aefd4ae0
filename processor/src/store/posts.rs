//! Facebook Page posts and their latest publish status.

use graphhook_schema::output::PublishStatus;

use super::transaction::name;
use super::{StoreError, StoreTx};

/// A Page post's status at an event time.
#[derive(Debug, Clone, Copy)]
pub struct PostStatus<'a> {
    /// The post id.
    pub post_id: &'a str,
    /// The feed item (`status`, `photo`, ...).
    pub item: Option<&'a str>,
    /// The status.
    pub status: PublishStatus,
    /// Event time, epoch milliseconds.
    pub at_ms: i64,
}

impl super::Store {
    /// Whether the Page post's `feed` webhook said it is published.
    pub async fn page_post_published(
        &self,
        app_id: &str,
        post_id: &str,
    ) -> Result<bool, StoreError> {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM page_posts WHERE app_id = $1 AND post_id = $2")
                .bind(app_id)
                .bind(post_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(status.as_deref() == Some("published"))
    }
}

impl StoreTx {
    /// Records a Page post's status if it is newer (event time) than the stored one.
    /// `true` when the stored status changed: late or repeated feed events change
    /// nothing and emit nothing.
    pub async fn update_post_status(
        &mut self,
        app_id: &str,
        page_id: &str,
        post: &PostStatus<'_>,
    ) -> Result<bool, StoreError> {
        let status = name(&post.status);
        let inserted = sqlx::query(
            "INSERT INTO page_posts (app_id, page_id, post_id, item, status, status_at_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (app_id, post_id) DO NOTHING",
        )
        .bind(app_id)
        .bind(page_id)
        .bind(post.post_id)
        .bind(post.item)
        .bind(&status)
        .bind(post.at_ms)
        .execute(&mut *self.tx)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(true);
        }
        let updated = sqlx::query(
            "UPDATE page_posts SET status = $1, item = COALESCE($2, item), status_at_ms = $3 \
             WHERE app_id = $4 AND post_id = $5 AND (status_at_ms < $3 OR (status_at_ms = $3 AND status <> $1))",
        )
        .bind(&status)
        .bind(post.item)
        .bind(post.at_ms)
        .bind(app_id)
        .bind(post.post_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(updated.rows_affected() == 1)
    }
}
