//! Real bodies: every webhook body of `../shared/corpus/meta-webhooks/` (54 bodies
//! other projects recorded or documented, with their expected event counts in
//! `SOURCES.tsv`) is signed over its bytes as they are and posted to ingest; each
//! must be answered 200 and give the events its row expects (`0|1`: either).
//! The corpus is read where it lies, never copied into the repository; without
//! it (a checkout with no `../shared`) the test says so and passes.

use std::path::PathBuf;

use graphhook_ingest::signature::sign_sha256;

use crate::helpers::{spawn_app, APP, SECRET};

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/meta-webhooks");
    dir.join("SOURCES.tsv").is_file().then_some(dir)
}

/// The sum of `graphhook_events_total` in an exposition.
fn events_total(exposition: &str) -> u64 {
    exposition
        .lines()
        .filter(|line| line.starts_with("graphhook_events_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test(flavor = "multi_thread")]
async fn every_real_body_of_the_corpus_is_accepted_with_its_events() {
    let Some(dir) = corpus() else {
        eprintln!(
            "SKIPPED: ../shared/corpus/meta-webhooks is not beside this checkout; the real-body test needs it"
        );
        return;
    };
    let sources = std::fs::read_to_string(dir.join("SOURCES.tsv")).expect("SOURCES.tsv");
    let app = spawn_app().await;
    let mut checked = 0;
    let mut wrong = Vec::new();
    for row in sources.lines().skip(1).filter(|r| !r.trim().is_empty()) {
        let fields: Vec<&str> = row.split('\t').collect();
        let (file, expected) = (fields[0], fields[4]);
        let allowed: Vec<u64> = expected
            .split('|')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("expected_events is a number or n|m")
            })
            .collect();
        let body = std::fs::read(dir.join(file)).expect("a corpus body");
        let before = events_total(&app.metrics().await);
        let response = app
            .client
            .post(format!("{}/webhooks/{APP}", app.address))
            .header("content-type", "application/json")
            .header("X-Hub-Signature-256", sign_sha256(SECRET.as_bytes(), &body))
            .body(body)
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        let events = events_total(&app.metrics().await) - before;
        if status != 200 || !allowed.contains(&events) {
            wrong.push(format!(
                "{file}: answered {status}, {events} events (expected {expected})"
            ));
        }
        checked += 1;
    }
    println!("{checked} corpus bodies posted");
    assert!(checked >= 54, "only {checked} bodies in SOURCES.tsv");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
