//! The labelled series alerts watch, created at 0 when the processor starts: a
//! series that appears only with its first increment hides that increment from
//! `increase()` and `rate()`, so the first incident would go unnoticed.

use graphhook_kafka::Topics;
use graphhook_schema::account::{AccountState, Reason};
use graphhook_schema::graph_error::ErrorClass;
use graphhook_schema::topics::{EVENTS, GRAPH_ERRORS, OUTPUT_TOPICS, PUBLISH_REQUESTS};

use crate::metrics::ProcessorMetrics;
use crate::tokens::TokenKind;

/// The `cause` labels of `graphhook_processor_dead_letters_total`.
const DEAD_LETTER_CAUSES: [&str; 5] = [
    "rejected",
    "unparseable",
    "refused_by_database",
    "unstorable",
    "repeated",
];
/// The `cause` labels of `graphhook_processor_retries_total`.
const RETRY_CAUSES: [&str; 2] = ["database", "kafka"];
/// The `reason` labels of `graphhook_publication_holds_total` that alerts watch:
/// the causes an operator must fix.
const HOLD_REASONS: [&str; 3] = ["token_unreadable", "tokens_not_configured", "token_missing"];
/// The `outcome` labels of `graphhook_token_refreshes_total`.
const TOKEN_OUTCOMES: [&str; 7] = [
    "refreshed",
    "failed",
    "reconnect",
    "too_young",
    "expiring_flagged",
    "audited",
    "audit_invalid",
];

impl ProcessorMetrics {
    /// Creates every alerting series at 0 (topics named with `topics`' prefix).
    pub fn start_at_zero(&self, topics: &Topics) {
        let consumed = [EVENTS, GRAPH_ERRORS, PUBLISH_REQUESTS].map(|t| topics.name(t));
        for topic in &consumed {
            for outcome in ["healed", "given_up"] {
                self.offset_gap_rereads.with_label_values(&[topic, outcome]);
            }
            for cause in DEAD_LETTER_CAUSES {
                self.dead_letters.with_label_values(&[topic, cause]);
            }
        }
        for topic in OUTPUT_TOPICS {
            self.outputs_parked
                .with_label_values(&[&topics.name(topic)]);
        }
        for to in AccountState::ALL {
            for reason in Reason::ALL {
                self.transitions
                    .with_label_values(&[to.as_str(), reason.as_str()]);
            }
        }
        for class in ErrorClass::ALL {
            self.graph_errors.with_label_values(&[class.as_str()]);
        }
        for cause in RETRY_CAUSES {
            self.retries.with_label_values(&[cause]);
        }
        for reason in HOLD_REASONS {
            self.publication_holds.with_label_values(&[reason]);
        }
        for kind in TokenKind::PREFERENCE {
            for outcome in TOKEN_OUTCOMES {
                self.token_outcomes
                    .with_label_values(&[kind.as_str(), outcome]);
            }
        }
    }
}
