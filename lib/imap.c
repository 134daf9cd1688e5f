/*
 * IMAP over libcurl: see imap.h. One easy handle per session, connected
 * with CURLOPT_CONNECT_ONLY (curl_easy_perform connects and logs in,
 * nothing more), so the connection and the folder opened with EXAMINE
 * last until close, where curl says LOGOUT. A command's responses are
 * read into one buffer until its tagged reply, bounded by max_size plus
 * 1 MiB and by the command timeout; after any failure in the middle of a
 * command the stream is out of step and the session is given up. The
 * password never appears in a message: errors name the server as
 * scheme://host:port only.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "imap.h"
#include "imap_wire.h"
#include "utf7.h"

#define CONNECT_S 15
#define COMMAND_S 40
#define MAX_SIZE  (10 * 1024 * 1024)
#define SLACK     (1024 * 1024)     /* a response's bytes beyond max_size */

struct imap {
	CURL         *curl;
	char          where[300];   /* "imaps://host:port", for messages */
	long          timeout;
	size_t        max_size;
	unsigned      tag;
	int           in;           /* logged in */
	int           broken;       /* a command failed midway */
	int           open;         /* a folder is open */
	struct mq_buf resp;         /* the last command's responses */
	char          text[256];    /* its tagged reply's text */
	char          errbuf[CURL_ERROR_SIZE];
};

static int tls_fault(CURLcode cc)
{
	switch (cc) {
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
	case CURLE_SSL_CLIENTCERT:
	case CURLE_AUTH_ERROR:
		return 1;
	default:
		return 0;
	}
}

/* The outcome of curl result cc for the whole session. */
static int curl_fail(struct imap *s, CURLcode cc, struct mq_err *err)
{
	const char *why = s->errbuf[0] != '\0' ? s->errbuf :
	    curl_easy_strerror(cc);

	s->broken = 1;
	if (cc == CURLE_LOGIN_DENIED)
		return mq_err_perm(err, EX_NOPERM, "%s: login refused",
		    s->where);
	if (tls_fault(cc))
		return mq_err_perm(err, EX_NOPERM, "%s: %s", s->where, why);
	if (cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT)
		return mq_err_perm(err, EX_CONFIG, "%s: %s", s->where, why);
	return mq_err_temp(err, "%s: %s", s->where, why);
}

/* Whether url part what is there, other than a path of just "/". */
static int has_part(CURLU *u, CURLUPart what)
{
	char *v = NULL;
	int has = curl_url_get(u, what, &v, 0) == CURLUE_OK &&
	    !(what == CURLUPART_PATH && strcmp(v, "/") == 0);

	curl_free(v);
	return has;
}

/* Checks url: imap:// or imaps://, a host, perhaps a port, no path but
 * "/", nothing else; fills s->where. A URL holding credentials is not
 * repeated in the message. */
static int url_check(struct imap *s, const char *url, struct mq_err *err)
{
	char *scheme = NULL, *host = NULL, *port = NULL;
	CURLU *u;
	int rc = mq_err_perm(err, EX_CONFIG, "'%s' is not an imap:// or "
	    "imaps:// URL", url != NULL ? url : "");

	if (url == NULL || (u = curl_url()) == NULL)
		return rc;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "imap") != 0 && strcmp(scheme, "imaps") != 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK)
		goto out;
	if (has_part(u, CURLUPART_USER) || has_part(u, CURLUPART_PASSWORD) ||
	    has_part(u, CURLUPART_OPTIONS))
		rc = mq_err_perm(err, EX_CONFIG, "an %s:// URL for %s holds "
		    "credentials or options: give them apart", scheme, host);
	else if (has_part(u, CURLUPART_PATH) || has_part(u, CURLUPART_QUERY) ||
	    has_part(u, CURLUPART_FRAGMENT))
		rc = mq_err_perm(err, EX_CONFIG, "'%s': no folder or anything "
		    "else after the host and port", url);
	else {
		snprintf(s->where, sizeof s->where, "%s://%s:%s", scheme, host,
		    port);
		rc = MQ_OK;
	}
out:
	curl_free(port);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

static int login_options(CURL *c, const struct mq_inbox_opts *o)
{
	int rc = 0;

	if (o->username == NULL)
		return 0;
	rc |= curl_easy_setopt(c, CURLOPT_USERNAME, o->username);
	/* with a token, libcurl logs in with OAUTHBEARER or XOAUTH2, as
	 * the server offers them */
	if (o->bearer != NULL)
		rc |= curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, o->bearer);
	else
		rc |= curl_easy_setopt(c, CURLOPT_PASSWORD,
		    o->password != NULL ? o->password : "");
	return rc;
}

static int easy_setup(struct imap *s, const struct mq_inbox_opts *o)
{
	long connect_s = o->connect_timeout > 0 ? o->connect_timeout :
	    CONNECT_S;
	int implicit = strncmp(s->where, "imaps:", 6) == 0;
	CURL *c = s->curl;
	int rc = 0;

	rc |= curl_easy_setopt(c, CURLOPT_URL, o->url);
	rc |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "imap,imaps");
	rc |= curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	/* STARTTLS is required, never "try": no clear text fallback. */
	rc |= curl_easy_setopt(c, CURLOPT_USE_SSL, implicit ||
	    o->tls == MQ_TLS_NONE ? (long)CURLUSESSL_NONE :
	    (long)CURLUSESSL_ALL);
	rc |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, o->verify ? 1L : 0L);
	rc |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, o->verify ? 2L : 0L);
	if (o->ca_file != NULL)
		rc |= curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	rc |= login_options(c, o);
	rc |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* curl counts the greeting, STARTTLS and the login as part of
	 * connecting: this bounds them too */
	rc |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, connect_s);
	/* the whole connect and login; also bounds the wait for the
	 * reply to LOGOUT, which CURLOPT_TIMEOUT does not cover */
	rc |= curl_easy_setopt(c, CURLOPT_TIMEOUT, connect_s + s->timeout);
	rc |= curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT, s->timeout);
	rc |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf);
	return rc;
}

static void imap_close(void *h);

static int imap_open(void **h, const struct mq_inbox_opts *o,
    struct mq_err *err)
{
	struct imap *s;
	CURLcode cc;
	int rc;

	*h = NULL;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return mq_err_temp(err, "out of memory");
	s->timeout = o->timeout > 0 ? o->timeout : COMMAND_S;
	s->max_size = o->max_size > 0 ? o->max_size : MAX_SIZE;
	if ((rc = url_check(s, o->url, err)) != MQ_OK)
		goto out;
	if (o->tls == MQ_TLS_IMPLICIT && strncmp(s->where, "imap:", 5) == 0) {
		rc = mq_err_perm(err, EX_CONFIG, "%s: tls = \"tls\" needs an "
		    "imaps:// URL", s->where);
		goto out;
	}
	rc = mq_err_temp(err, "%s: cannot set up a curl handle", s->where);
	if ((s->curl = curl_easy_init()) == NULL || easy_setup(s, o) != 0)
		goto out;
	if ((cc = curl_easy_perform(s->curl)) != CURLE_OK) {
		rc = curl_fail(s, cc, err);
		goto out;
	}
	s->in = 1;
	*h = s;
	s = NULL;
	rc = MQ_OK;
	mq_err_clear(err);
out:
	imap_close(s);
	return rc;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the socket is ready for events, or the deadline passes. */
static int wait_socket(struct imap *s, short events, long long deadline,
    struct mq_err *err)
{
	curl_socket_t fd = CURL_SOCKET_BAD;
	struct pollfd p;
	long long left;
	int r;

	if (curl_easy_getinfo(s->curl, CURLINFO_ACTIVESOCKET, &fd) !=
	    CURLE_OK || fd == CURL_SOCKET_BAD) {
		s->broken = 1;
		return mq_err_temp(err, "%s: connection lost", s->where);
	}
	p = (struct pollfd){ .fd = fd, .events = events };
	do {
		if ((left = deadline - now_ms()) <= 0)
			break;
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
	} while (r == 0 || (r < 0 && errno == EINTR));
	if (left > 0 && r > 0)
		return MQ_OK;
	s->broken = 1;
	return mq_err_temp(err, "%s: no answer within %ld s", s->where,
	    s->timeout);
}

static int send_all(struct imap *s, const char *p, size_t n,
    long long deadline, struct mq_err *err)
{
	CURLcode cc;
	size_t sent;
	int rc;

	while (n > 0) {
		cc = curl_easy_send(s->curl, p, n, &sent);
		if (cc == CURLE_AGAIN) {
			if ((rc = wait_socket(s, POLLOUT, deadline, err)) !=
			    MQ_OK)
				return rc;
			continue;
		}
		if (cc != CURLE_OK)
			return curl_fail(s, cc, err);
		p += sent;
		n -= sent;
	}
	return MQ_OK;
}

/* Reads into s->resp until the tagged reply to tag is in; its offset in
 * *tagged. */
static int read_replies(struct imap *s, const char *tag, long long deadline,
    size_t *tagged, struct mq_err *err)
{
	struct mq_wire_scan st = { 0 };
	char chunk[16384];
	CURLcode cc;
	size_t n;
	int rc;

	while (s->resp.len == 0 ||
	    !mq_wire_scan(&st, s->resp.p, s->resp.len, tag)) {
		if (s->resp.len > s->max_size + SLACK) {
			s->broken = 1;
			return mq_err_perm(err, EX_DATAERR, "%s: a reply "
			    "bigger than %zu bytes", s->where,
			    s->max_size + SLACK);
		}
		cc = curl_easy_recv(s->curl, chunk, sizeof chunk, &n);
		if (cc == CURLE_AGAIN) {
			if ((rc = wait_socket(s, POLLIN, deadline, err)) !=
			    MQ_OK)
				return rc;
			continue;
		}
		if (cc == CURLE_OK && n == 0)
			cc = CURLE_GOT_NOTHING;
		if (cc != CURLE_OK) {
			s->broken = 1;
			return mq_err_temp(err, "%s: connection lost: %s",
			    s->where, curl_easy_strerror(cc));
		}
		mq_buf_put(&s->resp, chunk, n);
		if (s->resp.oom) {
			s->broken = 1;
			return mq_err_temp(err, "out of memory");
		}
	}
	*tagged = st.tagged;
	return MQ_OK;
}

/* Sends one command (its text from fmt) and reads its responses into
 * s->resp: MQ_OK with *status and s->text once the tagged reply came. */
static int command(struct imap *s, enum mq_wire_status *status,
    struct mq_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int command(struct imap *s, enum mq_wire_status *status,
    struct mq_err *err, const char *fmt, ...)
{
	long long deadline = now_ms() + s->timeout * 1000LL;
	char tag[16], line[1100];
	size_t tagged;
	va_list ap;
	int n, m, rc;

	if (s->broken)
		return mq_err_temp(err, "%s: session given up after an "
		    "earlier failure", s->where);
	snprintf(tag, sizeof tag, "M%u", ++s->tag);
	n = snprintf(line, sizeof line, "%s ", tag);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof line - n - 2, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= sizeof line - n - 2)
		return mq_err_perm(err, EX_SOFTWARE, "IMAP command too long");
	memcpy(line + n + m, "\r\n", 3);
	s->resp.len = 0;
	if ((rc = send_all(s, line, n + m + 2, deadline, err)) != MQ_OK ||
	    (rc = read_replies(s, tag, deadline, &tagged, err)) != MQ_OK)
		return rc;
	*status = mq_wire_status(s->resp.p + tagged, s->resp.len - tagged,
	    tag, s->text, sizeof s->text);
	return MQ_OK;
}

/* The outcome of a command that did not say OK, but for EXAMINE's NO. */
static int refused(struct imap *s, enum mq_wire_status st, const char *what,
    struct mq_err *err)
{
	if (st == MQ_WIRE_NO)
		return mq_err_temp(err, "%s: %s: %s", s->where, what, s->text);
	return mq_err_perm(err, EX_PROTOCOL, "%s: %s: %s", s->where, what,
	    s->text);
}

static int imap_folder(void *h, const char *folder, long long *uidvalidity,
    struct mq_err *err)
{
	struct imap *s = h;
	enum mq_wire_status st;
	char name[400], q[820];
	const char *r;
	size_t off = 0, n;
	int rc;

	*uidvalidity = 0;
	if (mq_utf7_encode(name, sizeof name, folder) != 0 ||
	    mq_wire_quote(q, sizeof q, name) != 0)
		return mq_err_perm(err, EX_DATAERR, "%s: folder \"%.80s\": "
		    "not a folder name (bad UTF-8, control characters, or too "
		    "long)", s->where, folder);
	/* a failed EXAMINE leaves no folder open, whatever was before */
	s->open = 0;
	if ((rc = command(s, &st, err, "EXAMINE %s", q)) != MQ_OK)
		return rc;
	if (st == MQ_WIRE_NO)
		return mq_err_perm(err, EX_NOINPUT, "%s: folder \"%.200s\": "
		    "%s", s->where, folder, s->text);
	if (st != MQ_WIRE_OK)
		return refused(s, st, "EXAMINE", err);
	while (mq_wire_next(s->resp.p, s->resp.len, &off, &r, &n))
		if (mq_wire_uidvalidity(r, n, uidvalidity))
			break;
	if (*uidvalidity <= 0)
		return mq_err_perm(err, EX_PROTOCOL, "%s: folder \"%.200s\": "
		    "no UIDVALIDITY", s->where, folder);
	s->open = 1;
	return MQ_OK;
}

static int need_folder(struct imap *s, struct mq_err *err)
{
	if (s->open)
		return MQ_OK;
	return mq_err_perm(err, EX_SOFTWARE, "%s: no folder open", s->where);
}

static int by_uid(const void *a, const void *b)
{
	const struct mq_inbox_item *x = a, *y = b;

	return (x->uid > y->uid) - (x->uid < y->uid);
}

/* Adds what FETCH response r says to *items if it names a message above
 * after_uid: unsolicited FETCHes (flags changed elsewhere) have no size
 * and are passed over. */
static int add_item(struct mq_inbox_item **items, int *n, int *cap,
    const char *r, size_t len, long long after_uid)
{
	struct mq_inbox_item *p;
	struct mq_wire_fetch f;
	int k = mq_wire_fetch(r, len, &f);

	if (k < 0)
		return -1;
	if (k == 0 || f.uid <= after_uid || f.size < 0)
		return 0;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		if ((p = realloc(*items, *cap * sizeof *p)) == NULL)
			return -2;
		*items = p;
	}
	p = &(*items)[(*n)++];
	memset(p, 0, sizeof *p);
	p->uid = f.uid;
	p->size = (size_t)f.size;
	snprintf(p->ref, sizeof p->ref, "%lld", f.uid);
	return 0;
}

static int imap_list(void *h, long long after_uid,
    struct mq_inbox_item **items, int *n, struct mq_err *err)
{
	struct imap *s = h;
	enum mq_wire_status st;
	const char *r;
	size_t off = 0, len;
	int rc, cap = 0, j = 0, k;

	*items = NULL;
	*n = 0;
	if (after_uid < 0)
		after_uid = 0;
	if ((rc = need_folder(s, err)) != MQ_OK ||
	    (rc = command(s, &st, err, "UID FETCH %lld:* (UID RFC822.SIZE)",
	    after_uid + 1)) != MQ_OK)
		return rc;
	if (st != MQ_WIRE_OK)
		return refused(s, st, "UID FETCH", err);
	while (mq_wire_next(s->resp.p, s->resp.len, &off, &r, &len))
		if ((k = add_item(items, n, &cap, r, len, after_uid)) < 0) {
			free(*items);
			*items = NULL;
			*n = 0;
			return k == -2 ? mq_err_temp(err, "out of memory") :
			    mq_err_perm(err, EX_PROTOCOL, "%s: a FETCH "
			    "response that does not parse", s->where);
		}
	/* "n:*" is answered in any order, and a message may come twice */
	if (*n > 1)
		qsort(*items, *n, sizeof **items, by_uid);
	for (int i = 0; i < *n; i++)
		if (j == 0 || (*items)[i].uid != (*items)[j - 1].uid)
			(*items)[j++] = (*items)[i];
	*n = j;
	return MQ_OK;
}

/* Hands the message body found in s->resp to the caller: moved to the
 * start of the buffer, which the caller then owns. */
static void take_body(struct imap *s, const struct mq_wire_fetch *f,
    char **buf, size_t *len)
{
	size_t n = f->body_len;

	memmove(s->resp.p, f->body, n);
	if (f->body_quoted)
		n = mq_wire_unquote(s->resp.p, n);
	s->resp.p[n] = '\0';
	*buf = s->resp.p;
	*len = n;
	s->resp = (struct mq_buf){ 0 };
}

static int imap_fetch(void *h, const struct mq_inbox_item *item, char **buf,
    size_t *len, int *headers_only, struct mq_err *err)
{
	struct imap *s = h;
	enum mq_wire_status st;
	struct mq_wire_fetch f;
	const char *r;
	size_t off = 0, n;
	int rc;

	*buf = NULL;
	*len = 0;
	*headers_only = item->size > s->max_size;
	if ((rc = need_folder(s, err)) != MQ_OK ||
	    (rc = command(s, &st, err, "UID FETCH %lld BODY.PEEK[%s]",
	    item->uid, *headers_only ? "HEADER" : "")) != MQ_OK)
		return rc;
	if (st != MQ_WIRE_OK)
		return refused(s, st, "UID FETCH", err);
	while (mq_wire_next(s->resp.p, s->resp.len, &off, &r, &n)) {
		if (mq_wire_fetch(r, n, &f) != 1 || f.uid != item->uid ||
		    f.body == NULL)
			continue;
		take_body(s, &f, buf, len);
		return MQ_OK;
	}
	return mq_err_perm(err, EX_DATAERR, "%s: message UID %lld is gone",
	    s->where, item->uid);
}

static int imap_find(void *h, const char *message_id, int *found,
    struct mq_err *err)
{
	struct imap *s = h;
	enum mq_wire_status st;
	char id[1000], q[2010];
	const char *r;
	size_t off = 0, n;
	int rc, any;

	*found = 0;
	if ((rc = need_folder(s, err)) != MQ_OK)
		return rc;
	/* An id that cannot be quoted simply is no id mailq ever wrote. */
	if (strpbrk(message_id, "\"\\\r\n") != NULL ||
	    snprintf(id, sizeof id, "<%s>", message_id) >= (int)sizeof id ||
	    mq_wire_quote(q, sizeof q, id) != 0)
		return MQ_OK;
	if ((rc = command(s, &st, err, "UID SEARCH HEADER Message-ID %s",
	    q)) != MQ_OK)
		return rc;
	if (st != MQ_WIRE_OK)
		return refused(s, st, "UID SEARCH", err);
	while (!*found && mq_wire_next(s->resp.p, s->resp.len, &off, &r, &n))
		if (mq_wire_search(r, n, &any) == 1)
			*found = any;
	return MQ_OK;
}

/* Says LOGOUT itself: curl does not for a CONNECT_ONLY connection. */
static void imap_close(void *h)
{
	struct imap *s = h;
	curl_socket_t fd = CURL_SOCKET_BAD;
	enum mq_wire_status st;
	struct mq_err err;

	if (s == NULL)
		return;
	if (s->curl != NULL && s->in && !s->broken)
		(void)command(s, &st, &err, "LOGOUT");
	/* A session out of step would have curl wait for replies lost
	 * among other bytes: hanging up first ends that at once. */
	if (s->curl != NULL && s->broken &&
	    curl_easy_getinfo(s->curl, CURLINFO_ACTIVESOCKET, &fd) ==
	    CURLE_OK && fd != CURL_SOCKET_BAD)
		shutdown(fd, SHUT_RDWR);
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	free(s->resp.p);
	free(s);
}

const struct mq_inbox_source mq_imap_source = {
	"imap", imap_open, imap_folder, imap_list, imap_fetch, imap_find,
	imap_close,
};
