# Overlapping runs: 8 mailq-tick processes started at once, 20 rounds,
# 200 leads, delay 0. The server must receive every message exactly once,
# and the send log must agree with it one to one.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/smtp.sh"
smtpd_start
export MAILQ_CONFIG="$T/mailq.conf" MAILQ_NOW=2026-11-24T09:00:00Z
fixture_conf mailq.conf mailq.db "$SMTP_PORT" campaigns=q4 \
    addresses="anna@example.com anna@example.org" limit=100000 \
    delay=0 jitter=0 buffer=50 subject="Cześć {{first_name}}"
fixture_leads leads.csv 200 lead Ola
fixture_init
fixture_start q4 leads.csv

for round in $(seq 20); do
	pids=""
	for p in $(seq 8); do
		mailq-tick --horizon 0 >"$T/tick.$round.$p" 2>&1 &
		pids="$pids $!"
	done
	for pid in $pids; do
		wait "$pid" || { cat "$T"/tick.$round.*; fail "a tick failed in round $round"; }
	done
	ok
done

eq 200 "$(smtpd_count)" "messages at the server"
smtpd_no_dupes
eq 200 "$(smtpd_rcpts | sort -u | wc -l)" "distinct recipients at the server"
eq 200 "$(sql mailq.db "SELECT count(*) FROM send_log WHERE status = 'sent'")" "sent in the send log"
eq 0 "$(sql mailq.db "SELECT count(*) FROM (SELECT 1 FROM send_log GROUP BY campaign_id, lead_id, step HAVING count(*) > 1)")" "duplicate send-log rows"
# one to one: every Message-ID the server got is a sent row of the log
sql mailq.db "SELECT '<' || message_id || '>' FROM send_log WHERE status = 'sent'" | sort > "$T/log.ids"
/usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["message_id"])' "$SMTP_DIR/received.jsonl" | sort > "$T/server.ids"
cmp -s "$T/log.ids" "$T/server.ids" || fail "send log and server disagree"; ok
eq completed "$(sql mailq.db "SELECT status FROM campaign")" "campaign status"
done_checks
