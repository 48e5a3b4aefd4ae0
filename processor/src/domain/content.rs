//! What graphhook refuses to store, decided before any SQL runs: a record whose ids
//! the database cannot hold (PostgreSQL refuses a NUL character in text, SQLite
//! would store it) or that no Meta id looks like (control characters, kilobytes of
//! text) is rejected the same way on both engines, dead-lettered with the reason,
//! and the records around it are applied.

/// The longest id accepted, in bytes. Meta's ids are tens of characters; this is
/// far below PostgreSQL's index row limit (about 2,700 bytes).
pub const MAX_ID_BYTES: usize = 512;

/// Why a record can never be applied. The text names the field and the problem,
/// never the content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Rejection(pub String);

/// Checks an id Meta (or a client service) sent: at most [`MAX_ID_BYTES`], no
/// control characters (NUL included).
pub fn check_id(what: &str, value: &str) -> Result<(), Rejection> {
    if value.len() > MAX_ID_BYTES {
        return Err(Rejection(format!(
            "{what} is {} bytes long (at most {MAX_ID_BYTES})",
            value.len()
        )));
    }
    if value.contains('\0') {
        return Err(Rejection(format!("{what} contains a NUL character")));
    }
    if value.chars().any(char::is_control) {
        return Err(Rejection(format!("{what} contains a control character")));
    }
    Ok(())
}

/// Checks an optional id.
pub fn check_optional_id(what: &str, value: Option<&str>) -> Result<(), Rejection> {
    value.map_or(Ok(()), |v| check_id(what, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_ids_pass_and_nul_control_or_huge_ids_are_rejected_by_name() {
        check_id("account id", "17841400000000000").unwrap();
        check_id("message id", "aWdfZAG1faWQ6MTc4NDE0MDA=").unwrap();
        check_id("post id", "").unwrap();
        let nul = check_id("account id", "1784\u{0}1").unwrap_err();
        assert_eq!(nul.0, "account id contains a NUL character");
        assert!(check_id("media id", "m\n1").is_err());
        let huge = check_id("media id", &"9".repeat(5000)).unwrap_err();
        assert!(
            huge.0.contains("5000 bytes") && !huge.0.contains("999"),
            "{huge}"
        );
    }
}
