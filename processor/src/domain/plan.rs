//! What an inbound event means, decided before any SQL runs: the account trigger it
//! carries, the engagement it is, the Page post status it reports. An event whose
//! content graphhook cannot store is rejected here, the same way on every engine.

use graphhook_schema::output::PublishStatusRecord;
use graphhook_schema::InboundEvent;

use super::account::Trigger;
use super::content::{check_id, Rejection};
use super::engagement::{engagement, Engagement};
use super::feed::page_post_status;
use super::triggers::{account_trigger, Target};

/// An event and what it means.
pub type Planned = (InboundEvent, EventPlan);

/// The effects an event asks for.
#[derive(Debug, Clone, Default)]
pub struct EventPlan {
    /// An account trigger and whom it applies to.
    pub trigger: Option<(Trigger, Target)>,
    /// The engagement record and the cached metrics it makes stale.
    pub engagement: Option<Engagement>,
    /// A Page post's new status.
    pub post: Option<PublishStatusRecord>,
}

/// Plans `event`, or rejects it when an id it carries cannot be stored.
pub fn plan(event: &InboundEvent) -> Result<EventPlan, Rejection> {
    check_id("app id", &event.app_id)?;
    check_id("account id", &event.account_id)?;
    Ok(EventPlan {
        trigger: account_trigger(event)?,
        engagement: engagement(event)?,
        post: page_post_status(event)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use graphhook_schema::{normalize_delivery, DeliveryContext};

    fn event(body: &str) -> InboundEvent {
        let ctx = DeliveryContext {
            app: "a",
            app_id: "1",
            delivery_id: "d",
            received_at_ms: 1,
        };
        normalize_delivery(&ctx, body.as_bytes()).unwrap().remove(0)
    }

    #[test]
    fn an_entry_id_with_a_nul_is_rejected_before_anything_is_stored() {
        let nul = event(
            r#"{"object":"instagram","entry":[{"id":"17\u0000","changes":[{"field":"comments","value":{"id":"c"}}]}]}"#,
        );
        assert_eq!(
            plan(&nul).unwrap_err().0,
            "account id contains a NUL character"
        );
        let fine = event(
            r#"{"object":"instagram","entry":[{"id":"17","changes":[{"field":"comments","value":{"id":"c"}}]}]}"#,
        );
        assert!(plan(&fine).unwrap().engagement.is_some());
    }
}
