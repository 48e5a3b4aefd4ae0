//! The processor's SQL store, on PostgreSQL (production) or SQLite (embedded),
//! through sqlx's runtime-chosen `Any` driver. Migrations live under `migrations/`,
//! one folder per engine.
//!
//! Queries are written once for both engines. The `Any` driver passes SQL through
//! unchanged: PostgreSQL numbers `$1..$n` by position, SQLite treats them as named
//! parameters numbered by first appearance, so every query must introduce its
//! placeholders in ascending order.
//!
//! One module per aggregate: `accounts` (with their batch forms, the admin
//! API's registrations and data deletion), `cache`, `posts`, `publications`,
//! `tokens`, `budget`, `events` (event ids applied) and `outbox`; `transaction`
//! and `sql` are what they share.

mod accounts;
mod budget;
mod cache;
mod events;
mod failure;
mod ids;
mod outbox;
mod posts;
mod publications;
mod sql;
mod tokens;
mod transaction;

use std::sync::Arc;

use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::AnyPool;
use tokio::sync::Notify;

pub use accounts::{
    AccountKey, AccountRow, DeletionStatus, Registration, TransitionRow, TransitionToSave,
};
pub use cache::{MetricsEntry, MetricsKey};
pub use failure::{pg_is_content, sqlite_is_content, Disposition};
pub use outbox::{OutboxClaim, OutboxEntry, OutboxRow};
pub use posts::PostStatus;
pub use sql::{json_rows, Column, SqlType};
pub use tokens::{StoredToken, TokenKey, TokenRecord};
pub use transaction::StoreTx;

static POSTGRES: Migrator = sqlx::migrate!("../migrations/postgres");
static SQLITE: Migrator = sqlx::migrate!("../migrations/sqlite");

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported engine.
    #[error("unsupported database URL scheme {0:?}: use postgres:// or sqlite://")]
    UnsupportedScheme(String),
    /// Connecting failed.
    #[error("cannot connect to the {engine} database")]
    Connect {
        /// `postgres` or `sqlite`.
        engine: &'static str,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
    /// Applying migrations failed.
    #[error("cannot apply migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed: the database may be down (retry), or it refused what it was
    /// asked to store (see [`StoreError::disposition`]).
    #[error("database query failed")]
    Query(#[from] sqlx::Error),
    /// A stored value cannot be read back.
    #[error("stored value {0:?} is not valid")]
    Corrupt(String),
}

/// The database engine in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

/// A connection pool with graphhook's schema.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
    /// Signalled after a commit that wrote outbox rows for the relay to send; the
    /// relay of this store waits on it (see [`Store::outbox_signal`]).
    outbox_written: Arc<Notify>,
}

impl Store {
    /// Connects to `url` (`postgres://...` or `sqlite://path?mode=rwc`).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        install_default_drivers();
        let scheme = url.split(':').next().unwrap_or_default();
        let engine = match scheme {
            "postgres" | "postgresql" => Engine::Postgres,
            "sqlite" => Engine::Sqlite,
            other => return Err(StoreError::UnsupportedScheme(other.to_owned())),
        };
        // SQLite allows one writer; a single connection avoids SQLITE_BUSY.
        let connections = if engine == Engine::Sqlite {
            1
        } else {
            max_connections.max(1)
        };
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .connect(url)
            .await
            .map_err(|source| StoreError::Connect {
                engine: engine.name(),
                source,
            })?;
        Ok(Store {
            pool,
            engine,
            outbox_written: Arc::new(Notify::new()),
        })
    }

    /// Applies the engine's pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.engine {
            Engine::Postgres => &POSTGRES,
            Engine::Sqlite => &SQLITE,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Says that committed outbox rows wait to be sent: the relay waiting on
    /// [`Store::outbox_signal`] starts a round. How the admin API and the jobs
    /// hand their records over without holding the relay.
    pub fn outbox_written(&self) {
        self.outbox_written.notify_one();
    }

    /// What the relay waits on between rounds.
    pub fn outbox_signal(&self) -> Arc<Notify> {
        Arc::clone(&self.outbox_written)
    }

    pub(super) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Answers when the database does (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Tests only: runs a statement as is (to set up what a test needs, such as a
    /// constraint that makes the database refuse a record).
    #[cfg(feature = "testing")]
    pub async fn execute_for_tests(&self, sql: &str) -> Result<(), StoreError> {
        sqlx::query(sql).execute(&self.pool).await?;
        Ok(())
    }

    /// Tests only: prepares a statement without running it (the database checks
    /// its syntax, tables and columns).
    #[cfg(feature = "testing")]
    pub async fn prepare_for_tests(&self, sql: &str) -> Result<(), StoreError> {
        use sqlx::Executor;
        self.pool.prepare(sql).await?;
        Ok(())
    }

    /// The engine in use.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Starts a transaction: an event's effects and its id commit together.
    pub async fn begin(&self) -> Result<StoreTx, StoreError> {
        Ok(StoreTx::new(self.pool.begin().await?, self.engine))
    }
}

impl Engine {
    /// `postgres` or `sqlite`.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Sqlite => "sqlite",
        }
    }
}
