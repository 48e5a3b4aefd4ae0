//! A transaction on the store: each aggregate's module adds what it does in one.

use sqlx::{Any, Transaction};

use super::StoreError;

/// A transaction on the store. Dropping it without `commit` rolls everything back.
pub struct StoreTx {
    pub(super) tx: Transaction<'static, Any>,
}

impl StoreTx {
    pub(super) fn new(tx: Transaction<'static, Any>) -> Self {
        StoreTx { tx }
    }

    /// Commits everything done in this transaction.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}
