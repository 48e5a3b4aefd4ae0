//! Account health: states, reasons and required actions, as the processor records
//! them and `accounts.v1` carries them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An account's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// Working.
    Active,
    /// Its token is being refreshed.
    Refreshing,
    /// The user must reconnect (token, permission, role or restriction problem).
    ReconnectRequired,
    /// Access is gone: the app was removed or data deletion was requested.
    Revoked,
}

/// What the account's owner or the operator must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequiredAction {
    /// Nothing.
    None,
    /// Ask the user to reconnect.
    Reconnect,
    /// Delete what is held about the user.
    DeleteData,
}

/// Why an account changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The user removed the app (deauthorize callback).
    AppRemoved,
    /// The user asked for their data to be deleted.
    DataDeletionRequested,
    /// A permission was revoked (`permissions` webhook).
    PermissionRevoked,
    /// A permission was granted again.
    PermissionGranted,
    /// The token expired or is invalid (Graph API 190, 102).
    TokenInvalid,
    /// A permission is missing (Graph API 10, 200-299).
    PermissionMissing,
    /// The user lost the Page role (Graph API 492).
    PageRoleLost,
    /// The Instagram account is restricted (Graph API 25/2207050).
    AccountRestricted,
    /// The operator registered or updated the account as connected again.
    Reconnected,
    /// A token refresh started.
    RefreshStarted,
    /// A token refresh finished.
    RefreshCompleted,
    /// A token refresh failed for now (it is retried; the account stays usable).
    RefreshFailed,
    /// The token was not refreshed and expires soon: reconnect before it dies.
    TokenExpiring,
    /// A valid token was registered for the account.
    TokenRegistered,
}

impl AccountState {
    /// Every state.
    pub const ALL: [AccountState; 4] = [
        AccountState::Active,
        AccountState::Refreshing,
        AccountState::ReconnectRequired,
        AccountState::Revoked,
    ];

    /// The state as written in records and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Active => "active",
            AccountState::Refreshing => "refreshing",
            AccountState::ReconnectRequired => "reconnect_required",
            AccountState::Revoked => "revoked",
        }
    }
}

impl RequiredAction {
    /// The action as written in records.
    pub fn as_str(self) -> &'static str {
        match self {
            RequiredAction::None => "none",
            RequiredAction::Reconnect => "reconnect",
            RequiredAction::DeleteData => "delete_data",
        }
    }
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 14] = [
        Reason::AppRemoved,
        Reason::DataDeletionRequested,
        Reason::PermissionRevoked,
        Reason::PermissionGranted,
        Reason::TokenInvalid,
        Reason::PermissionMissing,
        Reason::PageRoleLost,
        Reason::AccountRestricted,
        Reason::Reconnected,
        Reason::RefreshStarted,
        Reason::RefreshCompleted,
        Reason::RefreshFailed,
        Reason::TokenExpiring,
        Reason::TokenRegistered,
    ];

    /// The reason as written in records and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::AppRemoved => "app_removed",
            Reason::DataDeletionRequested => "data_deletion_requested",
            Reason::PermissionRevoked => "permission_revoked",
            Reason::PermissionGranted => "permission_granted",
            Reason::TokenInvalid => "token_invalid",
            Reason::PermissionMissing => "permission_missing",
            Reason::PageRoleLost => "page_role_lost",
            Reason::AccountRestricted => "account_restricted",
            Reason::Reconnected => "reconnected",
            Reason::RefreshStarted => "refresh_started",
            Reason::RefreshCompleted => "refresh_completed",
            Reason::RefreshFailed => "refresh_failed",
            Reason::TokenExpiring => "token_expiring",
            Reason::TokenRegistered => "token_registered",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_the_serialized_names() {
        for state in AccountState::ALL {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
        for reason in Reason::ALL {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
        }
    }
}
