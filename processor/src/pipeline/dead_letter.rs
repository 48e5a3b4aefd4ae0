//! Dead letters: a record that can never be processed goes to `dlq.v1` with the
//! reason and the original (key, value, headers), in the unit of work that met it.
//!
//! A dead letter keeps the output contract: it has a `record_id` (derived from the
//! failed record's identity and the reason) and a `source_event_id` (the event id,
//! or a hash of the record's content). The same record failing for the same reason
//! again (a replay, a new consumer group) is recognised by that id and not written a
//! second time; after a fix it is simply applied.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use graphhook_schema::output::{record_id, DeadLetterRecord, OUTPUT_VERSION};
use graphhook_schema::topics::DLQ;
use rdkafka::message::{Headers, OwnedMessage};
use rdkafka::Message;

use crate::domain::content::check_id;
use crate::unit_of_work::{UnitOfWork, WorkError};

/// Why a record is dead-lettered, for the metric's `cause` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Its content was rejected before anything was stored.
    Rejected,
    /// It is not what its topic carries.
    Unparseable,
    /// The database refused what it asked to store.
    RefusedByDatabase,
}

impl Cause {
    fn label(self) -> &'static str {
        match self {
            Cause::Rejected => "rejected",
            Cause::Unparseable => "unparseable",
            Cause::RefusedByDatabase => "refused_by_database",
        }
    }
}

/// Queues `message` on `dlq.v1` with `reason`, unless this record already was
/// dead-lettered for this reason. `source_id` is the record's identity.
pub async fn dead_letter(
    uow: &mut UnitOfWork<'_>,
    message: &OwnedMessage,
    source_id: &str,
    reason: String,
    cause: Cause,
) -> Result<(), WorkError> {
    let id = record_id(DLQ, source_id, &reason);
    if !uow.tx.claim_event(&format!("dlq:{id}"), uow.now_ms).await? {
        tracing::info!(topic = message.topic(), partition = message.partition(), offset = message.offset(), %reason, "record was dead-lettered before; not again");
        uow.report.dead_lettered(message.topic(), "repeated");
        return Ok(());
    }
    tracing::warn!(topic = message.topic(), partition = message.partition(), offset = message.offset(), %reason, "record cannot be processed; dead-lettering it");
    let original_key = message
        .key()
        .map(|k| String::from_utf8_lossy(k).into_owned());
    // The dead letter is keyed like the original, unless that key cannot be stored
    // (it is kept in the record's `original_key` either way).
    let key = original_key
        .as_deref()
        .filter(|k| check_id("key", k).is_ok())
        .unwrap_or(source_id)
        .to_owned();
    let record = DeadLetterRecord {
        version: OUTPUT_VERSION,
        record_id: String::new(),
        source_event_id: source_id.to_owned(),
        source_topic: message.topic().to_owned(),
        partition: message.partition(),
        offset: message.offset(),
        error: reason.clone(),
        error_class: None,
        failed_at_ms: uow.now_ms,
        original_key,
        original_value_base64: STANDARD.encode(message.payload().unwrap_or_default()),
        original_headers: headers_of(message),
    };
    uow.outputs.push(DLQ, &key, record, source_id, &reason)?;
    uow.report.dead_lettered(message.topic(), cause.label());
    Ok(())
}

fn headers_of(message: &OwnedMessage) -> BTreeMap<String, String> {
    message
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| {
                    (
                        h.key.to_owned(),
                        String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
