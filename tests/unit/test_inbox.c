/*
 * Unit tests for inbound mail (lib/inbox.c and its sources): the folder
 * name encoder and the IMAP wire reader on their own; then real sessions
 * against a Dovecot started with tests/imapd.sh (found under $MQ_TOP,
 * else "."), over STARTTLS with a test CA, implicit TLS and plain; then a
 * Maildir made here. Messages are delivered with CRLF line ends, as IMAP
 * hands them out, so a fetch must give back the very bytes of the file.
 * The point of it all: after every read, the mailbox is as it was, down
 * to each message's flags.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "imap_wire.h"
#include "inbox.h"
#include "utf7.h"

#define DOVECOT "/usr/sbin/dovecot"
#define MB      (1024 * 1024)

enum { M1, M2, M3, SPAM, WYS, NMSG };

static struct {
	char  scratch[256];
	char  top[256];
	int   have_dovecot;
	char  dir[300];             /* the server's directory */
	int   imap_port, imaps_port;
	char  ca[320];
	char  big[320];
	char *before;               /* snapshot after delivery */
} T;

static char msgfile[NMSG][320];        /* the messages, delivered or put */

/* m1 holds lines that would pass for responses, were literals read as
 * lines: the reader must skip them by count. */
static const char *const BODY[NMSG] = {
	"From: Lead <lead@example.org>\r\n"
	"To: anna@example.com\r\n"
	"Subject: Re: hello\r\n"
	"Message-ID: <m1.reply@example.org>\r\n"
	"\r\n"
	"Thanks. A line ending like a literal {5}\r\n"
	"* 9 FETCH (UID 99 RFC822.SIZE 1)\r\n"
	"M5 OK done\r\n"
	"M6 OK done\r\n"
	"M7 OK done\r\n"
	"M8 OK done\r\n"
	"* SEARCH 1 2 3\r\n",

	"From: Other <other@example.org>\r\n"
	"Subject: two\r\n"
	"Message-ID:\r\n"
	" <m2.folded@example.org>\r\n"
	"\r\n"
	"second\r\n",

	NULL,                        /* m3: made by setup, 3000 bytes */

	"From: x@spam.example\r\n"
	"Subject: buy\r\n"
	"\r\n"
	"spam\r\n",

	"From: anna@example.com\r\n"
	"Subject: =?UTF-8?Q?wys=C5=82ane?=\r\n"
	"\r\n"
	"sent\r\n",
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f;
	char *buf;
	long n;

	assert_non_null(f = fopen(path, "rb"));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	assert_true((n = ftell(f)) >= 0);
	rewind(f);
	assert_non_null(buf = malloc(n + 1));
	assert_int_equal(fread(buf, 1, n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = n;
	return buf;
}

static void spit(const char *path, const char *s, size_t n)
{
	FILE *f;

	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(s, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* The output of a shell command, malloc'd; fails the test if it fails. */
static char *run(const char *fmt, ...)
{
	char cmd[2048], chunk[4096], *out = NULL;
	size_t len = 0, n;
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	assert_non_null(p = popen(cmd, "r"));
	assert_non_null(out = malloc(1));
	while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) {
		assert_non_null(out = realloc(out, len + n + 1));
		memcpy(out + len, chunk, n);
		len += n;
	}
	out[len] = '\0';
	if (pclose(p) != 0)
		fail_msg("failed: %s", cmd);
	return out;
}

static void deliver(const char *file, const char *folder)
{
	free(run("sh '%s/tests/imapd.sh' deliver '%s' '%s' '%s'", T.top,
	    T.dir, file, folder));
}

static int read_int(const char *path)
{
	size_t n;
	char *s = slurp(path, &n);
	int v = atoi(s);

	free(s);
	return v;
}

/* A message of about size bytes: a header, then 76-byte lines. */
static void make_message(const char *path, size_t size, const char *id)
{
	char *s, head[200];
	size_t h, i;

	h = snprintf(head, sizeof head, "From: lead@example.org\r\n"
	    "Message-ID: <%s>\r\nSubject: big\r\n\r\n", id);
	assert_non_null(s = malloc(size + 80));
	memcpy(s, head, h);
	for (i = h; i + 78 <= size; i += 78) {
		memset(s + i, 'a' + (char)(i / 78 % 26), 76);
		memcpy(s + i + 76, "\r\n", 2);
	}
	spit(path, s, i);
	free(s);
}

static int start_dovecot(void)
{
	static const char *folders[NMSG] = { "INBOX", "INBOX", "INBOX",
	    "Spam", "Wysłane" };
	char path[400];

	snprintf(T.dir, sizeof T.dir, "%s/imapd", T.scratch);
	assert_int_equal(mkdir(T.dir, 0700), 0);
	free(run("sh '%s/tests/imapd.sh' start '%s' 2>&1", T.top, T.dir));
	snprintf(path, sizeof path, "%s/imap.port", T.dir);
	T.imap_port = read_int(path);
	snprintf(path, sizeof path, "%s/imaps.port", T.dir);
	T.imaps_port = read_int(path);
	snprintf(T.ca, sizeof T.ca, "%s/ca.pem", T.dir);
	for (int i = 0; i < NMSG; i++)
		deliver(msgfile[i], folders[i]);
	snprintf(T.big, sizeof T.big, "%s/big.eml", T.scratch);
	make_message(T.big, 20 * MB, "big@example.org");
	deliver(T.big, "Big");
	T.before = run("sh '%s/tests/imapd.sh' snapshot '%s'", T.top, T.dir);
	return 0;
}

static int setup(void **state)
{
	const char *top = getenv("MQ_TOP") != NULL ? getenv("MQ_TOP") : ".";
	const char *tmpdir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") :
	    "/tmp";

	(void)state;
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	snprintf(T.top, sizeof T.top, "%s", top);
	snprintf(T.scratch, sizeof T.scratch, "%s/mq-inbox.XXXXXX", tmpdir);
	assert_non_null(mkdtemp(T.scratch));
	/* Dovecot started by root reads its files as other users */
	assert_int_equal(chmod(T.scratch, 0711), 0);
	for (int i = 0; i < NMSG; i++) {
		snprintf(msgfile[i], sizeof msgfile[i], "%s/m%d.eml", T.scratch,
		    i + 1);
		if (BODY[i] != NULL)
			spit(msgfile[i], BODY[i], strlen(BODY[i]));
		else
			make_message(msgfile[i], 3000, "m3@example.org");
	}
	T.have_dovecot = access(DOVECOT, X_OK) == 0;
	return T.have_dovecot ? start_dovecot() : 0;
}

static int teardown(void **state)
{
	char cmd[1200];

	(void)state;
	if (T.have_dovecot) {
		snprintf(cmd, sizeof cmd, "sh '%s/tests/imapd.sh' stop '%s'",
		    T.top, T.dir);
		if (system(cmd) != 0)
			return -1;
	}
	free(T.before);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", T.scratch);
	curl_global_cleanup();
	return system(cmd) == 0 ? 0 : -1;
}

static void need_dovecot(void)
{
	if (!T.have_dovecot) {
		print_message("skipped: needs " DOVECOT " (scripts/deps "
		    "installs dovecot-imapd)\n");
		skip();
	}
}

static void test_utf7(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "INBOX", "INBOX" },
		{ "Wysłane", "Wys&AUI-ane" },
		{ "a&b", "a&-b" },
		{ "~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
		{ "Entwürfe/Öl", "Entw&APw-rfe/&ANY-l" },
		{ "😀x", "&2D3eAA-x" },
		{ "", "" },
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		assert_int_equal(mq_utf7_encode(buf, sizeof buf, t[i].in), 0);
		assert_string_equal(buf, t[i].out);
	}
	assert_int_equal(mq_utf7_encode(buf, sizeof buf, "a\tb"), -1);
	assert_int_equal(mq_utf7_encode(buf, sizeof buf, "\xc3"), -1);
	assert_int_equal(mq_utf7_encode(buf, sizeof buf, "\xc0\xaf"), -1);
	assert_int_equal(mq_utf7_encode(buf, 5, "Wysłane"), -1);
}

/* A tag inside a literal is not the end; items in any order; quoting. */
static void test_wire(void **state)
{
	static const char r[] =
	    "* 1 FETCH (FLAGS (\\Seen) UID 7 BODY[] {13}\r\n"
	    "M1 OK fake\r\n"
	    " RFC822.SIZE 13)\r\n"
	    "* 2 FETCH (FLAGS (\\Recent))\r\n"
	    "* OK [UIDVALIDITY 42] ok\r\n"
	    "* SEARCH\r\n"
	    "M1 OK done\r\n";
	struct mq_wire_scan st = { 0 };
	struct mq_wire_fetch f;
	const char *p;
	size_t off = 0, n;
	long long v;
	char q[32], text[64];
	int any;

	(void)state;
	for (size_t len = 0; len < sizeof r - 1; len++)
		assert_int_equal(mq_wire_scan(&st, r, len, "M1"), 0);
	assert_int_equal(mq_wire_scan(&st, r, sizeof r - 1, "M1"), 1);
	assert_string_equal(r + st.tagged, "M1 OK done\r\n");
	assert_int_equal(mq_wire_status(r + st.tagged, st.end - st.tagged,
	    "M1", text, sizeof text), MQ_WIRE_OK);
	assert_true(mq_wire_next(r, sizeof r - 1, &off, &p, &n));
	assert_int_equal(mq_wire_fetch(p, n, &f), 1);
	assert_int_equal(f.uid, 7);
	assert_int_equal(f.size, 13);
	assert_int_equal(f.body_len, 13);
	assert_memory_equal(f.body, "M1 OK fake\r\n ", 13);
	assert_true(mq_wire_next(r, sizeof r - 1, &off, &p, &n));
	assert_int_equal(mq_wire_fetch(p, n, &f), 1);
	assert_int_equal(f.uid, 0);
	assert_true(mq_wire_next(r, sizeof r - 1, &off, &p, &n));
	assert_int_equal(mq_wire_fetch(p, n, &f), 0);
	assert_true(mq_wire_uidvalidity(p, n, &v));
	assert_int_equal(v, 42);
	assert_true(mq_wire_next(r, sizeof r - 1, &off, &p, &n));
	assert_int_equal(mq_wire_search(p, n, &any), 1);
	assert_int_equal(any, 0);
	assert_int_equal(mq_wire_search("* SEARCH 4\r\n", 12, &any), 1);
	assert_int_equal(any, 1);
	assert_int_equal(mq_wire_fetch("* 1 FETCH (UID)\r\n", 17, &f), -1);
	assert_int_equal(mq_wire_quote(q, sizeof q, "a\"b\\c"), 0);
	assert_string_equal(q, "\"a\\\"b\\\\c\"");
	assert_int_equal(mq_wire_quote(q, sizeof q, "a\r\n"), -1);
	assert_int_equal(mq_wire_quote(q, sizeof q, "ł"), -1);
}

static struct mq_inbox_opts imap_opts(const char *scheme, int port,
    enum mq_tls tls)
{
	static char url[4][64];
	static int next;
	struct mq_inbox_opts o = {
		.username = "anna@example.com", .password = "secret",
		.tls = tls, .verify = 1, .ca_file = T.ca,
		.connect_timeout = 5, .timeout = 10, .max_size = 10 * MB,
	};

	next = (next + 1) % 4;
	snprintf(url[next], sizeof url[next], "%s://127.0.0.1:%d", scheme,
	    port);
	o.url = url[next];
	return o;
}

static struct mq_inbox *open_ok(const struct mq_inbox_opts *o)
{
	struct mq_inbox *in;
	struct mq_err err;
	int rc = mq_inbox_open(&in, o, &err);

	if (rc != MQ_OK)
		fail_msg("open %s: %s", o->url, err.msg);
	return in;
}

static long long folder_ok(struct mq_inbox *in, const char *folder)
{
	struct mq_err err;
	long long v = -1;

	if (mq_inbox_folder(in, folder, &v, &err) != MQ_OK)
		fail_msg("folder %s: %s", folder, err.msg);
	return v;
}

static struct mq_inbox_item *list_ok(struct mq_inbox *in, long long after,
    int *n)
{
	struct mq_inbox_item *items;
	struct mq_err err;

	if (mq_inbox_list(in, after, &items, n, &err) != MQ_OK)
		fail_msg("list: %s", err.msg);
	return items;
}

/* Fetches item and checks it is exactly the bytes of file (or of its
 * header, up to and with the empty line, when headers_only). */
static void fetch_is(struct mq_inbox *in, const struct mq_inbox_item *item,
    const char *file, int headers_only)
{
	struct mq_err err;
	size_t len, want;
	char *buf, *exp, *end;
	int ho = -1;

	if (mq_inbox_fetch(in, item, &buf, &len, &ho, &err) != MQ_OK)
		fail_msg("fetch %s: %s", item->ref, err.msg);
	exp = slurp(file, &want);
	if (headers_only) {
		assert_non_null(end = strstr(exp, "\r\n\r\n"));
		want = end + 4 - exp;
	}
	assert_int_equal(ho, headers_only);
	assert_int_equal(len, want);
	assert_memory_equal(buf, exp, want);
	assert_int_equal(buf[len], '\0');
	free(exp);
	free(buf);
}

/* The INBOX over STARTTLS: three messages, oldest first, byte for byte. */
static void test_imap_starttls(void **state)
{
	struct mq_inbox_opts o = imap_opts("imap", 0, MQ_TLS_STARTTLS);
	struct mq_inbox_item *items;
	struct mq_inbox *in;
	int n;

	(void)state;
	need_dovecot();
	o = imap_opts("imap", T.imap_port, MQ_TLS_STARTTLS);
	in = open_ok(&o);
	assert_true(folder_ok(in, "INBOX") > 0);
	items = list_ok(in, 0, &n);
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++) {
		assert_true(items[i].uid > (i > 0 ? items[i - 1].uid : 0));
		assert_int_equal(atoll(items[i].ref), items[i].uid);
		fetch_is(in, &items[i], msgfile[M1 + i], 0);
	}
	free(items);
	mq_inbox_close(in);
}

static void test_imap_implicit_and_plain(void **state)
{
	struct mq_inbox_opts o;
	struct mq_inbox_item *items;
	struct mq_inbox *in;
	int n;

	(void)state;
	need_dovecot();
	o = imap_opts("imaps", T.imaps_port, MQ_TLS_IMPLICIT);
	in = open_ok(&o);
	folder_ok(in, "INBOX");
	items = list_ok(in, 0, &n);
	assert_int_equal(n, 3);
	fetch_is(in, &items[0], msgfile[M1], 0);
	free(items);
	mq_inbox_close(in);

	o = imap_opts("imap", T.imap_port, MQ_TLS_NONE);
	o.ca_file = NULL;
	in = open_ok(&o);
	folder_ok(in, "INBOX");
	items = list_ok(in, 0, &n);
	assert_int_equal(n, 3);
	fetch_is(in, &items[1], msgfile[M2], 0);
	free(items);
	mq_inbox_close(in);
}

static void open_fails(const struct mq_inbox_opts *o, int want, int ex)
{
	struct mq_inbox *in = (struct mq_inbox *)1;
	struct mq_err err;

	int rc = mq_inbox_open(&in, o, &err);

	print_message("# %s\n", err.msg);
	assert_int_equal(rc, want);
	assert_null(in);
	if (ex != 0)
		assert_int_equal(err.ex, ex);
	if (o->password != NULL)
		assert_null(strstr(err.msg, o->password));
}

/* A loopback port that nobody listens on. */
static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	int fd, port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void test_imap_refusals(void **state)
{
	struct mq_inbox_opts o;
	char url[128];

	(void)state;
	need_dovecot();
	o = imap_opts("imap", T.imap_port, MQ_TLS_STARTTLS);
	o.password = "Wr0ng-Pa55";
	open_fails(&o, MQ_PERM, EX_NOPERM);
	o = imap_opts("imaps", T.imaps_port, MQ_TLS_IMPLICIT);
	o.password = "Wr0ng-Pa55";
	open_fails(&o, MQ_PERM, EX_NOPERM);
	/* the server's certificate is not trusted without the test CA */
	o = imap_opts("imaps", T.imaps_port, MQ_TLS_IMPLICIT);
	o.ca_file = NULL;
	open_fails(&o, MQ_PERM, EX_NOPERM);
	o = imap_opts("imap", closed_port(), MQ_TLS_STARTTLS);
	open_fails(&o, MQ_TEMP, EX_TEMPFAIL);
	o = imap_opts("imap", T.imap_port, MQ_TLS_STARTTLS);
	snprintf(url, sizeof url, "imap://127.0.0.1:%d/INBOX", T.imap_port);
	o.url = url;
	open_fails(&o, MQ_PERM, EX_CONFIG);
	snprintf(url, sizeof url, "imap://anna:Wr0ng-Pa55@127.0.0.1:%d",
	    T.imap_port);
	o.password = "Wr0ng-Pa55";
	open_fails(&o, MQ_PERM, EX_CONFIG);
	o.url = "pop3://127.0.0.1";
	open_fails(&o, MQ_PERM, EX_CONFIG);
	o = imap_opts("imap", T.imap_port, MQ_TLS_IMPLICIT);
	open_fails(&o, MQ_PERM, EX_CONFIG);
}

/* after_uid; "n:*" names the highest UID even when it is below n. */
static void test_imap_after_uid(void **state)
{
	struct mq_inbox_opts o;
	struct mq_inbox_item *all, *items;
	struct mq_inbox *in;
	int n, m;

	(void)state;
	need_dovecot();
	o = imap_opts("imap", T.imap_port, MQ_TLS_STARTTLS);
	in = open_ok(&o);
	folder_ok(in, "INBOX");
	all = list_ok(in, 0, &n);
	assert_int_equal(n, 3);
	items = list_ok(in, all[0].uid, &m);
	assert_int_equal(m, 2);
	assert_int_equal(items[0].uid, all[1].uid);
	free(items);
	items = list_ok(in, all[2].uid, &m);
	assert_int_equal(m, 0);
	free(items);
	items = list_ok(in, all[2].uid + 100, &m);
	assert_int_equal(m, 0);
	free(items);
	free(all);
	mq_inbox_close(in);
}

static void test_imap_headers_only(void **state)
{
	struct mq_inbox_opts o;
	struct mq_inbox_item *items;
	struct mq_inbox *in;
	struct timespec t0, t1;
	int n;

	(void)state;
	need_dovecot();
	o = imap_opts("imap", T.imap_port, MQ_TLS_STARTTLS);
	o.max_size = 1000;
	in = open_ok(&o);
	folder_ok(in, "INBOX");
	items = list_ok(in, 0, &n);
	assert_int_equal(n, 3);
	assert_true(items[2].size > 1000);
	fetch_is(in, &items[0], msgfile[M1], 0);
	fetch_is(in, &items[2], msgfile[M3], 1);
	free(items);
	mq_inbox_close(in);

	o.max_size = 10 * MB;
	in = open_ok(&o);
	folder_ok(in, "Big");
	items = list_ok(in, 0, &n);
	assert_int_equal(n, 1);
	assert_true(items[0].size > 19 * MB);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fetch_is(in, &items[0], T.big, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	free(items);
	mq_inbox_close(in);
}

static void test_imap_folders(void **state)
{
	struct mq_inbox_opts o;
	struct mq_inbox_item *items;
	struct mq_inbox *in;
	struct mq_err err;
	long long v = -1;
	int n;

	(void)state;
	need_dovecot();
	o = imap_opts("imaps", T.imaps_port, MQ_TLS_IMPLICIT);
	in = open_ok(&o);
	folder_ok(in, "Spam");
	items = list_ok(in, 0, &n);
	assert_int_equal(n, 1);
	fetch_is(in, &items[0], msgfile[SPAM], 0);
	free(items);
	folder_ok(in, "Wysłane");
	items = list_ok(in, 0, &n);
	assert_int_equal(n, 1);
	fetch_is(in, &items[0], msgfile[WYS], 0);
	free(items);
	assert_int_equal(mq_inbox_folder(in, "Nope \"x\"", &v, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_NOINPUT);
	assert_non_null(strstr(err.msg, "Nope \"x\""));
	assert_int_equal(v, 0);
	/* no folder is open after a failed one */
	assert_int_equal(mq_inbox_list(in, 0, &items, &n, &err), MQ_PERM);
	folder_ok(in, "INBOX");
	mq_inbox_close(in);
}

static int find(struct mq_inbox *in, const char *id)
{
	struct mq_err err;
	int found = -1;

	if (mq_inbox_find(in, id, &found, &err) != MQ_OK)
		fail_msg("find %s: %s", id, err.msg);
	return found;
}

static void test_imap_find(void **state)
{
	struct mq_inbox_opts o;
	struct mq_inbox *in;

	(void)state;
	need_dovecot();
	o = imap_opts("imap", T.imap_port, MQ_TLS_STARTTLS);
	in = open_ok(&o);
	folder_ok(in, "INBOX");
	assert_int_equal(find(in, "m1.reply@example.org"), 1);
	assert_int_equal(find(in, "m2.folded@example.org"), 1);
	assert_int_equal(find(in, "m3@example.org"), 1);
	assert_int_equal(find(in, "m1.reply@example"), 0);
	assert_int_equal(find(in, "absent@example.org"), 0);
	assert_int_equal(find(in, "a\"b@example.org"), 0);
	assert_int_equal(find(in, "a\r\nM9 LOGOUT"), 0);
	folder_ok(in, "Spam");
	assert_int_equal(find(in, "m1.reply@example.org"), 0);
	mq_inbox_close(in);
}

/* Every read above left every message as it was: same messages, same
 * flags (no \Seen), in the same folders. */
static void test_imap_unchanged(void **state)
{
	char *now;

	(void)state;
	need_dovecot();
	now = run("sh '%s/tests/imapd.sh' snapshot '%s'", T.top, T.dir);
	print_message("# snapshot:\n%s", now);
	assert_string_equal(now, T.before);
	for (const char *p = now; (p = strchr(p, '[')) != NULL; p++)
		assert_int_equal(p[1], ']');
	free(now);
	/* and every session said LOGOUT */
	now = run("grep -c 'Disconnected: Logged out' '%s/dovecot.log'",
	    T.dir);
	assert_true(atoi(now) >= 8);
	free(now);
}

static void doveadm(const char *args)
{
	free(run("sh '%s/tests/imapd.sh' doveadm '%s' %s 2>&1", T.top, T.dir,
	    args));
}

/* A message expunged after the list is gone (EX_DATAERR); a folder made
 * anew has a new UIDVALIDITY. Runs after test_imap_unchanged. */
static void test_imap_gone_and_uidvalidity(void **state)
{
	struct mq_inbox_opts o;
	struct mq_inbox_item *items;
	struct mq_inbox *in;
	struct mq_err err;
	long long v1, v2;
	size_t len;
	char *buf;
	int n, ho;

	(void)state;
	need_dovecot();
	deliver(msgfile[M2], "Temp");
	o = imap_opts("imap", T.imap_port, MQ_TLS_STARTTLS);
	in = open_ok(&o);
	v1 = folder_ok(in, "Temp");
	items = list_ok(in, 0, &n);
	assert_int_equal(n, 1);
	doveadm("expunge -u anna@example.com mailbox Temp all");
	assert_int_equal(mq_inbox_fetch(in, &items[0], &buf, &len, &ho, &err),
	    MQ_PERM);
	assert_int_equal(err.ex, EX_DATAERR);
	assert_null(buf);
	free(items);
	doveadm("mailbox delete -u anna@example.com Temp");
	deliver(msgfile[M2], "Temp");
	v2 = folder_ok(in, "Temp");
	assert_true(v1 > 0 && v2 > 0 && v1 != v2);
	items = list_ok(in, 0, &n);
	assert_int_equal(n, 1);
	fetch_is(in, &items[0], msgfile[M2], 0);
	free(items);
	mq_inbox_close(in);
}

/* Every file and directory under dir: path, size, mtime and mode, in
 * readdir order per directory (the same order for an unchanged one). */
static void listing(const char *dir, char **out, size_t *len)
{
	char path[1024], line[1200];
	struct dirent *e;
	struct stat st;
	DIR *d;
	int n;

	assert_non_null(d = opendir(dir));
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		assert_int_equal(lstat(path, &st), 0);
		n = snprintf(line, sizeof line, "%s %lld %lld.%09ld %o\n", path,
		    (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		    st.st_mtim.tv_nsec, (unsigned)st.st_mode);
		assert_non_null(*out = realloc(*out, *len + n + 1));
		memcpy(*out + *len, line, n + 1);
		*len += n;
		if (S_ISDIR(st.st_mode))
			listing(path, out, len);
	}
	closedir(d);
}

static char *list_tree(const char *dir)
{
	char *out = NULL;
	size_t len = 0;

	assert_non_null(out = calloc(1, 1));
	listing(dir, &out, &len);
	return out;
}

static void make_dirs(const char *md)
{
	static const char *subs[] = { "", "/cur", "/new", "/tmp" };
	char p[600];

	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s%s", md, subs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
	}
}

/* A Maildir: INBOX with m1 in new/, m2 seen in cur/, m3 in new/, and a
 * dot file and a directory that are no messages; .Spam; .Wys&AUI-ane. */
static void make_maildir(const char *md)
{
	static const struct {
		const char *name;
		int         msg;
	} files[] = {
		{ "new/1000.A.host", M1 }, { "cur/1001.B.host:2,S", M2 },
		{ "new/1002.C.host", M3 }, { "new/.hidden", M1 },
		{ ".Spam/new/2000.D.host", SPAM },
		{ ".Wys&AUI-ane/cur/3000.E.host:2,S", WYS },
	};
	char p[700], *buf;
	size_t len;

	make_dirs(md);
	snprintf(p, sizeof p, "%s/.Spam", md);
	make_dirs(p);
	snprintf(p, sizeof p, "%s/.Wys&AUI-ane", md);
	make_dirs(p);
	snprintf(p, sizeof p, "%s/cur/subdir", md);
	assert_int_equal(mkdir(p, 0700), 0);
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		buf = slurp(msgfile[files[i].msg], &len);
		snprintf(p, sizeof p, "%s/%s", md, files[i].name);
		spit(p, buf, len);
		free(buf);
	}
}

static struct mq_inbox_opts md_opts(const char *url)
{
	return (struct mq_inbox_opts){ .url = url, .max_size = 10 * MB };
}

static void folder_fails(struct mq_inbox *in, const char *folder, int ex)
{
	struct mq_err err;
	long long v;

	assert_int_equal(mq_inbox_folder(in, folder, &v, &err), MQ_PERM);
	assert_int_equal(err.ex, ex);
}

static void test_maildir(void **state)
{
	struct mq_inbox_item *items, gone = { .ref = "999.Z.host" };
	struct mq_inbox_opts o;
	struct mq_inbox *in;
	struct mq_err err;
	char md[400], url[420], *before, *after;
	size_t len;
	char *buf;
	int n, ho;

	(void)state;
	snprintf(md, sizeof md, "%s/md", T.scratch);
	snprintf(url, sizeof url, "maildir://%s", md);
	make_maildir(md);
	before = list_tree(md);
	o = md_opts(url);
	in = open_ok(&o);
	assert_int_equal(folder_ok(in, "INBOX"), 0);
	items = list_ok(in, 0, &n);
	assert_int_equal(n, 3);
	assert_string_equal(items[0].ref, "1000.A.host");
	assert_string_equal(items[1].ref, "1001.B.host");
	assert_string_equal(items[2].ref, "1002.C.host");
	assert_int_equal(items[0].uid, 0);
	assert_int_equal(items[1].size, strlen(BODY[M2]));
	for (int i = 0; i < n; i++)
		fetch_is(in, &items[i], msgfile[M1 + i], 0);
	assert_int_equal(find(in, "m1.reply@example.org"), 1);
	assert_int_equal(find(in, "m2.folded@example.org"), 1);
	assert_int_equal(find(in, "m3@example.org"), 1);
	assert_int_equal(find(in, "m1.reply@example"), 0);
	assert_int_equal(find(in, "M1.REPLY@example.org"), 0);
	assert_int_equal(mq_inbox_fetch(in, &gone, &buf, &len, &ho, &err),
	    MQ_PERM);
	assert_int_equal(err.ex, EX_DATAERR);
	after = list_tree(md);
	assert_string_equal(after, before);
	free(after);
	free(before);
	free(items);
	mq_inbox_close(in);
}

/* A mail client reads m1 while it is listed: new/ -> cur/, flag S; it is
 * still fetched and found. Then headers only, and the folders. After
 * test_maildir, in its Maildir. */
static void test_maildir_moved(void **state)
{
	struct mq_inbox_item *items;
	struct mq_inbox_opts o;
	struct mq_inbox *in;
	struct mq_err err;
	char md[400], url[420], from[600], to[600], *before, *after;
	int n;

	(void)state;
	snprintf(md, sizeof md, "%s/md", T.scratch);
	snprintf(url, sizeof url, "maildir://%s", md);
	o = md_opts(url);
	in = open_ok(&o);
	folder_ok(in, "INBOX");
	items = list_ok(in, 0, &n);
	snprintf(from, sizeof from, "%s/new/1000.A.host", md);
	snprintf(to, sizeof to, "%s/cur/1000.A.host:2,S", md);
	assert_int_equal(rename(from, to), 0);
	before = list_tree(md);
	fetch_is(in, &items[0], msgfile[M1], 0);
	assert_int_equal(find(in, "m1.reply@example.org"), 1);
	free(items);
	mq_inbox_close(in);
	o.max_size = 1000;
	in = open_ok(&o);
	folder_ok(in, "INBOX");
	items = list_ok(in, 0, &n);
	assert_int_equal(n, 3);
	fetch_is(in, &items[2], msgfile[M3], 1);
	free(items);
	folder_ok(in, "Spam");
	items = list_ok(in, 0, &n);
	assert_int_equal(n, 1);
	fetch_is(in, &items[0], msgfile[SPAM], 0);
	free(items);
	folder_ok(in, "Wysłane");
	items = list_ok(in, 0, &n);
	assert_int_equal(n, 1);
	fetch_is(in, &items[0], msgfile[WYS], 0);
	free(items);
	folder_fails(in, "Nope", EX_NOINPUT);
	folder_fails(in, "a.b", EX_DATAERR);
	folder_fails(in, "/x", EX_DATAERR);
	assert_int_equal(mq_inbox_list(in, 0, &items, &n, &err), MQ_PERM);
	mq_inbox_close(in);
	after = list_tree(md);
	assert_string_equal(after, before);
	free(after);
	free(before);
}

static void test_maildir_refusals(void **state)
{
	struct mq_inbox_opts o;
	char url[420];

	(void)state;
	o = md_opts("maildir:///nonexistent/Maildir");
	open_fails(&o, MQ_PERM, EX_NOINPUT);
	snprintf(url, sizeof url, "maildir://%s", T.scratch);
	o = md_opts(url);
	open_fails(&o, MQ_PERM, EX_NOINPUT);
	o = md_opts("maildir://relative/path");
	open_fails(&o, MQ_PERM, EX_CONFIG);
	o = md_opts(NULL);
	open_fails(&o, MQ_PERM, EX_CONFIG);
	mq_inbox_close(NULL);
}

/* Dovecot's own Maildir read as a Maildir: the same folder names. */
static void test_maildir_of_dovecot(void **state)
{
	struct mq_inbox_item *items;
	struct mq_inbox_opts o;
	struct mq_inbox *in;
	char path[400], url[600], *md, *nl;
	size_t len;
	int n;

	(void)state;
	need_dovecot();
	snprintf(path, sizeof path, "%s/maildir", T.dir);
	md = slurp(path, &len);
	if ((nl = strchr(md, '\n')) != NULL)
		*nl = '\0';
	snprintf(url, sizeof url, "maildir://%s", md);
	free(md);
	o = md_opts(url);
	in = open_ok(&o);
	folder_ok(in, "Wysłane");
	items = list_ok(in, 0, &n);
	assert_int_equal(n, 1);
	fetch_is(in, &items[0], msgfile[WYS], 0);
	free(items);
	folder_ok(in, "INBOX");
	assert_int_equal(find(in, "m2.folded@example.org"), 1);
	mq_inbox_close(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf7),
		cmocka_unit_test(test_wire),
		cmocka_unit_test(test_imap_starttls),
		cmocka_unit_test(test_imap_implicit_and_plain),
		cmocka_unit_test(test_imap_refusals),
		cmocka_unit_test(test_imap_after_uid),
		cmocka_unit_test(test_imap_headers_only),
		cmocka_unit_test(test_imap_folders),
		cmocka_unit_test(test_imap_find),
		cmocka_unit_test(test_maildir_of_dovecot),
		cmocka_unit_test(test_imap_unchanged),
		cmocka_unit_test(test_imap_gone_and_uidvalidity),
		cmocka_unit_test(test_maildir),
		cmocka_unit_test(test_maildir_moved),
		cmocka_unit_test(test_maildir_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
