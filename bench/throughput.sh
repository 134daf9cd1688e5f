#!/bin/sh
# Queue throughput: N messages (2,000) of one campaign with delay 0 and
# limits too high to matter, sent by `mailq-tick --horizon 0` (run again
# until the queue is empty) to tests/smtpd.py on loopback: claim, compose,
# SMTP, record. References in the same run, to a fresh server each:
#   - bench/rawsend: the very messages the server received, sent with
#     libcurl by as many threads as mailq-tick may have sessions at once
#     (the mailbox's max_connections), each message in a session of its
#     own as mailq-tick sends them: the same number of connections, the
#     reference of the target; and, for information, over that many kept
#     connections, and over one;
#   - msmtp, one process per message, for the first M (200) of them,
#     scaled to messages per second.
# mailq-tick (each time from a new database) and the reference of the
# target alternate for BENCH_ROUNDS rounds (3); the figures are their
# medians, and the per-round figures are printed beside them.
# Prints throughput_mailq_msgs_per_s=… raw_curl_msgs_per_s=…
#   msmtp_msgs_per_s=… ratio_raw=… ratio_msmtp=… connections=…
#   raw_curl_kept_msgs_per_s=… ratio_kept=…
#   raw_curl_one_connection_msgs_per_s=…
# Usage: sh bench/throughput.sh [BUILD_DIR] [N] [M]
set -eu
B=${1:-build}
N=${2:-2000}
M=${3:-200}
ROUNDS=${BENCH_ROUNDS:-3}
d=$(mktemp -d "${TMPDIR:-/tmp}/mailq-bench.XXXXXX")
. "$(dirname "$0")/lib.sh"
trap 'smtpd_down; rm -rf "$d"' EXIT
cd "$d"
[ -x "$B/bench/rawsend" ] || { echo "bench: build $B/bench/rawsend" >&2; exit 1; }
command -v msmtp >/dev/null || { echo "bench: msmtp is missing (scripts/deps --bench)" >&2; exit 1; }

# mailq_round R: the N messages sent by mailq-tick from a database of
# their own in $d/R, to a server of their own; sets t_mailq (ms), got,
# mailq (messages per second)
mailq_round() {
	mkdir -p "$d/$1"
	cd "$d/$1"
	smtpd_up "$d/$1/s"
	conf mailq.conf mailq.db "$PORT" 1 0 0 50
	export MAILQ_CONFIG="$d/$1/mailq.conf"
	fixture_leads -c leads.csv "$N"
	fixture_init
	fixture_start c1 leads.csv
	t0=$(ms)
	for _ in $(seq 20); do
		"$B/bin/mailq-tick" -q --horizon 0
		[ "$(received "$d/$1/s")" -ge "$N" ] && break
	done
	t_mailq=$(( $(ms) - t0 ))
	got=$(received "$d/$1/s")
	smtpd_down
	[ "$got" -eq "$N" ] || echo "# throughput: the server received $got of $N messages" >&2
	mailq=$(div "$got" "$(secs "$t_mailq")" 1)
	cd "$d"
}

# raw_round R: the same messages by rawsend, a session each, as many at
# once as the mailbox allows; sets raw
raw_round() {
	smtpd_up "$d/$1"
	raw=$("$B/bench/rawsend" "smtp://127.0.0.1:$PORT" "<anna@example.com>" \
	    list "$k" fresh | sed -n 's/^raw_curl_msgs_per_s=//p')
	smtpd_down
}

median() { sort -n | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

mailq_round m1
s1=$d/m1/s
conns=$(grep -c '"event": "connect"' "$s1/events.jsonl" 2>/dev/null || echo "?")
# the received messages, as rawsend and msmtp read them
/usr/bin/python3 - "$s1" > list <<'PY'
import json, os, sys
for line in open(os.path.join(sys.argv[1], "received.jsonl")):
	r = json.loads(line)
	print("%s\t%s" % (r["rcpt_tos"][0], os.path.join(sys.argv[1], r["file"])))
PY
k=$(sed -n 's/.*max_connections = \([0-9]*\);.*/\1/p' m1/mailq.conf | head -1)

# rounds: mailq-tick and its reference alternate, so that a change in the
# machine's load falls on both; each figure is the median of the rounds
raw_round r1
echo "$mailq $raw $(div "$mailq" "$raw")" > rounds
for i in $(seq 2 "$ROUNDS"); do
	mailq_round "m$i"
	raw_round "r$i"
	echo "$mailq $raw $(div "$mailq" "$raw")" >> rounds
done
mailq=$(cut -d' ' -f1 rounds | median)
raw=$(cut -d' ' -f2 rounds | median)
ratio=$(cut -d' ' -f3 rounds | median)
smtpd_up "$d/s5"
kept=$("$B/bench/rawsend" "smtp://127.0.0.1:$PORT" "<anna@example.com>" list "$k" |
    sed -n 's/^raw_curl_msgs_per_s=//p')
smtpd_down
smtpd_up "$d/s4"
raw1=$("$B/bench/rawsend" "smtp://127.0.0.1:$PORT" "<anna@example.com>" list 1 |
    sed -n 's/^raw_curl_msgs_per_s=//p')
smtpd_down

smtpd_up "$d/s3"
head -n "$M" list > list.msmtp
t0=$(ms)
while IFS="$(printf '\t')" read -r rcpt file; do
	msmtp --host=127.0.0.1 --port="$PORT" --auth=off --tls=off \
	    --from=anna@example.com -- "$rcpt" < "$file"
done < list.msmtp
t_msmtp=$(( $(ms) - t0 ))
smtpd_down
msmtp_rate=$(div "$(wc -l < list.msmtp)" "$(secs "$t_msmtp")" 1)

echo "throughput_mailq_msgs_per_s=$mailq raw_curl_msgs_per_s=$raw msmtp_msgs_per_s=$msmtp_rate ratio_raw=$ratio ratio_msmtp=$(div "$mailq" "$msmtp_rate") connections=$k raw_curl_kept_msgs_per_s=$kept ratio_kept=$(div "$mailq" "$kept") raw_curl_one_connection_msgs_per_s=$raw1"
echo "# throughput: $ROUNDS rounds of $N messages, mailq-tick then raw libcurl (msg/s, ratio): $(tr '\n' ';' < rounds | sed 's/;$//; s/;/; /g'); the first round's server saw $conns connections; medians: mailq-tick $mailq/s, raw libcurl $raw/s, $k at once and a session each, $kept/s over $k kept connections, $raw1/s over one; $M by msmtp in $(secs "$t_msmtp") s"
