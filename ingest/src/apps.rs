//! The configured Meta apps, ready to verify requests.

use std::collections::{BTreeMap, HashMap};

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::settings::AppSettings;
use crate::signature::Verifier;

/// One app, as the handlers use it.
#[derive(Debug, Clone)]
pub struct App {
    /// Configured name (route segment).
    pub name: String,
    /// Meta's app id.
    pub app_id: String,
    /// Signature verifier with the app's secrets.
    pub verifier: Verifier,
    verify_token: Option<SecretString>,
    /// Keys data-deletion confirmation codes: the app's first secret.
    deletion_code_key: SecretString,
}

impl App {
    /// The key of the app's data-deletion confirmation codes.
    pub fn deletion_code_key(&self) -> &[u8] {
        self.deletion_code_key.expose_secret().as_bytes()
    }

    /// Whether `candidate` is the configured verify token. Compares SHA-256 digests in
    /// constant time, so neither content nor length leaks; no token means no match.
    pub fn verify_token_matches(&self, candidate: &str) -> bool {
        let Some(token) = &self.verify_token else {
            return false;
        };
        let expected = Sha256::digest(token.expose_secret().as_bytes());
        let given = Sha256::digest(candidate.as_bytes());
        expected.ct_eq(&given).into()
    }
}

/// All configured apps by name.
#[derive(Debug, Clone, Default)]
pub struct AppRegistry {
    apps: HashMap<String, App>,
}

impl AppRegistry {
    /// Builds the registry from validated settings.
    pub fn new(settings: &BTreeMap<String, AppSettings>) -> Self {
        let apps = settings
            .iter()
            .map(|(name, s)| {
                let app = App {
                    name: name.clone(),
                    app_id: s.app_id.clone(),
                    verifier: Verifier::new(&s.signing_secrets(), s.allow_sha1),
                    verify_token: s.verify_token.clone(),
                    deletion_code_key: s
                        .secrets
                        .first()
                        .cloned()
                        .unwrap_or_else(|| SecretString::from("")),
                };
                (name.clone(), app)
            })
            .collect();
        AppRegistry { apps }
    }

    /// The app called `name`.
    pub fn get(&self, name: &str) -> Option<&App> {
        self.apps.get(name)
    }
}
