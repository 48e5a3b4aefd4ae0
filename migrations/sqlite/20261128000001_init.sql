-- Events whose effects are committed; a redelivered event finds its id here.
CREATE TABLE processed_events (
    event_id        TEXT PRIMARY KEY,
    processed_at_ms INTEGER NOT NULL
);

CREATE TABLE accounts (
    app_id              TEXT NOT NULL,
    account_id          TEXT NOT NULL,
    tenant              TEXT,
    page_id             TEXT,
    user_id             TEXT,
    state               TEXT NOT NULL,
    reason              TEXT,
    state_changed_at_ms INTEGER NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    PRIMARY KEY (app_id, account_id)
);
CREATE INDEX accounts_by_user ON accounts (app_id, user_id);
CREATE INDEX accounts_by_state ON accounts (state);

CREATE TABLE account_transitions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id          TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    from_state      TEXT NOT NULL,
    to_state        TEXT NOT NULL,
    reason          TEXT NOT NULL,
    action          TEXT NOT NULL,
    source_event_id TEXT NOT NULL,
    occurred_at_ms  INTEGER NOT NULL,
    recorded_at_ms  INTEGER NOT NULL
);
CREATE INDEX account_transitions_by_account ON account_transitions (app_id, account_id, id);

-- Cached metrics per account (media_id = '') and per media.
CREATE TABLE metrics_cache (
    app_id         TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    media_id       TEXT NOT NULL,
    values_json    TEXT,
    fetched_at_ms  INTEGER,
    fresh          INTEGER NOT NULL,
    stale_since_ms INTEGER,
    PRIMARY KEY (app_id, account_id, media_id)
);

-- Output records committed with the effects that caused them, sent after commit.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    topic           TEXT NOT NULL,
    record_key      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    source_event_id TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL
);
