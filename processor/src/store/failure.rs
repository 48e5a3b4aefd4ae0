//! What a store failure means, decided in one place: either the database or the
//! connection to it is having trouble (retry with backoff: the record is fine), or
//! the database refused what a record asked it to store (dead-letter that record:
//! retrying can never succeed).
//!
//! PostgreSQL: SQLSTATE classes 22 (data exception, e.g. a NUL character), 23
//! (integrity constraint violation) and 54 (program limit exceeded, e.g. an index
//! row too large) are the record's content. Connection exceptions (08),
//! transaction rollbacks such as serialization failures and deadlocks (40),
//! insufficient resources (53), operator intervention (57) and lock timeouts
//! (55P03) are transient, as is everything else: a failure that is not provably
//! the record's fault stalls the partition loudly rather than dead-lettering good
//! records. SQLite: constraint (19), too big (18) and type mismatch (20) are
//! content; busy, locked, I/O and the rest are transient.

use sqlx::error::DatabaseError;
use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::SqliteError;

use super::StoreError;

/// What to do about a failed store operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Retry later; the database or the connection failed.
    Transient,
    /// The database refused a record's content; the text says why without quoting
    /// the content (an SQLSTATE or SQLite code and the constraint, if any).
    Refused(String),
}

impl StoreError {
    /// Whether retrying can help, or the database refused the content.
    pub fn disposition(&self) -> Disposition {
        match self {
            StoreError::Query(error) => sqlx_disposition(error),
            _ => Disposition::Transient,
        }
    }
}

fn sqlx_disposition(error: &sqlx::Error) -> Disposition {
    match error {
        sqlx::Error::Database(database) => database_disposition(database.as_ref()),
        sqlx::Error::Encode(_) => {
            Disposition::Refused("a value cannot be encoded for the database".to_owned())
        }
        _ => Disposition::Transient,
    }
}

fn database_disposition(error: &dyn DatabaseError) -> Disposition {
    if let Some(pg) = error.try_downcast_ref::<PgDatabaseError>() {
        let code = pg.code();
        return match pg_is_content(code) {
            true => Disposition::Refused(describe(&format!("SQLSTATE {code}"), pg.constraint())),
            false => Disposition::Transient,
        };
    }
    if let Some(sqlite) = error.try_downcast_ref::<SqliteError>() {
        let code = sqlite
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .unwrap_or(0);
        return match sqlite_is_content(code) {
            true => Disposition::Refused(describe(&format!("SQLite error {code}"), None)),
            false => Disposition::Transient,
        };
    }
    Disposition::Transient
}

fn describe(code: &str, constraint: Option<&str>) -> String {
    match constraint {
        Some(name) => format!("the database refused its content ({code}, constraint {name})"),
        None => format!("the database refused its content ({code})"),
    }
}

/// Whether a PostgreSQL SQLSTATE says the statement's data was refused.
pub fn pg_is_content(sqlstate: &str) -> bool {
    matches!(sqlstate.get(..2), Some("22" | "23" | "54"))
}

/// Whether an SQLite extended result code says the statement's data was refused.
pub fn sqlite_is_content(code: i32) -> bool {
    const TOOBIG: i32 = 18;
    const CONSTRAINT: i32 = 19;
    const MISMATCH: i32 = 20;
    matches!(code & 0xff, TOOBIG | CONSTRAINT | MISMATCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_data_and_constraint_classes_are_content_the_rest_transient() {
        for content in ["22021", "22001", "23505", "23514", "54000"] {
            assert!(pg_is_content(content), "{content}");
        }
        for transient in [
            "08006", "40001", "40P01", "53300", "57P01", "55P03", "42P01", "XX000",
        ] {
            assert!(!pg_is_content(transient), "{transient}");
        }
    }

    #[test]
    fn sqlite_constraint_size_and_type_errors_are_content_busy_is_not() {
        assert!(sqlite_is_content(19));
        assert!(sqlite_is_content(1811), "SQLITE_CONSTRAINT_TRIGGER");
        assert!(sqlite_is_content(18));
        assert!(!sqlite_is_content(5), "SQLITE_BUSY");
        assert!(!sqlite_is_content(6), "SQLITE_LOCKED");
        assert!(!sqlite_is_content(10), "SQLITE_IOERR");
    }

    #[test]
    fn pool_timeouts_and_lost_connections_are_transient() {
        let timeout = StoreError::Query(sqlx::Error::PoolTimedOut);
        assert_eq!(timeout.disposition(), Disposition::Transient);
        let io = StoreError::Query(sqlx::Error::Io(std::io::Error::other("reset")));
        assert_eq!(io.disposition(), Disposition::Transient);
    }
}
