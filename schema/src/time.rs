//! Meta sends epoch times in seconds for `changes` deliveries and in milliseconds for
//! `messaging` ones. Everything graphhook emits is in milliseconds.

/// Values at or above this are taken to be milliseconds already. As seconds it would
/// be the year 5138; as milliseconds it is March 1973, before any Meta webhook existed.
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// Normalizes an epoch timestamp that may be in seconds or milliseconds to milliseconds.
/// Returns `None` for non-positive values.
pub fn epoch_to_millis(value: i64) -> Option<i64> {
    match value {
        v if v <= 0 => None,
        v if v >= MILLIS_THRESHOLD => Some(v),
        v => v.checked_mul(1000),
    }
}

/// Reads an epoch timestamp from a JSON number (integer or float, as Meta sometimes
/// sends fractional seconds) and normalizes it to milliseconds.
pub fn json_epoch_to_millis(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => epoch_to_millis(i),
            None => n.as_f64().and_then(float_epoch_to_millis),
        },
        _ => None,
    }
}

fn float_epoch_to_millis(f: f64) -> Option<i64> {
    if !f.is_finite() || f <= 0.0 || f >= 1e15 {
        return None;
    }
    if f >= MILLIS_THRESHOLD as f64 {
        Some(f as i64)
    } else {
        Some((f * 1000.0) as i64)
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seconds_become_milliseconds() {
        assert_eq!(epoch_to_millis(1_448_633_038), Some(1_448_633_038_000));
    }

    #[test]
    fn milliseconds_stay_milliseconds() {
        assert_eq!(epoch_to_millis(1_527_459_824_000), Some(1_527_459_824_000));
    }

    #[test]
    fn zero_and_negative_are_absent() {
        assert_eq!(epoch_to_millis(0), None);
        assert_eq!(epoch_to_millis(-5), None);
    }

    #[test]
    fn json_numbers_of_both_kinds_are_read() {
        assert_eq!(
            json_epoch_to_millis(&json!(1_700_000_000)),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            json_epoch_to_millis(&json!(1_700_000_000.5)),
            Some(1_700_000_000_500)
        );
        assert_eq!(json_epoch_to_millis(&json!("1700000000")), None);
    }
}
