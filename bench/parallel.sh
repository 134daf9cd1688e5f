#!/bin/sh
# Parallel campaigns: 100 campaigns with one lead each, all due at once,
# each on a mailbox of its own (one account takes only its
# max_connections sessions at once), against a server that waits 200 ms
# before every reply. The wall time of
# `mailq-tick --horizon 0` until the server has all 100 (a run stops
# claiming after 55 s, so a sequential tick needs more than one run), beside
# the wall time of one single send (one campaign, one lead) to the same
# server in the same run.
# Prints parallel_100_s=… single_send_s=… ratio=…
# Usage: sh bench/parallel.sh [BUILD_DIR] [CAMPAIGNS]
set -eu
B=${1:-build}
N=${2:-100}
d=$(mktemp -d "${TMPDIR:-/tmp}/mailq-bench.XXXXXX")
. "$(dirname "$0")/lib.sh"
trap 'smtpd_down; rm -rf "$d"' EXIT
cd "$d"


smtpd_up "$d/s" '{"reply_delay": 0.2}'
one_lead_each "$d/one" 1 1
one_lead_each "$d/many" "$N" "$N"

t0=$(ms)
MAILQ_CONFIG=$d/one/mailq.conf "$B/bin/mailq-tick" -q --horizon 0
single=$(( $(ms) - t0 ))
[ "$(received "$d/s")" -eq 1 ] || echo "# parallel: the single send did not arrive" >&2

runs=0
t0=$(ms)
while [ "$(received "$d/s")" -lt $((N + 1)) ] && [ "$runs" -lt 10 ]; do
	MAILQ_CONFIG=$d/many/mailq.conf "$B/bin/mailq-tick" -q --horizon 0
	runs=$((runs + 1))
done
many=$(( $(ms) - t0 ))
got=$(( $(received "$d/s") - 1 ))

echo "parallel_${N}_s=$(secs "$many") single_send_s=$(secs "$single") ratio=$(div "$many" "$single")"
echo "# parallel: $got of $N campaigns' messages in $runs run(s) of mailq-tick, replies delayed 200 ms"
