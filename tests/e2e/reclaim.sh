# mailq-reclaim: dead claims go back to the queue before the data phase and
# become unknown after it; live owners are left alone; claims of other
# hosts go by age; unknown messages are resent or dropped only on request;
# resume reclaims its campaign first.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/smtp.sh"
smtpd_start
export MAILQ_CONFIG="$T/mailq.conf"
fixture_conf mailq.conf mailq.db "$SMTP_PORT" campaigns=q4 \
    addresses=anna@example.com delay=0 attempts=2 backoff=60 \
    subject="Cześć {{first_name}}"
fixture_leads leads.csv 7 l L
fixture_init
fixture_start q4 leads.csv

host=$(uname -n)
now=$(date +%s)
# claim N PHASE HOST PID START AGE [ATTEMPTS]: lead lN held in 'sending'
claim() {
	sql mailq.db "INSERT OR IGNORE INTO lead (email, created_at) VALUES ('l$1@example.com', 0);
	  INSERT OR IGNORE INTO campaign_lead (campaign_id, lead_id, added_at, updated_at)
	  SELECT 1, id, 0, 0 FROM lead WHERE email = 'l$1@example.com';
	  INSERT INTO queue (campaign_id, lead_id, step, variant_id, status,
	    scheduled_at, attempts, mailbox_id, claim_host, claim_pid, claim_start,
	    claimed_at, phase, updated_at)
	  SELECT 1, l.id, 0, (SELECT min(id) FROM variant), 'sending', 0, ${7:-1}, 1,
	    '$3', $4, $5, $now - $6, '$2', 0 FROM lead l WHERE l.email = 'l$1@example.com';
	  UPDATE campaign_lead SET status = 'active' WHERE lead_id = (SELECT id FROM lead WHERE email = 'l$1@example.com');
	  INSERT INTO send_log (campaign_id, lead_id, step, mailbox_id, status, claimed_at)
	  SELECT 1, id, 0, 1, 'sending', $now - $6 FROM lead WHERE email = 'l$1@example.com';
	  INSERT INTO attempt (send_log_id, campaign_id, sender_id, mailbox_id, started_at)
	  SELECT max(id), 1, 1, 1, $now - $6 FROM send_log"
}
state() { sql mailq.db "SELECT q.status || ' ' || coalesce(l.status, '-') FROM queue q JOIN lead e ON e.id = q.lead_id LEFT JOIN send_log l ON l.lead_id = q.lead_id AND l.step = q.step WHERE e.email = 'l$1@example.com'"; }

sleep 300 & live=$!
live_start=$(awk '{print $22}' /proc/$live/stat)
claim 1 claimed "$host" 999999 1 700              # dead, before the data
claim 2 data "$host" 999999 1 700                 # dead, in the data
claim 3 claimed "$host" "$live" "$live_start" 700 # alive
claim 4 claimed "$host" "$live" 12345 700         # pid reused by another
claim 5 claimed elsewhere 4242 1 700              # another host, old
claim 6 claimed elsewhere 4242 1 300              # another host, recent
claim 7 claimed "$host" 999999 1 700 3            # dead, out of retries

snapshot mailq.db
expect 0 mailq-reclaim --dry-run
grep_out "would have: requeued 3, failed 1, unknown 1, alive 1"
unchanged mailq.db

expect 0 mailq-reclaim
[ -s "$T/out" ] && fail "a run that did its job printed: $(cat "$T/out")"; ok
grep_err "l3@example.com step 0: claim held by live process $live, left alone"
eq "pending retry" "$(state 1)" "dead before the data"
eq "unknown unknown" "$(state 2)" "dead in the data"
eq "sending sending" "$(state 3)" "alive"
eq "pending retry" "$(state 4)" "pid reused"
eq "pending retry" "$(state 5)" "another host, old"
eq "sending sending" "$(state 6)" "another host, recent"
eq "failed failed" "$(state 7)" "out of retries"
eq reclaimed "$(sql mailq.db "SELECT a.outcome FROM attempt a JOIN send_log l ON l.id = a.send_log_id JOIN lead e ON e.id = l.lead_id WHERE e.email = 'l1@example.com'")" "the attempt"
d=$(( $(sql mailq.db "SELECT scheduled_at FROM queue q JOIN lead e ON e.id = q.lead_id WHERE e.email = 'l1@example.com'") - now ))
[ "$d" -ge 59 ] && [ "$d" -le 65 ] || fail "backoff after a reclaim: $d s"; ok
expect 0 mailq-reclaim --older-than 0
eq "pending retry" "$(state 6)" "another host, with --older-than 0"
kill $live; wait $live 2>/dev/null
expect 0 mailq-reclaim --older-than 0 -v
grep_out "lead=l3@example.com step=0 phase=claimed pid=$live -> requeued"

# the unknown message is never sent again by ticks ...
sql mailq.db "UPDATE queue SET scheduled_at = 0 WHERE status = 'pending'"
expect 0 mailq-tick --horizon 0
smtpd_rcpts | grep -q l2@ && fail "an unknown message was resent"; ok
eq "unknown unknown" "$(state 2)" "unknown after a tick"
# ... until the operator says so
expect 0 mailq-reclaim -v --resend-unknown
grep_out "resent 1"
expect 0 mailq-tick --horizon 0
eq 1 "$(smtpd_rcpts | grep -c l2@)" "the unknown message, resent knowingly"
eq "sent sent" "$(state 2)" "after the resend"
claim 8 data "$host" 999999 1 700
expect 0 mailq-reclaim
eq "unknown unknown" "$(state 8)" "another unknown"
expect 0 mailq-reclaim -v --drop-unknown --campaign q4
grep_out "dropped 1"
eq "cancelled dropped" "$(state 8)" "dropped"
expect 64 mailq-reclaim --resend-unknown --drop-unknown
expect 64 mailq-reclaim --older-than soon

# resume returns the dead claims of its campaign, whatever their age
sql mailq.db "UPDATE campaign SET status = 'paused'"   # paused with a claim in flight
claim 9 claimed "$host" 999999 1 5
expect 0 mailq-campaign resume q4
grep_out "claims of dead runs: 1 back in the queue"
eq "pending retry" "$(state 9)" "resumed"
smtpd_no_dupes
done_checks
