//! The secrets of the configured Meta apps, kept out of `Debug` output.

use std::collections::BTreeMap;
use std::sync::Arc;

use graphhook_graph::Host;
use secrecy::{ExposeSecret, SecretString};

/// One configured Meta app as the processor calls Meta for it.
#[derive(Clone)]
pub struct MetaApp {
    /// The Facebook app's secret: the app token of `debug_token`, the client
    /// secret of `fb_exchange_token`, `appsecret_proof` on graph.facebook.com.
    pub secret: SecretString,
    /// The Instagram app ("Instagram API with Instagram Login"), when configured:
    /// its id and secret, for Instagram-login tokens on graph.instagram.com.
    pub instagram: Option<(String, SecretString)>,
}

impl MetaApp {
    /// An app with only a Facebook app secret.
    pub fn facebook(secret: impl Into<String>) -> Self {
        MetaApp {
            secret: SecretString::from(secret.into()),
            instagram: None,
        }
    }
}

/// The secrets of the configured Meta apps, by (Facebook) app id. Cheap to
/// clone (the consumer hands it to every batch).
#[derive(Clone, Default)]
pub struct AppSecrets {
    apps: Arc<BTreeMap<String, MetaApp>>,
}

impl std::fmt::Debug for AppSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSecrets")
            .field("apps", &self.apps.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AppSecrets {
    /// Apps by app id.
    pub fn new(apps: BTreeMap<String, MetaApp>) -> Self {
        AppSecrets {
            apps: Arc::new(apps),
        }
    }

    /// The Facebook app's secret, if the app is configured.
    pub fn secret(&self, app_id: &str) -> Option<&SecretString> {
        self.apps.get(app_id).map(|app| &app.secret)
    }

    /// The Instagram app's id, if configured.
    pub fn instagram_app_id(&self, app_id: &str) -> Option<&str> {
        let app = self.apps.get(app_id)?;
        app.instagram.as_ref().map(|(id, _)| id.as_str())
    }

    /// The secret `appsecret_proof` is computed with for a token of this app on
    /// `host`: the Facebook app's on graph.facebook.com, the Instagram app's on
    /// graph.instagram.com (none when no Instagram app is configured).
    pub fn proof_key(&self, app_id: &str, host: Host) -> Option<SecretString> {
        let app = self.apps.get(app_id)?;
        match host {
            Host::Facebook => Some(app.secret.clone()),
            Host::Instagram => app.instagram.as_ref().map(|(_, secret)| secret.clone()),
        }
    }

    /// The app token `<app id>|<secret>`.
    pub fn app_token(&self, app_id: &str) -> Option<SecretString> {
        self.secret(app_id)
            .map(|secret| SecretString::from(format!("{app_id}|{}", secret.expose_secret())))
    }

    /// Whether the app is configured.
    pub fn knows(&self, app_id: &str) -> bool {
        self.apps.contains_key(app_id)
    }
}
