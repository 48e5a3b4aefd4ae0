//! What a Graph API answer means for graphhook: the one table from an answer
//! (HTTP status, code, subcode, `is_transient`, the kind of call) to an
//! [`Action`] (meta-platform.md sections 7 and 9).
//!
//! Every caller asks it: the client (the [`ErrorClass`] of a failed call), the
//! processor's call budget (what a throttle holds), the account state machine
//! (whether and why an answer asks for a reconnect), the publication tracker (the
//! publishing quota, media not ready, an outcome nobody knows, a container's
//! `ERROR`) and the classifier of the errors client services report on
//! `graph-errors.v1`. Nothing else matches on Meta's codes.

use graphhook_schema::account::Reason;
use graphhook_schema::graph_error::ErrorClass;

/// The kind of call that was answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CallKind {
    /// A read (GET): trying it again changes nothing at Meta.
    #[default]
    Read,
    /// A call that changes something at Meta (publishing, creating a container):
    /// a lost answer leaves its outcome unknown.
    Mutation,
}

/// Who a throttle holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// The app as a whole (code 4, the application request limit).
    App,
    /// The account (business object) the call was made for.
    Account,
}

/// What graphhook does about a failed answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Transient: try again later, with backoff.
    RetryLater,
    /// Meta throttles: nothing is called for the app or the account until the
    /// regain time (or the configured hold) has passed.
    Throttle(Throttled),
    /// The content-publishing quota is used up (9 / 2207042): the publication
    /// waits for a free slot; it is not an API throttle, other calls go on.
    QuotaFull,
    /// The user must act: the account needs reconnecting, for this reason.
    Reconnect(Reason),
    /// Bad input: do not retry as is.
    FixRequest,
    /// The media is not ready yet (9007 / 2207027): wait, then publish.
    NotReady,
    /// A mutation whose answer was lost (timeout, connection lost, 5xx without a
    /// code): read the state before acting again.
    ReadStateFirst,
}

impl Action {
    /// The class of this action, as reported on `graph-errors.v1` and in metrics.
    pub fn class(self) -> ErrorClass {
        match self {
            Action::RetryLater => ErrorClass::RetryLater,
            Action::Throttle(_) | Action::QuotaFull => ErrorClass::Wait,
            Action::Reconnect(_) => ErrorClass::Reconnect,
            Action::FixRequest => ErrorClass::FixRequest,
            Action::NotReady => ErrorClass::NotReady,
            Action::ReadStateFirst => ErrorClass::UnknownOutcome,
        }
    }
}

/// What is known about a failed call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failure {
    /// HTTP status; absent for timeouts and connection failures.
    pub http_status: Option<u16>,
    /// Error code.
    pub code: Option<i64>,
    /// Error subcode.
    pub subcode: Option<i64>,
    /// Meta's `is_transient`.
    pub is_transient: Option<bool>,
    /// The kind of call that failed.
    pub call: CallKind,
}

impl Failure {
    /// What to do about it: the table. A mutation whose answer was lost comes
    /// first; then specific (code, subcode) pairs, then codes; then Meta's
    /// transient flag; then the HTTP status.
    pub fn action(&self) -> Action {
        let answer_lost = self.http_status.is_none_or(|status| status >= 500);
        if self.call == CallKind::Mutation && answer_lost && self.code.is_none() {
            return Action::ReadStateFirst;
        }
        if let Some(action) = self.code.and_then(|code| coded(code, self.subcode)) {
            return action;
        }
        if self.is_transient == Some(true) {
            return Action::RetryLater;
        }
        match self.http_status {
            None => Action::RetryLater,
            Some(429) => Action::Throttle(Throttled::Account),
            Some(status) if status >= 500 => Action::RetryLater,
            Some(_) => Action::FixRequest,
        }
    }

    /// The class of [`Failure::action`].
    pub fn class(&self) -> ErrorClass {
        self.action().class()
    }
}

/// The action for a known code (and subcode), most specific first.
fn coded(code: i64, subcode: Option<i64>) -> Option<Action> {
    use Action::*;
    Some(match (code, subcode) {
        (9007, _) => NotReady,
        (9, Some(2_207_042)) => QuotaFull,
        (25, Some(2_207_050)) => Reconnect(Reason::AccountRestricted),
        (-1, Some(2_207_001 | 2_207_032)) | (-2, Some(2_207_003)) => RetryLater,
        (352 | 9004 | 100 | 36_000..=36_004, _) => FixRequest,
        (4, _) => Throttle(Throttled::App),
        (17 | 32 | 613 | 80_001..=80_009, _) => Throttle(Throttled::Account),
        (190 | 102, _) => Reconnect(Reason::TokenInvalid),
        (10 | 200..=299, _) => Reconnect(Reason::PermissionMissing),
        (492, _) => Reconnect(Reason::PageRoleLost),
        (1 | 2 | 341, _) => RetryLater,
        _ => return None,
    })
}

/// The class of an error a client service reported (a read's answer).
pub fn classify(
    http_status: Option<u16>,
    code: Option<i64>,
    subcode: Option<i64>,
    is_transient: Option<bool>,
) -> ErrorClass {
    reported(http_status, code, subcode, is_transient).class()
}

/// The action for an error a client service reported (a read's answer).
pub fn reported(
    http_status: Option<u16>,
    code: Option<i64>,
    subcode: Option<i64>,
    is_transient: Option<bool>,
) -> Action {
    Failure {
        http_status,
        code,
        subcode,
        is_transient,
        call: CallKind::Read,
    }
    .action()
}

/// What a container that ended in `ERROR` asks for, by the subcode in its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerFailure {
    /// A transient upload failure: a new container (bounded).
    Transient,
    /// The container is gone (expired): read it again within two minutes, then a
    /// new container.
    Gone,
    /// The input must change: fail with `fix_request`.
    Input,
}

/// A container's `ERROR`, by the subcode in its `status` text (meta-platform.md
/// section 9). Unknown subcodes are tried again (bounded by the caller).
pub fn container_failure(subcode: Option<i64>, earlier_attempts: i64) -> ContainerFailure {
    match subcode {
        Some(2_207_008 | 2_207_020) => ContainerFailure::Gone,
        Some(2_207_023 | 2_207_026 | 2_207_028 | 36_000..=36_004) => ContainerFailure::Input,
        // A media URL Meta could not fetch flaps for days: once is transient,
        // again on a new container is the input's fault.
        Some(2_207_052) if earlier_attempts > 1 => ContainerFailure::Input,
        _ => ContainerFailure::Transient,
    }
}

#[cfg(test)]
#[path = "answer_tests.rs"]
mod tests;
