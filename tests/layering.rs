//! Dependencies point one way: pure types at the bottom, I/O above them. These
//! checks read the manifests, so that a dependency against the rules fails here
//! with the rule's name instead of slipping in.

use std::path::Path;

/// The `[dependencies]` section of a crate's manifest.
fn dependencies(krate: &str) -> String {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(krate)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).expect("the manifest");
    let start = text
        .find("[dependencies]")
        .expect("a [dependencies] section");
    let rest = &text[start + "[dependencies]".len()..];
    let end = rest.find("\n[").unwrap_or(rest.len());
    rest[..end].to_owned()
}

fn assert_without(krate: &str, forbidden: &[&str], rule: &str) {
    let deps = dependencies(krate);
    for name in forbidden {
        let found = deps.lines().any(|line| {
            line.trim_start().starts_with(&format!("{name} "))
                || line.trim_start().starts_with(&format!("{name}."))
        });
        assert!(!found, "{krate} depends on {name}: {rule}");
    }
}

#[test]
fn the_graph_client_stands_without_kafka() {
    assert_without(
        "graph",
        &["graphhook-kafka", "rdkafka", "sqlx"],
        "graph/ is HTTP and Meta's semantics only: no broker, no store",
    );
}

#[test]
fn the_schema_crate_does_no_io() {
    assert_without(
        "schema",
        &[
            "tokio",
            "sqlx",
            "rdkafka",
            "reqwest",
            "actix-web",
            "graphhook-kafka",
        ],
        "schema/ is pure types: no runtime, no broker, no store, no HTTP",
    );
}

/// Every `.rs` file below `dir`, with its text.
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            found.push((path.display().to_string(), text));
        }
    }
    found
}

/// Fails, naming the file, the path and the rule, where a source below
/// `processor/src/<dir>` names one of `forbidden` outside a comment.
fn assert_no_imports(dir: &str, forbidden: &[(&str, &str)]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("processor/src")
        .join(dir);
    let files = sources(&root);
    assert!(files.len() >= 3, "processor/src/{dir}/ was not found");
    for (file, text) in &files {
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or_default();
            for (path, rule) in forbidden {
                let named = code.contains(&format!("{path}::"))
                    || code.contains(&format!("{path};"))
                    || code.contains(&format!("{path} "))
                    || code.contains(&format!("{path}{{"));
                assert!(!named, "{file} uses {path}: {rule}\n  {}", line.trim());
            }
        }
    }
}

#[test]
fn the_store_knows_domain_types_and_sql_only() {
    let above = "the store stands below it: it knows domain types and SQL only";
    assert_no_imports(
        "store",
        &[
            ("crate::tokens", above),
            ("crate::pipeline", above),
            ("crate::gateway", above),
            ("crate::publishing", above),
            ("crate::http", above),
            ("crate::jobs", above),
            ("crate::apply", above),
            ("crate::unit_of_work", above),
            ("crate::startup", above),
            ("rdkafka", "Kafka belongs in the pipeline and the outbox"),
            ("reqwest", "HTTP belongs in graph/"),
        ],
    );
}

#[test]
fn the_outbox_is_woken_through_the_store_not_held() {
    let rule = "work that writes outputs tells the store (UnitOfWork::commit_and_wake); only the pipeline and start-up hold the relay";
    for dir in [
        "gateway",
        "jobs",
        "tokens",
        "publishing",
        "apply",
        "http",
        "store",
    ] {
        assert_no_imports(dir, &[("crate::pipeline", rule)]);
    }
    let unit_of_work = Path::new(env!("CARGO_MANIFEST_DIR")).join("processor/src/unit_of_work.rs");
    let text = std::fs::read_to_string(unit_of_work).expect("unit_of_work.rs");
    assert!(
        !text.contains("crate::pipeline"),
        "unit_of_work.rs uses crate::pipeline: {rule}"
    );
}

#[test]
fn the_processors_domain_is_pure() {
    let forbidden = [
        ("sqlx", "SQL belongs in store/"),
        ("rdkafka", "Kafka belongs in the pipeline and the outbox"),
        ("tokio", "domain/ does no I/O and awaits nothing"),
        ("reqwest", "HTTP belongs in graph/"),
        ("crate::store", "domain/ decides; store/ keeps"),
        (
            "crate::unit_of_work",
            "a unit of work is applied above domain/ (apply/)",
        ),
        (
            "crate::apply",
            "apply/ stands on domain/, not the other way",
        ),
        (
            "crate::pipeline",
            "the pipeline stands on domain/, not the other way",
        ),
        ("crate::gateway", "Graph calls are made above domain/"),
        (
            "crate::http",
            "the admin API stands on domain/, not the other way",
        ),
        ("crate::jobs", "jobs stand on domain/, not the other way"),
        (
            "crate::publishing",
            "publishing stands on domain/, not the other way",
        ),
        (
            "crate::tokens",
            "tokens stand on domain/, not the other way",
        ),
    ];
    assert_no_imports("domain", &forbidden);
}

/// What a Graph answer means is decided in one table (`graph/src/answer.rs`):
/// no other non-test source matches on Meta's subcodes or compares error codes.
#[test]
fn graph_answers_are_read_in_one_table() {
    let rule = "ask graphhook_graph::answer (Failure::action, reported, container_failure) instead of matching Meta's codes";
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "processor/src",
        "graph/src",
        "ingest/src",
        "schema/src",
        "src",
    ] {
        files.extend(sources(&root.join(dir)));
    }
    assert!(files.len() > 50, "the sources were not found");
    for (file, text) in &files {
        let exempt = ["answer.rs", "answer_tests.rs", "/testing/"];
        if exempt.iter().any(|part| file.contains(part)) {
            continue;
        }
        let shipped = text.split("#[cfg(test)]").next().unwrap_or_default();
        for line in shipped.lines() {
            let code = line.split("//").next().unwrap_or_default();
            let subcode = code.contains("2_207_")
                || code
                    .split(|c: char| !c.is_ascii_digit())
                    .any(|digits| digits.len() == 7 && digits.starts_with("2207"));
            let compared = code.contains("code == Some(") || code.contains("code: Some(");
            assert!(
                !subcode && !compared,
                "{file} reads a Graph error code itself: {rule}\n  {}",
                line.trim()
            );
        }
    }
}

/// One clock: the processor decides with its injectable clock (`Services::clock`),
/// so that tests set the time every part sees. Only `clock.rs` reads the system
/// time (and the retry backoff seeds its jitter from it).
#[test]
fn the_processor_reads_time_from_its_one_clock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("processor/src");
    for (file, text) in sources(&root) {
        if file.ends_with("clock.rs") || file.contains("/testing/") {
            continue;
        }
        let shipped = text.split("#[cfg(test)]").next().unwrap_or_default();
        for line in shipped.lines() {
            let code = line.split("//").next().unwrap_or_default();
            let reads_system_time = code.contains("now_millis(")
                || (code.contains("SystemTime::now") && !file.ends_with("backoff.rs"));
            assert!(
                !reads_system_time,
                "{file} reads the system time: use the processor's clock (Services::clock)\n  {}",
                line.trim()
            );
        }
    }
}
