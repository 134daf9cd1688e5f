# What the test server receives is a correct message: it parses with
# Python's email package, Polish text arrives intact, Message-IDs are
# unique, List-Unsubscribe is there when configured; variants split by
# weight and stay put; follow-ups thread and stop after a bounce, an
# unsubscribe or a reply; a start refuses templates with holes.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/smtp.sh"
smtpd_start
export MAILQ_CONFIG="$T/mailq.conf"
NAME="Zażółć gęślą jaźń"

# conf [EXTRA CAMPAIGN KEYS]
conf() {
	cat > mailq.conf <<CONF
database = "mailq.db";
senders = ( { name = "anna"; daily_limit = 5000; } );
mailboxes = (
  { name = "m1"; address = "anna@example.com"; display_name = "$NAME";
    sender = "anna"; daily_limit = 5000; smtp = "smtp://127.0.0.1:$SMTP_PORT"; tls = "none"; } );
campaigns = (
  { name = "pl"; sender = "anna"; mailboxes = [ "m1" ];
    schedule = { days = "MON-FRI"; start = "09:00"; end = "17:00"; };
    delay = 0; jitter = 0; daily_limit = 5000; buffer = 2000;
    ${1:-}
    steps = ( { variants = (
                  { letter = "A"; weight = 70; subject = "$NAME {{first_name}}";
                    text_file = "a.txt"; html_file = "a.html"; },
                  { letter = "B"; weight = 30; subject = "Pytanie, {{first_name|Panie}}";
                    text_file = "b.txt"; } ); },
              { wait_days = 3; variants = ( { text = "Drugi list {{first_name}}"; } ); },
              { wait_days = 2; variants = ( { text = "Trzeci"; } ); } ); } );
CONF
	chmod 600 mailq.conf
}
printf 'Dzień dobry {{first_name}},\n\n%s — zażółć gęślą jaźń. %s\n=Koniec=.\n' \
    "ZAŻÓŁĆ GĘŚLĄ JAŹŃ" "$(printf 'długa linia %.0s' $(seq 30))" > a.txt
printf '<p>Dzień dobry {{first_name}}</p>\n' > a.html
printf 'Wariant B dla {{first_name}}\n' > b.txt
leads() {   # leads N [FIELD]
	{ echo "email,first_name"
	  for i in $(seq "$1"); do echo "lead$i@example.com,${2-Łucja$i}"; done; } > leads.csv
	expect 0 mailq-import -q pl leads.csv
}
fresh() { rm -f mailq.db*; expect 0 mailq-init -q; }
newserver() { smtpd_stop; rm -rf "$SMTP_DIR"; smtpd_start; }
tick() { MAILQ_NOW=$1 expect 0 mailq-tick --horizon 0 "${@:2}"; }
start() { MAILQ_NOW=2026-11-24T08:00:00Z expect 0 mailq-campaign -q start pl; }
sent() { eq "$1" "$(smtpd_count)" "${2:-messages at the server}"; }
q() { sql mailq.db "$1"; }

# --- 1,000 messages: parse, decode, unique IDs, unsubscribe, variant split
conf 'unsubscribe_mailto = "wypisz@example.com"; unsubscribe_url = "https://example.com/u";'
fresh
leads 1000
start
tick 2026-11-24T09:00:00Z
sent 1000 "1,000 messages with delay 0"
smtpd_no_dupes
sed 's/{{first_name}}/Łucja7/' a.txt > want7.txt
f7=$(grep -l '^To: lead7@example.com' "$SMTP_DIR"/msg-*.eml)
letter7=$(q "SELECT letter FROM campaign_lead cl JOIN lead l ON l.id = cl.lead_id WHERE l.email = 'lead7@example.com'")
if [ "$letter7" = A ]; then
	expect 0 /usr/bin/python3 "$MQ_TOP/tests/msgcheck.py" "$f7" \
	    --expect-subject "$NAME Łucja7" --expect-from-name "$NAME" \
	    --expect-text-file want7.txt --expect-html
fi
/usr/bin/python3 - "$SMTP_DIR" "$NAME" > report.txt <<'PY' || fail "$(cat report.txt)"
import email, email.policy, glob, re, sys, collections
d, name = sys.argv[1], sys.argv[2]
ids, tokens, letters, bad = set(), {}, collections.Counter(), []
text_a = open("a.txt", encoding="utf-8").read()
for f in sorted(glob.glob(d + "/msg-*.eml")):
    raw = open(f, "rb").read()
    m = email.message_from_bytes(raw, policy=email.policy.default)
    to = m["To"].addresses[0].addr_spec
    n = re.search(r"lead(\d+)@", to).group(1)
    if m["From"].addresses[0].display_name != name:
        bad.append("%s: From %r" % (f, m["From"].addresses[0].display_name))
    mid = m["Message-ID"]
    if mid in ids or not mid.endswith("@example.com>"):
        bad.append("%s: Message-ID %s" % (f, mid))
    ids.add(mid)
    lu = m["List-Unsubscribe"]
    mt = re.fullmatch(r"<mailto:wypisz@example\.com\?subject=unsubscribe>,\s*"
                      r"<https://example\.com/u\?t=([0-9a-f]{32})>", lu or "")
    if mt is None or m["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click":
        bad.append("%s: List-Unsubscribe %r" % (f, lu))
    else:
        tokens[n] = mt.group(1)
    body = m.get_body(("plain",)).get_content().replace("\r\n", "\n")
    if m["Subject"] == "%s Łucja%s" % (name, n):
        letters["A"] += 1
        want = text_a.replace("{{first_name}}", "Łucja" + n)
        if body != want or m.get_body(("html",)) is None:
            bad.append("%s: A body" % f)
    elif m["Subject"] == "Pytanie, Łucja%s" % n:
        letters["B"] += 1
        if body != "Wariant B dla Łucja%s\n" % n or m.is_multipart():
            bad.append("%s: B body %r" % (f, body))
    else:
        bad.append("%s: Subject %r" % (f, m["Subject"]))
    for p in m.walk():
        if p.defects:
            bad.append("%s: defects %s" % (f, p.defects))
if len(set(tokens.values())) != 1000:
    bad.append("tokens not unique per lead: %d" % len(set(tokens.values())))
if bad:
    sys.exit("\n".join(bad[:10]))
print("%d %d %d" % (len(ids), letters["A"], letters["B"]))
PY
read -r nids na nb < report.txt
eq 1000 "$nids" "unique Message-IDs"
[ "$na" -ge 650 ] && [ "$na" -le 750 ] || fail "variant A: $na of 1000 (weights 70/30)"; ok
eq "$na" "$(q "SELECT count(*) FROM campaign_lead WHERE letter = 'A'")" "letters recorded"
eq 1000 "$(q "SELECT count(DISTINCT message_id) FROM send_log")" "Message-IDs in the send log"
echo "1,000 messages: A $na, B $nb; unique Message-IDs and unsubscribe tokens"

# --- the same split when the campaign is run again from scratch
q "SELECT l.email || ' ' || cl.letter FROM campaign_lead cl JOIN lead l ON l.id = cl.lead_id ORDER BY 1" > letters1
newserver
conf
fresh
leads 1000
start
tick 2026-11-24T09:00:00Z
q "SELECT l.email || ' ' || cl.letter FROM campaign_lead cl JOIN lead l ON l.id = cl.lead_id ORDER BY 1" > letters2
cmp -s letters1 letters2 || fail "variants differ on a rerun"; ok
! grep -q '^List-Unsubscribe' "$SMTP_DIR/msg-000001.eml" || fail "List-Unsubscribe without the settings"; ok

# --- no header can be injected
printf 'email,first_name\nx@example.com,"Jan\r\nBcc: x@y"\n' > evil.csv
expect 65 mailq-import pl evil.csv
grep_err "evil.csv:2: .*(control|line break)"
eq 0 "$(q "SELECT count(*) FROM lead WHERE email = 'x@example.com'")" "injected lead imported"
newserver
conf
fresh
leads 1
q "UPDATE lead SET fields = json_object('first_name', 'Jan' || char(13, 10) || 'Bcc: x@y')"
start
tick 2026-11-24T09:00:00Z
sent 0 "a template that renders a header break"
eq failed "$(q "SELECT status FROM send_log")" "that message"

# --- start refuses templates with holes
fresh
leads 12 ""
MAILQ_NOW=2026-11-24T08:00:00Z expect 65 mailq-campaign start pl
grep_err "12 leads without 'first_name': lead1@example.com, lead2@example.com, .*lead10@example.com and 2 more"
eq draft "$(q "SELECT status FROM campaign")" "campaign after the refusal"

# --- follow-ups thread; a bounce, an unsubscribe and a reply stop them
newserver
conf
fresh
printf 'email,first_name\na@example.com,Ala\nb@example.com,Bogdan\nc@example.com,Cezary\nd@example.com,Dorota\n' > four.csv
expect 0 mailq-import -q pl four.csv
start
tick 2026-11-24T09:00:00Z
sent 4 "step 0"
smtpd_faults '{"rcpt": {"b@example.com": "550 5.1.1 no such user"}}'
echo c@example.com | expect 0 mailq-import --suppress --reason "asked to stop" -
grep_out "added 1, already there 0, rejected 0"
expect 0 mailq-campaign replied pl d@example.com
grep_out "pl: replied 1, unchanged 0, not leads 0"
echo nobody@example.com | expect 65 mailq-campaign replied pl -
grep_err "nobody@example.com: not a lead of this campaign"
tick 2026-11-27T09:00:00Z
sent 5 "step 1 only to a (b bounced, c unsubscribed, d replied)"
tick 2026-11-30T09:00:00Z
sent 6 "step 2 to a"
tick 2026-12-07T09:00:00Z
sent 6 "nothing more"
eq "a@example.com a@example.com a@example.com b@example.com c@example.com d@example.com" \
    "$(smtpd_rcpts | sort | tr '\n' ' ' | sed 's/ $//')" "recipients"
eq "a done|b bounced|c unsubscribed|d replied" \
    "$(q "SELECT group_concat(x, '|') FROM (SELECT substr(l.email, 1, 1) || ' ' || cl.status AS x FROM campaign_lead cl JOIN lead l ON l.id = cl.lead_id ORDER BY 1)")" "lead states"
eq "asked to stop" "$(q "SELECT reason FROM suppression WHERE email = 'c@example.com'")" "suppression reason"
/usr/bin/python3 - "$SMTP_DIR" > thread.txt <<'PY' || fail "$(cat thread.txt)"
import email, email.policy, glob, sys
ms = []
for f in sorted(glob.glob(sys.argv[1] + "/msg-*.eml")):
    m = email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
    if m["To"].addresses[0].addr_spec == "a@example.com":
        ms.append(m)
assert len(ms) == 3, len(ms)
s0 = ms[0]["Subject"]
for i in (1, 2):
    assert ms[i]["In-Reply-To"] == ms[i - 1]["Message-ID"], (i, ms[i]["In-Reply-To"])
    assert ms[i]["References"] == ms[i - 1]["Message-ID"], (i, ms[i]["References"])
    assert ms[i]["Subject"] == "Re: " + s0, (i, ms[i]["Subject"])
assert ms[1].get_body(("plain",)).get_content().strip() == "Drugi list Ala", ms[1].get_body(("plain",)).get_content()
assert len({m["Message-ID"] for m in ms}) == 3
print("ok")
PY

# --- another campaign that wrote within contact_gap_days: skipped
sed -i 's/^campaigns = ($/campaigns = (\n  { name = "other"; sender = "anna"; mailboxes = [ "m1" ]; contact_gap_days = 30;\n    schedule = { days = "MON-FRI"; start = "09:00"; end = "17:00"; };\n    steps = ( { variants = ( { subject = "Inne"; text = "Inne"; } ); } ); },/' mailq.conf
expect 0 mailq-init -q
printf 'email\na@example.com\ne@example.com\n' > other.csv
expect 0 mailq-import -q other other.csv
MAILQ_NOW=2026-12-08T08:00:00Z expect 0 mailq-campaign -q start other
tick 2026-12-08T09:00:00Z
sent 7 "only the lead nobody wrote to"
eq "a skipped|e done" \
    "$(q "SELECT group_concat(x, '|') FROM (SELECT substr(l.email, 1, 1) || ' ' || cl.status AS x FROM campaign_lead cl JOIN lead l ON l.id = cl.lead_id JOIN campaign c ON c.id = cl.campaign_id WHERE c.name = 'other' ORDER BY 1)")" "contact gap"
done_checks
