/* An OAuth 2.0 client over libcurl: see oauth.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>

#include <curl/curl.h>
#include <glib.h>
#include <sqlite3.h>

#include "buf.h"
#include "oauth.h"

#define REPLY_MAX  (256 * 1024)
#define TIMEOUT_S  30

/* What a reply says, as far as mailq reads it. */
struct reply {
	long status;                  /* HTTP status */
	char error[64];               /* "error", or "" */
	char description[300];        /* "error_description" */
};

int mq_oauth_token_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if ((unsigned char)s[n] <= ' ' || (unsigned char)s[n] >= 0x7f)
			return 0;
	return n > 0 && n < MQ_OAUTH_TOKEN_MAX;
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct mq_buf *b = arg;

	if (b->len + size * n > REPLY_MAX)
		return 0;
	mq_buf_put(b, p, size * n);
	return b->oom ? 0 : size * n;
}

/* "k=v&k=v" from NULL-terminated pairs, values escaped; NULL values
 * skipped. malloc'd, or NULL. */
static char *form(CURL *c, const char *const *kv)
{
	struct mq_buf b = { 0 };
	char *e;

	for (int i = 0; kv[i] != NULL; i += 2) {
		if (kv[i + 1] == NULL)
			continue;
		if ((e = curl_easy_escape(c, kv[i + 1], 0)) == NULL) {
			free(b.p);
			return NULL;
		}
		if (b.len > 0)
			mq_buf_puts(&b, "&");
		mq_buf_puts(&b, kv[i]);
		mq_buf_puts(&b, "=");
		mq_buf_puts(&b, e);
		curl_free(e);
	}
	mq_buf_puts(&b, "");
	if (b.oom || b.p == NULL) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* POSTs the form to url; the body (NUL-terminated) into *body. */
static int post(const struct mq_conf_oauth2 *o, const char *url,
    const char *const *kv, struct mq_buf *body, long *status,
    struct mq_err *err)
{
	char ebuf[CURL_ERROR_SIZE] = "";
	char *data = NULL;
	CURLcode cc;
	CURL *c;
	int rc = MQ_OK;

	if ((c = curl_easy_init()) == NULL || (data = form(c, kv)) == NULL) {
		rc = mq_err_temp(err, "out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (o->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	if ((cc = curl_easy_perform(c)) != CURLE_OK)
		rc = mq_err_temp(err, "%s: %s", url, ebuf[0] ? ebuf :
		    curl_easy_strerror(cc));
	mq_buf_puts(body, "");
	if (rc == MQ_OK && (body->oom || body->p == NULL))
		rc = mq_err_temp(err, "out of memory");
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
out:
	free(data);
	curl_easy_cleanup(c);
	return rc;
}

/* Reads the string or number at each path of the JSON text into the
 * buffers (empty when absent); *valid says whether it is a JSON object. */
static int json_read(const char *json, const char *const *path, char **val,
    const size_t *len, int n, int *valid, struct mq_err *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	const unsigned char *v;
	int rc = MQ_OK;

	*valid = 0;
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_MEMORY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT json_valid(?1) AND json_type(?1) = "
	    "'object', json_extract(?1, ?2)", -1, &st, NULL) != SQLITE_OK) {
		rc = mq_err_temp(err, "cannot read JSON: out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, path[i], -1, SQLITE_STATIC);
		val[i][0] = '\0';
		if (sqlite3_step(st) != SQLITE_ROW)
			continue;
		*valid = sqlite3_column_int(st, 0);
		if ((v = sqlite3_column_text(st, 1)) != NULL)
			snprintf(val[i], len[i], "%s", (const char *)v);
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* What an error reply means: a passing trouble of the server, or a
 * refusal that only a person can mend. */
static int refused(const char *what, const struct reply *r,
    struct mq_err *err)
{
	if (r->status >= 500 || r->status == 429 || r->status == 0)
		return mq_err_temp(err, "%s: the server answered %ld%s%s", what,
		    r->status, r->error[0] ? ": " : "", r->error);
	if (r->error[0] == '\0')
		return mq_err_perm(err, EX_PROTOCOL, "%s: the server answered "
		    "%ld without an OAuth2 error", what, r->status);
	return mq_err_perm(err, EX_NOPERM, "%s: %s%s%s", what, r->error,
	    r->description[0] ? " (" : "", r->description[0] ?
	    r->description : "");
}

/* A token reply into *g: tokens, or the error. */
static int grant_of(const char *what, const char *body, long status,
    struct mq_oauth_grant *g, struct reply *r, struct mq_err *err)
{
	static const char *const path[] = { "$.access_token",
	    "$.refresh_token", "$.expires_in", "$.error",
	    "$.error_description" };
	char expires[32];
	char *val[] = { g->access, g->refresh, expires, r->error,
	    r->description };
	const size_t len[] = { sizeof g->access, sizeof g->refresh,
	    sizeof expires, sizeof r->error, sizeof r->description };
	int valid, rc;

	memset(g, 0, sizeof *g);
	r->status = status;
	if ((rc = json_read(body, path, val, len, 5, &valid, err)) != MQ_OK)
		return rc;
	if (!valid && status >= 500)
		r->error[0] = '\0';
	else if (!valid)
		return mq_err_perm(err, EX_PROTOCOL, "%s: the reply (HTTP %ld) "
		    "is not a JSON object", what, status);
	if (status != 200 || r->error[0] != '\0')
		return refused(what, r, err);
	if (!mq_oauth_token_ok(g->access) || (g->refresh[0] != '\0' &&
	    !mq_oauth_token_ok(g->refresh)))
		return mq_err_perm(err, EX_PROTOCOL, "%s: no usable "
		    "access_token in the reply", what);
	g->expires_in = expires[0] ? atol(expires) : 3600;
	if (g->expires_in <= 0)
		g->expires_in = 60;
	return MQ_OK;
}

static int token_request(const struct mq_conf_oauth2 *o,
    const char *const *kv, const char *what, struct mq_oauth_grant *g,
    struct reply *r, struct mq_err *err)
{
	struct mq_buf body = { 0 };
	long status = 0;
	int rc;

	memset(r, 0, sizeof *r);
	if ((rc = post(o, o->token_url, kv, &body, &status, err)) == MQ_OK)
		rc = grant_of(what, body.p, status, g, r, err);
	free(body.p);
	return rc;
}

int mq_oauth_refresh(const struct mq_conf_oauth2 *o, const char *refresh,
    struct mq_oauth_grant *g, struct mq_err *err)
{
	const char *kv[] = { "grant_type", "refresh_token", "refresh_token",
	    refresh, "client_id", o->client_id, "client_secret",
	    o->client_secret, "scope", o->scope, NULL };
	struct reply r;

	return token_request(o, kv, "token refresh", g, &r, err);
}

int mq_oauth_code(const struct mq_conf_oauth2 *o, const char *code,
    const char *verifier, const char *redirect_uri,
    struct mq_oauth_grant *g, struct mq_err *err)
{
	const char *kv[] = { "grant_type", "authorization_code", "code", code,
	    "redirect_uri", redirect_uri, "client_id", o->client_id,
	    "client_secret", o->client_secret, "code_verifier", verifier,
	    NULL };
	struct reply r;

	return token_request(o, kv, "authorization code", g, &r, err);
}

int mq_oauth_device_start(const struct mq_conf_oauth2 *o,
    struct mq_oauth_device *d, struct mq_err *err)
{
	static const char *const path[] = { "$.device_code", "$.user_code",
	    "$.verification_uri", "$.verification_url", "$.interval",
	    "$.expires_in", "$.error", "$.error_description" };
	const char *kv[] = { "client_id", o->client_id, "scope", o->scope,
	    NULL };
	char url2[512], interval[32], expires[32];
	struct mq_buf body = { 0 };
	struct reply r;
	char *val[] = { d->device_code, d->user_code, d->verification_uri,
	    url2, interval, expires, r.error, r.description };
	const size_t len[] = { sizeof d->device_code, sizeof d->user_code,
	    sizeof d->verification_uri, sizeof url2, sizeof interval,
	    sizeof expires, sizeof r.error, sizeof r.description };
	int valid, rc;

	memset(d, 0, sizeof *d);
	memset(&r, 0, sizeof r);
	if (o->device_url == NULL)
		return mq_err_perm(err, EX_CONFIG, "the provider has no device "
		    "authorization endpoint");
	if ((rc = post(o, o->device_url, kv, &body, &r.status, err)) ==
	    MQ_OK)
		rc = json_read(body.p, path, val, len, 8, &valid, err);
	free(body.p);
	if (rc != MQ_OK)
		return rc;
	if (r.status != 200 || r.error[0] != '\0' || !valid)
		return refused("device authorization", &r, err);
	if (d->verification_uri[0] == '\0')
		snprintf(d->verification_uri, sizeof d->verification_uri,
		    "%s", url2);
	if (d->device_code[0] == '\0' || d->user_code[0] == '\0' ||
	    d->verification_uri[0] == '\0')
		return mq_err_perm(err, EX_PROTOCOL, "device authorization: "
		    "the reply lacks device_code, user_code or "
		    "verification_uri");
	d->interval = interval[0] ? atol(interval) : 5;
	d->expires_in = expires[0] ? atol(expires) : 900;
	if (d->interval < 1)
		d->interval = 1;
	return MQ_OK;
}

int mq_oauth_device_poll(const struct mq_conf_oauth2 *o,
    struct mq_oauth_device *d, int *pending, struct mq_oauth_grant *g,
    struct mq_err *err)
{
	const char *kv[] = { "grant_type",
	    "urn:ietf:params:oauth:grant-type:device_code", "device_code",
	    d->device_code, "client_id", o->client_id, "client_secret",
	    o->client_secret, NULL };
	struct reply r;
	int rc;

	*pending = 0;
	rc = token_request(o, kv, "device authorization", g, &r, err);
	if (rc == MQ_PERM && (strcmp(r.error, "authorization_pending") == 0 ||
	    strcmp(r.error, "slow_down") == 0)) {
		if (strcmp(r.error, "slow_down") == 0)
			d->interval += 5;
		*pending = 1;
		mq_err_clear(err);
		return MQ_OK;
	}
	return rc;
}

/* base64url without padding. */
static void b64url(const unsigned char *p, size_t n, char *out, size_t len)
{
	gchar *b = g_base64_encode(p, n);
	size_t j = 0;

	for (size_t i = 0; b != NULL && b[i] != '\0' && j + 1 < len; i++)
		if (b[i] != '=')
			out[j++] = b[i] == '+' ? '-' : b[i] == '/' ? '_' : b[i];
	out[j] = '\0';
	g_free(b);
}

void mq_oauth_challenge(const char *verifier, char challenge[64])
{
	unsigned char digest[32];
	gsize dlen = sizeof digest;
	GChecksum *h = g_checksum_new(G_CHECKSUM_SHA256);

	g_checksum_update(h, (const guchar *)verifier, strlen(verifier));
	g_checksum_get_digest(h, digest, &dlen);
	g_checksum_free(h);
	b64url(digest, dlen, challenge, 64);
}

int mq_oauth_pkce(char verifier[64], char challenge[64], struct mq_err *err)
{
	unsigned char raw[32];

	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return mq_err_temp(err, "no random bytes from the system");
	b64url(raw, sizeof raw, verifier, 64);
	explicit_bzero(raw, sizeof raw);
	mq_oauth_challenge(verifier, challenge);
	return MQ_OK;
}

char *mq_oauth_authorize_url(const struct mq_conf_oauth2 *o,
    const char *redirect_uri, const char *challenge, const char *state,
    const char *login_hint)
{
	const char *kv[] = { "response_type", "code", "client_id",
	    o->client_id, "redirect_uri", redirect_uri, "scope", o->scope,
	    "state", state, "code_challenge", challenge,
	    "code_challenge_method", "S256", "access_type", "offline",
	    "prompt", "consent", "login_hint", login_hint, NULL };
	CURL *c = curl_easy_init();
	char *q, *url = NULL;

	if (c == NULL || o->authorize_url == NULL)
		goto out;
	if ((q = form(c, kv)) != NULL) {
		size_t n = strlen(o->authorize_url) + strlen(q) + 2;

		if ((url = malloc(n)) != NULL)
			snprintf(url, n, "%s%c%s", o->authorize_url,
			    strchr(o->authorize_url, '?') ? '&' : '?', q);
		free(q);
	}
out:
	curl_easy_cleanup(c);
	return url;
}
