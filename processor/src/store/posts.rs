//! Facebook Page posts and their latest publish status.

use graphhook_schema::output::PublishStatus;

use std::collections::HashSet;

use sqlx::Row;

use super::publications::final_states;
use serde_json::json;

use super::sql::{json_rows, name, rows_json, SqlType::*};
use super::{StoreError, StoreTx};
use crate::domain::ids::AppId;

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
        app_id: &AppId,
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
    /// Records Page posts' statuses `(app id, page id, status)`, in order, each only
    /// if it is newer (event time) than the stored one. Returns, for each, whether
    /// the stored status changed: late or repeated feed events change nothing and
    /// emit nothing. One statement per run of distinct posts; a post that comes
    /// again starts a new statement, so the result is the same as one at a time.
    pub async fn update_post_statuses(
        &mut self,
        posts: &[(&str, &str, PostStatus<'_>)],
    ) -> Result<Vec<bool>, StoreError> {
        let mut changed = Vec::with_capacity(posts.len());
        let mut start = 0;
        while start < posts.len() {
            let mut keys = HashSet::new();
            let end = posts[start..]
                .iter()
                .position(|(app_id, _, post)| !keys.insert((*app_id, post.post_id)))
                .map_or(posts.len(), |n| start + n);
            let written = self.upsert_posts(&posts[start..end]).await?;
            changed.extend(posts[start..end].iter().map(|(app_id, _, post)| {
                written.contains(&(app_id.to_string(), post.post_id.to_owned()))
            }));
            start = end;
        }
        Ok(changed)
    }

    /// Which of these Page posts `(app id, post id)` a publication made and is not
    /// done with (their `published` webhook confirms it).
    pub async fn posts_being_published(
        &mut self,
        posts: &[(&str, &str)],
    ) -> Result<HashSet<(String, String)>, StoreError> {
        let sql = format!(
            "SELECT app_id, post_id FROM publications WHERE (app_id, post_id) IN ({}) AND state NOT IN {}",
            json_rows(self.engine, 1, &[("app_id", Text), ("post_id", Text)]),
            final_states()
        );
        let rows = rows_json(
            posts
                .iter()
                .map(|(app_id, post_id)| json!({"app_id": app_id, "post_id": post_id})),
        );
        let mut found = HashSet::new();
        for row in sqlx::query(&sql)
            .bind(rows)
            .fetch_all(&mut *self.tx)
            .await?
        {
            found.insert((row.try_get("app_id")?, row.try_get("post_id")?));
        }
        Ok(found)
    }

    /// One upsert of distinct posts; returns the `(app id, post id)` it changed.
    async fn upsert_posts(
        &mut self,
        posts: &[(&str, &str, PostStatus<'_>)],
    ) -> Result<HashSet<(String, String)>, StoreError> {
        let sql = format!(
            "INSERT INTO page_posts (app_id, page_id, post_id, item, status, status_at_ms) {} \
             ON CONFLICT (app_id, post_id) DO UPDATE SET status = excluded.status, \
             item = COALESCE(excluded.item, page_posts.item), status_at_ms = excluded.status_at_ms \
             WHERE page_posts.status_at_ms < excluded.status_at_ms \
             OR (page_posts.status_at_ms = excluded.status_at_ms AND page_posts.status <> excluded.status) \
             RETURNING app_id, post_id",
            json_rows(
                self.engine,
                1,
                &[
                    ("app_id", Text),
                    ("page_id", Text),
                    ("post_id", Text),
                    ("item", Text),
                    ("status", Text),
                    ("at", BigInt),
                ]
            )
        );
        let rows = rows_json(posts.iter().map(|(app_id, page_id, post)| {
            json!({
                "app_id": app_id,
                "page_id": page_id,
                "post_id": post.post_id,
                "item": post.item,
                "status": name(&post.status),
                "at": post.at_ms,
            })
        }));
        let query = sqlx::query(&sql).bind(rows);
        let mut written = HashSet::with_capacity(posts.len());
        for row in query.fetch_all(&mut *self.tx).await? {
            written.insert((row.try_get("app_id")?, row.try_get("post_id")?));
        }
        Ok(written)
    }
}
