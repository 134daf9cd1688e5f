#!/bin/sh
# A run's memory against the number of campaigns due at once: peak RSS of
# one `mailq-tick --horizon 0` that sends one message for each of 10,
# then of 1,000 campaigns (on 10 mailboxes, so that up to 40 sessions may
# be open), against a server that answers at once. A run has at most 64
# transfers in the air, whatever the number of campaigns.
# Prints rss_10_kb=… rss_1000_kb=… ratio=…
# Usage: sh bench/memory.sh [BUILD_DIR]
set -eu
B=${1:-build}
d=$(mktemp -d "${TMPDIR:-/tmp}/mailq-bench.XXXXXX")
. "$(dirname "$0")/lib.sh"
trap 'smtpd_down; rm -rf "$d"' EXIT
cd "$d"

# setup DIR N: a database in DIR with N campaigns of one lead each
setup() {
	mkdir -p "$1"
	conf "$1/mailq.conf" "$1/mailq.db" "$PORT" "$2" 0 0 20 10
	MAILQ_CONFIG=$1/mailq.conf "$B/bin/mailq-init" -q
	for i in $(seq "$2"); do
		printf 'email,first_name\nlead%d@example.com,Name%d\n' "$i" "$i" > "$1/lead.csv"
		MAILQ_CONFIG=$1/mailq.conf "$B/bin/mailq-import" -q "c$i" "$1/lead.csv"
		MAILQ_CONFIG=$1/mailq.conf "$B/bin/mailq-campaign" -q start "c$i"
	done
}

# rss DIR N: peak RSS in kB of the run that sends all N
rss() {
	/usr/bin/time -f %M -o "$1/rss" env MAILQ_CONFIG="$1/mailq.conf" \
	    "$B/bin/mailq-tick" -q --horizon 0
	cat "$1/rss"
}

smtpd_up "$d/s"
setup "$d/ten" 10
small=$(rss "$d/ten" 10)
setup "$d/thousand" 1000
before=$(received "$d/s")
large=$(rss "$d/thousand" 1000)
got=$(( $(received "$d/s") - before ))
echo "rss_10_kb=$small rss_1000_kb=$large ratio=$(div "$large" "$small")"
echo "# memory: one run sent $got of 1000 campaigns' messages; peak RSS $large kB against $small kB for 10"
