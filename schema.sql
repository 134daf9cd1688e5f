-- mailq schema: the one source of truth, compiled into libmailq.
-- All times are UTC epoch seconds. Text is UTF-8. The version below is read
-- back by the library; upgrades of older files are upgrades/N.sql.

CREATE TABLE sender (
  id          INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL UNIQUE,
  daily_limit INTEGER NOT NULL CHECK (daily_limit >= 0),
  retired     INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1))
) STRICT;

-- Rows that leave the config but have history are kept as retired.
-- No secrets here: passwords stay in the config file.
CREATE TABLE mailbox (
  id            INTEGER PRIMARY KEY,
  name          TEXT    NOT NULL UNIQUE,
  sender_id     INTEGER NOT NULL REFERENCES sender(id),
  address       TEXT    NOT NULL,
  display_name  TEXT    NOT NULL DEFAULT '',
  daily_limit   INTEGER NOT NULL CHECK (daily_limit >= 0),
  enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  retired       INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1)),
  failing_since INTEGER,
  last_error    TEXT
) STRICT;

CREATE TABLE campaign (
  id             INTEGER PRIMARY KEY,
  name           TEXT    NOT NULL UNIQUE,
  sender_id      INTEGER NOT NULL REFERENCES sender(id),
  status         TEXT    NOT NULL DEFAULT 'draft' CHECK (status IN
                   ('draft', 'scheduled', 'running', 'paused', 'stopped', 'completed')),
  retired        INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1)),
  timezone       TEXT    NOT NULL,
  days           INTEGER NOT NULL CHECK (days BETWEEN 0 AND 127), -- bit 0 = Monday
  start_min      INTEGER NOT NULL CHECK (start_min BETWEEN 0 AND 1440),
  end_min        INTEGER NOT NULL CHECK (end_min BETWEEN 0 AND 1440),
  holidays       TEXT    NOT NULL DEFAULT '',   -- built-in calendar: '' or 'PL'
  extra_holidays TEXT    NOT NULL DEFAULT '',   -- 'YYYY-MM-DD,YYYY-MM-DD'
  delay          INTEGER NOT NULL CHECK (delay >= 0),
  jitter         INTEGER NOT NULL CHECK (jitter BETWEEN 0 AND 100),
  daily_limit    INTEGER NOT NULL CHECK (daily_limit >= 0),
  buffer         INTEGER NOT NULL CHECK (buffer > 0),
  retry_attempts INTEGER NOT NULL CHECK (retry_attempts > 0),
  retry_backoff  TEXT    NOT NULL,              -- '60,300,900' seconds
  contact_gap_days INTEGER NOT NULL DEFAULT 0 CHECK (contact_gap_days >= 0),
                                              -- skip leads another campaign
                                              -- wrote to this recently
  next_send_at   INTEGER NOT NULL DEFAULT 0,
  rr_cursor      INTEGER NOT NULL DEFAULT -1,   -- last mailbox position used
  status_at      INTEGER NOT NULL DEFAULT 0,
  created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX campaign_status ON campaign(status);

CREATE TABLE campaign_mailbox (
  campaign_id INTEGER NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
  mailbox_id  INTEGER NOT NULL REFERENCES mailbox(id),
  position    INTEGER NOT NULL,
  PRIMARY KEY (campaign_id, mailbox_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX campaign_mailbox_mailbox ON campaign_mailbox(mailbox_id);

CREATE TABLE step (
  id          INTEGER PRIMARY KEY,
  campaign_id INTEGER NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
  number      INTEGER NOT NULL CHECK (number >= 0),  -- 0 = first email
  wait_days   INTEGER NOT NULL DEFAULT 0 CHECK (wait_days >= 0),
  retired     INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1)),
  UNIQUE (campaign_id, number)
) STRICT;

CREATE TABLE variant (
  id        INTEGER PRIMARY KEY,
  step_id   INTEGER NOT NULL REFERENCES step(id) ON DELETE CASCADE,
  letter    TEXT    NOT NULL,
  weight    INTEGER NOT NULL DEFAULT 1 CHECK (weight > 0),
  subject   TEXT    NOT NULL,
  body_text TEXT    NOT NULL,
  body_html TEXT,
  retired   INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1)),
  UNIQUE (step_id, letter)
) STRICT;

-- A person, once, whatever the campaigns. Template fields are a JSON object.
CREATE TABLE lead (
  id         INTEGER PRIMARY KEY,
  email      TEXT    NOT NULL COLLATE NOCASE UNIQUE,
  fields     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(fields)),
  created_at INTEGER NOT NULL
) STRICT;

-- A lead's place in one campaign; its variant letter is chosen once and
-- used for every step that has it.
CREATE TABLE campaign_lead (
  campaign_id INTEGER NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
  lead_id     INTEGER NOT NULL REFERENCES lead(id),
  status      TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN
                ('queued', 'active', 'done', 'failed', 'bounced', 'unknown',
                 'replied', 'unsubscribed', 'skipped', 'cancelled')),
  letter      TEXT,
  next_step   INTEGER NOT NULL DEFAULT 0,
  added_at    INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (campaign_id, lead_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX campaign_lead_status ON campaign_lead(campaign_id, status);
CREATE INDEX campaign_lead_lead ON campaign_lead(lead_id);

-- What is planned. One row per message (campaign, lead, step).
CREATE TABLE queue (
  id           INTEGER PRIMARY KEY,
  campaign_id  INTEGER NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
  lead_id      INTEGER NOT NULL REFERENCES lead(id),
  step         INTEGER NOT NULL,
  variant_id   INTEGER REFERENCES variant(id),
  status       TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN
                 ('pending', 'sending', 'sent', 'failed', 'bounced', 'unknown',
                  'cancelled')),
  scheduled_at INTEGER NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  mailbox_id   INTEGER REFERENCES mailbox(id),
  claim_host   TEXT,
  claim_pid    INTEGER,
  claim_start  INTEGER,                         -- owner's process start time
  claimed_at   INTEGER,
  phase        TEXT CHECK (phase IN ('claimed', 'data', 'done')),
  last_error   TEXT,
  updated_at   INTEGER NOT NULL,
  UNIQUE (campaign_id, lead_id, step)
) STRICT;
CREATE INDEX queue_due ON queue(campaign_id, status, scheduled_at);
CREATE INDEX queue_claims ON queue(claimed_at) WHERE status = 'sending';

-- The message's one slot. The UNIQUE index is the last line of defence
-- against sending twice: a second claim of the same message fails here.
CREATE TABLE send_log (
  id          INTEGER PRIMARY KEY,
  campaign_id INTEGER NOT NULL REFERENCES campaign(id),
  lead_id     INTEGER NOT NULL REFERENCES lead(id),
  step        INTEGER NOT NULL,
  variant_id  INTEGER REFERENCES variant(id),
  mailbox_id  INTEGER REFERENCES mailbox(id),
  status      TEXT    NOT NULL CHECK (status IN
                ('sending', 'retry', 'sent', 'failed', 'bounced', 'unknown',
                 'dropped')),
  message_id  TEXT,
  subject     TEXT,                            -- as sent: "Re: " threads on it
  smtp_code   INTEGER,
  smtp_reply  TEXT,
  claimed_at  INTEGER NOT NULL,
  sent_at     INTEGER
) STRICT;
CREATE UNIQUE INDEX send_log_once ON send_log(campaign_id, lead_id, step);
CREATE INDEX send_log_mailbox ON send_log(mailbox_id, claimed_at);
CREATE INDEX send_log_sent ON send_log(campaign_id, sent_at);
CREATE INDEX send_log_lead ON send_log(lead_id, claimed_at);

-- Every try of a message, kept: the history behind a send_log row.
CREATE TABLE attempt (
  id          INTEGER PRIMARY KEY,
  send_log_id INTEGER NOT NULL REFERENCES send_log(id),
  campaign_id INTEGER NOT NULL,
  sender_id   INTEGER NOT NULL,
  mailbox_id  INTEGER NOT NULL,
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER,
  outcome     TEXT CHECK (outcome IN
                ('sent', 'temporary', 'permanent', 'bounced', 'mailbox',
                 'unknown', 'reclaimed')),
  smtp_code   INTEGER,
  detail      TEXT
) STRICT;
CREATE INDEX attempt_log ON attempt(send_log_id);
CREATE INDEX attempt_campaign_day ON attempt(campaign_id, started_at);
CREATE INDEX attempt_mailbox_day ON attempt(mailbox_id, started_at);
CREATE INDEX attempt_sender_day ON attempt(sender_id, started_at);

-- Addresses never to be written to, by any campaign.
CREATE TABLE suppression (
  email      TEXT    NOT NULL COLLATE NOCASE PRIMARY KEY,
  reason     TEXT    NOT NULL,
  created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Facts about this database: 'salt' makes its Message-IDs its own.
CREATE TABLE meta (
  key   TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('salt', lower(hex(randomblob(8))));

PRAGMA user_version = 1;
