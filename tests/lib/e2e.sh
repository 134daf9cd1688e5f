# Shared helpers for the end-to-end tests: a scratch directory per test,
# exit-status and output assertions, and database fingerprints; and the
# fixtures of tests/lib/fixture.sh, whose programs run through expect 0.
set -u
: "${MQ_BIN:?run through tests/run}" "${MQ_TOP:?run through tests/run}"
export PATH="$MQ_BIN:$PATH"
. "$MQ_TOP/tests/lib/fixture.sh"
unset MAILQ_CONFIG MAILQ_NOW
T=$(mktemp -d "${TMPDIR:-/tmp}/mailq-e2e.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
CHECKS=0

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { CHECKS=$((CHECKS + 1)); }

# expect STATUS CMD...: runs CMD, keeps stdout in $T/out and stderr in
# $T/err, fails unless it exits with STATUS.
expect() {
	want=$1; shift
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	[ "$got" = "$want" ] || {
		echo "--- stdout"; cat "$T/out"; echo "--- stderr"; cat "$T/err"
		fail "'$*' exited $got, want $want"
	} >&2
	ok
}
fixture_run() { expect 0 "$@"; }

# grep_err PATTERN / grep_out PATTERN: the last command's stderr/stdout matches.
grep_err() { grep -qE -- "$1" "$T/err" || fail "stderr lacks /$1/: $(cat "$T/err")"; ok; }
grep_out() { grep -qE -- "$1" "$T/out" || fail "stdout lacks /$1/: $(cat "$T/out")"; ok; }

# sql DB QUERY: one value from the database.
sql() { sqlite3 -batch -noheader "$1" "$2"; }

# eq WANT GOT WHAT
eq() { [ "$1" = "$2" ] || fail "$3: got '$2', want '$1'"; ok; }

# snapshot DB / unchanged DB: a dump of the database before and after.
snapshot() { sqlite3 "$1" .dump > "$T/snap.sql"; }
unchanged() {
	sqlite3 "$1" .dump > "$T/snap2.sql"
	cmp -s "$T/snap.sql" "$T/snap2.sql" || {
		diff "$T/snap.sql" "$T/snap2.sql" | head -20 >&2
		fail "database changed"
	}
	ok
}

# example_conf: copies the examples into $T, with the database at $T/mailq.db.
example_conf() {
	cp -r "$MQ_TOP"/examples/. "$T"/
	chmod 600 "$T/mailq.conf"
	export MAILQ_CONFIG="$T/mailq.conf"
}

done_checks() { echo "$CHECKS checks passed"; }

# unprivileged CMD...: runs CMD as an unprivileged user when we are root
# (root ignores file modes), else as ourselves.
unprivileged() {
	if [ "$(id -u)" = 0 ]; then
		chmod 755 "$T"
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	else
		"$@"
	fi
}

# hold_lock DB SECONDS: another process takes the database's write lock
# and keeps it; returns once the lock is held. Its pid is in $LOCK_PID.
hold_lock() {
	rm -f "$T/locked"
	/usr/bin/python3 - "$1" "$2" "$T/locked" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[3], "w").close()
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
PY
	LOCK_PID=$!
	for _ in $(seq 100); do [ -e "$T/locked" ] && return 0; sleep 0.05; done
	fail "could not take the lock"
}
