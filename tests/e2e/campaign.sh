# mailq-campaign: the status machine, its checks, list and show, and the
# refusals that leave the database unchanged.
. "$(dirname "$0")/../lib/e2e.sh"
example_conf
expect 0 mailq-init

add_leads() {
	sql mailq.db "INSERT INTO lead (email, fields, created_at) VALUES
	  ('zofia@example.com', '{\"first_name\":\"Zofia\",\"company\":\"Wójcik\"}', 0),
	  ('lukasz@example.org', '{\"first_name\":\"Łukasz\",\"company\":\"Żółkiewski\"}', 0);
	  INSERT INTO campaign_lead (campaign_id, lead_id, added_at, updated_at)
	  SELECT c.id, l.id, 0, 0 FROM campaign c, lead l WHERE c.name = 'q4'"
}
status() { sql mailq.db "SELECT status FROM campaign WHERE name = '${1:-q4}'"; }

# usage
expect 64 mailq-campaign
expect 64 mailq-campaign launch q4
grep_err "unknown command 'launch'"
expect 64 mailq-campaign start
grep_err "which campaign"
expect 64 mailq-campaign show q4 extra
expect 64 mailq-campaign list extra
expect 0 mailq-campaign --help
grep_out "usage: mailq-campaign"

# nonexistent campaign
snapshot mailq.db
expect 66 mailq-campaign start nope
grep_err "campaign 'nope': no such campaign"
expect 66 mailq-campaign show nope
unchanged mailq.db

# no leads: refused, unchanged
export MAILQ_NOW=2026-11-28T11:00:00Z       # Saturday 12:00 in Warsaw
expect 65 mailq-campaign start q4
grep_err "no leads"
unchanged mailq.db
eq draft "$(status)" "status after refused start"

# no usable mailbox: refused, unchanged
add_leads
sql mailq.db "UPDATE mailbox SET enabled = 0"
snapshot mailq.db
expect 78 mailq-campaign start q4
grep_err "no usable mailbox"
unchanged mailq.db
sql mailq.db "UPDATE mailbox SET enabled = 1"

# start on a Saturday: the first message goes on Monday 09:00 Warsaw
expect 0 mailq-campaign start q4
grep_out "q4: draft -> scheduled"
grep_out "first message at Mon 2026-11-30 09:00 CET \(in 45 h 0 min\)"
eq scheduled "$(status)" "status"
eq 1796025600 "$(sql mailq.db "SELECT next_send_at FROM campaign")" "next_send_at"
expect 0 mailq-campaign start q4
grep_out "already scheduled"
expect 0 mailq-campaign -q start q4
[ -s "$T/out" ] && fail "-q printed"; ok

# the window is considered: a holiday and an open window
sql mailq.db "UPDATE campaign SET status = 'draft', next_send_at = 0"
MAILQ_NOW=2026-11-11T10:00:00Z expect 0 mailq-campaign start q4
grep_out "first message at Thu 2026-11-12 09:00 CET"
sql mailq.db "UPDATE campaign SET status = 'draft', next_send_at = 0"
MAILQ_NOW=2026-11-24T09:00:00Z expect 0 mailq-campaign start q4
grep_out "window open"

# pause, resume, stop
expect 0 mailq-campaign pause q4
grep_out "scheduled -> paused"
expect 0 mailq-campaign pause q4
grep_out "already paused"
snapshot mailq.db
expect 65 mailq-campaign start q4
grep_err "is paused; cannot start it"
unchanged mailq.db
expect 0 mailq-campaign resume q4
grep_out "paused -> scheduled"
# a resumed campaign keeps its pace: not before its next send time
sql mailq.db "UPDATE campaign SET status = 'paused', next_send_at = 1795513500"
MAILQ_NOW=2026-11-24T09:00:00Z expect 0 mailq-campaign resume q4
grep_out "first message at Tue 2026-11-24 10:45 CET \(in 45 min\)"
expect 0 mailq-campaign resume q4
grep_out "already scheduled"
sql mailq.db "INSERT INTO queue (campaign_id, lead_id, step, scheduled_at, updated_at)
  SELECT campaign_id, lead_id, 0, 0, 0 FROM campaign_lead"
expect 0 mailq-campaign stop q4
grep_out "scheduled -> stopped"
eq "cancelled cancelled" "$(sql mailq.db "SELECT group_concat(status, ' ') FROM queue")" "queue after stop"
eq "cancelled cancelled" "$(sql mailq.db "SELECT group_concat(status, ' ') FROM campaign_lead")" "leads after stop"
snapshot mailq.db
expect 65 mailq-campaign start q4
grep_err "stopped"
unchanged mailq.db

# list and show
expect 0 mailq-campaign list
grep_out "^CAMPAIGN +STATUS +LEADS"
grep_out "^q4 +stopped +2 "
expect 0 mailq-campaign show q4
grep_out "^campaign +q4"
grep_out "^schedule +Mon-Fri 09:00-17:00 Europe/Warsaw, holidays PL"
grep_out "^mailboxes +anna-1 <anna@example.com>"
grep_out "^steps +step 0 A"
grep_out "^leads +2"

# read-only and locked databases
sql mailq.db "UPDATE campaign SET status = 'paused'"
snapshot mailq.db
# the sqlite3 shell removes the -wal and -shm files; a mailq writer keeps them
expect 0 mailq-init -q
chmod 644 mailq.conf; chmod 444 mailq.db
expect 73 unprivileged mailq-campaign resume q4
# reading needs no write permission, even in WAL mode
expect 0 unprivileged mailq-campaign show q4
grep_out "^status +paused"
unchanged mailq.db
chmod 644 mailq.db
hold_lock mailq.db 8
expect 75 mailq-campaign resume q4
grep_err "busy"
kill "$LOCK_PID" 2>/dev/null; wait
unchanged mailq.db
done_checks
