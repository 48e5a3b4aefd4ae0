//! Page `feed` changes as publish status: a post published, edited, removed or
//! hidden.

use graphhook_schema::output::{
    PublishStatus, PublishStatusRecord, PublishedObject, OUTPUT_VERSION,
};
use graphhook_schema::InboundEvent;
use serde_json::Value;

use super::content::{check_id, Rejection};

/// Feed items that are posts (as opposed to comments, reactions, ...).
const POST_ITEMS: [&str; 7] = ["status", "post", "photo", "video", "share", "link", "album"];

/// The publish-status change a Page `feed` event represents, if any; rejected when
/// its post id or item cannot be stored.
pub fn page_post_status(event: &InboundEvent) -> Result<Option<PublishStatusRecord>, Rejection> {
    let Some(record) = post_status(event) else {
        return Ok(None);
    };
    check_id("post id", &record.object_id)?;
    check_id("feed item", record.item.as_deref().unwrap_or_default())?;
    Ok(Some(record))
}

fn post_status(event: &InboundEvent) -> Option<PublishStatusRecord> {
    if event.object != "page" || event.field != "feed" {
        return None;
    }
    let value: Value = event.value_as().ok()?;
    let item = value.get("item").and_then(Value::as_str)?;
    if !POST_ITEMS.contains(&item) {
        return None;
    }
    let post_id = value.get("post_id").and_then(Value::as_str)?;
    let unpublished = value.get("published").and_then(Value::as_i64) == Some(0);
    let status = match value.get("verb").and_then(Value::as_str)? {
        "add" if unpublished => return None,
        "add" => PublishStatus::Published,
        "edited" => PublishStatus::Edited,
        "remove" => PublishStatus::Removed,
        "hide" => PublishStatus::Hidden,
        "unhide" => PublishStatus::Published,
        _ => return None,
    };
    Some(PublishStatusRecord {
        version: OUTPUT_VERSION,
        record_id: String::new(),
        source_event_id: event.event_id.to_string(),
        app_id: event.app_id.clone(),
        account_id: event.account_id.clone(),
        source: PublishedObject::PagePost,
        object: PublishedObject::PagePost,
        object_id: post_id.to_owned(),
        status,
        request_id: None,
        media_id: None,
        reason: None,
        error: None,
        attempt: None,
        item: Some(item.to_owned()),
        occurred_at_ms: event.effective_time_ms(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use graphhook_schema::{normalize_delivery, DeliveryContext};

    fn status(value: &str) -> Option<PublishStatusRecord> {
        let body = format!(
            r#"{{"object":"page","entry":[{{"id":"55","time":1700000100,"changes":[{{"field":"feed","value":{value}}}]}}]}}"#
        );
        let ctx = DeliveryContext {
            app: "a",
            app_id: "1",
            delivery_id: "d",
            received_at_ms: 1,
        };
        page_post_status(&normalize_delivery(&ctx, body.as_bytes()).unwrap()[0]).unwrap()
    }

    #[test]
    fn verbs_map_to_statuses() {
        for (verb, expected) in [
            ("add", PublishStatus::Published),
            ("edited", PublishStatus::Edited),
            ("remove", PublishStatus::Removed),
            ("hide", PublishStatus::Hidden),
        ] {
            let record = status(&format!(r#"{{"item":"status","verb":"{verb}","post_id":"55_1","published":1,"created_time":1448633038,"from":{{"id":"55","name":"P"}}}}"#)).unwrap();
            assert_eq!(record.status, expected, "{verb}");
            assert_eq!(record.object_id, "55_1");
            assert_eq!(record.account_id, "55");
        }
    }

    #[test]
    fn created_time_is_the_event_time_and_old_sender_fields_are_accepted() {
        let record = status(r#"{"item":"photo","verb":"add","post_id":"55_2","published":1,"created_time":1448633038,"sender_id":"9","sender_name":"X"}"#).unwrap();
        assert_eq!(record.occurred_at_ms, 1_448_633_038_000);
        assert_eq!(record.item.as_deref(), Some("photo"));
    }

    #[test]
    fn unpublished_posts_comments_and_reactions_are_not_post_status() {
        assert!(
            status(r#"{"item":"status","verb":"add","post_id":"55_3","published":0}"#).is_none()
        );
        assert!(
            status(r#"{"item":"comment","verb":"add","post_id":"55_1","comment_id":"c"}"#)
                .is_none()
        );
        assert!(status(
            r#"{"item":"reaction","verb":"add","post_id":"55_1","reaction_type":"like"}"#
        )
        .is_none());
    }
}
