# The OAuth test servers themselves, driven by real clients (curl,
# python's smtplib and imaplib): tests/oauthd.py's grants (refresh with
# rotation, eight refreshes at once, the device grant, the code grant with
# PKCE and a loopback redirect), expiry, revocation, faults and counting;
# tests/smtpd.py's XOAUTH2 and OAUTHBEARER; Dovecot's oauth2 passdb
# asking oauthd.py. The tests of the OAuth mailboxes trust what these
# servers count, so they are checked here first.
. "$MQ_TOP/tests/lib/e2e.sh"
. "$MQ_TOP/tests/lib/smtp.sh"
. "$MQ_TOP/tests/lib/oauth.sh"
IMAPD="sh $MQ_TOP/tests/imapd.sh"
I=$T/imap
DEVICE=urn:ietf:params:oauth:grant-type:device_code

# http PATH [CURL ARGS...]: a request to oauthd; $CODE is the HTTP status,
# $T/body the answer, $T/headers its headers.
http() {
	local p=$1
	shift
	CODE=$(curl -sS --cacert "$OAUTH_CA" -D "$T/headers" -o "$T/body" \
	    -w '%{http_code}' "$OAUTH_URL$p" "$@") || fail "curl $p failed: $CODE"
}
# field NAME: NAME in the JSON answer ("" when absent); oauthd answers
# one flat object on one line, no quote inside a value.
field() {
	sed -n "s/.*\"$1\": \\(\"\\([^\"]*\\)\"\\|\\([^,}]*\\)\\).*/\\2\\3/p" "$T/body"
}
# answer STATUS [ERROR]: the last answer's status (and OAuth error).
answer() {
	eq "$1" "$CODE" "HTTP status of $(head -c 300 "$T/body")"
	[ -z "${2:-}" ] || eq "$2" "$(field error)" "error"
}
refresh() {
	http /token -u mailq-test:s3cret -d grant_type=refresh_token \
	    --data-urlencode "refresh_token=$1"
}
poll() {
	http /token -d grant_type=$DEVICE -d client_id=mailq-public \
	    --data-urlencode "device_code=$1"
}
introspect() { http /introspect --data-urlencode "token=$1"; }

# sasl.py smtp|imap PORT MECH USER TOKEN [ir]: logs in by MECH (XOAUTH2,
# OAUTHBEARER) and, for SMTP, sends a message; prints "ok", or "error
# CODE STATUS" where STATUS is the JSON error the server sent in its
# challenge. With "ir", SMTP's initial response rides on the AUTH line.
cat >"$T/sasl.py" <<'PY'
import base64, imaplib, json, smtplib, ssl, sys
proto, port, mech, user, token = sys.argv[1:6]
ir = sys.argv[6:] == ["ir"]
if mech == "XOAUTH2":
	msg = "user=%s\x01auth=Bearer %s\x01\x01" % (user, token)
else:
	msg = "n,a=%s,\x01host=127.0.0.1\x01port=%s\x01auth=Bearer %s\x01\x01" \
	    % (user, port, token)
seen = []
def answer(challenge=None):
	if challenge is None or (challenge == b"" and not seen):
		seen.append("sent")
		return msg
	seen.append(json.loads(challenge)["status"])   # the failure's JSON
	return "" if mech == "XOAUTH2" else "\x01"
try:
	if proto == "smtp":
		s = smtplib.SMTP("127.0.0.1", int(port), timeout=10)
		s.ehlo("client.test")
		s.auth(mech, answer, initial_response_ok=ir)
		s.sendmail("anna@example.com", ["bob@example.org"],
		    b"Subject: oauth\r\n\r\nhi\r\n")
		s.quit()
	else:
		ctx = ssl.create_default_context(cafile=sys.argv[7] if ir
		    else sys.argv[6])
		m = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx,
		    timeout=10)
		m.authenticate(mech, lambda c: answer(c).encode())
		m.select("INBOX", readonly=True)
		m.logout()
	print("ok")
except (smtplib.SMTPException, imaplib.IMAP4.error) as e:
	print("error", getattr(e, "smtp_code", "NO"), seen[-1] if seen else "")
PY
sasl() { /usr/bin/python3 "$T/sasl.py" "$@"; }
# smtp_curl TOKEN MECH: curl sends a message with the token.
smtp_curl() {
	curl -sS "smtp://127.0.0.1:$SMTP_PORT" --mail-from anna@example.com \
	    --mail-rcpt bob@example.org -T "$T/m.eml" -u anna@example.com: \
	    --oauth2-bearer "$1" --login-options "AUTH=$2"
}
printf '%s\r\n' "Subject: oauth" "" "hello" >"$T/m.eml"

make_test_ca "$T/ca"
oauthd_start "$T/ca"
SMTP_DIR=$T/smtpd
smtpd_start
if [ -x /usr/sbin/dovecot ]; then
	mkdir -p "$I"
	chmod 711 "$T"          # Dovecot's own users reach their files in it
	$IMAPD start "$I" --oauth "$OAUTH_URL/introspect" "$OAUTH_CA" \
	    >/dev/null 2>"$T/imapd.err" &   # meanwhile, the rest
	IMAPD_START=$!
	IMAPD_STOP=""
	trap '[ -z "$IMAPD_STOP" ] || wait "$IMAPD_STOP"; $IMAPD stop "$I"
	    _smtpd_kill_all; rm -rf "$T"' EXIT
fi

# TLS: only with the CA; plain HTTP gets nothing.
expect 60 curl -sS "$OAUTH_URL/token"
expect 0 curl -sS --cacert "$OAUTH_CA" "https://localhost:$OAUTH_PORT/nowhere"
curl -sS "http://127.0.0.1:$OAUTH_PORT/token" >/dev/null 2>&1 &&
    fail "plain HTTP answered"
ok

# Refresh with rotation: the seeded token works once, its successor once;
# the answer has everything, not cached; tokens.json lists the access
# token for its user; requests.jsonl counts each.
RT=$(oauthd_issue mailq-test anna@example.com mail)
case $RT in */*) ;; *) fail "a refresh token without a /: $RT" ;; esac
ok
eq active "$(oauthd_refresh_state "$RT")" "a seeded token's state"
refresh "$RT"
answer 200
AT=$(field access_token) RT2=$(field refresh_token)
eq Bearer "$(field token_type)" "token_type"
eq 3600 "$(field expires_in)" "expires_in"
eq mail "$(field scope)" "scope"
{ [ -n "$AT" ] && [ -n "$RT2" ] && [ "$RT2" != "$RT" ]; } || fail "tokens: $(cat "$T/body")"
ok
grep -qi '^cache-control: no-store' "$T/headers" || fail "cacheable: $(cat "$T/headers")"
ok
oauthd_valid "$AT" || fail "tokens.json lacks the access token"
ok
eq used "$(oauthd_refresh_state "$RT")" "a used token's state"
refresh "$RT"
answer 400 invalid_grant
eq "refresh token already used" "$(field error_description)" "description"
refresh "$RT2"
answer 200
RT3=$(oauthd_issue mailq-test anna@example.com mail)
http /token -d client_id=mailq-test -d client_secret=s3cret \
    -d grant_type=refresh_token --data-urlencode "refresh_token=$RT3"
answer 200                         # client_secret in the form
refresh nonsense
answer 400 invalid_grant
eq "unknown refresh token" "$(field error_description)" "description"
eq 2 "$(oauthd_count path=/token refresh_token_used="$RT")" "uses of the first token"
eq 1 "$(oauthd_count refresh_token_used="$RT" status=200)" "good uses of it"
eq "$RT2" "$(/usr/bin/python3 -c 'import json, sys
for l in open(sys.argv[1]):
	r = json.loads(l)
	if r["refresh_token_used"] == sys.argv[2] and r["status"] == 200:
		print(r["refresh_token_issued"])' "$OAUTH_DIR/requests.jsonl" "$RT")" \
    "the token issued for the first"

# Clients: a wrong secret, an unknown client, a public client with a
# secret (each 401 invalid_client, a challenge for Basic); a token of
# another client; an unknown grant; a body that is not a form.
RT=$(oauthd_issue mailq-test anna@example.com mail)
http /token -u mailq-test:wrong -d grant_type=refresh_token --data-urlencode "refresh_token=$RT"
answer 401 invalid_client
grep -qi '^www-authenticate: basic' "$T/headers" || fail "no WWW-Authenticate"
ok
http /token -u nobody:x -d grant_type=refresh_token --data-urlencode "refresh_token=$RT"
answer 401 invalid_client
http /token -d client_id=mailq-public -d client_secret=x -d grant_type=refresh_token \
    --data-urlencode "refresh_token=$RT"
answer 401 invalid_client
http /token -d client_id=mailq-public -d grant_type=refresh_token \
    --data-urlencode "refresh_token=$RT"
answer 400 invalid_grant
http /token -u mailq-test:s3cret -d grant_type=password -d username=a -d password=b
answer 400 unsupported_grant_type
http /token -u mailq-test:s3cret -H 'Content-Type: application/json' \
    --data '{"grant_type": "refresh_token"}'
answer 400 invalid_request
http /token
answer 405 invalid_request
eq active "$(oauthd_refresh_state "$RT")" "a token refused to others"
oauthd_clients '{"c1": {"secret": "x", "scopes": ["mail", "imap"], "user": "carl@example.com"}}'
RT=$(oauthd_issue c1 carl@example.com "mail imap")
http /token -u c1:x -d grant_type=refresh_token --data-urlencode "refresh_token=$RT" -d scope=smtp
answer 400 invalid_scope
http /token -u c1:x -d grant_type=refresh_token --data-urlencode "refresh_token=$RT" -d scope=mail
answer 200
eq mail "$(field scope)" "narrowed scope"
http /token -u mailq-test:s3cret -d grant_type=refresh_token --data-urlencode "refresh_token=$RT"
answer 401 invalid_client          # gone from clients.json
oauthd_clients ''

# Eight refreshes of one token at once: exactly one gets tokens, the
# others invalid_grant, and the server counts eight.
RT=$(oauthd_issue mailq-test anna@example.com mail)
pids=""
for k in $(seq 8); do
	curl -sS --cacert "$OAUTH_CA" -o /dev/null -w '%{http_code}\n' \
	    "$OAUTH_URL/token" -u mailq-test:s3cret -d grant_type=refresh_token \
	    --data-urlencode "refresh_token=$RT" >"$T/par$k" &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || fail "a parallel refresh failed"; done
eq 1 "$(cat "$T"/par* | grep -c '^200$')" "refreshes that got tokens"
eq 7 "$(cat "$T"/par* | grep -c '^400$')" "refreshes refused"
eq 8 "$(oauthd_count refresh_token_used="$RT")" "refresh requests counted"
eq 1 "$(oauthd_count refresh_token_used="$RT" status=200)" "refresh requests granted"
eq 7 "$(oauthd_count refresh_token_used="$RT" error=invalid_grant)" "refresh requests refused"

# A provider that keeps its refresh tokens: no refresh_token in the
# answer (Google), or the same one again.
RT=$(oauthd_issue mailq-test anna@example.com mail)
oauthd_faults '{"rotate": false}'
refresh "$RT"
answer 200
eq "" "$(field refresh_token)" "refresh_token when not rotating"
refresh "$RT"
answer 200
oauthd_faults '{"rotate": "same"}'
refresh "$RT"
answer 200
eq "$RT" "$(field refresh_token)" "the same refresh token"
oauthd_faults ''
refresh "$RT"
answer 200
refresh "$RT"
answer 400 invalid_grant
# reuse_revokes: a used token presented again takes its successor along.
RT=$(oauthd_issue mailq-test anna@example.com mail)
refresh "$RT"
RT2=$(field refresh_token) AT=$(field access_token)
oauthd_faults '{"reuse_revokes": true}'
refresh "$RT"
answer 400 invalid_grant
refresh "$RT2"
answer 400 invalid_grant
eq "refresh token revoked" "$(field error_description)" "description"
introspect "$AT"
eq false "$(field active)" "an access token of a revoked grant"

# Revocation by faults.json (once per write), by the command line and by
# RFC 7009's endpoint; every grant at once. A revoked grant's access
# tokens go too; grants made afterwards work.
RT=$(oauthd_issue mailq-test anna@example.com mail)
RTB=$(oauthd_issue mailq-test anna@example.com mail)
refresh "$RT"
RT=$(field refresh_token) AT=$(field access_token)
introspect "$AT"
eq true "$(field active)" "active before revocation"
oauthd_faults "{\"revoke\": [\"$RT\"]}"
refresh "$RT"
answer 400 invalid_grant
introspect "$AT"
eq false "$(field active)" "active after revocation"
oauthd_valid "$AT" && fail "tokens.json keeps a revoked access token"
ok
refresh "$RTB"
answer 200
RTB=$(field refresh_token)
/usr/bin/python3 "$OAUTHD_PY" --dir "$OAUTH_DIR" --revoke "$RTB" || fail "--revoke"
refresh "$RTB"
answer 400 invalid_grant
RT=$(oauthd_issue mailq-test anna@example.com mail)
http /revoke -u mailq-test:s3cret --data-urlencode "token=$RT"
answer 200
refresh "$RT"
answer 400 invalid_grant
RT=$(oauthd_issue mailq-test anna@example.com mail)
RTB=$(oauthd_issue mailq-test bob@example.com mail)
oauthd_faults '{"revoke_all": true}'
refresh "$RT"
answer 400 invalid_grant
eq revoked "$(oauthd_refresh_state "$RTB")" "state after revoke_all"
RT=$(oauthd_issue mailq-test anna@example.com mail)
refresh "$RT"
answer 200                         # revoke_all took what was there
oauthd_faults ''

# Down, slow, and down for the first request only.
RT=$(oauthd_issue mailq-test anna@example.com mail)
oauthd_faults '{"down": 503}'
refresh "$RT"
answer 503 temporarily_unavailable
http "/authorize?client_id=mailq-public"
answer 503
oauthd_faults '{"down": 500}'
refresh "$RT"
answer 500 server_error
eq active "$(oauthd_refresh_state "$RT")" "a token presented while down"
oauthd_faults '{"down": 503, "down_times": 1}'
refresh "$RT"
answer 503
refresh "$RT"
answer 200
RT=$(field refresh_token)
oauthd_faults '{"delay": 0.5}'
expect 28 curl -sS --cacert "$OAUTH_CA" -m 0.3 "$OAUTH_URL/token" \
    -u mailq-test:s3cret -d grant_type=refresh_token --data-urlencode "refresh_token=$RT"
sleep 0.4
eq active "$(oauthd_refresh_state "$RT")" "a token whose refresh timed out before"
eq 1 "$(oauthd_count error=abandoned status=499)" "abandoned requests"
oauthd_faults '{"delay_after": 0.5}'
expect 28 curl -sS --cacert "$OAUTH_CA" -m 0.3 "$OAUTH_URL/token" \
    -u mailq-test:s3cret -d grant_type=refresh_token --data-urlencode "refresh_token=$RT"
eq used "$(oauthd_refresh_state "$RT")" "a token whose answer was lost"
oauthd_faults ''
sleep 0.4

# The code grant with PKCE: the browser (curl -L) is sent back to the
# program's loopback listener with code and state; a wrong verifier, a
# wrong redirect_uri and another client fail; the good one gets tokens
# for the user who logged in; the code's second use fails and takes the
# grant with it.
V=$(/usr/bin/python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
C=$(printf %s "$V" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=')
/usr/bin/python3 - "$T/cb" <<'PY' &
import http.server, sys, os
class H(http.server.BaseHTTPRequestHandler):
	def do_GET(self):
		open(sys.argv[1], "w").write(self.path + "\n")
		self.send_response(200)
		self.send_header("Content-Length", "5")
		self.end_headers()
		self.wfile.write(b"done\n")
	def log_message(self, *a):
		pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".port.tmp", "w").write("%d\n" % s.server_address[1])
os.replace(sys.argv[1] + ".port.tmp", sys.argv[1] + ".port")
s.handle_request()
PY
CB_PID=$!
for _ in $(seq 100); do [ -s "$T/cb.port" ] && break; sleep 0.05; done
REDIR=http://127.0.0.1:$(cat "$T/cb.port")/callback
AUTHZ="/authorize?response_type=code&client_id=mailq-public&scope=mail&state=st8&code_challenge=$C&code_challenge_method=S256&login_hint=anna@example.com"
expect 0 curl -sS -L --cacert "$OAUTH_CA" "$OAUTH_URL$AUTHZ&redirect_uri=$REDIR"
eq "done" "$(cat "$T/out")" "the listener's page"
wait "$CB_PID"
CODE_=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' "$T/cb")
grep -q '^/callback?code=.*&state=st8' "$T/cb" || fail "callback: $(cat "$T/cb")"
ok
code_token() {
	http /token -d grant_type=authorization_code -d client_id="${3:-mailq-public}" \
	    --data-urlencode "code=$CODE_" --data-urlencode "redirect_uri=$1" \
	    --data-urlencode "code_verifier=$2"
}
code_token "$REDIR" "${V}x"
answer 400 invalid_grant
code_token "$REDIR" "$(/usr/bin/python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
answer 400 invalid_grant
code_token "http://127.0.0.1:1/other" "$V"
answer 400 invalid_grant
code_token "$REDIR" "$V" mailq-test
answer 401 invalid_client          # a confidential client, no secret
code_token "$REDIR" "$V"
answer 200
RT=$(field refresh_token) AT=$(field access_token)
introspect "$AT"
eq anna@example.com "$(field username)" "the user of a code grant"
code_token "$REDIR" "$V"
answer 400 invalid_grant
eq "code already used" "$(field error_description)" "description"
refresh_pub() {
	http /token -d client_id=mailq-public -d grant_type=refresh_token \
	    --data-urlencode "refresh_token=$1"
}
refresh_pub "$RT"
answer 400 invalid_grant           # the reused code revoked its grant
# Refusals come back to the redirect_uri with the state; a redirect_uri
# that is not loopback, or an unknown client, gets no redirect at all.
loc() { sed -n 's/^[Ll]ocation: *//p' "$T/headers" | tr -d '\r'; }
http "$AUTHZ&redirect_uri=$REDIR&deny=1"
answer 302
eq "$REDIR?error=access_denied&state=st8" "$(loc)" "denied"
http "/authorize?response_type=code&client_id=mailq-public&state=s&redirect_uri=$REDIR"
answer 302
eq "$REDIR?error=invalid_request&state=s" "$(loc)" "no PKCE"
http "/authorize?response_type=code&client_id=mailq-public&code_challenge=$C&code_challenge_method=plain&redirect_uri=$REDIR"
eq "$REDIR?error=invalid_request" "$(loc)" "plain PKCE"
http "/authorize?response_type=token&client_id=mailq-public&code_challenge=$C&code_challenge_method=S256&redirect_uri=$REDIR"
eq "$REDIR?error=unsupported_response_type" "$(loc)" "implicit grant"
http "$AUTHZ&redirect_uri=https://evil.example/cb"
answer 400
eq "" "$(loc)" "a redirect to elsewhere"
http "/authorize?response_type=code&client_id=nobody&redirect_uri=$REDIR"
answer 400
# Who logged in in the browser (user=) counts over login_hint.
http "$AUTHZ&redirect_uri=$REDIR&user=bob@example.com"
answer 302
CODE_=$(loc | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
code_token "$REDIR" "$V"
answer 200
eq bob@example.com "$(/usr/bin/python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))[sys.argv[2]]["user"])' \
    "$OAUTH_DIR/tokens.json" "$(field access_token)")" "the user who logged in"

# The device grant: pending, slow_down (the interval grows), approved by
# the user, tokens once; denied; another client's poll; unknown codes.
oauthd_faults '{"interval": 0.25, "slow_down_step": 0.25}'
http /devicecode -d client_id=mailq-public -d scope=mail
answer 200
DC=$(field device_code) UC=$(field user_code)
eq "$OAUTH_URL/device" "$(field verification_uri)" "verification_uri"
eq 300 "$(field expires_in)" "expires_in"
eq 0.25 "$(field interval)" "interval"
field message | grep -q "$UC" || fail "message: $(field message)"
ok
http /devicecode -d client_id=mailq-public -d scope=mail
DC2=$(field device_code) UC2=$(field user_code)
poll "$DC"
answer 400 authorization_pending
poll "$DC"
answer 400 slow_down               # the interval is 0.5 s now
http "/device?user_code=$UC&action=approve"
answer 200
http "/device?user_code=$UC2&action=deny"
answer 200
http "/device?user_code=$UC&action=deny"
answer 409                         # a code is answered once
http "/device?user_code=NONE-SUCH&action=approve"
answer 404
sleep 0.55
http /token -d grant_type=$DEVICE -d client_id=mailq-test -d client_secret=s3cret \
    --data-urlencode "device_code=$DC"
answer 400 invalid_grant           # another client's code
poll "$DC"
answer 200
RT=$(field refresh_token)
introspect "$(field access_token)"
eq anna@example.com "$(field username)" "the user of a device grant"
eq 1 "$(oauthd_count path=/token grant_type=$DEVICE status=200)" "device grants"
refresh_pub "$RT"
answer 200
poll "$DC"
answer 400 invalid_grant
poll "$DC2"
answer 400 access_denied
poll nonsense
answer 400 invalid_grant
eq 1 "$(oauthd_count path=/token grant_type=$DEVICE error=slow_down)" "slow_downs counted"

# Expiry, all at once: an access token (refused by introspection, SMTP
# and IMAP), a code, a device code; and the command line's
# --expire-access.
oauthd_faults '{"expires_in": 1, "code_expires_in": 1, "device_expires_in": 1}'
RT=$(oauthd_issue mailq-test anna@example.com mail)
refresh "$RT"
AT_OLD=$(field access_token)
eq 1 "$(field expires_in)" "a short expires_in"
http "$AUTHZ&redirect_uri=$REDIR"
CODE_=$(loc | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
http /devicecode -d client_id=mailq-public -d scope=mail
DC=$(field device_code)
eq 1 "$(field expires_in)" "a short device expires_in"
EXPIRES=$(($(date +%s) + 2))
oauthd_faults ''

# SMTP: XOAUTH2 and OAUTHBEARER, by curl, smtplib and with the initial
# response on the AUTH line; a wrong token, another user's token and a
# missing scope fail with the JSON challenge, then 535; PLAIN passes only
# as "auth" says; oauth_only and mechanisms narrow the offer. No token is
# ever written to the server's files.
RT=$(oauthd_issue mailq-test anna@example.com "mail https://mail.google.com/")
refresh "$RT"
AT=$(field access_token)
BOBS=$(oauthd_issue_access mailq-test bob@example.com mail)
smtpd_faults "{\"oauth\": {\"dir\": \"$OAUTH_DIR\", \"user\": \"anna@example.com\"}}"
expect 0 smtp_curl "$AT" OAUTHBEARER
expect 67 smtp_curl wrong OAUTHBEARER
expect 0 sasl smtp "$SMTP_PORT" XOAUTH2 anna@example.com "$AT"
grep_out '^ok$'
expect 0 sasl smtp "$SMTP_PORT" XOAUTH2 anna@example.com "$AT" ir
grep_out '^ok$'
expect 0 sasl smtp "$SMTP_PORT" OAUTHBEARER anna@example.com "$AT" ir
grep_out '^ok$'
expect 0 sasl smtp "$SMTP_PORT" XOAUTH2 anna@example.com wrong
grep_out '^error 535 401$'
expect 0 sasl smtp "$SMTP_PORT" OAUTHBEARER anna@example.com wrong ir
grep_out '^error 535 invalid_token$'
expect 0 sasl smtp "$SMTP_PORT" XOAUTH2 bob@example.com "$BOBS"
grep_out '^error 535 401$'
expect 0 sasl smtp "$SMTP_PORT" XOAUTH2 bob@example.com "$AT"
grep_out '^error 535 401$'           # anna's token, bob's name
expect 0 sasl smtp "$SMTP_PORT" XOAUTH2 anna@example.com \
    "$(head -c 3000 /dev/zero | tr '\0' x)" ir
grep_out '^error 535 401$'           # a long line is not too long
expect 67 curl -sS "smtp://127.0.0.1:$SMTP_PORT" --user anna@example.com:x \
    --mail-from a@example.com --mail-rcpt b@example.org -T "$T/m.eml"
expect 55 curl -sS "smtp://127.0.0.1:$SMTP_PORT" \
    --mail-from a@example.com --mail-rcpt b@example.org -T "$T/m.eml"
eq 4 "$(smtpd_count)" "messages sent with tokens"
eq 4 "$(smtpd_events auth_ok)" "auth_ok events"
eq 7 "$(smtpd_events auth_fail)" "auth_fail events"
eq 2 "$(grep -c '"reason": "user"' "$SMTP_DIR/events.jsonl")" "refused: another user's"
eq 4 "$(grep -c '"reason": "unknown"' "$SMTP_DIR/events.jsonl")" "refused: unknown"
smtpd_faults "{\"oauth\": {\"dir\": \"$OAUTH_DIR\", \"scope\": \"https://mail.google.com/\"}, \"auth\": {\"user\": \"anna\", \"password\": \"pw\"}}"
expect 0 sasl smtp "$SMTP_PORT" XOAUTH2 anna@example.com "$AT"
grep_out '^ok$'
expect 0 sasl smtp "$SMTP_PORT" XOAUTH2 bob@example.com "$BOBS"
grep_out '^error 535 401$'           # bob's token lacks the scope
eq 1 "$(grep -c '"reason": "scope"' "$SMTP_DIR/events.jsonl")" "refused: scope"
expect 0 curl -sS "smtp://127.0.0.1:$SMTP_PORT" --user anna:pw \
    --mail-from a@example.com --mail-rcpt b@example.org -T "$T/m.eml"
smtpd_faults "{\"oauth\": {\"dir\": \"$OAUTH_DIR\", \"mechanisms\": [\"XOAUTH2\"]}, \"oauth_only\": true, \"auth\": {\"user\": \"anna\", \"password\": \"pw\"}}"
expect 0 curl -sv "smtp://127.0.0.1:$SMTP_PORT" --mail-from a@example.com \
    --mail-rcpt b@example.org -T "$T/m.eml" --oauth2-bearer "$AT" \
    --login-options AUTH=XOAUTH2 -u anna@example.com:
grep_err '^< 250-AUTH XOAUTH2'
grep_err '^> AUTH XOAUTH2'
expect 67 smtp_curl wrong XOAUTH2
expect 67 curl -sS "smtp://127.0.0.1:$SMTP_PORT" --user anna:pw \
    --mail-from a@example.com --mail-rcpt b@example.org -T "$T/m.eml"
smtpd_faults ''
expect 0 curl -sv "smtp://127.0.0.1:$SMTP_PORT" --mail-from a@example.com \
    --mail-rcpt b@example.org -T "$T/m.eml"
grep_err '^< 250-AUTH LOGIN PLAIN.?$'   # no oauth: as before
eq 8 "$(smtpd_count)" "messages"
for f in "$SMTP_DIR"/*.jsonl "$SMTP_DIR"/smtpd.log; do
	grep -qF -e "$AT" -e "$BOBS" "$f" && fail "a token in $f"
	ok
done

# IMAP (Dovecot's oauth2 passdb asking /introspect): OAUTHBEARER by curl,
# XOAUTH2 by imaplib; a wrong token and another user's fail; the
# password still works.
if [ -x /usr/sbin/dovecot ]; then
	wait "$IMAPD_START" || fail "cannot start the IMAP server: $(cat "$T/imapd.err")"
	IMAPS=$(cat "$I/imaps.port")
	before=$(oauthd_count path=/introspect)
	anna=$(oauthd_count path=/introspect user=anna@example.com)
	expect 0 curl -sS "imaps://127.0.0.1:$IMAPS/" --cacert "$I/ca.pem" \
	    --login-options AUTH=OAUTHBEARER --oauth2-bearer "$AT" \
	    -u anna@example.com: -X 'EXAMINE INBOX'
	grep_out 'UIDVALIDITY'
	expect 67 curl -sS "imaps://127.0.0.1:$IMAPS/" --cacert "$I/ca.pem" \
	    --oauth2-bearer wrong -u anna@example.com: -X 'EXAMINE INBOX'
	expect 0 sasl imap "$IMAPS" XOAUTH2 anna@example.com "$AT" "$I/ca.pem"
	grep_out '^ok$'
	expect 0 sasl imap "$IMAPS" XOAUTH2 anna@example.com wrong "$I/ca.pem"
	grep_out '^error NO 401$'
	expect 0 sasl imap "$IMAPS" XOAUTH2 anna@example.com "$BOBS" "$I/ca.pem"
	grep_out '^error NO 401$'
	expect 0 curl -sS "imaps://127.0.0.1:$IMAPS/" --cacert "$I/ca.pem" \
	    -u anna@example.com:secret -X 'EXAMINE INBOX'
	eq $((before + 5)) "$(oauthd_count path=/introspect)" "introspections"
	eq $((anna + 2)) "$(oauthd_count path=/introspect user=anna@example.com)" \
	    "introspections that found anna's token"
	grep -q 'Login: user=<anna@example.com>, method=XOAUTH2' "$I/dovecot.log" ||
	    fail "no XOAUTH2 login in the Dovecot log"
	ok
else
	echo "# no /usr/sbin/dovecot: IMAP with OAuth not tested"
fi

# ... and then they expire.
while [ "$(date +%s)" -lt "$EXPIRES" ]; do sleep 0.1; done
introspect "$AT_OLD"
eq false "$(field active)" "an expired access token"
smtpd_faults "{\"oauth\": {\"dir\": \"$OAUTH_DIR\"}}"
expect 0 sasl smtp "$SMTP_PORT" OAUTHBEARER anna@example.com "$AT_OLD"
grep_out '^error 535 invalid_token$'
eq 1 "$(grep -c '"reason": "expired"' "$SMTP_DIR/events.jsonl")" "refused: expired"
if [ -x /usr/sbin/dovecot ]; then
	expect 67 curl -sS "imaps://127.0.0.1:$IMAPS/" --cacert "$I/ca.pem" \
	    --oauth2-bearer "$AT_OLD" -u anna@example.com: -X 'EXAMINE INBOX'
	$IMAPD stop "$I" &      # Dovecot takes 2 s to stop: meanwhile, the rest
	IMAPD_STOP=$!
fi
code_token "$REDIR" "$V"
answer 400 invalid_grant
eq "code expired" "$(field error_description)" "description"
poll "$DC"
answer 400 expired_token
/usr/bin/python3 "$OAUTHD_PY" --dir "$OAUTH_DIR" --expire-access || fail "--expire-access"
oauthd_valid "$AT" && fail "--expire-access left $AT"
ok
expect 0 sasl smtp "$SMTP_PORT" OAUTHBEARER anna@example.com "$AT"
grep_out '^error 535 invalid_token$'

# SIGTERM: a clean exit; a restart on the same directory keeps its
# grants; --issue while the server runs; nothing went wrong inside.
RT=$(oauthd_issue mailq-test anna@example.com mail)
oauthd_stop || fail "oauthd exited $? on SIGTERM"
ok
oauthd_start "$T/ca"
refresh "$RT"
answer 200
pids=""
for k in $(seq 4); do
	oauthd_issue mailq-test anna@example.com mail >"$T/iss$k" &
	pids="$pids $!"
	refresh "$(field refresh_token)"
	answer 200
done
for p in $pids; do wait "$p" || fail "a parallel --issue failed"; done
for k in $(seq 4); do
	refresh "$(cat "$T/iss$k")"
	answer 200
done
oauthd_stop || fail "oauthd exited $? on SIGTERM"
ok
grep -v '^oauthd: listening' "$OAUTH_DIR/oauthd.log" | grep -q . &&
    fail "oauthd.log: $(grep -v '^oauthd: listening' "$OAUTH_DIR/oauthd.log" | head -5)"
ok
grep -v '^smtpd: listening' "$SMTP_DIR/smtpd.log" | grep -q . &&
    fail "smtpd.log: $(head -5 "$SMTP_DIR/smtpd.log")"
ok
echo "# $(wc -l <"$OAUTH_DIR/requests.jsonl") requests to oauthd"
done_checks
