-- Retention of idempotency keys and erasure of personal payload.
--
-- An erased execution keeps its skeleton (states, journal moves, key names,
-- audit rows); `erased_at` says when its payload was removed, so a second
-- erasure is a recognisable no-op and an erased dead letter is never
-- replayed (there is nothing left to republish).
ALTER TABLE executions ADD COLUMN erased_at timestamptz;
ALTER TABLE dead_letters ADD COLUMN erased_at timestamptz;

-- The periodic purge looks for finished keys by the time of their last change.
CREATE INDEX idempotency_keys_purge_idx ON idempotency_keys (updated_at)
    WHERE state IN ('completed', 'failed_permanent');
