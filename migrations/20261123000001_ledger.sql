-- The Sluice ledger: idempotency keys (the effect layer), executions and
-- their journal. Every time in these tables comes from the database clock
-- (now()), never from a service's clock, so leases mean the same thing to
-- every replica.

CREATE TABLE idempotency_keys (
    key                  text PRIMARY KEY,
    fingerprint          text NOT NULL,
    state                text NOT NULL CHECK (state IN
                             ('in_progress', 'completed', 'failed_recoverable', 'failed_permanent')),
    owner                text NOT NULL,
    -- Grows by one on every (re)start; a call with an older token is stale.
    fencing_token        bigint NOT NULL,
    lease_expires_at     timestamptz,
    -- Set (by MarkAttempted) before the effect is sent to the target: after
    -- that, an expired lease no longer proves that nothing happened.
    effect_attempted     boolean NOT NULL DEFAULT false,
    result               jsonb,
    recovery_point       jsonb,
    failure_reason       text,
    attempts             integer NOT NULL DEFAULT 1,
    superseded_by_review text,
    execution_id         uuid,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idempotency_keys_execution_idx ON idempotency_keys (execution_id)
    WHERE execution_id IS NOT NULL;

-- Audit trail of a key: every start, attempt, completion, failure and
-- reviewed supersession, with the caller's authenticated identity.
CREATE TABLE key_events (
    id            bigserial PRIMARY KEY,
    key           text NOT NULL REFERENCES idempotency_keys (key) ON DELETE CASCADE,
    at            timestamptz NOT NULL DEFAULT now(),
    event         text NOT NULL,
    fencing_token bigint NOT NULL,
    actor         text NOT NULL,
    review_id     text,
    detail        jsonb
);

CREATE INDEX key_events_key_idx ON key_events (key, id);

CREATE TABLE executions (
    execution_id       uuid PRIMARY KEY,
    workflow           text NOT NULL,
    source             text NOT NULL,
    event_id           text NOT NULL,
    correlation_id     text NOT NULL,
    state              text NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    retry_count        integer NOT NULL DEFAULT 0,
    exception_reason   text,
    final_outcome      text,
    -- Filled by later stages.
    payload_ref        text,
    model_output_ref   text,
    confidence         double precision,
    gate_decision      text,
    actions_attempted  jsonb,
    external_write_ids jsonb,
    -- The journal's last sequence number: bumped in the same guarded UPDATE
    -- that moves the state, so sequence numbers never collide or skip.
    last_seq           bigint NOT NULL DEFAULT 0
);

-- ListExecutions: newest first, optionally by workflow and/or state.
CREATE INDEX executions_received_idx ON executions (received_at DESC, execution_id DESC);
CREATE INDEX executions_workflow_idx ON executions (workflow, received_at DESC, execution_id DESC);
CREATE INDEX executions_state_idx ON executions (state, received_at DESC, execution_id DESC);
CREATE INDEX executions_correlation_idx ON executions (correlation_id);

CREATE TABLE journal (
    execution_id uuid NOT NULL REFERENCES executions (execution_id) ON DELETE CASCADE,
    seq          bigint NOT NULL,
    from_state   text,
    to_state     text NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    stage        text NOT NULL DEFAULT '',
    generation   text NOT NULL DEFAULT '',
    detail       jsonb,
    actor        text NOT NULL,
    PRIMARY KEY (execution_id, seq)
);
