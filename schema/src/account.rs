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
}
