# The fixtures the end-to-end tests and the benchmarks share, written
# once: a config of one sender, its mailboxes on the local test SMTP
# server and campaigns open every day all day with one step; a lead CSV
# of N rows; a database made, leads imported and a campaign started.
# Sourced by tests/lib/e2e.sh and bench/lib.sh; plain sh, with the mailq
# programs on PATH.
#
#   fixture_conf FILE DB PORT [KEY=VALUE...]
#                           the config at FILE (mode 0600) with its
#                           database at DB and every mailbox at
#                           smtp://127.0.0.1:PORT without TLS; the sender
#                           is anna. KEYs:
#     mailboxes=N             m1..mN, addressed anna1@example.com.. (1)
#     addresses="A..."        one mailbox per address instead, m1, m2, ..
#     connections=K           each mailbox's max_connections
#     campaigns=N|"NAME..."   c1..cN, or campaigns of these names (1)
#     spread=1                campaign i on mailbox m((i - 1) % M + 1)
#                             alone (else every campaign on every mailbox)
#     limit=L                 the daily_limit of the sender, of each
#                             mailbox and of each campaign
#     delay=S jitter=P buffer=B   each campaign's pacing
#     attempts=A backoff="S, ..." each campaign's retry
#     subject=S               the step's subject, "%n" in it the campaign's
#                             name ("Hello {{first_name}}")
#     text=T                  the step's text ("t")
#                           A key not given is left out of the config, so
#                           that mailq's default holds.
#   fixture_leads [-c] FILE N [PREFIX] [NAME]
#                           a lead CSV of N rows "PREFIXi@example.com,
#                           NAMEi" (lead, Name); -c adds a company column
#   fixture_init            mailq-init -q (MAILQ_CONFIG says where)
#   fixture_start CAMPAIGN CSV
#                           imports CSV into CAMPAIGN and starts it
#   fixture_run CMD...      how the last two run a program: exits the
#                           script if it fails (e2e.sh makes it expect 0)

fixture_conf() {
	local file=$1 db=$2 port=$3 kv a i m name list pace
	local mailboxes=1 addresses="" connections="" campaigns=1 spread=""
	local limit="" delay="" jitter="" buffer="" attempts="" backoff=""
	local subject="Hello {{first_name}}" text="t"
	shift 3
	for kv; do
		case $kv in
		mailboxes=*|addresses=*|connections=*|campaigns=*|spread=*|\
		limit=*|delay=*|jitter=*|buffer=*|attempts=*|backoff=*|\
		subject=*|text=*)
			eval "${kv%%=*}=\${kv#*=}" ;;
		*)
			echo "fixture_conf: unknown key: $kv" >&2
			exit 1 ;;
		esac
	done
	[ -n "$addresses" ] ||
	    addresses=$(seq "$mailboxes" | sed 's/.*/anna&@example.com/')
	case $campaigns in
	*[!0-9]*) ;;
	*) campaigns=$(seq "$campaigns" | sed 's/^/c/') ;;
	esac
	pace="${delay:+delay = $delay; }${jitter:+jitter = $jitter; }"
	pace="$pace${limit:+daily_limit = $limit; }${buffer:+buffer = $buffer; }"
	m=0 list=""
	{
		printf 'database = "%s";\n' "$db"
		printf 'senders = ( { name = "anna";%s } );\n' \
		    "${limit:+ daily_limit = $limit;}"
		printf 'mailboxes = ('
		for a in $addresses; do
			m=$((m + 1))
			list="$list${list:+, }\"m$m\""
			[ $m -gt 1 ] && printf ','
			printf '\n  { name = "m%d"; address = "%s"; sender = "anna";%s%s\n' \
			    $m "$a" "${limit:+ daily_limit = $limit;}" \
			    "${connections:+ max_connections = $connections;}"
			printf '    smtp = "smtp://127.0.0.1:%s"; tls = "none"; }' "$port"
		done
		printf ' );\ncampaigns = ('
		i=0
		for name in $campaigns; do
			i=$((i + 1))
			[ -n "$spread" ] && list="\"m$(( (i - 1) % m + 1 ))\""
			[ $i -gt 1 ] && printf ','
			_fixture_campaign
		done
		printf ' );\n'
	} > "$file"
	chmod 600 "$file"
}

# _fixture_campaign: campaign $name on the mailboxes $list, as
# fixture_conf's keys say (it sees fixture_conf's locals)
_fixture_campaign() {
	local s=$subject c=""
	while :; do     # every %n of the subject made the campaign's name
		case $s in
		*%n*) c=$c${s%%%n*}$name; s=${s#*%n} ;;
		*) break ;;
		esac
	done
	printf '\n  { name = "%s"; sender = "anna"; mailboxes = [ %s ];\n' \
	    "$name" "$list"
	printf '    schedule = { days = "MON-SUN"; start = "00:00"; end = "24:00"; };\n'
	[ -n "$pace" ] && printf '    %s\n' "${pace% }"
	[ -n "$attempts" ] &&
	    printf '    retry = { attempts = %s; backoff = [ %s ]; };\n' \
	    "$attempts" "$backoff"
	printf '    steps = ( { variants = ( { subject = "%s"; text = "%s"; } ); } ); }' \
	    "$c$s" "$text"
}

fixture_leads() {
	local company=""
	[ "$1" = -c ] && { company=1; shift; }
	awk -v n="$2" -v p="${3:-lead}" -v f="${4:-Name}" -v c="$company" 'BEGIN {
	    print c ? "email,first_name,company" : "email,first_name"
	    for (i = 1; i <= n; i++)
		if (c) printf "%s%d@example.com,%s%d,Company %d\n", p, i, f, i, i % 977
		else printf "%s%d@example.com,%s%d\n", p, i, f, i }' > "$1"
}

fixture_run() {
	"$@" || { echo "fixture: '$*' exited $?" >&2; exit 1; }
}
fixture_init() { fixture_run mailq-init -q; }
fixture_start() {
	fixture_run mailq-import -q "$1" "$2"
	fixture_run mailq-campaign -q start "$1"
}
