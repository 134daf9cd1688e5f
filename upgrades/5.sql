-- Schema upgrade to version 5 (from 4), applied by mailq-init in
-- the same transaction as the others; append, never edit.
--
-- What comes back. Every message read from a mailbox's folders (inbound),
-- under the UNIQUE key of where it was read, with its class, reason and what
-- it matched; how far each folder has been read (inbox_folder); the
-- campaign's rules for answers and the mailbox's bounce guard, which pauses
-- it (bounce_paused_at) until an operator resumes it.

CREATE TABLE inbox_folder (
  mailbox_id  INTEGER NOT NULL REFERENCES mailbox(id),
  folder      TEXT    NOT NULL,
  uidvalidity INTEGER NOT NULL DEFAULT 0,
  last_uid    INTEGER NOT NULL DEFAULT 0,
  read_at     INTEGER,
  error       TEXT,
  PRIMARY KEY (mailbox_id, folder)
) STRICT, WITHOUT ROWID;
CREATE TABLE inbound (
  id          INTEGER PRIMARY KEY,
  mailbox_id  INTEGER NOT NULL REFERENCES mailbox(id),
  folder      TEXT    NOT NULL,
  uidvalidity INTEGER NOT NULL,
  ref         TEXT    NOT NULL,
  message_id  TEXT,
  digest      TEXT    NOT NULL,
  from_addr   TEXT    NOT NULL DEFAULT '',
  subject     TEXT    NOT NULL DEFAULT '',
  class       TEXT    NOT NULL CHECK (class IN ('own', 'hard_bounce',
      'soft_bounce', 'auto_reply', 'unsubscribe', 'reply', 'unmatched',
      'duplicate')),
  reason      TEXT    NOT NULL,
  campaign_id INTEGER REFERENCES campaign(id),
  lead_id     INTEGER REFERENCES lead(id),
  send_log_id INTEGER REFERENCES send_log(id),
  resolved    INTEGER NOT NULL DEFAULT 0,
  headers_only INTEGER NOT NULL DEFAULT 0,
  received_at INTEGER,
  read_at     INTEGER NOT NULL,
  UNIQUE (mailbox_id, folder, uidvalidity, ref)
) STRICT;
CREATE INDEX inbound_message ON inbound(mailbox_id, message_id);
CREATE INDEX inbound_digest ON inbound(mailbox_id, digest);
CREATE INDEX inbound_lead ON inbound(lead_id, class);
CREATE INDEX inbound_campaign ON inbound(campaign_id, class);
CREATE INDEX inbound_read ON inbound(read_at);
CREATE INDEX send_log_message ON send_log(message_id) WHERE message_id IS
    NOT NULL;
ALTER TABLE campaign ADD COLUMN auto_reply_pause_days INTEGER NOT NULL
    DEFAULT 7 CHECK (auto_reply_pause_days >= 0);
ALTER TABLE campaign ADD COLUMN stop_on_reply TEXT NOT NULL DEFAULT 'lead'
    CHECK (stop_on_reply IN ('lead', 'domain'));
ALTER TABLE mailbox ADD COLUMN bounce_rate INTEGER NOT NULL DEFAULT 5 CHECK
    (bounce_rate BETWEEN 0 AND 100);
ALTER TABLE mailbox ADD COLUMN bounce_window INTEGER NOT NULL DEFAULT 100
    CHECK (bounce_window > 0);
ALTER TABLE mailbox ADD COLUMN bounce_paused_at INTEGER;
ALTER TABLE mailbox ADD COLUMN bounce_paused_why TEXT;
ALTER TABLE mailbox ADD COLUMN bounce_resumed_at INTEGER;
PRAGMA user_version = 5;
