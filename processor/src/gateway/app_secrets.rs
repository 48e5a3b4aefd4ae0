//! The secrets of the configured Meta apps, kept out of `Debug` output.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

/// The secrets of the configured Meta apps, by app id: the app token
/// (`<app id>|<secret>`) for `debug_token`, the client secret for
/// `fb_exchange_token`.
#[derive(Clone, Default)]
pub struct AppSecrets {
    secrets: BTreeMap<String, SecretString>,
}

impl std::fmt::Debug for AppSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSecrets")
            .field("apps", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AppSecrets {
    /// Secrets by app id.
    pub fn new(secrets: BTreeMap<String, SecretString>) -> Self {
        AppSecrets { secrets }
    }

    /// The app's secret, if the app is configured.
    pub fn secret(&self, app_id: &str) -> Option<&SecretString> {
        self.secrets.get(app_id)
    }

    /// The app token `<app id>|<secret>`.
    pub fn app_token(&self, app_id: &str) -> Option<SecretString> {
        self.secret(app_id)
            .map(|secret| SecretString::from(format!("{app_id}|{}", secret.expose_secret())))
    }

    /// Whether the app is configured.
    pub fn knows(&self, app_id: &str) -> bool {
        self.secrets.contains_key(app_id)
    }
}
