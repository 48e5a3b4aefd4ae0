//! Normalization of every envelope variant Meta sends.

use graphhook_schema::{
    normalize_delivery, DeliveryContext, EventSource, InboundEvent, NormalizeError,
};

const CTX: DeliveryContext<'static> = DeliveryContext {
    app: "main",
    app_id: "111",
    delivery_id: "req-1",
    received_at_ms: 1_700_000_000_123,
};

fn normalize(body: &str) -> Vec<InboundEvent> {
    normalize_delivery(&CTX, body.as_bytes()).expect("normalizes")
}

const COMMENT: &str = r#"{"from":{"id":"232323","username":"t\u00e4st"},"id":"17865799348089039","text":"Nice \/ \u00e4","media":{"id":"123123","media_product_type":"FEED"}}"#;

#[test]
fn changes_entry_gives_one_event_per_change_with_the_value_verbatim() {
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"17841400","time":1700000000,"changes":[{{"field":"comments","value":{COMMENT}}},{{"field":"mentions","value":{{"media_id":"9"}}}}]}}]}}"#
    );
    let events = normalize(&body);
    assert_eq!(events.len(), 2);
    let comment = &events[0];
    assert_eq!(comment.object, "instagram");
    assert_eq!(comment.account_id, "17841400");
    assert_eq!(comment.field, "comments");
    assert_eq!(comment.source, EventSource::Changes);
    assert_eq!(
        comment.value.get(),
        COMMENT,
        "value bytes kept verbatim, escapes included"
    );
    assert_eq!(comment.sent_time_ms, Some(1_700_000_000_000));
    assert_eq!(comment.event_time_ms, None);
    assert_eq!(comment.received_at_ms, CTX.received_at_ms);
    assert_eq!(comment.delivery_id, "req-1");
    assert_eq!(comment.app, "main");
    assert_eq!(comment.app_id, "111");
    assert_eq!(events[1].field, "mentions");
    assert_ne!(events[0].event_id, events[1].event_id);
}

#[test]
fn messaging_entry_uses_millisecond_timestamps_and_kinds() {
    let body = r#"{"object":"instagram","entry":[{"id":"1784","time":1700000000123,"messaging":[
        {"sender":{"id":"5"},"recipient":{"id":"1784"},"timestamp":1700000000100,"message":{"mid":"m_1","text":"secret"}},
        {"sender":{"id":"5"},"recipient":{"id":"1784"},"timestamp":1700000000200,"reaction":{"mid":"m_1","action":"react","reaction":"love","emoji":"\u2764"}},
        {"sender":{"id":"1784"},"recipient":{"id":"5"},"timestamp":1700000000300,"message":{"mid":"m_2","is_echo":true}},
        {"sender":{"id":"5"},"recipient":{"id":"1784"},"timestamp":1700000000400,"read":{"mid":"m_2"}},
        {"sender":{"id":"5"},"recipient":{"id":"1784"},"timestamp":1700000000500,"brand_new_kind":{"x":1}}
    ]}]}"#;
    let events = normalize(body);
    let kinds: Vec<&str> = events.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "message",
            "reaction",
            "message_echo",
            "read",
            "brand_new_kind"
        ]
    );
    assert!(events.iter().all(|e| e.source == EventSource::Messaging));
    assert_eq!(events[0].event_time_ms, Some(1_700_000_000_100));
    assert_eq!(
        events[0].sent_time_ms,
        Some(1_700_000_000_123),
        "ms entry time is not multiplied"
    );
    assert!(events[1].value.get().contains(r#""emoji":"\u2764""#));
}

#[test]
fn message_id_identifies_a_message_whatever_else_changes() {
    let a = r#"{"object":"instagram","entry":[{"id":"1","time":1,"messaging":[{"sender":{"id":"5"},"recipient":{"id":"1"},"timestamp":1700000000100,"message":{"mid":"m_1","text":"a"}}]}]}"#;
    let b = r#"{"object":"instagram","entry":[{"id":"1","time":2,"messaging":[{"sender":{"id":"5"},"recipient":{"id":"1"},"timestamp":1700000000999,"message":{"mid":"m_1","text":"a","attachments":[]}}]}]}"#;
    assert_eq!(normalize(a)[0].event_id, normalize(b)[0].event_id);
}

#[test]
fn standby_items_are_kept_as_messaging_events() {
    let body = r#"{"object":"instagram","entry":[{"id":"1","time":1700000000000,"standby":[{"sender":{"id":"5"},"recipient":{"id":"1"},"timestamp":1700000000100,"message":{"mid":"m_9"}}]}]}"#;
    let events = normalize(body);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].source, EventSource::Standby);
    assert_eq!(events[0].field, "message");
}

#[test]
fn field_and_value_on_the_entry_are_accepted() {
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"1784","time":1700000000,"field":"comments","value":{COMMENT}}}]}}"#
    );
    let events = normalize(&body);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].source, EventSource::EntryField);
    assert_eq!(events[0].field, "comments");
    assert_eq!(events[0].value.get(), COMMENT);
}

#[test]
fn entry_field_and_changes_forms_of_one_comment_share_the_event_id() {
    let flat = format!(
        r#"{{"object":"instagram","entry":[{{"id":"1784","time":1700000000,"field":"comments","value":{COMMENT}}}]}}"#
    );
    let nested = format!(
        r#"{{"object":"instagram","entry":[{{"id":"1784","time":1700000500,"changes":[{{"field":"comments","value":{COMMENT}}}]}}]}}"#
    );
    assert_eq!(normalize(&flat)[0].event_id, normalize(&nested)[0].event_id);
}

#[test]
fn changed_fields_give_one_valueless_event_per_field() {
    let body = r#"{"object":"user","entry":[{"id":"44","uid":"44","time":1700000000,"changed_fields":["name","picture"]}]}"#;
    let events = normalize(body);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].field, "name");
    assert_eq!(events[1].field, "picture");
    assert_eq!(events[0].source, EventSource::ChangedFields);
    assert_eq!(events[0].value.get(), "null");
    assert_eq!(events[0].uid.as_deref(), Some("44"));
    let later = body.replace("1700000000", "1700000060");
    assert_ne!(
        normalize(&later)[0].event_id,
        events[0].event_id,
        "a later change is a new event"
    );
}

#[test]
fn feed_created_time_becomes_the_event_time() {
    let body = r#"{"object":"page","entry":[{"id":"55","time":1700000100,"changes":[{"field":"feed","value":{"item":"status","verb":"add","post_id":"55_1","published":1,"created_time":1448633038,"sender_id":"9","sender_name":"X"}}]}]}"#;
    let events = normalize(body);
    assert_eq!(events[0].event_time_ms, Some(1_448_633_038_000));
    assert_eq!(events[0].effective_time_ms(), 1_448_633_038_000);
}

#[test]
fn unknown_objects_fields_and_numeric_ids_are_normalized_not_dropped() {
    let body = r#"{"object":"whatsapp_business_account","entry":[{"id":123456789,"time":1700000000,"changes":[{"field":"something_new","value":[1,2]}]}]}"#;
    let events = normalize(body);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].object, "whatsapp_business_account");
    assert_eq!(events[0].account_id, "123456789");
    assert_eq!(events[0].field, "something_new");
    assert_eq!(events[0].value.get(), "[1,2]");
}

#[test]
fn an_entry_of_unknown_shape_is_kept_whole() {
    let entry = r#"{"id":"1","time":1700000000,"surprise":{"a":1}}"#;
    let body = format!(r#"{{"object":"instagram","entry":[{entry}]}}"#);
    let events = normalize(&body);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].source, EventSource::Entry);
    assert_eq!(events[0].value.get(), entry);
}

#[test]
fn permissions_changes_carry_the_permission_as_field() {
    let body = r#"{"object":"permissions","entry":[{"id":"77","time":1700000000,"changes":[{"field":"instagram_basic","value":{"verb":"revoked","target_ids":["1784"]}}]}]}"#;
    let events = normalize(body);
    assert_eq!(events[0].field, "instagram_basic");
    assert_eq!(events[0].account_id, "77");
}

#[test]
fn dashboard_test_delivery_with_entry_id_zero_is_normalized() {
    let body = r#"{"object":"instagram","entry":[{"id":"0","time":1700000000,"changes":[{"field":"comments","value":{"id":"1","text":"test"}}]}]}"#;
    assert_eq!(normalize(body)[0].account_id, "0");
}

fn comment_change(i: usize) -> String {
    format!(
        r#"{{"field":"comments","value":{{"id":"c{i}","text":"n\u00e4{i}","media":{{"id":"m{}"}}}}}}"#,
        i % 7
    )
}

#[test]
fn a_thousand_update_batch_gives_a_thousand_distinct_events() {
    let changes: Vec<String> = (0..1000).map(comment_change).collect();
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"1","time":1700000000,"changes":[{}]}}]}}"#,
        changes.join(",")
    );
    let events = normalize(&body);
    assert_eq!(events.len(), 1000);
    let ids: std::collections::HashSet<_> = events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(ids.len(), 1000);
}

#[test]
fn same_change_in_two_different_batches_gets_the_same_event_id() {
    let first = format!(
        r#"{{"object":"instagram","entry":[{{"id":"1","time":1700000000,"changes":[{},{}]}}]}}"#,
        comment_change(1),
        comment_change(2)
    );
    let retry = format!(
        r#"{{"object":"instagram","entry":[{{"id":"2","time":1700000001,"changes":[{}]}},{{"id":"1","time":1700003600,"changes":[{}]}}]}}"#,
        comment_change(9),
        comment_change(2)
    );
    let ctx2 = DeliveryContext {
        delivery_id: "req-2",
        received_at_ms: 1_700_003_600_000,
        ..CTX
    };
    let a = normalize_delivery(&CTX, first.as_bytes()).unwrap();
    let b = normalize_delivery(&ctx2, retry.as_bytes()).unwrap();
    assert_eq!(a[1].event_id, b[1].event_id);
    assert_ne!(a[0].event_id, b[1].event_id);
}

#[test]
fn event_ids_depend_on_the_app_id_not_its_name() {
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"1","changes":[{}]}}]}}"#,
        comment_change(1)
    );
    let renamed = DeliveryContext {
        app: "renamed",
        ..CTX
    };
    let other_app = DeliveryContext {
        app_id: "222",
        ..CTX
    };
    let base = normalize(&body)[0].event_id.clone();
    assert_eq!(
        normalize_delivery(&renamed, body.as_bytes()).unwrap()[0].event_id,
        base
    );
    assert_ne!(
        normalize_delivery(&other_app, body.as_bytes()).unwrap()[0].event_id,
        base
    );
}

#[test]
fn non_envelopes_are_errors_that_do_not_echo_content() {
    for body in [
        "not json",
        "[]",
        r#"{"object":"instagram"}"#,
        r#"{"entry":[]}"#,
    ] {
        let err = normalize_delivery(&CTX, body.as_bytes()).unwrap_err();
        assert_eq!(err.reason(), "not_an_envelope", "{body}");
    }
    let err = normalize_delivery(&CTX, br#"{"object":"instagram","entry":[{"time":1,"changes":[{"field":"comments","value":{"text":"private words"}}]}]}"#).unwrap_err();
    assert!(matches!(err, NormalizeError::InvalidEntry { index: 0, .. }));
    assert!(!err.to_string().contains("private"));
}

#[test]
fn empty_entry_list_is_a_valid_delivery_with_no_events() {
    assert!(normalize(r#"{"object":"instagram","entry":[]}"#).is_empty());
}

#[test]
fn event_serializes_with_the_raw_value_embedded() {
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"1","changes":[{{"field":"comments","value":{COMMENT}}}]}}]}}"#
    );
    let event = &normalize(&body)[0];
    let json = String::from_utf8(event.to_json().unwrap()).unwrap();
    assert!(json.contains(&format!(r#""value":{COMMENT}"#)));
    let back: InboundEvent = serde_json::from_str(&json).unwrap();
    assert_eq!(back.value.get(), COMMENT);
    assert_eq!(back.event_id, event.event_id);
}

#[test]
fn a_value_without_identity_is_told_apart_by_its_entry_time() {
    let at = |time: i64| {
        format!(
            r#"{{"object":"permissions","entry":[{{"id":"77","time":{time},"changes":[{{"field":"instagram_basic","value":{{"verb":"granted","target_ids":["1"]}}}}]}}]}}"#
        )
    };
    let first = normalize(&at(1_700_000_000))[0].event_id.clone();
    assert_eq!(
        normalize(&at(1_700_000_000))[0].event_id,
        first,
        "the same notification keeps its id"
    );
    assert_ne!(
        normalize(&at(1_700_000_300))[0].event_id,
        first,
        "a later grant is another change"
    );
}

#[test]
fn a_value_with_an_id_keeps_its_id_whatever_the_entry_time() {
    let at = |time: i64| {
        format!(
            r#"{{"object":"instagram","entry":[{{"id":"1","time":{time},"changes":[{}]}}]}}"#,
            comment_change(3)
        )
    };
    assert_eq!(
        normalize(&at(1_700_000_000))[0].event_id,
        normalize(&at(1_700_009_999))[0].event_id
    );
}

#[test]
fn text_cut_inside_an_emoji_keeps_events_apart_and_classified() {
    // A lone UTF-16 surrogate escape (JSON allows it; JavaScript produces it when
    // it cuts text inside an emoji) once made a value unreadable: two different
    // comments of one entry got one event id, and a reaction became `unknown`.
    let comment = |id: &str| {
        format!(
            r#"{{"field":"comments","value":{{"id":"{id}","text":"cut \ud83d","media":{{"id":"9"}}}}}}"#
        )
    };
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"17841400","time":1700000000,"changes":[{},{}]}}]}}"#,
        comment("c1"),
        comment("c2")
    );
    let events = normalize(&body);
    assert_eq!(events.len(), 2);
    assert_ne!(events[0].event_id, events[1].event_id);
    assert!(
        events[0].value.get().contains(r"cut \ud83d"),
        "kept verbatim"
    );
    let reaction = r#"{"object":"page","entry":[{"id":"1","time":1572465098508,"messaging":[{"sender":{"id":"5"},"recipient":{"id":"1"},"timestamp":1572465098502,"reaction":{"mid":"m1","action":"react","emoji":"\ud15d\ude22"}}]}]}"#;
    assert_eq!(normalize(reaction)[0].field, "reaction");
}
