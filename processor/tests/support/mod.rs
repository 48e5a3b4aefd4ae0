//! Stores for tests: SQLite always, PostgreSQL when `DATABASE_URL` is set.

use graphhook_processor::store::Store;
use graphhook_processor::testing::{fresh_postgres_database, temp_sqlite_url};

/// A fresh, migrated store on each configured engine.
pub async fn stores() -> Vec<Store> {
    let mut stores = vec![Store::connect(&temp_sqlite_url(), 1).await.expect("sqlite")];
    if let Ok(url) = std::env::var("DATABASE_URL") {
        let database = fresh_postgres_database(&url)
            .await
            .expect("DATABASE_URL reachable");
        stores.push(Store::connect(&database, 4).await.expect("postgres"));
    }
    for store in &stores {
        store.migrate().await.expect("migrations apply");
    }
    stores
}
