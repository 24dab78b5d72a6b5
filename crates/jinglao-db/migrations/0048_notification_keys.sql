-- Notifications the server writes on its own (issue 17, point 14: deadlines). A nightly check
-- may run many times a night and on several servers; the key says what a notification is about
-- (an application, its step, its deadline, "soon" or "overdue"), so each account gets it once.
-- Notifications written by a person's action carry no key (NULLs are distinct in both
-- databases' unique indexes).
ALTER TABLE notifications ADD COLUMN dedup_key TEXT;
CREATE UNIQUE INDEX notifications_account_dedup_key_uq ON notifications (account_id, dedup_key);
