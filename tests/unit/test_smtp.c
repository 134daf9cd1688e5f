/*
 * Unit tests for the transports (lib/smtp.c): the outcome rules as a table,
 * then real sends against the project's test SMTP server (tests/smtpd.py,
 * found under $MQ_TOP, else "."), plain, STARTTLS with a test CA, a
 * self-signed certificate, implicit TLS and AUTH, with the server made to
 * misbehave through its faults.json; and the file transport.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "log.h"
#include "smtp.h"

#define PYTHON "/usr/bin/python3"

enum { PLAIN, STARTTLS_CA, STARTTLS_SELF, IMPLICIT, NSERVERS };

struct server {
	char  dir[512];
	pid_t pid;
	int   port;
};

static char scratch[256];      /* everything the tests write */

static struct {
	int           have_tools;     /* python3, aiosmtpd, openssl, smtpd.py */
	struct server srv[NSERVERS];
} T;

struct hook {
	int  calls;
	int  refuse;
	int  saved_at_call;            /* messages on the server at the call */
	const struct server *srv;
};

static const char MSG[] =
    "From: Anna <anna@example.com>\r\n"
    "To: lead@example.org\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "First line.\r\n"
    ".a line that starts with a dot\r\n"
    "From the start of a line\r\n"
    ".\r\n"
    "last line\r\n";

/* The classification rules, row by row. */
#define R(cc, stage, code, body, want) \
	{ CURLE_##cc, MQ_SMTP_##stage, code, body, MQ_SMTP_##want }

static void test_classify(void **state)
{
	static const struct {
		int                  cc;
		enum mq_smtp_stage   stage;
		int                  code, body_done;
		enum mq_smtp_outcome want;
	} t[] = {
		R(OK, BODY, 250, 1, SENT),
		R(RECV_ERROR, BODY, 250, 1, SENT),
		R(ABORTED_BY_CALLBACK, BODY, 0, 0, ABORTED),
		/* 4xx anywhere */
		R(WEIRD_SERVER_REPLY, GREETING, 421, 0, TEMP),
		R(WEIRD_SERVER_REPLY, EHLO, 421, 0, TEMP),
		R(SEND_ERROR, MAIL, 451, 0, TEMP),
		R(SEND_ERROR, RCPT, 450, 0, TEMP),
		R(SEND_ERROR, DATA, 421, 0, TEMP),
		R(SEND_ERROR, BODY, 451, 1, TEMP),
		/* no reply before the body was handed over */
		R(COULDNT_CONNECT, GREETING, 0, 0, TEMP),
		R(COULDNT_RESOLVE_HOST, GREETING, 0, 0, TEMP),
		R(OPERATION_TIMEDOUT, GREETING, 0, 0, TEMP),
		R(OPERATION_TIMEDOUT, RCPT, 0, 0, TEMP),
		R(RECV_ERROR, DATA, 0, 0, TEMP),
		R(SEND_ERROR, BODY, 0, 0, TEMP),
		R(OPERATION_TIMEDOUT, BODY, 0, 0, TEMP),
		/* 5xx */
		R(SEND_ERROR, RCPT, 550, 0, BOUNCE),
		R(SEND_ERROR, RCPT, 553, 0, BOUNCE),
		R(SEND_ERROR, MAIL, 550, 0, REJECT),
		R(SEND_ERROR, DATA, 554, 0, REJECT),
		R(RECV_ERROR, BODY, 554, 1, REJECT),
		/* the mailbox is at fault */
		R(LOGIN_DENIED, AUTH, 535, 0, MAILBOX),
		R(LOGIN_DENIED, AUTH, 454, 0, MAILBOX),
		R(AUTH_ERROR, EHLO, 250, 0, MAILBOX),
		R(SEND_ERROR, MAIL, 530, 0, MAILBOX),
		R(SEND_ERROR, RCPT, 530, 0, MAILBOX),
		R(WEIRD_SERVER_REPLY, AUTH, 535, 0, MAILBOX),
		R(SSL_CONNECT_ERROR, GREETING, 0, 0, MAILBOX),
		R(SSL_CONNECT_ERROR, STARTTLS, 220, 0, MAILBOX),
		R(PEER_FAILED_VERIFICATION, STARTTLS, 220, 0, MAILBOX),
		R(USE_SSL_FAILED, STARTTLS, 454, 0, MAILBOX),
		R(SSL_CACERT_BADFILE, GREETING, 0, 0, MAILBOX),
		R(SSL_CERTPROBLEM, GREETING, 0, 0, MAILBOX),
		R(WEIRD_SERVER_REPLY, GREETING, 554, 0, MAILBOX),
		R(REMOTE_ACCESS_DENIED, EHLO, 550, 0, MAILBOX),
		/* the body was handed over: it may have been delivered */
		R(RECV_ERROR, BODY, 0, 1, UNKNOWN),
		R(GOT_NOTHING, BODY, 0, 1, UNKNOWN),
		R(OPERATION_TIMEDOUT, BODY, 0, 1, UNKNOWN),
		R(SEND_ERROR, BODY, 0, 1, UNKNOWN),
		R(SSL_CONNECT_ERROR, BODY, 0, 1, UNKNOWN),
	};

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		enum mq_smtp_outcome o = mq_smtp_classify(t[i].cc, t[i].stage,
		    t[i].code, t[i].body_done);
		if (o != t[i].want)
			fail_msg("row %zu: curl %d stage %d code %d body %d: "
			    "%s, want %s", i, t[i].cc, t[i].stage, t[i].code,
			    t[i].body_done, mq_smtp_outcome_name(o),
			    mq_smtp_outcome_name(t[i].want));
	}
}

static void test_names(void **state)
{
	struct mq_conf_mailbox mb = { .name = "m" };

	(void)state;
	assert_string_equal(mq_smtp_outcome_name(MQ_SMTP_SENT), "sent");
	assert_string_equal(mq_smtp_outcome_name(MQ_SMTP_UNKNOWN), "unknown");
	assert_string_equal(mq_smtp_transport("smtp")->name, "smtp");
	assert_string_equal(mq_smtp_transport("file")->name, "file");
	assert_null(mq_smtp_transport("carrier-pigeon"));
	mb.smtp = "smtp://mail.example.com:587";
	assert_ptr_equal(mq_smtp_for(&mb), mq_smtp_transport("smtp"));
	mb.smtp = "smtps://mail.example.com";
	assert_ptr_equal(mq_smtp_for(&mb), mq_smtp_transport("smtp"));
	mb.smtp = "file:///var/tmp/out.mbox";
	assert_ptr_equal(mq_smtp_for(&mb), mq_smtp_transport("file"));
	mb.smtp = "http://example.com/";
	assert_null(mq_smtp_for(&mb));
	mb.smtp = "file://relative";
	assert_null(mq_smtp_for(&mb));
}

static int tool_ok(const char *cmd)
{
	return system(cmd) == 0;
}

static int make_certs(const char *dir)
{
	char cmd[2048];
	int n;

	n = snprintf(cmd, sizeof cmd, "cd '%s' && exec >openssl.log 2>&1 && "
	    "K='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes' && "
	    "SAN='subjectAltName=DNS:localhost,IP:127.0.0.1' && "
	    "openssl req -x509 $K -keyout ca.key -out ca.pem -days 2 "
	    "-subj /CN=mailq-test-ca && "
	    "openssl req $K -keyout server.key -out server.csr "
	    "-subj /CN=localhost && echo \"$SAN\" >san.ext && "
	    "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
	    "-CAcreateserial -out server.pem -days 2 -extfile san.ext && "
	    "openssl req -x509 $K -keyout self.key -out self.pem -days 2 "
	    "-subj /CN=localhost -addext \"$SAN\"", dir);
	assert_true(n > 0 && (size_t)n < sizeof cmd);
	return system(cmd) == 0;
}

static void spawn(struct server *s, const char *top, const char *cert,
    const char *key, int implicit)
{
	char script[512], ready[600], log[600];
	char *argv[16];
	int n = 0, fd;

	snprintf(script, sizeof script, "%s/tests/smtpd.py", top);
	snprintf(ready, sizeof ready, "%s/ready", s->dir);
	snprintf(log, sizeof log, "%s/smtpd.log", s->dir);
	assert_int_equal(mkdir(s->dir, 0700), 0);
	argv[n++] = PYTHON;
	argv[n++] = script;
	argv[n++] = "--dir";
	argv[n++] = s->dir;
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--ready";
	argv[n++] = ready;
	if (cert != NULL) {
		argv[n++] = "--tls-cert";
		argv[n++] = (char *)(uintptr_t)cert;
		argv[n++] = "--tls-key";
		argv[n++] = (char *)(uintptr_t)key;
	}
	if (implicit)
		argv[n++] = "--implicit-tls";
	argv[n] = NULL;
	assert_true((s->pid = fork()) >= 0);
	if (s->pid == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(PYTHON, argv);
		_exit(127);
	}
}

/* Waits for s's ready file (10 s at most) and reads its port. */
static int await_ready(struct server *s)
{
	char ready[600];
	FILE *f;
	int status;

	snprintf(ready, sizeof ready, "%s/ready", s->dir);
	for (int i = 0; i < 1000; i++) {
		if ((f = fopen(ready, "r")) != NULL) {
			if (fscanf(f, "%d", &s->port) != 1)
				s->port = 0;
			fclose(f);
			return s->port > 0;
		}
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return 0;
		}
		usleep(10000);
	}
	return 0;
}

static int setup(void **state)
{
	static const char *names[NSERVERS] = { "plain", "starttls-ca",
	    "starttls-self", "implicit" };
	const char *top = getenv("MQ_TOP") != NULL ? getenv("MQ_TOP") : ".";
	const char *tmpdir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") :
	    "/tmp";
	char script[512], c[600], k[600], sc[600], sk[600];

	(void)state;
	assert_int_equal(mq_smtp_init(NULL), MQ_OK);
	snprintf(scratch, sizeof scratch, "%s/mq-smtp.XXXXXX", tmpdir);
	assert_non_null(mkdtemp(scratch));
	snprintf(script, sizeof script, "%s/tests/smtpd.py", top);
	T.have_tools = access(script, R_OK) == 0 &&
	    tool_ok(PYTHON " -c 'import aiosmtpd' >/dev/null 2>&1") &&
	    tool_ok("openssl version >/dev/null 2>&1");
	if (!T.have_tools)
		return 0;
	if (!make_certs(scratch))
		return -1;
	for (int i = 0; i < NSERVERS; i++)
		snprintf(T.srv[i].dir, sizeof T.srv[i].dir, "%s/%s", scratch,
		    names[i]);
	snprintf(c, sizeof c, "%s/server.pem", scratch);
	snprintf(k, sizeof k, "%s/server.key", scratch);
	snprintf(sc, sizeof sc, "%s/self.pem", scratch);
	snprintf(sk, sizeof sk, "%s/self.key", scratch);
	spawn(&T.srv[PLAIN], top, NULL, NULL, 0);
	spawn(&T.srv[STARTTLS_CA], top, c, k, 0);
	spawn(&T.srv[STARTTLS_SELF], top, sc, sk, 0);
	spawn(&T.srv[IMPLICIT], top, c, k, 1);
	for (int i = 0; i < NSERVERS; i++)
		if (!await_ready(&T.srv[i]))
			return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[400];

	(void)state;
	for (int i = 0; i < NSERVERS; i++) {
		if (T.srv[i].pid <= 0)
			continue;
		kill(T.srv[i].pid, SIGTERM);
		waitpid(T.srv[i].pid, NULL, 0);
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
	return system(cmd) == 0 ? 0 : -1;
}

static void need_server(void)
{
	if (!T.have_tools) {
		print_message("skipped: needs " PYTHON " with aiosmtpd, "
		    "openssl and tests/smtpd.py\n");
		skip();
	}
}

/* Replaces the server's faults.json at once (it reads it per connection). */
static void faults(const struct server *s, const char *json)
{
	char path[600], next[610];
	FILE *f;

	snprintf(path, sizeof path, "%s/faults.json", s->dir);
	snprintf(next, sizeof next, "%s.tmp", path);
	assert_non_null(f = fopen(next, "w"));
	fputs(json, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(next, path), 0);
}

/* How many messages the server has kept. */
static int saved(const struct server *s)
{
	struct dirent *e;
	DIR *d;
	int n = 0;

	assert_non_null(d = opendir(s->dir));
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, "msg-", 4) == 0 &&
		    strstr(e->d_name, ".tmp") == NULL;
	closedir(d);
	return n;
}

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

static int on_data(void *arg)
{
	struct hook *h = arg;

	h->calls++;
	if (h->srv != NULL)
		h->saved_at_call = saved(h->srv);
	return h->refuse;
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

static struct mq_conf_mailbox mailbox(const struct server *s,
    const char *scheme, enum mq_tls tls)
{
	static char url[4][64];
	static int next;
	struct mq_conf_mailbox mb = { .name = "anna-1", .verify = 1,
	    .tls = tls };

	next = (next + 1) % 4;
	snprintf(url[next], sizeof url[next], "%s://127.0.0.1:%d", scheme,
	    s != NULL ? s->port : closed_port());
	mb.smtp = url[next];
	return mb;
}

static struct mq_smtp_result send_msg(const struct mq_conf_mailbox *mb,
    const char *msg, struct hook *h, long total_s)
{
	struct mq_smtp_session to = { 5, total_s, NULL };
	struct mq_smtp_result res;
	struct mq_err err;

	memset(&res, 0, sizeof res);
	res.outcome = (enum mq_smtp_outcome)-1;
	snprintf(res.reply, sizeof res.reply, "untouched");
	assert_int_equal(mq_smtp_transport("smtp")->send(mb,
	    "anna@example.com", "lead@example.org", msg, strlen(msg), &to,
	    on_data, h, &res, &err), MQ_OK);
	assert_null(strpbrk(res.reply, "\r\n"));
	assert_true(res.reply[0] != '\0' &&
	    strcmp(res.reply, "untouched") != 0);
	return res;
}

/* A plain send: 250, the hook once before the body, the bytes intact. */
static void test_send(void **state)
{
	struct server *s = &T.srv[PLAIN];
	struct hook h = { .srv = s };
	struct mq_conf_mailbox mb;
	struct mq_smtp_result res;
	char path[700], *got;
	size_t len;
	int n0;

	(void)state;
	need_server();
	faults(s, "{}");
	n0 = saved(s);
	mb = mailbox(s, "smtp", MQ_TLS_NONE);
	res = send_msg(&mb, MSG, &h, 10);
	assert_int_equal(res.outcome, MQ_SMTP_SENT);
	assert_int_equal(res.code, 250);
	assert_true(strncmp(res.reply, "250 2.0.0 OK queued as", 22) == 0);
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.saved_at_call, n0);
	assert_int_equal(saved(s), n0 + 1);
	snprintf(path, sizeof path, "%s/msg-%06d.eml", s->dir, n0 + 1);
	got = slurp(path, &len);
	assert_int_equal(len, strlen(MSG));
	assert_memory_equal(got, MSG, len);
	free(got);
}

/* The hook refuses: aborted, and the server keeps nothing. */
static void test_hook_refuses(void **state)
{
	struct server *s = &T.srv[PLAIN];
	struct hook h = { .refuse = 1 };
	struct mq_conf_mailbox mb;
	struct mq_smtp_result res;
	int n0;

	(void)state;
	need_server();
	faults(s, "{}");
	n0 = saved(s);
	mb = mailbox(s, "smtp", MQ_TLS_NONE);
	res = send_msg(&mb, MSG, &h, 10);
	assert_int_equal(res.outcome, MQ_SMTP_ABORTED);
	assert_int_equal(res.code, 0);
	assert_non_null(strstr(res.reply, "hook"));
	assert_int_equal(h.calls, 1);
	usleep(200000);
	assert_int_equal(saved(s), n0);
}

struct counted {
	CURL      *curl;
	int        calls;
	curl_off_t uploaded;           /* body bytes curl had sent by then */
};

static int count_upload(void *arg)
{
	struct counted *c = arg;

	c->calls++;
	assert_int_equal(curl_easy_getinfo(c->curl, CURLINFO_SIZE_UPLOAD_T,
	    &c->uploaded), CURLE_OK);
	return 0;
}

/* Through the transfer API: the hook runs before curl sent any body byte,
 * and the whole body goes after it. */
static void test_hook_before_body(void **state)
{
	struct server *s = &T.srv[PLAIN];
	struct mq_conf_mailbox mb = mailbox(s, "smtp", MQ_TLS_NONE);
	struct counted c = { .uploaded = -1 };
	struct mq_smtp_xfer *x;
	struct mq_smtp_result res;
	struct mq_err err;
	curl_off_t total = -1;
	CURLcode cc;

	(void)state;
	need_server();
	faults(s, "{}");
	assert_int_equal(mq_smtp_xfer_new(&x, &mb, "anna@example.com",
	    "lead@example.org", MSG, strlen(MSG), NULL, count_upload, &c,
	    &err), MQ_OK);
	c.curl = mq_smtp_xfer_easy(x);
	cc = curl_easy_perform(c.curl);
	mq_smtp_xfer_done(x, cc, &res);
	assert_int_equal(curl_easy_getinfo(c.curl, CURLINFO_SIZE_UPLOAD_T,
	    &total), CURLE_OK);
	mq_smtp_xfer_free(x);
	assert_int_equal(res.outcome, MQ_SMTP_SENT);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.uploaded, 0);
	assert_true(total >= (curl_off_t)strlen(MSG));
}

/* One fault on the plain server, one send: outcome, code, hook calls,
 * messages kept. */
static void fault_case(const char *json, long total_s,
    enum mq_smtp_outcome want, int code, const char *reply, int calls,
    int kept)
{
	struct server *s = &T.srv[PLAIN];
	struct hook h = { 0 };
	struct mq_conf_mailbox mb;
	struct mq_smtp_result res;
	int n0;

	need_server();
	faults(s, json);
	n0 = saved(s);
	mb = mailbox(s, "smtp", MQ_TLS_NONE);
	res = send_msg(&mb, MSG, &h, total_s);
	faults(s, "{}");
	if (res.outcome != want)
		fail_msg("%s: %s (%d %s), want %s", json,
		    mq_smtp_outcome_name(res.outcome), res.code, res.reply,
		    mq_smtp_outcome_name(want));
	assert_int_equal(res.code, code);
	if (reply != NULL)
		assert_string_equal(res.reply, reply);
	assert_int_equal(h.calls, calls);
	assert_int_equal(saved(s), n0 + kept);
}

static void test_rcpt_550(void **state)
{
	(void)state;
	fault_case("{\"rcpt\": {\"*\": \"550 5.1.1 no such user\"}}", 10,
	    MQ_SMTP_BOUNCE, 550, "550 5.1.1 no such user", 0, 0);
}

static void test_data_451(void **state)
{
	(void)state;
	fault_case("{\"data\": {\"*\": \"451 4.3.0 try later\"}}", 10,
	    MQ_SMTP_TEMP, 451, "451 4.3.0 try later", 1, 0);
}

static void test_data_554(void **state)
{
	(void)state;
	fault_case("{\"data\": {\"*\": \"554 5.7.1 not wanted\"}}", 10,
	    MQ_SMTP_REJECT, 554, "554 5.7.1 not wanted", 1, 0);
}

static void test_greeting_421(void **state)
{
	(void)state;
	fault_case("{\"greeting\": \"421 4.3.2 busy\"}", 10, MQ_SMTP_TEMP,
	    421, "421 4.3.2 busy", 0, 0);
}

static void test_greeting_554(void **state)
{
	(void)state;
	fault_case("{\"greeting\": \"554 5.3.2 go away\"}", 10,
	    MQ_SMTP_MAILBOX, 554, "554 5.3.2 go away", 0, 0);
}

/* The server kept it but hung up before answering the dot. */
static void test_drop_after_dot(void **state)
{
	(void)state;
	fault_case("{\"drop_after_data\": [\"*\"]}", 10, MQ_SMTP_UNKNOWN, 0,
	    NULL, 1, 1);
}

static long long ms_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* No answer to the dot within the total timeout: the session ends then,
 * not after a second wait for the reply to QUIT. */
static void test_stall_after_dot(void **state)
{
	long long t0 = ms_now(), took;

	(void)state;
	fault_case("{\"stall_data\": 5}", 2, MQ_SMTP_UNKNOWN, 0, NULL, 1, 0);
	took = ms_now() - t0;
	if (took > 3500)
		fail_msg("the session took %lld ms with a 2 s timeout", took);
}

static void test_refused(void **state)
{
	struct mq_conf_mailbox mb = mailbox(NULL, "smtp", MQ_TLS_NONE);
	struct hook h = { 0 };
	struct mq_smtp_result res;

	(void)state;
	res = send_msg(&mb, MSG, &h, 10);
	assert_int_equal(res.outcome, MQ_SMTP_TEMP);
	assert_int_equal(res.code, 0);
	assert_int_equal(h.calls, 0);
}

/* Sends with AUTH while the library logs at debug level into a file,
 * and checks that the password shows neither in the log nor the reply,
 * plain or in base64 (b64: as AUTH LOGIN sends it, and the tail of what
 * AUTH PLAIN sends for user "u", whose "\0u\0" is three bytes). */
static struct mq_smtp_result auth_send(const char *password, const char *b64)
{
	struct server *s = &T.srv[PLAIN];
	struct mq_conf_mailbox mb = mailbox(s, "smtp", MQ_TLS_NONE);
	struct hook h = { 0 };
	struct mq_smtp_result res;
	char path[300], *log;
	size_t len;
	int fd, saved_fd;

	mb.username = "u";
	mb.password = (char *)(uintptr_t)password;
	snprintf(path, sizeof path, "%s/auth.log", scratch);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	fflush(stderr);
	saved_fd = dup(2);
	dup2(fd, 2);
	mq_log_init("test_smtp", MQ_LOG_DEBUG, 0);
	res = send_msg(&mb, MSG, &h, 10);
	mq_log_init("test_smtp", MQ_LOG_WARN, 0);
	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	close(fd);
	log = slurp(path, &len);
	assert_non_null(strstr(log, "EHLO "));
	assert_non_null(strstr(log, "AUTH (secret)"));
	if (res.outcome == MQ_SMTP_SENT)
		assert_non_null(strstr(log, "MAIL FROM:<anna@example.com>"));
	assert_null(strstr(log, password));
	assert_null(strstr(log, b64));
	assert_null(strstr(res.reply, password));
	assert_null(strstr(res.reply, b64));
	free(log);
	return res;
}

static void test_auth(void **state)
{
	struct server *s = &T.srv[PLAIN];
	struct mq_smtp_result res;
	int n0;

	(void)state;
	need_server();
	faults(s, "{\"auth\": {\"user\": \"u\", \"password\": \"s3cret-pw\"}}");
	n0 = saved(s);
	res = auth_send("s3cret-pw", "czNjcmV0LXB3");
	assert_int_equal(res.outcome, MQ_SMTP_SENT);
	assert_int_equal(saved(s), n0 + 1);
	res = auth_send("wrong-pw", "d3JvbmctcHc=");
	faults(s, "{}");
	assert_int_equal(res.outcome, MQ_SMTP_MAILBOX);
	assert_int_equal(res.code, 535);
	assert_string_equal(res.reply, "535 5.7.8 authentication failed");
	assert_int_equal(saved(s), n0 + 1);
}

/* One send to a TLS server: outcome and messages kept. */
static void tls_case(int which, const char *scheme, enum mq_tls tls,
    int verify, enum mq_smtp_outcome want)
{
	struct server *s = &T.srv[which];
	struct mq_conf_mailbox mb = mailbox(s, scheme, tls);
	struct hook h = { 0 };
	struct mq_smtp_result res;
	char ca[300];
	int n0;

	need_server();
	snprintf(ca, sizeof ca, "%s/ca.pem", scratch);
	mb.ca_file = ca;
	mb.verify = verify;
	n0 = saved(s);
	res = send_msg(&mb, MSG, &h, 10);
	if (res.outcome != want)
		fail_msg("server %d %s: %s (%d %s), want %s", which, scheme,
		    mq_smtp_outcome_name(res.outcome), res.code, res.reply,
		    mq_smtp_outcome_name(want));
	assert_int_equal(saved(s), n0 + (want == MQ_SMTP_SENT));
	assert_int_equal(h.calls, want == MQ_SMTP_SENT);
}

static int starttls_events(const struct server *s)
{
	char path[600], *ev;
	size_t len;
	int n = 0;

	snprintf(path, sizeof path, "%s/events.jsonl", s->dir);
	ev = slurp(path, &len);
	for (char *p = ev; (p = strstr(p, "\"event\": \"starttls\"")); p++)
		n++;
	free(ev);
	return n;
}

static void test_starttls(void **state)
{
	int n0;

	(void)state;
	need_server();
	n0 = starttls_events(&T.srv[STARTTLS_CA]);
	tls_case(STARTTLS_CA, "smtp", MQ_TLS_STARTTLS, 1, MQ_SMTP_SENT);
	assert_int_equal(starttls_events(&T.srv[STARTTLS_CA]), n0 + 1);
}

static void test_starttls_self_signed(void **state)
{
	(void)state;
	tls_case(STARTTLS_SELF, "smtp", MQ_TLS_STARTTLS, 1, MQ_SMTP_MAILBOX);
	tls_case(STARTTLS_SELF, "smtp", MQ_TLS_STARTTLS, 0, MQ_SMTP_SENT);
}

/* A server that offers no STARTTLS gets nothing in clear. */
static void test_starttls_missing(void **state)
{
	(void)state;
	faults(&T.srv[PLAIN], "{}");
	tls_case(PLAIN, "smtp", MQ_TLS_STARTTLS, 1, MQ_SMTP_MAILBOX);
}

static void test_implicit(void **state)
{
	(void)state;
	tls_case(IMPLICIT, "smtps", MQ_TLS_IMPLICIT, 1, MQ_SMTP_SENT);
	tls_case(STARTTLS_CA, "smtps", MQ_TLS_IMPLICIT, 1, MQ_SMTP_MAILBOX);
}

static void test_misuse(void **state)
{
	struct mq_conf_mailbox mb = { .name = "m", .verify = 1 };
	const struct mq_transport *t = mq_smtp_transport("smtp");
	struct mq_smtp_result res;
	struct mq_err err;

	(void)state;
	mb.smtp = "http://example.com";
	assert_int_equal(t->send(&mb, "a@b.c", "d@e.f", "x", 1, NULL, NULL,
	    NULL, &res, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_CONFIG);
	mb.smtp = "smtp://127.0.0.1:1";
	mb.tls = MQ_TLS_IMPLICIT;
	assert_int_equal(t->send(&mb, "a@b.c", "d@e.f", "x", 1, NULL, NULL,
	    NULL, &res, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_CONFIG);
	mb.tls = MQ_TLS_NONE;
	assert_int_equal(t->send(&mb, "a@b.c", "d@e.f>\r\nRSET", "x", 1, NULL,
	    NULL, NULL, &res, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_DATAERR);
	assert_int_equal(mq_smtp_transport("file")->send(&mb, "a@b.c",
	    "d@e.f", "x", 1, NULL, NULL, NULL, &res, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_CONFIG);
}

static struct mq_smtp_result file_send(char *url, const char *msg,
    struct hook *h)
{
	struct mq_conf_mailbox mb = { .name = "dry", .smtp = url };
	struct mq_smtp_result res;
	struct mq_err err;

	memset(&res, 0, sizeof res);
	assert_int_equal(mq_smtp_transport("file")->send(&mb,
	    "anna@example.com", "lead@example.org", msg, strlen(msg), NULL,
	    on_data, h, &res, &err), MQ_OK);
	return res;
}

/* Checks that the mbox entry at *p is a "From " line with the envelope
 * sender and a date in the minute of MAILQ_NOW, then body; moves *p on. */
static void check_entry(const char **p, const char *body)
{
	static const char from[] = "From anna@example.com Tue Nov 24 09:00:";
	const char *nl;

	assert_memory_equal(*p, from, strlen(from));
	assert_non_null(nl = strchr(*p, '\n'));
	assert_memory_equal(nl - 5, " 2026\n", 6);
	assert_memory_equal(nl + 1, body, strlen(body));
	*p = nl + 1 + strlen(body);
}

static void test_file(void **state)
{
	static const char want1[] =
	    "From: Anna <anna@example.com>\nTo: lead@example.org\n"
	    "Subject: hello\n\nFirst line.\n.a line that starts with a dot\n"
	    ">From the start of a line\n.\nlast line\n\n";
	static const char want2[] =
	    "Subject: x\n\n>>From here\nFrom\n>From there\nno end\n\n";
	struct hook h = { 0 };
	struct mq_smtp_result res;
	char url[400], *got;
	const char *p;
	size_t len;

	(void)state;
	setenv("MAILQ_NOW", "2026-11-24T09:00:00Z", 1);
	snprintf(url, sizeof url, "file://%s/out.mbox", scratch);
	res = file_send(url, MSG, &h);
	assert_int_equal(res.outcome, MQ_SMTP_SENT);
	assert_int_equal(res.code, 250);
	res = file_send(url, "Subject: x\r\n\r\n>From here\r\nFrom\r\n"
	    "From there\r\nno end", &h);
	assert_int_equal(res.outcome, MQ_SMTP_SENT);
	assert_int_equal(h.calls, 2);
	h.refuse = 1;
	res = file_send(url, MSG, &h);
	assert_int_equal(res.outcome, MQ_SMTP_ABORTED);
	assert_int_equal(h.calls, 3);
	p = got = slurp(url + 7, &len);
	check_entry(&p, want1);
	check_entry(&p, want2);
	assert_ptr_equal(p, got + len);
	free(got);
	h.refuse = 0;
	snprintf(url, sizeof url, "file://%s/no/such/dir/out.mbox", scratch);
	res = file_send(url, MSG, &h);
	assert_int_equal(res.outcome, MQ_SMTP_TEMP);
	assert_non_null(strstr(res.reply, "No such file"));
	unsetenv("MAILQ_NOW");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_send),
		cmocka_unit_test(test_hook_refuses),
		cmocka_unit_test(test_hook_before_body),
		cmocka_unit_test(test_rcpt_550),
		cmocka_unit_test(test_data_451),
		cmocka_unit_test(test_data_554),
		cmocka_unit_test(test_greeting_421),
		cmocka_unit_test(test_greeting_554),
		cmocka_unit_test(test_drop_after_dot),
		cmocka_unit_test(test_stall_after_dot),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_starttls),
		cmocka_unit_test(test_starttls_self_signed),
		cmocka_unit_test(test_starttls_missing),
		cmocka_unit_test(test_implicit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
