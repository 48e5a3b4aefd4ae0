//! Runs the real `graphhook` binary (`graphhook run`) configured from the
//! environment alone, and collects its JSON log lines.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The app secret the binary is configured with (app `main`, id 42).
pub const SECRET: &str = "b1nary-app-secret";
/// The verify token it is configured with.
pub const VERIFY_TOKEN: &str = "b1nary-verify-token";

/// A running `graphhook run`.
pub struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every log line read so far.
    pub seen: Vec<String>,
}

/// Starts `graphhook run` with its own topic prefix and SQLite file, JSON logs at
/// debug level, the app `main` (id 42), and `extra` environment variables.
pub fn spawn(prefix: &str, extra: &[(&str, String)]) -> Running {
    let mut command = Command::new(env!("CARGO_BIN_EXE_graphhook"));
    command
        .arg("run")
        .env_remove("GRAPHHOOK_CONFIG")
        .env_remove("RUST_LOG")
        .env("GRAPHHOOK_INGEST__LISTEN", "127.0.0.1:0")
        .env("GRAPHHOOK_PROCESSOR__LISTEN", "127.0.0.1:0")
        .env("GRAPHHOOK_LOG__FORMAT", "json")
        .env("GRAPHHOOK_LOG__LEVEL", "debug")
        .env("GRAPHHOOK_KAFKA__TOPIC_PREFIX", prefix)
        .env(
            "GRAPHHOOK_PROCESSOR__DATABASE_URL",
            graphhook_processor::testing::temp_sqlite_url(),
        )
        .env(
            "GRAPHHOOK_KAFKA__BROKERS",
            std::env::var("KAFKA_BROKERS").unwrap_or_default(),
        )
        .env("GRAPHHOOK_APPS__MAIN__APP_ID", "42")
        .env(
            "GRAPHHOOK_APPS__MAIN__SECRETS",
            format!(r#"["old-secret","{SECRET}"]"#),
        )
        .env("GRAPHHOOK_APPS__MAIN__VERIFY_TOKEN", VERIFY_TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (key, value) in extra {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("graphhook starts");
    let stdout = child.stdout.take().expect("stdout");
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    Running {
        child,
        lines,
        seen: Vec::new(),
    }
}

impl Running {
    /// The first log line (read so far, or read now) with `message`.
    pub fn wait_for(&mut self, message: &str) -> serde_json::Value {
        let earlier = self.seen.iter().find_map(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .filter(|json| json["message"] == message)
        });
        if let Some(json) = earlier {
            return json;
        }
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("graphhook logs {message:?}"));
            self.seen.push(line.clone());
            let json: serde_json::Value =
                serde_json::from_str(&line).expect("every log line is JSON");
            if json["message"] == message {
                return json;
            }
        }
    }

    /// Sends SIGTERM, waits for the exit, and returns it with every log line.
    pub async fn stop(mut self) -> (ExitStatus, Vec<String>) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let mut child = self.child;
        let exit = tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap();
        self.seen.extend(self.lines.try_iter());
        (exit, self.seen)
    }
}
