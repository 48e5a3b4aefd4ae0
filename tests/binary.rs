//! The real `graphhook` binary: configured from the environment alone, JSON logs
//! with request ids and without secrets, graceful stop on SIGTERM.

mod common;

use std::process::Command;

use common::{spawn, SECRET, VERIFY_TOKEN as TOKEN};
use graphhook_ingest::signature::sign_sha256;

const PRIVATE_TEXT: &str = "very private words";

#[tokio::test]
async fn the_binary_logs_json_without_secrets_and_stops_gracefully_on_sigterm() {
    let prefix = format!("bin-{}.", uuid::Uuid::new_v4().simple());
    let mut running = spawn(&prefix, &[]);
    let port = running.wait_for("ingest listening")["port"]
        .as_u64()
        .expect("port field") as u16;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"1","time":1700000000,"changes":[{{"field":"comments","value":{{"id":"9","text":"{PRIVATE_TEXT}"}}}}]}}]}}"#
    );
    let signature = sign_sha256(SECRET.as_bytes(), body.as_bytes());
    let ok = client
        .post(format!("{base}/webhooks/main"))
        .header("X-Hub-Signature-256", &signature)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let forged = client
        .post(format!("{base}/webhooks/main"))
        .header("X-Hub-Signature-256", sign_sha256(b"x", body.as_bytes()))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let handshake = client
        .get(format!(
            "{base}/webhooks/main?hub.mode=subscribe&hub.verify_token={TOKEN}&hub.challenge=77"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(handshake.text().await.unwrap(), "77");

    let (exit, seen) = running.stop().await;
    assert!(
        exit.success(),
        "graphhook exits cleanly on SIGTERM: {exit:?}"
    );

    let logs: Vec<serde_json::Value> = seen
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert!(
        logs.iter()
            .any(|l| l["message"] == "ingest stopped; producer flushed"),
        "producer flushed on stop"
    );
    let refused = logs
        .iter()
        .find(|l| l["message"] == "refused a delivery signature")
        .expect("refusal logged");
    assert_eq!(refused["reason"], "mismatch");
    assert_eq!(refused["span"]["app"], "main");
    let request_lines: Vec<_> = logs
        .iter()
        .filter(|l| l["span"]["name"] == "http_request")
        .collect();
    assert!(request_lines.len() >= 3);
    for line in &request_lines {
        assert!(
            line["span"]["request_id"]
                .as_str()
                .is_some_and(|id| id.len() == 36),
            "request id on {line}"
        );
    }
    let whole = seen.join("\n");
    for secret in [SECRET, TOKEN, PRIVATE_TEXT, &signature["sha256=".len()..]] {
        assert!(!whole.contains(secret), "logs must not contain {secret:?}");
    }
}

#[test]
fn migrate_applies_the_migrations_and_says_so() {
    let url = graphhook_processor::testing::temp_sqlite_url();
    let output = Command::new(env!("CARGO_BIN_EXE_graphhook"))
        .arg("migrate")
        .env_remove("GRAPHHOOK_CONFIG")
        .env("GRAPHHOOK_PROCESSOR__DATABASE_URL", &url)
        .env("GRAPHHOOK_LOG__LEVEL", "warn")
        .output()
        .expect("graphhook runs");
    assert!(output.status.success(), "{output:?}");
    // Logs are JSON lines on stdout too (a slow statement on a busy machine logs a
    // warning): the result is its own line.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout
            .lines()
            .any(|line| line == "migrations applied (sqlite)"),
        "{stdout}"
    );
}

#[test]
fn replay_refuses_an_unreadable_time_and_the_embedded_cluster() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_graphhook"))
            .args(args)
            .env_remove("GRAPHHOOK_CONFIG")
            .env_remove("GRAPHHOOK_KAFKA__BROKERS")
            .env("GRAPHHOOK_LOG__LEVEL", "warn")
            .output()
            .expect("graphhook runs")
    };
    let bad_time = run(&["replay", "--from", "yesterday"]);
    assert_eq!(bad_time.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_time.stderr).contains("not RFC 3339"));
    let embedded = run(&["replay", "--from", "0"]);
    assert_eq!(embedded.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&embedded.stderr).contains("kafka.brokers"));
}

fn graphhook(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_graphhook"));
    command
        .args(args)
        .env_remove("GRAPHHOOK_CONFIG")
        .env_remove("GRAPHHOOK_KAFKA__BROKERS")
        .env("GRAPHHOOK_LOG__LEVEL", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("graphhook runs")
}

#[test]
fn check_config_checks_what_each_command_needs_and_prints_no_secret() {
    let app = [
        ("GRAPHHOOK_APPS__MAIN__APP_ID", "42"),
        ("GRAPHHOOK_APPS__MAIN__SECRETS", "check-s3cret-value"),
        (
            "GRAPHHOOK_INGEST__PUBLIC_BASE_URL",
            "http://hooks.example.com",
        ),
    ];
    let run = graphhook(&["check-config"], &app);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{run:?}");
    assert!(
        stdout.starts_with("configuration is valid for `graphhook run`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("warning: ingest.public_base_url"),
        "{stdout}"
    );
    assert!(
        stdout.contains("warning: kafka.brokers is not set"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[publishing]") && !stdout.contains("check-s3cret-value"),
        "{stdout}"
    );

    for role in ["ingest", "process", "replay"] {
        let refused = graphhook(&["check-config", "--for", role], &app);
        assert_eq!(refused.status.code(), Some(1), "{role}: {refused:?}");
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("kafka.brokers"),
            "{role}"
        );
    }
    let brokers = [("GRAPHHOOK_KAFKA__BROKERS", "127.0.0.1:1")];
    let no_apps = graphhook(&["check-config", "--for", "ingest"], &brokers);
    assert_eq!(no_apps.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_apps.stderr).contains("apps"));
    let replay = graphhook(&["replay", "--from", "0"], &brokers);
    assert_eq!(replay.status.code(), Some(1), "replay without [apps]");
    assert!(String::from_utf8_lossy(&replay.stderr).contains("apps"));
    let help = graphhook(&["replay", "--help"], &[]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("kafka.brokers") && help.contains("[apps]"),
        "{help}"
    );
}

#[test]
fn healthcheck_exits_non_zero_when_nothing_answers() {
    let down = graphhook(&["healthcheck", "http://127.0.0.1:1/healthz"], &[]);
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("unhealthy"));
}
