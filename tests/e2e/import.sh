# mailq-import end to end: the example leads, duplicates, every kind of
# reject, file-level errors, stdin, and a database that is read-only or
# locked. Where nothing may be imported, the database must not change.
. "$MQ_TOP/tests/lib/e2e.sh"

example_conf
expect 0 mailq-init
DB=$T/mailq.db
leads() { sql "$DB" "SELECT count(*) FROM lead"; }

# Usage and a missing file.
expect 64 mailq-import q4
expect 64 mailq-import q4 a.csv b.csv
snapshot "$DB"
expect 66 mailq-import q4 missing.csv
grep_err 'missing\.csv: No such file'
unchanged "$DB"

# The example file: twelve leads, UTF-8 fields, a quoted comma.
expect 0 mailq-import q4 leads.csv
grep_out '^q4: imported 12, duplicate 0, suppressed 0, rejected 0$'
eq 12 "$(leads)" "leads after import"
eq 12 "$(sql "$DB" "SELECT count(*) FROM campaign_lead cl JOIN campaign c
    ON c.id = cl.campaign_id WHERE c.name = 'q4' AND cl.status = 'queued'")" \
    "queued in q4"
eq 'Żółkiewski' "$(sql "$DB" "SELECT fields ->> '\$.last_name' FROM lead
    WHERE email = 'LUKASZ.ZOLKIEWSKI@example.org'")" "UTF-8 field"
eq 'Ćwik, Nowak i Wspólnicy' "$(sql "$DB" "SELECT fields ->> '\$.company'
    FROM lead WHERE email = 'malgorzata.cwik@example.net'")" "quoted comma"

# The same file again: all duplicates, nothing changes.
snapshot "$DB"
expect 0 mailq-import -v q4 leads.csv
grep_out '^q4: imported 0, duplicate 12, suppressed 0, rejected 0$'
grep_out '^leads\.csv:13: already in campaign$'
unchanged "$DB"
expect 0 mailq-import -q q4 leads.csv
[ -s "$T/out" ] && fail "-q printed: $(cat "$T/out")"
unchanged "$DB"

# File-level errors import nothing.
printf 'email,first_name\na@example.com,A\nb@example.com,"open\nstill open\n' \
    > unterminated.csv
expect 65 mailq-import q4 unterminated.csv
grep_err 'unterminated\.csv:3: unterminated quoted field'
unchanged "$DB"
printf 'first_name,company\nZofia,X\n' > nomail.csv
expect 65 mailq-import q4 nomail.csv
grep_err 'nomail\.csv:1: header: no email column'
unchanged "$DB"
printf 'email,first name\na@example.com,A\n' > badname.csv
expect 65 mailq-import q4 badname.csv
grep_err 'badname\.csv:1: header column 2: bad field name "first name"'
unchanged "$DB"
: > empty.csv
expect 65 mailq-import q4 empty.csv
grep_err 'empty\.csv:1: empty file'
unchanged "$DB"

# A campaign that does not exist, or has stopped.
expect 66 mailq-import nope leads.csv
grep_err "campaign 'nope': no such campaign"
unchanged "$DB"
sql "$DB" "UPDATE campaign SET status = 'stopped' WHERE name = 'q4'"
snapshot "$DB"
expect 65 mailq-import q4 leads.csv
grep_err "campaign 'q4': is stopped"
unchanged "$DB"
sql "$DB" "UPDATE campaign SET status = 'draft' WHERE name = 'q4'"

# Invalid UTF-8 in one row: --strict imports nothing, else the rest goes in.
printf '\357\273\277email,first_name\r\nu1@example.com,Ala\r\nu2@example.com,B\377\r\n\r\nu3@example.com,Ola\r\n' \
    > utf8.csv
snapshot "$DB"
expect 65 mailq-import --strict q4 utf8.csv
grep_err "^utf8\.csv:3: invalid UTF-8 in column 'first_name'$"
grep_out '^q4: nothing imported \(--strict\): 1 rejected$'
unchanged "$DB"
expect 65 mailq-import q4 utf8.csv
grep_err "^utf8\.csv:3: invalid UTF-8 in column 'first_name'$"
grep_out '^q4: imported 2, duplicate 0, suppressed 0, rejected 1$'
eq 14 "$(leads)" "leads after utf8.csv"

# Bad addresses and a header injection attempt, each named by its line.
cat > bad.csv <<'EOF'
email,first_name,company
plain-address,A,X
"two
lines@example.com",B,X
a..b@example.com,C,X
zofia@wójcik.pl,D,X
,E,X
c@example.com,"F","x
Bcc: victim@example.org"
d@example.com,G
ok@example.com,H,"Quote ""inside"", fine"
EOF
expect 65 mailq-import q4 bad.csv
grep_err '^bad\.csv:2: invalid email address "plain-address": no @$'
grep_err "^bad\.csv:3: line break \(CR or LF\) in column 'email'$"
grep_err '^bad\.csv:5: invalid email address "a\.\.b@example\.com": two dots'
grep_err '^bad\.csv:6: non-ASCII address not supported: "zofia@wójcik\.pl"$'
grep_err '^bad\.csv:7: empty email$'
grep_err "^bad\.csv:8: line break \(CR or LF\) in column 'company'$"
grep_err '^bad\.csv:10: wrong number of fields: 2, expected 3$'
grep_out '^q4: imported 1, duplicate 0, suppressed 0, rejected 7$'
eq 'Quote "inside", fine' "$(sql "$DB" "SELECT fields ->> '\$.company'
    FROM lead WHERE email = 'ok@example.com'")" "doubled quotes"
eq 0 "$(sql "$DB" "SELECT count(*) FROM lead WHERE fields LIKE '%Bcc%'")" \
    "injected header stored"

# Suppressed addresses are skipped, whatever their case; in-file repeats
# are duplicates of their first line.
sql "$DB" "INSERT INTO suppression VALUES ('Gone@Example.COM', 'bounced', 0)"
printf 'email\ngone@example.com\nnew1@example.com\nNEW1@example.com\n' \
    > supp.csv
expect 0 mailq-import -v q4 supp.csv
grep_out '^supp\.csv:2: suppressed$'
grep_out '^supp\.csv:4: duplicate of line 3$'
grep_out '^q4: imported 1, duplicate 1, suppressed 1, rejected 0$'
eq 0 "$(sql "$DB" "SELECT count(*) FROM lead WHERE email = 'gone@example.com'")" \
    "suppressed lead stored"

# stdin, named "stdin" in messages.
printf 'email,first_name\nstdin1@example.com,S\nbroken,X\n' > in.csv
expect 65 mailq-import q4 - < in.csv
grep_err '^stdin:3: invalid email address "broken": no @$'
grep_out '^q4: imported 1, duplicate 0, suppressed 0, rejected 1$'
eq 1 "$(sql "$DB" "SELECT count(*) FROM lead WHERE email = 'stdin1@example.com'")" \
    "lead from stdin"

# A read-only database. Root ignores file modes, so as root the file is
# made immutable instead; where that is not possible the case is skipped.
printf 'email\nro@example.com\n' > ro.csv
snapshot "$DB"
undo=""
trap 'chattr -i "$DB" 2>/dev/null; rm -rf "$T"' EXIT
if [ "$(id -u)" != 0 ]; then
	chmod 444 "$DB" && undo="chmod 644"
elif chattr +i "$DB" 2>/dev/null; then
	undo="chattr -i"
fi
if [ -n "$undo" ]; then
	expect 73 mailq-import q4 ro.csv
	grep_err 'read-only'
	$undo "$DB"
	unchanged "$DB"
else
	echo "note: cannot make the database read-only here; case skipped"
fi

# A database locked by another writer: EX_TEMPFAIL, nothing written.
cat > hold.py <<'EOF'
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[3]))
EOF
py=/usr/bin/python3
[ -x "$py" ] || py=python3
"$py" hold.py "$DB" "$T/locked" 20 &
holder=$!
for i in $(seq 100); do [ -f "$T/locked" ] && break; sleep 0.1; done
[ -f "$T/locked" ] || fail "lock holder did not start"
expect 75 mailq-import q4 ro.csv
grep_err 'busy'
kill $holder
wait $holder 2>/dev/null
unchanged "$DB"

# A file without a column the templates use (company, no fallback): a
# warning naming the field and the campaign; with --strict nothing goes in.
printf 'email,first_name\nnoco1@example.com,Ola\nnoco2@example.com,Ela\n' > noco.csv
snapshot "$DB"
expect 65 mailq-import --strict q4 noco.csv
grep_err "^mailq-import: noco\.csv: campaign 'q4': the templates use fields \(without a fallback\) that leads lack: .*[0-9]+ leads without 'company': .*noco1@example.com, noco2@example.com$"
grep_out '^q4: nothing imported \(--strict\): 0 rejected$'
unchanged "$DB"
expect 0 mailq-import q4 noco.csv
grep_err "^mailq-import: noco\.csv: warning: campaign 'q4': .* leads without 'company': .*noco2@example.com"
grep_out '^q4: imported 2, duplicate 0, suppressed 0, rejected 0$'
expect 0 mailq-import q4 noco.csv     # adds no lead: nothing to say
[ -s "$T/err" ] && fail "a file that adds no lead warned: $(cat "$T/err")"; ok

done_checks
