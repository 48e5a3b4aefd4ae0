-- Outbox rows carry their record id, and are claimed by one relay at a time (a
-- lease: claimed_by, claimed_until_ms) instead of being locked while Kafka is
-- awaited.
ALTER TABLE outbox ADD COLUMN record_id TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until_ms BIGINT;
CREATE INDEX outbox_by_key ON outbox (topic, record_key);

-- Output records Kafka refused for good (e.g. larger than the topic allows): kept
-- for an operator instead of blocking the relay forever.
CREATE TABLE outbox_parked (
    id              BIGINT PRIMARY KEY,
    topic           TEXT NOT NULL,
    record_key      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    source_event_id TEXT NOT NULL,
    record_id       TEXT NOT NULL,
    reason          TEXT NOT NULL,
    parked_at_ms    BIGINT NOT NULL
);
