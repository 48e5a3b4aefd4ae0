//! One step of work on a publication, and how a failed call is told apart.

use graphhook_graph::answer::Action;
use graphhook_schema::output::{FailureClass, PublicationError, PublishStatus};
use graphhook_schema::publishing::clean_text;

use crate::domain::ids::ContainerId;
use crate::domain::publication::Publication;
use crate::gateway::GatewayError;
use crate::publishing::intake::Change;
use crate::publishing::meta::PublishCallError;

/// One step's work on a publication: the changes to record, in order.
pub(super) struct Step {
    pub(super) p: Publication,
    pub(super) changes: Vec<Change>,
    pub(super) now: i64,
}

impl Step {
    /// Moves to `status` and records the change; staying in a state records
    /// nothing.
    pub(super) fn enter(&mut self, status: PublishStatus, reason: Option<&'static str>) {
        if self.p.state == status {
            return;
        }
        self.p.state = status;
        self.p.reason = reason.map(str::to_owned);
        if status.is_final() {
            self.p.done_at_ms = Some(self.now);
        }
        self.changes.push(Change { status, reason });
    }

    pub(super) fn fail(
        &mut self,
        class: FailureClass,
        code: Option<i64>,
        subcode: Option<i64>,
        text: Option<String>,
    ) {
        self.p.error = Some(PublicationError {
            class,
            code,
            subcode,
            text: text.map(|t| clean_text(&t, 1_000)),
        });
        self.enter(PublishStatus::Failed, None);
    }
}

/// What one look at a carousel item found.
pub(super) enum ChildStep {
    Created(ContainerId),
    Finished,
    NotYet,
    Gone,
    Failed(PublishCallError),
}

/// A failed call's action (the `graphhook_graph::answer` table's), code and
/// subcode, or the budget's answer.
pub(super) enum Failed {
    Budget {
        held: bool,
        until_ms: i64,
    },
    Call {
        action: Action,
        code: Option<i64>,
        subcode: Option<i64>,
        text: Option<String>,
    },
}

pub(super) fn failed(error: PublishCallError) -> Failed {
    match error {
        PublishCallError::Gateway(GatewayError::Held { until_ms }) => Failed::Budget {
            held: true,
            until_ms,
        },
        PublishCallError::Gateway(GatewayError::Spaced { until_ms }) => Failed::Budget {
            held: false,
            until_ms,
        },
        PublishCallError::Gateway(GatewayError::Call(error)) => Failed::Call {
            action: error.action(),
            code: error.failure.code,
            subcode: error.failure.subcode,
            text: error
                .error
                .as_ref()
                .and_then(|e| e.error_user_title.clone()),
        },
        PublishCallError::Gateway(GatewayError::Store(_)) | PublishCallError::Malformed(_) => {
            Failed::Call {
                action: Action::RetryLater,
                code: None,
                subcode: None,
                text: None,
            }
        }
    }
}
