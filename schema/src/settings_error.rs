//! The error every configuration section's validation answers: the key and what
//! is wrong with it, never its value. Here, with the pure types, so that a crate
//! with settings (the Graph client's, Kafka's) needs no other crate for it.

/// A configuration value that cannot work, naming its key.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct SettingsError {
    /// The full configuration key, e.g. `kafka.partitions`.
    pub key: String,
    /// What is wrong with it.
    pub problem: String,
}

impl SettingsError {
    /// A problem with `key`.
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        SettingsError {
            key: key.into(),
            problem: problem.into(),
        }
    }
}
