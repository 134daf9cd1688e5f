# mailq-tick when the server misbehaves: 4xx at the end of DATA (retries
# after 1, 5 and 15 min, then failed), 5xx to RCPT TO (bounce, suppression,
# no follow-up), AUTH (right and wrong password, one of two mailboxes
# failing), connection refused, STARTTLS with a trusted and an untrusted
# certificate, and a connection lost after the final dot (unknown, never
# resent). Counts are what the server received.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/smtp.sh"
export MAILQ_CONFIG="$T/mailq.conf"
T0=1795510800                  # Tue 2026-11-24 09:00:00 UTC

# mb NAME [TLS] [EXTRA] [PORT]: one mailbox entry of the config.
mb() {
	printf '{ name = "%s"; address = "%s@sender.example"; sender = "anna";
    daily_limit = 50; smtp = "smtp://127.0.0.1:%s"; tls = "%s"; %s }' \
	    "$1" "$1" "${4:-$SMTP_PORT}" "${2:-none}" "${3:-}"
}
# conf MAILBOX_ENTRIES CAMPAIGN_MAILBOXES: one campaign, open all week and
# all day, no delay, two steps (the second two days after the first).
conf() {
	cat > mailq.conf <<CONF
database = "mailq.db";
senders = ( { name = "anna"; daily_limit = 500; } );
mailboxes = ( $1 );
campaigns = (
  { name = "c1"; sender = "anna"; mailboxes = [ $2 ];
    schedule = { days = "MON-SUN"; start = "00:00"; end = "24:00"; };
    delay = 0; jitter = 0; daily_limit = 500;
    retry = { attempts = 3; backoff = [ 60, 300, 900 ]; };
    steps = ( { variants = ( { subject = "Hello {{first_name}}"; text = "Body {{first_name}}"; } ); },
              { wait_days = 2; variants = ( { subject = "Re: Hello {{first_name}}"; text = "Again"; } ); } ); } );
CONF
	chmod 600 mailq.conf
}
# leads ADDRESS...: imports them into c1.
leads() {
	{ echo "email,first_name"
	  for a in "$@"; do echo "$a,${a%%@*}"; done; } > leads.csv
	expect 0 mailq-import -q c1 leads.csv
}
fresh() {
	rm -f mailq.db mailq.db-wal mailq.db-shm
	expect 0 mailq-init -q
	leads "$@"
	MAILQ_NOW=$T0 expect 0 mailq-campaign -q start c1
}
new_server() { smtpd_stop; rm -rf "$SMTP_DIR"; smtpd_start "$@"; }
tick() { MAILQ_NOW=$1 expect 0 mailq-tick --horizon 0; }
q() { sql mailq.db "$1"; }
sent() { eq "$1" "$(smtpd_count)" "${2:-messages at the server}"; }
lead_q() {   # lead_q EMAIL COLUMNS [STEP]: the lead's queue item
	q "SELECT $2 FROM queue q JOIN lead l ON l.id = q.lead_id
	   WHERE l.email = '$1' AND q.step = ${3:-0}"
}
lead_log() {
	q "SELECT s.status FROM send_log s JOIN lead l ON l.id = s.lead_id
	   WHERE l.email = '$1' AND s.step = ${2:-0}"
}
lead_status() {
	q "SELECT c.status FROM campaign_lead c JOIN lead l ON l.id = c.lead_id
	   WHERE l.email = '$1'"
}
attempts() { q "SELECT count(*) FROM attempt"; }

smtpd_start

# --- 451 at the end of DATA: retried after 1, 5 and 15 minutes, then
# failed; a second lead without the fault goes out meanwhile
conf "$(mb m1)" '"m1"'
fresh lead1@example.com lead2@example.com
smtpd_faults '{"data": {"lead1@example.com": "451 4.3.0 try later"}}'
tries() { q "SELECT count(*) FROM attempt a JOIN send_log s ON s.id = a.send_log_id
	JOIN lead l ON l.id = s.lead_id WHERE l.email = 'lead1@example.com'"; }
tick $T0
eq 1 "$(tries)" "tries after the first"
eq 1 "$(smtpd_events data_rejected)" "451s given"
eq "pending|1" "$(lead_q lead1@example.com "status, attempts")" "queue after a 451"
eq retry "$(lead_log lead1@example.com)" "send log after a 451"
sent 1 "the second lead"
eq lead2@example.com "$(smtpd_rcpts)" "recipient of the second lead"
eq sent "$(lead_log lead2@example.com)" "send log of the second lead"
# the clock runs on from MAILQ_NOW in whole seconds: the backoff counts
# from the end of the try, which is T0 unless a second boundary passed
at=$T0
for backoff in 60 300 900; do
	ended=$(q "SELECT max(ended_at) FROM attempt")
	[ "$ended" -ge "$at" ] && [ "$ended" -le $((at + 1)) ] ||
	    fail "attempt ended at $ended, tried at $at"; ok
	next=$(lead_q lead1@example.com scheduled_at)
	eq $((ended + backoff)) "$next" "retry after $backoff s"
	n=$(attempts); conns=$(smtpd_events connect)
	tick $((next - 1))
	eq "$n" "$(attempts)" "attempts 1 s before the retry is due"
	eq "$conns" "$(smtpd_events connect)" "connections 1 s before the retry"
	tick "$next"
	eq $((n + 1)) "$(attempts)" "attempts once the retry is due"
	at=$next
done
eq 4 "$(tries)" "tries of the first lead"
eq 4 "$(smtpd_events data_rejected)" "451s given"
eq "failed|4" "$(lead_q lead1@example.com "status, attempts")" "queue out of retries"
eq failed "$(lead_log lead1@example.com)" "send log out of retries"
eq failed "$(lead_status lead1@example.com)" "lead out of retries"
eq 1 "$(q "SELECT count(*) FROM send_log s JOIN lead l ON l.id = s.lead_id WHERE l.email = 'lead1@example.com'")" "send-log rows: one slot per message"
eq "temporary,temporary,temporary,temporary" \
    "$(q "SELECT group_concat(outcome) FROM (SELECT a.outcome FROM attempt a JOIN send_log s ON s.id = a.send_log_id JOIN lead l ON l.id = s.lead_id WHERE l.email = 'lead1@example.com' ORDER BY a.id)")" \
    "attempt outcomes"
eq 451 "$(q "SELECT s.smtp_code FROM send_log s JOIN lead l ON l.id = s.lead_id WHERE l.email = 'lead1@example.com'")" "reply code kept"
n=$(attempts)
tick $((at + 600))
eq "$n" "$(attempts)" "attempts after failing"
sent 1 "after four 451s"
smtpd_rcpts | grep -q lead1 && fail "the server has a message for lead1"; ok

# --- 550 to RCPT TO: a bounce; suppressed; no follow-up
new_server
conf "$(mb m1)" '"m1"'
fresh good@example.com bad@example.com
smtpd_faults '{"rcpt": {"bad@example.com": "550 5.1.1 no such user"}}'
tick $T0
sent 1 "step 0 to the good lead"
eq good@example.com "$(smtpd_rcpts)" "recipient of step 0"
eq bounced "$(lead_log bad@example.com)" "send log of the bounce"
eq bounced "$(lead_q bad@example.com status)" "queue item of the bounce"
eq bounced "$(lead_status bad@example.com)" "lead that bounced"
eq 550 "$(q "SELECT s.smtp_code FROM send_log s JOIN lead l ON l.id = s.lead_id WHERE l.email = 'bad@example.com'")" "bounce code"
eq 1 "$(q "SELECT count(*) FROM suppression WHERE email = 'bad@example.com'")" "suppression of the bounce"
eq 0 "$(q "SELECT count(*) FROM suppression WHERE email = 'good@example.com'")" "suppression of the good lead"
eq "" "$(lead_q bad@example.com status 1)" "follow-up planned for the bounce"
eq pending "$(lead_q good@example.com status 1)" "follow-up planned for the good lead"
tick $((T0 + 2 * 86400 + 60))
sent 2 "step 1 to the good lead"
eq "good@example.com
good@example.com" "$(smtpd_rcpts)" "recipients after the follow-up"
tick $((T0 + 10 * 86400))
sent 2 "ten days on"
eq 1 "$(smtpd_events rcpt_rejected)" "RCPT TO tries for the bounce"
eq 0 "$(q "SELECT count(*) FROM send_log s JOIN lead l ON l.id = s.lead_id WHERE l.email = 'bad@example.com' AND s.step = 1")" "send log of the bounce's step 1"
smtpd_no_dupes

# --- AUTH: right password, wrong password, one mailbox of two failing
new_server
RIGHT=pw-Right-K7x2
WRONG=pw-Wrong-Q9z4
smtpd_faults "{\"auth\": {\"user\": \"u\", \"password\": \"$RIGHT\"}}"
conf "$(mb m1 none "username = \"u\"; password = \"$RIGHT\";")" '"m1"'
fresh lead1@example.com
tick $T0
sent 1 "with the right password"
eq 1 "$(smtpd_events auth_ok)" "logins accepted"
eq sent "$(lead_log lead1@example.com)" "send log with the right password"

conf "$(mb m1 none "username = \"u\"; password = \"$WRONG\";")" '"m1"'
fresh wrong@example.com
tick $T0
sent 1 "with the wrong password"
eq 1 "$(smtpd_events auth_fail)" "logins refused"
grep_err "^mailq-tick: campaign c1: mailbox m1: 535"
eq 1 "$(q "SELECT count(*) FROM mailbox WHERE name = 'm1' AND failing_since IS NOT NULL AND last_error LIKE '%535%'")" "mailbox marked failing"
eq "pending|0" "$(lead_q wrong@example.com "status, attempts")" "queue item after a failed login"
eq active "$(lead_status wrong@example.com)" "lead after a failed login"
eq 0 "$(q "SELECT count(*) FROM send_log WHERE status IN ('failed', 'bounced', 'unknown', 'sent')")" "send log after a failed login"
eq 0 "$(q "SELECT count(*) FROM suppression")" "suppressions after a failed login"
b64=$(printf '\0u\0%s' "$WRONG" | base64)
sqlite3 mailq.db .dump > dump.sql
for f in "$T/out" "$T/err" dump.sql mailq.db*; do
	grep -aqF -e "$WRONG" -e "$b64" "$f" && fail "the password is in $f"
	ok
done
# the password put right: the same lead goes out, the mark is cleared
conf "$(mb m1 none "username = \"u\"; password = \"$RIGHT\";")" '"m1"'
tick $((T0 + 60))
sent 2 "once the password is right"
eq 0 "$(q "SELECT count(*) FROM mailbox WHERE failing_since IS NOT NULL")" "failing mailboxes after a send"

# two mailboxes, one with the wrong password: both leads go out through the
# other one in the same run
conf "$(mb good none "username = \"u\"; password = \"$RIGHT\";"), $(mb bad none "username = \"u\"; password = \"$WRONG\";")" '"good", "bad"'
fresh two1@example.com two2@example.com
tick $T0
sent 4 "two leads, one mailbox refused"
eq 2 "$(grep -c '"mail_from": "good@sender.example"' "$SMTP_DIR/received.jsonl")" "messages from the good mailbox"
grep_err "^mailq-tick: campaign c1: mailbox bad: 535"
eq 1 "$(q "SELECT count(*) FROM mailbox WHERE failing_since IS NOT NULL")" "failing mailboxes"
eq bad "$(q "SELECT name FROM mailbox WHERE failing_since IS NOT NULL")" "the failing mailbox"
eq 1 "$(q "SELECT count(*) FROM attempt a JOIN mailbox m ON m.id = a.mailbox_id WHERE m.name = 'bad' AND a.outcome = 'mailbox'")" "tries through the failing mailbox"
eq "sent|sent" "$(q "SELECT group_concat(status, '|') FROM send_log")" "send log"
smtpd_no_dupes

# --- connection refused: a temporary failure, retried after a minute
closed=$(/usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
conf "$(mb m1 none "" "$closed")" '"m1"'
fresh lead1@example.com
tick $T0
ended=$(q "SELECT ended_at FROM attempt")
[ "$ended" -ge $T0 ] && [ "$ended" -le $((T0 + 1)) ] || fail "attempt ended at $ended"; ok
eq "pending|1|$((ended + 60))" "$(lead_q lead1@example.com "status, attempts, scheduled_at")" "queue after connection refused"
eq retry "$(lead_log lead1@example.com)" "send log after connection refused"
eq temporary "$(q "SELECT outcome FROM attempt")" "attempt outcome"
eq active "$(lead_status lead1@example.com)" "lead after connection refused"
eq 0 "$(q "SELECT count(*) FROM mailbox WHERE failing_since IS NOT NULL")" "mailboxes marked failing by a refused connection"

# --- lost after the final dot: unknown, never resent
new_server
conf "$(mb m1)" '"m1"'
fresh lead1@example.com
smtpd_faults '{"drop_after_data": ["*"]}'
tick $T0
sent 1 "dropped after the dot"
eq 1 "$(smtpd_events dropped)" "connections dropped"
eq unknown "$(lead_q lead1@example.com status)" "queue item after the drop"
eq unknown "$(lead_log lead1@example.com)" "send log after the drop"
grep_err "lead1@example.com step 0: may have been delivered"
smtpd_faults ''
for t in 60 900 3600 $((2 * 86400 + 60)) $((7 * 86400)); do
	tick $((T0 + t))
done
sent 1 "after later ticks"
eq unknown "$(lead_q lead1@example.com status)" "queue item a week on"
eq "" "$(lead_q lead1@example.com status 1)" "follow-up after an unknown"
smtpd_no_dupes

# --- a message that cannot be composed fails alone: a template broken in
# the database (as one written by an older mailq could be) fails the
# messages of its variant with the reason; the mailbox stays ok and the
# other variant's leads are sent
new_server
conf "$(mb m1)" '"m1"'
sed -i 's/variants = ( { subject = "Hello {{first_name}}"; text = "Body {{first_name}}"; } )/variants = ( { letter = "A"; subject = "Hello {{first_name}}"; text = "Body {{first_name}}"; }, { letter = "B"; subject = "Hi {{first_name}}"; text = "Body B"; } )/' mailq.conf
fresh $(seq -f 'v%g@example.com' 1 12)
q "UPDATE variant SET subject = '{{company Pomysł' WHERE letter = 'B'"
for i in 1 2 3 4 5 6; do tick $((T0 + i)); done
nb=$(q "SELECT count(*) FROM campaign_lead WHERE letter = 'B'")
[ "$nb" -ge 1 ] && [ "$nb" -le 11 ] || fail "want both variants, got $nb on B"; ok
sent $((12 - nb)) "messages of the good variant"
eq "$nb" "$(q "SELECT count(*) FROM send_log s JOIN campaign_lead c USING (campaign_id, lead_id)
	WHERE c.letter = 'B' AND s.status = 'failed'")" "broken variant's messages failed"
eq "$nb" "$(q "SELECT count(*) FROM attempt WHERE detail LIKE '%unclosed placeholder%{{company Pomysł%'")" "attempts naming the placeholder"
eq 0 "$(q "SELECT count(*) FROM mailbox WHERE failing_since IS NOT NULL")" "mailboxes failing"

# --- STARTTLS with a certificate from a CA made here
make_test_ca "$T/ca"
new_server --tls-cert "$T/ca/server.pem" --tls-key "$T/ca/server.key" --require-starttls
conf "$(mb m1 starttls "ca_file = \"$T/ca/ca.pem\";")" '"m1"'
fresh lead1@example.com
tick $T0
sent 1 "over STARTTLS"
[ "$(smtpd_events starttls)" -ge 1 ] || fail "no STARTTLS at the server"; ok
eq 0 "$(smtpd_events starttls_required)" "refusals for want of STARTTLS"
eq sent "$(lead_log lead1@example.com)" "send log over STARTTLS"
# the same with a certificate the CA did not sign: nothing goes out
new_server --tls-cert "$T/ca/self.pem" --tls-key "$T/ca/self.key" --require-starttls
conf "$(mb m1 starttls "ca_file = \"$T/ca/ca.pem\";")" '"m1"'
fresh lead1@example.com
before=$(smtpd_count)
tick $T0
sent "$before" "with an untrusted certificate"
grep_err "^mailq-tick: campaign c1: mailbox m1: "
eq 1 "$(q "SELECT count(*) FROM mailbox WHERE failing_since IS NOT NULL AND last_error <> ''")" "mailbox marked failing"
[ "$(smtpd_events tls_failed)" -ge 1 ] || fail "no failed handshake at the server"; ok
eq "pending|0" "$(lead_q lead1@example.com "status, attempts")" "queue item after a TLS failure"
eq active "$(lead_status lead1@example.com)" "lead after a TLS failure"
eq 0 "$(q "SELECT count(*) FROM send_log WHERE status IN ('failed', 'bounced', 'unknown', 'sent')")" "send log after a TLS failure"
# what is recorded and reported must name the TLS failure, not the
# server's last reply before the handshake ("220 Ready to start TLS")
q "SELECT last_error FROM mailbox WHERE name = 'm1'" | grep -qiE 'certificate|ssl|verif' ||
    fail "mailbox last_error does not name the TLS failure: $(q "SELECT last_error FROM mailbox")"; ok
grep_err "mailbox m1: .*(certificate|SSL|verif)"
done_checks
