use super::*;
use graphhook_schema::graph_error::{ErrorClass::*, GraphApiErrorBody};

fn class(code: i64, subcode: Option<i64>) -> ErrorClass {
    classify(Some(400), Some(code), subcode, None)
}

fn action(code: i64, subcode: Option<i64>) -> Action {
    reported(Some(400), Some(code), subcode, None)
}

#[test]
fn transient_codes_retry_later() {
    for code in [1, 2, 341] {
        assert_eq!(class(code, None), RetryLater, "code {code}");
    }
    assert_eq!(class(-1, Some(2_207_001)), RetryLater);
    assert_eq!(class(-2, Some(2_207_003)), RetryLater);
    assert_eq!(class(-1, Some(2_207_032)), RetryLater);
}

#[test]
fn throttling_means_wait() {
    for code in [4, 17, 32, 613, 80_001, 80_002, 80_004, 80_009] {
        assert_eq!(class(code, None), Wait, "code {code}");
    }
    assert_eq!(class(4, Some(2_207_051)), Wait);
    assert_eq!(class(9, Some(2_207_042)), Wait, "publishing quota");
    assert_eq!(classify(Some(429), None, None, None), Wait);
}

#[test]
fn a_throttle_holds_the_app_for_code_4_and_the_account_otherwise() {
    assert_eq!(action(4, None), Action::Throttle(Throttled::App));
    assert_eq!(action(4, Some(2_207_051)), Action::Throttle(Throttled::App));
    for code in [17, 32, 613, 80_001, 80_009] {
        assert_eq!(action(code, None), Action::Throttle(Throttled::Account));
    }
    assert_eq!(
        reported(Some(429), None, None, None),
        Action::Throttle(Throttled::Account)
    );
}

#[test]
fn the_publishing_quota_is_waited_for_and_holds_nothing() {
    assert_eq!(action(9, Some(2_207_042)), Action::QuotaFull);
    assert_eq!(
        action(9, None),
        Action::FixRequest,
        "code 9 alone is not the quota"
    );
}

#[test]
fn token_and_permission_problems_need_a_reconnect_with_their_reason() {
    for subcode in [458, 459, 460, 463, 464, 467] {
        assert_eq!(class(190, Some(subcode)), Reconnect, "190/{subcode}");
    }
    for code in [190, 102, 10, 200, 250, 299, 492] {
        assert_eq!(class(code, None), Reconnect, "code {code}");
    }
    assert_eq!(class(25, Some(2_207_050)), Reconnect);
    let reasons = [
        (190, Some(463), Reason::TokenInvalid),
        (102, None, Reason::TokenInvalid),
        (10, None, Reason::PermissionMissing),
        (200, None, Reason::PermissionMissing),
        (492, None, Reason::PageRoleLost),
        (25, Some(2_207_050), Reason::AccountRestricted),
    ];
    for (code, subcode, reason) in reasons {
        assert_eq!(action(code, subcode), Action::Reconnect(reason), "{code}");
    }
}

#[test]
fn bad_input_needs_a_fix() {
    for (code, subcode) in [
        (100, Some(2_207_023)),
        (100, Some(2_207_028)),
        (100, None),
        (352, Some(2_207_026)),
        (9004, Some(2_207_052)),
    ] {
        assert_eq!(class(code, subcode), FixRequest, "{code}/{subcode:?}");
    }
    for code in 36_000..=36_004 {
        assert_eq!(class(code, None), FixRequest);
    }
}

#[test]
fn media_not_ready_means_not_ready() {
    assert_eq!(class(9007, Some(2_207_027)), NotReady);
    assert_eq!(class(9007, None), NotReady);
}

#[test]
fn a_mutation_whose_answer_was_lost_has_an_unknown_outcome() {
    let lost = Failure {
        http_status: None,
        call: CallKind::Mutation,
        ..Failure::default()
    };
    assert_eq!(lost.class(), UnknownOutcome);
    assert_eq!(lost.action(), Action::ReadStateFirst);
    let server_error = Failure {
        http_status: Some(502),
        call: CallKind::Mutation,
        ..Failure::default()
    };
    assert_eq!(server_error.class(), UnknownOutcome);
    let read = Failure {
        call: CallKind::Read,
        ..lost
    };
    assert_eq!(read.class(), RetryLater, "a read that timed out is retried");
    let throttled = Failure {
        http_status: Some(400),
        code: Some(4),
        call: CallKind::Mutation,
        ..Failure::default()
    };
    assert_eq!(throttled.class(), Wait, "a coded answer is an answer");
}

#[test]
fn without_a_known_code_status_and_transience_decide() {
    assert_eq!(classify(Some(500), None, None, None), RetryLater);
    assert_eq!(classify(Some(503), Some(123_456), None, None), RetryLater);
    assert_eq!(
        classify(None, None, None, None),
        RetryLater,
        "timeouts retry"
    );
    assert_eq!(
        classify(Some(400), Some(123_456), None, Some(true)),
        RetryLater
    );
    assert_eq!(classify(Some(400), Some(123_456), None, None), FixRequest);
}

#[test]
fn a_known_code_wins_over_the_transient_flag() {
    assert_eq!(
        classify(Some(400), Some(190), Some(463), Some(true)),
        Reconnect
    );
}

#[test]
fn every_action_has_the_class_it_is_reported_as() {
    let expected = [
        (Action::RetryLater, RetryLater),
        (Action::Throttle(Throttled::App), Wait),
        (Action::Throttle(Throttled::Account), Wait),
        (Action::QuotaFull, Wait),
        (Action::Reconnect(Reason::TokenInvalid), Reconnect),
        (Action::FixRequest, FixRequest),
        (Action::NotReady, NotReady),
        (Action::ReadStateFirst, UnknownOutcome),
    ];
    for (action, class) in expected {
        assert_eq!(action.class(), class, "{action:?}");
    }
}

#[test]
fn a_real_error_body_is_classified_from_its_fields() {
    let body = r#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AbC","is_transient":false}}"#;
    let e = serde_json::from_str::<GraphApiErrorBody>(body)
        .unwrap()
        .error;
    assert_eq!(
        reported(Some(400), e.code, e.error_subcode, e.is_transient),
        Action::Reconnect(Reason::TokenInvalid)
    );
}

#[test]
fn container_failures_are_classified_by_their_subcode() {
    use ContainerFailure::*;
    let cases = [
        (Some(2_207_001), 1, Transient),
        (Some(2_207_082), 1, Transient),
        (Some(2_207_026), 1, Input),
        (Some(36_003), 1, Input),
        (Some(2_207_020), 1, Gone),
        (Some(2_207_008), 1, Gone),
        (Some(2_207_052), 1, Transient),
        (Some(2_207_052), 2, Input),
        (None, 1, Transient),
    ];
    for (subcode, attempts, expected) in cases {
        assert_eq!(
            container_failure(subcode, attempts),
            expected,
            "{subcode:?}"
        );
    }
}
