# A mailbox behaves like one person, counted at the server: a lead's
# follow-ups leave from the mailbox of its first message (also when that
# mailbox is at its day's limit: they wait); reassign moves waiting
# threads with their threading intact; a mailbox whose login fails rests
# and overlapping runs try it once per step; its sessions across every run
# stay under max_connections, its starts under max_per_minute.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/smtp.sh"
export MAILQ_CONFIG="$T/mailq.conf"
T0=1795510800                  # Tue 2026-11-24 09:00:00 UTC
DAY=86400

# mb NAME [EXTRA]: one mailbox entry of the config.
mb() {
	printf '{ name = "%s"; address = "%s@sender.example"; display_name = "%s";
    sender = "anna"; daily_limit = 1000; smtp = "smtp://127.0.0.1:%s"; tls = "none"; %s }' \
	    "$1" "$1" "$1" "$SMTP_PORT" "${2:-}"
}
# conf MAILBOX_ENTRIES CAMPAIGN_MAILBOXES [CAMPAIGNS]: campaign c1 (or
# CAMPAIGNS of them, c1 .. cN), open all week and all day, no delay, two
# steps two days apart.
conf() {
	{
	cat <<CONF
database = "mailq.db";
senders = ( { name = "anna"; daily_limit = 100000; } );
mailboxes = ( $1 );
campaigns = (
CONF
	for i in $(seq "${3:-1}"); do
		[ "$i" -gt 1 ] && echo ","
		cat <<CONF
  { name = "c$i"; sender = "anna"; mailboxes = [ $2 ];
    schedule = { days = "MON-SUN"; start = "00:00"; end = "24:00"; };
    delay = 0; jitter = 0; daily_limit = 100000;
    steps = ( { variants = ( { subject = "Hello {{first_name}}"; text = "Body {{first_name}}"; } ); },
              { wait_days = 2; variants = ( { text = "Again"; } ); } ); }
CONF
	done
	echo ");"
	} > mailq.conf
	chmod 600 mailq.conf
}
# fresh N [CAMPAIGN]: a new database with N leads in the campaign, started.
fresh() {
	rm -f mailq.db mailq.db-wal mailq.db-shm
	expect 0 mailq-init -q
	fixture_leads leads.csv "$1" lead L
	expect 0 mailq-import -q "${2:-c1}" leads.csv
	MAILQ_NOW=$T0 expect 0 mailq-campaign -q start "${2:-c1}"
}
new_server() { smtpd_stop; rm -rf "$SMTP_DIR"; smtpd_start "$@"; }
tick() { MAILQ_NOW=$1 expect 0 mailq-tick --horizon 0; }
q() { sql mailq.db "$1"; }
sent() { eq "$1" "$(smtpd_count)" "${2:-messages at the server}"; }
# per_lead: "RCPT FROM FROM..." for every recipient, the senders of its
# messages in order; from_of RCPT N: the MAIL FROM of its Nth message.
per_lead() {
	/usr/bin/python3 - "$SMTP_DIR/received.jsonl" <<'PY'
import json, sys, collections
by = collections.defaultdict(list)
for line in open(sys.argv[1]):
	r = json.loads(line)
	for t in r["rcpt_tos"]:
		by[t].append(r["mail_from"])
for t in sorted(by):
	print(t, *by[t])
PY
}

# --- 6. max_per_minute = 5, in real time: no 60 s window at the server
# holds more than 5 message sessions' starts. It takes over a minute of real time, so it
# runs beside the others, in a directory and with a server of its own.
rate_test() {
	T=$T/rate        # expect's out and err files too
	mkdir "$T" && cd "$T" || exit 1
	SMTP_DIR=$T/smtpd
	export MAILQ_CONFIG="$T/mailq.conf"
	trap _smtpd_kill_all EXIT
	smtpd_start
	conf "$(mb m1 'max_per_minute = 5;')" '"m1"'
	sed -i 's/start = "00:00"; end = "24:00"; };/start = "00:00"; end = "24:00"; holidays = ""; };/' mailq.conf
	rm -f mailq.db mailq.db-wal mailq.db-shm
	expect 0 mailq-init -q
	fixture_leads r.csv 8 r R
	fixture_start c1 r.csv
	end=$(( $(date +%s) + 75 ))
	while [ "$(smtpd_count)" -lt 8 ] && [ "$(date +%s)" -lt "$end" ]; do
		mailq-tick --horizon 5 & p1=$!; mailq-tick --horizon 5 & p2=$!; wait $p1 $p2
	done
	sent 8 "all, within 75 s"
	# a message's start at the server is its session's connect (a session
	# a message): the time it was saved also holds the server's fsync,
	# which a loaded machine can stretch by seconds
	worst=$(/usr/bin/python3 - "$SMTP_DIR/events.jsonl" <<-'PY'
	import json, sys
	ev = [json.loads(l) for l in open(sys.argv[1])]
	start = {e["conn"]: e["time"] for e in ev if e["event"] == "connect"}
	t = sorted(start[e["conn"]] for e in ev if e["event"] == "accepted")
	print(max(sum(1 for u in t if s <= u < s + 60) for s in t))
	PY
	)
	[ "$worst" -le 5 ] || fail "$worst messages in one minute (max_per_minute 5)"; ok
	echo "# max_per_minute: 8 messages, at most $worst in any 60 s at the server"
}
(rate_test) > "$T/rate.log" 2>&1 &
RATE_PID=$!

smtpd_start

# --- 1. 200 leads, two mailboxes, two steps: every follow-up leaves from
# the mailbox of the lead's first message
conf "$(mb m1), $(mb m2)" '"m1", "m2"'
fresh 200
tick $T0
sent 200 "first messages"
tick $((T0 + 2 * DAY + 60))
sent 400 "with the follow-ups"
per_lead > "$T/per_lead"
eq 200 "$(wc -l < "$T/per_lead")" "leads at the server"
eq 0 "$(awk 'NF != 3 || $2 != $3' "$T/per_lead" | wc -l)" "follow-ups from another mailbox than the first message"
n1=$(awk '$2 == "m1@sender.example"' "$T/per_lead" | wc -l)
[ "$n1" -ge 90 ] && [ "$n1" -le 110 ] || fail "round robin: m1 began $n1 of 200 threads"; ok
eq 200 "$(q "SELECT count(*) FROM campaign_lead WHERE mailbox_id IS NOT NULL")" "threads with their mailbox"
smtpd_no_dupes

# --- 2. a follow-up whose mailbox is at its day's limit waits for the
# next day; it does not switch
new_server
conf "$(mb m1 | sed 's/daily_limit = 1000/daily_limit = 2/'), $(mb m2)" '"m1", "m2"'
fresh 6
tick $T0
sent 6 "first messages"
eq 2 "$(awk '$2 == "m1@sender.example"' "$(per_lead > "$T/pl"; echo "$T/pl")" | wc -l)" "threads begun by m1 (its limit)"
sed -i 's/daily_limit = 2;/daily_limit = 1;/' mailq.conf
grep -q 'daily_limit = 1;' mailq.conf || fail "test bug: m1's limit not lowered"; ok
expect 0 mailq-init -q
tick $((T0 + 2 * DAY + 60))
sent 11 "follow-ups on day 3: m1's second waits"
waiting=$(q "SELECT l.email FROM queue q JOIN lead l ON l.id = q.lead_id WHERE q.step = 1 AND q.status = 'pending'")
eq 1 "$(echo "$waiting" | grep -c .)" "follow-ups waiting"
MAILQ_NOW=$((T0 + 2 * DAY + 120)) expect 0 mailq-tick --dry-run
grep_out "c1: messages are due, but no mailbox they may go from can send: .*mailbox m1: at its day's limit \(1\)"
tick $((T0 + 3 * DAY + 60))
sent 12 "the waiting follow-up, the next day"
per_lead > "$T/per_lead"
eq 0 "$(awk 'NF != 3 || $2 != $3' "$T/per_lead" | wc -l)" "follow-ups from another mailbox"

# --- 3. a mailbox taken out of the campaign: its threads wait, and
# reassign moves them, still replies in their threads
new_server
conf "$(mb m1), $(mb m2)" '"m1", "m2"'
fresh 4
tick $T0
sent 4 "first messages"
conf "$(mb m1), $(mb m2)" '"m2"'
expect 0 mailq-init -q
tick $((T0 + 2 * DAY + 60))
sent 6 "m2's follow-ups; m1's wait"
expect 0 mailq-campaign show c1
grep_out "waiting for mailbox m1: 2"
MAILQ_NOW=$((T0 + 2 * DAY + 120)) expect 0 mailq-stats --json
eq '{"m1": 2}' "$(/usr/bin/python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["campaigns"][0]["waiting_for_mailbox"]))' < "$T/out")" "waiting in mailq-stats --json"
expect 65 mailq-campaign reassign c1 m1 nosuch
grep_err "campaign 'c1': mailbox 'nosuch' is not one of the campaign's enabled mailboxes"
expect 66 mailq-campaign reassign c1 nosuch m2
expect 0 mailq-campaign reassign c1 m1 m2
grep_out "^c1: 2 threads moved from m1 to m2$"
tick $((T0 + 2 * DAY + 180))
sent 8 "the moved follow-ups"
for n in 7 8; do
	f=$(smtpd_field "$n" file)
	rcpt=$(smtpd_field "$n" rcpt_tos | tr -d '[]"')
	first=$(q "SELECT s.message_id FROM send_log s JOIN lead l ON l.id = s.lead_id WHERE l.email = '$rcpt' AND s.step = 0")
	grep -q "^In-Reply-To: <$first>" "$SMTP_DIR/$f" || fail "message $n does not reply to $first"; ok
	grep -q "^From: .*<m2@sender.example>" "$SMTP_DIR/$f" || fail "message $n is not from m2"; ok
	# the Date as the salesperson's mail client writes it: Warsaw, winter
	grep -q "^Date: Thu, 26 Nov 2026 10:0[0-9]:[0-9][0-9] +0100" "$SMTP_DIR/$f" ||
	    fail "message $n: $(grep ^Date: "$SMTP_DIR/$f")"; ok
done

# --- 4. a mailbox whose login fails: 60 minutes of four overlapping runs
# a minute try it at most max_connections times at once, then once after
# 5 and once after 15 more minutes; runs meanwhile print nothing; a fixed
# password is tried at once
new_server
smtpd_faults '{"auth": {"user": "anna", "password": "right"}}'
printf 'wrong\n' > pw; chmod 600 pw
conf "$(mb m1 'username = "anna"; password_file = "pw";')" '"m1"'
fresh 50
quiet=0
for m in $(seq 0 59); do
	pids=""
	for k in 1 2 3 4; do
		MAILQ_NOW=$((T0 + 60 * m)) mailq-tick --horizon 0 >"$T/run$k.out" 2>"$T/run$k.err" &
		pids="$pids $!"
	done
	wait $pids
	[ "$m" -gt 0 ] && ! grep -q . "$T"/run?.err "$T"/run?.out && quiet=$((quiet + 1))
	[ "$m" = 0 ] && cat "$T"/run?.err > "$T/first.err"
done
tries=$(smtpd_events auth_fail)
[ "$tries" -le 4 ] || fail "AUTH tried $tries times in 60 minutes, want at most 2 + 1 + 1"; ok
[ "$tries" -ge 3 ] || fail "AUTH tried only $tries times: no retry after the rests"; ok
sent 0 "with a wrong password"
grep -q "mailbox m1: .*535" "$T/first.err" || fail "first failure not told: $(cat "$T/first.err")"; ok
[ "$quiet" -ge 57 ] || fail "only $quiet of 59 later minutes were quiet"; ok
echo "# resting: $tries AUTH attempts at the server in 60 minutes of 4 runs a minute; $quiet of 59 later minutes printed nothing"
eq 0 "$(q "SELECT count(*) FROM queue WHERE status <> 'pending' OR attempts > 0")" "messages charged for the mailbox's failure"
MAILQ_NOW=$((T0 + 3600)) expect 0 mailq-stats
grep_out "^m1 .* [0-9]{2}:[0-9]{2} +failing +535"
# waiting on a failing mailbox is not a retry of the message's own
MAILQ_NOW=$((T0 + 3600)) expect 0 mailq-campaign show c1
grep_out "^messages .*retry 0, .*waiting on a failing mailbox [1-9]"
printf 'right\n' > pw
tick $((T0 + 3600 + 60))
sent 50 "once the password is fixed"
eq 0 "$(q "SELECT count(*) FROM mailbox WHERE failing_since IS NOT NULL")" "mailboxes failing after the fix"

# --- 5. 200 campaigns due at once on one mailbox, 8 overlapping runs:
# the server never holds more than max_connections sessions at once
new_server
smtpd_faults '{"reply_delay": 0.01}'
conf "$(mb m1)" '"m1"' 200
rm -f mailq.db mailq.db-wal mailq.db-shm
expect 0 mailq-init -q
for i in $(seq 200); do
	printf 'email,first_name\nc%s@example.com,C%s\n' "$i" "$i" > l.csv
	expect 0 mailq-import -q "c$i" l.csv
	MAILQ_NOW=$T0 expect 0 mailq-campaign -q start "c$i"
done
pids=""
for k in $(seq 8); do MAILQ_NOW=$T0 mailq-tick --horizon 0 2>"$T/c$k.err" & pids="$pids $!"; done
wait $pids
sent 200 "one message of each campaign"
smtpd_no_dupes
peak=$(/usr/bin/python3 - "$SMTP_DIR/events.jsonl" <<'PY'
import json, sys
open_, peak = set(), 0
for line in open(sys.argv[1]):
	e = json.loads(line)
	if e["event"] == "connect":
		open_.add(e["conn"])
		peak = max(peak, len(open_))
	elif e["event"] == "close":
		open_.discard(e["conn"])
print(peak)
PY
)
[ "$peak" -le 2 ] || fail "the server saw $peak sessions of m1 at once (max_connections 2)"; ok
[ "$peak" -ge 2 ] || fail "never two sessions at once: the cap is not what was measured"; ok
echo "# max_connections: 200 campaigns, 8 runs at once: peak $peak sessions at the server"

# --- 7. the next send is the earliest moment a message can really go,
# and mailq-campaign list and show and mailq-stats say the same
new_server
conf7() {
	conf "$(mb m1)" '"m1"'
	sed -i 's/days = "MON-SUN"; start = "00:00"; end = "24:00";/days = "MON-FRI"; start = "09:00"; end = "17:00";/
	    s/daily_limit = 100000; *$/daily_limit = '"$1"';/' mailq.conf
	grep -q 'start = "09:00"' mailq.conf || fail "test bug: conf7"
}
epoch() { date -u -d "$1" +%s; }
# views NOW WANT: every view's next send at NOW is WANT (UTC, ISO)
views() {   # (not "want": expect sets that one)
	local at
	at=$(epoch "$2")
	MAILQ_NOW=$1 expect 0 mailq-stats --json
	eq "$at" "$(/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["campaigns"][0]["next_send"])' < "$T/out")" "mailq-stats --json next send at $1"
	MAILQ_NOW=$1 expect 0 mailq-stats
	grep_out "$(TZ=Europe/Warsaw date -d "@$at" +%H:%M) \(in "
	MAILQ_NOW=$1 expect 0 mailq-campaign list
	grep_out "$(TZ=Europe/Warsaw date -d "@$at" '+%a %d %b %H:%M')"
	MAILQ_NOW=$1 expect 0 mailq-campaign show c1
	grep_out "^next send  $(TZ=Europe/Warsaw date -d "@$at" '+%a %Y-%m-%d %H:%M:%S')"
}
W=$(epoch 2026-12-02T09:00:00Z)         # Wed 2 Dec, 10:00 in Warsaw
# only follow-ups pending, on Friday
conf7 100
fresh 2
tick "$W"
sent 2 "first messages on Wednesday"
views "$((W + 3600))" 2026-12-04T09:00:00Z
# the campaign's day limit reached: the window's start the next day
conf7 2
fresh 3
tick "$W"
sent 4 "two more on Wednesday (limit 2)"
views "$((W + 3600))" 2026-12-03T08:00:00Z
# a closed window: its next opening
conf7 100
fresh 3
views "$(epoch 2026-12-02T16:30:00Z)" 2026-12-03T08:00:00Z
# every mailbox resting: the end of the rest
q "UPDATE mailbox SET failing_since = $W, fail_count = 1, rest_until = $((W + 1200)), last_error = '535 no'"
views "$W" 2026-12-02T09:20:00Z

# --- 8. a dry run says why a campaign that never started sends nothing
new_server
conf "$(mb m1)" '"m1"'
rm -f mailq.db mailq.db-wal mailq.db-shm
expect 0 mailq-init -q
printf 'email,first_name\nd1@example.com,D\n' > d.csv
expect 0 mailq-import -q c1 d.csv
snapshot mailq.db
MAILQ_NOW=$T0 expect 0 mailq-tick --dry-run
grep_out "^c1: never started: nothing goes until 'mailq-campaign start c1'$"
MAILQ_NOW=$T0 expect 0 mailq-tick --dry-run --campaign c1
grep_out "^c1: never started"
MAILQ_NOW=$T0 expect 66 mailq-tick --dry-run --campaign nosuch
unchanged mailq.db
sent 0 "from dry runs"

wait "$RATE_PID" || fail "max_per_minute: $(cat "$T/rate.log")"; ok
grep '^# ' "$T/rate.log"
done_checks
