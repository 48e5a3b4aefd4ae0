//! The `[publishing]` configuration section: Meta's polling schedule and the
//! tracker's pacing.

use graphhook_graph::GraphSettings;
use graphhook_kafka::SettingsError;
use serde::{Deserialize, Serialize};

use crate::domain::publication::Schedule;

/// How publications are tracked.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublishingSettings {
    /// How often the tracker looks for due publications, ms.
    pub tick_ms: u64,
    /// The first status read, after a container is created, s.
    pub first_read_after_secs: u64,
    /// Then once every this many seconds ...
    pub poll_interval_secs: u64,
    /// ... this many times (Meta: once a minute for five minutes) ...
    pub poll_steady_reads: u64,
    /// ... then each interval is the last one times this ...
    pub poll_backoff: f64,
    /// ... up to this cap, s.
    pub poll_cap_secs: u64,
    /// A container's lifetime: not published by then, it expires, h.
    pub container_lifetime_hours: u64,
    /// Wait after `media_publish` answered "not ready" (9007 / 2207027), s.
    pub not_ready_retry_secs: u64,
    /// Wait before retrying a call that failed for now, s (doubles, up to the cap).
    pub retry_initial_secs: u64,
    /// How long a read of `content_publishing_limit` is reused (counting the
    /// publishes since), unless it is within a fifth of the allowance, s.
    pub quota_cache_secs: u64,
    /// How often a publication waiting for quota reads it again, s.
    pub quota_recheck_secs: u64,
    /// Most containers created for one publication (transient failures).
    pub max_containers: u64,
    /// A Page post's `feed` webhook is awaited this long before the post is read
    /// once, s.
    pub page_post_confirm_secs: u64,
    /// How often a held publication checks whether it may go on, s.
    pub held_recheck_secs: u64,
    /// One replica's lease on a publication, s.
    pub lease_secs: u64,
    /// Most publications one tracker pass takes.
    pub batch: u64,
}

impl Default for PublishingSettings {
    fn default() -> Self {
        PublishingSettings {
            tick_ms: 1_000,
            first_read_after_secs: 10,
            poll_interval_secs: 60,
            poll_steady_reads: 5,
            poll_backoff: 1.1,
            poll_cap_secs: 900,
            container_lifetime_hours: 24,
            not_ready_retry_secs: 30,
            retry_initial_secs: 30,
            quota_cache_secs: 3_600,
            quota_recheck_secs: 600,
            max_containers: 3,
            page_post_confirm_secs: 300,
            held_recheck_secs: 60,
            lease_secs: 60,
            batch: 64,
        }
    }
}

fn ms(seconds: u64) -> i64 {
    i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX / 2)
}

impl PublishingSettings {
    /// The polling schedule.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            first_read_ms: ms(self.first_read_after_secs),
            interval_ms: ms(self.poll_interval_secs),
            steady_reads: i64::try_from(self.poll_steady_reads).unwrap_or(5),
            backoff: self.poll_backoff,
            cap_ms: ms(self.poll_cap_secs),
            lifetime_ms: ms(self.container_lifetime_hours.saturating_mul(3_600)),
        }
    }

    /// `value` seconds as milliseconds.
    pub fn ms(value: u64) -> i64 {
        ms(value)
    }

    /// Checks values that deserialize but cannot work.
    pub fn validate(&self) -> Result<(), SettingsError> {
        for (key, value) in [
            ("publishing.tick_ms", self.tick_ms),
            ("publishing.poll_interval_secs", self.poll_interval_secs),
            ("publishing.poll_cap_secs", self.poll_cap_secs),
            (
                "publishing.container_lifetime_hours",
                self.container_lifetime_hours,
            ),
            ("publishing.max_containers", self.max_containers),
            ("publishing.lease_secs", self.lease_secs),
            ("publishing.batch", self.batch),
            ("publishing.retry_initial_secs", self.retry_initial_secs),
        ] {
            if value == 0 {
                return Err(SettingsError::new(key, "must be positive"));
            }
        }
        if !(1.0..=4.0).contains(&self.poll_backoff) {
            return Err(SettingsError::new(
                "publishing.poll_backoff",
                "must be between 1.0 and 4.0",
            ));
        }
        if self.poll_cap_secs < self.poll_interval_secs {
            return Err(SettingsError::new(
                "publishing.poll_cap_secs",
                "must be at least publishing.poll_interval_secs",
            ));
        }
        Ok(())
    }

    /// Checks the lease against the Graph API's mutation timeout: an owner holds
    /// its lease through a `media_publish` that may take the whole timeout, so a
    /// shorter lease lets a successor take the publication over mid-call and
    /// publish it a second time.
    pub fn validate_with(&self, graph: &GraphSettings) -> Result<(), SettingsError> {
        let needed_ms = graph.mutation_timeout_ms.saturating_add(LEASE_MARGIN_MS);
        if self.lease_secs.saturating_mul(1000) < needed_ms {
            return Err(SettingsError::new(
                "publishing.lease_secs",
                format!(
                    "must be at least graph.mutation_timeout_ms + {} s ({} s with graph.mutation_timeout_ms = {}): \
                     a shorter lease lets another replica publish during a slow media_publish",
                    LEASE_MARGIN_MS / 1000,
                    needed_ms.div_ceil(1000),
                    graph.mutation_timeout_ms
                ),
            ));
        }
        Ok(())
    }
}

/// What a lease must outlast besides the mutation itself: the store writes
/// before and after it.
const LEASE_MARGIN_MS: u64 = 10_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_shorter_than_a_slow_media_publish_is_refused_naming_both_keys() {
        let graph = GraphSettings::default();
        PublishingSettings::default()
            .validate_with(&graph)
            .expect("the defaults fit");
        let short = PublishingSettings {
            lease_secs: 20,
            ..PublishingSettings::default()
        };
        let error = short.validate_with(&graph).unwrap_err().to_string();
        assert!(error.contains("publishing.lease_secs"), "{error}");
        assert!(error.contains("graph.mutation_timeout_ms"), "{error}");
        let slow = GraphSettings {
            mutation_timeout_ms: 120_000,
            ..GraphSettings::default()
        };
        assert!(PublishingSettings::default().validate_with(&slow).is_err());
    }
}
