-- Acceptance and multi-party evaluation of purchase contracts (issue 18, 湘政发〔2014〕20号
-- 二（四）7 资金支付 and （五）绩效评价; 湘财社〔2015〕2号 八（六） and 九).
--
-- * An acceptance (验收) records the inspection of a contract up to a date, by whom, the
--   third-party report as a stored file, and the result: accepted, accepted with a deduction,
--   or rejected. The final month of a contract (every month of a milestone contract) is paid
--   only once an acceptance covering it is on record and its latest word is not a rejection.
-- * A deduction is taken from the first payment line the acceptance clears: the line keeps
--   what it pays (`amount_fen`) and what was withheld (`deducted_fen`), and a statement is paid
--   when its paid lines and their deductions make its total.
-- * An evaluation (绩效评价) is one contract's year: the scheme (parties' weights, criteria,
--   grade bands, with their document) copied from the region's parameter when it is opened,
--   each party's scores, the recipients' satisfaction from ratings and a sampled telephone
--   survey, and the published total and grade.
-- * A third-party evaluator (第三方评估机构) is an account with the `evaluator` role; it reads and
--   scores only the evaluations it is named on.

CREATE TABLE purchase_acceptances (
    id UUID PRIMARY KEY,
    contract_id UUID NOT NULL REFERENCES purchase_contracts (id),
    -- milestone | final
    kind TEXT NOT NULL,
    -- Service up to and including this day is covered.
    period_end DATE NOT NULL,
    inspected_on DATE NOT NULL,
    inspectors TEXT NOT NULL,
    third_party TEXT NOT NULL,
    findings TEXT NOT NULL,
    -- accepted | deducted | rejected
    result TEXT NOT NULL,
    deduction_fen BIGINT NOT NULL CHECK (deduction_fen >= 0),
    report_name TEXT,
    report_type TEXT,
    report_bytes BIGINT,
    report_sha256 TEXT,
    recorded_by UUID,
    recorded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX purchase_acceptances_contract_idx ON purchase_acceptances (contract_id, recorded_at);

ALTER TABLE payment_batch_lines ADD COLUMN deducted_fen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payment_batch_lines ADD COLUMN acceptance_id UUID REFERENCES purchase_acceptances (id);

CREATE TABLE purchase_evaluations (
    id UUID PRIMARY KEY,
    contract_id UUID NOT NULL REFERENCES purchase_contracts (id),
    year INTEGER NOT NULL,
    -- open | published
    status TEXT NOT NULL,
    -- The scheme as text (the parameter's value) and its basis, fixed when opened.
    scheme TEXT NOT NULL,
    basis TEXT NOT NULL,
    -- Tenths of a point, and the grade, once published.
    total_tenths INTEGER,
    grade TEXT,
    -- What the recipients' score was made of (JSON), once published.
    satisfaction TEXT,
    opened_by UUID,
    opened_at TIMESTAMPTZ NOT NULL,
    published_by UUID,
    published_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX purchase_evaluations_contract_year_uq ON purchase_evaluations (contract_id, year);

-- One party's scores: JSON [[criterion, points], …] and a comment.
CREATE TABLE purchase_evaluation_scores (
    evaluation_id UUID NOT NULL REFERENCES purchase_evaluations (id),
    -- purchaser | finance | third_party
    party TEXT NOT NULL,
    scores TEXT NOT NULL,
    comment TEXT NOT NULL,
    scored_by UUID,
    scored_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (evaluation_id, party)
);

-- The third-party evaluator accounts named on an evaluation.
CREATE TABLE purchase_evaluators (
    evaluation_id UUID NOT NULL REFERENCES purchase_evaluations (id),
    user_id UUID NOT NULL REFERENCES users (id),
    granted_by UUID,
    granted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (evaluation_id, user_id)
);
CREATE INDEX purchase_evaluators_user_idx ON purchase_evaluators (user_id);

-- The telephone survey: the people drawn for the sample and, once called, the answer.
CREATE TABLE purchase_survey_calls (
    evaluation_id UUID NOT NULL REFERENCES purchase_evaluations (id),
    elder_id UUID NOT NULL REFERENCES elders (id),
    position INTEGER NOT NULL,
    -- null until called; reached false: no answer after trying.
    reached BOOLEAN,
    score INTEGER CHECK (score BETWEEN 1 AND 5),
    note TEXT NOT NULL DEFAULT '',
    called_on DATE,
    recorded_by UUID,
    recorded_at TIMESTAMPTZ,
    PRIMARY KEY (evaluation_id, elder_id)
);

ALTER TABLE purchase_contracts ADD COLUMN terminated_on DATE;
ALTER TABLE purchase_contracts ADD COLUMN termination_reason TEXT;

-- The evaluator role.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN (
    'admin', 'city_staff', 'county_staff', 'township_staff', 'village_staff', 'assessor',
    'provider_admin', 'caregiver', 'finance', 'inspector', 'auditor', 'evaluator'
));
