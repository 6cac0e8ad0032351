-- Escalation webhooks of review items past their SLA, one row per item whose
-- workflow declares a webhook, written in the transaction that marks the
-- item's overdue announcement. A dead-letter replica claims a row with a
-- lease before POSTing, so two replicas never deliver one escalation at once,
-- and records how it ended: delivered, or failed for good (never tried
-- again). A claim whose holder died runs out and is taken over.
CREATE TABLE review_escalations (
    review_item_id bigint PRIMARY KEY REFERENCES review_items (id) ON DELETE CASCADE,
    workflow       text NOT NULL,
    -- The JSON POSTed, byte for byte the escalation event: ids, owner and
    -- times only, never the handoff.
    payload        jsonb NOT NULL,
    claimed_by     text,
    lease_until    timestamptz,
    attempts       integer NOT NULL DEFAULT 0,
    last_error     text,
    delivered_at   timestamptz,
    failed_at      timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX review_escalations_unfinished_idx ON review_escalations (created_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
