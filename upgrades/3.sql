-- Schema upgrade to version 3 (from 2), applied by mailq-init in
-- the same transaction as the others; append, never edit.
--
-- The day's counted attempts (as db_queue.c's COUNTED) of each campaign,
-- sender and mailbox since its row's day_start: a cache of count(*) over
-- attempt that the triggers keep exact through every change of the history,
-- and that the claim refills from it when the row's day is not the claim's.

CREATE TABLE day_count (
  scope     TEXT    NOT NULL CHECK (scope IN ('campaign', 'sender',
      'mailbox')),
  id        INTEGER NOT NULL,
  day_start INTEGER NOT NULL,
  n         INTEGER NOT NULL,
  PRIMARY KEY (scope, id)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER attempt_count_insert AFTER INSERT ON attempt WHEN NEW.outcome
    IS NULL OR NEW.outcome IN ('sent', 'unknown', 'bounced', 'permanent') BEGIN
  UPDATE day_count SET n = n + 1 WHERE (scope = 'campaign' AND id =
      NEW.campaign_id OR scope = 'sender' AND id = NEW.sender_id OR scope =
      'mailbox' AND id = NEW.mailbox_id) AND NEW.started_at >= day_start;
END;
CREATE TRIGGER attempt_count_delete AFTER DELETE ON attempt WHEN OLD.outcome
    IS NULL OR OLD.outcome IN ('sent', 'unknown', 'bounced', 'permanent') BEGIN
  UPDATE day_count SET n = n - 1 WHERE (scope = 'campaign' AND id =
      OLD.campaign_id OR scope = 'sender' AND id = OLD.sender_id OR scope =
      'mailbox' AND id = OLD.mailbox_id) AND OLD.started_at >= day_start;
END;
CREATE TRIGGER attempt_count_update AFTER UPDATE OF outcome, started_at,
    campaign_id, sender_id, mailbox_id ON attempt WHEN (OLD.outcome IS NULL OR
    OLD.outcome IN ('sent', 'unknown', 'bounced', 'permanent')) IS NOT
    (NEW.outcome IS NULL OR NEW.outcome IN ('sent', 'unknown', 'bounced',
    'permanent')) OR OLD.started_at IS NOT NEW.started_at OR OLD.campaign_id IS
    NOT NEW.campaign_id OR OLD.sender_id IS NOT NEW.sender_id OR OLD.mailbox_id
    IS NOT NEW.mailbox_id BEGIN
  UPDATE day_count SET n = n - 1 WHERE (OLD.outcome IS NULL OR OLD.outcome
      IN ('sent', 'unknown', 'bounced', 'permanent')) AND (scope = 'campaign'
      AND id = OLD.campaign_id OR scope = 'sender' AND id = OLD.sender_id OR
      scope = 'mailbox' AND id = OLD.mailbox_id) AND OLD.started_at >=
      day_start;
  UPDATE day_count SET n = n + 1 WHERE (NEW.outcome IS NULL OR NEW.outcome
      IN ('sent', 'unknown', 'bounced', 'permanent')) AND (scope = 'campaign'
      AND id = NEW.campaign_id OR scope = 'sender' AND id = NEW.sender_id OR
      scope = 'mailbox' AND id = NEW.mailbox_id) AND NEW.started_at >=
      day_start;
END;
PRAGMA user_version = 3;
