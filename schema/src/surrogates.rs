//! JSON text with unpaired UTF-16 surrogate escapes. JSON's grammar allows
//! `"\ud83d"` alone (RFC 8259, section 8.2), and JavaScript systems produce it
//! when they cut text in the middle of an emoji; serde_json refuses it when it
//! reads the string. Event values are kept byte for byte, so readers of a value
//! repair such escapes to U+FFFD instead of losing the whole value.

/// Reads JSON `text` as `T`, reading a lone surrogate escape as U+FFFD.
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(text).or_else(|error| match repair_lone_surrogates(text) {
        Some(repaired) => serde_json::from_str(&repaired),
        None => Err(error),
    })
}

/// `text` with every `\uXXXX` escape of an unpaired surrogate replaced by
/// `\ufffd`; `None` when it has none (the common case: no copy).
pub fn repair_lone_surrogates(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut repaired = String::new();
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'\\' {
            at += 1;
            continue;
        }
        let Some(unit) = (bytes.get(at + 1) == Some(&b'u'))
            .then(|| hex4(bytes, at + 2))
            .flatten()
        else {
            at += 2; // `\"`, `\\`, `\n`, ...: the escaped character is not a backslash
            continue;
        };
        let paired = match unit {
            0xD800..=0xDBFF => {
                bytes.get(at + 6) == Some(&b'\\')
                    && bytes.get(at + 7) == Some(&b'u')
                    && hex4(bytes, at + 8).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low))
            }
            0xDC00..=0xDFFF => false,
            _ => true,
        };
        if paired {
            at += if !(0xD800..=0xDFFF).contains(&unit) {
                6
            } else {
                12
            };
            continue;
        }
        // `at` is a backslash and `at + 6` follows four ASCII digits: both are
        // character boundaries.
        repaired.push_str(&text[copied..at]);
        repaired.push_str("\\ufffd");
        at += 6;
        copied = at;
    }
    if copied == 0 {
        return None;
    }
    repaired.push_str(&text[copied..]);
    Some(repaired)
}

fn hex4(bytes: &[u8], at: usize) -> Option<u16> {
    let digits = bytes.get(at..at + 4)?;
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::repair_lone_surrogates;

    #[test]
    fn lone_surrogates_become_the_replacement_character() {
        // Found by the `envelope` fuzz target: a reaction whose emoji escape lost
        // its high surrogate.
        assert_eq!(
            repair_lone_surrogates(r#"{"emoji":"\ud15d\ude22"}"#).as_deref(),
            Some(r#"{"emoji":"\ud15d\ufffd"}"#)
        );
        assert_eq!(
            repair_lone_surrogates(r#"["\ud83d", "\ud83d x", "\udc00\ud83d"]"#).as_deref(),
            Some(r#"["\ufffd", "\ufffd x", "\ufffd\ufffd"]"#)
        );
    }

    #[test]
    fn pairs_other_escapes_and_escaped_backslashes_are_left_alone() {
        for text in [
            r#"{"emoji":"\ud83d\ude22","x":"\u00e9\n\"\\"}"#,
            r#"["\\ud83d", "\\\\", "é \/"]"#,
            r#""\uD83D\uDE22 upper case""#,
        ] {
            assert_eq!(repair_lone_surrogates(text), None, "{text}");
        }
    }
}
