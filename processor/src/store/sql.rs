//! What every statement shares: many rows as one JSON parameter, and enums as
//! their snake_case text.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Engine, StoreError};

/// A column of a JSON row source ([`json_rows`]): its name and SQL type.
pub type Column = (&'static str, SqlType);

/// The SQL type of a [`Column`].
#[derive(Debug, Clone, Copy)]
pub enum SqlType {
    /// Text (a JSON string or null).
    Text,
    /// A 64-bit integer (a JSON number or null).
    BigInt,
}

/// `SELECT <columns> FROM` the rows of the JSON array of objects bound as
/// `$param` (`rows_json` writes it), to insert or match many rows in one
/// statement. Its text is the same for any number of rows, so each connection
/// parses and plans it once; a `VALUES` list of placeholders is a new statement
/// for every row count, parsed and planned each time, and binds a parameter per
/// value. Rows come out in the array's order.
pub fn json_rows(engine: Engine, param: usize, columns: &[Column]) -> String {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    match engine {
        Engine::Postgres => {
            let types: Vec<String> = columns
                .iter()
                .map(|(name, kind)| match kind {
                    SqlType::Text => format!("{name} text"),
                    SqlType::BigInt => format!("{name} bigint"),
                })
                .collect();
            format!(
                "SELECT {} FROM json_to_recordset(${param}::text::json) AS r({})",
                names.join(", "),
                types.join(", ")
            )
        }
        // `WHERE true`: SQLite reads `ON CONFLICT` after a bare `FROM` as a join.
        Engine::Sqlite => {
            let fields: Vec<String> = names
                .iter()
                .map(|name| format!("json_extract(value, '$.{name}') AS {name}"))
                .collect();
            format!(
                "SELECT {} FROM json_each(${param}) WHERE true ORDER BY key",
                fields.join(", ")
            )
        }
    }
}

/// The JSON array of row objects that [`json_rows`] reads.
pub(super) fn rows_json(rows: impl IntoIterator<Item = serde_json::Value>) -> String {
    serde_json::Value::Array(rows.into_iter().collect()).to_string()
}

/// Text form of a snake_case serde enum.
pub(super) fn name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub(super) fn parse<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| StoreError::Corrupt(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::{json_rows, rows_json, SqlType};
    use crate::store::Engine;

    #[test]
    fn json_rows_name_their_columns_on_both_engines() {
        let columns = [("id", SqlType::Text), ("at", SqlType::BigInt)];
        assert_eq!(
            json_rows(Engine::Postgres, 2, &columns),
            "SELECT id, at FROM json_to_recordset($2::text::json) AS r(id text, at bigint)"
        );
        assert_eq!(
            json_rows(Engine::Sqlite, 1, &columns),
            "SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.at') AS at \
             FROM json_each($1) WHERE true ORDER BY key"
        );
        let row = serde_json::json!({"id": "a\"b", "at": 1});
        let text = rows_json([row.clone()]);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).ok(),
            Some(serde_json::json!([row]))
        );
    }
}
