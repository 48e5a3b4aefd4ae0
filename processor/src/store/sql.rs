//! What every statement shares: multi-row placeholders, chunk sizes, and enums
//! as their snake_case text. Placeholders are numbered in ascending order (see
//! the module note on SQLite), and rows are sent in chunks well under both
//! engines' parameter limits.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StoreError;

/// Rows per statement: a batch of 500 events is one statement per table. The
/// widest statement binds 9 columns a row, 9,000 parameters, under SQLite's
/// 32,766 and PostgreSQL's 65,535.
pub(super) const CHUNK: usize = 1_000;

/// `($1, $2, ...), ($k, ...)` for `rows` rows of `columns` placeholders each, with
/// `literal` appended inside every tuple (e.g. `, 0`).
pub(super) fn tuples(rows: usize, columns: usize, literal: &str) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * columns + column + 1).to_string());
        }
        sql.push_str(literal);
        sql.push(')');
    }
    sql
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
    use super::tuples;

    #[test]
    fn placeholders_ascend_through_rows() {
        assert_eq!(tuples(2, 3, ""), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(tuples(1, 2, ", 0"), "($1, $2, 0)");
    }
}
