-- Data-deletion requests (Meta's data-deletion callback), by confirmation code:
-- what `GET /data-deletion/{code}` shows.
CREATE TABLE deletion_requests (
    confirmation_code TEXT PRIMARY KEY,
    app_id            TEXT NOT NULL,
    status            TEXT NOT NULL,
    accounts          INTEGER NOT NULL,
    requested_at_ms   INTEGER NOT NULL,
    completed_at_ms   INTEGER
);

-- Listing accounts by state, page by page.
CREATE INDEX accounts_by_app_state ON accounts (app_id, state, account_id);
