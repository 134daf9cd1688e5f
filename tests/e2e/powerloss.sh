# Power loss: the real mailq-tick, linked with a VFS that cuts the power
# at a random write of its run (tests/powerloss/vfs.c): every write the
# disk had not synced is lost, sometimes the last one lands torn, and the
# run dies with its transfers wherever they were. Then the machine
# "reboots": SQLite recovers the database from what the disk kept,
# mailq-reclaim returns the dead claims and mailq-tick sends the rest.
# Over 200 cuts the server must receive no message twice, and every lead
# must be sent or unknown. The same runs with the data phase's commit left
# unsynced (powerloss-tick-unsynced) must send duplicates: that sync is
# what the test is for, and it can tell when it is missing.
#
# MQ_PL_SEED=S replays the cut points of an earlier run (its seed is in
# the output; the threads may interleave differently); MQ_PL_TRIALS and
# MQ_PL_UNSYNCED set the numbers of cuts.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/smtp.sh"
export MAILQ_CONFIG="$T/mailq.conf"
PL="$MQ_BIN/../tests"
for p in powerloss-tick powerloss-tick-unsynced; do
	[ -x "$PL/$p" ] || fail "$PL/$p is missing (make units builds it)"
done
TRIALS=${MQ_PL_TRIALS:-200}
UNSYNCED=${MQ_PL_UNSYNCED:-30}
SEED=${MQ_PL_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
RANDOM=$SEED
echo "seed $SEED (MQ_PL_SEED=$SEED replays these cut points)"

smtpd_start
# two campaigns of 9 and 8 leads, delay 0: a pass has up to 8 messages
# in the air, each with a database connection of its own for its data
# phase; the last one goes alone, on the run's own connection
fixture_conf mailq.conf mailq.db "$SMTP_PORT" campaigns=2 \
    addresses="anna@example.com anna@example.org" limit=1000000 \
    delay=0 jitter=0 buffer=50 attempts=100 backoff=1 \
    subject="%n {{first_name}}"
fixture_init
for c in 1 2; do
	fixture_leads leads.csv $((c == 1 ? 9 : 8)) "c$c.lead" L
	fixture_start "c$c" leads.csv
done
# every trial starts from this closed database, which is on the disk
sql mailq.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
mv mailq.db start.db
rm -f mailq.db-wal mailq.db-shm

# fresh TAG: the starting database, its leads renamed TAG.ADDRESS, so that
# what the server received is told apart by trial
fresh() {
	rm -f mailq.db mailq.db-wal mailq.db-shm
	cp start.db mailq.db
	sql mailq.db "PRAGMA synchronous = OFF;
	    UPDATE lead SET email = '$1.' || email"
}

# trial PROGRAM TAG CUT TEAR: a run of PROGRAM whose power goes at write
# CUT (TEAR: see vfs.c), the reboot, and the run to the end; every lead's
# outcome goes to $T/leads as "TAG ADDRESS STATUS". $cut says whether the
# power went (a run may end before write CUT).
trial() {
	local rc now
	fresh "$2"
	MQ_PL_CUT=$3 MQ_PL_TEAR=$4 "$1" -q --horizon 0 2>"$T/run.err"
	rc=$?
	case $rc in
	99) cut=1 ;;
	0) cut=0 ;;
	*) fail "trial $2 (cut $3, tear $4): the run exited $rc: $(cat "$T/run.err")" ;;
	esac
	echo "$2 $3 $4 $cut" >> "$T/trials"
	# the reboot: the WAL index was memory; the machine is back ten
	# minutes later, when cron's mailq-reclaim, as installed, runs, and
	# the next minute's mailq-tick sends what is left (a claim returned
	# to the queue waits for its backoff)
	rm -f mailq.db-shm
	now=$((EPOCHSECONDS + 600))
	MAILQ_NOW=$now mailq-reclaim -q ||
	    fail "trial $2 (cut $3, tear $4): mailq-reclaim failed"
	MAILQ_NOW=$((now + 60)) mailq-tick -q --horizon 0 ||
	    fail "trial $2 (cut $3, tear $4): mailq-tick failed after the reboot"
	sqlite3 -batch -noheader -separator ' ' mailq.db "
	  SELECT '$2', '-integrity', group_concat(integrity_check) FROM pragma_integrity_check;
	  SELECT '$2', '-counters', count(*) FROM day_count d WHERE n <> (SELECT count(*) FROM attempt a
	    WHERE CASE d.scope WHEN 'campaign' THEN a.campaign_id WHEN 'sender' THEN a.sender_id ELSE a.mailbox_id END = d.id
	    AND a.started_at >= d.day_start AND (a.outcome IS NULL OR a.outcome IN ('sent', 'unknown', 'bounced', 'permanent')));
	  SELECT '$2', l.email, q.status FROM queue q JOIN lead l ON l.id = q.lead_id" >> "$T/leads" ||
	    fail "trial $2: cannot read the database after the reboot"
}

# writes PROGRAM: an uncut run of PROGRAM; $W gets its number of writes,
# $S the numbers of writes before each of its syncs
writes() {
	fresh "dry$1"
	MQ_PL_COUNT="$T/count" "$PL/$1" -q --horizon 0 || fail "$1 failed"
	W=$(head -1 "$T/count")
	read -r -a S <<< "$(tail -n +2 "$T/count" | tr '\n' ' ')"
	[ "$W" -gt 100 ] || fail "$1: only $W writes in a run"
}

# trials PROGRAM PREFIX CUTS: trials until CUTS of them were cut, now and
# then torn, each at a write chosen at random: over an uncut run's
# writes, or (one in three) among the few around one of its syncs, where
# the data phases are and the most transfers are in the air
trials() {
	local k=0 c=0 at tear
	writes "$1"
	while [ $c -lt "$3" ]; do
		k=$((k + 1))
		[ $k -le $(($3 * 2)) ] || fail "$1: only $c of $k runs were cut"
		at=$(( (RANDOM * 32768 + RANDOM) % W + 1 ))
		[ ${#S[@]} -gt 0 ] && [ $((RANDOM % 3)) = 0 ] &&
		    at=$(( S[RANDOM % ${#S[@]}] + RANDOM % 8 - 3 ))
		[ $at -ge 1 ] || at=1
		tear=0
		[ $((RANDOM % 3)) = 0 ] && tear=$((RANDOM % 999 + 1))
		trial "$PL/$1" "$2$k" "$at" "$tear"
		c=$((c + cut))
	done
}

start=$SECONDS
trials powerloss-tick f "$TRIALS"
synced_s=$((SECONDS - start))
start=$SECONDS
trials powerloss-tick-unsynced u "$UNSYNCED"
unsynced_s=$((SECONDS - start))

# check PREFIX: the trials' outcomes against what the server received.
# Prints the numbers of cuts, of torn ones, of ones during a transfer (the
# server saw one cut off), of messages left unknown, of those the server
# had, of messages received twice and of trials with any; fails when a
# trial is not accounted for (and, for the real build, when anything was
# received twice).
check() {
	/usr/bin/python3 - "$1" "$SEED" "$T/trials" "$T/leads" \
	    "$SMTP_DIR/received.jsonl" "$SMTP_DIR/events.jsonl" <<'PY'
import collections, json, sys
prefix, seed, trials_f, leads_f, recv_f, events_f = sys.argv[1:]
synced = prefix == "f"
trials = {}
for line in open(trials_f):
    tag, at, tear, cut = line.split()
    if tag.startswith(prefix) and tag[len(prefix):].isdigit():
        trials[tag] = (int(at), int(tear), cut == "1")
status, health = {}, collections.defaultdict(dict)
for line in open(leads_f):
    tag, what, value = line.split()
    if tag not in trials:
        continue
    if what.startswith("-"):
        health[tag][what] = value
    else:
        status[what] = (tag, value)
got = collections.Counter()
for line in open(recv_f):
    for a in json.loads(line)["rcpt_tos"]:
        got[a.lower()] += 1
cutoff = set()        # trials whose server saw a transaction cut off
for line in open(events_f):
    e = json.loads(line)
    if e["event"] == "close" and e.get("in_transaction"):
        for a in e.get("rcpts", []):
            tag = a.split(".", 1)[0]
            if tag in trials:
                cutoff.add(tag)
bad = collections.defaultdict(list)
for tag in trials:
    h = health[tag]
    if h.get("-integrity") != "ok":
        bad[tag].append("integrity: %s" % h.get("-integrity"))
    if h.get("-counters") != "0":
        bad[tag].append("day counters differ from the attempts")
unknown, had, dups, dup_trials = 0, 0, 0, set()
for a, (tag, st) in status.items():
    n = got.get(a.lower(), 0)
    if st not in ("sent", "unknown"):
        bad[tag].append("%s is %s" % (a, st))
    if st == "sent" and n == 0:
        bad[tag].append("%s is sent, the server never got it" % a)
    if st == "unknown":
        unknown += 1
        had += n > 0
    if n > 1:
        dups += n - 1
        dup_trials.add(tag)
        if synced:
            bad[tag].append("%s received %d times" % (a, n))
for a in got:
    tag = a.split(".", 1)[0]
    if tag in trials and a not in status:
        bad[tag].append("%s received, not a lead" % a)
if bad:
    for tag in sorted(bad, key=lambda t: int(t[len(prefix):])):
        at, tear, cut = trials[tag]
        print("trial %s (seed %s, cut at write %d, tear %d, %s): %s" % (
            tag, seed, at, tear, "cut" if cut else "not cut",
            "; ".join(bad[tag][:5])), file=sys.stderr)
    sys.exit(1)
cut = [t for t in trials if trials[t][2]]
print(len(cut), sum(1 for t in cut if trials[t][1] > 0),
      len(cutoff & set(cut)), unknown, had, dups, len(dup_trials))
PY
}

r=$(check f) || fail "power loss with the data phase synced: see above"
read -r f_cuts f_torn f_during f_unknown f_had f_dups _ <<< "$r"
[ -n "$f_dups" ] || fail "power loss with the data phase synced: no figures"
[ "$f_cuts" -ge "$TRIALS" ] || fail "only $f_cuts cuts"; ok
eq 0 "$f_dups" "messages received twice with the data phase synced"
r=$(check u) || fail "power loss with the data phase unsynced: see above"
read -r u_cuts _ _ _ _ u_dups u_dup_trials <<< "$r"
[ -n "$u_dup_trials" ] || fail "power loss with the data phase unsynced: no figures"
[ "$u_dups" -gt 0 ] ||
    fail "no duplicate in $u_cuts cuts with the data phase unsynced: the test cannot tell"
ok
echo "# power loss: $f_cuts cuts ($f_torn torn, $f_during during a transfer), 0 duplicates, every lead sent or unknown ($f_unknown unknown, $f_had of them at the server), ${synced_s} s; with the data phase unsynced: $u_dups duplicates in $u_dup_trials of $u_cuts cuts, ${unsynced_s} s (seed $SEED)"
done_checks
