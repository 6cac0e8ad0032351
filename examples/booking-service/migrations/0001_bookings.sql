-- The booking service's own schema. It is a *target* system: Sluice's ledger
-- never reads it, and it must be able to create duplicates when it ignores
-- idempotency keys (that is what the tests prove the ledger prevents).

CREATE TABLE bookings (
    booking_id      uuid PRIMARY KEY,
    -- The Idempotency-Key header the request came with, honoured or not.
    idempotency_key text,
    name            text NOT NULL,
    party_size      integer NOT NULL,
    date            text NOT NULL,
    time            text NOT NULL,
    phone           text,
    notes           text,
    -- The request as received (to refuse a honoured key reused with other
    -- arguments) and the answer sent (replayed for a honoured key).
    request         jsonb NOT NULL,
    response        jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX bookings_by_key ON bookings (idempotency_key, created_at);

-- Keys the service honoured: at most one booking per key while honouring.
CREATE TABLE honoured_keys (
    idempotency_key text PRIMARY KEY,
    booking_id      uuid NOT NULL REFERENCES bookings (booking_id),
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Outbound messages (stands in for the WhatsApp API).
CREATE TABLE messages (
    message_id      uuid PRIMARY KEY,
    idempotency_key text,
    recipient       text NOT NULL,
    body            text NOT NULL,
    execution_id    text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
