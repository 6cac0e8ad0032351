-- Dead letters, their replays, review items and the operator audit trail.
-- Times come from the database clock (now()), as everywhere in the ledger.

-- One row per ORIGINAL message that could not be processed, whichever path
-- reported it (the bus's dead-letter publish or a max-deliveries/terminated
-- advisory): the message's (stream, stream_sequence) is the dedupe key.
CREATE TABLE dead_letters (
    id              bigserial PRIMARY KEY,
    stream          text NOT NULL,
    stream_sequence bigint NOT NULL,
    stage           text NOT NULL,
    workflow        text NOT NULL,
    -- Undecodable input may name no execution.
    execution_id    uuid,
    correlation_id  text NOT NULL DEFAULT '',
    failure_class   text NOT NULL CHECK (failure_class IN ('temporary', 'permanent', 'unknown')),
    reason          text NOT NULL,
    error_detail    jsonb,
    attempts        integer NOT NULL,
    first_failed_at timestamptz NOT NULL,
    last_failed_at  timestamptz NOT NULL,
    subject         text NOT NULL,
    headers         jsonb NOT NULL DEFAULT '{}',
    payload         bytea NOT NULL,
    dlq_stream      text NOT NULL DEFAULT '',
    dlq_sequence    bigint NOT NULL DEFAULT 0,
    status          text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'REPLAYED', 'DISCARDED')),
    -- Replay generations reserved so far; the last one is `replay:<n>`.
    replay_count    integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream, stream_sequence)
);

CREATE INDEX dead_letters_workflow_idx ON dead_letters (workflow, id DESC);
CREATE INDEX dead_letters_status_idx ON dead_letters (status, id DESC);
CREATE INDEX dead_letters_correlation_idx ON dead_letters (correlation_id);
CREATE INDEX dead_letters_execution_idx ON dead_letters (execution_id)
    WHERE execution_id IS NOT NULL;

-- One row per (entry, replay batch): the generation a batch reserved, so a
-- resumed batch republishes under the same Msg-Id, and what came of it.
CREATE TABLE dead_letter_replays (
    dead_letter_id bigint NOT NULL REFERENCES dead_letters (id) ON DELETE CASCADE,
    batch_id       text NOT NULL,
    generation     integer NOT NULL,
    reason         text NOT NULL,
    actor          text NOT NULL,
    begun_at       timestamptz NOT NULL DEFAULT now(),
    -- NULL while in flight; 'published' is final, 'failed' may be retried.
    outcome        text CHECK (outcome IN ('published', 'failed')),
    completed_at   timestamptz,
    PRIMARY KEY (dead_letter_id, batch_id),
    UNIQUE (dead_letter_id, generation)
);

-- One row per (execution, generation) that stopped for a person.
CREATE TABLE review_items (
    id                 bigserial PRIMARY KEY,
    execution_id       uuid NOT NULL REFERENCES executions (execution_id) ON DELETE CASCADE,
    generation         text NOT NULL,
    -- Copied from the execution so the queue filters without a join.
    workflow           text NOT NULL,
    correlation_id     text NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('review', 'needs_review')),
    handoff            jsonb NOT NULL,
    status             text NOT NULL DEFAULT 'OPEN'
                           CHECK (status IN ('OPEN', 'APPROVED', 'REJECTED', 'ESCALATED')),
    sla_due_at         timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    decided_at         timestamptz,
    decided_by         text,
    decision_reason    text,
    corrections        jsonb,
    manually_corrected boolean NOT NULL DEFAULT false,
    UNIQUE (execution_id, generation)
);

CREATE INDEX review_items_status_idx ON review_items (status, id);
CREATE INDEX review_items_workflow_idx ON review_items (workflow, status, id);

-- Append-only record of operator acts: who (the authenticated identity, never
-- a request field), with which role, when, why, what, to what, and the result.
CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    role         text NOT NULL,
    action       text NOT NULL,
    subject_kind text NOT NULL,
    subject_id   text NOT NULL,
    reason       text NOT NULL CHECK (reason <> ''),
    result       text NOT NULL DEFAULT '',
    detail       jsonb
);

CREATE INDEX audit_log_subject_idx ON audit_log (subject_kind, subject_id, id);
