-- Pruning event ids older than the retention finds them by time.
CREATE INDEX processed_events_by_time ON processed_events (processed_at_ms);
