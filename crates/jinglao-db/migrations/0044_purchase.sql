-- Government purchase of services (政府购买服务, issue 18): the guiding catalogue, projects
-- of the annual plan with their versions, bids and the panel's scores, awards and contracts.
-- A contract's unit prices are written to service_prices with the contract's id, so that
-- settlement keeps reading one price table and every price names the contract it came from.
--
-- Structured parts of a project and a contract (items, regions, quantities, criteria, prices,
-- texts) are kept as the checked input in JSON (`body`): they are read whole, never queried
-- into; the columns beside it are what lists filter and sort by.

CREATE TABLE purchase_catalogues (
    id UUID PRIMARY KEY,
    region_code TEXT NOT NULL REFERENCES regions (code),
    version INTEGER NOT NULL,
    -- The document that issued this version (e.g. 潭财购〔2026〕1号).
    basis TEXT NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    published_by UUID,
    UNIQUE (region_code, version)
);

CREATE TABLE purchase_catalogue_entries (
    catalogue_id UUID NOT NULL REFERENCES purchase_catalogues (id),
    position INTEGER NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    nature TEXT NOT NULL,
    content TEXT NOT NULL,
    -- Service-list item codes, comma-separated.
    item_codes TEXT NOT NULL,
    PRIMARY KEY (catalogue_id, code)
);

CREATE TABLE purchase_projects (
    id UUID PRIMARY KEY,
    -- The purchasing body's region (city, county or township) and its name.
    region_code TEXT NOT NULL REFERENCES regions (code),
    purchaser_name TEXT NOT NULL,
    year INTEGER NOT NULL,
    version INTEGER NOT NULL,
    -- draft | submitted | returned | approved | tendering | awarded | contracted | accepted
    -- | evaluated | cancelled
    status TEXT NOT NULL,
    catalogue_id UUID NOT NULL REFERENCES purchase_catalogues (id),
    catalogue_code TEXT NOT NULL,
    title TEXT NOT NULL,
    mode TEXT NOT NULL,
    funding TEXT NOT NULL,
    budget_fen BIGINT NOT NULL CHECK (budget_fen > 0),
    body TEXT NOT NULL,
    return_reason TEXT,
    -- Why the version being reviewed was made (none for the first).
    change_reason TEXT,
    bid_deadline TIMESTAMPTZ,
    submitted_at TIMESTAMPTZ,
    approved_by UUID,
    approved_at TIMESTAMPTZ,
    published_at TIMESTAMPTZ,
    awarded_at TIMESTAMPTZ,
    cancel_reason TEXT,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX purchase_projects_region_idx ON purchase_projects (region_code, year);
CREATE INDEX purchase_projects_status_idx ON purchase_projects (status);

-- Every approved version of a project, frozen: a change after approval is a new version with
-- its reason, approved again.
CREATE TABLE purchase_project_versions (
    project_id UUID NOT NULL REFERENCES purchase_projects (id),
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    budget_fen BIGINT NOT NULL,
    body TEXT NOT NULL,
    -- Why this version was made (the first: 初次编报).
    reason TEXT NOT NULL,
    approved_by UUID,
    approved_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, version)
);

CREATE TABLE purchase_bids (
    id UUID PRIMARY KEY,
    project_id UUID NOT NULL REFERENCES purchase_projects (id),
    provider_id UUID NOT NULL REFERENCES providers (id),
    price_fen BIGINT NOT NULL CHECK (price_fen > 0),
    -- The gate at the time of bidding: the seven conditions and the credit bar.
    qualified BOOLEAN NOT NULL,
    priority BOOLEAN NOT NULL,
    -- Why not qualified: a JSON array of sentences.
    gaps TEXT NOT NULL,
    note TEXT NOT NULL,
    submitted_at TIMESTAMPTZ NOT NULL,
    recorded_by UUID
);
-- One bid per provider and project.
CREATE UNIQUE INDEX purchase_bids_provider_id_uq ON purchase_bids (project_id, provider_id);

-- One panel member's scores of one bid: JSON [[criterion, points], …].
CREATE TABLE purchase_scores (
    bid_id UUID NOT NULL REFERENCES purchase_bids (id),
    evaluator TEXT NOT NULL,
    scores TEXT NOT NULL,
    recorded_by UUID,
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (bid_id, evaluator)
);

CREATE TABLE purchase_awards (
    id UUID PRIMARY KEY,
    project_id UUID NOT NULL REFERENCES purchase_projects (id),
    bid_id UUID NOT NULL UNIQUE REFERENCES purchase_bids (id),
    provider_id UUID NOT NULL REFERENCES providers (id),
    value_fen BIGINT NOT NULL,
    rank INTEGER NOT NULL,
    reason TEXT NOT NULL,
    decided_by UUID,
    decided_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX purchase_awards_project_idx ON purchase_awards (project_id);

CREATE TABLE purchase_contracts (
    id UUID PRIMARY KEY,
    project_id UUID NOT NULL REFERENCES purchase_projects (id),
    award_id UUID NOT NULL UNIQUE REFERENCES purchase_awards (id),
    provider_id UUID NOT NULL REFERENCES providers (id),
    contract_no TEXT NOT NULL,
    ceiling_fen BIGINT NOT NULL CHECK (ceiling_fen > 0),
    start_on DATE NOT NULL,
    end_on DATE NOT NULL,
    signed_on DATE NOT NULL,
    payment_terms TEXT NOT NULL,
    body TEXT NOT NULL,
    -- 合同报同级财政部门备案.
    filed_on DATE,
    filed_by UUID,
    -- active | accepted | terminated
    status TEXT NOT NULL,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX purchase_contracts_contract_no_uq ON purchase_contracts (contract_no);
CREATE INDEX purchase_contracts_provider_idx ON purchase_contracts (provider_id);

ALTER TABLE service_prices ADD COLUMN contract_id UUID REFERENCES purchase_contracts (id);

-- The contract each statement line was priced under (none for a price without a contract):
-- a statement that would take a contract past its ceiling is held at approval.
ALTER TABLE statement_lines ADD COLUMN contract_id UUID REFERENCES purchase_contracts (id);
