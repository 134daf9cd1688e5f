#!/bin/sh
# Import: a CSV of 1,000,000 leads (email and two fields) into one
# campaign with mailq-import: seconds and peak RSS. The reference, in the
# same run: sqlite3's own `.import` of the same file into a plain table
# with no index, no check and no campaign, on the same disk.
# Prints import_1m_s=… import_peak_rss_kb=… sqlite3_import_s=… ratio=…
# Usage: sh bench/import.sh [BUILD_DIR] [ROWS]
set -eu
B=${1:-build}
N=${2:-1000000}
d=$(mktemp -d "${TMPDIR:-/tmp}/mailq-bench.XXXXXX")
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$d"' EXIT
cd "$d"

conf mailq.conf mailq.db 1 1 60 20
export MAILQ_CONFIG="$d/mailq.conf"
"$B/bin/mailq-init" -q
csv leads.csv "$N"
cat leads.csv > /dev/null   # both read it from the page cache

t0=$(ms)
/usr/bin/time -o rss -f %M "$B/bin/mailq-import" -q c1 leads.csv
t_import=$(( $(ms) - t0 ))
got=$(sqlite3 mailq.db "SELECT count(*) FROM campaign_lead")
[ "$got" -eq "$N" ] || echo "# import: $got of $N leads in the campaign" >&2

t0=$(ms)
sqlite3 ref.db ".import --csv leads.csv plain"
t_ref=$(( $(ms) - t0 ))

echo "import_1m_s=$(secs "$t_import") import_peak_rss_kb=$(tail -1 rss) sqlite3_import_s=$(secs "$t_ref") ratio=$(div "$t_import" "$t_ref")"
echo "# import: $N CSV rows by mailq-import in $(secs "$t_import") s, peak RSS $(tail -1 rss) kB; sqlite3 .import into a plain table in $(secs "$t_ref") s"
