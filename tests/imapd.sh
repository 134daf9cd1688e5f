#!/bin/sh
# A Dovecot 2.3 IMAP server for the tests, unprivileged, everything under
# one directory:
#
#   sh tests/imapd.sh start DIR [--oauth URL CAFILE]
#                                    config, test CA, user, Maildir; starts it
#                                    and waits until its ports answer (on a
#                                    DIR started before: the same ports).
#                                    --oauth: AUTH=XOAUTH2 and OAUTHBEARER
#                                    too, the token checked by a POST to URL
#                                    (tests/oauthd.py's /introspect, RFC
#                                    7662; its "username" must be the login
#                                    name) over TLS verified with CAFILE;
#                                    kept for later starts of DIR. Passwords
#                                    still work
#   sh tests/imapd.sh stop DIR
#   sh tests/imapd.sh adduser DIR USER PASSWORD
#   sh tests/imapd.sh deliver DIR FILE [FOLDER]   FILE into USER's Maildir
#                                    (MQ_IMAP_USER, default anna@example.com)
#   sh tests/imapd.sh snapshot DIR   every message: folder, unique name,
#                                    flags, size; sorted, for comparing
#   sh tests/imapd.sh doveadm DIR ARGS...
#
# Files: DIR/imap.port (plain and STARTTLS), DIR/imaps.port, DIR/ca.pem
# (the CA that signed the server's certificate for 127.0.0.1 and
# localhost), DIR/maildir (anna@example.com's INBOX), DIR/dovecot.log.
# User anna@example.com has password "secret".
#
# Started by root, the mail belongs to nobody and Dovecot's login and
# internal processes run as its usual dovenull and dovecot users, so DIR
# is made traversable (0711), and its parents must be too. Started by
# anyone else, that user owns everything. Delivery is the Maildir way: a
# file written in tmp/ and renamed into new/, which Dovecot picks up on
# its own; a folder is a Maildir++ directory whose name is in IMAP
# modified UTF-7. Dovecot's delay and growing penalty after a refused
# login are off, since the tests refuse logins on purpose.
set -eu

USER1=anna@example.com
PASS1=secret

die() { echo "imapd.sh: $*" >&2; exit 1; }

abs() { (cd "$1" && pwd); }

mail_owner() {
	if [ "$(id -u)" = 0 ]; then echo nobody:nogroup; else id -un; fi
}

# Two free loopback ports (kernel chosen, then released).
free_ports() {
	python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'
}

make_certs() {
	(
		cd "$1/tls" && exec >openssl.log 2>&1
		K='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'
		openssl req -x509 $K -keyout ca.key -out ca.pem -days 7 \
		    -subj /CN=mailq-imap-test-ca
		openssl req $K -keyout server.key -out server.csr \
		    -subj /CN=localhost
		echo 'subjectAltName=DNS:localhost,IP:127.0.0.1' >san.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
		    -CAcreateserial -out server.pem -days 7 -extfile san.ext
	) || die "openssl failed: see $1/tls/openssl.log"
	cp "$1/tls/ca.pem" "$1/ca.pem"
}

adduser() {
	d=$1 u=$2 p=$3
	case $u$p in *:*|*/*) die "bad user or password: $u" ;; esac
	home=$d/mail/$u
	mkdir -p "$home/Maildir/cur" "$home/Maildir/new" "$home/Maildir/tmp"
	chown -R "$(mail_owner)" "$home"
	uid=$(stat -c %u "$home") gid=$(stat -c %g "$home")
	echo "$u:{PLAIN}$p:$uid:$gid::$home::" >>"$d/users"
}

write_conf() {
	d=$1 p1=$2 p2=$3
	if [ "$(id -u)" = 0 ]; then
		login=dovenull internal=dovecot group=dovecot
	else
		login=$(id -un) internal=$(id -un) group=$(id -gn)
	fi
	cat >"$d/dovecot.conf" <<EOF
# made by tests/imapd.sh
instance_name = mq-imapd-$p1
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
protocols = imap
listen = 127.0.0.1
default_login_user = $login
default_internal_user = $internal
default_internal_group = $group
first_valid_uid = 1
auth_mechanisms = plain login
# tests refuse logins on purpose, one after another: no delay, no penalty
# growing with each failure (it would turn a refusal into a timeout)
auth_failure_delay = 0
# loopback only: the tls = none case logs in without TLS
disable_plaintext_auth = no
ssl = yes
ssl_cert = <$d/tls/server.pem
ssl_key = <$d/tls/server.key
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $d/users
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $p1
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $p2
    ssl = yes
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
# written by start --oauth
!include_try $d/oauth.conf
EOF
	echo "$p1" >"$d/imap.port"
	echo "$p2" >"$d/imaps.port"
}

setup() {
	d=$1
	mkdir -p "$d/run" "$d/state" "$d/mail" "$d/tls"
	[ "$(id -u)" = 0 ] && chmod 711 "$d"
	make_certs "$d"
	: >"$d/users"
	chmod 644 "$d/users"
	adduser "$d" "$USER1" "$PASS1"
	echo "$d/mail/$USER1/Maildir" >"$d/maildir"
	set -- $(free_ports)
	write_conf "$d" "$1" "$2"
}

listening() {
	python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
	    "$1" 2>/dev/null
}

# The oauth2 passdb: Dovecot asks URL whether a token is active and
# whose it is (introspection_mode = post: a form with token=...).
oauth_conf() {
	d=$1 url=$2 ca=$3
	[ -f "$ca" ] || die "no CA file $ca"
	cp "$ca" "$d/oauth-ca.pem"
	cat >"$d/dovecot-oauth2.conf.ext" <<EOF
# made by tests/imapd.sh
introspection_mode = post
introspection_url = $url
username_attribute = username
active_attribute = active
active_value = true
tls_ca_cert_file = $d/oauth-ca.pem
timeout_msecs = 5000
EOF
	cat >"$d/oauth.conf" <<EOF
# made by tests/imapd.sh start --oauth
auth_mechanisms = plain login xoauth2 oauthbearer
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $d/dovecot-oauth2.conf.ext
}
EOF
	chmod 644 "$d/oauth-ca.pem" "$d/dovecot-oauth2.conf.ext" "$d/oauth.conf"
}

start() {
	[ -d "$1" ] || die "no directory $1"
	d=$(abs "$1")
	shift
	[ -f "$d/dovecot.conf" ] || setup "$d"
	case ${1:-} in
	--oauth) [ $# -eq 3 ] || die "usage: start DIR --oauth URL CAFILE"
	         oauth_conf "$d" "$2" "$3" ;;
	"")      ;;
	*)       die "start: unknown option $1" ;;
	esac
	# the daemon must not keep the caller's stdout: a caller reading it
	# to its end would wait for as long as Dovecot runs
	/usr/sbin/dovecot -c "$d/dovecot.conf" >>"$d/dovecot.log" 2>&1 </dev/null ||
	    { cat "$d/dovecot.log" >&2 2>/dev/null; die "dovecot failed"; }
	i=0
	until listening "$(cat "$d/imap.port")" &&
	    listening "$(cat "$d/imaps.port")"; do
		i=$((i + 1))
		if [ $i -ge 100 ]; then
			tail -20 "$d/dovecot.log" >&2 2>/dev/null
			stop "$d"
			die "dovecot did not answer within 10 s"
		fi
		sleep 0.1
	done
}

stop() {
	d=$(abs "$1")
	pidf=$d/run/master.pid
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	/usr/sbin/dovecot -c "$d/dovecot.conf" stop 2>/dev/null ||
	    kill "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	rm -f "$pidf"
}

# A folder name as a Maildir++ directory: modified UTF-7, "/" -> ".".
folder_dir() {
	python3 -c 'import base64, sys
out, run = [], ""
def flush():
    global run
    if run:
        b = base64.b64encode(run.encode("utf-16-be")).decode().rstrip("=")
        out.append("&" + b.replace("/", ",") + "-")
        run = ""
for c in sys.argv[1]:
    if 0x20 <= ord(c) <= 0x7e:
        flush()
        out.append("&-" if c == "&" else ("." if c == "/" else c))
    else:
        run += c
flush()
print("." + "".join(out))' "$1"
}

deliver() {
	d=$(abs "$1") f=$2 folder=${3:-INBOX}
	u=${MQ_IMAP_USER:-$USER1}
	[ -f "$f" ] || die "no file $f"
	md=$d/mail/$u/Maildir
	[ -d "$md" ] || die "no user $u"
	if [ "$folder" != INBOX ]; then
		md=$md/$(folder_dir "$folder")
		if [ ! -d "$md" ]; then
			mkdir -p "$md/cur" "$md/new" "$md/tmp"
			: >"$md/maildirfolder"
			chown -R "$(mail_owner)" "$md"
		fi
	fi
	rnd=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
	# one reading of the clock: seconds and microseconds read apart
	# could straddle a second and misorder the names
	now=$(date +%s.%N)
	n=${now%.*}.M$(echo "${now#*.}" | cut -c1-6)P$$Q$rnd.mq-test
	cp "$f" "$md/tmp/$n"
	chown "$(mail_owner)" "$md/tmp/$n"
	mv "$md/tmp/$n" "$md/new/$n"
	echo "$n"
}

# "folder unique-name flags size", one line a message, sorted. Where a
# message sits (new/ or cur/) is left out: Dovecot moves new mail to cur/
# when a folder is opened, which is its bookkeeping, not a change.
snapshot() {
	d=$(abs "$1")
	root=$d/mail/${MQ_IMAP_USER:-$USER1}/Maildir
	for md in "$root" "$root"/.[!.]*; do
		[ -d "$md/cur" ] || continue
		name=${md#"$root"}
		name=${name#/}
		for f in "$md"/new/* "$md"/cur/*; do
			[ -f "$f" ] || continue
			b=${f##*/}
			case $b in *:2,*) flags=${b#*:2,} ;; *) flags= ;; esac
			echo "${name:-INBOX} ${b%%:*} [$flags] $(stat -c %s "$f")"
		done
	done | LC_ALL=C sort
}

[ $# -ge 2 ] ||
    die "usage: imapd.sh start|stop|adduser|deliver|snapshot|doveadm DIR ..."
cmd=$1 dir=$2
shift 2
case $cmd in
start)    start "$dir" "$@" ;;
stop)     stop "$dir" ;;
adduser)  [ $# -eq 2 ] || die "usage: adduser DIR USER PASSWORD"
          adduser "$(abs "$dir")" "$1" "$2" ;;
deliver)  [ $# -ge 1 ] || die "usage: deliver DIR FILE [FOLDER]"
          deliver "$dir" "$@" ;;
snapshot) snapshot "$dir" ;;
doveadm)  exec /usr/bin/doveadm -c "$(abs "$dir")/dovecot.conf" "$@" ;;
*)        die "unknown command $cmd" ;;
esac
