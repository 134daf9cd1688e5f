# What comes back, counted at the servers: a campaign sends to the test
# SMTP server; replies, an out-of-office, bounces and an unsubscribe for
# those exact messages go into a real IMAP server's (Dovecot's) Maildir;
# mailq-fetch reads them (twice, overlapping, killed and run again) and
# the follow-up run sends nothing to the leads that replied, bounced or
# unsubscribed, delays the one away, and sends to the rest. Every inbound
# message is applied once; the mailbox is unchanged afterwards.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/smtp.sh"
export MAILQ_CONFIG="$T/mailq.conf"
T0=1795510800                  # Tue 2026-11-24 09:00:00 UTC
DAY=86400
IMAPD="sh $MQ_TOP/tests/imapd.sh"
MK="/usr/bin/python3 $MQ_TOP/tests/mkinbound.py"
I=$T/imap
mkdir -p "$I"
chmod 711 "$T"          # Dovecot's own users reach their files in it
$IMAPD start "$I" >/dev/null || fail "cannot start the IMAP server"
trap '$IMAPD stop "$I"; _smtpd_kill_all; rm -rf "$T"' EXIT
smtpd_start
IMAP=$(cat "$I/imap.port") IMAPS=$(cat "$I/imaps.port")

# conf [INBOX_EXTRA]: one mailbox (its inbox the Dovecot user's, over
# IMAPS with the test CA), campaign c1: two steps two days apart.
conf() {
	cat > mailq.conf <<CONF
database = "mailq.db";
senders = ( { name = "anna"; } );
mailboxes = ( { name = "m1"; address = "anna@example.com"; sender = "anna";
    daily_limit = 1000; smtp = "smtp://127.0.0.1:$SMTP_PORT"; tls = "none";
    ca_file = "$I/ca.pem";
    inbox = "imaps://127.0.0.1:$IMAPS"; inbox_username = "anna@example.com";
    inbox_password = "secret"; inbox_folders = [ "INBOX", "Spam" ];
    ${1:-} } );
campaigns = ( { name = "c1"; sender = "anna"; mailboxes = [ "m1" ];
    schedule = { days = "MON-SUN"; start = "00:00"; end = "24:00"; };
    delay = 0; jitter = 0; stop_on_reply = "domain";
    steps = ( { variants = ( { subject = "Hello {{first_name}}"; text = "Body"; } ); },
              { wait_days = 2; variants = ( { text = "Again"; } ); } ); } );
CONF
	chmod 600 mailq.conf
}
q() { sql mailq.db "$1"; }
status_of() { q "SELECT cl.status FROM campaign_lead cl JOIN lead l ON l.id = cl.lead_id WHERE l.email = '$1'"; }
# sent_to RCPT: the .eml the server received for RCPT (its first).
sent_to() {
	grep -l "^To: .*$1" "$SMTP_DIR"/msg-*.eml | head -1
}
# back KIND RCPT [FOLDER]: the mail that comes back for RCPT's message.
back() {
	$MK "$1" "$(sent_to "$2")" "$T/in.eml" || fail "mkinbound $1 $2"
	$IMAPD deliver "$I" "$T/in.eml" "${3:-INBOX}" >/dev/null
}
per_rcpt() { grep -h "^To: " "$SMTP_DIR"/msg-*.eml | tr -d '\r' | sort | uniq -c | awk '{print $3 "=" $1}' | tr '\n' ' '; }

conf
expect 0 mailq-init -q
cat > leads.csv <<CSV
email,first_name
ann@acme.example,Ann
bob@acme.example,Bob
cat@beta.example,Cat
dan@gamma.example,Dan
eve@delta.example,Eve
fay@epsilon.example,Fay
gus@zeta.example,Gus
hal@eta.example,Hal
ida@theta.example,Ida
jon@iota.example,Jon
CSV
expect 0 mailq-import -q c1 leads.csv
MAILQ_NOW=$T0 expect 0 mailq-campaign -q start c1
smtpd_faults '{"drop_after_data": ["jon@*"]}'      # kept, then cut off
MAILQ_NOW=$T0 expect 0 mailq-tick --horizon 0
smtpd_faults ''
eq 10 "$(smtpd_count)" "first messages at the server"

# --- 1. the answers, for those exact messages
back reply ann@acme.example                 # stops bob too (same company)
back ooo cat@beta.example
back bounce dan@gamma.example Spam           # bounces land in Spam, too
back unsubscribe eve@delta.example
back reply-alias fay@epsilon.example         # a colleague, in the thread
back reply-bare gus@zeta.example             # no thread headers
back soft hal@eta.example                    # one soft bounce: goes on
back stranger ida@theta.example              # nothing of ours
$IMAPD snapshot "$I" > "$T/before"
eq 8 "$(wc -l < "$T/before")" "messages in the mailbox"

# --- 2. two runs at once, then one more: each message applied once
MAILQ_NOW=$((T0 + 3600)) mailq-fetch > "$T/f1" 2>&1 & p1=$!
MAILQ_NOW=$((T0 + 3600)) mailq-fetch > "$T/f2" 2>&1 & p2=$!
wait $p1 || fail "fetch 1: $(cat "$T/f1"; tail -5 "$I/dovecot.log")"
wait $p2 || fail "fetch 2: $(cat "$T/f2"; tail -5 "$I/dovecot.log")"
ok
MAILQ_NOW=$((T0 + 3700)) expect 0 mailq-fetch
eq "" "$(cat "$T/out" "$T/err")" "a quiet run"
eq 8 "$(q 'SELECT count(*) FROM inbound')" "inbound messages recorded"
eq "auto_reply=1 hard_bounce=1 reply=3 soft_bounce=1 unmatched=1 unsubscribe=1" \
    "$(q "SELECT group_concat(class || '=' || n, ' ') FROM (SELECT class, count(*) n FROM inbound GROUP BY class ORDER BY class)")" \
    "classes"
eq replied "$(status_of ann@acme.example)" "ann"
eq cancelled "$(status_of bob@acme.example)" "bob, same company as ann"
eq active "$(status_of cat@beta.example)" "cat, out of office"
eq bounced "$(status_of dan@gamma.example)" "dan"
eq unsubscribed "$(status_of eve@delta.example)" "eve"
eq replied "$(status_of fay@epsilon.example)" "fay (a colleague answered)"
eq replied "$(status_of gus@zeta.example)" "gus (no thread headers)"
eq active "$(status_of hal@eta.example)" "hal (one soft bounce)"
eq "dan@gamma.example eve@delta.example" \
    "$(q "SELECT group_concat(email, ' ') FROM (SELECT email FROM suppression ORDER BY email)")" \
    "suppressed: the bounce and the unsubscribe, nobody who replied"
eq bounced "$(q "SELECT s.status FROM send_log s JOIN lead l ON l.id = s.lead_id WHERE l.email = 'dan@gamma.example'")" "dan's message"

# --- 3. the follow-ups: only to those who did not answer
MAILQ_NOW=$((T0 + 2 * DAY + 60)) expect 0 mailq-tick --horizon 0
eq "ann@acme.example=1 bob@acme.example=1 cat@beta.example=1 dan@gamma.example=1 eve@delta.example=1 fay@epsilon.example=1 gus@zeta.example=1 hal@eta.example=2 ida@theta.example=2 jon@iota.example=1 " \
    "$(per_rcpt)" "messages per lead after the follow-up run"
MAILQ_NOW=$((T0 + 8 * DAY)) expect 0 mailq-tick --horizon 0
eq "cat@beta.example=2" "$(per_rcpt | tr ' ' '\n' | grep '^cat@')" \
    "cat's follow-up, after the out-of-office pause"
smtpd_no_dupes

# --- 4. the mailbox is as it was: flags, count, folders
$IMAPD snapshot "$I" > "$T/after"
cmp -s "$T/before" "$T/after" || fail "the mailbox changed: $(diff "$T/before" "$T/after")"
ok

# --- 5. killed mid-run, then run again: every message once
for i in $(seq 40); do
	printf 'From: person%d@else.example\r\nTo: anna@example.com\r\nSubject: note %d\r\nMessage-ID: <note%d@else.example>\r\n\r\nHello %d\r\n' \
	    "$i" "$i" "$i" "$i" > "$T/n.eml"
	$IMAPD deliver "$I" "$T/n.eml" >/dev/null
done
for delay in 0.05 0.1 0.2; do
	MAILQ_NOW=$((T0 + 4000)) mailq-fetch > /dev/null 2>&1 & p=$!
	sleep $delay
	kill -9 $p 2>/dev/null
	wait $p 2>/dev/null
done
MAILQ_NOW=$((T0 + 4000)) expect 0 mailq-fetch
eq 48 "$(q 'SELECT count(*) FROM inbound')" "inbound messages after the kills"
eq 48 "$(q 'SELECT count(DISTINCT folder || ref) FROM inbound')" "each once"
eq 40 "$(q "SELECT count(*) FROM inbound WHERE class = 'unmatched' AND subject LIKE 'note %'")" "the notes, unmatched"

# --- 6. a 20 MB message and a broken one: read, recorded, the run goes on
/usr/bin/python3 - "$T/big.eml" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"From: big@else.example\r\nTo: anna@example.com\r\n"
            b"Subject: a big one\r\nMessage-ID: <big@else.example>\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n")
    line = b"A" * 76 + b"\r\n"
    f.write(line * (20 * 1024 * 1024 // len(line)))
PY
printf 'From: <<<\r\nContent-Type: multipart/mixed; boundary=\r\nSubject: =?x?Q?broken\r\n\r\n--\r\n--\r\n' > "$T/bad.eml"
$IMAPD deliver "$I" "$T/big.eml" >/dev/null
$IMAPD deliver "$I" "$T/bad.eml" >/dev/null
back reply ida@theta.example
MAILQ_NOW=$((T0 + 4100)) expect 0 mailq-fetch
eq 1 "$(q "SELECT headers_only FROM inbound WHERE message_id = 'big@else.example'")" "the big one, headers only"
eq 51 "$(q 'SELECT count(*) FROM inbound')" "the big, the broken and a reply after them"
eq replied "$(status_of ida@theta.example)" "ida, after the broken message"

# --- 7. UIDVALIDITY changes: read again from the start, nothing applied twice
$IMAPD stop "$I"
find "$(cat "$I/maildir")" -name 'dovecot-uidlist' -o -name 'dovecot.index*' -o -name 'dovecot-uidvalidity*' | xargs rm -f
$IMAPD start "$I" >/dev/null
MAILQ_NOW=$((T0 + 4200)) expect 0 mailq-fetch
grep_err "new UIDVALIDITY"
eq 51 "$(q "SELECT count(*) FROM inbound WHERE class != 'duplicate'")" "nothing new applied"
eq 51 "$(q "SELECT count(*) FROM inbound WHERE class = 'duplicate'")" \
    "every message read again, as a copy (both folders were rebuilt)"
eq "dan@gamma.example eve@delta.example" \
    "$(q "SELECT group_concat(email, ' ') FROM (SELECT email FROM suppression ORDER BY email)")" \
    "the suppression list, unchanged"

# --- 8. the server down, then a wrong password: clear, nothing lost
$IMAPD stop "$I"
MAILQ_NOW=$((T0 + 4300)) expect 75 mailq-fetch
grep_err "^mailq-fetch: mailbox m1: imaps://127.0.0.1:$IMAPS: "
$IMAPD start "$I" >/dev/null
sed -i 's/inbox_password = "secret"/inbox_password = "wrong-pw"/' mailq.conf
back reply hal@eta.example
MAILQ_NOW=$((T0 + 4400)) expect 77 mailq-fetch
grep_err "mailbox m1: .*(login|refused|denied)"
grep -q wrong-pw "$T/err" "$T/out" && fail "the password was shown"
ok
sed -i 's/inbox_password = "wrong-pw"/inbox_password = "secret"/' mailq.conf
MAILQ_NOW=$((T0 + 4500)) expect 0 mailq-fetch
eq replied "$(status_of hal@eta.example)" "hal, read once the password is right"

# --- 9. the Sent folder settles an unknown message: the server kept it,
# the run was cut off before the reply; the provider filed it in Sent
eq unknown "$(q "SELECT s.status FROM send_log s JOIN lead l ON l.id = s.lead_id WHERE l.email = 'jon@iota.example'")" "jon's message, cut off"
$IMAPD deliver "$I" "$(sent_to jon@iota.example)" Sent >/dev/null
sed -i 's/inbox_folders = \[ "INBOX", "Spam" \];/inbox_folders = [ "INBOX", "Spam" ]; inbox_sent_folder = "Sent";/' mailq.conf
MAILQ_NOW=$((T0 + 4700)) expect 0 mailq-fetch -v
grep_err "unknown=sent"
eq sent "$(q "SELECT s.status FROM send_log s JOIN lead l ON l.id = s.lead_id WHERE l.email = 'jon@iota.example'")" "jon's message, found in Sent"
eq 1 "$(q "SELECT count(*) FROM attempt a JOIN send_log s ON s.id = a.send_log_id JOIN lead l ON l.id = s.lead_id WHERE l.email = 'jon@iota.example' AND a.outcome = 'sent' AND a.detail LIKE 'found in%Sent'")" "the evidence, in the attempt"
eq 1 "$(q "SELECT count(*) FROM queue q JOIN lead l ON l.id = q.lead_id WHERE l.email = 'jon@iota.example' AND q.step = 1 AND q.status = 'pending'")" "jon's follow-up, planned"
MAILQ_NOW=$((T0 + 4800)) expect 0 mailq-fetch
eq 1 "$(q "SELECT count(*) FROM send_log WHERE status = 'sent' AND lead_id = (SELECT id FROM lead WHERE email = 'jon@iota.example')")" "once"

# --- 10. the whole mailbox, after all of it: nothing flagged, moved, lost
$IMAPD snapshot "$I" | awk '{print $1, $3}' | sort | uniq -c > "$T/flags"
eq 0 "$(grep -vc ' \[\]$' "$T/flags")" "messages with any flag set"
eq 53 "$($IMAPD snapshot "$I" | wc -l)" "messages in the mailbox"

# --- 11. a Maildir on this machine, and the bounce guard: more than 10 %
# of a window of 10 sends bounced pauses the mailbox until resumed
G=$T/guard
mkdir -p "$G/Maildir/new" "$G/Maildir/cur" "$G/Maildir/tmp"
cat > "$G/mailq.conf" <<CONF
database = "mailq.db";
senders = ( { name = "anna"; } );
mailboxes = ( { name = "g1"; address = "guard@example.com"; sender = "anna";
    daily_limit = 3; smtp = "smtp://127.0.0.1:$SMTP_PORT"; tls = "none";
    inbox = "maildir://$G/Maildir"; bounce_pause = { rate = 10; window = 10; }; } );
campaigns = ( { name = "g"; sender = "anna"; mailboxes = [ "g1" ];
    schedule = { days = "MON-SUN"; start = "00:00"; end = "24:00"; };
    delay = 0; jitter = 0;
    steps = ( { variants = ( { subject = "Hi {{first_name}}"; text = "Body"; } ); } ); } );
CONF
chmod 600 "$G/mailq.conf"
export MAILQ_CONFIG="$G/mailq.conf"
expect 0 mailq-init -q
{ echo "email,first_name"; for i in 1 2 3 4 5 6; do echo "g$i@guard$i.example,G$i"; done; } > "$G/g.csv"
expect 0 mailq-import -q g "$G/g.csv"
MAILQ_NOW=$T0 expect 0 mailq-campaign -q start g
MAILQ_NOW=$T0 expect 0 mailq-tick --horizon 0
eq 3 "$(sql "$G/mailq.db" "SELECT count(*) FROM send_log WHERE status = 'sent'")" "the day's three"
for r in g1@guard1.example g2@guard2.example; do
	$MK bounce "$(sent_to $r)" "$G/Maildir/new/$r.eml" || fail "mkinbound"
done
$MK reply "$(sent_to g3@guard3.example)" "$G/Maildir/cur/g3.eml:2,S" || fail "mkinbound"
ls -l --time-style=+%s "$G/Maildir"/*/ > "$G/before"
MAILQ_NOW=$((T0 + 60)) expect 0 mailq-fetch --dry-run
grep_out "g1 INBOX .*: hard_bounce lead g1@guard1.example campaign g"
grep_out "g1 INBOX .*: reply lead g3@guard3.example campaign g"
eq 0 "$(sql "$G/mailq.db" 'SELECT count(*) FROM inbound')" "a dry run records nothing"
MAILQ_NOW=$((T0 + 60)) expect 0 mailq-fetch
grep_err "mailbox g1: paused by its bounce guard"
eq "2 hard bounces in its last 10 sends (more than 10 %)" \
    "$(sql "$G/mailq.db" "SELECT bounce_paused_why FROM mailbox WHERE name = 'g1'")" "why g1 is paused"
ls -l --time-style=+%s "$G/Maildir"/*/ > "$G/after"
cmp -s "$G/before" "$G/after" || fail "the Maildir changed"
ok
n=$(smtpd_count)
MAILQ_NOW=$((T0 + DAY)) expect 0 mailq-tick --horizon 0 --dry-run
grep_out "paused by its bounce guard"
MAILQ_NOW=$((T0 + DAY)) expect 0 mailq-tick --horizon 0
eq "$n" "$(smtpd_count)" "nothing from a paused mailbox"
expect 0 mailq-campaign resume-mailbox g1
grep_out "mailbox g1: resumed"
MAILQ_NOW=$((T0 + DAY + 60)) expect 0 mailq-tick --horizon 0
eq $((n + 3)) "$(smtpd_count)" "the next day's three, once resumed"
# a folder that does not exist: said, kept for mailq-stats, and the
# mailbox's other folders are still read
sed -i 's#inbox = "maildir://\([^"]*\)";#inbox = "maildir://\1"; inbox_folders = [ "Missing", "INBOX" ];#' "$G/mailq.conf"
$MK reply "$(sent_to g4@guard4.example)" "$G/Maildir/new/g4.eml" || fail "mkinbound"
MAILQ_NOW=$((T0 + DAY + 120)) expect 66 mailq-fetch
grep_err "mailbox g1: .*Missing"
eq replied "$(sql "$G/mailq.db" "SELECT cl.status FROM campaign_lead cl JOIN lead l ON l.id = cl.lead_id WHERE l.email = 'g4@guard4.example'")" \
    "g4's reply, read from INBOX after the missing folder"
eq 1 "$(sql "$G/mailq.db" "SELECT count(*) FROM inbox_folder WHERE folder = 'Missing' AND error IS NOT NULL")" "the missing folder's error, kept"
expect 65 mailq-campaign resume-mailbox nope
grep_err "no mailbox 'nope'"
expect 65 mailq-fetch --mailbox nope
grep_err "no mailbox 'nope'"

done_checks
