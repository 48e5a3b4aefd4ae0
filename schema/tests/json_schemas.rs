//! The JSON Schemas under `schema/json/` are generated from the record types. This
//! test fails when a type changed and its committed schema did not; regenerate with
//! `UPDATE_SCHEMAS=1 cargo test -p graphhook-schema --test json_schemas`.

use std::path::PathBuf;

use graphhook_schema::output::{
    AccountTransitionRecord, DeadLetterRecord, EngagementRecord, GraphErrorReport,
    MetricsInvalidationRecord, PublishStatusRecord,
};
use graphhook_schema::publishing::PublishRequest;
use graphhook_schema::InboundEvent;
use schemars::schema_for;

fn schemas() -> Vec<(&'static str, schemars::Schema)> {
    vec![
        ("events.v1", schema_for!(InboundEvent)),
        ("accounts.v1", schema_for!(AccountTransitionRecord)),
        ("engagement.v1", schema_for!(EngagementRecord)),
        (
            "metrics-invalidations.v1",
            schema_for!(MetricsInvalidationRecord),
        ),
        ("publish-status.v1", schema_for!(PublishStatusRecord)),
        ("graph-errors.v1", schema_for!(GraphErrorReport)),
        ("dlq.v1", schema_for!(DeadLetterRecord)),
        ("publish-requests.v1", schema_for!(PublishRequest)),
    ]
}

#[test]
fn committed_json_schemas_match_the_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("json");
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut drifted = Vec::new();
    for (topic, schema) in schemas() {
        let path = dir.join(format!("{topic}.schema.json"));
        let generated = serde_json::to_string_pretty(&schema).expect("schema serializes") + "\n";
        if update {
            std::fs::create_dir_all(&dir).expect("json dir");
            std::fs::write(&path, &generated).expect("schema written");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(generated.as_str()) {
            drifted.push(path.display().to_string());
        }
    }
    assert!(
        drifted.is_empty(),
        "JSON Schemas out of date: {drifted:?}; run UPDATE_SCHEMAS=1 cargo test -p graphhook-schema --test json_schemas"
    );
}

#[test]
fn schemas_describe_the_fields_consumers_rely_on() {
    let accounts = serde_json::to_value(schema_for!(AccountTransitionRecord)).unwrap();
    for field in [
        "source_event_id",
        "account_id",
        "from",
        "to",
        "reason",
        "action",
    ] {
        assert!(
            accounts["properties"][field].is_object(),
            "accounts.v1 lacks {field}"
        );
    }
    let events = serde_json::to_value(schema_for!(InboundEvent)).unwrap();
    assert!(events["properties"]["event_id"].is_object());
    assert!(events["properties"]["value"].is_object() || events["properties"]["value"] == true);
}
