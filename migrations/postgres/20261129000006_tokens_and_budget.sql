-- Access tokens, one per account and kind, encrypted at rest (AES-256-GCM under
-- the key named by key_id; the nonce is per row and the additional data binds the
-- ciphertext to its app, account and kind). Only the token manager reads them.
CREATE TABLE tokens (
    app_id                    TEXT NOT NULL,
    account_id                TEXT NOT NULL,
    kind                      TEXT NOT NULL,
    tenant                    TEXT,
    page_id                   TEXT,
    user_id                   TEXT,
    scopes                    TEXT NOT NULL,
    issued_at_ms              BIGINT NOT NULL,
    expires_at_ms             BIGINT,
    data_access_expires_at_ms BIGINT,
    last_refresh_at_ms        BIGINT,
    last_check_at_ms          BIGINT NOT NULL,
    key_id                    TEXT NOT NULL,
    nonce                     TEXT NOT NULL,
    ciphertext                TEXT NOT NULL,
    failures                  BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms        BIGINT NOT NULL DEFAULT 0,
    lease_owner               TEXT,
    lease_until_ms            BIGINT NOT NULL DEFAULT 0,
    updated_at_ms             BIGINT NOT NULL,
    PRIMARY KEY (app_id, account_id, kind)
);
CREATE INDEX tokens_by_expiry ON tokens (expires_at_ms);

-- What Meta's usage headers and throttle answers said, per app (scope 'app',
-- object '') and per business object (scope 'object': the account, Page, ...),
-- shared by every replica.
CREATE TABLE graph_budget (
    app_id          TEXT NOT NULL,
    scope           TEXT NOT NULL,
    object_id       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    usage_permille  BIGINT NOT NULL,
    held_until_ms   BIGINT NOT NULL,
    next_call_at_ms BIGINT NOT NULL,
    updated_at_ms   BIGINT NOT NULL,
    PRIMARY KEY (app_id, scope, object_id)
);
