//! The checks a publish request passes before it becomes a publication, the same
//! on the admin API (`400`, the detail names the field) and on
//! `publish-requests.v1` (dead-lettered with the reason): ids Meta could have
//! given, URLs Meta can fetch, texts without control characters, times in range,
//! no field the kind does not use, and no parameter in `options` that graphhook
//! sets itself or that changes how Meta answers.

use super::{
    meta_id_ok, PublicationKind, PublishRequest, MAX_CAROUSEL_CHILDREN, MAX_PAGE_POST_MESSAGE,
};

/// Parameters graphhook sets itself, and Graph API meta-parameters that change
/// how a call is made or answered (`method` turns a POST into a DELETE,
/// `suppress_http_code` hides errors, `fields` changes the answer graphhook
/// reads): `options` may carry none of them.
const RESERVED_OPTIONS: [&str; 27] = [
    "image_url",
    "video_url",
    "media_type",
    "caption",
    "children",
    "is_carousel_item",
    "access_token",
    "creation_id",
    "message",
    "link",
    "url",
    "published",
    "appsecret_proof",
    "method",
    "suppress_http_code",
    "fields",
    "format",
    "pretty",
    "callback",
    "debug",
    "include_headers",
    "batch",
    "locale",
    "metadata",
    "redirect",
    "date_format",
    "transport",
];

/// The latest `not_before_ms` accepted: 2100-01-01.
const LATEST_NOT_BEFORE_MS: i64 = 4_102_444_800_000;

/// Whether `url` is an absolute http(s) URL with a host Meta can fetch from:
/// no credentials, no spaces or control characters, at most 4 KiB.
pub(super) fn url_ok(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(literal) => literal.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    url.len() <= 4_096
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
        && !authority.contains('@')
        && !host.is_empty()
        && !host.starts_with(['.', '-'])
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
}

fn id_ok(id: &str, max: usize) -> bool {
    !id.is_empty()
        && id.len() <= max
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

/// Control characters other than line breaks and tabs, which captions and posts
/// may hold.
fn has_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

impl PublishRequest {
    /// Checks the request; the error names the field and the problem.
    pub fn validate(&self) -> Result<(), String> {
        if !id_ok(&self.request_id, 128) {
            return Err("request_id must be 1 to 128 of A-Z a-z 0-9 . _ : -".into());
        }
        for (field, id) in [("app_id", &self.app_id), ("account_id", &self.account_id)] {
            if !meta_id_ok(id) {
                return Err(format!("{field} must be a Meta id"));
            }
        }
        if let Some(container) = &self.container_id {
            if !meta_id_ok(container) {
                return Err("container_id must be a Meta id".into());
            }
            if self.kind == PublicationKind::PagePost {
                return Err("container_id cannot be tracked for a page_post".into());
            }
        }
        if self
            .not_before_ms
            .is_some_and(|at| !(0..=LATEST_NOT_BEFORE_MS).contains(&at))
        {
            return Err("not_before_ms must be epoch milliseconds between 1970 and 2100".into());
        }
        for (field, url) in [
            ("image_url", &self.image_url),
            ("video_url", &self.video_url),
            ("link", &self.link),
        ] {
            if url.as_deref().is_some_and(|u| !url_ok(u)) {
                return Err(format!(
                    "{field} must be an absolute http(s) URL with a host"
                ));
            }
        }
        self.validate_texts()?;
        self.validate_options()?;
        self.validate_fields_of_kind()?;
        let tracking = self.container_id.is_some();
        let (image, video) = (self.image_url.is_some(), self.video_url.is_some());
        match self.kind {
            PublicationKind::Image if !tracking && (!image || video) => {
                Err("an image needs image_url (a JPEG) and no video_url".into())
            }
            PublicationKind::Reel if !tracking && (!video || image) => {
                Err("a reel needs video_url and no image_url".into())
            }
            PublicationKind::Story if !tracking && image == video => {
                Err("a story needs image_url or video_url".into())
            }
            PublicationKind::Carousel if !tracking => self.validate_children(),
            PublicationKind::PagePost
                if self.message.is_none() && self.link.is_none() && !image =>
            {
                Err("a page_post needs message, link or image_url".into())
            }
            _ => Ok(()),
        }
    }

    fn validate_texts(&self) -> Result<(), String> {
        if self
            .caption
            .as_deref()
            .is_some_and(|c| c.chars().count() > 2_200)
        {
            return Err("caption is longer than Instagram's 2,200 characters".into());
        }
        if self
            .message
            .as_deref()
            .is_some_and(|m| m.chars().count() > MAX_PAGE_POST_MESSAGE)
        {
            return Err("message is longer than Facebook's 63,206 characters".into());
        }
        for (field, text) in [("caption", &self.caption), ("message", &self.message)] {
            if text.as_deref().is_some_and(|t| t.contains('\0')) {
                return Err(format!("{field} contains a NUL character"));
            }
            if text.as_deref().is_some_and(has_control) {
                return Err(format!(
                    "{field} contains a control character (line breaks and tabs are fine)"
                ));
            }
        }
        Ok(())
    }

    fn validate_options(&self) -> Result<(), String> {
        if let Some((key, _)) = self
            .options
            .iter()
            .find(|(_, v)| v.contains('\0') || v.len() > 8_192 || has_control(v))
        {
            return Err(format!(
                "options.{key} must be at most 8,192 bytes without control characters"
            ));
        }
        if let Some(key) = self.options.keys().find(|k| {
            RESERVED_OPTIONS.contains(&k.as_str())
                || k.is_empty()
                || k.len() > 64
                || !k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        }) {
            let shown =
                if key.len() <= 64 && key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    key.as_str()
                } else {
                    "<key>"
                };
            return Err(format!(
                "options.{shown} is not a parameter graphhook passes on"
            ));
        }
        Ok(())
    }

    /// Refuses fields the kind does not use: they would be dropped without a word.
    fn validate_fields_of_kind(&self) -> Result<(), String> {
        use PublicationKind as K;
        let given = [
            (
                "image_url",
                self.image_url.is_some(),
                &[K::Image, K::Story, K::PagePost][..],
            ),
            (
                "video_url",
                self.video_url.is_some(),
                &[K::Reel, K::Story][..],
            ),
            ("children", !self.children.is_empty(), &[K::Carousel][..]),
            ("message", self.message.is_some(), &[K::PagePost][..]),
            ("link", self.link.is_some(), &[K::PagePost][..]),
            (
                "caption",
                self.caption.is_some(),
                &[K::Image, K::Reel, K::Carousel, K::PagePost][..],
            ),
        ];
        for (field, present, kinds) in given {
            if present && !kinds.contains(&self.kind) {
                return Err(format!(
                    "{field} does not apply to a {}",
                    self.kind.as_str()
                ));
            }
        }
        if self.kind == K::PagePost && self.caption.is_some() && self.image_url.is_none() {
            return Err("caption of a page_post is a photo's: it needs image_url".into());
        }
        Ok(())
    }

    fn validate_children(&self) -> Result<(), String> {
        if !(2..=MAX_CAROUSEL_CHILDREN).contains(&self.children.len()) {
            return Err(format!(
                "a carousel needs 2 to {MAX_CAROUSEL_CHILDREN} children"
            ));
        }
        for (index, child) in self.children.iter().enumerate() {
            let urls = [&child.image_url, &child.video_url];
            if urls.iter().filter(|u| u.is_some()).count() != 1 {
                return Err(format!("children[{index}] needs image_url or video_url"));
            }
            if urls
                .iter()
                .any(|u| u.as_deref().is_some_and(|u| !url_ok(u)))
            {
                return Err(format!(
                    "children[{index}]: URLs must be absolute http(s) with a host"
                ));
            }
        }
        Ok(())
    }

    /// The fields in which `other`, a request with the same `request_id`, asks for
    /// something else (`publish` aside: `true` after `false` is the second call).
    pub fn differences(&self, other: &PublishRequest) -> Vec<&'static str> {
        let fields = [
            ("app_id", self.app_id == other.app_id),
            ("account_id", self.account_id == other.account_id),
            ("kind", self.kind == other.kind),
            ("image_url", self.image_url == other.image_url),
            ("video_url", self.video_url == other.video_url),
            ("caption", self.caption == other.caption),
            ("children", self.children == other.children),
            ("options", self.options == other.options),
            ("not_before_ms", self.not_before_ms == other.not_before_ms),
            ("container_id", self.container_id == other.container_id),
            ("message", self.message == other.message),
            ("link", self.link == other.link),
        ];
        fields
            .into_iter()
            .filter(|(_, same)| !same)
            .map(|(field, _)| field)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(extra: serde_json::Value) -> PublishRequest {
        let mut value =
            serde_json::json!({"request_id": "r-1", "app_id": "1", "account_id": "17841400000"});
        if let (Some(base), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(value).expect("a request")
    }

    #[test]
    fn what_meta_would_refuse_or_misread_is_refused_by_name() {
        let image = |extra: serde_json::Value| {
            let mut value =
                serde_json::json!({"kind": "image", "image_url": "https://cdn.example/a.jpg"});
            if let (Some(base), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
                base.extend(extra.clone());
            }
            request(value)
        };
        image(serde_json::json!({"caption": "Line one\nline two\ttab"}))
            .validate()
            .expect("line breaks are fine");
        for (extra, field) in [
            (serde_json::json!({"image_url": "https://"}), "image_url"),
            (
                serde_json::json!({"image_url": "https://user:pw@cdn.example/a.jpg"}),
                "image_url",
            ),
            (
                serde_json::json!({"image_url": "https:///a.jpg"}),
                "image_url",
            ),
            (
                serde_json::json!({"options": {"method": "delete"}}),
                "options.method",
            ),
            (
                serde_json::json!({"options": {"suppress_http_code": "1"}}),
                "options.suppress_http_code",
            ),
            (
                serde_json::json!({"options": {"fields": "id"}}),
                "options.fields",
            ),
            (
                serde_json::json!({"options": {"appsecret_proof": "x"}}),
                "options.appsecret_proof",
            ),
            (
                serde_json::json!({"options": {"Bad<Key>": "x"}}),
                "options.<key>",
            ),
            (
                serde_json::json!({"not_before_ms": i64::MAX}),
                "not_before_ms",
            ),
            (serde_json::json!({"not_before_ms": -5}), "not_before_ms"),
            (serde_json::json!({"caption": "bell\u{7}"}), "caption"),
            (serde_json::json!({"caption": "esc\u{1b}[31m"}), "caption"),
            (serde_json::json!({"message": "a post"}), "message"),
            (serde_json::json!({"link": "https://example.com"}), "link"),
            (
                serde_json::json!({"children": [{"image_url": "https://c/1.jpg"}]}),
                "children",
            ),
        ] {
            let error = image(extra.clone()).validate().unwrap_err();
            assert!(error.starts_with(field), "{extra}: {error}");
            assert!(!error.contains("Bad<Key>"), "{error}");
        }
        let story = request(
            serde_json::json!({"kind": "story", "image_url": "https://c/s.jpg", "caption": "x"}),
        );
        assert!(story.validate().unwrap_err().starts_with("caption"));
        let reel = request(
            serde_json::json!({"kind": "reel", "video_url": "https://c/r.mp4", "image_url": "https://c/x.jpg"}),
        );
        assert!(reel.validate().unwrap_err().starts_with("image_url"));
    }

    #[test]
    fn differences_name_the_fields_and_ignore_the_second_call() {
        let first = request(
            serde_json::json!({"kind": "image", "image_url": "https://c/a.jpg", "caption": "a"}),
        );
        let mut second = first.clone();
        second.publish = !first.publish;
        assert!(first.differences(&second).is_empty());
        second.caption = Some("b".into());
        second.image_url = Some("https://c/b.jpg".into());
        assert_eq!(first.differences(&second), ["image_url", "caption"]);
    }
}
