-- Review items past their SLA are announced once: `sla_announced_at` says
-- the overdue event went out.
ALTER TABLE review_items ADD COLUMN sla_announced_at timestamptz;

CREATE INDEX review_items_overdue_idx ON review_items (sla_due_at)
    WHERE status = 'OPEN' AND sla_due_at IS NOT NULL AND sla_announced_at IS NULL;
