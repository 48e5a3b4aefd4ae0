//! Access tokens: stored encrypted, checked with `debug_token` when registered,
//! refreshed ahead of expiry by one replica, and handed out by
//! [`manager::TokenManager::credentials`], the only way any code gets one.

pub mod cipher;
pub mod identity;
pub mod manager;
pub mod meta;
pub mod registration;
pub mod rotation;
mod settings;

pub use settings::TokenSettings;

pub use crate::domain::token::TokenKind;
