#!/bin/sh
# Benchmark of mailq-stats' default view (wall-clock time, best of three) on 100 campaigns and 1,000,000
# leads (10,000 each, a tenth of them sent with their attempts, a buffer
# of 20 pending each). Prints the time of the default view and, as the
# reference measured in the same run, of a plain count of campaign_lead:
#   stats_default_view_s=0.42 reference_count_s=0.05
# Usage: sh bench/stats.sh [BUILD_DIR]   (default: build)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
[ -x "$B/bin/mailq-stats" ] || { echo "bench/stats.sh: build $B first" >&2; exit 1; }
d=$(mktemp -d "${TMPDIR:-/tmp}/mailq-bench.XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$d"' EXIT
cd "$d"

{
	echo 'database = "mailq.db";'
	echo 'senders = ( { name = "anna"; daily_limit = 100000; } );'
	echo 'mailboxes = ('
	for i in $(seq 10); do
		[ "$i" -gt 1 ] && echo ","
		echo "{ name = \"m$i\"; address = \"m$i@example.com\"; sender = \"anna\";"
		echo "  daily_limit = 500; smtp = \"smtp://127.0.0.1:25\"; tls = \"none\"; }"
	done
	echo '); campaigns = ('
	for i in $(seq 100); do
		[ "$i" -gt 1 ] && echo ","
		echo "{ name = \"c$i\"; sender = \"anna\"; mailboxes = [ \"m$((i % 10 + 1))\" ];"
		echo "  schedule = { days = \"MON-FRI\"; start = \"09:00\"; end = \"17:00\"; holidays = \"PL\"; };"
		echo "  delay = 90; daily_limit = 500;"
		echo "  steps = ( { variants = ( { subject = \"s\"; text = \"t\"; } ); } ); }"
	done
	echo ');'
} > mailq.conf
chmod 600 mailq.conf
"$B/bin/mailq-init" -q -c mailq.conf

now=1795510800        # Tue 2026-11-24 10:00 in Warsaw
sqlite3 mailq.db >/dev/null <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
UPDATE campaign SET status = 'running', next_send_at = $now + 60;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
INSERT INTO lead (id, email, fields, created_at)
  SELECT i, 'lead' || i || '@example.com', '{}', $now - 86400 FROM n;
-- lead i belongs to campaign (i - 1) / 10000 + 1; its rank k in it decides
-- its state: the first 1,000 sent (done), the next 20 pending, the rest
-- queued, with a few failed and bounced among the sent
INSERT INTO campaign_lead (campaign_id, lead_id, status, letter, next_step,
    added_at, updated_at)
  SELECT (id - 1) / 10000 + 1, id,
    CASE WHEN (id - 1) % 10000 < 1000 THEN
           CASE WHEN id % 97 = 0 THEN 'bounced' WHEN id % 89 = 0 THEN 'failed' ELSE 'done' END
         WHEN (id - 1) % 10000 < 1020 THEN 'active' ELSE 'queued' END,
    'A', 0, $now - 86400, $now - 86400
  FROM lead;
INSERT INTO queue (campaign_id, lead_id, step, variant_id, status,
    scheduled_at, attempts, mailbox_id, updated_at)
  SELECT cl.campaign_id, cl.lead_id, 0, v.id,
    CASE cl.status WHEN 'active' THEN 'pending' WHEN 'done' THEN 'sent' ELSE cl.status END,
    $now - 86400, 1, cl.campaign_id % 10 + 1, $now
  FROM campaign_lead cl JOIN step s ON s.campaign_id = cl.campaign_id
  JOIN variant v ON v.step_id = s.id WHERE cl.status <> 'queued';
INSERT INTO send_log (campaign_id, lead_id, step, variant_id, mailbox_id,
    status, message_id, smtp_code, smtp_reply, claimed_at, sent_at)
  SELECT campaign_id, lead_id, 0, variant_id, mailbox_id, status,
    lead_id || '@bench', CASE status WHEN 'sent' THEN 250 WHEN 'bounced' THEN 550 ELSE 451 END,
    'reply', $now - 3600 - lead_id % 3000, CASE status WHEN 'sent' THEN $now - 3600 - lead_id % 3000 END
  FROM queue WHERE status <> 'pending';
INSERT INTO attempt (send_log_id, campaign_id, sender_id, mailbox_id,
    started_at, ended_at, outcome, smtp_code, detail)
  SELECT id, campaign_id, 1, mailbox_id, claimed_at, claimed_at + 1,
    CASE status WHEN 'sent' THEN 'sent' WHEN 'bounced' THEN 'bounced' ELSE 'permanent' END,
    smtp_code, smtp_reply
  FROM send_log;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
ANALYZE;
SQL

ms() { echo $(( $(date +%s%N) / 1000000 )); }
run() {   # run COMMAND...: seconds it took, the best of three
	best=""
	for _ in 1 2 3; do
		t0=$(ms)
		"$@" >/dev/null
		t=$(( $(ms) - t0 ))
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	printf '%d.%03d' $((best / 1000)) $((best % 1000))
}
export MAILQ_NOW=$now
stats=$(run "$B/bin/mailq-stats" -c mailq.conf)
ref=$(run sqlite3 mailq.db "SELECT count(*) FROM campaign_lead")
echo "stats_default_view_s=$stats reference_count_s=$ref"
