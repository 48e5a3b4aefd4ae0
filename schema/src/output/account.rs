//! `accounts.v1`: account state transitions.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[cfg(doc)]
use super::OUTPUT_VERSION;

use crate::account::{AccountState, Reason, RequiredAction};

/// `accounts.v1`: one account state transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccountTransitionRecord {
    /// [`OUTPUT_VERSION`].
    pub version: u32,
    /// This record's deterministic id: the same effect keeps it when written again.
    /// Drop repeats by it.
    #[serde(default)]
    pub record_id: String,
    /// The event that caused the transition.
    pub source_event_id: String,
    /// Meta's app id.
    pub app_id: String,
    /// The Instagram account (or Page) id.
    pub account_id: String,
    /// State before.
    pub from: AccountState,
    /// State after.
    pub to: AccountState,
    /// Why.
    pub reason: Reason,
    /// What must be done now.
    pub action: RequiredAction,
    /// Event time of the trigger, epoch milliseconds.
    pub occurred_at_ms: i64,
}
