//! Crashes, a database outage and restarts: nothing applied twice, nothing missing.

use std::time::Duration;

use graphhook_processor::testing::CrashPoint;
use graphhook_schema::topics::{ACCOUNTS, ENGAGEMENT, METRICS_INVALIDATIONS, PUBLISH_STATUS};
use serde_json::json;

use crate::harness::{pipeline, Pipeline};

fn deliveries(round: i64) -> Vec<String> {
    vec![
        json!({"object":"permissions","entry":[{"id":"u1","time":1_700_000_000 + round,"changes":[{"field":"instagram_basic","value":{"verb":"revoked","target_ids":[format!("acct{round}")]}}]}]}).to_string(),
        json!({"object":"instagram","entry":[{"id":format!("acct{round}"),"time":1_700_000_001 + round,"changes":[{"field":"comments","value":{"id":format!("c{round}"),"media":{"id":format!("m{round}")}}}]}]}).to_string(),
        json!({"object":"page","entry":[{"id":"p1","time":1_700_000_002 + round,"changes":[{"field":"feed","value":{"item":"status","verb":"add","post_id":format!("p1_{round}"),"published":1}}]}]}).to_string(),
    ]
}

async fn post_round(p: &Pipeline, round: i64) {
    for body in deliveries(round) {
        p.deliver(&body).await;
    }
}

/// Exactly one record per effect of `rounds` rounds in each output topic.
async fn assert_exactly_once(p: &Pipeline, rounds: usize) {
    assert_eq!(p.app.read_records(ACCOUNTS, rounds).await.len(), rounds);
    assert_eq!(p.app.read_records(ENGAGEMENT, rounds).await.len(), rounds);
    assert_eq!(
        p.app.read_records(PUBLISH_STATUS, rounds).await.len(),
        rounds
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM account_transitions").await,
        rounds as i64
    );
    // Acknowledged rows are deleted by the relay task just after the batch.
    p.eventually("outbox drained", || async {
        p.count("SELECT COUNT(*) FROM outbox").await == 0
    })
    .await;
}

async fn crash_and_restart(point: CrashPoint) {
    let mut p = pipeline().await;
    post_round(&p, 1).await;
    p.processed(3).await;
    p.start_processor(Some(point)).await;
    post_round(&p, 2).await;
    p.wait_for_crash().await;
    p.start_processor(None).await;
    post_round(&p, 3).await;
    p.processed(9).await;
    assert_exactly_once(&p, 3).await;
    p.stop_processor().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_between_the_database_commit_and_the_relay_loses_and_repeats_nothing() {
    crash_and_restart(CrashPoint::AfterDatabaseCommit).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_between_the_relay_and_the_offset_commit_loses_and_repeats_nothing() {
    crash_and_restart(CrashPoint::AfterRelay).await;
}

/// Makes the test database refuse connections (PostgreSQL) or hold its write lock
/// (SQLite) until the returned guard is released.
async fn take_database_down(p: &Pipeline) -> Outage {
    if let Some(name) = p
        .database
        .strip_prefix("postgres://")
        .and_then(|rest| rest.rsplit('/').next())
    {
        let admin = std::env::var("DATABASE_URL").expect("postgres tests have DATABASE_URL");
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
            .await
            .unwrap();
        sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        return Outage::Postgres {
            conn,
            name: name.to_owned(),
        };
    }
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&p.database)
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut conn)
        .await
        .unwrap();
    Outage::Sqlite(conn)
}

enum Outage {
    Postgres {
        conn: sqlx::AnyConnection,
        name: String,
    },
    Sqlite(sqlx::AnyConnection),
}

impl Outage {
    async fn end(self) {
        match self {
            Outage::Postgres { mut conn, name } => {
                sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            Outage::Sqlite(mut conn) => {
                sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_outage_stalls_processing_turns_readiness_false_then_catches_up() {
    let p = pipeline().await;
    p.eventually("ready", || async { p.get("/readyz").await.status() == 200 })
        .await;
    post_round(&p, 1).await;
    p.processed(3).await;

    let outage = take_database_down(&p).await;
    for round in 2..=4 {
        post_round(&p, round).await;
    }
    p.eventually("readiness false", || async {
        p.get("/readyz").await.status() == 503
    })
    .await;
    let not_ready = p.get("/readyz").await;
    assert_eq!(not_ready.headers()["retry-after"], "5");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(p.get("/readyz").await.status(), 503, "still stalled");
    let exposition = p.get("/metrics").await.text().await.unwrap();
    assert!(exposition.contains("graphhook_processor_ready 0"));
    assert!(exposition.contains(r#"graphhook_processor_retries_total{cause="database"}"#));
    outage.end().await;

    p.eventually("ready again", || async {
        p.get("/readyz").await.status() == 200
    })
    .await;
    p.processed(12).await;
    assert_exactly_once(&p, 4).await;
    assert_eq!(
        p.app.read_records(METRICS_INVALIDATIONS, 0).await.len(),
        0,
        "never-fetched metrics are only marked stale"
    );
}
