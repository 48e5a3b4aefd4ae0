//! Why the gateway did not make a call, or why the call failed.

use graphhook_graph::CallError;
use graphhook_schema::graph_error::ErrorClass;

use crate::store::StoreError;

/// Why a call was not made, or failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Meta throttles the app or the account: nothing is called before `until_ms`.
    #[error("calls are held until {until_ms} (throttled)")]
    Held {
        /// Epoch ms.
        until_ms: i64,
    },
    /// Usage is high: the next call is due at `until_ms`.
    #[error("calls are spaced out; the next is due at {until_ms}")]
    Spaced {
        /// Epoch ms.
        until_ms: i64,
    },
    /// The call was made and failed.
    #[error(transparent)]
    Call(Box<CallError>),
    /// The budget could not be read or written.
    #[error("the call budget is unavailable")]
    Store(#[from] StoreError),
}

impl From<CallError> for GatewayError {
    fn from(error: CallError) -> Self {
        GatewayError::Call(Box::new(error))
    }
}

impl GatewayError {
    /// The failed call's class, if a call was made.
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            GatewayError::Call(error) => Some(error.class),
            _ => None,
        }
    }

    /// When trying again makes sense, if the budget said so.
    pub fn not_before_ms(&self) -> Option<i64> {
        match self {
            GatewayError::Held { until_ms } | GatewayError::Spaced { until_ms } => Some(*until_ms),
            _ => None,
        }
    }
}
