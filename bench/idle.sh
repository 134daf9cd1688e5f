#!/bin/sh
# Idle tick: 100 campaigns, windows open, each with its buffer of 20
# pending messages but its next message an hour away, so that
# `mailq-tick --horizon 0` finds nothing due. Once with 10,000 leads in
# all and once with 1,000,000 (a tenth of each campaign's leads already
# sent, with their send log and attempts): wall time (best of five),
# instructions counted by valgrind's callgrind (repeatable where time is
# not) and peak RSS of each. A tick with nothing due should cost the same
# whatever the number of leads: the ratios are the figure.
# Callgrind is slow (about 50x): a count taking longer than
# BENCH_CALLGRIND_MAX seconds (60) is stopped, and is then a lower bound
# (instr_capped=yes).
# Prints idle_10k_s=… idle_1m_s=… idle_10k_instr=… idle_1m_instr=…
#   instr_capped=yes|no instr_ratio=… time_ratio=… idle_10k_rss_kb=…
#   idle_1m_rss_kb=…
# Usage: sh bench/idle.sh [BUILD_DIR]
set -eu
B=${1:-build}
d=$(mktemp -d "${TMPDIR:-/tmp}/mailq-bench.XXXXXX")
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$d"' EXIT
cd "$d"
command -v valgrind >/dev/null || { echo "bench: valgrind is missing (scripts/deps --bench)" >&2; exit 1; }
cap=${BENCH_CALLGRIND_MAX:-60}   # seconds callgrind may run for one count
now=$(date +%s)
export MAILQ_NOW=$now

# build DIR LEADS: DIR/mailq.db with 100 campaigns sharing LEADS leads
build() {
	mkdir -p "$1"
	conf "$1/mailq.conf" "$1/mailq.db" 1 100 60 20
	MAILQ_CONFIG=$1/mailq.conf fixture_init
	per=$(($2 / 100))
	sqlite3 "$1/mailq.db" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
UPDATE campaign SET status = 'running', next_send_at = $now + 3600;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
INSERT INTO lead (id, email, fields, created_at)
  SELECT i, 'lead' || i || '@example.com', '{"first_name":"N"}', $now - 86400 FROM n;
-- of each campaign's leads the first tenth is done, the next 20 pending
INSERT INTO campaign_lead (campaign_id, lead_id, status, letter, next_step,
    added_at, updated_at)
  SELECT (id - 1) / $per + 1, id,
    CASE WHEN (id - 1) % $per < $per / 10 THEN 'done'
         WHEN (id - 1) % $per < $per / 10 + 20 THEN 'active' ELSE 'queued' END,
    'A', 0, $now - 86400, $now - 86400
  FROM lead;
INSERT INTO queue (campaign_id, lead_id, step, variant_id, status,
    scheduled_at, attempts, mailbox_id, updated_at)
  SELECT cl.campaign_id, cl.lead_id, 0, v.id,
    CASE cl.status WHEN 'active' THEN 'pending' ELSE 'sent' END,
    $now - 86400, CASE cl.status WHEN 'active' THEN 0 ELSE 1 END,
    CASE cl.status WHEN 'active' THEN NULL ELSE 1 END, $now - 86400
  FROM campaign_lead cl JOIN step s ON s.campaign_id = cl.campaign_id
  JOIN variant v ON v.step_id = s.id WHERE cl.status <> 'queued';
INSERT INTO send_log (campaign_id, lead_id, step, variant_id, mailbox_id,
    status, message_id, smtp_code, smtp_reply, claimed_at, sent_at)
  SELECT campaign_id, lead_id, 0, variant_id, mailbox_id, 'sent',
    lead_id || '@bench', 250, '250 ok', $now - 86400 + lead_id % 3000,
    $now - 86400 + lead_id % 3000
  FROM queue WHERE status = 'sent';
INSERT INTO attempt (send_log_id, campaign_id, sender_id, mailbox_id,
    started_at, ended_at, outcome, smtp_code, detail)
  SELECT id, campaign_id, 1, mailbox_id, claimed_at, claimed_at + 1, 'sent',
    smtp_code, smtp_reply
  FROM send_log;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
ANALYZE;
SQL
}

# measure DIR: "SECONDS INSTRUCTIONS RSS_KB" of an idle tick on DIR
measure() {
	export MAILQ_CONFIG=$1/mailq.conf
	tick() { "$B/bin/mailq-tick" -q --horizon 0; }
	tick   # a warm page cache for both sizes
	best=""
	for _ in 1 2 3 4 5; do
		t0=$(ms)
		tick
		t=$(( $(ms) - t0 ))
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	# stopped by SIGINT after $cap s, callgrind still reports what it
	# counted so far: then a lower bound, flagged as such
	t0=$(ms)
	instr=$(timeout -s INT "$cap" valgrind --tool=callgrind \
	    --callgrind-out-file=/dev/null "$B/bin/mailq-tick" -q --horizon 0 2>&1 |
	    sed -n 's/^==[0-9]*== Collected : *//p')
	capped=no
	[ $(( $(ms) - t0 )) -lt $((cap * 1000)) ] || capped=yes
	rss=$(/usr/bin/time -f %M "$B/bin/mailq-tick" -q --horizon 0 2>&1 | tail -1)
	sent=$(sqlite3 "$1/mailq.db" "SELECT count(*) FROM queue WHERE status <> 'pending'")
	[ "$sent" -eq "$(sqlite3 "$1/mailq.db" "SELECT count(*) FROM send_log")" ] ||
	    echo "# idle: a tick on $1 claimed something" >&2
	echo "$(secs "$best") ${instr:-0} $rss $capped"
}

build "$d/small" 10000
build "$d/large" 1000000
set -- $(measure "$d/small") $(measure "$d/large")
echo "idle_10k_s=$1 idle_1m_s=$5 idle_10k_instr=$2 idle_1m_instr=$6 instr_capped=$8 instr_ratio=$(div "$6" "$2") time_ratio=$(div "$5" "$1") idle_10k_rss_kb=$3 idle_1m_rss_kb=$7"
at=""
[ "$8" = yes ] && at="at least "
echo "# idle tick, 100 campaigns, nothing due: 10,000 leads $1 s, 1,000,000 leads $5 s (best of 5); instructions $2 vs $at$6; peak RSS $3 kB vs $7 kB"
