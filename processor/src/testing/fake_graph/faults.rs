//! Failures the fake plays on every call of both hosts while a test sets one
//! ([`super::FakeState::fault`]): Meta down (5xx), answers that come too late or
//! are lost after the call took effect, and an app throttled.

use std::time::Duration;

use wiremock::ResponseTemplate;

use super::{error, FakeState};

/// A failure played on every call while set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `500` with a transient error (code 2); the call has no effect.
    ServerError,
    /// One call in `one_in` takes effect and is answered after `delay_ms`
    /// (longer than the caller waits: it never learns the outcome).
    LateAnswer {
        /// How late the answer comes, ms.
        delay_ms: u64,
        /// Which share of the calls: one in so many.
        one_in: u32,
    },
    /// One call in `one_in` takes effect and its answer is lost (`502`, no body).
    LostAnswer {
        /// Which share of the calls: one in so many.
        one_in: u32,
    },
    /// The app is throttled (code 4, `X-App-Usage` at 100); the call has no
    /// effect. Calls made meanwhile are counted: Meta extends the throttle for
    /// them.
    Throttled,
}

impl Fault {
    /// The answer given instead of handling the call, for faults that stop it.
    pub(super) fn instead(self, state: &mut FakeState) -> Option<ResponseTemplate> {
        match self {
            Fault::ServerError => Some(error(
                500,
                2,
                None,
                "An unexpected error has occurred. Please retry your request later.",
            )),
            Fault::Throttled => {
                state.calls_while_throttled += 1;
                Some(
                    error(403, 4, None, "Application request limit reached").insert_header(
                        "x-app-usage",
                        r#"{"call_count":100,"total_time":12,"total_cputime":9}"#,
                    ),
                )
            }
            Fault::LateAnswer { .. } | Fault::LostAnswer { .. } => None,
        }
    }

    /// The answer the caller gets for a call that was handled.
    pub(super) fn after(self, state: &mut FakeState, answer: ResponseTemplate) -> ResponseTemplate {
        let mut hits = |one_in: u32| {
            state.faulted_calls += 1;
            state.faulted_calls.is_multiple_of(one_in.max(1))
        };
        match self {
            Fault::LateAnswer { delay_ms, one_in } if hits(one_in) => {
                answer.set_delay(Duration::from_millis(delay_ms))
            }
            Fault::LostAnswer { one_in } if hits(one_in) => ResponseTemplate::new(502),
            _ => answer,
        }
    }
}
