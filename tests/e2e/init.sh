# mailq-init: creation, idempotence, upgrades of the config, refusals that
# leave the database unchanged, and the documented exit codes.
. "$(dirname "$0")/../lib/e2e.sh"

write_conf() {   # write_conf [DELAY] [EXTRA_CAMPAIGN] [STEP2]
	cat > mailq.conf <<CONF
database = "mailq.db";
senders = ( { name = "anna"; daily_limit = 120; } );
mailboxes = (
  { name = "anna-1"; address = "anna@example.com"; display_name = "Anna Nowak";
    sender = "anna"; daily_limit = 50; smtp = "smtp://127.0.0.1:2525"; tls = "none"; },
  { name = "anna-2"; address = "anna.nowak@example.com"; sender = "anna";
    daily_limit = 40; smtp = "smtp://127.0.0.1:2525"; tls = "none"; } );
campaigns = (
  { name = "q4"; sender = "anna"; mailboxes = [ "anna-1", "anna-2" ];
    schedule = { days = "MON-FRI"; start = "09:00"; end = "17:00"; holidays = "PL"; };
    delay = ${1:-90};
    steps = ( { variants = ( { subject = "Cześć {{first_name}}"; text = "A"; },
                             { subject = "Dzień dobry"; text = "B"; } ); }
              ${3:-} ); }
  ${2:-} );
CONF
	chmod 600 mailq.conf
}
export MAILQ_CONFIG="$T/mailq.conf"
STEP2=', { wait_days = 3; variants = ( { subject = "Re: Cześć"; text = "F"; } ); }'
Q5=', { name = "q5"; sender = "anna"; mailboxes = [ "anna-2" ]; steps = ( { variants = ( { subject = "s"; text = "t"; } ); } ); }'

# usage, help, version
expect 64 mailq-init --bogus
grep_err "Try 'mailq-init --help'"
expect 0 mailq-init --help
grep_out "usage: mailq-init"
expect 0 mailq-init -V
grep_out "^mailq-init [0-9]"
expect 66 mailq-init -c "$T/nothing.conf"
grep_err "nothing.conf"

# creation and idempotence
write_conf 90 "" "$STEP2"
expect 0 mailq-init --check
grep_out "mailq.conf: ok"
[ ! -e mailq.db ] || fail "--check created a database"; ok
expect 0 mailq-init
grep_out "created \(schema [0-9]+\)"
V=$(sed -n 's/.*created (schema \([0-9]*\)).*/\1/p' "$T/out")
[ "$V" -gt 1 ] || fail "a new database stopped at schema $V"; ok
grep_out "sender added 1, mailbox added 2, campaign added 1, step added 2, variant added 3"
eq "$V" "$(sql mailq.db 'PRAGMA user_version')" "schema version"
schema() { sql "$1" "SELECT type, name, sql FROM sqlite_schema ORDER BY type, name"; }
schema mailq.db > "$T/schema.new"
eq wal "$(sql mailq.db 'PRAGMA journal_mode')" "journal mode"
eq "draft|90|31|540|1020|PL" "$(sql mailq.db "SELECT status, delay, days, start_min, end_min, holidays FROM campaign")" "campaign row"
eq "anna-1,anna-2" "$(sql mailq.db "SELECT group_concat(m.name) FROM campaign_mailbox cm JOIN mailbox m ON m.id = cm.mailbox_id ORDER BY position")" "rotation"
snapshot mailq.db
expect 0 mailq-init
grep_out "no changes"
unchanged mailq.db
expect 0 mailq-init -q
[ -s "$T/out" ] && fail "-q printed: $(cat "$T/out")"; ok

# no secrets in the database
sql mailq.db .dump | grep -qi password && fail "a password column in the schema"; ok

# bad configs change nothing and name the line
snapshot mailq.db
printf 'database = "mailq.db";\nsenders = ( { name = "anna"; daily_limit = ; } );\n' > mailq.conf
expect 78 mailq-init
grep_err "mailq.conf:2"
unchanged mailq.db
write_conf 90 "" "$STEP2"
sed -i 's/delay = 90;/delay = 90; dealy = 5;/' mailq.conf
expect 78 mailq-init
grep_err "mailq.conf:1[0-9].*dealy"
unchanged mailq.db
expect 78 mailq-init --check
unchanged mailq.db

# secrets: a password in a config others can read is refused
write_conf 90 "" "$STEP2"
sed -i 's/tls = "none"; },/tls = "none"; username = "anna"; password = "sekret"; },/' mailq.conf
chmod 644 mailq.conf
expect 77 mailq-init
grep_err "chmod 600"
unchanged mailq.db
chmod 600 mailq.conf
expect 0 mailq-init
sql mailq.db .dump | grep -q sekret && fail "the password reached the database"; ok

# changes are applied in place
write_conf 120 "$Q5" "$STEP2"
expect 0 mailq-init
grep_out "campaign changed 1"
grep_out "campaign added 1"
eq 120 "$(sql mailq.db "SELECT delay FROM campaign WHERE name = 'q4'")" "new delay"

# a removed step without history is deleted
write_conf 120 "$Q5" ""
expect 0 mailq-init
grep_out "step removed 1, variant removed 1"

# a campaign with leads cannot silently leave the config
sql mailq.db "INSERT INTO lead (id, email, created_at) VALUES (1, 'zofia@example.com', 0);
  INSERT INTO campaign_lead (campaign_id, lead_id, added_at, updated_at)
  SELECT id, 1, 0, 0 FROM campaign WHERE name = 'q5'"
write_conf 120 "" ""
snapshot mailq.db
expect 78 mailq-init
grep_err "campaign 'q5'.*--force"
unchanged mailq.db
expect 0 mailq-init --force
grep_out "campaign retired 1"
eq "1|stopped" "$(sql mailq.db "SELECT retired, status FROM campaign WHERE name = 'q5'")" "retired campaign"
expect 0 mailq-init
grep_out "no changes"

# a campaign with sent messages likewise
sql mailq.db "INSERT INTO send_log (campaign_id, lead_id, step, status, claimed_at)
  SELECT id, 1, 0, 'sent', 0 FROM campaign WHERE name = 'q4'"
cat > mailq.conf <<'CONF'
senders = ( { name = "anna"; } );
mailboxes = ( { name = "anna-1"; address = "anna@example.com"; sender = "anna";
    smtp = "smtp://127.0.0.1:2525"; tls = "none"; } );
campaigns = ( );
CONF
chmod 600 mailq.conf
snapshot mailq.db
expect 78 mailq-init
unchanged mailq.db

# a read-only database is refused with EX_CANTCREAT
write_conf 120 "" ""
chmod 644 mailq.conf
chmod 444 mailq.db
expect 73 unprivileged mailq-init
grep_err "read-only"
unchanged mailq.db
chmod 644 mailq.db

# a locked database: EX_TEMPFAIL after the busy timeout, nothing changed
write_conf 60 "" ""
hold_lock mailq.db 8
expect 75 mailq-init
grep_err "busy"
kill "$LOCK_PID" 2>/dev/null; wait
unchanged mailq.db

# a version 1 database (schema.sql alone) is refused by the other programs
# and upgraded by mailq-init to the schema a new database gets
rm -f mailq.db*
sqlite3 mailq.db < "$MQ_TOP/schema.sql"
eq 1 "$(sql mailq.db 'PRAGMA user_version')" "a version 1 database"
expect 78 mailq-stats
grep_err "schema version 1 is older.*run mailq-init"
expect 0 mailq-init
grep_out "upgraded schema 1 to $V"
grep_out "sender added 1"
eq "$V" "$(sql mailq.db 'PRAGMA user_version')" "upgraded schema version"
eq wal "$(sql mailq.db 'PRAGMA journal_mode')" "journal mode after the upgrade"
schema mailq.db > "$T/schema.up"
cmp -s "$T/schema.new" "$T/schema.up" || {
	diff "$T/schema.new" "$T/schema.up" | head -20 >&2
	fail "the upgraded schema differs from a new database's"
}; ok
expect 0 mailq-stats
expect 0 mailq-init
grep_out "no changes"

# a bad config creates no database
rm -f mailq.db*
sed -i 's/"anna-1", "anna-2"/"anna-1", "nobody"/' mailq.conf
expect 78 mailq-init
[ ! -e mailq.db ] || fail "a failed init left a database"; ok
done_checks
