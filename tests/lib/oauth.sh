# OAuth functions for the end-to-end tests; source after e2e.sh and smtp.sh.
# They run tests/oauthd.py (a local OAuth 2.0 authorization server over
# HTTPS) and read back what it was asked, so a test counts the requests
# the server got rather than what the program believes.
#
#   oauthd_start [CADIR]   start a server on a free port, TLS with
#                          CADIR/server.pem (make_test_ca; default: a CA
#                          made in $T/oauth-ca); state in $OAUTH_DIR
#                          (default $T/oauthd, kept across restarts); sets
#                          OAUTH_PORT, OAUTH_URL (https://127.0.0.1:PORT),
#                          OAUTH_CA (the CA's ca.pem), OAUTH_PID
#   oauthd_stop            SIGTERM the last server started, wait for it
#   oauthd_faults 'JSON'   set the faults (see oauthd.py); '' = none
#   oauthd_clients 'JSON'  set the clients (see oauthd.py); '' = defaults
#                          (mailq-test, secret "s3cret"; mailq-public,
#                          a public client)
#   oauthd_issue CLIENT USER SCOPE          prints a new refresh token
#   oauthd_issue_access CLIENT USER SCOPE [SECONDS]  a new access token
#   oauthd_count [KEY=VALUE...]  requests whose fields all match (VALUE
#                          compared as text; null for none), e.g.
#                          oauthd_count path=/token grant_type=refresh_token status=200
#   oauthd_refresh_state TOKEN   active, used, revoked or unknown
#   oauthd_valid TOKEN     succeeds if the access token is valid now
OAUTHD_PY="$MQ_TOP/tests/oauthd.py"
OAUTH_PID=""
OAUTH_PORT=""

oauthd_start() {
	: "${OAUTH_DIR:=$T/oauthd}"
	local ca=${1:-}
	if [ -z "$ca" ]; then
		ca=$T/oauth-ca
		[ -f "$ca/ca.pem" ] || make_test_ca "$ca"
	fi
	mkdir -p "$OAUTH_DIR" || fail "cannot create $OAUTH_DIR"
	rm -f "$OAUTH_DIR/ready"
	/usr/bin/python3 "$OAUTHD_PY" --dir "$OAUTH_DIR" \
	    --ready "$OAUTH_DIR/ready" --cert "$ca/server.pem" \
	    --key "$ca/server.key" >>"$OAUTH_DIR/oauthd.log" 2>&1 &
	OAUTH_PID=$!
	SMTPD_PIDS="$SMTPD_PIDS $OAUTH_PID"   # smtp.sh's EXIT trap stops it
	for _ in $(seq 200); do
		[ -s "$OAUTH_DIR/ready" ] && break
		kill -0 "$OAUTH_PID" 2>/dev/null ||
		    fail "oauthd exited: $(tail -5 "$OAUTH_DIR/oauthd.log")"
		sleep 0.05
	done
	[ -s "$OAUTH_DIR/ready" ] || fail "oauthd not ready after 10 s"
	OAUTH_PORT=$(cat "$OAUTH_DIR/ready")
	OAUTH_URL=https://127.0.0.1:$OAUTH_PORT
	OAUTH_CA=$ca/ca.pem
	export OAUTH_DIR OAUTH_PORT OAUTH_URL OAUTH_CA OAUTH_PID
}

oauthd_stop() {
	[ -n "$OAUTH_PID" ] || return 0
	kill "$OAUTH_PID" 2>/dev/null
	wait "$OAUTH_PID" 2>/dev/null
	local rc=$?
	SMTPD_PIDS=$(echo " $SMTPD_PIDS " | sed "s/ $OAUTH_PID / /")
	OAUTH_PID=""
	return $rc
}

# _oauthd_json FILE 'JSON': FILE replaced whole by JSON ('' removes it).
_oauthd_json() {
	: "${OAUTH_DIR:=$T/oauthd}"
	local f=$OAUTH_DIR/$1
	mkdir -p "$OAUTH_DIR"
	if [ -z "$2" ]; then rm -f "$f"; return 0; fi
	printf '%s\n' "$2" >"$f.tmp" || fail "cannot write $f"
	/usr/bin/python3 -c 'import json, sys; json.load(open(sys.argv[1]))' \
	    "$f.tmp" 2>/dev/null || fail "not JSON: $2"
	mv -f "$f.tmp" "$f"
}
oauthd_faults() { _oauthd_json faults.json "${1:-}"; }
oauthd_clients() { _oauthd_json clients.json "${1:-}"; }

oauthd_issue() {
	: "${OAUTH_DIR:=$T/oauthd}"
	/usr/bin/python3 "$OAUTHD_PY" --dir "$OAUTH_DIR" --issue "$1" "$2" "$3" ||
	    fail "oauthd --issue $*"
}

oauthd_issue_access() {
	: "${OAUTH_DIR:=$T/oauthd}"
	/usr/bin/python3 "$OAUTHD_PY" --dir "$OAUTH_DIR" --issue-access \
	    "$1" "$2" "$3" ${4:+--expires-in "$4"} || fail "oauthd --issue-access $*"
}

oauthd_count() {
	/usr/bin/python3 - "$OAUTH_DIR/requests.jsonl" "$@" <<'PY'
import json, os, sys
p, want = sys.argv[1], [a.partition("=")[::2] for a in sys.argv[2:]]
def text(v):
	return "null" if v is None else v if isinstance(v, str) else json.dumps(v)
n = 0
if os.path.exists(p):
	for line in open(p):
		r = json.loads(line)
		n += all(text(r.get(k)) == v for k, v in want)
print(n)
PY
}

oauthd_refresh_state() {
	/usr/bin/python3 - "$OAUTH_DIR/state.json" "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
r = s["refresh"].get(sys.argv[2])
if r is None:
	print("unknown")
elif s["grants"][r["grant"]]["revoked"]:
	print("revoked" if r["state"] == "active" else r["state"])
else:
	print(r["state"])
PY
}

oauthd_valid() {
	/usr/bin/python3 - "$OAUTH_DIR/tokens.json" "$1" <<'PY'
import json, sys, time
t = json.load(open(sys.argv[1])).get(sys.argv[2])
sys.exit(0 if t and t["exp"] > time.time() else 1)
PY
}
