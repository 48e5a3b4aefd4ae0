//! One Graph API call, described before it is made.

use secrecy::SecretString;

use crate::answer::CallKind;

/// Which Graph API host a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host {
    /// graph.facebook.com: Facebook-login tokens, Pages, content publishing through
    /// a Page-linked Instagram account, `debug_token`.
    Facebook,
    /// graph.instagram.com: Instagram-login tokens and their refresh.
    Instagram,
}

/// A Graph API call. Tokens go in the `Authorization` header; the few credentials
/// Meta takes only as query parameters (`input_token`, `fb_exchange_token`,
/// `client_secret`) go in `secret_query`, which is never logged (the client logs
/// the endpoint label and the path's template, never the URL).
#[derive(Debug, Clone)]
pub struct Call {
    /// The host.
    pub host: Host,
    /// POST (`true`) or GET.
    pub post: bool,
    /// The path after the version, e.g. `/17841400000/media`.
    pub path: String,
    /// Whether the path is prefixed with the API version (`refresh_access_token`
    /// on graph.instagram.com is not).
    pub versioned: bool,
    /// A bounded label for metrics and logs, e.g. `container_status`.
    pub endpoint: &'static str,
    /// Query parameters that are not secret.
    pub query: Vec<(String, String)>,
    /// Query parameters that are secret.
    pub secret_query: Vec<(String, SecretString)>,
    /// Form fields of a POST.
    pub form: Vec<(String, String)>,
    /// The access token, sent as `Authorization: Bearer`.
    pub token: Option<SecretString>,
    /// A read, or a mutation (a call that changes something at Meta: a lost
    /// answer then leaves its outcome unknown).
    pub kind: CallKind,
    /// Meta's app id, for logs.
    pub app_id: String,
    /// The account the call is made for, for logs.
    pub account_id: String,
    /// The secret of the app the token belongs to on this call's host: the call
    /// then carries `appsecret_proof` (see [`appsecret_proof`]).
    pub proof_key: Option<SecretString>,
}

/// `appsecret_proof` of `token` under `secret`: the hex HMAC-SHA256 of the
/// token keyed with the app secret. Apps with "Require App Secret" on refuse
/// calls without it; Meta recommends it for every server-side call.
pub fn appsecret_proof(secret: &SecretString, token: &SecretString) -> String {
    use hmac::{Hmac, Mac};
    use secrecy::ExposeSecret;
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(token.expose_secret().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

impl Call {
    /// A GET of `path` (a read).
    pub fn get(host: Host, endpoint: &'static str, path: impl Into<String>) -> Self {
        Call {
            host,
            post: false,
            path: path.into(),
            versioned: true,
            endpoint,
            query: Vec::new(),
            secret_query: Vec::new(),
            form: Vec::new(),
            token: None,
            kind: CallKind::Read,
            app_id: String::new(),
            account_id: String::new(),
            proof_key: None,
        }
    }

    /// A POST to `path` (a mutation).
    pub fn post(host: Host, endpoint: &'static str, path: impl Into<String>) -> Self {
        Call {
            post: true,
            kind: CallKind::Mutation,
            ..Call::get(host, endpoint, path)
        }
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_owned(), value.into()));
        self
    }

    /// Adds a secret query parameter.
    pub fn secret_query(mut self, key: &str, value: SecretString) -> Self {
        self.secret_query.push((key.to_owned(), value));
        self
    }

    /// Adds a form field.
    pub fn form(mut self, key: &str, value: impl Into<String>) -> Self {
        self.form.push((key.to_owned(), value.into()));
        self
    }

    /// Sends `token` as `Authorization: Bearer`.
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// The path is not prefixed with the API version.
    pub fn unversioned(mut self) -> Self {
        self.versioned = false;
        self
    }

    /// Sends `appsecret_proof` computed with `secret` (the secret of the app
    /// whose token the call carries, on this call's host).
    pub fn proved_with(mut self, secret: SecretString) -> Self {
        self.proof_key = Some(secret);
        self
    }

    /// The query parameters that are secret, with `appsecret_proof` when the call
    /// has a token and a proof key.
    pub fn secret_params(&self) -> Vec<(String, SecretString)> {
        let mut params = self.secret_query.clone();
        if let (Some(secret), Some(token)) = (&self.proof_key, &self.token) {
            params.push((
                "appsecret_proof".to_owned(),
                SecretString::from(appsecret_proof(secret, token)),
            ));
        }
        params
    }

    /// Names the app and account the call is made for (logs).
    pub fn for_account(mut self, app_id: &str, account_id: &str) -> Self {
        app_id.clone_into(&mut self.app_id);
        account_id.clone_into(&mut self.account_id);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proof_is_the_hex_hmac_of_the_token_and_is_sent_only_with_a_token() {
        let secret = SecretString::from("app-secret");
        let token = SecretString::from("EAAB-token");
        // python3: hmac.new(b"app-secret", b"EAAB-token", hashlib.sha256).hexdigest()
        assert_eq!(
            appsecret_proof(&secret, &token),
            "294c307ff2427ed2140908ec13f483ef7f7d7819a8fc32fb535cf6ada2327ab2"
        );
        let call = Call::get(Host::Facebook, "me", "/me")
            .token(token)
            .proved_with(secret.clone());
        let params = call.secret_params();
        assert_eq!(params.len(), 1);
        assert_eq!(params[0].0, "appsecret_proof");
        let without_token = Call::get(Host::Facebook, "me", "/me").proved_with(secret);
        assert!(without_token.secret_params().is_empty());
    }
}
