//! Stores for tests: SQLite always, PostgreSQL when `DATABASE_URL` is set.

use graphhook_processor::store::Store;
use sqlx::Connection;

/// A fresh, migrated store on each configured engine.
pub async fn stores() -> Vec<Store> {
    let mut stores = Vec::new();
    let dir =
        std::env::temp_dir().join(format!("graphhook-store-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let sqlite = format!("sqlite://{}?mode=rwc", dir.join("store.db").display());
    stores.push(Store::connect(&sqlite, 1).await.expect("sqlite"));
    if let Ok(url) = std::env::var("DATABASE_URL") {
        stores.push(
            Store::connect(&fresh_postgres_database(&url).await, 4)
                .await
                .expect("postgres"),
        );
    }
    for store in &stores {
        store.migrate().await.expect("migrations apply");
    }
    stores
}

async fn fresh_postgres_database(url: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("graphhook_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::AnyConnection::connect(url)
        .await
        .expect("DATABASE_URL reachable");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create database");
    let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
    format!("{base}/{name}")
}
