//! Metric labels drawn from what Meta sends are limited to the names graphhook
//! knows; anything else is `other`, so that nobody outside can grow a metric
//! without bound. Events themselves keep the real names.

/// The label of anything not in a known set.
pub const OTHER: &str = "other";

/// Envelope objects graphhook knows (and its own callback object).
const OBJECTS: [&str; 8] = [
    "instagram",
    "page",
    "user",
    "permissions",
    "application",
    "whatsapp_business_account",
    crate::CALLBACK_OBJECT,
    "unknown",
];

/// Change fields and messaging kinds graphhook knows: Instagram's fields, the
/// Page fields it handles, messaging kinds, callbacks, and the permissions
/// Instagram and Page integrations ask for.
const FIELDS: [&str; 48] = [
    "comments",
    "live_comments",
    "mentions",
    "story_insights",
    "messages",
    "message_echoes",
    "message_reactions",
    "messaging_handover",
    "messaging_optins",
    "messaging_policy_enforcement",
    "messaging_postbacks",
    "messaging_referral",
    "messaging_seen",
    "response_feedback",
    "standby",
    "feed",
    "mention",
    "ratings",
    "videos",
    "live_videos",
    "message",
    "message_echo",
    "reaction",
    "postback",
    "read",
    "delivery",
    "referral",
    "optin",
    "deauthorize",
    "data_deletion",
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_comments",
    "instagram_manage_insights",
    "instagram_manage_messages",
    "instagram_business_basic",
    "instagram_business_content_publish",
    "instagram_business_manage_comments",
    "instagram_business_manage_insights",
    "instagram_business_manage_messages",
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_metadata",
    "pages_manage_posts",
    "pages_messaging",
    "business_management",
    "public_profile",
    "unknown",
];

/// `object` as a metric label.
pub fn object_label(object: &str) -> &'static str {
    known(&OBJECTS, object)
}

/// `field` as a metric label.
pub fn field_label(field: &str) -> &'static str {
    known(&FIELDS, field)
}

fn known(set: &[&'static str], name: &str) -> &'static str {
    set.iter().find(|k| **k == name).copied().unwrap_or(OTHER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_are_kept_and_everything_else_is_other() {
        assert_eq!(object_label("instagram"), "instagram");
        assert_eq!(field_label("story_insights"), "story_insights");
        assert_eq!(field_label("instagram_basic"), "instagram_basic");
        assert_eq!(object_label("x".repeat(4096).as_str()), OTHER);
        assert_eq!(field_label("made_up_field"), OTHER);
    }
}
