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

/// The port fields (`port`, `ops_port`) of ingest's and the processor's start-up
/// lines.
pub struct Ports {
    /// Ingest's public listener.
    pub ingest: u16,
    /// Ingest's operations listener.
    pub ingest_ops: u16,
    /// The processor's public listener.
    pub processor: u16,
    /// The processor's operations listener.
    pub processor_ops: u16,
}

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
        .env("GRAPHHOOK_INGEST__OPS_LISTEN", "127.0.0.1:0")
        .env("GRAPHHOOK_PROCESSOR__OPS_LISTEN", "127.0.0.1:0")
        .env("GRAPHHOOK_INGEST__DRAIN_SECS", "0")
        .env("GRAPHHOOK_PROCESSOR__DRAIN_SECS", "0")
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
    /// The listeners' ports, from the start-up lines.
    pub fn ports(&mut self) -> Ports {
        let port = |line: &serde_json::Value, field: &str| {
            line[field].as_u64().expect("port field") as u16
        };
        let ingest = self.wait_for("ingest listening");
        let processor = self.wait_for("processor started");
        Ports {
            ingest: port(&ingest, "port"),
            ingest_ops: port(&ingest, "ops_port"),
            processor: port(&processor, "port"),
            processor_ops: port(&processor, "ops_port"),
        }
    }

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

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM without waiting.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Sends SIGTERM, waits for the exit, and returns it with every log line.
    pub async fn stop(self) -> (ExitStatus, Vec<String>) {
        self.terminate();
        self.wait().await
    }

    /// Waits for the exit and returns it with every log line.
    pub async fn wait(mut self) -> (ExitStatus, Vec<String>) {
        let mut child = self.child;
        let exit = tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        (exit, self.seen)
    }
}
