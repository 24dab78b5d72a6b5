-- A manual correction of a visit names its reason from a list (jinglao_domain::visit::
-- CorrectionReason), the free text beside it. Corrections before this kept only the text.
ALTER TABLE visit_corrections ADD COLUMN reason_code TEXT NOT NULL DEFAULT 'other';
