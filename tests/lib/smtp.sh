# SMTP helpers for the end-to-end tests; source after e2e.sh. They run
# tests/smtpd.py on loopback and read back what it received, so a test
# counts what the server got rather than what the sender believes.
#
#   smtpd_start [ARGS...]  start a server on a free port (ARGS go to
#                          smtpd.py: --tls-cert F --tls-key F,
#                          --require-starttls, --implicit-tls, --port N);
#                          spool in $SMTP_DIR (default $T/smtpd, kept
#                          across restarts); sets SMTP_PORT, SMTP_PID
#   smtpd_stop             SIGTERM the last server started, wait for it
#   smtpd_faults 'JSON'    set the faults (see smtpd.py); '' or {} = none
#   smtpd_count            number of messages received
#   smtpd_rcpts            the recipients of all received, one per line
#   smtpd_dupes            recipient+key (X-Mailq-Key, else Subject)
#                          received more than once: "COUNT<TAB>RCPT<TAB>KEY"
#   smtpd_no_dupes         fails the test if smtpd_dupes prints anything
#   smtpd_field N KEY      field KEY of the Nth message's received.jsonl
#                          line (strings as they are, the rest as JSON)
#   smtpd_events [NAME]    number of events (of that name) in events.jsonl
#   smtpd_wait_count N [S] waits up to S seconds (10) for N messages
#   make_test_ca DIR       a throw-away CA (ca.pem), a server certificate
#                          for localhost/127.0.0.1 it signed (server.pem,
#                          server.key), and one it did not (self.pem,
#                          self.key)
SMTPD_PY="$MQ_TOP/tests/smtpd.py"
SMTPD_PIDS=""
SMTP_PID=""
SMTP_PORT=""

# Stop every server still running when the test exits, then run the EXIT
# trap that was there before (e2e.sh's removal of $T).
# shellcheck disable=SC2120
_smtpd_trap() {
	local old=""
	[ -n "$(trap -p EXIT)" ] && eval "set -- $(trap -p EXIT)" && old=$3
	# shellcheck disable=SC2064
	trap "_smtpd_kill_all; $old" EXIT
}
_smtpd_kill_all() {
	local p
	for p in $SMTPD_PIDS; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	SMTPD_PIDS=""
}
_smtpd_trap

smtpd_start() {
	: "${SMTP_DIR:=$T/smtpd}"
	mkdir -p "$SMTP_DIR" || fail "cannot create $SMTP_DIR"
	rm -f "$SMTP_DIR/ready"
	/usr/bin/python3 "$SMTPD_PY" --dir "$SMTP_DIR" --ready "$SMTP_DIR/ready" \
	    "$@" >>"$SMTP_DIR/smtpd.log" 2>&1 &
	SMTP_PID=$!
	SMTPD_PIDS="$SMTPD_PIDS $SMTP_PID"
	for _ in $(seq 200); do
		[ -s "$SMTP_DIR/ready" ] && break
		kill -0 "$SMTP_PID" 2>/dev/null ||
		    fail "smtpd exited: $(tail -5 "$SMTP_DIR/smtpd.log")"
		sleep 0.05
	done
	[ -s "$SMTP_DIR/ready" ] || fail "smtpd not ready after 10 s"
	SMTP_PORT=$(cat "$SMTP_DIR/ready")
	export SMTP_PORT SMTP_DIR SMTP_PID
}

smtpd_stop() {
	[ -n "$SMTP_PID" ] || return 0
	kill "$SMTP_PID" 2>/dev/null
	wait "$SMTP_PID" 2>/dev/null
	local rc=$?
	SMTPD_PIDS=$(echo " $SMTPD_PIDS " | sed "s/ $SMTP_PID / /")
	SMTP_PID=""
	return $rc
}

smtpd_faults() {
	local f="$SMTP_DIR/faults.json"
	printf '%s\n' "${1:-{\}}" >"$f.tmp" || fail "cannot write $f"
	/usr/bin/python3 -c '
import json, sys
try:
	json.load(open(sys.argv[1]))
except ValueError as e:
	sys.exit("%s" % e)' "$f.tmp" || fail "smtpd_faults: not JSON: $1"
	mv -f "$f.tmp" "$f"
}

smtpd_count() {
	if [ -f "$SMTP_DIR/received.jsonl" ]; then
		wc -l <"$SMTP_DIR/received.jsonl" | tr -d ' '
	else
		echo 0
	fi
}

# _smtpd_py CODE: runs CODE with R = the received records, in order.
_smtpd_py() {
	/usr/bin/python3 - "$SMTP_DIR/received.jsonl" "$@" <<PY
import json, os, sys
p = sys.argv[1]
R = [json.loads(l) for l in open(p)] if os.path.exists(p) else []
$(cat)
PY
}

smtpd_rcpts() {
	_smtpd_py <<'PY'
for r in R:
	for a in r["rcpt_tos"]:
		print(a)
PY
}

smtpd_dupes() {
	_smtpd_py <<'PY'
import collections
seen = collections.Counter()
for r in R:
	key = r["x_mailq"] if r["x_mailq"] is not None else r["subject"]
	for a in r["rcpt_tos"]:
		seen[(a.lower(), key)] += 1
for (a, key), n in sorted(seen.items(), key=str):
	if n > 1:
		print("%d\t%s\t%s" % (n, a, key))
PY
}

smtpd_field() {
	_smtpd_py "$1" "$2" <<'PY'
v = R[int(sys.argv[2]) - 1][sys.argv[3]]
print(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
PY
}

smtpd_no_dupes() {
	local d
	d=$(smtpd_dupes)
	[ -z "$d" ] || fail "the server received duplicates:
$d"
	ok
}

smtpd_events() {
	[ -f "$SMTP_DIR/events.jsonl" ] || { echo 0; return; }
	if [ $# -eq 0 ]; then
		wc -l <"$SMTP_DIR/events.jsonl" | tr -d ' '
	else
		grep -c "\"event\": \"$1\"" "$SMTP_DIR/events.jsonl"
	fi
}

smtpd_wait_count() {
	for _ in $(seq $(( ${2:-10} * 20 ))); do
		[ "$(smtpd_count)" -ge "$1" ] && return 0
		sleep 0.05
	done
	fail "smtpd received $(smtpd_count) messages, want $1"
}

make_test_ca() {
	local d=$1 ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
	mkdir -p "$d" || fail "cannot create $d"
	# shellcheck disable=SC2086
	{
		openssl req -x509 $ec -nodes -days 2 -subj "/CN=mailq test CA" \
		    -keyout "$d/ca.key" -out "$d/ca.pem" \
		    -addext "basicConstraints=critical,CA:TRUE" \
		    -addext "keyUsage=critical,keyCertSign,cRLSign" &&
		openssl req -new $ec -nodes -subj "/CN=localhost" \
		    -keyout "$d/server.key" -out "$d/server.csr" &&
		printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		    "keyUsage=critical,digitalSignature,keyEncipherment" \
		    "extendedKeyUsage=serverAuth" \
		    "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		    "authorityKeyIdentifier=keyid" \
		    "subjectKeyIdentifier=hash" >"$d/server.ext" &&
		openssl x509 -req -days 2 -in "$d/server.csr" -CA "$d/ca.pem" \
		    -CAkey "$d/ca.key" -CAcreateserial -extfile "$d/server.ext" \
		    -out "$d/server.pem" &&
		openssl req -x509 $ec -nodes -days 2 -subj "/CN=localhost" \
		    -keyout "$d/self.key" -out "$d/self.pem" \
		    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
	} >"$d/openssl.log" 2>&1 || fail "make_test_ca: $(tail -3 "$d/openssl.log")"
}
