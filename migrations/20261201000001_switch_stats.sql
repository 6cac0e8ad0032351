-- Breaker windows read the journal by time for one workflow; review
-- decisions by workflow and decision time.
CREATE INDEX journal_at_idx ON journal (at);
CREATE INDEX review_items_decided_idx ON review_items (workflow, decided_at)
    WHERE decided_at IS NOT NULL;
