-- Who recorded a statement's payment, kept apart from who approved it: the two are different
-- accounts where the region separates the duties (settlement.separate_duties).
ALTER TABLE statements ADD COLUMN paid_by UUID;
