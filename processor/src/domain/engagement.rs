//! Engagement events (comments, live comments, mentions, story insights, message
//! reactions, message metadata) and the cached metrics each one makes stale.
//! Message and comment text is never copied out of `events.v1`.

use std::collections::BTreeMap;

use graphhook_schema::output::{EngagementKind, EngagementRecord, MetricsScope, OUTPUT_VERSION};
use graphhook_schema::{EventSource, InboundEvent};
use serde_json::Value;

use super::content::{check_optional_id, Rejection};

/// A cached-metrics entry an event makes stale.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StaleMetrics {
    /// Account or media metrics.
    pub scope: MetricsScope,
    /// The media, for media scope.
    pub media_id: Option<String>,
}

/// What an engagement event means.
#[derive(Debug, Clone, PartialEq)]
pub struct Engagement {
    /// The `engagement.v1` record.
    pub record: EngagementRecord,
    /// Metrics entries that become stale.
    pub stale: Vec<StaleMetrics>,
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn kind_of(event: &InboundEvent) -> Option<EngagementKind> {
    let messaging = matches!(event.source, EventSource::Messaging | EventSource::Standby);
    Some(
        match (event.object.as_str(), event.field.as_str(), messaging) {
            ("instagram", "comments", false) => EngagementKind::Comment,
            ("instagram", "live_comments", false) => EngagementKind::LiveComment,
            ("instagram", "mentions", false) => EngagementKind::Mention,
            ("instagram", "story_insights", false) => EngagementKind::StoryInsights,
            (_, "reaction", true) => EngagementKind::Reaction,
            (_, "message", true) => EngagementKind::Message,
            (_, "message_echo", true) => EngagementKind::MessageEcho,
            _ => return None,
        },
    )
}

/// The engagement an event represents, if it is one; rejected when an id it
/// carries cannot be stored, or when it lacks the id that says what it is about
/// (a comment's id, a mention's or story's media id, a message's or reaction's
/// message id): a record that names nothing is of no use downstream, and a
/// change value Meta never sends (an array, say) must not become one.
pub fn engagement(event: &InboundEvent) -> Result<Option<Engagement>, Rejection> {
    let Some(kind) = kind_of(event) else {
        return Ok(None);
    };
    // JSON allows what serde_json cannot hold (a number beyond f64): such a value
    // is dead-lettered with the reason, never dropped without a trace.
    let value = event
        .value_as::<Value>()
        .map_err(|error| Rejection(format!("the {} value cannot be read: {error}", event.field)))?;
    let mut record = EngagementRecord {
        version: OUTPUT_VERSION,
        record_id: String::new(),
        source_event_id: event.event_id.to_string(),
        app_id: event.app_id.clone(),
        account_id: event.account_id.clone(),
        kind,
        media_id: None,
        comment_id: None,
        parent_id: None,
        message_id: None,
        from_id: None,
        action: None,
        reaction: None,
        insights: None,
        occurred_at_ms: event.effective_time_ms(),
    };
    let account = StaleMetrics {
        scope: MetricsScope::Account,
        media_id: None,
    };
    let stale = match kind {
        EngagementKind::Comment | EngagementKind::LiveComment => {
            record.media_id = text(&value, "/media/id");
            record.comment_id = text(&value, "/id").or_else(|| text(&value, "/comment_id"));
            record.parent_id = text(&value, "/parent_id");
            record.from_id = text(&value, "/from/id");
            let media = record.media_id.clone().map(|id| StaleMetrics {
                scope: MetricsScope::Media,
                media_id: Some(id),
            });
            media.into_iter().chain([account]).collect()
        }
        EngagementKind::Mention => {
            record.media_id = text(&value, "/media_id");
            record.comment_id = text(&value, "/comment_id");
            vec![account]
        }
        EngagementKind::StoryInsights => {
            record.media_id = text(&value, "/media_id");
            record.insights = Some(insight_counts(&value));
            Vec::new()
        }
        EngagementKind::Reaction => {
            record.message_id = text(&value, "/reaction/mid");
            record.action = text(&value, "/reaction/action");
            record.reaction = text(&value, "/reaction/reaction");
            record.from_id = text(&value, "/sender/id");
            Vec::new()
        }
        EngagementKind::Message | EngagementKind::MessageEcho => {
            record.message_id = text(&value, "/message/mid");
            record.from_id = text(&value, "/sender/id");
            Vec::new()
        }
    };
    let (what, required) = match kind {
        EngagementKind::Comment | EngagementKind::LiveComment => ("comment id", &record.comment_id),
        EngagementKind::Mention | EngagementKind::StoryInsights => ("media id", &record.media_id),
        EngagementKind::Reaction | EngagementKind::Message | EngagementKind::MessageEcho => {
            ("message id", &record.message_id)
        }
    };
    if required.is_none() {
        return Err(Rejection(format!(
            "a {} event without a {what}",
            event.field
        )));
    }
    for (what, id) in [
        ("media id", &record.media_id),
        ("comment id", &record.comment_id),
        ("parent comment id", &record.parent_id),
        ("message id", &record.message_id),
        ("sender id", &record.from_id),
    ] {
        check_optional_id(what, id.as_deref())?;
    }
    Ok(Some(Engagement { record, stale }))
}

/// Story insights as written to the metrics cache: every integer field but the id.
pub fn insight_counts(value: &Value) -> BTreeMap<String, i64> {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| v.as_i64().map(|n| (k.clone(), n)))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use graphhook_schema::{normalize_delivery, DeliveryContext};

    fn events(body: &str) -> Vec<InboundEvent> {
        let ctx = DeliveryContext {
            app: "a",
            app_id: "1",
            delivery_id: "d",
            received_at_ms: 1_700_000_000_000,
        };
        normalize_delivery(&ctx, body.as_bytes()).unwrap()
    }

    fn first(body: &str) -> Option<Engagement> {
        engagement(&events(body)[0]).unwrap()
    }

    #[test]
    fn a_comment_stales_its_media_and_the_account_and_carries_no_text() {
        let e = first(r#"{"object":"instagram","entry":[{"id":"9","time":1700000000,"changes":[{"field":"comments","value":{"from":{"id":"5","username":"u"},"id":"c1","parent_id":"c0","text":"secret words","media":{"id":"m1","media_product_type":"FEED"}}}]}]}"#).unwrap();
        assert_eq!(e.record.kind, EngagementKind::Comment);
        assert_eq!(e.record.media_id.as_deref(), Some("m1"));
        assert_eq!(e.record.comment_id.as_deref(), Some("c1"));
        assert_eq!(e.record.parent_id.as_deref(), Some("c0"));
        assert_eq!(e.record.from_id.as_deref(), Some("5"));
        assert_eq!(
            e.stale,
            vec![
                StaleMetrics {
                    scope: MetricsScope::Media,
                    media_id: Some("m1".into())
                },
                StaleMetrics {
                    scope: MetricsScope::Account,
                    media_id: None
                },
            ]
        );
        assert!(!serde_json::to_string(&e.record).unwrap().contains("secret"));
    }

    #[test]
    fn an_engagement_that_names_nothing_is_rejected() {
        for body in [
            r#"{"object":"instagram","entry":[{"id":"9","changes":[{"field":"comments","value":[1,2,3]}]}]}"#,
            r#"{"object":"instagram","entry":[{"id":"9","changes":[{"field":"comments","value":{"media":{"id":"m1"}}}]}]}"#,
            r#"{"object":"instagram","entry":[{"id":"9","changes":[{"field":"mentions","value":{"comment_id":"c1"}}]}]}"#,
            r#"{"object":"instagram","entry":[{"id":"9","changes":[{"field":"story_insights","value":{"reach":1}}]}]}"#,
            r#"{"object":"instagram","entry":[{"id":"9","messaging":[{"sender":{"id":"1"},"message":{"text":"x"}}]}]}"#,
            r#"{"object":"instagram","entry":[{"id":"9","changes":[{"field":"comments","value":{"id":"c1","n":1e999}}]}]}"#,
        ] {
            let error = engagement(&events(body)[0]).expect_err(body);
            assert!(
                error.0.contains("without a") || error.0.contains("cannot be read"),
                "{}",
                error.0
            );
        }
    }

    #[test]
    fn text_cut_inside_an_emoji_does_not_lose_the_engagement() {
        // The `envelope` fuzz target's finding: a lone surrogate escape made the
        // whole value unreadable, and the reaction was dropped without a trace.
        let body = r#"{"object":"page","entry":[{"id":"1","time":1572465098508,"messaging":[{"sender":{"id":"5"},"recipient":{"id":"1"},"timestamp":1572465098502,"reaction":{"mid":"m1","action":"react","emoji":"\ud15d\ude22","reaction":"sad"}}]}]}"#;
        let e = first(body).expect("the reaction is kept");
        assert_eq!(e.record.kind, EngagementKind::Reaction);
        assert_eq!(e.record.message_id.as_deref(), Some("m1"));
        let body = r#"{"object":"instagram","entry":[{"id":"9","changes":[{"field":"comments","value":{"id":"c1","text":"cut \ud83d","media":{"id":"m1"}}}]}]}"#;
        assert_eq!(
            first(body).unwrap().record.comment_id.as_deref(),
            Some("c1")
        );
    }

    #[test]
    fn comment_id_is_accepted_in_place_of_id() {
        let e = first(r#"{"object":"instagram","entry":[{"id":"9","field":"live_comments","value":{"comment_id":"c7","media":{"id":"m2"}}}]}"#).unwrap();
        assert_eq!(e.record.kind, EngagementKind::LiveComment);
        assert_eq!(e.record.comment_id.as_deref(), Some("c7"));
    }

    #[test]
    fn mentions_in_comments_and_captions_stale_the_account() {
        let e = first(r#"{"object":"instagram","entry":[{"id":"9","changes":[{"field":"mentions","value":{"comment_id":"c1","media_id":"m1"}}]}]}"#).unwrap();
        assert_eq!(
            (e.record.kind, e.record.comment_id.as_deref()),
            (EngagementKind::Mention, Some("c1"))
        );
        let caption = first(r#"{"object":"instagram","entry":[{"id":"9","changes":[{"field":"mentions","value":{"media_id":"m1"}}]}]}"#).unwrap();
        assert_eq!(caption.record.comment_id, None);
        assert_eq!(
            caption.stale,
            vec![StaleMetrics {
                scope: MetricsScope::Account,
                media_id: None
            }]
        );
    }

    #[test]
    fn story_insights_carry_counts_and_stale_nothing() {
        let e = first(r#"{"object":"instagram","entry":[{"id":"9","changes":[{"field":"story_insights","value":{"media_id":"s1","exits":1,"replies":-1,"reach":17,"taps_forward":12,"taps_back":0,"impressions":28}}]}]}"#).unwrap();
        let insights = e.record.insights.unwrap();
        assert_eq!(insights["reach"], 17);
        assert_eq!(insights["replies"], -1);
        assert!(!insights.contains_key("media_id"));
        assert!(e.stale.is_empty());
    }

    #[test]
    fn reactions_and_messages_carry_metadata_only() {
        let list = events(
            r#"{"object":"instagram","entry":[{"id":"9","time":1700000000000,"messaging":[
            {"sender":{"id":"5"},"recipient":{"id":"9"},"timestamp":1700000000100,"reaction":{"mid":"m_1","action":"react","reaction":"love","emoji":"x"}},
            {"sender":{"id":"5"},"recipient":{"id":"9"},"timestamp":1700000000200,"message":{"mid":"m_2","text":"private"}}]}]}"#,
        );
        let reaction = engagement(&list[0]).unwrap().unwrap().record;
        assert_eq!(
            (
                reaction.kind,
                reaction.action.as_deref(),
                reaction.reaction.as_deref()
            ),
            (EngagementKind::Reaction, Some("react"), Some("love"))
        );
        assert_eq!(reaction.occurred_at_ms, 1_700_000_000_100);
        let message = engagement(&list[1]).unwrap().unwrap().record;
        assert_eq!(
            (message.kind, message.message_id.as_deref()),
            (EngagementKind::Message, Some("m_2"))
        );
        assert!(!serde_json::to_string(&message).unwrap().contains("private"));
    }

    #[test]
    fn a_media_id_the_store_cannot_hold_rejects_the_event() {
        let list = events(
            r#"{"object":"instagram","entry":[{"id":"9","changes":[{"field":"comments","value":{"id":"c1","media":{"id":"m\u0000"}}}]}]}"#,
        );
        let rejection = engagement(&list[0]).unwrap_err();
        assert_eq!(rejection.0, "media id contains a NUL character");
    }

    #[test]
    fn other_fields_are_not_engagement() {
        assert!(first(r#"{"object":"page","entry":[{"id":"9","changes":[{"field":"feed","value":{"item":"status","verb":"add","post_id":"9_1"}}]}]}"#).is_none());
        assert!(first(r#"{"object":"permissions","entry":[{"id":"9","changes":[{"field":"instagram_basic","value":{"verb":"granted"}}]}]}"#).is_none());
    }
}
