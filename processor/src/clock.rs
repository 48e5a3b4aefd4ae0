//! Time as the jobs and the Graph gateway see it: the system clock in production,
//! a clock the tests set (`testing::ManualClock`), so that "once a minute for five
//! minutes" is tested in milliseconds.

use std::sync::Arc;

/// Epoch milliseconds, now.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time, epoch milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        graphhook_schema::time::now_millis()
    }
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

/// The system clock, shared.
pub fn system_clock() -> SharedClock {
    Arc::new(SystemClock)
}
