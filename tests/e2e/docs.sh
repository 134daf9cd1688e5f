# Every program has a lint-clean manual page and --help; the overview and
# the config page exist; every page the README names exists.
. "$(dirname "$0")/../lib/e2e.sh"
cd "$MQ_TOP" || exit 1
for c in cmd/mailq-*.c; do
	p=$(basename "$c" .c)
	[ -f "man/$p.8" ] || fail "$p has no man/$p.8"; ok
	expect 0 "$MQ_BIN/$p" --help
	grep_out "^usage: $p"
	expect 64 "$MQ_BIN/$p" --no-such-option
	grep -q "^\.Sh EXIT STATUS" "man/$p.8" || fail "man/$p.8 has no EXIT STATUS"; ok
done
for m in man/mailq.7 man/mailq.conf.5; do
	[ -f "$m" ] || fail "$m is missing"; ok
done
out=$(mandoc -Tlint -W warning man/*.[0-9] 2>&1)
[ -z "$out" ] || fail "mandoc -Tlint: $out"; ok
done_checks
