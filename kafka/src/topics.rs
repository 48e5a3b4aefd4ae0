//! Full topic names under the configured prefix.

use graphhook_schema::topics;

/// Topic names under one prefix.
#[derive(Debug, Clone)]
pub struct Topics {
    prefix: String,
}

impl Topics {
    /// Topics under `prefix` (e.g. `graphhook.`).
    pub fn new(prefix: impl Into<String>) -> Self {
        Topics {
            prefix: prefix.into(),
        }
    }

    /// The full name of the topic with `suffix` (one of [`graphhook_schema::topics`]).
    pub fn name(&self, suffix: &str) -> String {
        topics::topic_name(&self.prefix, suffix)
    }

    /// `deliveries.v1`.
    pub fn deliveries(&self) -> String {
        self.name(topics::DELIVERIES)
    }

    /// `events.v1`.
    pub fn events(&self) -> String {
        self.name(topics::EVENTS)
    }
}
