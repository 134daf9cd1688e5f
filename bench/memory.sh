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


# rss DIR N: peak RSS in kB of the run that sends all N
rss() {
	/usr/bin/time -f %M -o "$1/rss" env MAILQ_CONFIG="$1/mailq.conf" \
	    "$B/bin/mailq-tick" -q --horizon 0
	cat "$1/rss"
}

smtpd_up "$d/s"
one_lead_each "$d/ten" 10 10
small=$(rss "$d/ten" 10)
one_lead_each "$d/thousand" 1000 10
before=$(received "$d/s")
large=$(rss "$d/thousand" 1000)
got=$(( $(received "$d/s") - before ))
echo "rss_10_kb=$small rss_1000_kb=$large ratio=$(div "$large" "$small")"
echo "# memory: one run sent $got of 1000 campaigns' messages; peak RSS $large kB against $small kB for 10"
