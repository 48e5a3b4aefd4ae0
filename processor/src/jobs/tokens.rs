//! The token pre-rotation job: every `tokens.check_interval_secs`, one pass of
//! [`TokenManager::run_pass`] (refresh user tokens ahead of expiry, audit Page
//! tokens, flag accounts whose token would die unrefreshed). Every replica runs
//! it; a lease per token makes exactly one of them refresh a given token.

use std::time::Duration;

use tokio::sync::watch;

use crate::tokens::manager::TokenManager;

/// Runs passes until `shutdown` turns true.
pub async fn rotate_until_stopped(
    manager: TokenManager,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    if !manager.configured() {
        return;
    }
    loop {
        match manager.run_pass().await {
            Ok(report) if report != Default::default() => {
                tracing::info!(?report, "token pass");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "token pass failed; trying again next interval"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
