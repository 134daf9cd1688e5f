#!/bin/sh
# Import: a CSV of 1,000,000 leads (email and two fields) into one
# campaign with mailq-import: seconds and peak RSS. The reference, in the
# same run: sqlite3's own `.import` of the same file into a plain table
# with no index, no check and no campaign, on the same disk. Target: at
# most 4 times the reference. Each is timed BENCH_IMPORT_RUNS times (3),
# in turn, each time into a new database, and the fastest of each counts:
# on a shared machine what others run can only make a run slower. Memory
# must stay flat: the peak RSS of the largest import against that of a
# file of 10,000 rows.
# Prints import_1m_s=… import_peak_rss_kb=… sqlite3_import_s=… ratio=…
#   target=4 import_10k_rss_kb=… rss_ratio=…
# Usage: sh bench/import.sh [BUILD_DIR] [ROWS]
set -eu
B=${1:-build}
N=${2:-1000000}
RUNS=${BENCH_IMPORT_RUNS:-3}
SMALL=10000
[ "$N" -lt "$SMALL" ] && SMALL=$N
d=$(mktemp -d "${TMPDIR:-/tmp}/mailq-bench.XXXXXX")
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$d"' EXIT
cd "$d"

# import_into DIR FILE ROWS: a new database in DIR, FILE imported into it;
# sets t (ms) and rss (kB)
import_into() {
	mkdir "$1"
	conf "$1/mailq.conf" "$d/$1/mailq.db" 1 1 60 20
	MAILQ_CONFIG=$1/mailq.conf fixture_init
	t0=$(ms)
	MAILQ_CONFIG=$1/mailq.conf /usr/bin/time -o "$1/rss" -f %M \
	    "$B/bin/mailq-import" -q c1 "$2"
	t=$(( $(ms) - t0 ))
	rss=$(tail -1 "$1/rss")
	got=$(sqlite3 "$1/mailq.db" "SELECT count(*) FROM campaign_lead")
	[ "$got" -eq "$3" ] || echo "# import: $got of $3 leads in the campaign" >&2
}

fixture_leads -c leads.csv "$N"
fixture_leads -c small.csv "$SMALL"
cat leads.csv > /dev/null   # both read it from the page cache

best=0 best_ref=0 peak=0
for run in $(seq "$RUNS"); do
	import_into "run$run" leads.csv "$N"
	[ "$best" -eq 0 ] || [ "$t" -lt "$best" ] && best=$t
	[ "$rss" -gt "$peak" ] && peak=$rss
	t0=$(ms)
	sqlite3 "run$run/ref.db" ".import --csv leads.csv plain"
	t=$(( $(ms) - t0 ))
	[ "$best_ref" -eq 0 ] || [ "$t" -lt "$best_ref" ] && best_ref=$t
	rm -rf "run$run"
done
import_into small small.csv "$SMALL"
small=$rss

echo "import_1m_s=$(secs "$best") import_peak_rss_kb=$peak sqlite3_import_s=$(secs "$best_ref") ratio=$(div "$best" "$best_ref") target=4 import_10k_rss_kb=$small rss_ratio=$(div "$peak" "$small")"
echo "# import: $N CSV rows by mailq-import in $(secs "$best") s, sqlite3 .import into a plain table in $(secs "$best_ref") s (fastest of $RUNS each): $(div "$best" "$best_ref") times (target: at most 4); peak RSS $peak kB, $small kB for $SMALL rows"
