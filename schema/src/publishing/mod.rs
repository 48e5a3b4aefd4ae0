//! `publish-requests.v1`: what a team's scheduler, app or agent asks graphhook to
//! publish (or to track), and the checks a request passes before it becomes a
//! publication.

use std::collections::BTreeMap;

mod checks;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a publication publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublicationKind {
    /// An Instagram feed image (JPEG).
    Image,
    /// An Instagram reel (video).
    Reel,
    /// An Instagram story (image or video).
    Story,
    /// An Instagram carousel of 2 to 10 images or videos (counts as one post).
    Carousel,
    /// A Facebook Page post (message, link or photo), published through the Page.
    PagePost,
}

impl PublicationKind {
    /// The kind as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            PublicationKind::Image => "image",
            PublicationKind::Reel => "reel",
            PublicationKind::Story => "story",
            PublicationKind::Carousel => "carousel",
            PublicationKind::PagePost => "page_post",
        }
    }
}

/// One item of a carousel: an image or a video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CarouselChild {
    /// A public JPEG URL Meta fetches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// A public video URL Meta fetches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
}

fn yes() -> bool {
    true
}

/// A request to publish, or to track a container the client created itself.
/// Idempotent by `request_id`: the same id twice is one publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The client's own id of the request (1 to 128 of `A-Z a-z 0-9 . _ : -`).
    pub request_id: String,
    /// Meta's app id (the admin API takes it from the path).
    #[serde(default)]
    pub app_id: String,
    /// The Instagram account, or the Page for `page_post` (the admin API takes it
    /// from the path).
    #[serde(default)]
    pub account_id: String,
    /// What to publish.
    pub kind: PublicationKind,
    /// For `image` and `story`: a public JPEG URL; for `page_post`: a photo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// For `reel` and `story`: a public video URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
    /// The caption (Instagram) or the photo's caption (Page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// For `carousel`: 2 to 10 items, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<CarouselChild>,
    /// Further parameters Meta takes for the container (`cover_url`,
    /// `share_to_feed`, `location_id`, `user_tags`, `audio_name`, `thumb_offset`,
    /// `collaborators`, `alt_text`, ...), passed as given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// `false`: create the container and track it, publish later with a second
    /// call (`POST .../publications/{request_id}/publish`).
    #[serde(default = "yes")]
    pub publish: bool,
    /// Not published before this time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before_ms: Option<i64>,
    /// Track (and publish) this existing container instead of creating one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// For `page_post`: the post's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// For `page_post`: a link to share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// The most items of a carousel.
pub const MAX_CAROUSEL_CHILDREN: usize = 10;

/// Whether `id` looks like an id Meta gives (an app, account, Page, container,
/// media or post id): 1 to 64 ASCII letters, digits, `_` and `-`. Ids from requests and
/// from Meta's answers are checked with it before they go into a URL path or the
/// store.
pub fn meta_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

/// The id at `key` of a Meta answer (a string, or a number as Meta sometimes
/// sends ids), only when it looks like one ([`meta_id_ok`]): it goes into URL
/// paths and the store.
pub fn meta_id_in(value: &serde_json::Value, key: &str) -> Option<String> {
    let id = match value.get(key)? {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    meta_id_ok(&id).then_some(id)
}

/// Text from outside (Meta's error titles, a container's `status`) made fit to
/// store and show: control characters become spaces and it is cut to `max`
/// characters.
pub fn clean_text(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The longest Facebook Page post text Meta takes.
pub const MAX_PAGE_POST_MESSAGE: usize = 63_206;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_ids_and_texts_from_outside() {
        assert!(meta_id_ok("17841400000") && meta_id_ok("1050_123") && meta_id_ok("m-c4"));
        for bad in ["", "..", "1/2", "1\u{0}", "1 2", &"9".repeat(65)] {
            assert!(!meta_id_ok(bad), "{bad:?}");
        }
        assert_eq!(clean_text("a\u{0}b\nc", 100), "a b c");
        assert_eq!(clean_text("Schön", 3), "Sch");
    }

    fn request(json: serde_json::Value) -> PublishRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn requests_are_checked_by_kind() {
        let base =
            serde_json::json!({"request_id": "r-1", "app_id": "1", "account_id": "17841400000"});
        let with = |extra: serde_json::Value| {
            let mut value = base.clone();
            value
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            request(value)
        };
        assert!(with(
            serde_json::json!({"kind": "image", "image_url": "https://cdn.example/a.jpg"})
        )
        .validate()
        .is_ok());
        assert!(with(serde_json::json!({"kind": "image"}))
            .validate()
            .is_err());
        assert!(with(
            serde_json::json!({"kind": "reel", "video_url": "https://cdn.example/a.mp4"})
        )
        .validate()
        .is_ok());
        assert!(
            with(serde_json::json!({"kind": "image", "container_id": "1790"}))
                .validate()
                .is_ok(),
            "tracking"
        );
        let carousel = with(
            serde_json::json!({"kind": "carousel", "children": [{"image_url": "https://c/1.jpg"}, {"video_url": "https://c/2.mp4"}]}),
        );
        assert!(carousel.validate().is_ok());
        let one = with(
            serde_json::json!({"kind": "carousel", "children": [{"image_url": "https://c/1.jpg"}]}),
        );
        assert!(one.validate().unwrap_err().contains("2 to 10"));
        let injected = with(
            serde_json::json!({"kind": "image", "image_url": "https://c/1.jpg", "options": {"access_token": "x"}}),
        );
        assert!(injected
            .validate()
            .unwrap_err()
            .contains("options.access_token"));
        assert!(
            with(serde_json::json!({"kind": "page_post", "message": "hello"}))
                .validate()
                .is_ok()
        );
        let bad_id =
            with(serde_json::json!({"kind": "page_post", "message": "m", "request_id": "a b"}));
        assert!(bad_id.validate().is_err());
        for (extra, error) in [
            (
                serde_json::json!({"kind": "image", "container_id": "../me"}),
                "container_id must be a Meta id",
            ),
            (
                serde_json::json!({"kind": "page_post", "message": "m", "account_id": ".."}),
                "account_id must be a Meta id",
            ),
            (
                serde_json::json!({"kind": "image", "image_url": "https://c/1.jpg", "caption": "a\u{0}b"}),
                "caption contains a NUL character",
            ),
            (
                serde_json::json!({"kind": "page_post", "message": "x".repeat(MAX_PAGE_POST_MESSAGE + 1)}),
                "message is longer",
            ),
            (
                serde_json::json!({"kind": "image", "image_url": "https://c/1.jpg", "options": {"alt_text": "a\u{0}"}}),
                "options.alt_text",
            ),
        ] {
            let refused = with(extra).validate().unwrap_err();
            assert!(refused.contains(error), "{refused}");
        }
        assert!(
            with(serde_json::json!({"kind": "image", "image_url": "https://c/1.jpg"})).publish,
            "publish by default"
        );
    }
}
