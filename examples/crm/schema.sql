-- The example CRM of the crm-enrichment workflow: its accounts, and the
-- enrichment suggestions staged for them. `sluice dev` applies this file to
-- its CRM database at start-up (and so do the tests, to a fresh one); it is
-- idempotent. Sluice creates its own key table, sluice_effects, in this
-- database on first use: the effect and its idempotency key commit together.

CREATE TABLE IF NOT EXISTS accounts (
    account_id text PRIMARY KEY,
    name text NOT NULL,
    industry text,
    employee_count integer CHECK (employee_count > 0),
    hq_city text,
    hq_country text CHECK (hq_country ~ '^[A-Z]{2}$'),
    annual_revenue_band text
);

-- One row per suggestion: an account and the hash of the text it was read
-- from. The update_account action then writes the same fields to accounts.
CREATE TABLE IF NOT EXISTS enrichment_staging (
    suggestion_id text PRIMARY KEY,
    account_id text NOT NULL REFERENCES accounts (account_id),
    source_hash text NOT NULL,
    industry text,
    employee_count integer,
    hq_city text,
    hq_country text,
    annual_revenue_band text,
    evidence jsonb,
    staged_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO accounts (account_id, name, industry, employee_count, hq_city, hq_country, annual_revenue_band) VALUES
    ('acc-42', 'Acme Robotics', NULL, NULL, NULL, NULL, NULL),
    ('acc-43', 'Fieldbook', 'software', 12, NULL, 'US', NULL),
    ('acc-44', 'Nordfracht', NULL, NULL, 'Hamburg', 'DE', NULL),
    ('acc-45', 'Grupo Sol', 'hospitality', 300, 'Valencia', 'ES', '10m_100m')
ON CONFLICT (account_id) DO NOTHING;
