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
#                           a config with one sender and MAILBOXES (1)
#                           mailboxes m1..mM with limits too high to
#                           matter (4 sessions each), campaigns c1..cN open
#                           every day all day, campaign i on mailbox
#                           m((i - 1) % M + 1)
#   csv FILE N [PREFIX]     a lead CSV of N rows
#   one_lead_each DIR N M   a database in DIR (config, init) with N
#                           campaigns of delay 0 on M mailboxes, one lead
#                           each, all started; the server at $PORT
bench_top=$(cd "$(dirname "$0")/.." && pwd)
case $B in /*) ;; *) B=$bench_top/$B ;; esac
[ -x "$B/bin/mailq-tick" ] || { echo "bench: build $B first" >&2; exit 1; }
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

conf() {
	{
		echo "database = \"$2\";"
		echo 'senders = ( { name = "anna"; daily_limit = 1000000; } );'
		echo 'mailboxes = ('
		for m in $(seq "${8:-1}"); do
			[ "$m" -gt 1 ] && echo ","
			echo "{ name = \"m$m\"; address = \"anna$m@example.com\";"
			echo '  sender = "anna"; daily_limit = 1000000; max_connections = 4;'
			echo "  smtp = \"smtp://127.0.0.1:$3\"; tls = \"none\"; }"
		done
		echo ');'
		echo 'campaigns = ('
		for i in $(seq "$4"); do
			[ "$i" -gt 1 ] && echo ","
			echo "{ name = \"c$i\"; sender = \"anna\"; mailboxes = [ \"m$(( (i - 1) % ${8:-1} + 1 ))\" ];"
			echo '  schedule = { days = "MON-SUN"; start = "00:00"; end = "24:00"; };'
			echo "  delay = $5; jitter = $6; daily_limit = 1000000;"
			echo "  buffer = ${7:-20};"
			echo '  steps = ( { variants = ( { subject = "Hello {{first_name}}";'
			echo '    text = "Dear {{first_name}},\n\nA short note of about the size of a real first message: who we are, why we write, and one question.\nWe have been following your work and think that what we build could save your team an afternoon every week.\nWould a fifteen-minute call next week be of use?\n\nBest regards,\nAnna"; } ); } ); }'
		done
		echo ');'
	} > "$1"
	chmod 600 "$1"
}

csv() {
	awk -v n="$2" -v p="${3:-lead}" 'BEGIN { print "email,first_name,company";
	    for (i = 1; i <= n; i++) printf "%s%d@example.com,Name%d,Company %d\n", p, i, i, i % 977 }' > "$1"
}

one_lead_each() {
	mkdir -p "$1"
	conf "$1/mailq.conf" "$1/mailq.db" "$PORT" "$2" 0 0 20 "$3"
	MAILQ_CONFIG=$1/mailq.conf "$B/bin/mailq-init" -q
	for i in $(seq "$2"); do
		printf 'email,first_name\nlead%d@example.com,Name%d\n' "$i" "$i" > "$1/lead.csv"
		MAILQ_CONFIG=$1/mailq.conf "$B/bin/mailq-import" -q "c$i" "$1/lead.csv"
		MAILQ_CONFIG=$1/mailq.conf "$B/bin/mailq-campaign" -q start "c$i"
	done
}
