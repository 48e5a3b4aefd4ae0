//! A publication as a row: the columns read, and the columns a save writes,
//! each value named beside its column.

use std::sync::LazyLock;

use graphhook_schema::output::{PublicationError, PublishStatus};
use graphhook_schema::publishing::PublishRequest;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

use crate::domain::ids::{ContainerId, MediaId};
use crate::domain::publication::{Child, Publication};
use crate::store::sql::parse;
use crate::store::StoreError;

pub(super) const COLUMNS: &str = "app_id, account_id, request_id, kind, request, publish, state, held_from, container_id, \
    children, media_id, post_id, publish_sent, error_class, error_code, error_subcode, error_text, attempts, reads, \
    calls, created_at_ms, container_created_at_ms, last_not_ready_at_ms, ready_at_ms, done_at_ms, \
    next_action_at_ms, fence, reason";

#[derive(sqlx::FromRow)]
pub(super) struct Row {
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
            app_id: row.app_id.into(),
            account_id: row.account_id.into(),
            request_id: row.request_id.into(),
            request,
            publish: row.publish != 0,
            state: parse(&row.state)?,
            held_from: row.held_from.as_deref().map(parse).transpose()?,
            container_id: row.container_id.map(ContainerId::from),
            children,
            media_id: row.media_id.map(MediaId::from),
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

pub(super) fn publications(rows: Vec<Row>) -> Result<Vec<Publication>, StoreError> {
    rows.into_iter().map(Publication::try_from).collect()
}

pub(super) fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// `('published', 'failed', ...)`: the states a tracker never acts on again
/// ([`PublishStatus::is_final`]), as an SQL list.
pub(in crate::store) fn final_states() -> &'static str {
    static FINAL: LazyLock<String> = LazyLock::new(|| {
        let names: Vec<String> = PublishStatus::PUBLICATION
            .iter()
            .filter(|status| status.is_final())
            .map(|status| format!("'{}'", status.as_str()))
            .collect();
        format!("({})", names.join(", "))
    });
    &FINAL
}

/// A value a save binds.
pub(super) enum Value<'a> {
    /// An integer column.
    Int(Option<i64>),
    /// A text column.
    Text(Option<&'a str>),
    /// A text column computed for the save (JSON).
    Owned(String),
}

impl<'a> Value<'a> {
    /// Binds this value as the query's next parameter.
    pub(super) fn bind_to(
        self,
        query: Query<'a, Any, AnyArguments<'a>>,
    ) -> Query<'a, Any, AnyArguments<'a>> {
        match self {
            Value::Int(value) => query.bind(value),
            Value::Text(value) => query.bind(value),
            Value::Owned(value) => query.bind(value),
        }
    }
}

/// The columns a save writes, each with its value: the fence moves on by `bump`.
pub(super) fn saved_columns(
    p: &Publication,
    bump: i64,
    now_ms: i64,
) -> Result<Vec<(&'static str, Value<'_>)>, StoreError> {
    use Value::{Int, Owned, Text};
    let error = p.error.as_ref();
    Ok(vec![
        ("publish", Int(Some(i64::from(p.publish)))),
        ("state", Text(Some(p.state.as_str()))),
        ("held_from", Text(p.held_from.map(PublishStatus::as_str))),
        ("container_id", Text(p.container_id.as_deref())),
        ("children", Owned(json(&p.children)?)),
        ("media_id", Text(p.media_id.as_deref())),
        ("post_id", Text(p.post_id.as_deref())),
        ("publish_sent", Int(Some(i64::from(p.publish_sent)))),
        ("error_class", Text(error.map(|e| e.class.as_str()))),
        ("error_code", Int(error.and_then(|e| e.code))),
        ("error_subcode", Int(error.and_then(|e| e.subcode))),
        ("error_text", Text(error.and_then(|e| e.text.as_deref()))),
        ("attempts", Int(Some(p.attempts))),
        ("reads", Int(Some(p.reads))),
        ("calls", Int(Some(p.calls))),
        ("container_created_at_ms", Int(p.container_created_at_ms)),
        ("last_not_ready_at_ms", Int(p.last_not_ready_at_ms)),
        ("ready_at_ms", Int(p.ready_at_ms)),
        ("done_at_ms", Int(p.done_at_ms)),
        ("next_action_at_ms", Int(Some(p.next_action_at_ms))),
        ("fence", Int(Some(p.fence + bump))),
        ("updated_at_ms", Int(Some(now_ms))),
        ("reason", Text(p.reason.as_deref())),
    ])
}

/// `UPDATE publications SET <column> = $n, ... WHERE <key> AND fence = $m`:
/// the saved columns in order, then app, account, request id and the fence
/// read.
pub(super) fn save_statement(saved: &[(&'static str, Value<'_>)]) -> String {
    let mut sql = String::from("UPDATE publications SET ");
    for (n, (column, _)) in saved.iter().enumerate() {
        if n > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("{column} = ${}", n + 1));
    }
    let next = saved.len();
    sql.push_str(&format!(
        " WHERE app_id = ${} AND account_id = ${} AND request_id = ${} AND fence = ${}",
        next + 1,
        next + 2,
        next + 3,
        next + 4
    ));
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_states_are_those_publish_status_calls_final() {
        assert_eq!(final_states(), "('published', 'failed', 'expired')");
    }

    #[test]
    fn a_save_numbers_its_columns_then_the_key_and_the_fence() {
        let saved = [
            ("publish", Value::Int(Some(1))),
            ("reason", Value::Text(None)),
        ];
        assert_eq!(
            save_statement(&saved),
            "UPDATE publications SET publish = $1, reason = $2 \
             WHERE app_id = $3 AND account_id = $4 AND request_id = $5 AND fence = $6"
        );
    }
}
