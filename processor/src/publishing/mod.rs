//! Instagram publishing and Page posts: requests become publications (`intake`),
//! a tracker owns each due publication for a step at a time (`tracker`), and every
//! call to Meta goes through the gateway (`meta`).

pub mod intake;
pub mod meta;
mod settings;
pub mod tracker;

pub use settings::PublishingSettings;
