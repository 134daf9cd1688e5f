# mailq-tick against a real SMTP server: windows (weekends, hours,
# holidays, DST), pacing, daily limits, rotation, follow-ups, dry runs.
# Counts are what the server received.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/smtp.sh"
smtpd_start
export MAILQ_CONFIG="$T/mailq.conf"

# conf DELAY CAMPAIGN_LIMIT MAILBOX_LIMIT SENDER_LIMIT [EXTRA_CAMPAIGN]
conf() {
	cat > mailq.conf <<CONF
database = "mailq.db";
senders = ( { name = "anna"; daily_limit = $4; } );
mailboxes = (
  { name = "m1"; address = "anna@example.com"; display_name = "Anna Nowak";
    sender = "anna"; daily_limit = $3; smtp = "smtp://127.0.0.1:$SMTP_PORT"; tls = "none"; },
  { name = "m2"; address = "anna.nowak@example.org"; sender = "anna";
    daily_limit = $3; smtp = "smtp://127.0.0.1:$SMTP_PORT"; tls = "none"; } );
campaigns = (
  { name = "q4"; sender = "anna"; mailboxes = [ "m1", "m2" ];
    schedule = { days = "MON-FRI"; start = "09:00"; end = "17:00"; holidays = "PL"; };
    delay = $1; jitter = 20; daily_limit = $2; buffer = ${BUF:-20};
    steps = ( { variants = ( { subject = "Cześć {{first_name}}"; text = "Treść {{first_name}}"; } ); },
              { wait_days = 3; variants = ( { subject = "Re: Cześć {{first_name}}"; text = "Drugi"; } ); },
              { wait_days = 2; variants = ( { subject = "Re: Re: Cześć {{first_name}}"; text = "Trzeci"; } ); } ); }
  ${5:-} );
CONF
	chmod 600 mailq.conf
}
leads() {   # leads N [CAMPAIGN] [PREFIX]
	fixture_leads leads.csv "$1" "${3:-lead}" Łucja
	expect 0 mailq-import -q "${2:-q4}" leads.csv
}
fresh() { rm -f mailq.db*; expect 0 mailq-init -q; }
tick() { MAILQ_NOW=$1 expect 0 mailq-tick --horizon 0 "${@:2}"; }
sent() { eq "$1" "$(smtpd_count)" "${2:-messages at the server}"; }

# --- usage
expect 64 mailq-tick --horizon soon
expect 64 mailq-tick extra
conf 90 500 50 120
fresh
expect 66 mailq-tick --campaign nope

# --- windows, in time order (a send moves the campaign's pace on)
leads 12
MAILQ_NOW=2026-03-01T00:00:00Z expect 0 mailq-campaign -q start q4
tick 2026-03-27T07:59:00Z; sent 0 "Fri 27 Mar 08:59 CET"
tick 2026-03-27T08:00:00Z; sent 1 "Fri 27 Mar 09:00 CET"
tick 2026-03-30T06:59:00Z; sent 1 "Mon 30 Mar 08:59 CEST"
tick 2026-03-30T07:00:00Z; sent 2 "Mon 30 Mar 09:00 CEST (after spring DST)"
tick 2026-10-23T06:59:00Z; sent 2 "Fri 23 Oct 08:59 CEST"
tick 2026-10-23T07:00:00Z; sent 3 "Fri 23 Oct 09:00 CEST"
tick 2026-10-26T07:59:00Z; sent 3 "Mon 26 Oct 08:59 CET (after autumn DST)"
tick 2026-10-26T08:00:00Z; sent 4 "Mon 26 Oct 09:00 CET"
tick 2026-11-11T09:00:00Z; sent 4 "11 Nov, Independence Day"
tick 2026-11-24T07:59:00Z; sent 4 "Tue 24 Nov 08:59"
tick 2026-11-24T09:00:00Z; sent 5 "Tue 24 Nov 10:00"
tick 2026-11-24T16:00:00Z; sent 5 "Tue 24 Nov 17:00"
tick 2026-11-28T11:00:00Z; sent 5 "Saturday 28 Nov"
tick 2026-12-24T09:00:00Z; sent 5 "24 Dec, Christmas Eve"
tick 2026-12-28T09:00:00Z; sent 6 "Mon 28 Dec"
eq running "$(sql mailq.db "SELECT status FROM campaign")" "status once sending"
smtpd_no_dupes

# --- dry run: says what would go, changes nothing, sends nothing
snapshot mailq.db
MAILQ_NOW=2026-12-29T09:00:00Z expect 0 mailq-tick --dry-run
grep_out "q4: would send step 0 to lead7@example.com from m[12] <anna"
unchanged mailq.db
sent 6 "after a dry run"
MAILQ_NOW=2026-12-25T09:00:00Z expect 0 mailq-tick -n
grep_out "q4: window closed \(holiday: Boże Narodzenie"
smtpd_stop; rm -rf "$SMTP_DIR"; smtpd_start

# --- pacing: 90 s ± 20 %, the clock advanced in 10 s steps
conf 90 500 50 120
fresh
leads 40
MAILQ_NOW=2026-11-24T09:00:00Z expect 0 mailq-campaign -q start q4
t0=1795510800
for i in $(seq 0 10 1800); do tick $((t0 + i)); done
n=$(smtpd_count)
[ "$n" -ge 17 ] && [ "$n" -le 26 ] || fail "pacing: $n messages in 30 min at 90 s ± 20 %"; ok
gaps=$(sql mailq.db "SELECT sent_at - lag(sent_at) OVER (ORDER BY sent_at) FROM send_log WHERE status = 'sent'" | sed 1d)
min=$(echo "$gaps" | sort -n | head -1); max=$(echo "$gaps" | sort -n | tail -1)
[ "$min" -ge 72 ] || fail "pacing: a gap of $min s is under 72 s"; ok
[ "$max" -le 118 ] || fail "pacing: a gap of $max s is over 108 s + one 10 s step"; ok
# 10 s steps make the gaps 80, 90, 100 or 110 s; a fixed pace would give one
[ "$(echo "$gaps" | sort -u | wc -l)" -ge 3 ] || fail "pacing: gaps do not vary: $gaps"; ok
echo "# pacing: $n messages, gaps $min..$max s"

# --- rotation: the mailboxes take turns
m1=$(sql mailq.db "SELECT count(*) FROM send_log l JOIN mailbox m ON m.id = l.mailbox_id WHERE m.name = 'm1'")
m2=$(sql mailq.db "SELECT count(*) FROM send_log l JOIN mailbox m ON m.id = l.mailbox_id WHERE m.name = 'm2'")
[ $((m1 - m2)) -ge -1 ] && [ $((m1 - m2)) -le 1 ] || fail "rotation: m1 $m1, m2 $m2"; ok
eq "$m1" "$(grep -c '"mail_from": "anna@example.com"' "$SMTP_DIR/received.jsonl")" "messages from m1 at the server"
smtpd_stop; rm -rf "$SMTP_DIR"; smtpd_start

# --- daily limits stop at exactly the limit; sending resumes the next day
limit_case() {   # what campaign_limit mailbox_limit sender_limit expect [extra]
	smtpd_stop; rm -rf "$SMTP_DIR"; smtpd_start
	conf 0 "$2" "$3" "$4" "${6:-}"
	fresh
	leads 20
	[ -n "${6:-}" ] && leads 20 q5 other
	MAILQ_NOW=2026-11-24T09:00:00Z expect 0 mailq-campaign -q start q4
	[ -n "${6:-}" ] && MAILQ_NOW=2026-11-24T09:00:00Z expect 0 mailq-campaign -q start q5
	before=0
	for t in 09:00:00 10:00:00 12:00:00 15:00:00; do tick 2026-11-24T$t; done
	eq $((before + $5)) "$(smtpd_count)" "$1 limit on Tuesday"
	tick 2026-11-25T08:00:00Z        # Wednesday 09:00 in Warsaw
	eq $((before + 2 * $5)) "$(smtpd_count)" "$1 limit again on Wednesday"
}
limit_case campaign 3 50 120 3
limit_case mailbox 500 2 120 4          # two mailboxes of 2 each
Q5='{ name = "q5"; sender = "anna"; mailboxes = [ "m1" ];
    schedule = { days = "MON-FRI"; start = "09:00"; end = "17:00"; };
    delay = 0; steps = ( { variants = ( { subject = "s"; text = "t"; } ); } ); }'
limit_case sender 500 50 5 5 ", $Q5"
smtpd_no_dupes
smtpd_stop; rm -rf "$SMTP_DIR"; smtpd_start

# --- follow-ups: wait_days after the previous step, inside the window,
# threaded on the previous Message-ID
conf 0 500 50 120
fresh
leads 1
MAILQ_NOW=2026-11-24T09:00:00Z expect 0 mailq-campaign -q start q4
tick 2026-11-24T09:00:00Z; sent 1 "step 0 on Tuesday"
tick 2026-11-27T08:59:00Z; sent 1 "Friday before three days have passed"
tick 2026-11-27T09:00:30Z; sent 2 "step 1 on Friday"
tick 2026-11-29T09:01:00Z; sent 2 "step 2 not on Sunday"
tick 2026-11-30T08:00:00Z; sent 3 "step 2 on Monday 09:00"
tick 2026-12-07T08:00:00Z; sent 3 "nothing after the last step"
eq "done" "$(sql mailq.db "SELECT status FROM campaign_lead")" "lead after the last step"
eq "completed" "$(sql mailq.db "SELECT status FROM campaign")" "campaign with nothing left"
id0=$(smtpd_field 1 message_id)
grep -q "^In-Reply-To: $id0" "$SMTP_DIR/msg-000002.eml" || fail "step 1 is not a reply to step 0"; ok
eq "Re: Cześć Łucja1" "$(smtpd_field 2 subject)" "step 1 subject"
smtpd_stop; rm -rf "$SMTP_DIR"; smtpd_start

# --- follow-ups waiting their days do not fill the buffer
BUF=1 conf 0 500 50 120
fresh
leads 3
MAILQ_NOW=2026-11-24T09:00:00Z expect 0 mailq-campaign -q start q4
tick 2026-11-24T09:00:00Z; sent 3 "three first messages through a buffer of one"
smtpd_stop; rm -rf "$SMTP_DIR"; smtpd_start

# --- the send log is the last line of defence: a message already in it is
# skipped, logged, and the run goes on
conf 0 500 50 120
fresh
leads 3
MAILQ_NOW=2026-11-24T09:00:00Z expect 0 mailq-campaign -q start q4
MAILQ_NOW=2026-11-24T09:00:00Z expect 0 mailq-tick -n    # plans nothing for real
sql mailq.db "INSERT INTO queue (campaign_id, lead_id, step, scheduled_at, updated_at)
  SELECT 1, id, 0, 0, 0 FROM lead WHERE email = 'lead2@example.com';
  UPDATE campaign_lead SET status = 'active' WHERE lead_id = (SELECT id FROM lead WHERE email = 'lead2@example.com');
  INSERT INTO send_log (campaign_id, lead_id, step, status, claimed_at)
  SELECT 1, id, 0, 'sent', 0 FROM lead WHERE email = 'lead2@example.com'"
tick 2026-11-24T09:00:00Z
grep_err "lead2@example.com step 0 is already in the send log; skipped"
sent 2 "the two others"
smtpd_rcpts | grep -q lead2 && fail "lead2 was sent again"; ok
eq cancelled "$(sql mailq.db "SELECT q.status FROM queue q JOIN lead l ON l.id = q.lead_id WHERE l.email = 'lead2@example.com'")" "the refused item"
done_checks
