//! The usage headers on Graph API responses: `X-App-Usage` (percent of the app's
//! hourly allowance) and `X-Business-Use-Case-Usage` (per business object and use
//! case, with `estimated_time_to_regain_access` in MINUTES). They only appear once
//! enough calls were made.

use std::collections::BTreeMap;

use reqwest::header::HeaderMap;
use serde::Deserialize;

/// `X-App-Usage`: percentages of the app's allowance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
pub struct AppUsage {
    /// Calls, percent.
    #[serde(default)]
    pub call_count: f64,
    /// Total time, percent.
    #[serde(default)]
    pub total_time: f64,
    /// CPU time, percent.
    #[serde(default)]
    pub total_cputime: f64,
}

impl AppUsage {
    /// The highest of the three, as a share (1.0 = the allowance is used up).
    pub fn share(&self) -> f64 {
        self.call_count.max(self.total_time).max(self.total_cputime) / 100.0
    }
}

/// One entry of `X-Business-Use-Case-Usage`.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessUsage {
    /// The business object (Instagram account, Page, ad account) it is about.
    pub object_id: String,
    /// The use case (`instagram`, `pages`, `ads_management`, ...).
    pub kind: String,
    /// The highest of calls, total time and CPU time, as a share.
    pub share: f64,
    /// When access comes back, in minutes from now (0: not throttled).
    pub regain_minutes: u64,
}

/// What a response's headers said about usage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// The app's usage, if reported.
    pub app: Option<AppUsage>,
    /// Business use-case usage, if reported.
    pub business: Vec<BusinessUsage>,
}

#[derive(Deserialize)]
struct RawBusiness {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    call_count: f64,
    #[serde(default)]
    total_time: f64,
    #[serde(default)]
    total_cputime: f64,
    #[serde(default)]
    estimated_time_to_regain_access: f64,
}

impl Usage {
    /// Reads the usage headers; a malformed header is ignored (and logged), never
    /// a failure of the call.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let app = text("x-app-usage").and_then(|v| match serde_json::from_str::<AppUsage>(v) {
            Ok(usage) => Some(usage),
            Err(error) => {
                tracing::debug!(%error, "malformed X-App-Usage header");
                None
            }
        });
        let business = text("x-business-use-case-usage")
            .and_then(|v| {
                serde_json::from_str::<BTreeMap<String, Vec<RawBusiness>>>(v)
                    .map_err(|error| tracing::debug!(%error, "malformed X-Business-Use-Case-Usage header"))
                    .ok()
            })
            .map(|objects| {
                objects
                    .into_iter()
                    .flat_map(|(object_id, entries)| {
                        entries.into_iter().map(move |e| BusinessUsage {
                            object_id: object_id.clone(),
                            kind: e.kind,
                            share: e.call_count.max(e.total_time).max(e.total_cputime) / 100.0,
                            regain_minutes: e.estimated_time_to_regain_access.max(0.0).ceil() as u64,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Usage { app, business }
    }

    /// Whether the headers said anything.
    pub fn is_empty(&self) -> bool {
        self.app.is_none() && self.business.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn both_headers_are_read_with_the_regain_time_in_minutes() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-app-usage",
            HeaderValue::from_static(
                r#"{"call_count": 28, "total_time": 25, "total_cputime": 91}"#,
            ),
        );
        headers.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(
                r#"{"17841400000": [{"type": "instagram", "call_count": 95, "total_cputime": 20, "total_time": 20, "estimated_time_to_regain_access": 12}]}"#,
            ),
        );
        let usage = Usage::from_headers(&headers);
        assert!((usage.app.unwrap().share() - 0.91).abs() < 1e-9);
        assert_eq!(
            usage.business,
            vec![BusinessUsage {
                object_id: "17841400000".into(),
                kind: "instagram".into(),
                share: 0.95,
                regain_minutes: 12,
            }]
        );
    }

    #[test]
    fn missing_or_malformed_headers_say_nothing() {
        assert!(Usage::from_headers(&HeaderMap::new()).is_empty());
        let mut headers = HeaderMap::new();
        headers.insert("x-app-usage", HeaderValue::from_static("not json"));
        assert!(Usage::from_headers(&headers).is_empty());
    }
}
