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
