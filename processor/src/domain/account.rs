//! The account state machine (design brief, "State machines"):
//!
//! `active` <-> `refreshing`; `active | refreshing` -> `reconnect_required` (token
//! expired or invalid, permission removed, Page role lost, account restricted) ->
//! `active` (permission granted again / reconnected); any -> `revoked` (app removed,
//! data deletion requested).
//!
//! State is monotonic in event time: a trigger older than the state's last change is
//! ignored, so late or repeated events never move an account backwards.

use graphhook_graph::answer::{reported, Action};
use graphhook_schema::account::{AccountState, Reason, RequiredAction};

/// What happened to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Deauthorize callback.
    Deauthorized,
    /// Data-deletion callback.
    DataDeletionRequested,
    /// `permissions` change with verb `revoked`.
    PermissionRevoked,
    /// `permissions` change with verb `granted`.
    PermissionGranted,
    /// A Graph API error a client service reported.
    GraphError {
        /// HTTP status, absent for timeouts.
        http_status: Option<u16>,
        /// Error code.
        code: Option<i64>,
        /// Error subcode.
        subcode: Option<i64>,
        /// Meta's `is_transient`.
        is_transient: Option<bool>,
    },
    /// The operator marked the account connected again.
    Reconnected,
    /// A token refresh started.
    RefreshStarted,
    /// A token refresh finished successfully.
    RefreshCompleted,
    /// A token refresh failed for now; it is retried.
    RefreshFailed,
    /// The token was not refreshed and expires within the alert window.
    TokenExpiring,
    /// A valid token was registered (checked with `debug_token`).
    TokenRegistered,
}

/// An account's current state and when (event time) it last changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Current state.
    pub state: AccountState,
    /// Why it is in that state, if it ever changed.
    pub reason: Option<Reason>,
    /// Event time of the last change, epoch milliseconds.
    pub changed_at_ms: i64,
}

impl Snapshot {
    /// A newly seen account: active, never changed.
    pub fn new_account() -> Self {
        Snapshot {
            state: AccountState::Active,
            reason: None,
            changed_at_ms: i64::MIN,
        }
    }
}

/// One state change, the content of an `accounts.v1` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// State before.
    pub from: AccountState,
    /// State after.
    pub to: AccountState,
    /// Why.
    pub reason: Reason,
    /// What must be done.
    pub action: RequiredAction,
    /// Event time of the trigger, epoch milliseconds.
    pub at_ms: i64,
}

impl Transition {
    /// The snapshot after this transition.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            state: self.to,
            reason: Some(self.reason),
            changed_at_ms: self.at_ms,
        }
    }
}

/// The transition `trigger` at event time `at_ms` causes, if any.
pub fn apply(current: Snapshot, trigger: Trigger, at_ms: i64) -> Option<Transition> {
    use AccountState::*;
    if at_ms < current.changed_at_ms {
        return None;
    }
    let (to, reason, action) = match (current.state, trigger) {
        (Revoked, Trigger::Deauthorized) => return None,
        (_, Trigger::Deauthorized) => (Revoked, Reason::AppRemoved, RequiredAction::Reconnect),
        (Revoked, Trigger::DataDeletionRequested)
            if current.reason == Some(Reason::DataDeletionRequested) =>
        {
            return None
        }
        (_, Trigger::DataDeletionRequested) => (
            Revoked,
            Reason::DataDeletionRequested,
            RequiredAction::DeleteData,
        ),
        (Active | Refreshing, Trigger::PermissionRevoked) => (
            ReconnectRequired,
            Reason::PermissionRevoked,
            RequiredAction::Reconnect,
        ),
        (ReconnectRequired, Trigger::PermissionGranted)
            if matches!(
                current.reason,
                Some(Reason::PermissionRevoked | Reason::PermissionMissing)
            ) =>
        {
            (Active, Reason::PermissionGranted, RequiredAction::None)
        }
        (
            Active | Refreshing,
            Trigger::GraphError {
                http_status,
                code,
                subcode,
                is_transient,
            },
        ) => {
            let Action::Reconnect(reason) = reported(http_status, code, subcode, is_transient)
            else {
                return None;
            };
            (ReconnectRequired, reason, RequiredAction::Reconnect)
        }
        (ReconnectRequired | Revoked, Trigger::Reconnected) => {
            (Active, Reason::Reconnected, RequiredAction::None)
        }
        (Active, Trigger::RefreshStarted) => {
            (Refreshing, Reason::RefreshStarted, RequiredAction::None)
        }
        (Refreshing, Trigger::RefreshCompleted) => {
            (Active, Reason::RefreshCompleted, RequiredAction::None)
        }
        (Refreshing, Trigger::RefreshFailed) => {
            (Active, Reason::RefreshFailed, RequiredAction::None)
        }
        (Active | Refreshing, Trigger::TokenExpiring) => (
            ReconnectRequired,
            Reason::TokenExpiring,
            RequiredAction::Reconnect,
        ),
        (ReconnectRequired | Revoked, Trigger::TokenRegistered) => {
            (Active, Reason::TokenRegistered, RequiredAction::None)
        }
        _ => return None,
    };
    Some(Transition {
        from: current.state,
        to,
        reason,
        action,
        at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccountState::*;

    fn at(state: AccountState, reason: Option<Reason>, changed_at_ms: i64) -> Snapshot {
        Snapshot {
            state,
            reason,
            changed_at_ms,
        }
    }

    fn graph_error(code: i64, subcode: Option<i64>) -> Trigger {
        Trigger::GraphError {
            http_status: Some(400),
            code: Some(code),
            subcode,
            is_transient: None,
        }
    }

    #[test]
    fn revoking_a_permission_requires_a_reconnect_and_granting_it_restores_the_account() {
        let revoked = apply(Snapshot::new_account(), Trigger::PermissionRevoked, 10).unwrap();
        assert_eq!((revoked.from, revoked.to), (Active, ReconnectRequired));
        assert_eq!(revoked.action, RequiredAction::Reconnect);
        let granted = apply(revoked.snapshot(), Trigger::PermissionGranted, 20).unwrap();
        assert_eq!(
            (granted.to, granted.reason, granted.action),
            (Active, Reason::PermissionGranted, RequiredAction::None)
        );
    }

    #[test]
    fn a_grant_older_than_the_revocation_changes_nothing() {
        let revoked = apply(Snapshot::new_account(), Trigger::PermissionRevoked, 2_000).unwrap();
        assert_eq!(
            apply(revoked.snapshot(), Trigger::PermissionGranted, 1_000),
            None
        );
    }

    #[test]
    fn repeated_triggers_make_no_second_transition() {
        let revoked = apply(Snapshot::new_account(), Trigger::PermissionRevoked, 10).unwrap();
        assert_eq!(
            apply(revoked.snapshot(), Trigger::PermissionRevoked, 10),
            None
        );
        let removed = apply(Snapshot::new_account(), Trigger::Deauthorized, 10).unwrap();
        assert_eq!(apply(removed.snapshot(), Trigger::Deauthorized, 11), None);
    }

    #[test]
    fn any_state_is_revoked_by_removal_or_deletion() {
        for state in [Active, Refreshing, ReconnectRequired] {
            let t = apply(at(state, None, 0), Trigger::Deauthorized, 5).unwrap();
            assert_eq!((t.to, t.reason), (Revoked, Reason::AppRemoved));
            let t = apply(at(state, None, 0), Trigger::DataDeletionRequested, 5).unwrap();
            assert_eq!((t.to, t.action), (Revoked, RequiredAction::DeleteData));
        }
    }

    #[test]
    fn deletion_after_removal_is_a_transition_that_asks_for_deletion() {
        let removed = apply(Snapshot::new_account(), Trigger::Deauthorized, 5).unwrap();
        let deletion = apply(removed.snapshot(), Trigger::DataDeletionRequested, 6).unwrap();
        assert_eq!(
            (deletion.from, deletion.to, deletion.action),
            (Revoked, Revoked, RequiredAction::DeleteData)
        );
        assert_eq!(
            apply(deletion.snapshot(), Trigger::DataDeletionRequested, 7),
            None
        );
    }

    #[test]
    fn only_reconnect_class_graph_errors_flag_the_account() {
        let cases = [
            (graph_error(190, Some(463)), Some(Reason::TokenInvalid)),
            (graph_error(102, None), Some(Reason::TokenInvalid)),
            (graph_error(10, None), Some(Reason::PermissionMissing)),
            (graph_error(200, None), Some(Reason::PermissionMissing)),
            (graph_error(492, None), Some(Reason::PageRoleLost)),
            (
                graph_error(25, Some(2_207_050)),
                Some(Reason::AccountRestricted),
            ),
            (graph_error(4, None), None),
            (graph_error(100, Some(2_207_023)), None),
            (graph_error(9007, Some(2_207_027)), None),
        ];
        for (trigger, reason) in cases {
            let transition = apply(Snapshot::new_account(), trigger, 1);
            assert_eq!(transition.map(|t| t.reason), reason, "{trigger:?}");
        }
    }

    #[test]
    fn a_grant_does_not_restore_a_token_problem() {
        let flagged = apply(Snapshot::new_account(), graph_error(190, Some(460)), 1).unwrap();
        assert_eq!(
            apply(flagged.snapshot(), Trigger::PermissionGranted, 2),
            None
        );
        let back = apply(flagged.snapshot(), Trigger::Reconnected, 2).unwrap();
        assert_eq!((back.to, back.reason), (Active, Reason::Reconnected));
    }

    #[test]
    fn refreshing_goes_back_and_forth_with_active() {
        let started = apply(Snapshot::new_account(), Trigger::RefreshStarted, 1).unwrap();
        assert_eq!(started.to, Refreshing);
        let done = apply(started.snapshot(), Trigger::RefreshCompleted, 2).unwrap();
        assert_eq!(done.to, Active);
        assert_eq!(apply(done.snapshot(), Trigger::RefreshCompleted, 3), None);
    }

    #[test]
    fn tokens_flag_expiring_accounts_and_a_registered_token_brings_them_back() {
        let started = apply(Snapshot::new_account(), Trigger::RefreshStarted, 1).unwrap();
        let failed = apply(started.snapshot(), Trigger::RefreshFailed, 2).unwrap();
        assert_eq!((failed.to, failed.reason), (Active, Reason::RefreshFailed));
        let expiring = apply(failed.snapshot(), Trigger::TokenExpiring, 3).unwrap();
        assert_eq!(
            (expiring.to, expiring.action),
            (ReconnectRequired, RequiredAction::Reconnect)
        );
        assert_eq!(apply(expiring.snapshot(), Trigger::TokenExpiring, 4), None);
        let back = apply(expiring.snapshot(), Trigger::TokenRegistered, 5).unwrap();
        assert_eq!((back.to, back.reason), (Active, Reason::TokenRegistered));
        assert_eq!(apply(back.snapshot(), Trigger::TokenRegistered, 6), None);
    }

    #[test]
    fn a_revoked_account_returns_only_through_an_explicit_reconnect() {
        let removed = apply(Snapshot::new_account(), Trigger::Deauthorized, 1).unwrap();
        assert_eq!(
            apply(removed.snapshot(), Trigger::PermissionGranted, 2),
            None
        );
        assert_eq!(apply(removed.snapshot(), Trigger::RefreshStarted, 2), None);
        assert_eq!(
            apply(removed.snapshot(), Trigger::Reconnected, 2).map(|t| t.to),
            Some(Active)
        );
    }
}
