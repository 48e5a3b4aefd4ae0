//! The call budget as stored, per app (scope `app`) and per business object (scope
//! `object`): what Meta's headers and throttle answers said, shared by every
//! replica.

use serde_json::json;

use super::sql::{json_rows, rows_json, SqlType::*};
use super::{Store, StoreError};
use crate::domain::budget::{BudgetState, Observation, Scope};
use crate::domain::ids::AppId;

/// The kind written for an observation that said no usage: the row keeps the
/// usage and kind it had.
const NO_USAGE: &str = "throttle";

fn scope(scope: &Scope) -> (&'static str, &str) {
    match scope {
        Scope::App => ("app", ""),
        Scope::Object(id) => ("object", id.as_str()),
    }
}

impl Store {
    /// The budgets of `app_id` and of its object `object_id`.
    pub async fn budgets(
        &self,
        app_id: &AppId,
        object_id: &str,
    ) -> Result<(Option<BudgetState>, Option<BudgetState>), StoreError> {
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT scope, usage_permille, held_until_ms, next_call_at_ms FROM graph_budget \
             WHERE app_id = $1 AND ((scope = 'app' AND object_id = '') OR (scope = 'object' AND object_id = $2))",
        )
        .bind(app_id)
        .bind(object_id)
        .fetch_all(self.pool())
        .await?;
        let mut app = None;
        let mut object = None;
        for (scope, usage_permille, held_until_ms, next_call_at_ms) in rows {
            let state = Some(BudgetState {
                usage_permille,
                held_until_ms,
                next_call_at_ms,
            });
            if scope == "app" {
                app = state;
            } else {
                object = state;
            }
        }
        Ok((app, object))
    }

    /// Records what one answer said, in one statement: `observations` must hold
    /// one per scope (see `domain::budget::merged`; PostgreSQL updates a row once
    /// per statement). A hold is never shortened; an observation without a usage
    /// (a throttle answer alone) leaves the recorded usage and kind as they were.
    pub async fn record_budgets(
        &self,
        app_id: &AppId,
        observations: &[Observation],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if observations.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO graph_budget (app_id, scope, object_id, kind, usage_permille, held_until_ms, updated_at_ms, next_call_at_ms) \
             {} ON CONFLICT (app_id, scope, object_id) DO UPDATE SET \
             updated_at_ms = excluded.updated_at_ms, \
             kind = CASE WHEN excluded.kind = '{NO_USAGE}' THEN graph_budget.kind ELSE excluded.kind END, \
             usage_permille = CASE WHEN excluded.kind = '{NO_USAGE}' THEN graph_budget.usage_permille \
               ELSE excluded.usage_permille END, \
             held_until_ms = CASE WHEN excluded.held_until_ms > graph_budget.held_until_ms \
               THEN excluded.held_until_ms ELSE graph_budget.held_until_ms END",
            json_rows(
                self.engine(),
                1,
                &[
                    ("app_id", Text),
                    ("scope", Text),
                    ("object_id", Text),
                    ("kind", Text),
                    ("usage", BigInt),
                    ("held_until", BigInt),
                    ("updated_at", BigInt),
                    ("next_call_at", BigInt),
                ]
            )
        );
        let rows = rows_json(observations.iter().map(|observation| {
            let (scope, object_id) = scope(&observation.scope);
            let kind = match observation.usage_permille {
                Some(_) => observation.kind.as_str(),
                None => NO_USAGE,
            };
            json!({
                "app_id": app_id,
                "scope": scope,
                "object_id": object_id,
                "kind": kind,
                "usage": observation.usage_permille.unwrap_or(0),
                "held_until": observation.held_until_ms.unwrap_or(0),
                "updated_at": now_ms,
                "next_call_at": 0,
            })
        }));
        sqlx::query(&sql).bind(rows).execute(self.pool()).await?;
        Ok(())
    }

    /// Takes the next call slot of a spaced-out budget: `true` when it was due
    /// (`next_call_at_ms <= now_ms`) and is now moved `spacing_ms` ahead; `false`
    /// when another replica took it first.
    pub async fn take_call_slot(
        &self,
        app_id: &AppId,
        scope_of: &Scope,
        now_ms: i64,
        spacing_ms: i64,
    ) -> Result<bool, StoreError> {
        let (scope, object_id) = scope(scope_of);
        let updated = sqlx::query(
            "UPDATE graph_budget SET next_call_at_ms = $1 WHERE app_id = $2 AND scope = $3 AND object_id = $4 \
             AND next_call_at_ms <= $5",
        )
        .bind(now_ms + spacing_ms)
        .bind(app_id)
        .bind(scope)
        .bind(object_id)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// How many business objects (accounts) are held at `now_ms`.
    pub async fn held_objects(&self, now_ms: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM graph_budget WHERE scope = 'object' AND held_until_ms > $1",
        )
        .bind(now_ms)
        .fetch_one(self.pool())
        .await?)
    }
}
