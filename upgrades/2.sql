-- Schema upgrade to version 2 (from 1), applied by mailq-init in
-- the same transaction as the others; append, never edit.
--
-- Pacing in milliseconds, so gaps are not whole seconds

ALTER TABLE campaign ADD COLUMN next_send_ms INTEGER NOT NULL DEFAULT 0
    CHECK (next_send_ms BETWEEN 0 AND 999);
PRAGMA user_version = 2;
