# OAuth2 mailboxes, end to end, counted at the servers: mailq-auth gets
# the first grant by the device grant and by a browser with PKCE (this
# test plays the user and the browser); mailq-tick sends with the access
# token (OAUTHBEARER, and XOAUTH2 where it is all the server offers);
# eight overlapping runs at expiry make exactly one refresh and rotation
# is honoured; a revoked grant fails the mailbox with "run mailq-auth", a
# token server that is down keeps it out of one run only; a run killed
# during a refresh leaves the token file whole; mailq-fetch reads IMAP
# with the token; no secret shows anywhere.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/smtp.sh"
. "$(dirname "$0")/../lib/oauth.sh"
export MAILQ_CONFIG="$T/mailq.conf"
T0=1795510800                  # Tue 2026-11-24 09:00:00 UTC
USER_A=anna@example.com
oauthd_start
smtpd_start
smtpd_faults '{"oauth": {"dir": "'"$OAUTH_DIR"'", "user": "'"$USER_A"'"}, "oauth_only": true}'
printf 's3cret\n' > client.secret
chmod 600 client.secret

cat > mailq.conf <<CONF
database = "mailq.db";
senders = ( { name = "anna"; } );
mailboxes = ( { name = "m1"; address = "$USER_A"; sender = "anna";
    daily_limit = 1000; smtp = "smtp://127.0.0.1:$SMTP_PORT"; tls = "none";
    username = "$USER_A"; auth = "oauth2";
    oauth2 = { provider = "custom"; client_id = "mailq-test";
      client_secret_file = "client.secret"; ca_file = "$OAUTH_CA";
      token_url = "$OAUTH_URL/token"; device_url = "$OAUTH_URL/devicecode";
      authorize_url = "$OAUTH_URL/authorize"; scope = "mail offline"; }; } );
campaigns = (
$(for c in 1 2 3 4 5 6 7 8; do
	[ $c -gt 1 ] && echo ","
	echo "{ name = \"c$c\"; sender = \"anna\"; mailboxes = [ \"m1\" ];
    schedule = { days = \"MON-SUN\"; start = \"00:00\"; end = \"24:00\"; };
    delay = 0; jitter = 0; daily_limit = 100000;
    steps = ( { variants = ( { subject = \"Hello {{first_name}}\"; text = \"Body\"; } ); } ); }"
done) );
CONF
chmod 600 mailq.conf
expect 0 mailq-init -q
q() { sql mailq.db "$1"; }
# stage CAMPAIGN N FROM: N new leads, numbered from FROM, into a
# campaign of their own, started (each step of the test sends its own)
stage() {
	{ echo "email,first_name"
	  for i in $(seq "$3" $(($3 + $2 - 1))); do echo "l$i@example.net,L$i"; done; } > leads.csv
	expect 0 mailq-import -q "$1" leads.csv
	MAILQ_NOW=$T0 expect 0 mailq-campaign -q start "$1"
}
# refresh_of: the refresh token the token file holds for m1
refresh_of() { awk '$1 == "m1" { print $4 }' mailq.tokens; }
expire_file() { sed -i 's/^\(m1 [^ ]*\) [0-9]* /\1 0 /' mailq.tokens; }
mode() { stat -c %a "$1"; }
refreshes() { oauthd_count path=/token grant_type=refresh_token "$@"; }

# --- 1. no grant yet: the mailbox fails with what to do
stage c1 3 1
MAILQ_NOW=$T0 expect 0 mailq-tick --horizon 0
grep_err "mailbox m1: .*run mailq-auth m1"
eq 0 "$(smtpd_count)" "messages before any grant"
eq 3 "$(q "SELECT count(*) FROM queue WHERE status = 'pending' AND attempts = 0")" "messages waiting, not counted"

# --- 2. the device grant: the user enters the code while mailq-auth polls
mailq-auth --device m1 > auth.out 2> auth.err & ap=$!
for _ in $(seq 100); do grep -q "enter the code" auth.out && break; sleep 0.1; done
code=$(sed -n 's/.*enter the code \([A-Z0-9-]*\).*/\1/p' auth.out)
[ -n "$code" ] || fail "no code printed: $(cat auth.out auth.err)"
tr '\0' ' ' < /proc/$ap/cmdline | grep -q s3cret && fail "a secret in mailq-auth's arguments"
curl -sf --cacert "$OAUTH_CA" "$OAUTH_URL/device?user_code=$code&action=approve&user=$USER_A" >/dev/null ||
    fail "approving the code"
wait $ap || fail "mailq-auth --device: $(cat auth.out auth.err)"
ok
grep -q "signed in; tokens stored" auth.out || fail "mailq-auth said: $(cat auth.out)"
eq 600 "$(mode mailq.tokens)" "the token file's mode"
RT1=$(refresh_of)
eq active "$(oauthd_refresh_state "$RT1")" "the stored refresh token"

# --- 3. sent with the token; the mailbox, resting after step 1, is tried
# at once (mailq-auth told the database)
MAILQ_NOW=$((T0 + 60)) expect 0 mailq-tick --horizon 0
eq 3 "$(smtpd_count)" "messages sent with the token"
eq 3 "$(smtpd_events auth_ok)" "OAuth logins at the server"
grep -q '"mechanism": *"OAUTHBEARER"' "$SMTP_DIR/events.jsonl" || fail "no OAUTHBEARER login"
ok
eq 0 "$(refreshes)" "refreshes while the token is fresh"

# --- 4. a server that offers only XOAUTH2
smtpd_faults '{"oauth": {"dir": "'"$OAUTH_DIR"'", "user": "'"$USER_A"'", "mechanisms": ["XOAUTH2"]}, "oauth_only": true}'
stage c2 1 10
MAILQ_NOW=$((T0 + 120)) expect 0 mailq-tick --horizon 0
eq 4 "$(smtpd_count)" "sent over XOAUTH2"
grep -q '"mechanism": *"XOAUTH2"' "$SMTP_DIR/events.jsonl" || fail "no XOAUTH2 login"
ok
smtpd_faults '{"oauth": {"dir": "'"$OAUTH_DIR"'", "user": "'"$USER_A"'"}, "oauth_only": true}'

# --- 5. expiry: eight overlapping runs, exactly one refresh, rotation kept
stage c3 40 20
expire_file
for i in 1 2 3 4 5 6 7 8; do
	MAILQ_NOW=$((T0 + 180)) mailq-tick --horizon 0 > "run$i.out" 2>&1 &
	eval "p$i=\$!"
done
for i in 1 2 3 4 5 6 7 8; do eval "wait \$p$i" || fail "run $i: $(cat run$i.out)"; done
ok
eq 1 "$(refreshes)" "refresh requests of 8 overlapping runs"
eq 1 "$(refreshes refresh_token_used="$RT1")" "the first refresh token's uses"
eq used "$(oauthd_refresh_state "$RT1")" "the first refresh token, rotated away"
RT2=$(refresh_of)
[ "$RT2" != "$RT1" ] || fail "the rotated refresh token was not stored"
eq active "$(oauthd_refresh_state "$RT2")" "the new refresh token"
eq 44 "$(smtpd_count)" "messages after the overlapping runs"
smtpd_no_dupes
eq 600 "$(mode mailq.tokens)" "the token file's mode after a refresh"

# --- 6. a run killed while it refreshes: the file is whole, nothing lost
oauthd_faults '{"delay": 3}'
expire_file
cp mailq.tokens tokens.before
stage c4 2 100
MAILQ_NOW=$((T0 + 240)) mailq-tick --horizon 0 > kill.out 2>&1 & kp=$!
sleep 1
kill -9 $kp; wait $kp 2>/dev/null
cmp -s mailq.tokens tokens.before || fail "the token file changed under a killed run"
ok
eq 600 "$(mode mailq.tokens)" "the token file's mode after the kill"
oauthd_faults ''
MAILQ_NOW=$((T0 + 240)) expect 0 mailq-reclaim -q --older-than 0
MAILQ_NOW=$((T0 + 300)) expect 0 mailq-tick --horizon 0
eq 46 "$(smtpd_count)" "messages after the killed run"
eq active "$(oauthd_refresh_state "$(refresh_of)")" "the refresh token after the kill"

# --- 7. the token server down: this run only, nothing counted or failing
oauthd_faults '{"down": 503}'
expire_file
stage c5 2 200
MAILQ_NOW=$((T0 + 360)) expect 0 mailq-tick --horizon 0
eq 46 "$(smtpd_count)" "nothing sent while the token server is down"
eq "" "$(q "SELECT failing_since FROM mailbox WHERE name = 'm1'")" "the mailbox, not failing"
eq 2 "$(q "SELECT count(*) FROM queue WHERE status = 'pending' AND attempts = 0")" "the messages, waiting, not counted"
oauthd_faults ''
MAILQ_NOW=$((T0 + 420)) expect 0 mailq-tick --horizon 0
eq 48 "$(smtpd_count)" "sent once the token server is back"

# --- 8. the grant revoked: failing, "run mailq-auth", resting
/usr/bin/python3 "$OAUTHD_PY" --dir "$OAUTH_DIR" --revoke-all >/dev/null
expire_file
stage c6 1 300
MAILQ_NOW=$((T0 + 480)) expect 0 mailq-tick --horizon 0
grep_err "mailbox m1: .*invalid_grant.*run mailq-auth m1"
[ -n "$(q "SELECT failing_since FROM mailbox WHERE name = 'm1'")" ] || fail "m1 not failing"
ok
eq 48 "$(smtpd_count)" "nothing sent on a revoked grant"

# --- 9. the browser way (PKCE): the test is the browser
mailq-auth --browser m1 > auth2.out 2>&1 & ap=$!
for _ in $(seq 100); do grep -q "^    https://" auth2.out && break; sleep 0.1; done
url=$(sed -n 's/^    \(https:.*\)$/\1/p' auth2.out)
[ -n "$url" ] || fail "no URL printed: $(cat auth2.out)"
loc=$(curl -s --cacert "$OAUTH_CA" -o /dev/null -w '%{redirect_url}' "$url&user=$USER_A")
case $loc in http://127.0.0.1:*code=*) ;; *) fail "the provider's redirect: '$loc'" ;; esac
curl -sf "$loc" >/dev/null || fail "the loopback listener did not answer"
wait $ap || fail "mailq-auth --browser: $(cat auth2.out)"
ok
MAILQ_NOW=$((T0 + 540)) expect 0 mailq-tick --horizon 0
eq 49 "$(smtpd_count)" "sent at once after a new sign-in"
# a redirect with another state is refused, nothing stored
cp mailq.tokens tokens.before
mailq-auth --browser --timeout 20 m1 > auth3.out 2>&1 & ap=$!
for _ in $(seq 100); do grep -q "^    https://" auth3.out && break; sleep 0.1; done
port=$(sed -n 's/.*back to http:\/\/127.0.0.1:\([0-9]*\)\/.*/\1/p' auth3.out)
curl -s "http://127.0.0.1:$port/?code=forged&state=forged" >/dev/null
wait $ap; eq 77 $? "mailq-auth on a forged redirect"
cmp -s mailq.tokens tokens.before || fail "a forged redirect changed the token file"
ok

# --- 10. mailq-fetch reads IMAP with the token (Dovecot asks the token
# server about it, RFC 7662)
I=$T/imap
mkdir -p "$I"
chmod 711 "$T"
sh "$MQ_TOP/tests/imapd.sh" start "$I" --oauth "$OAUTH_URL/introspect" "$OAUTH_CA" >/dev/null ||
    fail "cannot start the IMAP server"
trap 'sh "$MQ_TOP/tests/imapd.sh" stop "$I"; _smtpd_kill_all; rm -rf "$T"' EXIT
sed -i "s#username = \"$USER_A\"; auth#username = \"$USER_A\"; inbox = \"imaps://127.0.0.1:$(cat "$I/imaps.port")\"; auth#" mailq.conf
sed -i "s#tls = \"none\";#tls = \"none\"; ca_file = \"$I/ca.pem\";#" mailq.conf
sent=$(grep -l "^To: l300@example.net" "$SMTP_DIR"/msg-*.eml | head -1)
[ -n "$sent" ] || sent=$(ls "$SMTP_DIR"/msg-*.eml | tail -1)
/usr/bin/python3 "$MQ_TOP/tests/mkinbound.py" reply "$sent" "$T/in.eml" || fail "mkinbound"
sh "$MQ_TOP/tests/imapd.sh" deliver "$I" "$T/in.eml" >/dev/null
MAILQ_NOW=$((T0 + 570)) expect 0 mailq-fetch
eq 1 "$(q "SELECT count(*) FROM inbound WHERE class = 'reply'")" "a reply read over IMAP with the token"
[ "$(grep -c 'introspect' "$OAUTH_DIR/requests.jsonl")" -ge 1 ] || fail "Dovecot never asked about the token"
ok

# --- 11. no secret anywhere: the database, every program's output
secrets=$(/usr/bin/python3 - "$OAUTH_DIR/state.json" "$OAUTH_DIR/tokens.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for t in list(s.get("refresh", {})) + list(json.load(open(sys.argv[2]))):
	print(t)
print("s3cret")
PY
)
MAILQ_NOW=$((T0 + 600)) mailq-tick -vv --horizon 0 > all.out 2>&1
mailq-stats --json >> all.out 2>&1
mailq-stats --prometheus >> all.out 2>&1
mailq-campaign show c1 >> all.out 2>&1
sqlite3 mailq.db .dump >> all.out
MAILQ_NOW=$((T0 + 600)) mailq-fetch -v >> all.out 2>&1
cat auth.out auth.err auth2.out auth3.out run*.out kill.out "$T/err" >> all.out
for s in $secrets; do
	grep -qF -- "$s" all.out && fail "a secret shows: ${s%"${s#????}"}..."
done
grep -E 'AUTH [A-Z0-9-]+ [A-Za-z0-9+/=]{16,}' all.out && fail "a SASL response shows"
ok

done_checks
