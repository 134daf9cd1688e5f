# Overlapping runs: 8 mailq-tick processes started at once, 20 rounds,
# 200 leads, delay 0. The server must receive every message exactly once,
# and the send log must agree with it one to one.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/smtp.sh"
smtpd_start
export MAILQ_CONFIG="$T/mailq.conf" MAILQ_NOW=2026-11-24T09:00:00Z
cat > mailq.conf <<CONF
database = "mailq.db";
senders = ( { name = "anna"; daily_limit = 100000; } );
mailboxes = (
  { name = "m1"; address = "anna@example.com"; sender = "anna"; daily_limit = 100000;
    smtp = "smtp://127.0.0.1:$SMTP_PORT"; tls = "none"; },
  { name = "m2"; address = "anna@example.org"; sender = "anna"; daily_limit = 100000;
    smtp = "smtp://127.0.0.1:$SMTP_PORT"; tls = "none"; } );
campaigns = (
  { name = "q4"; sender = "anna"; mailboxes = [ "m1", "m2" ];
    schedule = { days = "MON-SUN"; start = "00:00"; end = "24:00"; };
    delay = 0; jitter = 0; daily_limit = 100000; buffer = 50;
    steps = ( { variants = ( { subject = "Cześć {{first_name}}"; text = "t"; } ); } ); } );
CONF
chmod 600 mailq.conf
{ echo "email,first_name"; for i in $(seq 200); do echo "lead$i@example.com,Ola$i"; done; } > leads.csv
expect 0 mailq-init -q
expect 0 mailq-import -q q4 leads.csv
expect 0 mailq-campaign -q start q4

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
