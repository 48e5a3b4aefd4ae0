//! Fresh databases for tests and benchmarks.

use sqlx::Connection;

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

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}_{nanos:x}_{n}", std::process::id())
}
