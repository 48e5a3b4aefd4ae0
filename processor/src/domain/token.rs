//! Tokens as the rules and the store see them: their kind (and the host Meta
//! serves it on) and their sealed form at rest. Encryption itself is
//! [`crate::tokens::cipher`]'s.

use serde::{Deserialize, Serialize};

/// A token as stored: the key it is encrypted under, the nonce and the ciphertext
/// (both base64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The key id.
    pub key_id: String,
    /// The nonce, base64.
    pub nonce: String,
    /// The ciphertext with its tag, base64.
    pub ciphertext: String,
}

/// What kind of token an account has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// An Instagram-login user token (graph.instagram.com; refreshed with
    /// `ig_refresh_token` once 24 hours old; 60 days).
    InstagramLogin,
    /// A Facebook-login user token (graph.facebook.com; exchanged with
    /// `fb_exchange_token`; about 60 days).
    FacebookUser,
    /// A Page token (no expiry; dies on password change, role loss, app removal:
    /// audited with `debug_token` instead of refreshed).
    Page,
}

impl TokenKind {
    /// The kind as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::InstagramLogin => "instagram_login",
            TokenKind::FacebookUser => "facebook_user",
            TokenKind::Page => "page",
        }
    }

    /// The Graph API host this kind of token is served on: Instagram login on
    /// graph.instagram.com, Facebook login (user and Page tokens) on
    /// graph.facebook.com. Meta refuses a token on the other host.
    pub fn host(self) -> graphhook_graph::Host {
        match self {
            TokenKind::InstagramLogin => graphhook_graph::Host::Instagram,
            TokenKind::FacebookUser | TokenKind::Page => graphhook_graph::Host::Facebook,
        }
    }

    /// Reads a stored kind.
    pub fn parse(text: &str) -> Option<Self> {
        [
            TokenKind::InstagramLogin,
            TokenKind::FacebookUser,
            TokenKind::Page,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }

    /// Every kind, in the order credentials prefer them.
    pub const PREFERENCE: [TokenKind; 3] = [
        TokenKind::InstagramLogin,
        TokenKind::Page,
        TokenKind::FacebookUser,
    ];
}
