-- Publications: one per client request_id (per app and account), a state machine
-- kept here with every step's ids for support. One replica owns a publication at
-- a time: a lease (lease_owner, lease_until_ms) with a fencing value (fence) that
-- every write checks.
CREATE TABLE publications (
    app_id                  TEXT NOT NULL,
    account_id              TEXT NOT NULL,
    request_id              TEXT NOT NULL,
    kind                    TEXT NOT NULL,
    request                 TEXT NOT NULL,
    publish                 BIGINT NOT NULL,
    state                   TEXT NOT NULL,
    held_from               TEXT,
    container_id            TEXT,
    children                TEXT NOT NULL,
    media_id                TEXT,
    post_id                 TEXT,
    publish_sent            BIGINT NOT NULL,
    error_class             TEXT,
    error_code              BIGINT,
    error_subcode           BIGINT,
    error_text              TEXT,
    attempts                BIGINT NOT NULL,
    reads                   BIGINT NOT NULL,
    calls                   BIGINT NOT NULL,
    created_at_ms           BIGINT NOT NULL,
    container_created_at_ms BIGINT,
    last_not_ready_at_ms    BIGINT,
    ready_at_ms             BIGINT,
    done_at_ms              BIGINT,
    next_action_at_ms       BIGINT NOT NULL,
    lease_owner             TEXT,
    lease_until_ms          BIGINT NOT NULL,
    fence                   BIGINT NOT NULL,
    updated_at_ms           BIGINT NOT NULL,
    PRIMARY KEY (app_id, account_id, request_id)
);
CREATE INDEX publications_due ON publications (next_action_at_ms);
CREATE INDEX publications_by_post ON publications (app_id, post_id);
CREATE INDEX publications_by_state ON publications (app_id, account_id, state, request_id);
