//! Stores for tests: SQLite always, PostgreSQL when `DATABASE_URL` is set.

#![allow(dead_code)]

use graphhook_processor::store::Store;
use graphhook_processor::testing::test_database_urls;

/// A fresh, migrated store on each configured engine.
pub async fn stores() -> Vec<Store> {
    let mut stores = Vec::new();
    for url in databases().await {
        stores.push(connect(&url).await);
    }
    stores
}

/// Fresh, migrated databases on each configured engine, as URLs (to connect to
/// one database twice, as two replicas do).
pub async fn databases() -> Vec<String> {
    let urls = test_database_urls().await.expect("DATABASE_URL reachable");
    for url in &urls {
        connect(url)
            .await
            .migrate()
            .await
            .expect("migrations apply");
    }
    urls
}

/// A store on `url`.
pub async fn connect(url: &str) -> Store {
    let max = if url.starts_with("sqlite") { 1 } else { 4 };
    Store::connect(url, max).await.expect("database reachable")
}
