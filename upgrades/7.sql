-- Schema upgrade to version 7 (from 6), applied by mailq-init in
-- the same transaction as the others; append, never edit.
--
-- Fewer pages written per message. Every claim and every record wrote an
-- entry in each index below, for readers that can do with less:
-- - queue_due holds the waiting messages only: the claim deletes one entry
--   and the record none, where each moved an entry between statuses before
--   (messages in flight are found by queue_claims, the others by the
--   UNIQUE key's campaign prefix);
-- - send_log_sent holds sent messages only: a claim has no sent_at yet;
-- - a day's attempts of a sender are counted once a day (day_count, kept
--   by triggers) and for mailq-stats through each mailbox's attempts of
--   the day (attempt_mailbox_day), so they need no index of their own.

DROP INDEX queue_due;
CREATE INDEX queue_due ON queue(campaign_id, scheduled_at)
    WHERE status = 'pending';
DROP INDEX send_log_sent;
CREATE INDEX send_log_sent ON send_log(campaign_id, sent_at)
    WHERE sent_at IS NOT NULL;
DROP INDEX attempt_sender_day;
PRAGMA user_version = 7;
