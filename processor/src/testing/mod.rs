//! Test hooks, compiled only with the `testing` feature (release builds do not
//! enable it): crash points of the consumer loop and fresh databases for tests and
//! benchmarks.

use sqlx::Connection;

pub mod fake_graph;
pub mod stack;

/// Where a test makes the consumer loop stop as if the process had been killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// After the database commit, before the outputs are relayed.
    AfterDatabaseCommit,
    /// After the outputs are acknowledged, before the offsets are committed.
    AfterRelay,
}

/// A new, empty SQLite database file in the temp directory, as a URL.
pub fn temp_sqlite_url() -> String {
    let dir = std::env::temp_dir().join(format!("graphhook-{}", unique()));
    let _ = std::fs::create_dir_all(&dir);
    format!("sqlite://{}?mode=rwc", dir.join("store.db").display())
}

/// Creates a new database on the PostgreSQL server of `admin_url` and returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> Result<String, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let name = format!("graphhook_test_{}", unique());
    let mut admin = sqlx::AnyConnection::connect(admin_url).await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

/// The database tests should use: a fresh PostgreSQL database when `DATABASE_URL`
/// is set, else a fresh SQLite file.
pub async fn test_database_url() -> Result<String, sqlx::Error> {
    match std::env::var("DATABASE_URL") {
        Ok(url) => fresh_postgres_database(&url).await,
        Err(_) => Ok(temp_sqlite_url()),
    }
}

/// A fresh database on every engine tests run on: SQLite always, PostgreSQL too
/// when `DATABASE_URL` is set.
pub async fn test_database_urls() -> Result<Vec<String>, sqlx::Error> {
    let mut urls = vec![temp_sqlite_url()];
    if let Ok(url) = std::env::var("DATABASE_URL") {
        urls.push(fresh_postgres_database(&url).await?);
    }
    Ok(urls)
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}_{nanos:x}_{n}", std::process::id())
}

/// Plans and applies `events` in one unit of work and commits it, as the consumer
/// does for a run of events; returns what it did (tests compare batches with events
/// applied one at a time).
pub async fn apply_events(
    store: &crate::store::Store,
    topics: &graphhook_kafka::Topics,
    events: &[graphhook_schema::InboundEvent],
    now_ms: i64,
) -> Result<crate::report::WorkReport, crate::unit_of_work::WorkError> {
    let mut uow = crate::unit_of_work::UnitOfWork::begin(store, topics, now_ms).await?;
    let mut planned = Vec::with_capacity(events.len());
    for event in events {
        planned.push((event.clone(), crate::domain::plan::plan(event)?));
    }
    crate::pipeline::handler::handle_events(&mut uow, &planned).await?;
    Ok(uow.commit().await?.report)
}

/// Applies a Graph error report (identified by `source_id`) in one unit of work.
pub async fn apply_graph_error(
    store: &crate::store::Store,
    topics: &graphhook_kafka::Topics,
    report: &graphhook_schema::output::GraphErrorReport,
    source_id: &str,
    now_ms: i64,
) -> Result<crate::report::WorkReport, crate::unit_of_work::WorkError> {
    let mut uow = crate::unit_of_work::UnitOfWork::begin(store, topics, now_ms).await?;
    crate::pipeline::handler::check_report(report)?;
    crate::pipeline::handler::handle_graph_error(&mut uow, report, source_id).await?;
    Ok(uow.commit().await?.report)
}

/// A clock tests set and advance: jobs and the call budget see its time.
#[derive(Debug)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    /// A clock at `now_ms`.
    pub fn at(now_ms: i64) -> std::sync::Arc<Self> {
        std::sync::Arc::new(ManualClock(std::sync::atomic::AtomicI64::new(now_ms)))
    }

    /// Sets the time.
    pub fn set(&self, now_ms: i64) {
        self.0.store(now_ms, std::sync::atomic::Ordering::SeqCst);
    }

    /// Moves the time forward by `ms`.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl crate::clock::Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}
