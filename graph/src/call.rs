//! One Graph API call, described before it is made.

use secrecy::SecretString;

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
    /// Whether the call changes something at Meta: a lost answer then leaves its
    /// outcome unknown.
    pub mutation: bool,
    /// Meta's app id, for logs.
    pub app_id: String,
    /// The account the call is made for, for logs.
    pub account_id: String,
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
            mutation: false,
            app_id: String::new(),
            account_id: String::new(),
        }
    }

    /// A POST to `path` (a mutation).
    pub fn post(host: Host, endpoint: &'static str, path: impl Into<String>) -> Self {
        Call {
            post: true,
            mutation: true,
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

    /// Names the app and account the call is made for (logs).
    pub fn for_account(mut self, app_id: &str, account_id: &str) -> Self {
        app_id.clone_into(&mut self.app_id);
        account_id.clone_into(&mut self.account_id);
        self
    }
}
