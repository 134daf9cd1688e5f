/*
 * Transports: see smtp.h. The smtp transport drives one curl easy handle
 * per message and watches the dialogue through curl's debug callback: the
 * last command sent is the stage, the reply to it is the code, and the read
 * callback knows when the whole body has been handed over. The outcome
 * follows from those facts alone (mq_smtp_classify), so the rules that
 * decide between retry, bounce and "may have been delivered" are tested
 * without a network. SASL lines carry credentials: they are never logged
 * and never kept. The file transport appends to an mbox, for dry runs.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "log.h"
#include "smtp.h"

#define CONNECT_S 15
#define TOTAL_S   40

/* Sockets one transfer has open at once, at most (happy eyeballs tries
 * two addresses side by side). */
#define MQ_SMTP_SOCKETS 4

struct mq_smtp_xfer {
	CURL               *curl;
	struct curl_slist  *rcpts;
	const char         *msg;
	size_t              len;
	size_t              off;
	mq_smtp_hook        hook;
	void               *arg;
	int                 hooked;     /* the read callback ran: hook called */
	int                 refused;    /* the hook said no */
	int                 body_done;  /* every body byte went to curl */
	int                 in_auth;    /* SASL exchange: lines are secret */
	int                 quit;       /* QUIT sent: replies no longer count */
	curl_socket_t       fd[MQ_SMTP_SOCKETS];   /* open, or CURL_SOCKET_BAD */
	enum mq_smtp_stage  stage;
	char                tag[400];   /* "mailbox=m1 rcpt=a@b.c": whose lines */
	int                 code;       /* reply to the stage's command, or 0 */
	char                reply[sizeof ((struct mq_smtp_result *)0)->reply];
	char                errbuf[CURL_ERROR_SIZE];
};

static int mailbox_fault(int cc)
{
	switch (cc) {
	case CURLE_LOGIN_DENIED:
	case CURLE_AUTH_ERROR:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CLIENTCERT:
		return 1;
	default:
		return 0;
	}
}

enum mq_smtp_outcome mq_smtp_classify(int curl_code, enum mq_smtp_stage stage,
    int code, int body_done)
{
	int cls = code / 100;

	if (curl_code == CURLE_ABORTED_BY_CALLBACK)
		return MQ_SMTP_ABORTED;
	if (curl_code == CURLE_OK || (stage == MQ_SMTP_BODY && cls == 2))
		return MQ_SMTP_SENT;
	/* Before any other rule: the dot may have left, so a lost
	 * connection must never be taken for "not delivered". */
	if (stage == MQ_SMTP_BODY && body_done && cls != 4 && cls != 5)
		return MQ_SMTP_UNKNOWN;
	if (mailbox_fault(curl_code) || code == 530 ||
	    (cls == 5 && stage < MQ_SMTP_MAIL))
		return MQ_SMTP_MAILBOX;
	if (cls == 5)
		return stage == MQ_SMTP_RCPT ? MQ_SMTP_BOUNCE : MQ_SMTP_REJECT;
	return MQ_SMTP_TEMP;
}

const char *mq_smtp_outcome_name(enum mq_smtp_outcome o)
{
	switch (o) {
	case MQ_SMTP_SENT:    return "sent";
	case MQ_SMTP_TEMP:    return "temporary";
	case MQ_SMTP_BOUNCE:  return "bounce";
	case MQ_SMTP_REJECT:  return "rejected";
	case MQ_SMTP_MAILBOX: return "mailbox";
	case MQ_SMTP_UNKNOWN: return "unknown";
	case MQ_SMTP_ABORTED: return "aborted";
	}
	return "?";
}

int mq_smtp_init(struct mq_err *err)
{
	static int done;

	if (done)
		return MQ_OK;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return mq_err_temp(err, "cannot initialise libcurl");
	done = 1;
	return MQ_OK;
}

/* Copies at most n bytes of s into dst (size len) without line ends or
 * other control characters, which a server's reply may hold. */
static void copy_line(char *dst, size_t len, const char *s, size_t n)
{
	size_t i, j = 0;

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	for (i = 0; i < n && j + 1 < len; i++)
		dst[j++] = iscntrl((unsigned char)s[i]) ? '?' : s[i];
	dst[j] = '\0';
}

static int is_verb(const char *line, size_t n, const char *verb)
{
	size_t v = strlen(verb);

	return n >= v && strncasecmp(line, verb, v) == 0 &&
	    (n == v || line[v] == ' ' || line[v] == '\r' || line[v] == '\n');
}

/* The transfer's sockets, opened and closed through these so that
 * hang_up can reach them while curl closes the connection (curl no longer
 * says which socket is the active one by then). */
static curl_socket_t on_open(void *p, curlsocktype purpose,
    struct curl_sockaddr *a)
{
	struct mq_smtp_xfer *x = p;
	curl_socket_t fd;

	(void)purpose;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	for (int i = 0; fd != CURL_SOCKET_BAD && i < MQ_SMTP_SOCKETS; i++)
		if (x->fd[i] == CURL_SOCKET_BAD) {
			x->fd[i] = fd;
			break;
		}
	return fd;
}

static int on_close(void *p, curl_socket_t fd)
{
	struct mq_smtp_xfer *x = p;

	for (int i = 0; i < MQ_SMTP_SOCKETS; i++)
		if (x->fd[i] == fd)
			x->fd[i] = CURL_SOCKET_BAD;
	return close(fd);
}

/* After a failure curl still says QUIT and waits for the reply, outside
 * CURLOPT_TIMEOUT: a server that just stalled would hold us again.
 * Hanging up first makes that QUIT fail at once. */
static void hang_up(struct mq_smtp_xfer *x)
{
	for (int i = 0; i < MQ_SMTP_SOCKETS; i++)
		if (x->fd[i] != CURL_SOCKET_BAD)
			shutdown(x->fd[i], SHUT_RDWR);
}

static void on_command(struct mq_smtp_xfer *x, const char *line, size_t n)
{
	static const struct {
		const char         *verb;
		enum mq_smtp_stage  stage;
	} verbs[] = {
		{ "EHLO", MQ_SMTP_EHLO }, { "HELO", MQ_SMTP_EHLO },
		{ "STARTTLS", MQ_SMTP_STARTTLS }, { "AUTH", MQ_SMTP_AUTH },
		{ "MAIL", MQ_SMTP_MAIL }, { "RCPT", MQ_SMTP_RCPT },
		{ "DATA", MQ_SMTP_DATA },
	};
	char buf[256];

	if (x->quit)
		return;
	if (x->in_auth) {
		/* A SASL response: only ever sent after a 334. */
		mq_log(MQ_LOG_DEBUG, "%s smtp_cmd=\"(secret)\"", x->tag);
		return;
	}
	if (is_verb(line, n, "QUIT")) {
		x->quit = 1;
		/* curl says QUIT even after its wait for a reply timed out,
		 * then waits as long again for the reply to QUIT: a server
		 * that left the last command unanswered is not waited for
		 * twice */
		if (x->code == 0)
			hang_up(x);
		return;
	}
	for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++) {
		if (!is_verb(line, n, verbs[i].verb))
			continue;
		x->stage = verbs[i].stage;
		x->code = 0;
		x->reply[0] = '\0';
		x->in_auth = x->stage == MQ_SMTP_AUTH;
		break;
	}
	if (x->in_auth)
		snprintf(buf, sizeof buf, "AUTH (secret)");
	else
		copy_line(buf, sizeof buf, line, n);
	mq_log(MQ_LOG_DEBUG, "%s smtp_cmd=\"%s\"", x->tag, buf);
}

static void on_reply(struct mq_smtp_xfer *x, const char *line, size_t n)
{
	int code;

	if (x->quit || n < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]))
		return;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + line[2] - '0';
	if (x->in_auth) {
		if (code == 334)
			return;
		if (n == 3 || line[3] != '-')
			x->in_auth = 0;
	}
	x->code = code;
	copy_line(x->reply, sizeof x->reply, line, n);
	mq_log(MQ_LOG_DEBUG, "%s smtp_reply=\"%s\"", x->tag, x->reply);
}

static int on_debug(CURL *c, curl_infotype type, char *data, size_t size,
    void *p)
{
	struct mq_smtp_xfer *x = p;
	const char *nl;
	size_t n;

	(void)c;
	if (type != CURLINFO_HEADER_OUT && type != CURLINFO_HEADER_IN)
		return 0;
	while (size > 0) {
		nl = memchr(data, '\n', size);
		n = nl != NULL ? (size_t)(nl - data) + 1 : size;
		if (type == CURLINFO_HEADER_OUT)
			on_command(x, data, n);
		else
			on_reply(x, data, n);
		data += n;
		size -= n;
	}
	return 0;
}

/* Runs only once MAIL FROM, RCPT TO and DATA were accepted. The hook
 * comes before the first byte; once every byte is out, curl may send the
 * final dot at any moment, hence body_done. */
static size_t on_read(char *buf, size_t size, size_t nitems, void *p)
{
	struct mq_smtp_xfer *x = p;
	size_t n = size * nitems;

	if (!x->hooked) {
		x->hooked = 1;
		x->stage = MQ_SMTP_BODY;
		x->code = 0;
		x->reply[0] = '\0';
		if (x->hook != NULL && x->hook(x->arg) != 0)
			x->refused = 1;
	}
	if (x->refused)
		return CURL_READFUNC_ABORT;
	if (n > x->len - x->off)
		n = x->len - x->off;
	memcpy(buf, x->msg + x->off, n);
	x->off += n;
	if (x->off == x->len)
		x->body_done = 1;
	return n;
}

static int url_check(const struct mq_conf_mailbox *mb, struct mq_err *err)
{
	const char *u = mb->smtp != NULL ? mb->smtp : "";

	if (strncasecmp(u, "smtps://", 8) == 0)
		return MQ_OK;
	if (strncasecmp(u, "smtp://", 7) != 0)
		return mq_err_perm(err, EX_CONFIG, "mailbox %s: '%s' is not "
		    "an smtp:// or smtps:// URL", mb->name, u);
	if (mb->tls == MQ_TLS_IMPLICIT)
		return mq_err_perm(err, EX_CONFIG, "mailbox %s: tls = \"tls\" "
		    "needs an smtps:// URL", mb->name);
	return MQ_OK;
}

/* "<addr>" into buf; refuses what could break out of the command. */
static int bracket(char *buf, size_t len, const char *addr,
    struct mq_err *err)
{
	int n;

	if (addr == NULL || strpbrk(addr, "\r\n<>") != NULL)
		return mq_err_perm(err, EX_DATAERR, "bad envelope address "
		    "'%s'", addr != NULL ? addr : "(null)");
	n = snprintf(buf, len, "<%s>", addr);
	if (n < 0 || (size_t)n >= len)
		return mq_err_perm(err, EX_DATAERR, "envelope address too "
		    "long: %.40s...", addr);
	return MQ_OK;
}

static int tls_options(CURL *c, const struct mq_conf_mailbox *mb,
    const char *bearer)
{
	int rc = 0;

	/* STARTTLS is required, never "try": no clear text fallback. */
	rc |= curl_easy_setopt(c, CURLOPT_USE_SSL, mb->tls == MQ_TLS_STARTTLS ?
	    (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
	rc |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, mb->verify ? 1L : 0L);
	rc |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, mb->verify ? 2L : 0L);
	if (mb->ca_file != NULL)
		rc |= curl_easy_setopt(c, CURLOPT_CAINFO, mb->ca_file);
	if (mb->username != NULL)
		rc |= curl_easy_setopt(c, CURLOPT_USERNAME, mb->username);
	if (mb->username != NULL && bearer != NULL)
		rc |= curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, bearer);
	else if (mb->username != NULL)
		rc |= curl_easy_setopt(c, CURLOPT_PASSWORD,
		    mb->password != NULL ? mb->password : "");
	return rc;
}

/* A configured easy handle for x, or NULL. */
static CURL *easy_setup(struct mq_smtp_xfer *x,
    const struct mq_conf_mailbox *mb, const char *from,
    const struct mq_smtp_session *to)
{
	long connect_s = to != NULL && to->connect_s > 0 ? to->connect_s :
	    CONNECT_S;
	long total_s = to != NULL && to->total_s > 0 ? to->total_s : TOTAL_S;
	CURL *c;
	int rc = 0;

	if ((c = curl_easy_init()) == NULL)
		return NULL;
	rc |= curl_easy_setopt(c, CURLOPT_URL, mb->smtp);
	rc |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	rc |= tls_options(c, mb, to != NULL ? to->bearer : NULL);
	rc |= curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	rc |= curl_easy_setopt(c, CURLOPT_MAIL_RCPT, x->rcpts);
	rc |= curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	rc |= curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->len);
	rc |= curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	rc |= curl_easy_setopt(c, CURLOPT_READDATA, x);
	rc |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, connect_s);
	rc |= curl_easy_setopt(c, CURLOPT_TIMEOUT, total_s);
	/* Also bounds the wait for the reply to QUIT, which CURLOPT_TIMEOUT
	 * does not cover. */
	rc |= curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT, total_s);
	rc |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	rc |= curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open);
	rc |= curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, x);
	rc |= curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, on_close);
	rc |= curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, x);
	rc |= curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
	rc |= curl_easy_setopt(c, CURLOPT_DEBUGDATA, x);
	rc |= curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	/* A session is closed with its message: a kept one would be a
	 * session of the mailbox that no claim counts, and providers cap
	 * them per account (max_connections). */
	rc |= curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	if (rc != 0) {
		curl_easy_cleanup(c);
		return NULL;
	}
	return c;
}

int mq_smtp_xfer_new(struct mq_smtp_xfer **xp, const struct mq_conf_mailbox *mb,
    const char *from, const char *rcpt, const char *msg, size_t len,
    const struct mq_smtp_session *to, mq_smtp_hook hook, void *arg,
    struct mq_err *err)
{
	struct mq_smtp_xfer *x = NULL;
	char f[512], r[512];
	int rc;

	*xp = NULL;
	if ((rc = url_check(mb, err)) != MQ_OK ||
	    (rc = bracket(f, sizeof f, from, err)) != MQ_OK ||
	    (rc = bracket(r, sizeof r, rcpt, err)) != MQ_OK)
		goto out;
	rc = mq_err_temp(err, "mailbox %s: cannot set up a curl handle",
	    mb->name);
	if ((x = calloc(1, sizeof *x)) == NULL)
		goto out;
	x->msg = msg;
	x->len = len;
	x->hook = hook;
	x->arg = arg;
	x->stage = MQ_SMTP_GREETING;
	for (int i = 0; i < MQ_SMTP_SOCKETS; i++)
		x->fd[i] = CURL_SOCKET_BAD;
	/* parallel sessions' lines interleave: each says whose it is */
	snprintf(x->tag, sizeof x->tag, "mailbox=%.60s rcpt=%.320s", mb->name,
	    rcpt);
	if ((x->rcpts = curl_slist_append(NULL, r)) == NULL ||
	    (x->curl = easy_setup(x, mb, f, to)) == NULL)
		goto out;
	*xp = x;
	x = NULL;
	rc = MQ_OK;
	mq_err_clear(err);
out:
	mq_smtp_xfer_free(x);
	return rc;
}

CURL *mq_smtp_xfer_easy(struct mq_smtp_xfer *x)
{
	return x->curl;
}

void mq_smtp_xfer_done(struct mq_smtp_xfer *x, CURLcode rc,
    struct mq_smtp_result *res)
{
	const char *text;

	if (rc != CURLE_OK)
		hang_up(x);
	if (x->refused)
		res->outcome = MQ_SMTP_ABORTED;
	else
		res->outcome = mq_smtp_classify(rc, x->stage, x->code,
		    x->body_done);
	/* the last reply explains the end only when it is a refusal or the
	 * success; after a TLS or connection failure it is a stale 220 */
	res->code = x->code >= 400 || rc == CURLE_OK ? x->code : 0;
	if (res->code != 0)
		text = x->reply;
	else if (x->refused)
		text = "aborted before the message body: the data hook refused";
	else if (x->errbuf[0] != '\0')
		text = x->errbuf;
	else
		text = curl_easy_strerror(rc);
	copy_line(res->reply, sizeof res->reply, text, strlen(text));
}

void mq_smtp_xfer_free(struct mq_smtp_xfer *x)
{
	if (x == NULL)
		return;
	/* Cleanup may still say QUIT, through the callbacks that use x. */
	if (x->curl != NULL)
		curl_easy_cleanup(x->curl);
	curl_slist_free_all(x->rcpts);
	free(x);
}

static int smtp_send(const struct mq_conf_mailbox *mb, const char *from,
    const char *rcpt, const char *msg, size_t len,
    const struct mq_smtp_session *to, mq_smtp_hook hook, void *arg,
    struct mq_smtp_result *res, struct mq_err *err)
{
	struct mq_smtp_xfer *x;
	CURLcode cc;
	int rc;

	if ((rc = mq_smtp_xfer_new(&x, mb, from, rcpt, msg, len, to, hook, arg,
	    err)) != MQ_OK)
		return rc;
	cc = curl_easy_perform(x->curl);
	mq_smtp_xfer_done(x, cc, res);
	mq_smtp_xfer_free(x);
	mq_log(MQ_LOG_DEBUG, "smtp mailbox=%s rcpt=%s outcome=%s code=%d",
	    mb->name, rcpt, mq_smtp_outcome_name(res->outcome), res->code);
	return MQ_OK;
}

/* The path of a file:///path URL, or NULL. */
static const char *file_path(const char *url)
{
	if (url == NULL || strncasecmp(url, "file://", 7) != 0 ||
	    url[7] != '/')
		return NULL;
	return url + 7;
}

/* The message as one mbox entry (mboxrd: "From " line, ">From " quoting,
 * LF line ends, a blank line after) into a malloc'd buffer; NULL on OOM. */
static char *mbox_entry(const char *from, const char *msg, size_t len,
    size_t *outlen)
{
	char head[600], *buf, *p;
	const char *s = msg, *end = msg + len, *nl, *q;
	size_t lines = 1, n;
	struct tm tm;
	time_t now;
	int h;

	if (mq_clock_now(&now, NULL) != MQ_OK)
		now = time(NULL);
	gmtime_r(&now, &tm);
	h = snprintf(head, sizeof head, "From %s ", *from != '\0' ? from :
	    "MAILER-DAEMON");
	if (h < 0 || (size_t)h >= sizeof head - 32)
		return NULL;
	h += (int)strftime(head + h, sizeof head - h, "%a %b %e %H:%M:%S %Y\n",
	    &tm);
	for (q = msg; q < end; q++)
		lines += *q == '\n';
	if ((buf = malloc(h + len + lines + 2)) == NULL)
		return NULL;
	memcpy(buf, head, h);
	p = buf + h;
	while (s < end) {
		nl = memchr(s, '\n', end - s);
		n = (nl != NULL ? nl : end) - s;
		for (q = s; q < s + n && *q == '>'; q++)
			;
		if ((size_t)(s + n - q) >= 5 && memcmp(q, "From ", 5) == 0)
			*p++ = '>';
		memcpy(p, s, n);
		p += n;
		if (n > 0 && p[-1] == '\r')
			p--;
		*p++ = '\n';
		s += n + (nl != NULL);
	}
	*p++ = '\n';
	*outlen = p - buf;
	return buf;
}

/* Appends buf to path under an exclusive lock; 0 or an errno value. */
static int append(const char *path, const char *buf, size_t len)
{
	ssize_t w;
	int fd, e = 0;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) < 0)
		return errno;
	/* Ticks may overlap: one entry at a time. */
	if (flock(fd, LOCK_EX) != 0) {
		e = errno;
		goto out;
	}
	while (len > 0) {
		if ((w = write(fd, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			goto out;
		}
		buf += w;
		len -= w;
	}
	if (fsync(fd) != 0)
		e = errno;
out:
	if (close(fd) != 0 && e == 0)
		e = errno;
	return e;
}

static void set_result(struct mq_smtp_result *res, enum mq_smtp_outcome o,
    int code, const char *text)
{
	res->outcome = o;
	res->code = code;
	copy_line(res->reply, sizeof res->reply, text, strlen(text));
}

static int file_send(const struct mq_conf_mailbox *mb, const char *from,
    const char *rcpt, const char *msg, size_t len,
    const struct mq_smtp_session *to, mq_smtp_hook hook, void *arg,
    struct mq_smtp_result *res, struct mq_err *err)
{
	const char *path = file_path(mb->smtp);
	char *buf = NULL, text[sizeof res->reply];
	size_t n;
	int e;

	(void)rcpt;
	(void)to;
	if (path == NULL)
		return mq_err_perm(err, EX_CONFIG, "mailbox %s: '%s' is not a "
		    "file:///path URL", mb->name, mb->smtp != NULL ? mb->smtp :
		    "");
	if (hook != NULL && hook(arg) != 0) {
		set_result(res, MQ_SMTP_ABORTED, 0, "aborted before the "
		    "message body: the data hook refused");
		return MQ_OK;
	}
	if ((buf = mbox_entry(from != NULL ? from : "", msg, len, &n)) == NULL)
		set_result(res, MQ_SMTP_TEMP, 0, "out of memory");
	else if ((e = append(path, buf, n)) != 0) {
		snprintf(text, sizeof text, "%s: %s", path, strerror(e));
		set_result(res, MQ_SMTP_TEMP, 0, text);
	} else {
		snprintf(text, sizeof text, "250 2.0.0 Ok: appended to %s",
		    path);
		set_result(res, MQ_SMTP_SENT, 250, text);
	}
	free(buf);
	return MQ_OK;
}

static const struct mq_transport transports[] = {
	{ "smtp", smtp_send },
	{ "file", file_send },
};

const struct mq_transport *mq_smtp_transport(const char *name)
{
	for (size_t i = 0; i < sizeof transports / sizeof *transports; i++)
		if (name != NULL && strcmp(transports[i].name, name) == 0)
			return &transports[i];
	return NULL;
}

const struct mq_transport *mq_smtp_for(const struct mq_conf_mailbox *mb)
{
	const char *u = mb->smtp != NULL ? mb->smtp : "";

	if (strncasecmp(u, "smtp://", 7) == 0 ||
	    strncasecmp(u, "smtps://", 8) == 0)
		return mq_smtp_transport("smtp");
	if (file_path(u) != NULL)
		return mq_smtp_transport("file");
	return NULL;
}
