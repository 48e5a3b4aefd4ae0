//! Pure types shared by every graphhook component: Meta webhook envelopes, the
//! normalized inbound event, event-id derivation, topic and header names.
//!
//! Nothing in this crate performs I/O; it can be used from tests, benchmarks and
//! consumers alike.

#![forbid(unsafe_code)]

pub mod account;
pub mod callback;
mod envelope;
pub mod event;
pub mod event_id;
pub mod graph_error;
pub mod labels;
pub mod lenient;
pub mod normalize;
pub mod output;
pub mod publishing;
mod settings_error;
pub mod surrogates;
pub mod time;
pub mod topics;

pub use callback::{
    callback_event, confirmation_code, issued_at_seconds, CallbackKind, DeletionReceipt,
    SignedRequest, SignedRequestError, SignedRequestPayload, CALLBACK_OBJECT,
};
pub use event::{DeliveryContext, EventSource, InboundEvent, INBOUND_EVENT_VERSION};
pub use event_id::EventId;
pub use normalize::{normalize_delivery, NormalizeError};
pub use settings_error::SettingsError;
