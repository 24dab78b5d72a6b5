-- Notifications (issue 17, point 14). Staff see theirs in an in-app centre: a returned
-- application, later new alarms. Older people and their families get text messages when they
-- chose SMS over a phone call (elders.notify_by): application results, visit confirmation codes
-- and booking changes. A message is queued in the same transaction as what it reports and sent
-- afterwards through the configured gateway (the default only logs it); the phone number is not
-- copied here, it is read from elder_phones (encrypted) when the message is sent.
CREATE TABLE notifications (
    id UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    read_at TIMESTAMPTZ
);
CREATE INDEX notifications_account_idx ON notifications (account_id, created_at);

CREATE TABLE sms_messages (
    id UUID PRIMARY KEY,
    elder_id UUID NOT NULL REFERENCES elders (id),
    -- The number it went to, masked, as shown on screen.
    phone_masked TEXT NOT NULL,
    -- application_result | visit_code | booking_change
    purpose TEXT NOT NULL,
    body TEXT NOT NULL,
    -- pending | sent | failed
    status TEXT NOT NULL,
    gateway TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ
);
CREATE INDEX sms_messages_status_idx ON sms_messages (status, created_at);
CREATE INDEX sms_messages_elder_idx ON sms_messages (elder_id, created_at);

-- How the person or family wants to hear from the platform: phone (a call from the village or
-- provider, no message sent) or sms.
ALTER TABLE elders ADD COLUMN notify_by TEXT NOT NULL DEFAULT 'phone';
