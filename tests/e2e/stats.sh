# mailq-stats: two campaigns sent by mailq-tick to the test server, with a
# bounce, a retried 4xx, a mailbox failing AUTH and a stuck claim; then what
# comes back (replies in both variants, out-of-office, bounces, an
# unsubscribe, a stranger, messages of unknown fate resolved), read by
# mailq-fetch from Maildirs, pausing a mailbox. The figures of the table,
# the JSON and the Prometheus metrics must agree with each other and with
# counts taken here from the database; --inbox lists the unmatched first;
# the JSON must validate against docs/stats.schema.json; the metrics must
# parse. It never writes, works while the write lock is held, and while 8
# ticks overlap.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/smtp.sh"
export MAILQ_CONFIG="$T/mailq.conf"
T0=1795510800                   # Tue 2026-11-24 09:00:00 UTC, 10:00 Warsaw

SMTP_DIR=$T/auth smtpd_start
AUTH_PORT=$SMTP_PORT
SMTP_DIR=$T/auth smtpd_faults '{"auth": {"user": "u", "password": "right"}}'
SMTP_DIR=$T/smtpd smtpd_start
smtpd_faults '{"rcpt": {"bad@example.com": "550 5.1.1 no such user"},
  "data": {"slow@example.com": "451 4.3.0 try later"}}'

cat > mailq.conf <<CONF
database = "mailq.db";
senders = ( { name = "anna"; daily_limit = 100; }, { name = "piotr"; daily_limit = 40; } );
mailboxes = (
  { name = "m1"; address = "anna@example.com"; sender = "anna"; daily_limit = 30;
    smtp = "smtp://127.0.0.1:$SMTP_PORT"; tls = "none";
    inbox = "maildir://$T/mail/m1"; inbox_sent_folder = "Sent"; },
  { name = "m2"; address = "anna@example.org"; sender = "anna"; daily_limit = 30;
    smtp = "smtp://127.0.0.1:$SMTP_PORT"; tls = "none";
    inbox = "maildir://$T/mail/m2"; inbox_sent_folder = "Sent"; inbox_folders = [ "INBOX" ]; },
  { name = "m3"; address = "piotr@example.net"; sender = "piotr"; daily_limit = 20;
    smtp = "smtp://127.0.0.1:$AUTH_PORT"; tls = "none"; username = "u"; password = "wrong"; },
  { name = "m4"; address = "piotr@example.com"; sender = "piotr"; daily_limit = 20;
    smtp = "smtp://127.0.0.1:$SMTP_PORT"; tls = "none";
    inbox = "maildir://$T/mail/m4"; bounce_pause = { rate = 5; window = 10; }; } );
campaigns = (
  { name = "q4"; sender = "anna"; mailboxes = [ "m1", "m2" ];
    schedule = { days = "MON-FRI"; start = "09:00"; end = "17:00"; holidays = "PL"; };
    delay = 0; jitter = 0; daily_limit = 50; buffer = 20;
    steps = ( { variants = ( { letter = "A"; subject = "Cześć {{first_name}}"; text = "a"; },
                             { letter = "B"; subject = "Dzień dobry {{first_name}}"; text = "b"; } ); },
              { wait_days = 3; variants = ( { subject = "Re: Cześć"; text = "f"; } ); } ); },
  { name = "w1"; sender = "piotr"; mailboxes = [ "m3", "m4" ];
    schedule = { days = "MON-FRI"; start = "09:00"; end = "17:00"; holidays = "PL"; };
    delay = 120; jitter = 0; daily_limit = 40;
    steps = ( { variants = ( { subject = "Hej {{first_name}}"; text = "w"; } ); } ); },
  { name = "idle"; sender = "piotr"; mailboxes = [ "m4" ];
    schedule = { days = "SAT-SUN"; start = "10:00"; end = "12:00"; };
    delay = 60; steps = ( { variants = ( { subject = "s"; text = "t"; } ); } ); } );
CONF
chmod 600 mailq.conf
expect 0 mailq-init -q
fixture_leads q4.csv 8 lead Łucja
printf '%s\n' "bad@example.com,Zły" "slow@example.com,Wolny" >> q4.csv
fixture_leads w1.csv 6 w Paweł
expect 0 mailq-import -q q4 q4.csv
expect 0 mailq-import -q w1 w1.csv

# --- before anything is sent: usage, errors, an empty view
expect 64 mailq-stats --json --prometheus
expect 64 mailq-stats extra
expect 64 mailq-stats --recent many
expect 64 mailq-stats --inbox 0
grep_err "--inbox: at least 1"
expect 64 mailq-stats --campaign q4 --inbox
grep_err "--campaign and --inbox exclude each other"
expect 64 mailq-stats --inbox many
grep_err "unexpected argument 'many'"
expect 0 mailq-stats --help
grep_out "^usage: mailq-stats"
MAILQ_NOW=$T0 expect 66 mailq-stats --campaign nope
grep_err "campaign 'nope': no such campaign"
MAILQ_CONFIG=$T/none.conf expect 66 mailq-stats
MAILQ_NOW=$T0 expect 0 mailq-stats
grep_out "^q4 +draft +10 +10 +0 +0 +0 "

# --- send: a tick every 30 s from 10:00 for 25 min (the 4xx runs out of
# retries after 1, 5 and 15 min)
MAILQ_NOW=$T0 expect 0 mailq-campaign -q start q4
MAILQ_NOW=$T0 expect 0 mailq-campaign -q start w1
for i in $(seq 0 30 1500); do
	MAILQ_NOW=$((T0 + i)) mailq-tick --horizon 0 >>"$T/tick.out" 2>&1 ||
	    fail "tick at +$i s: $(tail -3 "$T/tick.out")"
done
ok
# a claim left by a run that died 20 minutes ago
sql mailq.db "UPDATE queue SET status = 'sending', claimed_at = $((T0 - 1200)),
  claim_host = 'gone', claim_pid = 1, claim_start = 1, phase = 'claimed'
  WHERE id = (SELECT min(id) FROM queue WHERE campaign_id = 1 AND status = 'pending')"
q() { sql mailq.db "$1"; }
[ "$(q "SELECT count(*) FROM send_log WHERE status = 'sent'")" -ge 10 ] || fail "too few sent"; ok
eq bounced "$(q "SELECT s.status FROM send_log s JOIN lead l ON l.id = s.lead_id WHERE l.email = 'bad@example.com'")" "the bounce"
eq failed "$(q "SELECT s.status FROM send_log s JOIN lead l ON l.id = s.lead_id WHERE l.email = 'slow@example.com'")" "the 4xx given up"
eq 1 "$(q "SELECT count(*) FROM mailbox WHERE name = 'm3' AND failing_since IS NOT NULL")" "m3 failing"

# --- what comes back, read by mailq-fetch from each mailbox's Maildir: for
# q4 a reply in each variant, an out-of-office, a soft and a hard bounce,
# an unsubscribe, a copy, a stranger, and two messages of unknown fate, one
# proved delivered by a reply, one found in the Sent folder; for w1 a hard
# bounce that pauses m4 (bounce_pause window 10, rate 5 %). m2's Spam folder
# does not exist: a fetch error.
MK="/usr/bin/python3 $MQ_TOP/tests/mkinbound.py"
for d in m1 m1/.Sent m2 m2/.Sent m4; do mkdir -p "$T/mail/$d/new" "$T/mail/$d/cur" "$T/mail/$d/tmp"; done
mbox_of() { q "SELECT m.name FROM send_log s JOIN lead l ON l.id = s.lead_id JOIN mailbox m ON m.id = s.mailbox_id WHERE l.email = '$1' AND s.step = 0"; }
sent_to() { grep -l "^To: .*$1" "$T"/smtpd/msg-*.eml | head -1; }
N=0
# deliver FILE MAILBOX [FOLDER]
deliver() { N=$((N + 1)); cp "$1" "$T/mail/$2${3:+/.$3}/new/$((T0 + N)).M${N}P1.stats"; }
# back KIND RCPT: what comes back for RCPT's first message, where it left from
back() {
	$MK "$1" "$(sent_to "$2")" "$T/in.eml" || fail "mkinbound $1 $2"
	deliver "$T/in.eml" "$(mbox_of "$2")"
}
# unknown RCPT: RCPT's first message becomes one of unknown fate
unknown() {
	sql mailq.db "UPDATE send_log SET status = 'unknown' WHERE step = 0 AND lead_id = (SELECT id FROM lead WHERE email = '$1');
	  UPDATE attempt SET outcome = 'unknown' WHERE send_log_id = (SELECT id FROM send_log WHERE step = 0 AND lead_id = (SELECT id FROM lead WHERE email = '$1'));
	  UPDATE queue SET status = 'unknown' WHERE step = 0 AND lead_id = (SELECT id FROM lead WHERE email = '$1');
	  UPDATE campaign_lead SET status = 'unknown' WHERE lead_id = (SELECT id FROM lead WHERE email = '$1')"
}
sent_of() { q "SELECT l.email FROM campaign_lead cl JOIN lead l ON l.id = cl.lead_id JOIN send_log s ON s.campaign_id = cl.campaign_id AND s.lead_id = cl.lead_id AND s.step = 0 WHERE cl.campaign_id = 1 AND s.status = 'sent' AND l.email LIKE 'lead%' AND cl.letter = '$1' ORDER BY l.email"; }
A=$(sent_of A) B=$(sent_of B)
[ -n "$A" ] && [ -n "$B" ] || fail "q4 sent no lead of each variant: A: $A B: $B"; ok
set -- $(echo "$A" | sed 1d) $(echo "$B" | sed 1d)
[ $# -ge 6 ] || fail "too few q4 leads sent: $*"; ok
back reply "$(echo "$A" | head -1)"
back reply "$(echo "$B" | head -1)"
cp "$T/in.eml" "$T/copy.eml"
deliver "$T/copy.eml" "$(mbox_of "$(echo "$B" | head -1)")"
back ooo "$1"
back soft "$2"
back bounce "$3"
back unsubscribe "$4"
unknown "$5"
back reply "$5"
unknown "$6"
cp "$(sent_to "$6")" "$T/mail/$(mbox_of "$6")/.Sent/cur/$T0.M0P1.sent:2,S"
$MK stranger "$(sent_to "$1")" "$T/in.eml" && deliver "$T/in.eml" m1
back bounce w1@example.com
eq m4 "$(mbox_of w1@example.com)" "w1's message left from m4"
MAILQ_NOW=$((T0 + 1550)) expect 0 mailq-fetch
grep_err "^mailq-fetch: mailbox m4: paused by its bounce guard"
sed -i 's/inbox_folders = \[ "INBOX" \]/inbox_folders = [ "INBOX", "Spam" ]/' mailq.conf
MAILQ_NOW=$((T0 + 1560)) expect 66 mailq-fetch
grep_err "^mailq-fetch: mailbox m2: .*: no folder \"Spam\"$"
eq "auto_reply=1 duplicate=1 hard_bounce=2 reply=3 soft_bounce=1 unmatched=1 unsubscribe=1" \
    "$(q "SELECT group_concat(class || '=' || n, ' ') FROM (SELECT class, count(*) n FROM inbound GROUP BY class ORDER BY class)")" \
    "classes read"
eq "sent sent" "$(q "SELECT group_concat(s.status, ' ') FROM (SELECT s.status FROM send_log s JOIN lead l ON l.id = s.lead_id WHERE l.email IN ('$5', '$6') AND s.step = 0 ORDER BY l.email = '$6') s")" \
    "the unknown messages, one answered, one found in the Sent folder"
eq 1 "$(q "SELECT count(*) FROM mailbox WHERE bounce_paused_at IS NOT NULL AND name = 'm4'")" "m4 paused"

# --- the three formats at the same moment
NOW=$((T0 + 1600))
snapshot mailq.db
MAILQ_NOW=$NOW expect 0 mailq-stats
cp "$T/out" table.txt
MAILQ_NOW=$NOW expect 0 mailq-stats --json
cp "$T/out" stats.json
MAILQ_NOW=$NOW expect 0 mailq-stats --prometheus
cp "$T/out" stats.prom
MAILQ_NOW=$NOW expect 0 mailq-stats --campaign q4 --recent 4
cp "$T/out" detail.txt
MAILQ_NOW=$NOW expect 0 mailq-stats --campaign q4 --recent 4 --json
cp "$T/out" detail.json
MAILQ_NOW=$NOW expect 0 mailq-stats --campaign q4 --prometheus
cp "$T/out" detail.prom
MAILQ_NOW=$NOW expect 0 mailq-stats --inbox
cp "$T/out" inbox.txt
MAILQ_NOW=$NOW expect 0 mailq-stats --inbox 4 --json
cp "$T/out" inbox.json
MAILQ_NOW=$NOW expect 0 mailq-stats --inbox=2
eq 3 "$(wc -l < "$T/out")" "--inbox=2: a header and two messages"
grep_out "^READ +MAILBOX +FOLDER +FROM +CLASS +LEAD +CAMPAIGN +REASON$"
unchanged mailq.db
[ -s "$T/err" ] && fail "stderr: $(cat "$T/err")"; ok

cat > check.py <<'PY'
import json, math, re, sqlite3, sys

def fail(msg):
	sys.exit("FAIL: " + msg)

# --- a validator for the subset of JSON Schema the schema uses
def validate(v, s, root, path="$"):
	return _validate(v, s, root, path)

def _validate(v, s, root, path):
	if "$ref" in s:
		node = root
		for part in s["$ref"].lstrip("#/").split("/"):
			node = node[part]
		return _validate(v, node, root, path)
	if "oneOf" in s:
		ok = 0
		for sub in s["oneOf"]:
			try:
				_validate(v, sub, root, path)
				ok += 1
			except ValueError:
				pass
		if ok != 1:
			raise ValueError("%s: matches %d of oneOf" % (path, ok))
		return
	t = s.get("type")
	if t is not None:
		types = t if isinstance(t, list) else [t]
		def is_(x, name):
			return {"null": x is None, "boolean": isinstance(x, bool),
			    "integer": isinstance(x, int) and not isinstance(x, bool),
			    "number": isinstance(x, (int, float)) and not isinstance(x, bool),
			    "string": isinstance(x, str), "array": isinstance(x, list),
			    "object": isinstance(x, dict)}[name]
		if not any(is_(v, n) for n in types):
			raise ValueError("%s: %r is not %s" % (path, v, t))
	if "enum" in s and v not in s["enum"]:
		raise ValueError("%s: %r not in %s" % (path, v, s["enum"]))
	if isinstance(v, (int, float)) and not isinstance(v, bool):
		if "minimum" in s and v < s["minimum"]:
			raise ValueError("%s: %r < %r" % (path, v, s["minimum"]))
		if "maximum" in s and v > s["maximum"]:
			raise ValueError("%s: %r > %r" % (path, v, s["maximum"]))
	if isinstance(v, dict):
		for k in s.get("required", []):
			if k not in v:
				raise ValueError("%s: lacks %s" % (path, k))
		props = s.get("properties", {})
		for k, x in v.items():
			if k in props:
				_validate(x, props[k], root, path + "." + k)
			elif s.get("additionalProperties") is False:
				raise ValueError("%s: unexpected %s" % (path, k))
	if isinstance(v, list) and "items" in s:
		for i, x in enumerate(v):
			_validate(x, s["items"], root, "%s[%d]" % (path, i))

# --- a parser of the Prometheus text exposition format
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(r"^(%s)(?:\{(.*)\})? (\S+)$" % NAME)
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')

def parse_prom(text):
	help_, type_, samples, seen_done = {}, {}, {}, set()
	current = None
	if not text.endswith("\n"):
		fail("metrics do not end in a newline")
	for n, line in enumerate(text.split("\n")[:-1], 1):
		m = re.match(r"^# (HELP|TYPE) (%s) (.+)$" % NAME, line)
		if m:
			kind, name, rest = m.groups()
			if name in seen_done:
				fail("line %d: family %s declared again" % (n, name))
			if kind == "HELP":
				if name in help_:
					fail("line %d: second HELP for %s" % (n, name))
				help_[name] = rest
			else:
				if rest not in ("counter", "gauge"):
					fail("line %d: type %s" % (n, rest))
				if name in type_:
					fail("line %d: second TYPE for %s" % (n, name))
				type_[name] = rest
			if current is not None and current != name:
				seen_done.add(current)
			current = name
			continue
		if line.startswith("#") or line == "":
			fail("line %d: unexpected %r" % (n, line))
		m = SAMPLE.match(line)
		if not m:
			fail("line %d: not a sample: %r" % (n, line))
		name, labels, value = m.groups()
		if name != current or name not in type_:
			fail("line %d: %s outside its family" % (n, name))
		lab = {}
		rest = labels or ""
		while rest:
			lm = LABEL.match(rest)
			if not lm:
				fail("line %d: bad labels %r" % (n, labels))
			lab[lm.group(1)] = lm.group(2).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
			rest = rest[lm.end():]
		v = float(value)
		key = (name, tuple(sorted(lab.items())))
		if key in samples:
			fail("line %d: sample repeated" % n)
		samples[key] = v
	for name, t in type_.items():
		if not name.startswith("mailq_"):
			fail("metric %s lacks the mailq_ prefix" % name)
		if (t == "counter") != name.endswith("_total"):
			fail("%s: a counter must end in _total, only a counter" % name)
		if name not in help_:
			fail("%s has no HELP" % name)
	return type_, samples

def metric(samples, name, **labels):
	key = (name, tuple(sorted(labels.items())))
	if key not in samples:
		fail("no sample %s %s" % (name, labels))
	return samples[key]

# --- the table: columns split at two or more spaces; the header names
# where each column starts, in characters (= display columns here)
def parse_table(lines):
	head = lines[0]
	cols = [(m.start(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", head)]
	rows = []
	for line in lines[1:]:
		cells = re.split(r"  +", line.strip())
		if len(cells) != len(cols):
			fail("table row %r has %d cells, want %d" % (line, len(cells), len(cols)))
		rows.append(dict(zip([c[1] for c in cols], cells)))
		# left-aligned columns start where their header starts
		for (pos, name), cell in zip(cols, cells):
			if name in ("CAMPAIGN", "STATUS", "NEXT SEND", "WINDOW", "PROGRESS",
			    "MAILBOX", "SENDER", "ADDRESS", "STATE", "LAST ERROR") and \
			    not line[pos:].startswith(cell):
				fail("column %s misaligned in %r" % (name, line))
	return rows

def sections(text):
	return [s.strip("\n").split("\n") for s in text.strip("\n").split("\n\n")]
PY

cat > agree.py <<'PY'
import json, sys
exec(open("check.py").read())
db = sqlite3.connect("file:mailq.db?mode=ro", uri=True)
one = lambda sql, *a: db.execute(sql, a).fetchone()[0]
NOW = int(sys.argv[1])
schema = json.load(open(sys.argv[2]))
J = json.load(open("stats.json"))
D = json.load(open("detail.json"))
for doc in (J, D):
	try:
		validate(doc, schema, schema)
	except ValueError as e:
		fail("schema: %s" % e)
types, P = parse_prom(open("stats.prom").read())
dtypes, DP = parse_prom(open("detail.prom").read())
T = sections(open("table.txt").read())
camp_rows = {r["CAMPAIGN"]: r for r in parse_table(T[0])}
ans_rows = {r["CAMPAIGN"]: r for r in parse_table(T[1])}
mb_rows = {r["MAILBOX"]: r for r in parse_table(T[2])}
in_rows = {r["MAILBOX"]: r for r in parse_table(T[3])}
snd_rows = {r["SENDER"]: r for r in parse_table(T[4])}
health_rows = {r["HEALTH"]: r for r in parse_table(T[5])}
if J["generated_at"] != NOW or J["detail"] is not None or D["detail"]["campaign"] != "q4":
	fail("generated_at or detail")
n = 0
names = [c["name"] for c in J["campaigns"]]
if names != [r[0] for r in db.execute("SELECT name FROM campaign ORDER BY retired, name")]:
	fail("campaigns %s" % names)
day0 = {}
for c in J["campaigns"]:
	name = c["name"]
	cid = one("SELECT id FROM campaign WHERE name = ?", name)
	row = camp_rows[name]
	for s in ["queued", "active", "done", "failed", "bounced", "unknown",
	    "replied", "unsubscribed", "skipped", "cancelled"]:
		want = one("SELECT count(*) FROM campaign_lead WHERE campaign_id = ? AND status = ?", cid, s)
		got = (c["leads"][s], metric(P, "mailq_campaign_leads", campaign=name, status=s))
		if got != (want, want):
			fail("%s leads %s: %s, want %d" % (name, s, got, want))
		n += 1
	for s in ["sending", "retry", "sent", "failed", "bounced", "unknown", "dropped"]:
		want = one("SELECT count(*) FROM send_log WHERE campaign_id = ? AND status = ?", cid, s)
		got = (c["messages"][s], metric(P, "mailq_campaign_messages", campaign=name, status=s))
		if got != (want, want):
			fail("%s messages %s: %s, want %d" % (name, s, got, want))
		n += 1
	total = one("SELECT count(*) FROM campaign_lead WHERE campaign_id = ?", cid)
	pending = one("SELECT count(*) FROM queue WHERE campaign_id = ? AND status = 'pending'", cid)
	sending = one("SELECT count(*) FROM queue WHERE campaign_id = ? AND status = 'sending'", cid)
	stuck = one("SELECT count(*) FROM queue WHERE campaign_id = ? AND status = 'sending' AND claimed_at <= ?", cid, NOW - 600)
	# today: the claim's own rule, from local midnight in Warsaw (CET here)
	midnight = NOW - (NOW + 3600) % 86400
	today = one("SELECT count(*) FROM attempt WHERE campaign_id = ? AND started_at >= ? AND (outcome IS NULL OR outcome IN ('sent', 'unknown', 'bounced', 'permanent'))", cid, midnight)
	limit = one("SELECT daily_limit FROM campaign WHERE id = ?", cid)
	fin = total - c["leads"]["queued"] - c["leads"]["active"]
	progress = round(100.0 * fin / total, 1) if total else 0.0
	checks = [
		("leads", c["leads_total"], int(row["LEADS"]), None, total),
		("queued", c["leads"]["queued"], int(row["QUEUED"]), None, c["leads"]["queued"]),
		("pending", c["queue"]["pending"], int(row["PENDING"]), metric(P, "mailq_campaign_queue", campaign=name, status="pending"), pending),
		("sending", c["queue"]["sending"], int(row["SENDING"]), metric(P, "mailq_campaign_queue", campaign=name, status="sending"), sending),
		("stuck", c["queue"]["stuck"], None, metric(P, "mailq_campaign_stuck_claims", campaign=name), stuck),
		("sent", c["messages"]["sent"], int(row["SENT"]), metric(P, "mailq_campaign_sent_total", campaign=name), c["messages"]["sent"]),
		("failed", c["messages"]["failed"], int(row["FAILED"]), metric(P, "mailq_campaign_failed_total", campaign=name), c["messages"]["failed"]),
		("bounced", c["messages"]["bounced"], int(row["BOUNCED"]), metric(P, "mailq_campaign_bounced_total", campaign=name), c["messages"]["bounced"]),
		("unknown", c["messages"]["unknown"], int(row["UNKNOWN"]), None, c["messages"]["unknown"]),
		("today", c["sent_today"], int(row["TODAY"].split("/")[0]), metric(P, "mailq_campaign_sent_today", campaign=name), today),
		("limit", c["daily_limit"], int(row["TODAY"].split("/")[1]), metric(P, "mailq_campaign_daily_limit", campaign=name), limit),
		("progress", c["progress"], float(row["PROGRESS"].rstrip("%")), round(metric(P, "mailq_campaign_progress_ratio", campaign=name) * 100, 1), progress),
		("window", c["window"]["open"], row["WINDOW"] == "open", metric(P, "mailq_campaign_window_open", campaign=name) == 1, c["window"]["state"] == "open"),
		("next", c["next_send"] or 0, None, metric(P, "mailq_campaign_next_send_timestamp_seconds", campaign=name), c["next_send"] or 0),
	]
	for what, j, t, p, want in checks:
		for got in (j, t, p):
			if got is not None and got != want:
				fail("%s %s: json %r table %r prometheus %r, want %r" % (name, what, j, t, p, want))
		n += 1
	if metric(P, "mailq_campaign_info", campaign=name, status=c["status"], sender=c["sender"]) != 1 or row["STATUS"] != c["status"]:
		fail("%s status" % name)
	if row["WINDOW"] != c["window"]["state"]:
		fail("%s window: table %r json %r" % (name, row["WINDOW"], c["window"]["state"]))
	n += 2
for m in J["mailboxes"]:
	mid = one("SELECT id FROM mailbox WHERE name = ?", m["name"])
	row = mb_rows[m["name"]]
	lab = dict(mailbox=m["name"], sender=m["sender"])
	sent = one("SELECT count(*) FROM send_log WHERE mailbox_id = ? AND status = 'sent'", mid)
	today = one("SELECT count(*) FROM attempt WHERE mailbox_id = ? AND started_at >= ? AND (outcome IS NULL OR outcome IN ('sent', 'unknown', 'bounced', 'permanent'))", mid, NOW - (NOW + 3600) % 86400)
	failing = one("SELECT failing_since IS NOT NULL FROM mailbox WHERE id = ?", mid)
	for what, j, t, p, want in [
		("sent", m["sent"], int(row["SENT"]), metric(P, "mailq_mailbox_sent_total", **lab), sent),
		("today", m["sent_today"], int(row["TODAY"].split("/")[0]), metric(P, "mailq_mailbox_sent_today", **lab), today),
		("failing", m["failing"], row["STATE"] == "failing", metric(P, "mailq_mailbox_failing", **lab) == 1, failing == 1),
	]:
		if (j, t, p) != (want, want, want):
			fail("mailbox %s %s: %r %r %r, want %r" % (m["name"], what, j, t, p, want))
		n += 1
for s in J["senders"]:
	sid = one("SELECT id FROM sender WHERE name = ?", s["name"])
	today = one("SELECT count(*) FROM attempt WHERE sender_id = ? AND started_at >= ? AND (outcome IS NULL OR outcome IN ('sent', 'unknown', 'bounced', 'permanent'))", sid, NOW - (NOW + 3600) % 86400)
	got = (s["sent_today"], int(snd_rows[s["name"]]["TODAY"].split("/")[0]), metric(P, "mailq_sender_sent_today", sender=s["name"]))
	if got != (today, today, today):
		fail("sender %s today %s, want %d" % (s["name"], got, today))
	n += 1
H = J["health"]
want = {
	"stuck": one("SELECT count(*) FROM queue WHERE status = 'sending' AND claimed_at <= ?", NOW - 600),
	"unknown": one("SELECT count(*) FROM send_log WHERE status = 'unknown'"),
	"duplicates": one("SELECT count(*) FROM (SELECT 1 FROM send_log GROUP BY campaign_id, lead_id, step HAVING count(*) > 1)"),
	"mailboxes_failing": one("SELECT count(*) FROM mailbox WHERE failing_since IS NOT NULL AND NOT retired"),
}
prom = {"stuck": "mailq_stuck_claims", "unknown": "mailq_unknown_messages",
    "duplicates": "mailq_send_log_duplicates", "mailboxes_failing": "mailq_mailboxes_failing"}
tab = {"stuck": "stuck", "unknown": "unknown", "duplicates": "duplicates", "mailboxes_failing": "mailboxes failing"}
for k, w in want.items():
	got = (H[k], metric(P, prom[k]), int(health_rows[tab[k]]["COUNT"]))
	if got != (w, w, w):
		fail("health %s: %s, want %d" % (k, got, w))
	n += 1
if want["stuck"] != 1 or want["mailboxes_failing"] != 1:
	fail("the test should have one stuck claim and one failing mailbox: %s" % want)
# the detail: the same campaign figures, steps, failures, schedule, recent
if [c for c in D["campaigns"]] != J["campaigns"]:
	fail("the detail's campaigns differ from the default view's")
d = D["detail"]
cid = one("SELECT id FROM campaign WHERE name = 'q4'")
for st in d["steps"]:
	for s, v in st["messages"].items():
		w = one("SELECT count(*) FROM send_log l JOIN variant v ON v.id = l.variant_id WHERE l.campaign_id = ? AND l.step = ? AND v.letter = ? AND l.status = ?", cid, st["step"], st["variant"], s)
		p = metric(DP, "mailq_step_messages", campaign="q4", step=str(st["step"]), variant=st["variant"], status=s)
		if (v, p) != (w, w):
			fail("step %d%s %s: %s %s, want %d" % (st["step"], st["variant"], s, v, p, w))
		n += 1
for s in ["sent", "failed", "bounced"]:
	if sum(st["messages"][s] for st in d["steps"]) != J["campaigns"][names.index("q4")]["messages"][s]:
		fail("steps do not add up to the campaign's %s" % s)
	n += 1
fails = {f["code"]: f["attempts"] for f in d["failures"]}
w = dict(db.execute("SELECT coalesce(smtp_code, 0), count(*) FROM attempt WHERE campaign_id = ? AND outcome IS NOT NULL AND outcome <> 'sent' GROUP BY 1", (cid,)).fetchall())
if {k or 0: v for k, v in fails.items()} != w or 451 not in fails or 550 not in fails:
	fail("failures by code %s, want %s with 451 and 550" % (fails, w))
n += 1
buf = one("SELECT buffer FROM campaign WHERE id = ?", cid)
if len(d["upcoming"]) != min(buf, one("SELECT count(*) FROM queue WHERE campaign_id = ? AND status = 'pending'", cid)):
	fail("upcoming: %d" % len(d["upcoming"]))
times = [u["at"] for u in d["upcoming"]]
if any(t is None or t < NOW for t in times) or times != sorted(times):
	fail("upcoming times %s" % times)
for t in times:      # Mon-Fri 09:00-17:00 in Warsaw, CET in November
	h = (t + 3600) % 86400 / 3600
	if not 9 <= h < 17 or (t + 3600) // 86400 % 7 in (2, 3):
		fail("upcoming time %d is outside the window" % t)
n += 2
rec = db.execute("SELECT a.started_at, l.email FROM attempt a JOIN send_log s ON s.id = a.send_log_id JOIN lead l ON l.id = s.lead_id WHERE a.campaign_id = ? ORDER BY a.started_at DESC, a.id DESC LIMIT 4", (cid,)).fetchall()
if [(r["at"], r["lead"]) for r in d["recent"]] != rec:
	fail("recent %s, want %s" % (d["recent"], rec))
n += 1
exec(open("answers.py").read())
print(n)
PY

cat > answers.py <<'PY'
# what came back: every new figure of the three formats against the database
from datetime import datetime
from zoneinfo import ZoneInfo
local = lambda t: datetime.fromtimestamp(t, ZoneInfo("Europe/Warsaw")).strftime("%Y-%m-%d %H:%M") if t else "-"
pct = lambda a, b: round(100.0 * a / b, 1) if b else 0.0
def agree(what, want, *got):
	global n
	for g in got:
		if g != want:
			fail("%s: got %r, want %r (all: %r)" % (what, g, want, got))
	n += 1
if J["inbox"] is not None or D["inbox"] is not None:
	fail("an inbox without --inbox")
CONTACTED = "FROM campaign_lead cl WHERE cl.campaign_id = ? AND EXISTS (SELECT 1 FROM send_log s WHERE s.campaign_id = cl.campaign_id AND s.lead_id = cl.lead_id AND s.step = 0 AND s.status IN ('sent', 'bounced', 'unknown'))"
detail_steps = parse_table(sections(open("detail.txt").read())[2])
for c in J["campaigns"]:
	name = c["name"]
	cid = one("SELECT id FROM campaign WHERE name = ?", name)
	row = ans_rows[name]
	for cls, col, metric_, labels in [
	    ("reply", "REPLIES", "mailq_campaign_replies_total", {}),
	    ("auto_reply", "AUTO-REPLIES", "mailq_campaign_auto_replies_total", {}),
	    ("hard_bounce", "HARD BOUNCES", "mailq_campaign_bounces_total", {"kind": "hard"}),
	    ("soft_bounce", "SOFT BOUNCES", "mailq_campaign_bounces_total", {"kind": "soft"}),
	    ("unsubscribe", "UNSUBSCRIBES", "mailq_campaign_unsubscribes_total", {})]:
		agree("%s %s" % (name, cls), one("SELECT count(*) FROM inbound WHERE campaign_id = ? AND class = ?", cid, cls),
		    c["inbound"][cls], int(row[col]), metric(P, metric_, campaign=name, **labels))
	resolved = one("SELECT count(*) FROM inbound WHERE campaign_id = ? AND resolved = 1", cid) + \
	    one("SELECT count(*) FROM send_log s WHERE s.campaign_id = ? AND (SELECT detail FROM attempt WHERE send_log_id = s.id ORDER BY id DESC LIMIT 1) LIKE 'found in the mailbox''s folder %'", cid)
	agree("%s resolved" % name, resolved, c["resolved"], int(row["RESOLVED"]), metric(P, "mailq_campaign_resolved_total", campaign=name))
	k, r = db.execute("SELECT count(*), count(*) FILTER (WHERE cl.status = 'replied') " + CONTACTED, (cid,)).fetchone()
	rr = c["reply_rate"]
	agree("%s contacted" % name, k, rr["contacted"], int(row["CONTACTED"]), metric(P, "mailq_campaign_contacted_leads", campaign=name))
	agree("%s replied" % name, r, rr["replied"], metric(P, "mailq_campaign_replied_leads", campaign=name))
	agree("%s reply rate" % name, pct(r, k), rr["percent"], float(row["REPLY RATE"].rstrip("%")),
	    round(metric(P, "mailq_campaign_reply_rate", campaign=name) * 100, 1))
	letters = [x[0] for x in db.execute("SELECT v.letter FROM step s JOIN variant v ON v.step_id = s.id WHERE s.campaign_id = ? AND s.number = 0 ORDER BY v.letter", (cid,))]
	agree("%s variants" % name, letters, [v["variant"] for v in c["variants"]])
	for v in c["variants"]:
		L = v["variant"]
		k, r = db.execute("SELECT count(*), count(*) FILTER (WHERE cl.status = 'replied') " + CONTACTED + " AND cl.letter = ?", (cid, L)).fetchone()
		lab = dict(campaign=name, variant=L)
		agree("%s %s contacted" % (name, L), k, v["contacted"], metric(P, "mailq_variant_contacted_leads", **lab))
		agree("%s %s replied" % (name, L), r, v["replied"], metric(P, "mailq_variant_replied_leads", **lab))
		agree("%s %s reply rate" % (name, L), pct(r, k), v["percent"], round(metric(P, "mailq_variant_reply_rate", **lab) * 100, 1))
		if name == "q4":
			t = [x for x in detail_steps if x["STEP"] == "0" and x["VARIANT"] == L]
			agree("q4 %s in the detail's table" % L, (r, pct(r, k)), (int(t[0]["REPLIED"]), float(t[0]["REPLY RATE"].rstrip("%"))))
			if r == 0:
				fail("variant %s of q4 has no reply" % L)
	if sum(v["contacted"] for v in c["variants"]) != rr["contacted"] or sum(v["replied"] for v in c["variants"]) != rr["replied"]:
		fail("%s: the variants do not add up" % name)
	n += 1
if [x["REPLIED"] for x in detail_steps if x["STEP"] != "0"] != ["-"] or \
    [c["resolved"] for c in J["campaigns"]] != [0, 2, 0]:
	fail("follow-ups have no reply rate; q4 resolved two unknown messages")
n += 1
CLASSES = ["own", "hard_bounce", "soft_bounce", "auto_reply", "unsubscribe", "reply", "unmatched", "duplicate"]
paused = 0
for m in J["mailboxes"]:
	name = m["name"]
	mid, paused_at, why, limit, window, resumed = db.execute("SELECT id, bounce_paused_at, bounce_paused_why, bounce_rate, bounce_window, coalesce(bounce_resumed_at, 0) FROM mailbox WHERE name = ?", (name,)).fetchone()
	row, mrow = in_rows[name], mb_rows[name]
	lab = dict(mailbox=name, sender=m["sender"])
	paused += paused_at is not None
	agree("%s paused" % name, paused_at is not None, m["paused"], mrow["STATE"] == "paused", metric(P, "mailq_mailbox_paused", **lab) == 1)
	agree("%s paused since" % name, (paused_at, local(paused_at or 0)), (m["paused_since"], row["PAUSED SINCE"]))
	agree("%s paused why" % name, (why, why or "-"), (m["paused_why"], row["PAUSED WHY"]))
	bounced = one("SELECT count(*) FROM (SELECT status FROM send_log WHERE mailbox_id = ? AND status IN ('sent', 'bounced', 'unknown') AND claimed_at >= ? ORDER BY claimed_at DESC LIMIT ?) WHERE status = 'bounced'", mid, resumed, window)
	b = m["bounces"]
	agree("%s bounces" % name, (bounced, window, pct(bounced, window)), (b["bounced"], b["window"], b["percent"]))
	agree("%s bounce rate" % name, "%.1f%% (%d/%d)" % (pct(bounced, window), bounced, window), row["BOUNCE RATE"])
	agree("%s bounce ratio" % name, round(bounced / window, 9), round(metric(P, "mailq_mailbox_bounce_rate", **lab), 9))
	agree("%s pause above" % name, limit, b["pause_above"], int(row["PAUSE ABOVE"].rstrip("%")), round(metric(P, "mailq_mailbox_bounce_rate_limit", **lab) * 100))
	fetched = one("SELECT coalesce(max(read_at), 0) FROM inbox_folder WHERE mailbox_id = ?", mid)
	agree("%s last fetch" % name, (fetched, local(fetched), fetched), (m["last_fetch"] or 0, row["LAST FETCH"], metric(P, "mailq_mailbox_last_fetch_timestamp_seconds", **lab)))
	ferr = one("SELECT group_concat(folder || ': ' || error, '; ') FROM inbox_folder WHERE mailbox_id = ? AND error IS NOT NULL", mid)
	agree("%s fetch error" % name, (ferr, ferr is not None, True), (m["fetch_error"], metric(P, "mailq_mailbox_fetch_failing", **lab) == 1,
	    row["FETCH ERROR"] == (ferr or "-") or (len(ferr) > 50 and row["FETCH ERROR"] == ferr[:49] + "…")))
	read = one("SELECT count(*) FROM inbound WHERE mailbox_id = ?", mid)
	agree("%s read" % name, read, m["read"], int(row["READ"]), sum(metric(P, "mailq_inbound_messages_total", mailbox=name, **{"class": k}) for k in CLASSES))
	for k in CLASSES:
		agree("%s %s" % (name, k), one("SELECT count(*) FROM inbound WHERE mailbox_id = ? AND class = ?", mid, k),
		    m["inbound"][k], metric(P, "mailq_inbound_messages_total", mailbox=name, **{"class": k}))
if paused != 1 or not any(m["fetch_error"] for m in J["mailboxes"]):
	fail("the test should have one paused mailbox and a fetch error")
n += 1
# --inbox: unmatched first, then the newest; the rest of the view unchanged
I = json.load(open("inbox.json"))
try:
	validate(I, schema, schema)
except ValueError as e:
	fail("schema: %s" % e)
if I["campaigns"] != J["campaigns"] or I["mailboxes"] != J["mailboxes"]:
	fail("--inbox changed the other figures")
n += 1
INBOX = "SELECT i.read_at, mb.name, i.folder, nullif(i.from_addr, ''), i.class, i.reason, l.email, c.name, i.resolved FROM inbound i JOIN mailbox mb ON mb.id = i.mailbox_id LEFT JOIN lead l ON l.id = i.lead_id LEFT JOIN campaign c ON c.id = i.campaign_id ORDER BY i.class = 'unmatched' DESC, i.read_at DESC, i.id DESC LIMIT ?"
want = db.execute(INBOX, (4,)).fetchall()
agree("--inbox 4 --json", want, [(x["read_at"], x["mailbox"], x["folder"], x["from"], x["class"], x["reason"], x["lead"], x["campaign"], int(x["resolved"])) for x in I["inbox"]])
want = db.execute(INBOX, (20,)).fetchall()
rows = parse_table(open("inbox.txt").read().rstrip("\n").split("\n"))
agree("--inbox table", [(local(w[0]), w[1], w[2], w[3] or "-", w[4], w[6] or "-", w[7] or "-") for w in want],
    [(r["READ"], r["MAILBOX"], r["FOLDER"], r["FROM"], r["CLASS"], r["LEAD"], r["CAMPAIGN"]) for r in rows])
for w, r in zip(want, rows):
	if not (r["REASON"] == w[5] or r["REASON"].endswith("…") and w[5].startswith(r["REASON"][:-1])):
		fail("--inbox reason %r, want %r" % (r["REASON"], w[5]))
if rows[0]["CLASS"] != "unmatched" or len(rows) != one("SELECT count(*) FROM inbound") or len(I["inbox"]) != 4:
	fail("--inbox: unmatched first, every message (fewer than 20), 4 with --inbox 4")
n += 2
PY
out=$(/usr/bin/python3 agree.py "$NOW" "$MQ_TOP/docs/stats.schema.json") || fail "$out"
CHECKS=$((CHECKS + out))
echo "# stats: $out figures agree in the table, JSON, metrics and the database"

# the detail as a table: its sections
grep -q "^STEP  VARIANT  SENT" detail.txt || fail "detail: no steps"; ok
grep -Eq "^ *451  +[0-9]+  451 4.3.0 try later" detail.txt || fail "detail: no 451 line"; ok
grep -Eq "^ *550  +1  550 5.1.1 no such user" detail.txt || fail "detail: no 550 line"; ok
eq 5 "$(sed -n '/^RECENT/,$p' detail.txt | wc -l)" "recent lines with --recent 4"
eq "$(q "SELECT count(*) FROM queue WHERE campaign_id = 1 AND status = 'pending'")" \
    "$(sed -n '/^UPCOMING/,/^$/p' detail.txt | grep -c '@example.com')" "upcoming lines"

# --- window states, aligned by display width (a holiday has Polish letters)
MAILQ_NOW=2026-12-25T10:00:00Z expect 0 mailq-stats
grep_out "^q4 .*  holiday: Boże Narodzenie \(pierwszy dzień\)  "
grep_out "^idle .*  closed until Sat 10:00  "
/usr/bin/python3 -c '
import sys
exec(open("check.py").read())
parse_table(sections(open(sys.argv[1]).read())[0])' "$T/out" || fail "table misaligned"; ok
MAILQ_NOW=2026-11-28T10:30:00Z expect 0 mailq-stats     # Saturday 11:30
grep_out "^idle .*  open  "
grep_out "^q4 .*  closed until Mon 09:00  "

# --- -o: atomic, 0644, the same text; a failure leaves the old file
mkdir prom
MAILQ_NOW=$NOW expect 0 mailq-stats --prometheus -o prom/mailq.prom
[ -s "$T/out" ] && fail "-o printed to stdout"; ok
cmp -s prom/mailq.prom stats.prom || fail "-o wrote other metrics"; ok
eq 644 "$(stat -c %a prom/mailq.prom)" "mode of the -o file"
eq 1 "$(find prom -mindepth 1 | wc -l)" "files in the output directory"
MAILQ_NOW=$NOW expect 73 mailq-stats --json -o "$T/nodir/x.json"
grep_err "^mailq-stats: $T/nodir/x\.json: No such file or directory$"
if [ "$(id -u)" != 0 ]; then
	chmod 555 prom
	MAILQ_NOW=$NOW expect 73 mailq-stats --prometheus -o prom/mailq.prom
	chmod 755 prom
	cmp -s prom/mailq.prom stats.prom || fail "a failed -o changed the file"; ok
fi

# --- a duplicate is found, not assumed (in a copy without the index)
cp mailq.db dup.db
sqlite3 dup.db "DROP INDEX send_log_once; INSERT INTO send_log (campaign_id, lead_id, step,
  status, claimed_at) SELECT campaign_id, lead_id, step, 'sent', claimed_at FROM send_log LIMIT 1"
sed 's/"mailq.db"/"dup.db"/' mailq.conf > dup.conf; chmod 600 dup.conf
MAILQ_NOW=$NOW expect 0 mailq-stats -c dup.conf --prometheus
grep_out "^mailq_send_log_duplicates 1$"

# --- read-only: works while another process holds the write lock
hold_lock mailq.db 5
start=$(date +%s%N)
MAILQ_NOW=$NOW expect 0 mailq-stats --json
[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 2000 ] || fail "mailq-stats waited for the write lock"; ok
kill "$LOCK_PID" 2>/dev/null; wait "$LOCK_PID" 2>/dev/null
smtpd_no_dupes

# --- in a loop while 8 ticks overlap: it never fails, never blocks a tick
smtpd_faults '{}'
sql mailq.db "UPDATE campaign SET daily_limit = 100000, delay = 0, buffer = 50;
  UPDATE sender SET daily_limit = 100000; UPDATE mailbox SET daily_limit = 100000"
fixture_leads bulk.csv 150 bulk Ola
expect 0 mailq-import -q q4 bulk.csv
export MAILQ_NOW=$((T0 + 1700))
( i=0; while [ ! -e "$T/stop" ]; do
	for f in "" --json --prometheus "--campaign q4"; do
		# shellcheck disable=SC2086
		mailq-stats $f >/dev/null 2>>"$T/stats.err" || { echo "exit $? ($f)" >>"$T/stats.fail"; }
		i=$((i + 1))
	done
  done; echo "$i" > "$T/stats.runs" ) &
loop=$!
for round in $(seq 12); do
	pids=""
	for p in $(seq 8); do
		mailq-tick --horizon 0 >"$T/tick.$round.$p" 2>&1 &
		pids="$pids $!"
	done
	for pid in $pids; do
		wait "$pid" || { cat "$T"/tick.$round.*; fail "a tick failed in round $round"; }
	done
	ok
done
touch "$T/stop"; wait "$loop"
[ -e "$T/stats.fail" ] && fail "mailq-stats failed during the ticks: $(cat "$T/stats.fail" "$T/stats.err")"; ok
[ -s "$T/stats.err" ] && fail "mailq-stats wrote errors: $(cat "$T/stats.err")"; ok
runs=$(cat "$T/stats.runs")
[ "$runs" -ge 8 ] || fail "only $runs runs of mailq-stats during the ticks"; ok
smtpd_no_dupes
expect 0 mailq-stats --prometheus
grep_out "^mailq_send_log_duplicates 0$"
eq "$(sql mailq.db "SELECT count(*) FROM send_log s WHERE (status = 'sent' OR status = 'bounced' AND
  EXISTS (SELECT 1 FROM inbound i WHERE i.send_log_id = s.id AND i.class = 'hard_bounce')) AND
  mailbox_id IN (SELECT id FROM mailbox WHERE name IN ('m1', 'm2', 'm4'))")" \
    "$(smtpd_count)" "sent (or bounced later) in the send log and at the server"
echo "# stats: $runs runs of mailq-stats during 12 rounds of 8 overlapping ticks"
done_checks
