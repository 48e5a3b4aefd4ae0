//! A transaction on the store: each aggregate's module adds what it does in one.

use sqlx::{Any, Transaction};

use super::{Engine, StoreError};

/// A transaction on the store. Dropping it without `commit` rolls everything back.
pub struct StoreTx {
    pub(super) tx: Transaction<'static, Any>,
    pub(super) engine: Engine,
}

impl StoreTx {
    pub(super) fn new(tx: Transaction<'static, Any>, engine: Engine) -> Self {
        StoreTx { tx, engine }
    }

    /// Commits everything done in this transaction.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}
