#!/bin/sh
# Benchmark of mailq-fetch: N inbound messages (default 2,000) in a
# Dovecot INBOX on 127.0.0.1, answers to N messages mailq sent (six in ten
# replies in their thread, then out-of-office notes, bounce reports,
# requests to be removed and mail from strangers), read, classified and
# applied by one mailq-fetch run; beside it, as the reference measured in
# the same run, the same messages fetched with plain libcurl over one
# connection (bench/rawfetch.c), with no parsing and no database.
# Dovecot has indexed the folder before either runs. Prints
#   fetch_msgs=2000 fetch_s=1.9 fetch_msgs_per_s=1050 fetch_peak_rss_kb=9000
#   raw_fetch_s=1.2 raw_msgs_per_s=1600 ratio=0.65
# Usage: sh bench/fetch.sh [BUILD_DIR]   (default: build)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
N=${FETCH_N:-2000}
[ -x "$B/bin/mailq-fetch" ] && [ -x "$B/bench/rawfetch" ] ||
    { echo "bench/fetch.sh: build $B and $B/bench/rawfetch first" >&2; exit 1; }
d=$(mktemp -d "${TMPDIR:-/tmp}/mailq-bench.XXXXXX")
chmod 711 "$d"              # Dovecot's own users reach their files in it
imapd() { sh "$top/tests/imapd.sh" "$@"; }
trap 'imapd stop "$d/imap" 2>/dev/null; rm -rf "$d"' EXIT
cd "$d"
mkdir imap
imapd start imap
port=$(cat imap/imap.port)
md=$(cat imap/maildir)

cat > mailq.conf <<CONF
database = "mailq.db";
senders = ( { name = "anna"; } );
mailboxes = ( { name = "m1"; address = "anna@example.com"; sender = "anna";
    smtp = "file://$d/sent.mbox"; inbox = "imap://127.0.0.1:$port";
    inbox_username = "anna@example.com"; inbox_password = "secret"; } );
campaigns = ( { name = "c1"; sender = "anna"; mailboxes = [ "m1" ];
    steps = ( { variants = ( { subject = "s"; text = "t"; } ); },
              { wait_days = 3; variants = ( { text = "f"; } ); } ); } );
CONF
chmod 600 mailq.conf
"$B/bin/mailq-init" -q -c mailq.conf
now=1795510800
sqlite3 mailq.db >/dev/null <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
UPDATE campaign SET status = 'running';
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO lead (id, email, created_at)
  SELECT i, 'lead' || i || '@company' || i || '.example', 0 FROM n;
INSERT INTO campaign_lead (campaign_id, lead_id, status, letter, next_step,
  mailbox_id, added_at, updated_at) SELECT 1, id, 'active', 'A', 1, 1, 0, 0
  FROM lead;
INSERT INTO send_log (campaign_id, lead_id, step, variant_id, mailbox_id,
  status, message_id, claimed_at, sent_at) SELECT 1, id, 0, 1, 1, 'sent',
  printf('%016x.0@example.com', id), $now - 86400, $now - 86400 FROM lead;
INSERT INTO attempt (send_log_id, campaign_id, sender_id, mailbox_id,
  started_at, ended_at, outcome) SELECT id, 1, 1, 1, claimed_at, sent_at,
  'sent' FROM send_log;
INSERT INTO queue (campaign_id, lead_id, step, variant_id, status,
  scheduled_at, mailbox_id, updated_at) SELECT 1, id, 0, 1, 'sent', 0, 1, 0
  FROM lead;
INSERT INTO queue (campaign_id, lead_id, step, variant_id, scheduled_at,
  updated_at) SELECT 1, id, 1, 2, $now + 2 * 86400, 0 FROM lead;
COMMIT;
SQL

# the inbound messages, written straight into the Maildir
/usr/bin/python3 - "$md/new" "$N" <<'PY'
import sys
new, n = sys.argv[1], int(sys.argv[2])
for i in range(1, n + 1):
    lead = "lead%d@company%d.example" % (i, i)
    orig = "%016x.0@example.com" % i
    k = i % 10
    head = "Date: Tue, 24 Nov 2026 12:00:00 +0100\r\nMessage-ID: <in%d@x.example>\r\n" % i
    if k < 6:
        m = ("From: %s\r\nTo: anna@example.com\r\nSubject: Re: s\r\n%s"
             "In-Reply-To: <%s>\r\nReferences: <%s>\r\n\r\n"
             "Thanks, let us talk.\r\n\r\n> t\r\n" % (lead, head, orig, orig))
    elif k == 6:
        m = ("From: %s\r\nTo: anna@example.com\r\nSubject: Automatic reply: s\r\n%s"
             "Auto-Submitted: auto-replied\r\nIn-Reply-To: <%s>\r\n\r\n"
             "I am out of the office.\r\n" % (lead, head, orig))
    elif k == 7:
        m = ("From: MAILER-DAEMON@mail.example.com\r\nTo: anna@example.com\r\n"
             "Subject: Undelivered Mail Returned to Sender\r\n%s"
             "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
             "report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\n"
             "Content-Type: text/plain\r\n\r\nNot delivered.\r\n--b\r\n"
             "Content-Type: message/delivery-status\r\n\r\n"
             "Reporting-MTA: dns; mail.example.com\r\n\r\n"
             "Final-Recipient: rfc822; %s\r\nAction: failed\r\n"
             "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 unknown\r\n"
             "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
             "From: anna@example.com\r\nTo: %s\r\nMessage-ID: <%s>\r\n"
             "--b--\r\n" % (head, lead, lead, orig))
    elif k == 8:
        m = ("From: someone%d@else.example\r\nTo: anna@example.com\r\n"
             "Subject: A question\r\n%s\r\nDo you sell printers?\r\n" % (i, head))
    else:
        m = ("From: %s\r\nTo: anna@example.com\r\nSubject: Re: s\r\n%s"
             "In-Reply-To: <%s>\r\n\r\nProsze mnie wypisac.\r\n" % (lead, head, orig))
    with open("%s/%010d.M1P1Q%d.bench" % (new, 1795510800 + i, i), "w") as f:
        f.write(m)
PY
chown -R --reference="$md" "$md/new"
# Dovecot indexes the folder now, not inside either measured run
curl -s "imap://127.0.0.1:$port/" -u anna@example.com:secret \
    -X 'EXAMINE INBOX' >/dev/null

/usr/bin/time -f '%e %M' -o fetch.time "$B/bin/mailq-fetch" -q -c mailq.conf
read -r secs rss < fetch.time
read_n=$(sqlite3 mailq.db 'SELECT count(*) FROM inbound')
[ "$read_n" = "$N" ] || { echo "bench/fetch.sh: read $read_n of $N" >&2; exit 1; }
ok=$(sqlite3 mailq.db "SELECT count(*) FROM inbound WHERE class IN ('reply', 'auto_reply', 'hard_bounce', 'unsubscribe') AND lead_id IS NOT NULL")
raw=$("$B/bench/rawfetch" "imap://127.0.0.1:$port/INBOX" anna@example.com secret "$N")
rs=$(echo "$raw" | sed -n 's/.*raw_fetch_s=\([^ ]*\).*/\1/p')
awk -v n="$N" -v s="$secs" -v rss="$rss" -v rs="$rs" -v ok="$ok" 'BEGIN {
	printf "fetch_msgs=%d fetch_s=%.2f fetch_msgs_per_s=%.0f fetch_peak_rss_kb=%d matched=%d\n",
	    n, s, n / s, rss, ok
	printf "raw_fetch_s=%.2f raw_msgs_per_s=%.0f ratio=%.2f\n", rs, n / rs,
	    (n / s) / (n / rs)
}'
