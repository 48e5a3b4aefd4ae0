//! The `[graph]` configuration section.

use graphhook_schema::SettingsError;
use serde::{Deserialize, Serialize};
use url::Url;

/// Where the Graph API is and how long calls may take.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GraphSettings {
    /// Base URL of the Facebook Graph API (tests and benchmarks point it at a fake).
    pub facebook_url: Url,
    /// Base URL of the Instagram Graph API (Instagram-login tokens).
    pub instagram_url: Url,
    /// The API version in every versioned path, e.g. `v24.0`.
    pub api_version: String,
    /// Connecting may take this long, in milliseconds.
    pub connect_timeout_ms: u64,
    /// A read (GET) may take this long in all, in milliseconds.
    pub read_timeout_ms: u64,
    /// A mutation (POST) may take this long in all, in milliseconds. When it times
    /// out, its outcome is unknown and is read back, never repeated blindly.
    pub mutation_timeout_ms: u64,
    /// Above this share of a usage allowance (0 to 1), calls for that app or
    /// account are spaced out.
    pub slow_down_share: f64,
    /// At the allowance's end, the spacing between calls, in milliseconds.
    pub max_spacing_ms: u64,
    /// How long nothing is called for an account (or app) after a throttle answer
    /// that carries no regain time, in seconds.
    pub throttle_hold_secs: u64,
}

impl Default for GraphSettings {
    fn default() -> Self {
        GraphSettings {
            facebook_url: Url::parse("https://graph.facebook.com").expect("a valid URL"),
            instagram_url: Url::parse("https://graph.instagram.com").expect("a valid URL"),
            api_version: "v24.0".to_owned(),
            connect_timeout_ms: 3_000,
            read_timeout_ms: 10_000,
            mutation_timeout_ms: 30_000,
            slow_down_share: 0.8,
            max_spacing_ms: 60_000,
            throttle_hold_secs: 300,
        }
    }
}

impl GraphSettings {
    /// Checks values that deserialize but cannot work.
    pub fn validate(&self) -> Result<(), SettingsError> {
        for (key, url) in [
            ("graph.facebook_url", &self.facebook_url),
            ("graph.instagram_url", &self.instagram_url),
        ] {
            if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
                return Err(SettingsError::new(key, "must be an absolute http(s) URL"));
            }
        }
        let version = self.api_version.strip_prefix('v').unwrap_or_default();
        let valid_version = version.split_once('.').is_some_and(|(major, minor)| {
            !major.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && !minor.is_empty()
                && minor.bytes().all(|b| b.is_ascii_digit())
        });
        if !valid_version {
            return Err(SettingsError::new(
                "graph.api_version",
                "must look like v24.0",
            ));
        }
        for (key, value) in [
            ("graph.connect_timeout_ms", self.connect_timeout_ms),
            ("graph.read_timeout_ms", self.read_timeout_ms),
            ("graph.mutation_timeout_ms", self.mutation_timeout_ms),
        ] {
            if !(100..=300_000).contains(&value) {
                return Err(SettingsError::new(key, "must be between 100 and 300000"));
            }
        }
        if !(0.1..=1.0).contains(&self.slow_down_share) {
            return Err(SettingsError::new(
                "graph.slow_down_share",
                "must be between 0.1 and 1.0",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_errors_name_the_key() {
        GraphSettings::default().validate().unwrap();
        let wrong = GraphSettings {
            api_version: "24".to_owned(),
            ..Default::default()
        };
        assert_eq!(wrong.validate().unwrap_err().key, "graph.api_version");
        let wrong = GraphSettings {
            slow_down_share: 1.5,
            ..Default::default()
        };
        assert_eq!(wrong.validate().unwrap_err().key, "graph.slow_down_share");
    }
}
