-- Schema upgrade to version 6 (from 5), applied by mailq-init in
-- the same transaction as the others; append, never edit.
--
-- The same rules, cheaper to check on the claim's and the record's path:
-- SQLite builds a temporary table for a list of more than two values in
-- IN (...) each time a statement checks it, so the status CHECKs of the
-- tables every message writes, and the triggers that keep day_count,
-- compare one value at a time instead. What they accept is unchanged.
-- A CHECK is text in sqlite_schema; changing only it leaves every row's
-- format as it was, so it is edited in place (the schema cookie moves
-- with the triggers' changes below, so other connections read it again).

PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(replace(sql,
    'status       TEXT    NOT NULL DEFAULT ''pending'' CHECK (status IN
                 (''pending'', ''sending'', ''sent'', ''failed'', ''bounced'', ''unknown'',
                  ''cancelled'')),',
    'status       TEXT    NOT NULL DEFAULT ''pending'' CHECK (status =
                 ''pending'' OR status = ''sending'' OR status = ''sent'' OR
                 status = ''failed'' OR status = ''bounced'' OR status =
                 ''unknown'' OR status = ''cancelled''),'),
    'phase        TEXT CHECK (phase IN (''claimed'', ''data'', ''done'')),',
    'phase        TEXT CHECK (phase = ''claimed'' OR phase = ''data'' OR
                 phase = ''done''),')
    WHERE type = 'table' AND name = 'queue';
UPDATE sqlite_schema SET sql = replace(sql,
    'status      TEXT    NOT NULL CHECK (status IN
                (''sending'', ''retry'', ''sent'', ''failed'', ''bounced'', ''unknown'',
                 ''dropped'')),',
    'status      TEXT    NOT NULL CHECK (status = ''sending'' OR status =
                ''retry'' OR status = ''sent'' OR status = ''failed'' OR status =
                ''bounced'' OR status = ''unknown'' OR status = ''dropped''),')
    WHERE type = 'table' AND name = 'send_log';
UPDATE sqlite_schema SET sql = replace(sql,
    'outcome     TEXT CHECK (outcome IN
                (''sent'', ''temporary'', ''permanent'', ''bounced'', ''mailbox'',
                 ''unknown'', ''reclaimed'')),',
    'outcome     TEXT CHECK (outcome = ''sent'' OR outcome = ''temporary''
                OR outcome = ''permanent'' OR outcome = ''bounced'' OR outcome =
                ''mailbox'' OR outcome = ''unknown'' OR outcome = ''reclaimed''),')
    WHERE type = 'table' AND name = 'attempt';
UPDATE sqlite_schema SET sql = replace(sql,
    'status      TEXT    NOT NULL DEFAULT ''queued'' CHECK (status IN
                (''queued'', ''active'', ''done'', ''failed'', ''bounced'', ''unknown'',
                 ''replied'', ''unsubscribed'', ''skipped'', ''cancelled'')),',
    'status      TEXT    NOT NULL DEFAULT ''queued'' CHECK (status =
                ''queued'' OR status = ''active'' OR status = ''done'' OR status =
                ''failed'' OR status = ''bounced'' OR status = ''unknown'' OR
                status = ''replied'' OR status = ''unsubscribed'' OR status =
                ''skipped'' OR status = ''cancelled''),')
    WHERE type = 'table' AND name = 'campaign_lead';
PRAGMA writable_schema = OFF;

-- The triggers of version 3, the same counts (db_claim.c's COUNTED), each
-- row of day_count changed by its key.
DROP TRIGGER attempt_count_insert;
DROP TRIGGER attempt_count_delete;
DROP TRIGGER attempt_count_update;
CREATE TRIGGER attempt_count_insert AFTER INSERT ON attempt WHEN
    NEW.outcome IS NULL OR NEW.outcome = 'sent' OR NEW.outcome = 'unknown' OR
    NEW.outcome = 'bounced' OR NEW.outcome = 'permanent' BEGIN
  UPDATE day_count SET n = n + 1 WHERE scope = 'campaign' AND id =
      NEW.campaign_id AND NEW.started_at >= day_start;
  UPDATE day_count SET n = n + 1 WHERE scope = 'sender' AND id =
      NEW.sender_id AND NEW.started_at >= day_start;
  UPDATE day_count SET n = n + 1 WHERE scope = 'mailbox' AND id =
      NEW.mailbox_id AND NEW.started_at >= day_start;
END;
CREATE TRIGGER attempt_count_delete AFTER DELETE ON attempt WHEN
    OLD.outcome IS NULL OR OLD.outcome = 'sent' OR OLD.outcome = 'unknown' OR
    OLD.outcome = 'bounced' OR OLD.outcome = 'permanent' BEGIN
  UPDATE day_count SET n = n - 1 WHERE scope = 'campaign' AND id =
      OLD.campaign_id AND OLD.started_at >= day_start;
  UPDATE day_count SET n = n - 1 WHERE scope = 'sender' AND id =
      OLD.sender_id AND OLD.started_at >= day_start;
  UPDATE day_count SET n = n - 1 WHERE scope = 'mailbox' AND id =
      OLD.mailbox_id AND OLD.started_at >= day_start;
END;
CREATE TRIGGER attempt_count_update AFTER UPDATE OF outcome, started_at,
    campaign_id, sender_id, mailbox_id ON attempt WHEN (OLD.outcome IS NULL
    OR OLD.outcome = 'sent' OR OLD.outcome = 'unknown' OR OLD.outcome =
    'bounced' OR OLD.outcome = 'permanent') IS NOT (NEW.outcome IS NULL OR
    NEW.outcome = 'sent' OR NEW.outcome = 'unknown' OR NEW.outcome =
    'bounced' OR NEW.outcome = 'permanent') OR OLD.started_at IS NOT
    NEW.started_at OR OLD.campaign_id IS NOT NEW.campaign_id OR
    OLD.sender_id IS NOT NEW.sender_id OR OLD.mailbox_id IS NOT
    NEW.mailbox_id BEGIN
  UPDATE day_count SET n = n - 1 WHERE (OLD.outcome IS NULL OR OLD.outcome =
      'sent' OR OLD.outcome = 'unknown' OR OLD.outcome = 'bounced' OR OLD.outcome
      = 'permanent') AND scope = 'campaign' AND id = OLD.campaign_id AND
      OLD.started_at >= day_start;
  UPDATE day_count SET n = n - 1 WHERE (OLD.outcome IS NULL OR OLD.outcome =
      'sent' OR OLD.outcome = 'unknown' OR OLD.outcome = 'bounced' OR OLD.outcome
      = 'permanent') AND scope = 'sender' AND id = OLD.sender_id AND
      OLD.started_at >= day_start;
  UPDATE day_count SET n = n - 1 WHERE (OLD.outcome IS NULL OR OLD.outcome =
      'sent' OR OLD.outcome = 'unknown' OR OLD.outcome = 'bounced' OR OLD.outcome
      = 'permanent') AND scope = 'mailbox' AND id = OLD.mailbox_id AND
      OLD.started_at >= day_start;
  UPDATE day_count SET n = n + 1 WHERE (NEW.outcome IS NULL OR NEW.outcome =
      'sent' OR NEW.outcome = 'unknown' OR NEW.outcome = 'bounced' OR NEW.outcome
      = 'permanent') AND scope = 'campaign' AND id = NEW.campaign_id AND
      NEW.started_at >= day_start;
  UPDATE day_count SET n = n + 1 WHERE (NEW.outcome IS NULL OR NEW.outcome =
      'sent' OR NEW.outcome = 'unknown' OR NEW.outcome = 'bounced' OR NEW.outcome
      = 'permanent') AND scope = 'sender' AND id = NEW.sender_id AND
      NEW.started_at >= day_start;
  UPDATE day_count SET n = n + 1 WHERE (NEW.outcome IS NULL OR NEW.outcome =
      'sent' OR NEW.outcome = 'unknown' OR NEW.outcome = 'bounced' OR NEW.outcome
      = 'permanent') AND scope = 'mailbox' AND id = NEW.mailbox_id AND
      NEW.started_at >= day_start;
END;
PRAGMA user_version = 6;
