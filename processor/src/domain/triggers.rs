//! Which events change account health: `permissions` changes and the deauthorize
//! and data-deletion callbacks.

use graphhook_schema::{InboundEvent, CALLBACK_OBJECT};
use serde_json::Value;

use super::account::Trigger;
use super::content::{check_id, Rejection};

/// Whom a trigger applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// These Instagram accounts or Pages.
    Accounts(Vec<String>),
    /// Every account connected by this app-scoped user.
    User(String),
}

/// The account trigger an event carries, and whom it applies to; rejected when a
/// target id cannot be stored, or when `target_ids` holds something other than
/// ids (dropping what cannot be read could leave no target, which would apply
/// the change to every account of the user).
pub fn account_trigger(event: &InboundEvent) -> Result<Option<(Trigger, Target)>, Rejection> {
    let found = trigger_of(event)?;
    if let Some((_, Target::Accounts(ids))) = &found {
        for id in ids {
            check_id("permission target id", id)?;
        }
    }
    Ok(found)
}

fn trigger_of(event: &InboundEvent) -> Result<Option<(Trigger, Target)>, Rejection> {
    if event.object == CALLBACK_OBJECT {
        let trigger = match event.field.as_str() {
            "deauthorize" => Trigger::Deauthorized,
            "data_deletion" => Trigger::DataDeletionRequested,
            _ => return Ok(None),
        };
        return Ok(Some((trigger, Target::User(event.account_id.clone()))));
    }
    if event.object != "permissions" {
        return Ok(None);
    }
    let Ok(value) = event.value_as::<Value>() else {
        return Ok(None);
    };
    let trigger = match value.get("verb").and_then(Value::as_str) {
        Some("revoked") => Trigger::PermissionRevoked,
        Some("granted") => Trigger::PermissionGranted,
        _ => return Ok(None),
    };
    let targets = match value.get("target_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|id| match id {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(Rejection(
                    "permissions target_ids holds a value that is not an id".to_owned(),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(Rejection(
                "permissions target_ids is not a list of ids".to_owned(),
            ))
        }
    };
    let target = if targets.is_empty() {
        Target::User(event.account_id.clone())
    } else {
        Target::Accounts(targets)
    };
    Ok(Some((trigger, target)))
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

    fn trigger(body: &str) -> Option<(Trigger, Target)> {
        account_trigger(&event(body)).unwrap()
    }

    #[test]
    fn revocations_apply_to_their_targets_or_to_all_of_the_users_accounts() {
        let with_targets = trigger(
            r#"{"object":"permissions","entry":[{"id":"77","time":1,"changes":[{"field":"instagram_basic","value":{"verb":"revoked","target_ids":["1784",1785]}}]}]}"#,
        );
        assert_eq!(
            with_targets,
            Some((
                Trigger::PermissionRevoked,
                Target::Accounts(vec!["1784".into(), "1785".into()])
            ))
        );
        let without = trigger(
            r#"{"object":"permissions","entry":[{"id":"77","time":1,"changes":[{"field":"pages_show_list","value":{"verb":"granted"}}]}]}"#,
        );
        assert_eq!(
            without,
            Some((Trigger::PermissionGranted, Target::User("77".into())))
        );
    }

    #[test]
    fn callbacks_apply_to_all_of_the_users_accounts() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        use graphhook_schema::{callback_event, CallbackKind, SignedRequest};
        let payload = r#"{"algorithm":"HMAC-SHA256","issued_at":1291836800,"user_id":"218471"}"#;
        let encoded = URL_SAFE_NO_PAD.encode(payload);
        let request = SignedRequest::parse(&format!("c2ln.{encoded}")).unwrap();
        let ctx = DeliveryContext {
            app: "a",
            app_id: "1",
            delivery_id: "d",
            received_at_ms: 1,
        };
        for (kind, expected) in [
            (CallbackKind::Deauthorize, Trigger::Deauthorized),
            (CallbackKind::DataDeletion, Trigger::DataDeletionRequested),
        ] {
            let event = callback_event(&ctx, kind, &request, None).unwrap();
            assert_eq!(
                account_trigger(&event).unwrap(),
                Some((expected, Target::User("218471".into())))
            );
        }
    }

    #[test]
    fn target_ids_that_are_not_ids_are_rejected_never_widened_to_the_user() {
        for value in [
            r#"{"verb":"revoked","target_ids":[{"id":"1784"}]}"#,
            r#"{"verb":"revoked","target_ids":["1784",true]}"#,
            r#"{"verb":"granted","target_ids":"1784"}"#,
        ] {
            let body = format!(
                r#"{{"object":"permissions","entry":[{{"id":"77","time":1,"changes":[{{"field":"instagram_basic","value":{value}}}]}}]}}"#
            );
            let rejected = account_trigger(&event(&body));
            assert!(
                matches!(&rejected, Err(Rejection(reason)) if reason.contains("target_ids")),
                "{value}: {rejected:?}"
            );
        }
    }

    #[test]
    fn unknown_verbs_and_other_objects_are_not_triggers() {
        assert_eq!(
            trigger(
                r#"{"object":"permissions","entry":[{"id":"77","changes":[{"field":"x","value":{"verb":"changed"}}]}]}"#
            ),
            None
        );
        assert_eq!(
            trigger(
                r#"{"object":"instagram","entry":[{"id":"77","changes":[{"field":"comments","value":{"verb":"revoked"}}]}]}"#
            ),
            None
        );
    }
}
