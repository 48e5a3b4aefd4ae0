//! The Graph API client: builds the request, sends it with the call's timeout,
//! reads usage headers, and turns a failed answer into one [`ErrorClass`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use graphhook_schema::graph_error::{ErrorClass, GraphApiError, GraphApiErrorBody};

use crate::answer::{Action, CallKind, Failure};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use url::Url;

use crate::call::{Call, Host};
use crate::flight::Flights;
use crate::settings::GraphSettings;
use crate::usage::Usage;

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The JSON body (`null` when the body was empty).
    pub body: serde_json::Value,
    /// What the usage headers said.
    pub usage: Usage,
}

/// A failed call: what is known, and what to do about it.
#[derive(Debug, Clone)]
pub struct CallError {
    /// The call's endpoint label.
    pub endpoint: &'static str,
    /// Status, code, subcode, transience and whether it was a mutation.
    pub failure: Failure,
    /// Its class (the class of [`CallError::action`]).
    pub class: ErrorClass,
    /// Meta's error object, when the body had one.
    pub error: Option<GraphApiError>,
    /// What the usage headers said.
    pub usage: Usage,
    /// For timeouts and connection failures: what happened (never a URL).
    pub transport: Option<String>,
}

impl CallError {
    /// What to do about it: the [`answer`](crate::answer) table's action.
    pub fn action(&self) -> Action {
        self.failure.action()
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Graph API {} failed: {}",
            self.endpoint,
            self.class.as_str()
        )?;
        match (self.failure.http_status, &self.transport) {
            (Some(status), _) => write!(f, " (HTTP {status}")?,
            (None, Some(transport)) => write!(f, " ({transport}")?,
            (None, None) => write!(f, " (no answer")?,
        }
        if let Some(code) = self.failure.code {
            write!(f, ", code {code}")?;
        }
        if let Some(subcode) = self.failure.subcode {
            write!(f, ", subcode {subcode}")?;
        }
        write!(f, ")")
    }
}

impl std::error::Error for CallError {}

/// A call's result: the answer, or why there is none.
pub type Outcome = Result<Answer, CallError>;

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the Graph API HTTP client")]
pub struct BuildError(#[source] reqwest::Error);

/// The Graph API client. Cheap to clone.
#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    settings: Arc<GraphSettings>,
    flights: Arc<Flights<Outcome>>,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("facebook_url", &self.settings.facebook_url.as_str())
            .field("instagram_url", &self.settings.instagram_url.as_str())
            .field("api_version", &self.settings.api_version)
            .finish()
    }
}

impl GraphClient {
    /// A client for the configured hosts and version.
    pub fn new(settings: &GraphSettings) -> Result<Self, BuildError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("graphhook/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(BuildError)?;
        Ok(GraphClient {
            http,
            settings: Arc::new(settings.clone()),
            flights: Arc::default(),
        })
    }

    /// The settings the client was built with.
    pub fn settings(&self) -> &GraphSettings {
        &self.settings
    }

    /// Makes `call`. Identical concurrent GETs (same URL and token) are made once
    /// and share their answer.
    pub async fn call(&self, call: &Call) -> Result<Answer, CallError> {
        let url = match self.url(call) {
            Ok(url) => url,
            Err(error) => return Err(self.refused_locally(call, &error)),
        };
        if call.post {
            return self.perform(call, url).await;
        }
        let key = flight_key(&url, call);
        self.flights
            .run(key, || self.perform(call, url.clone()))
            .await
    }

    fn url(&self, call: &Call) -> Result<Url, url::ParseError> {
        let base = match call.host {
            Host::Facebook => &self.settings.facebook_url,
            Host::Instagram => &self.settings.instagram_url,
        };
        let path = if call.versioned {
            format!("/{}{}", self.settings.api_version, call.path)
        } else {
            call.path.clone()
        };
        let mut url = base.join(&path)?;
        let secret_query = call.secret_params();
        if !call.query.is_empty() || !secret_query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in &call.query {
                pairs.append_pair(key, value);
            }
            for (key, value) in &secret_query {
                pairs.append_pair(key, value.expose_secret());
            }
        }
        Ok(url)
    }

    async fn perform(&self, call: &Call, url: Url) -> Outcome {
        let timeout = Duration::from_millis(if call.kind == CallKind::Mutation {
            self.settings.mutation_timeout_ms
        } else {
            self.settings.read_timeout_ms
        });
        let mut request = if call.post {
            self.http.post(url).form(&call.form)
        } else {
            self.http.get(url)
        };
        request = request.timeout(timeout);
        if let Some(token) = &call.token {
            if let Ok(mut value) =
                HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            {
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
        }
        let started = Instant::now();
        let outcome = match request.send().await {
            Err(error) => Err(self.transport_failure(call, &error)),
            Ok(response) => self.read(call, response).await,
        };
        if let Err(error) = &outcome {
            log_failure(call, error, started.elapsed());
        }
        outcome
    }

    async fn read(&self, call: &Call, response: reqwest::Response) -> Outcome {
        let status = response.status().as_u16();
        let usage = Usage::from_headers(response.headers());
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => {
                // The answer started but was lost: as if none came.
                let mut lost = self.transport_failure(call, &error);
                lost.usage = usage;
                return Err(lost);
            }
        };
        interpret(call, status, usage, &bytes)
    }

    fn transport_failure(&self, call: &Call, error: &reqwest::Error) -> CallError {
        let failure = Failure {
            call: call.kind,
            ..Failure::default()
        };
        let what = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "could not connect"
        } else {
            "connection lost"
        };
        CallError {
            endpoint: call.endpoint,
            class: failure.class(),
            failure,
            error: None,
            usage: Usage::default(),
            transport: Some(what.to_owned()),
        }
    }

    fn refused_locally(&self, call: &Call, error: &url::ParseError) -> CallError {
        let failure = Failure {
            http_status: Some(400),
            ..Failure::default()
        };
        CallError {
            endpoint: call.endpoint,
            class: failure.class(),
            failure,
            error: None,
            usage: Usage::default(),
            transport: Some(format!("invalid path: {error}")),
        }
    }
}

/// One structured line per failed call; never a token, a URL or a message that
/// may hold user data.
fn log_failure(call: &Call, error: &CallError, elapsed: Duration) {
    let meta = error.error.as_ref();
    tracing::warn!(
        endpoint = call.endpoint,
        app_id = %call.app_id,
        account_id = %call.account_id,
        http_status = error.failure.http_status,
        code = error.failure.code,
        subcode = error.failure.subcode,
        class = error.class.as_str(),
        error_type = meta.and_then(|e| e.kind.as_deref()),
        fbtrace_id = meta.and_then(|e| e.fbtrace_id.as_deref()),
        transport = error.transport.as_deref(),
        elapsed_ms = elapsed.as_millis() as u64,
        "Graph API call failed"
    );
}

/// Identifies a GET by its URL and token, without keeping either.
fn flight_key(url: &Url, call: &Call) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(url.as_str().as_bytes());
    hasher.update([0]);
    if let Some(token) = &call.token {
        hasher.update(token.expose_secret().as_bytes());
    }
    hasher.finalize().into()
}

/// What an answer that arrived says: a 2xx answer's body (JSON, or `null` when
/// empty or unreadable), or the failure its status and error body describe.
/// Never fails to decide: any bytes from the network give one or the other.
#[allow(clippy::result_large_err)] // the client's own result type, returned once per call
pub fn interpret(call: &Call, status: u16, usage: Usage, bytes: &[u8]) -> Outcome {
    if (200..300).contains(&status) {
        let body = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(bytes).unwrap_or(serde_json::Value::Null)
        };
        return Ok(Answer {
            status,
            body,
            usage,
        });
    }
    let error = serde_json::from_slice::<GraphApiErrorBody>(bytes)
        .ok()
        .map(|body| body.error);
    let failure = Failure {
        http_status: Some(status),
        code: error.as_ref().and_then(|e| e.code),
        subcode: error.as_ref().and_then(|e| e.error_subcode),
        is_transient: error.as_ref().and_then(|e| e.is_transient),
        call: call.kind,
    };
    Err(CallError {
        endpoint: call.endpoint,
        class: failure.class(),
        failure,
        error,
        usage,
        transport: None,
    })
}
