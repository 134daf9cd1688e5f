# The SMTP test server itself, driven by real clients (python's smtplib,
# curl, raw sockets): delivery kept byte-exact, every fault, AUTH,
# STARTTLS and implicit TLS against a throw-away CA, bad clients, many
# clients at once, SIGTERM and restart. The other end-to-end tests trust
# what this server counts, so it is checked here first.
. "$MQ_TOP/tests/lib/e2e.sh"
. "$MQ_TOP/tests/lib/smtp.sh"

# client [OPTIONS] FILE: sends FILE ("{n}" replaced by the message's
# number, "{id}" by a token unique to this run of the client) and prints one line per message, "ok [refused=ADDR:CODE,...]" or
# "error CLASS [CODE]", then "elapsed SECONDS"; exits 1 on any error.
cat >"$T/client.py" <<'PY'
import argparse, os, smtplib, ssl, sys, time
p = argparse.ArgumentParser()
p.add_argument("--port", type=int, default=int(os.environ.get("SMTP_PORT", 0)))
p.add_argument("--ssl", action="store_true")
p.add_argument("--starttls", action="store_true")
p.add_argument("--ca")
p.add_argument("--user")
p.add_argument("--password")
p.add_argument("--mech", default="PLAIN")
p.add_argument("--timeout", type=float, default=10)
p.add_argument("--count", type=int, default=1)
p.add_argument("--then", help="faults.json written after the first message")
p.add_argument("--from", dest="sender", default="anna@example.com")
p.add_argument("--to", default="bob@example.org")
p.add_argument("file")
a = p.parse_args()
body = open(a.file, "rb").read()
ctx = ssl.create_default_context(cafile=a.ca)
start, failed, s = time.monotonic(), False, None
ID = b"%d.%d" % (os.getpid(), time.monotonic_ns())

def error(e):
	global failed
	failed = True
	code = getattr(e, "smtp_code", "")
	print("error", type(e).__name__, code, flush=True)

try:
	if a.ssl:
		s = smtplib.SMTP_SSL("127.0.0.1", a.port, timeout=a.timeout, context=ctx)
	else:
		s = smtplib.SMTP("127.0.0.1", a.port, timeout=a.timeout)
	s.ehlo("client.test")
	if a.starttls:
		s.starttls(context=ctx)
		s.ehlo("client.test")
	if a.user:
		s.user, s.password = a.user, a.password
		s.auth(a.mech, getattr(s, "auth_" + a.mech.lower()))
	for n in range(1, a.count + 1):
		try:
			msg = body.replace(b"{n}", str(n).encode()).replace(b"{id}", ID)
			refused = s.sendmail(a.sender, a.to.split(","), msg)
			print("ok" + ("" if not refused else " refused=" + ",".join(
			    "%s:%s" % (k, v[0]) for k, v in refused.items())), flush=True)
		except (smtplib.SMTPResponseException,
		    smtplib.SMTPRecipientsRefused) as e:
			error(e)
			s.rset()
		if n == 1 and a.then:
			f = os.path.join(os.environ["SMTP_DIR"], "faults.json")
			open(f + ".tmp", "w").write(a.then)
			os.replace(f + ".tmp", f)
	s.quit()
except Exception as e:
	error(e)
	if s:
		s.close()
print("elapsed %.2f" % (time.monotonic() - start))
sys.exit(1 if failed else 0)
PY
client() { /usr/bin/python3 "$T/client.py" "$@"; }
# at_least MIN: the last client took MIN seconds or more.
at_least() {
	awk -v m="$1" '/^elapsed/ { exit !($2 >= m) }' "$T/out" ||
	    fail "client took $(grep elapsed "$T/out"), want >= $1 s"
	ok
}
# outs N PATTERN: the last command printed exactly N lines matching.
outs() { eq "$1" "$(grep -cE -- "$2" "$T/out")" "lines /$2/"; }

# A certificate authority, and a certificate it did not sign.
make_test_ca "$T/ca"
CA=$T/ca
expect 0 openssl verify -CAfile "$CA/ca.pem" "$CA/server.pem"
expect 2 openssl verify -CAfile "$CA/ca.pem" "$CA/self.pem"

# Plain delivery with curl: kept byte for byte, a leading dot included,
# and its line says who, what and which key.
smtpd_start
printf '%s\r\n' "From: Anna <anna@example.com>" "To: bob@example.org" \
    "Subject: =?UTF-8?B?WmHFvMOzxYLEhw==?=" "Message-ID: <m1@mailq.test>" \
    "X-Mailq-Key: q4/7/0" "" ".a line with a leading dot" "..two" "end" \
    >"$T/m1.eml"
printf '%s\r\n' "Subject: message {n}" "X-Mailq-Key: k-{id}-{n}" "" "hello" \
    >"$T/m.eml"
printf '%s\r\n' "Subject: again" "X-Mailq-Key: same" "" "hello" >"$T/same.eml"
expect 0 curl -sS "smtp://127.0.0.1:$SMTP_PORT" --mail-from anna@example.com \
    --mail-rcpt bob@example.org -T "$T/m1.eml"
eq 1 "$(smtpd_count)" "messages after curl"
cmp "$T/m1.eml" "$SMTP_DIR/msg-000001.eml" || fail "message not kept exactly"
ok
eq anna@example.com "$(smtpd_field 1 mail_from)" "mail_from"
eq '["bob@example.org"]' "$(smtpd_field 1 rcpt_tos)" "rcpt_tos"
eq "$(wc -c <"$T/m1.eml")" "$(smtpd_field 1 size)" "size"
eq "<m1@mailq.test>" "$(smtpd_field 1 message_id)" "message_id"
eq "Zażółć" "$(smtpd_field 1 subject)" "decoded subject"
eq "q4/7/0" "$(smtpd_field 1 x_mailq)" "x_mailq"
eq msg-000001.eml "$(smtpd_field 1 file)" "file"
eq 1 "$(smtpd_events accepted)" "accepted events"

# smtplib, two recipients and no Message-ID.
expect 0 client --to c1@example.org,c2@example.org "$T/m.eml"
eq 2 "$(smtpd_count)" "messages"
eq null "$(smtpd_field 2 message_id)" "absent message_id"
smtpd_field 2 x_mailq | grep -qE '^k-[0-9.]+-1$' || fail "x_mailq: $(smtpd_field 2 x_mailq)"
ok
eq "bob@example.org c1@example.org c2@example.org" \
    "$(smtpd_rcpts | tr '\n' ' ' | sed 's/ $//')" "recipients"

# RCPT refused for a glob of addresses; the other recipient still gets it.
smtpd_faults '{"rcpt": {"*@BAD.example": "550 5.1.1 no such user"}}'
expect 0 client --to ok@example.org,x@bad.example "$T/m.eml"
grep_out '^ok refused=x@bad.example:550$'
eq '["ok@example.org"]' "$(smtpd_field 3 rcpt_tos)" "rcpt_tos after a refusal"
expect 55 curl -sS "smtp://127.0.0.1:$SMTP_PORT" --mail-from a@example.com \
    --mail-rcpt y@bad.example -T "$T/m.eml"
grep_err 550
eq 3 "$(smtpd_count)" "messages"
eq 2 "$(smtpd_events rcpt_rejected)" "rcpt_rejected events"

# A temporary failure at the end of DATA: nothing kept.
smtpd_faults '{"data": {"*": "451 4.3.0 try again later"}}'
expect 1 client "$T/m.eml"
grep_out '^error SMTPDataError 451'
eq 3 "$(smtpd_count)" "messages after 451"
eq 1 "$(smtpd_events data_rejected)" "data_rejected events"

# Faults change between messages of one connection, and between
# connections: the second message meets the 451 set after the first.
smtpd_faults '{}'
expect 1 client --count 2 --then '{"data": {"*": "451 4.3.0 later"}}' "$T/m.eml"
outs 1 '^ok$'
outs 1 '^error SMTPDataError 451'
eq 4 "$(smtpd_count)" "messages"
rm -f "$SMTP_DIR/faults.json"
expect 0 client "$T/m.eml"
eq 5 "$(smtpd_count)" "messages once faults.json is gone"

# The greeting, and a connection closed before any greeting.
smtpd_faults '{"greeting": "421 4.3.2 try later"}'
expect 1 client "$T/m.eml"
grep_out '^error SMTPConnectError 421'
expect 1 client "$T/m.eml"
grep_out '^error SMTPConnectError 421'
smtpd_faults '{"refuse": true}'
expect 1 client "$T/m.eml"
grep_out '^error SMTPServerDisconnected'
expect 56 curl -sS "smtp://127.0.0.1:$SMTP_PORT" --mail-from a@example.com \
    --mail-rcpt b@example.org -T "$T/m.eml"
eq 2 "$(smtpd_events greeting)" "greeting events"
eq 2 "$(smtpd_events refused)" "refused events"
eq 5 "$(smtpd_count)" "messages"

# Dropped after DATA: the message arrived but the client never heard.
smtpd_faults '{"drop_after_data": ["drop*@example.org"]}'
expect 1 client --to drop1@example.org "$T/m.eml"
grep_out '^error SMTPServerDisconnected'
eq 6 "$(smtpd_count)" "messages after a drop"
eq '["drop1@example.org"]' "$(smtpd_field 6 rcpt_tos)" "dropped message kept"
expect 0 client --to keep@example.org "$T/m.eml"
eq 7 "$(smtpd_count)" "messages"
eq 1 "$(smtpd_events dropped)" "dropped events"

# A stall: a patient client gets its 250 late; an impatient one hangs up
# and the message is not kept.
smtpd_faults '{"stall_data": 1.2}'
expect 0 client "$T/m.eml"
at_least 1.2
eq 8 "$(smtpd_count)" "messages after a stall"
expect 1 client --timeout 0.4 "$T/m.eml"
grep_out '^error (TimeoutError|SMTPServerDisconnected)'
sleep 1.2
eq 8 "$(smtpd_count)" "messages after an abandoned stall"
eq 2 "$(smtpd_events stalled)" "stalled events"
eq 1 "$(smtpd_events stall_abandoned)" "stall_abandoned events"

# A slow DATA phase, and a delay on every reply (greeting, EHLO, MAIL,
# RCPT, DATA, end of data, QUIT: seven).
smtpd_faults '{"slow_data": 1}'
expect 0 client "$T/m.eml"
at_least 1
eq 1 "$(smtpd_events slow_data)" "slow_data events"
cut() { grep -c '"in_transaction": true' "$SMTP_DIR/events.jsonl"; }
before=$(cut)
expect 1 client --timeout 0.3 "$T/m.eml"
grep_out '^error (TimeoutError|SMTPServerDisconnected)'
for _ in $(seq 40); do [ "$(cut)" -gt "$before" ] && break; sleep 0.05; done
eq $((before + 1)) "$(cut)" "closes in a transaction"
smtpd_faults '{"reply_delay": 0.1}'
expect 0 client "$T/m.eml"
at_least 0.7
eq 10 "$(smtpd_count)" "messages (not the one cut off in DATA)"

# AUTH required: none, wrong, PLAIN, LOGIN, and curl both ways.
smtpd_faults '{"auth": {"user": "anna", "password": "s3cret"}}'
expect 1 client "$T/m.eml"
grep_out '^error SMTPSenderRefused 530'
expect 1 client --user anna --password wrong "$T/m.eml"
grep_out '^error SMTPAuthenticationError 535'
expect 1 client --mech LOGIN --user ann --password s3cret "$T/m.eml"
grep_out '^error SMTPAuthenticationError 535'
expect 0 client --user anna --password s3cret "$T/m.eml"
expect 0 client --mech LOGIN --user anna --password s3cret "$T/m.eml"
expect 0 curl -sS "smtp://127.0.0.1:$SMTP_PORT" --user anna:s3cret \
    --mail-from a@example.com --mail-rcpt b@example.org -T "$T/m.eml"
expect 67 curl -sS "smtp://127.0.0.1:$SMTP_PORT" --user anna:nope \
    --mail-from a@example.com --mail-rcpt b@example.org -T "$T/m.eml"
eq 13 "$(smtpd_count)" "messages after AUTH"
eq 3 "$(smtpd_events auth_ok)" "auth_ok events"
eq 3 "$(smtpd_events auth_fail)" "auth_fail events"

# Bad clients: garbage, an endless line, a body cut off mid-DATA. None is
# kept and the server goes on serving.
smtpd_faults '{}'
exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT"
printf 'EHLO x\r\n\x00\xff\xfe junk\r\nRCPT TO:<a@b>\r\n%05000d\r\n' 0 >&3
printf 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: cut\r\n' >&3
sleep 0.2
exec 3>&- 3<&-
exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT"
exec 3>&- 3<&-
expect 0 client "$T/m.eml"
eq 14 "$(smtpd_count)" "messages after bad clients"

# Sixteen clients at once, ten messages each: all counted, no duplicates;
# then one real duplicate, which smtpd_dupes must report.
smtpd_faults '{"reply_delay": 0.01}'
pids=""
for k in $(seq 16); do
	client --count 10 --to "user$k@example.org" "$T/m.eml" >"$T/par$k" 2>&1 &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || fail "a parallel client failed"; done
eq 160 "$(cat "$T"/par* | grep -c '^ok$')" "parallel oks"
eq 174 "$(smtpd_count)" "messages after the parallel clients"
eq 160 "$(smtpd_rcpts | grep -c '^user[0-9]*@example.org$')" "parallel recipients"
smtpd_no_dupes
most=$(/usr/bin/python3 -c '
import json, sys
open_, most = 0, 0
for l in open(sys.argv[1]):
	e = json.loads(l)["event"]
	open_ += (e == "connect") - (e == "close")
	most = max(most, open_)
print(most)' "$SMTP_DIR/events.jsonl")
[ "$most" -ge 4 ] || fail "at most $most connections were open at once"
ok
smtpd_faults '{}'
expect 0 client --count 2 --to user3@example.org "$T/same.eml"
eq "$(printf '2\tuser3@example.org\tsame')" "$(smtpd_dupes)" "smtpd_dupes"

# SIGTERM with a client connected: a clean exit. A restart on the same
# directory numbers on.
exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT"
smtpd_stop || fail "smtpd exited $? on SIGTERM"
ok
exec 3>&- 3<&-
smtpd_start
expect 0 client "$T/m.eml"
eq 177 "$(smtpd_count)" "messages after restart"
[ -f "$SMTP_DIR/msg-000177.eml" ] || fail "numbering restarted"
ok
smtpd_stop

# STARTTLS required, with the test CA: refused before it, accepted after,
# verified by the client; curl too. A certificate outside the CA fails.
SMTP_DIR=$T/starttls
smtpd_start --tls-cert "$CA/server.pem" --tls-key "$CA/server.key" --require-starttls
expect 1 client "$T/m.eml"
grep_out '^error SMTPSenderRefused 530'
expect 0 client --starttls --ca "$CA/ca.pem" "$T/m.eml"
smtpd_faults '{"auth": {"user": "anna", "password": "s3cret"}}'
expect 0 client --starttls --ca "$CA/ca.pem" --user anna --password s3cret "$T/m.eml"
expect 0 curl -sS "smtp://127.0.0.1:$SMTP_PORT" --ssl-reqd --cacert "$CA/ca.pem" \
    --user anna:s3cret --mail-from a@example.com --mail-rcpt b@example.org \
    -T "$T/m.eml"
eq 3 "$(smtpd_count)" "messages over STARTTLS"
eq 3 "$(smtpd_events starttls)" "starttls events"
[ "$(smtpd_events starttls_required)" -ge 1 ] || fail "no starttls_required event"
ok
smtpd_stop
SMTP_DIR=$T/selfsigned
smtpd_start --tls-cert "$CA/self.pem" --tls-key "$CA/self.key"
expect 1 client --starttls --ca "$CA/ca.pem" "$T/m.eml"
grep_out '^error SSLCertVerificationError'
eq 1 "$(smtpd_events tls_failed)" "tls_failed events"
expect 0 client --starttls --ca "$CA/self.pem" "$T/m.eml"
smtpd_stop

# Implicit TLS (SMTPS).
SMTP_DIR=$T/smtps
smtpd_start --tls-cert "$CA/server.pem" --tls-key "$CA/server.key" --implicit-tls
expect 0 client --ssl --ca "$CA/ca.pem" "$T/m.eml"
expect 0 curl -sS "smtps://127.0.0.1:$SMTP_PORT" --cacert "$CA/ca.pem" \
    --mail-from a@example.com --mail-rcpt b@example.org -T "$T/m.eml"
# A plain client waits for a greeting that never comes in clear text.
expect 1 client --timeout 1 "$T/m.eml"
grep_out "^error (TimeoutError|SMTPServerDisconnected)"
eq 2 "$(smtpd_count)" "messages over SMTPS"
smtpd_stop || fail "smtpd exited $? on SIGTERM"
ok

# Nothing went wrong inside the servers.
for log in "$T"/*/smtpd.log; do
	grep -v '^smtpd: listening' "$log" | grep -q . &&
	    fail "$log: $(grep -v '^smtpd: listening' "$log" | head -5)"
	ok
done

done_checks
