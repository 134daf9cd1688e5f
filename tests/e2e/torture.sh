# Torture: overlapping runs, runs killed with SIGKILL at random moments
# (many of them during SMTP DATA), a busy and a full database. The server
# must never receive a message twice; every message must be accounted for.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/smtp.sh"
export MAILQ_CONFIG="$T/mailq.conf"

# conf N_CAMPAIGNS: campaigns c1..cN on two mailboxes, delay 0, high
# limits, open always, retried every second
conf() {
	fixture_conf mailq.conf "${DB:-mailq.db}" "$SMTP_PORT" campaigns="$1" \
	    addresses="anna@example.com anna@example.org" limit=1000000 \
	    delay=0 jitter=0 buffer=50 attempts=100 backoff=1 \
	    subject="%n {{first_name}}"
}
setup() {   # setup N_CAMPAIGNS LEADS_EACH
	conf "$1"
	rm -f mailq.db*
	fixture_init
	for c in $(seq "$1"); do
		fixture_leads leads.csv "$2" "c$c.lead" L
		fixture_start "c$c" leads.csv
	done
}
left() { sql mailq.db "SELECT count(*) FROM queue WHERE status IN ('pending', 'sending')"; }
log_agrees() {   # every sent row was received once; nothing received that the log does not hold as sent or unknown
	/usr/bin/python3 - "$SMTP_DIR/received.jsonl" mailq.db <<'PY' || fail "send log and server disagree"
import json, sqlite3, sys
got = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    got[r["message_id"]] = got.get(r["message_id"], 0) + 1
db = sqlite3.connect(sys.argv[2])
rows = dict(db.execute("SELECT '<' || message_id || '>', status FROM send_log WHERE message_id IS NOT NULL"))
sent = [m for m, s in rows.items() if s == "sent"]
bad = [m for m in sent if got.get(m) != 1]
stray = [m for m in got if rows.get(m) not in ("sent", "unknown")]
twice = [m for m, n in got.items() if n > 1]
if bad or stray or twice:
    print("sent but not received once:", bad[:5], "received but not sent/unknown:", stray[:5], "twice:", twice[:5])
    sys.exit(1)
PY
	ok
}
counts_exact() {   # the claims' day counters equal the attempts they cache
	[ "$(sql mailq.db "SELECT count(DISTINCT scope) FROM day_count")" = 3 ] || fail "$1: no day counters"; ok
	eq 0 "$(sql mailq.db "SELECT count(*) FROM day_count d WHERE n <> (SELECT count(*) FROM attempt a
	  WHERE CASE d.scope WHEN 'campaign' THEN a.campaign_id WHEN 'sender' THEN a.sender_id ELSE a.mailbox_id END = d.id
	  AND a.started_at >= d.day_start AND (a.outcome IS NULL OR a.outcome IN ('sent', 'unknown', 'bounced', 'permanent')))")" \
	  "$1: day counters that differ from the attempt history"
}

# --- 1. overlap: 16 loops of mailq-tick for 30 s, 2000 leads, 4 campaigns
smtpd_start
setup 4 500
end=$((SECONDS + 30))
loops=""
for p in $(seq 16); do
	( n=0; while [ $SECONDS -lt $end ]; do
		mailq-tick -q --horizon 0; rc=$?
		[ $rc = 0 ] || [ $rc = 75 ] || echo "tick exited $rc" >> "$T/errors"
		n=$((n + 1))
	  done; echo $n >> "$T/runs" ) &
	loops="$loops $!"
done
wait $loops
[ ! -s "$T/errors" ] || fail "overlap: $(sort "$T/errors" | uniq -c)"; ok
eq 2000 "$(smtpd_count)" "overlap: messages at the server"
smtpd_no_dupes
eq 2000 "$(sql mailq.db "SELECT count(*) FROM send_log WHERE status = 'sent'")" "overlap: sent in the send log"
log_agrees
counts_exact overlap
echo "# overlap: 2000 messages, $(awk '{s += $1} END {print s}' "$T/runs") runs by 16 loops in 30 s, 0 duplicates"
smtpd_stop; rm -rf "$SMTP_DIR"

# --- 2. SIGKILL at random moments, the server slowing DATA down
smtpd_start
# every reply a little late, the data later still: kills land before the
# data phase (claims to return to the queue) and in it (unknown)
smtpd_faults '{"slow_data": 0.2, "reply_delay": 0.04}'
setup 1 1200
# delay 0: a run has up to four messages in the air; kills go on while
# there is work, so that none lands on a run with nothing to do
work() { sql mailq.db "SELECT (SELECT count(*) FROM queue WHERE status IN ('pending', 'sending')) + (SELECT count(*) FROM campaign_lead WHERE status = 'queued')"; }
kills=0 tries=0
while [ $kills -lt 300 ] && [ $tries -lt 2000 ] && [ "$(work)" != 0 ]; do
	tries=$((tries + 1))
	mailq-tick -q --horizon 0 2>>"$T/killed.err" &
	pid=$!
	sleep "0.$((RANDOM % 6))$((RANDOM % 10))"
	kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null
	[ $((kills % 10)) = 0 ] && { mailq-reclaim -q --older-than 0 || fail "reclaim failed"; }
done
smtpd_faults '{}'
for i in $(seq 50); do
	mailq-reclaim -q --older-than 0 || fail "reclaim failed"
	[ "$(left)" = 0 ] && break
	mailq-tick -q --horizon 0 || fail "a tick failed"
done
eq 0 "$(left)" "SIGKILL: messages left pending or sending"
eq 0 "$(sql mailq.db "SELECT count(*) FROM send_log WHERE status IN ('sending', 'retry')")" "SIGKILL: open send-log slots"
eq 0 "$(sql mailq.db "SELECT count(*) FROM campaign_lead WHERE status NOT IN ('done', 'failed', 'bounced', 'unknown')")" "SIGKILL: leads not accounted for"
smtpd_no_dupes
log_agrees
counts_exact SIGKILL
# every unknown is a message whose data phase had begun when its run was
# killed: the server got it, or saw the transaction cut off
/usr/bin/python3 - "$SMTP_DIR" mailq.db <<'PY' || fail "an unknown message the server never saw begin"
import json, sqlite3, sys, os
d = sys.argv[1]
seen = set()
for line in open(os.path.join(d, "received.jsonl")):
    seen.update(json.loads(line)["rcpt_tos"])
for line in open(os.path.join(d, "events.jsonl")):
    e = json.loads(line)
    if e["event"] == "close" and e.get("in_transaction"):
        seen.update(e.get("rcpts", []))
db = sqlite3.connect(sys.argv[2])
unknown = [r[0] for r in db.execute("SELECT l.email FROM queue q JOIN lead l ON l.id = q.lead_id WHERE q.status = 'unknown'")]
missing = [u for u in unknown if u not in seen]
if missing:
    print("unknown without a transaction at the server:", missing)
    sys.exit(1)
PY
ok
sent=$(sql mailq.db "SELECT count(*) FROM queue WHERE status = 'sent'")
unknown=$(sql mailq.db "SELECT count(*) FROM queue WHERE status = 'unknown'")
failed=$(sql mailq.db "SELECT count(*) FROM queue WHERE status = 'failed'")
reclaimed=$(sql mailq.db "SELECT count(*) FROM attempt WHERE outcome = 'reclaimed'")
[ $kills -ge 300 ] || fail "only $kills kills landed"; ok
eq 1200 $((sent + unknown + failed)) "SIGKILL: every message accounted for"
echo "# SIGKILL: $kills kills; sent $sent, unknown $unknown, failed $failed; $reclaimed claims returned to the queue; server received $(smtpd_count), 0 duplicates"
smtpd_stop; rm -rf "$SMTP_DIR"

# --- 3. server faults
smtpd_start
setup 1 1
sed -i 's/tls = "none"; }/tls = "none"; timeout = 2; }/' mailq.conf
expect 0 mailq-init -q
lead() { sql mailq.db "SELECT q.status || ' ' || q.attempts FROM queue q JOIN lead l ON l.id = q.lead_id WHERE l.email = '$1'"; }
# 421 at the greeting: retried
smtpd_faults '{"greeting": "421 4.3.2 try later"}'
expect 0 mailq-tick --horizon 0 --campaign c1
eq "pending 1" "$(lead c1.lead1@example.com)" "421: back in the queue"
# a stall longer than the timeout before the data: retried
smtpd_faults '{"reply_delay": 3}'
sleep 1
expect 0 mailq-tick --horizon 0
eq "pending 2" "$(lead c1.lead1@example.com)" "stall before the data: back in the queue"
# a stall longer than the timeout after the final dot: unknown
smtpd_faults '{"stall_data": 4}'
sleep 1
expect 0 mailq-tick --horizon 0
eq "unknown 3" "$(lead c1.lead1@example.com)" "stall after the dot: unknown"
grep_err "may have been delivered"
# disconnect after the final dot without a reply: unknown, never resent
smtpd_faults '{"drop_after_data": ["c1.lead2@example.com"]}'
setup 1 3
expect 0 mailq-tick --horizon 0
eq "unknown 1" "$(lead c1.lead2@example.com)" "dropped after the dot: unknown"
smtpd_faults '{}'
sleep 2
expect 0 mailq-tick --horizon 0
expect 0 mailq-reclaim --older-than 0
expect 0 mailq-tick --horizon 0
eq 1 "$(smtpd_rcpts | grep -c c1.lead2@example.com)" "the dropped message at the server"
eq "sent 1" "$(lead c1.lead3@example.com)" "the others go on"
smtpd_no_dupes
echo "# server faults: 421 at the greeting and a stall before the data retried; a stall and a drop after the final dot unknown and not resent"
smtpd_stop; rm -rf "$SMTP_DIR"

# --- 4. database faults
smtpd_start
setup 1 5
# busy: another process holds the write lock for 10 s
hold_lock mailq.db 10
start=$SECONDS
expect 75 mailq-tick --horizon 0
grep_err "busy"
[ $((SECONDS - start)) -le 8 ] || fail "a busy run blocked $((SECONDS - start)) s"; ok
eq 0 "$(smtpd_count)" "busy: nothing sent"
kill "$LOCK_PID" 2>/dev/null; wait "$LOCK_PID" 2>/dev/null
busy=$((SECONDS - start))
expect 0 mailq-tick --horizon 0
eq 5 "$(smtpd_count)" "busy: everything sent once the lock is gone"
echo "# busy database: EX_TEMPFAIL after ${busy} s, nothing sent; all 5 sent once the lock was gone"

# full: the database on a small filesystem that fills up
if [ "$(id -u)" = 0 ] && mkdir -p "$T/small" && mount -t tmpfs -o size=16m tmpfs "$T/small" 2>/dev/null; then
	trap 'umount "$T/small" 2>/dev/null; _smtpd_kill_all; rm -rf "$T"' EXIT
	DB="$T/small/mailq.db" conf 1
	fixture_init
	fixture_leads leads.csv 50 full F
	fixture_start c1 leads.csv
	before=$(smtpd_count)
	dd if=/dev/zero of="$T/small/filler" bs=4k 2>/dev/null
	expect 75 mailq-tick --horizon 0
	grep_err "disk full|database or disk is full"
	eq "$before" "$(smtpd_count)" "full: nothing sent without its claim committed"
	eq 0 "$(sql "$T/small/mailq.db" "SELECT count(*) FROM queue WHERE status = 'sending'")" "full: no claim left open"
	rm -f "$T/small/filler"
	expect 0 mailq-tick --horizon 0
	eq $((before + 50)) "$(smtpd_count)" "full: everything sent once there is room"
	echo "# disk full: refused cleanly, then 50 sent"
else
	echo "# disk full: SKIPPED (needs root to mount a small tmpfs)"
fi
smtpd_no_dupes
done_checks
