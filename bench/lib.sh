# Helpers for the benchmark scripts; source it after setting B (the build
# directory) and cd-ing into a scratch directory.
#
#   bench_top               the checkout's top directory
#   ms                      milliseconds since the epoch
#   secs MS                 MS milliseconds as seconds, "1.234"
#   div A B [PLACES]        A / B with PLACES decimals (2)
#   smtpd_up DIR [FAULTS]   start tests/smtpd.py spooling in DIR, with the
#                           faults JSON FAULTS; sets PORT, SMTPD_PID
#   smtpd_down              stop it
#   received DIR            messages the server in DIR has received
#   conf FILE DB PORT N_CAMPAIGNS DELAY JITTER [BUFFER] [MAILBOXES]
#                           fixture_conf's config with MAILBOXES (1)
#                           mailboxes m1..mM with limits too high to
#                           matter (4 sessions each), campaigns c1..cN,
#                           campaign i on mailbox m((i - 1) % M + 1), its
#                           message of about the size of a real one
#   one_lead_each DIR N M   a database in DIR (config, init) with N
#                           campaigns of delay 0 on M mailboxes, one lead
#                           each, all started; the server at $PORT
# and tests/lib/fixture.sh's functions: fixture_leads, fixture_init,
# fixture_start (the programs of $B/bin come first on PATH).
bench_top=$(cd "$(dirname "$0")/.." && pwd)
case $B in /*) ;; *) B=$bench_top/$B ;; esac
[ -x "$B/bin/mailq-tick" ] || { echo "bench: build $B first" >&2; exit 1; }
PATH=$B/bin:$PATH
. "$bench_top/tests/lib/fixture.sh"
SMTPD_PID=""
PORT=""

ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
div() { awk -v a="$1" -v b="$2" -v p="${3:-2}" \
    'BEGIN { if (b == 0) print "inf"; else printf "%.*f\n", p, a / b }'; }

smtpd_up() {
	mkdir -p "$1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" > "$1/faults.json"
	rm -f "$1/ready"
	/usr/bin/python3 "$bench_top/tests/smtpd.py" --dir "$1" --port 0 \
	    --ready "$1/ready" >>"$1/smtpd.log" 2>&1 &
	SMTPD_PID=$!
	for _ in $(seq 200); do
		[ -s "$1/ready" ] && break
		sleep 0.05
	done
	[ -s "$1/ready" ] || { echo "bench: smtpd did not start" >&2; exit 1; }
	PORT=$(cat "$1/ready")
}
smtpd_down() {
	[ -n "$SMTPD_PID" ] || return 0
	kill "$SMTPD_PID" 2>/dev/null
	wait "$SMTPD_PID" 2>/dev/null || :
	SMTPD_PID=""
}
received() {
	if [ -f "$1/received.jsonl" ]; then
		wc -l < "$1/received.jsonl" | tr -d ' '
	else
		echo 0
	fi
}

BENCH_TEXT='Dear {{first_name}},\n\nA short note of about the size of a real first message: who we are, why we write, and one question.\nWe have been following your work and think that what we build could save your team an afternoon every week.\nWould a fifteen-minute call next week be of use?\n\nBest regards,\nAnna'

conf() {
	fixture_conf "$1" "$2" "$3" campaigns="$4" delay="$5" jitter="$6" \
	    buffer="${7:-20}" mailboxes="${8:-1}" spread=1 limit=1000000 \
	    connections=4 text="$BENCH_TEXT"
}

one_lead_each() {
	local i
	mkdir -p "$1"
	conf "$1/mailq.conf" "$1/mailq.db" "$PORT" "$2" 0 0 20 "$3"
	MAILQ_CONFIG=$1/mailq.conf fixture_init
	for i in $(seq "$2"); do
		printf 'email,first_name\nlead%d@example.com,Name%d\n' "$i" "$i" > "$1/lead.csv"
		MAILQ_CONFIG=$1/mailq.conf fixture_start "c$i" "$1/lead.csv"
	done
}
