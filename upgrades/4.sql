-- Schema upgrade to version 4 (from 3), applied by mailq-init in
-- the same transaction as the others; append, never edit.
--
-- A mailbox behaves like one person. A lead's thread keeps the mailbox its
-- first message went from (campaign_lead.mailbox_id, filled in from the send
-- log for threads already begun); a mailbox that fails to log in rests
-- (rest_until, after fail_count failures, under the config fingerprint
-- fail_conf); max_connections and max_per_minute cap its sessions across
-- every run.

ALTER TABLE campaign_lead ADD COLUMN mailbox_id INTEGER REFERENCES
    mailbox(id);
UPDATE campaign_lead SET mailbox_id = (SELECT s.mailbox_id FROM send_log s
    WHERE s.campaign_id = campaign_lead.campaign_id AND s.lead_id =
    campaign_lead.lead_id AND s.status IN ('sent', 'unknown', 'bounced') ORDER
    BY s.step LIMIT 1);
CREATE INDEX campaign_lead_mailbox ON campaign_lead(mailbox_id) WHERE
    mailbox_id IS NOT NULL;
ALTER TABLE mailbox ADD COLUMN rest_until INTEGER;
ALTER TABLE mailbox ADD COLUMN fail_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailbox ADD COLUMN fail_conf TEXT;
ALTER TABLE mailbox ADD COLUMN max_connections INTEGER NOT NULL DEFAULT 2
    CHECK (max_connections > 0);
ALTER TABLE mailbox ADD COLUMN max_per_minute INTEGER NOT NULL DEFAULT 0
    CHECK (max_per_minute >= 0);
PRAGMA user_version = 4;
