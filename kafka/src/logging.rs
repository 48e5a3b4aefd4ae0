//! librdkafka's log lines and client errors at the levels the operator guide gives
//! them: ERROR only where an operator must act (a fatal client error, failed
//! authentication, an emergency), WARN for what heals by itself (a broker down, a
//! lost connection, the in-process cluster stopping at shutdown).
//!
//! librdkafka's default callbacks log every error at ERROR, so a clean shutdown of
//! the embedded mode, where the in-process cluster goes before its last clients,
//! wrote `AllBrokersDown` at ERROR. Every client graphhook creates uses
//! [`LoggedContext`] or calls these functions from its own context.

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::ClientContext;

/// Whether `error` needs an operator: the client cannot go on by itself.
pub fn needs_operator(error: &KafkaError) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        error.rdkafka_error_code(),
        Some(
            C::Fatal
                | C::Authentication
                | C::SaslAuthenticationFailed
                | C::ClusterAuthorizationFailed
                | C::TopicAuthorizationFailed
                | C::GroupAuthorizationFailed
                | C::InvalidConfig
                | C::SSL
        )
    )
}

/// Logs a client error reported by librdkafka at the level it deserves.
pub fn log_client_error(error: &KafkaError, reason: &str) {
    if needs_operator(error) {
        tracing::error!(target: "librdkafka", %error, reason, "Kafka client error");
    } else {
        tracing::warn!(target: "librdkafka", %error, reason, "Kafka client error (retried by the client)");
    }
}

/// Logs one librdkafka log line: emergencies at ERROR, librdkafka's errors (which
/// it retries) at WARN, the rest at their own level.
pub fn log_line(level: RDKafkaLogLevel, facility: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical => {
            tracing::error!(target: "librdkafka", facility, "{message}")
        }
        RDKafkaLogLevel::Error | RDKafkaLogLevel::Warning => {
            tracing::warn!(target: "librdkafka", facility, "{message}")
        }
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "librdkafka", facility, "{message}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
    }
}

/// A client context that only logs, at the levels above (admin clients, replay's
/// reader, tests' consumers).
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggedContext;

impl ClientContext for LoggedContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log_line(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        log_client_error(&error, reason);
    }
}

impl ConsumerContext for LoggedContext {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brokers_down_heals_by_itself_and_a_fatal_error_needs_an_operator() {
        let down = KafkaError::Global(RDKafkaErrorCode::AllBrokersDown);
        let transport = KafkaError::Global(RDKafkaErrorCode::BrokerTransportFailure);
        let fatal = KafkaError::Global(RDKafkaErrorCode::Fatal);
        let auth = KafkaError::Global(RDKafkaErrorCode::SaslAuthenticationFailed);
        assert!(!needs_operator(&down));
        assert!(!needs_operator(&transport));
        assert!(needs_operator(&fatal));
        assert!(needs_operator(&auth));
    }
}
