//! The raw-PostgreSQL baseline of the processor benchmark: the rows a processor
//! run left (and the output records it sent through its outbox), written again
//! into a fresh database with nothing but SQL: per batch of events one
//! transaction with one multi-row statement per table, the outbox rows inserted
//! and then deleted as the relay does. No broker, no state machine, no reads.
//!
//! It does less than the processor (each row once, where the processor updates
//! hot rows again batch after batch), so the ratio of the processor to it is a
//! conservative one.

use std::time::{Duration, Instant};

use graphhook_kafka::{KafkaSettings, Topics};
use graphhook_schema::topics::OUTPUT_TOPICS;
use rdkafka::consumer::Consumer;
use rdkafka::Message;
use sqlx::postgres::PgPool;
use sqlx::Row;

/// `raw-store` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The database a processor run filled.
    #[arg(long)]
    pub from: String,
    /// A fresh, empty database (migrated here).
    #[arg(long)]
    pub to: String,
    /// Bootstrap servers of the run's broker (its output records are read back).
    #[arg(long)]
    pub brokers: String,
    /// The run's topic prefix.
    #[arg(long)]
    pub topic_prefix: String,
    /// Events per batch, as the processor ran.
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
}

/// A table's rows as JSON objects, and the statement that writes a chunk of them
/// (`$1` is a JSON array).
struct Table {
    rows: Vec<String>,
    insert: String,
}

fn insert(table: &str, columns: &str, conflict: &str) -> String {
    format!(
        "INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_recordset(NULL::{table}, $1::json) {conflict}"
    )
}

async fn rows(pool: &PgPool, table: &str, order: &str) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT row_to_json(t)::text FROM {table} t ORDER BY {order}"
    ))
    .fetch_all(pool)
    .await?)
}

/// The output records the run sent, as outbox rows (JSON objects).
async fn outputs(args: &Args, expected: i64) -> anyhow::Result<Vec<String>> {
    let kafka = KafkaSettings {
        brokers: args.brokers.clone(),
        topic_prefix: args.topic_prefix.clone(),
        ..Default::default()
    };
    let topics = Topics::new(&kafka.topic_prefix);
    let consumer = crate::processor::reader(&kafka, "bench-raw")?;
    let names: Vec<String> = OUTPUT_TOPICS.iter().map(|t| topics.name(t)).collect();
    consumer.subscribe(&names.iter().map(String::as_str).collect::<Vec<_>>())?;
    let mut found = Vec::new();
    // The outbox's id sequence may have skipped values (a retried batch): stop
    // when the expected count is read or nothing more comes for 5 s.
    while (found.len() as i64) < expected {
        let Ok(message) = tokio::time::timeout(Duration::from_secs(5), consumer.recv()).await
        else {
            break;
        };
        let message = message?;
        let text =
            |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned();
        found.push(
            serde_json::json!({
                "topic": message.topic(),
                "record_key": text(message.key()),
                "payload": text(message.payload()),
                "source_event_id": "",
                "record_id": "",
                "created_at_ms": 0,
            })
            .to_string(),
        );
    }
    Ok(found)
}

/// Reads what the run left, writes it again raw, and prints events/s.
pub async fn run(args: &Args) -> anyhow::Result<()> {
    let from = PgPool::connect(&args.from).await?;
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM processed_events")
        .fetch_one(&from)
        .await?;
    let sent: i64 = sqlx::query_scalar(
        "SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence('outbox', 'id')), 0)",
    )
    .fetch_one(&from)
    .await?;
    let tables = [
        Table {
            rows: rows(&from, "processed_events", "processed_at_ms, event_id").await?,
            insert: insert(
                "processed_events",
                "event_id, processed_at_ms",
                "ON CONFLICT (event_id) DO NOTHING",
            ),
        },
        Table {
            rows: rows(&from, "accounts", "created_at_ms, app_id, account_id").await?,
            insert: insert(
                "accounts",
                "app_id, account_id, tenant, page_id, user_id, state, reason, state_changed_at_ms, created_at_ms, updated_at_ms",
                "ON CONFLICT (app_id, account_id) DO NOTHING",
            ),
        },
        Table {
            rows: rows(&from, "account_transitions", "id").await?,
            insert: insert(
                "account_transitions",
                "app_id, account_id, from_state, to_state, reason, action, source_event_id, occurred_at_ms, recorded_at_ms",
                "",
            ),
        },
        Table {
            rows: rows(&from, "metrics_cache", "app_id, account_id, media_id").await?,
            insert: insert(
                "metrics_cache",
                "app_id, account_id, media_id, values_json, fetched_at_ms, fresh, stale_since_ms",
                "ON CONFLICT (app_id, account_id, media_id) DO NOTHING",
            ),
        },
        Table {
            rows: rows(&from, "page_posts", "app_id, page_id, post_id").await?,
            insert: insert(
                "page_posts",
                "app_id, page_id, post_id, item, status, status_at_ms",
                "ON CONFLICT DO NOTHING",
            ),
        },
    ];
    let outbox = outputs(args, sent).await?;
    let to = PgPool::connect(&args.to).await?;
    sqlx::migrate!("../migrations/postgres").run(&to).await?;
    let batches = (events as usize).div_ceil(args.batch_size.max(1)).max(1);
    let chunk = |rows: &[String], batch: usize| -> String {
        let (start, end) = (
            rows.len() * batch / batches,
            rows.len() * (batch + 1) / batches,
        );
        format!("[{}]", rows[start..end].join(","))
    };
    let outbox_insert = "INSERT INTO outbox (topic, record_key, payload, source_event_id, record_id, created_at_ms) \
        SELECT topic, record_key, payload, source_event_id, record_id, created_at_ms \
        FROM json_populate_recordset(NULL::outbox, $1::json) RETURNING id";
    let started = Instant::now();
    for batch in 0..batches {
        let mut tx = to.begin().await?;
        for table in &tables {
            sqlx::query(&table.insert)
                .bind(chunk(&table.rows, batch))
                .execute(&mut *tx)
                .await?;
        }
        let ids: Vec<i64> = sqlx::query(outbox_insert)
            .bind(chunk(&outbox, batch))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()?;
        tx.commit().await?;
        sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&to)
            .await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "raw events={events} outputs={} batches={batches} seconds={seconds:.2} raw_events_per_s={:.0}",
        outbox.len(),
        events as f64 / seconds.max(1e-9)
    );
    Ok(())
}
