//! The records the processor writes to its output topics. Every record carries its
//! own deterministic `record_id` (the same effect, replayed or resent after a crash,
//! keeps its id: consumers drop repeats by it) and the `source_event_id` of the
//! event, report or request that caused it (for tracing; one event can cause
//! several records).

mod account;
mod engagement;
mod errors;
mod publish;

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use account::AccountTransitionRecord;
pub use engagement::{EngagementKind, EngagementRecord, MetricsInvalidationRecord, MetricsScope};
pub use errors::{DeadLetterRecord, GraphErrorReport};
pub use publish::{
    FailureClass, PublicationError, PublishStatus, PublishStatusRecord, PublishedObject,
};

/// Layout version of every output record; bumped on incompatible changes.
pub const OUTPUT_VERSION: u32 = 1;

/// An output record: it carries a `record_id` that the one place writing records
/// sets (see [`record_id`]).
pub trait OutputRecord: Serialize {
    /// Sets the record's `record_id`.
    fn set_record_id(&mut self, id: String);
}

macro_rules! output_record {
    ($($name:ty),*) => {$(
        impl OutputRecord for $name {
            fn set_record_id(&mut self, id: String) {
                self.record_id = id;
            }
        }
    )*};
}

output_record!(
    AccountTransitionRecord,
    EngagementRecord,
    MetricsInvalidationRecord,
    PublishStatusRecord,
    DeadLetterRecord
);

/// The deterministic id of the record an effect writes: topic suffix, the source
/// (event id, report or request id) and what tells the source's effects apart
/// (`effect`). 32 lowercase hex characters.
pub fn record_id(topic_suffix: &str, source_id: &str, effect: &str) -> String {
    let mut hasher = Sha256::new();
    for part in ["graphhook.record.v1", topic_suffix, source_id, effect] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..16])
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_are_deterministic_and_tell_effects_apart() {
        let media = record_id("metrics-invalidations.v1", "e1", "media:m1");
        assert_eq!(
            media,
            record_id("metrics-invalidations.v1", "e1", "media:m1")
        );
        assert_ne!(
            media,
            record_id("metrics-invalidations.v1", "e1", "account:")
        );
        assert_ne!(
            media,
            record_id("metrics-invalidations.v1", "e2", "media:m1")
        );
        assert_eq!(media.len(), 32);
    }
}
