-- Facebook Page posts and their latest publish status (from `feed` changes).
CREATE TABLE page_posts (
    app_id       TEXT NOT NULL,
    page_id      TEXT NOT NULL,
    post_id      TEXT NOT NULL,
    item         TEXT,
    status       TEXT NOT NULL,
    status_at_ms BIGINT NOT NULL,
    PRIMARY KEY (app_id, post_id)
);
CREATE INDEX page_posts_by_page ON page_posts (app_id, page_id);
