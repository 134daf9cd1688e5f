/*
 * The configuration file, read top-down: senders, then mailboxes (which
 * name a sender), then campaigns (which name both), their steps and
 * variants. Each object's keys are checked against a table first, so a
 * typo is an error and never a silent default. Every error reads
 * "FILE:LINE: object: problem". Relative paths (database, templates,
 * ca_file, password_file) are taken from the config file's directory, so
 * the same file works from cron and from a shell anywhere.
 */
#define _GNU_SOURCE                 /* asprintf */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <libconfig.h>

#include "conf.h"
#include "msg.h"
#include "sched.h"
#include "text.h"
#include "tmpl.h"

#define MAX_TEMPLATE (1024 * 1024)     /* bytes of one template file */
#define MAX_SECRET   4096              /* bytes of one password file */
#define MAX_RETRY    MQ_CONF_RETRY_MAX /* retry attempts and backoff values */
#define MAX_LIMIT    1000000           /* any daily limit */
#define WHAT         160               /* "campaign 'x' step 2 variant B" */
/* An unsubscribe URL gets "?t=" and the lead's token (lib/deliver.c) and
 * must then still fit in a header value. */
#define MAX_UNSUB_URL (MQ_MSG_VALUE_MAX - 3 - (MQ_MSG_TOKEN_MAX - 1))

struct ctx {
	const char     *path;           /* the config file as given */
	char           *dir;            /* its directory and '/', or "" */
	struct mq_conf *conf;
	struct mq_err  *err;
};

static const char *const top_keys[] = {
	"database", "timezone", "senders", "mailboxes", "campaigns",
	"soft_bounce_limit", "tokens", NULL
};
static const char *const sender_keys[] = { "name", "daily_limit", NULL };
static const char *const mailbox_keys[] = {
	"name", "address", "display_name", "sender", "daily_limit", "enabled",
	"smtp", "tls", "verify", "ca_file", "username", "password",
	"password_file", "connect_timeout", "timeout", "unsubscribe_mailto",
	"max_connections", "max_per_minute", "inbox", "inbox_username",
	"inbox_password", "inbox_password_file", "inbox_folders",
	"inbox_sent_folder", "inbox_max_size", "bounce_pause", "auth", "oauth2",
	NULL
};
static const char *const oauth2_keys[] = {
	"provider", "tenant", "client_id", "client_secret",
	"client_secret_file", "token_url", "device_url", "authorize_url",
	"scope", "ca_file", NULL
};
static const char *const bounce_keys[] = { "rate", "window", NULL };
static const char *const campaign_keys[] = {
	"name", "sender", "mailboxes", "timezone", "schedule", "delay",
	"jitter", "daily_limit", "buffer", "retry", "steps",
	"unsubscribe_mailto", "unsubscribe_url", "contact_gap_days",
	"auto_reply_pause_days", "stop_on_reply", NULL
};
static const char *const schedule_keys[] = {
	"days", "start", "end", "holidays", "extra_holidays", NULL
};
static const char *const retry_keys[] = { "attempts", "backoff", NULL };
static const char *const step_keys[] = { "wait_days", "variants", NULL };
static const char *const variant_keys[] = {
	"letter", "weight", "subject", "text", "text_file", "html",
	"html_file", NULL
};
static const int default_backoff[] = { 60, 300, 900 };

/* --- errors ------------------------------------------------------------ */

static int oom(struct ctx *c)
{
	return mq_err_perm(c->err, EX_OSERR, "%s: out of memory", c->path);
}

static const char *src(const struct ctx *c, const config_setting_t *s)
{
	const char *f = s != NULL ? config_setting_source_file(s) : NULL;

	return f != NULL ? f : c->path;
}

/* "FILE:LINE: what: message"; what may be "". */
static int bad(struct ctx *c, const config_setting_t *s, const char *what,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int bad(struct ctx *c, const config_setting_t *s, const char *what,
    const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return mq_err_perm(c->err, EX_CONFIG, "%s:%u: %s%s%s", src(c, s),
	    s != NULL ? config_setting_source_line(s) : 0, what,
	    *what != '\0' ? ": " : "", msg);
}

/* An object's name for messages, like "campaign 'q4' step 1 variant B";
 * cutting a long one short is harmless. */
static void whatf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void whatf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* --- text checks ------------------------------------------------------- */

/* Nonzero if s[0..n) is well-formed UTF-8 without NUL; else *at is the
 * offset of the first bad byte. */
static int utf8_valid(const char *s, size_t n, size_t *at)
{
	const char *nul;

	*at = mq_text_utf8_span(s, n);
	if ((nul = memchr(s, '\0', *at)) != NULL)
		*at = (size_t)(nul - s);
	return *at == n;
}

/* Nonzero if s has a control character: in a header it could end the
 * header and start another. */
static int has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int name_valid(const char *s)
{
	size_t i;

	if (!isalnum((unsigned char)s[0]))
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (i > 63 || !(isalnum((unsigned char)s[i]) ||
		    strchr("._-", s[i]) != NULL))
			return 0;
	return 1;
}

/* --- paths and files --------------------------------------------------- */

static char *resolve(const struct ctx *c, const char *p)
{
	size_t n;
	char *r;

	if (p[0] == '/' || c->dir[0] == '\0')
		return strdup(p);
	n = strlen(c->dir) + strlen(p) + 1;
	if ((r = malloc(n)) == NULL)
		return NULL;
	if ((size_t)snprintf(r, n, "%s%s", c->dir, p) >= n) {
		free(r);
		return NULL;
	}
	return r;
}

/* Reads all of fd into a NUL-terminated *buf; 0 or an errno value. */
static int read_all(int fd, size_t max, char **buf, size_t *len)
{
	char *b = NULL, *nb;
	size_t n = 0, cap = 0;
	ssize_t r;

	for (;;) {
		if (cap - n < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			if ((nb = realloc(b, cap + 1)) == NULL) {
				free(b);
				return ENOMEM;
			}
			b = nb;
		}
		if ((r = read(fd, b + n, cap - n)) < 0) {
			if (errno == EINTR)
				continue;
			free(b);
			return errno;
		}
		if (r == 0)
			break;
		if ((n += (size_t)r) > max) {
			free(b);
			return EFBIG;
		}
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

static int secret_ok(struct ctx *c, const char *file, const struct stat *st)
{
	if (st->st_uid == getuid() && (st->st_mode & 077) == 0)
		return MQ_OK;
	return mq_err_perm(c->err, EX_NOPERM, "%s: contains a password and "
	    "must be owned by you and not accessible by group or others "
	    "(chmod 600 %s)", file, file);
}

/* A template file, relative to the config: *out is its text. */
static int read_template(struct ctx *c, const config_setting_t *s,
    const char *what, const char *name, char **out)
{
	char *path = resolve(c, name), *buf = NULL;
	size_t len = 0, at;
	int fd, e, rc = MQ_OK;

	if (path == NULL)
		return oom(c);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = bad(c, s, what, "%s: cannot read: %s", path,
		    strerror(errno));
		goto out;
	}
	e = read_all(fd, MAX_TEMPLATE, &buf, &len);
	close(fd);
	if (e != 0)
		rc = bad(c, s, what, "%s: cannot read: %s", path,
		    e == EFBIG ? "larger than 1 MiB" : strerror(e));
	else if (!utf8_valid(buf, len, &at))
		rc = bad(c, s, what, "%s: not valid UTF-8 text (byte %zu)",
		    path, at + 1);
	else if (len == 0)
		rc = bad(c, s, what, "%s: is empty", path);
out:
	if (rc == MQ_OK)
		*out = buf;
	else
		free(buf);
	free(path);
	return rc;
}

/* The first line of a password file that only the user can read. */
static int read_secret(struct ctx *c, const config_setting_t *s,
    const char *what, const char *name, char **out, struct stat *stp)
{
	char *path = resolve(c, name), *buf = NULL;
	struct stat st;
	size_t len;
	int fd = -1, e, rc;

	if (path == NULL)
		return oom(c);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		rc = bad(c, s, what, "password_file %s: cannot read: %s", path,
		    strerror(errno));
		goto out;
	}
	if ((rc = secret_ok(c, path, &st)) != MQ_OK)
		goto out;
	*stp = st;
	if ((e = read_all(fd, MAX_SECRET, &buf, &len)) != 0) {
		rc = bad(c, s, what, "password_file %s: cannot read: %s", path,
		    e == EFBIG ? "too large" : strerror(e));
		goto out;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0')
		rc = bad(c, s, what, "password_file %s: first line is empty",
		    path);
out:
	if (fd >= 0)
		close(fd);
	if (rc == MQ_OK)
		*out = buf;
	else
		free(buf);
	free(path);
	return rc;
}

/* --- typed lookups ----------------------------------------------------- */

static config_setting_t *member(const config_setting_t *g, const char *key)
{
	return g != NULL ? config_setting_get_member(g, key) : NULL;
}

static int check_keys(struct ctx *c, const config_setting_t *g,
    const char *const *keys, const char *what)
{
	const config_setting_t *s;
	const char *name;
	int i, j;

	for (i = 0; i < config_setting_length(g); i++) {
		s = config_setting_get_elem(g, i);
		name = config_setting_name(s);
		for (j = 0; keys[j] != NULL; j++)
			if (strcmp(keys[j], name) == 0)
				break;
		if (keys[j] != NULL)
			continue;
		if (*what == '\0')
			return bad(c, s, "", "unknown key '%s'", name);
		return bad(c, s, "", "unknown key '%s' in %s", name, what);
	}
	return MQ_OK;
}

/* A copy of a string value, of def when absent (NULL: *out = NULL). */
static int get_str(struct ctx *c, const config_setting_t *g, const char *key,
    const char *what, const char *def, char **out)
{
	const config_setting_t *s = member(g, key);
	const char *v = def;
	size_t at;

	*out = NULL;
	if (s != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			return bad(c, s, what, "%s must be a string", key);
		v = config_setting_get_string(s);
		if (!utf8_valid(v, strlen(v), &at))
			return bad(c, s, what, "%s is not valid UTF-8 "
			    "(byte %zu)", key, at + 1);
	}
	if (v != NULL && (*out = strdup(v)) == NULL)
		return oom(c);
	return MQ_OK;
}

static int need_str(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, char **out)
{
	*out = NULL;
	if (member(g, key) == NULL)
		return bad(c, g, what, "missing required key '%s'", key);
	return get_str(c, g, key, what, NULL, out);
}

static int is_int(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64;
}

static int get_int(struct ctx *c, const config_setting_t *g, const char *key,
    const char *what, int def, int min, int max, int *out)
{
	const config_setting_t *s = member(g, key);
	long long v = def;

	if (s != NULL) {
		if (!is_int(s))
			return bad(c, s, what, "%s must be an integer", key);
		v = config_setting_get_int64(s);
	}
	if (v < min)
		return bad(c, s, what, "%s must be >= %d", key, min);
	if (v > max)
		return bad(c, s, what, "%s must be <= %d", key, max);
	*out = (int)v;
	return MQ_OK;
}

static int get_bool(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, int def, int *out)
{
	const config_setting_t *s = member(g, key);

	*out = def;
	if (s == NULL)
		return MQ_OK;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return bad(c, s, what, "%s must be true or false", key);
	*out = config_setting_get_bool(s) != 0;
	return MQ_OK;
}

/* An optional group: *out is NULL when absent. */
static int get_group(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, const char *const *keys,
    const config_setting_t **out)
{
	char sub[WHAT];

	*out = member(g, key);
	if (*out == NULL)
		return MQ_OK;
	if (!config_setting_is_group(*out))
		return bad(c, *out, what, "%s must be a group { ... }", key);
	whatf(sub, sizeof sub, "%s%s%s", what, *what ? " " : "", key);
	return check_keys(c, *out, keys, sub);
}

/* A list ( {...}, {...} ) of at least min groups; *n = 0 when absent. */
static int get_list(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, int min,
    const config_setting_t **out, int *n)
{
	int i;

	*n = 0;
	if ((*out = member(g, key)) == NULL) {
		if (min > 0)
			return bad(c, g, what, "missing required key '%s'",
			    key);
		return MQ_OK;
	}
	if (!config_setting_is_list(*out))
		return bad(c, *out, what, "%s must be a list ( {...}, ... )",
		    key);
	*n = config_setting_length(*out);
	if (*n < min)
		return bad(c, *out, what, "%s needs at least %d entr%s", key,
		    min, min == 1 ? "y" : "ies");
	for (i = 0; i < *n; i++)
		if (!config_setting_is_group(config_setting_get_elem(*out, i)))
			return bad(c, config_setting_get_elem(*out, i), what,
			    "each of %s must be a group { ... }", key);
	return MQ_OK;
}

/* An array or list of scalars of one type (at least one). */
static int get_array(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, int type,
    const config_setting_t **out, int *n)
{
	const char *tname = type == CONFIG_TYPE_STRING ? "strings" : "integers";
	const config_setting_t *e;
	int i;

	*n = 0;
	if ((*out = member(g, key)) == NULL)
		return MQ_OK;
	if (!config_setting_is_array(*out) && !config_setting_is_list(*out))
		return bad(c, *out, what, "%s must be an array [ ... ] of %s",
		    key, tname);
	for (i = 0; i < config_setting_length(*out); i++) {
		e = config_setting_get_elem(*out, i);
		if (type == CONFIG_TYPE_STRING ?
		    config_setting_type(e) != type : !is_int(e))
			return bad(c, e, what, "%s must be an array [ ... ] "
			    "of %s", key, tname);
	}
	*n = i;
	return MQ_OK;
}

/* "kind 'name'" when the name is a string, else "kind #i". */
static void label(const config_setting_t *g, const char *kind, int i,
    char *what, size_t len)
{
	const char *name;

	if (config_setting_lookup_string(g, "name", &name))
		whatf(what, len, "%s '%s'", kind, name);
	else
		whatf(what, len, "%s #%d", kind, i + 1);
}

static int load_name(struct ctx *c, const config_setting_t *g,
    const char *what, char **out)
{
	int rc;

	if ((rc = need_str(c, g, "name", what, out)) != MQ_OK)
		return rc;
	if (!name_valid(*out))
		return bad(c, member(g, "name"), what, "name must be 1 to 64 "
		    "letters, digits, '.', '_' or '-', starting with a letter "
		    "or digit");
	return MQ_OK;
}

/* "duplicate sender 'anna' (first defined at line 3)" */
static int dup_name(struct ctx *c, const config_setting_t *g,
    const char *kind, const char *name, int line)
{
	return bad(c, g, "", "duplicate %s '%s' (first defined at line %d)",
	    kind, name, line);
}

/* --- senders and mailboxes --------------------------------------------- */

static int load_sender(struct ctx *c, const config_setting_t *g, int i)
{
	struct mq_conf_sender *s = &c->conf->senders[i];
	char what[WHAT];
	int j, rc;

	label(g, "sender", i, what, sizeof what);
	s->line = config_setting_source_line(g);
	if ((rc = check_keys(c, g, sender_keys, what)) != MQ_OK ||
	    (rc = load_name(c, g, what, &s->name)) != MQ_OK ||
	    (rc = get_int(c, g, "daily_limit", what, 100, 0, MAX_LIMIT,
	    &s->daily_limit)) != MQ_OK)
		return rc;
	for (j = 0; j < i; j++)
		if (strcmp(c->conf->senders[j].name, s->name) == 0)
			return dup_name(c, g, "sender", s->name,
			    c->conf->senders[j].line);
	return MQ_OK;
}

/* smtp[s]://host[:port][/ehlo-name], no credentials in the URL. */
/* u for a message: whatever stands before its last '@' (after the
 * scheme) may be a password, and is shown as "***". */
static const char *url_shown(const char *u, char *buf, size_t size)
{
	const char *at = strrchr(u, '@'), *from = strstr(u, "://");

	if (at == NULL)
		return u;
	from = from != NULL && from < at ? from + 3 : u;
	snprintf(buf, size, "%.*s***%s", (int)(from - u), u, at);
	return buf;
}

static const char *url_problem(const char *u, int *implicit)
{
	const char *p, *host;
	long port;
	char *end;

	if (strncmp(u, "smtp://", 7) == 0)
		*implicit = 0, p = u + 7;
	else if (strncmp(u, "smtps://", 8) == 0)
		*implicit = 1, p = u + 8;
	else
		return "must start with smtp://, smtps:// or file:///";
	if (strchr(p, '@') != NULL)
		return "must not hold credentials: use username and password";
	host = p;
	if (*p == '[') {
		for (p++; isxdigit((unsigned char)*p) || *p == ':' ||
		    *p == '.'; p++)
			;
		if (*p++ != ']' || p == host + 2)
			return "has a bad [IPv6] address";
	} else
		while (isalnum((unsigned char)*p) || *p == '.' || *p == '-')
			p++;
	if (p == host)
		return "needs a host name";
	if (*p == ':') {
		port = strtol(p + 1, &end, 10);
		if (end == p + 1 || !isdigit((unsigned char)p[1]) ||
		    port < 1 || port > 65535)
			return "has a bad port number";
		p = end;
	}
	if (*p != '\0' && *p != '/')
		return "is not smtp://host[:port] or smtps://host[:port]";
	for (; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return "must not contain spaces or control characters";
	return NULL;
}

/* file:///absolute/path, the mbox the file transport appends to. A
 * relative path would depend on the directory cron starts in. */
static const char *file_problem(const char *u)
{
	const char *p = u + strlen("file:");

	if (strncmp(p, "//", 2) != 0 || p[2] != '/')
		return "must name an absolute path, as in file:///var/tmp/mbox";
	for (p += 2; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "must not contain control characters";
	if (p[-1] == '/')
		return "names a directory, not a file";
	return NULL;
}

/* A file:// mailbox talks no SMTP: a key that would only matter to a
 * server (and a password that would sit in a file for nothing) is an
 * error rather than silently ignored. */
static int load_file(struct ctx *c, const config_setting_t *g,
    struct mq_conf_mailbox *m, const char *what)
{
	static const char *const smtp_only[] = { "tls", "verify", "ca_file",
	    "username", "password", "password_file", NULL };
	const char *problem;
	char shown[300];

	if ((problem = file_problem(m->smtp)) != NULL)
		return bad(c, member(g, "smtp"), what, "smtp URL '%s' %s",
		    url_shown(m->smtp, shown, sizeof shown), problem);
	for (int i = 0; smtp_only[i] != NULL; i++)
		if (member(g, smtp_only[i]) != NULL)
			return bad(c, member(g, smtp_only[i]), what, "%s does "
			    "not apply to a file:// mailbox", smtp_only[i]);
	m->tls = MQ_TLS_NONE;
	m->verify = 0;
	return MQ_OK;
}

static int load_smtp(struct ctx *c, const config_setting_t *g,
    struct mq_conf_mailbox *m, const char *what)
{
	const config_setting_t *s;
	const char *problem;
	char *tls = NULL, *ca = NULL, shown[300];
	int implicit = 0, rc;

	if ((rc = need_str(c, g, "smtp", what, &m->smtp)) != MQ_OK)
		return rc;
	if (strncmp(m->smtp, "file:", 5) == 0)
		return load_file(c, g, m, what);
	if ((problem = url_problem(m->smtp, &implicit)) != NULL)
		return bad(c, member(g, "smtp"), what, "smtp URL '%s' %s",
		    url_shown(m->smtp, shown, sizeof shown), problem);
	if ((rc = get_str(c, g, "tls", what, implicit ? "tls" : "starttls",
	    &tls)) != MQ_OK)
		goto out;
	s = member(g, "tls") != NULL ? member(g, "tls") : g;
	if (strcmp(tls, "none") == 0)
		m->tls = MQ_TLS_NONE;
	else if (strcmp(tls, "starttls") == 0)
		m->tls = MQ_TLS_STARTTLS;
	else if (strcmp(tls, "tls") == 0)
		m->tls = MQ_TLS_IMPLICIT;
	else {
		rc = bad(c, s, what, "tls must be \"none\", \"starttls\" or "
		    "\"tls\"");
		goto out;
	}
	if (implicit != (m->tls == MQ_TLS_IMPLICIT)) {
		rc = bad(c, s, what, implicit ? "an smtps:// URL needs tls = "
		    "\"tls\"" : "tls = \"tls\" needs an smtps:// URL");
		goto out;
	}
	if ((rc = get_bool(c, g, "verify", what, 1, &m->verify)) != MQ_OK ||
	    (rc = get_str(c, g, "ca_file", what, NULL, &ca)) != MQ_OK)
		goto out;
	if (ca != NULL && (m->ca_file = resolve(c, ca)) == NULL)
		rc = oom(c);
out:
	free(tls);
	free(ca);
	return rc;
}

/* A secret given inline (key) or in a file (file_key), or neither:
 * *out NULL. Either way the file that holds it must be the user's
 * alone; *st_out is that file's status. */
static int get_secret(struct ctx *c, const config_setting_t *g,
    const char *what, const char *key, const char *file_key, char **out,
    struct stat *st_out)
{
	const config_setting_t *pw = member(g, key);
	const config_setting_t *pf = member(g, file_key);
	struct stat st;
	char *file = NULL;
	int rc;

	*out = NULL;
	if (pw != NULL && pf != NULL)
		return bad(c, pf, what, "%s and %s: use one, not both", key,
		    file_key);
	if (pw != NULL) {
		if ((rc = get_str(c, g, key, what, NULL, out)) != MQ_OK)
			return rc;
		if (stat(src(c, pw), &st) < 0)
			return mq_err_perm(c->err, EX_NOINPUT, "%s: cannot "
			    "stat: %s", src(c, pw), strerror(errno));
		*st_out = st;
		return secret_ok(c, src(c, pw), &st);
	}
	if (pf == NULL)
		return MQ_OK;
	if ((rc = get_str(c, g, file_key, what, NULL, &file)) == MQ_OK)
		rc = read_secret(c, pf, what, file, out, st_out);
	free(file);
	return rc;
}

/* --- OAuth2 ------------------------------------------------------------- */

#define MS_BASE "https://login.microsoftonline.com/"
#define MS_SCOPE "https://outlook.office.com/SMTP.Send " \
    "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"

/* An endpoint of a custom provider: https://host/... */
static int get_endpoint(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, int need, char **out)
{
	int rc;

	if ((rc = get_str(c, g, key, what, NULL, out)) != MQ_OK)
		return rc;
	if (*out == NULL)
		return need ? bad(c, g, what, "missing required key '%s'",
		    key) : MQ_OK;
	if (strncmp(*out, "https://", 8) != 0 || (*out)[8] == '\0' ||
	    (*out)[8] == '/' || strpbrk(*out, " \"<>\\") != NULL)
		return bad(c, member(g, key), what, "%s must be an https:// "
		    "URL", key);
	return MQ_OK;
}

/* The provider's endpoints and scope: presets, or a custom provider's. */
static int oauth2_endpoints(struct ctx *c, const config_setting_t *g,
    struct mq_conf_oauth2 *o, const char *what)
{
	static const char *const custom_only[] = { "token_url", "device_url",
	    "authorize_url", "scope", NULL };
	char *tenant = NULL;
	int rc = MQ_OK;

	if (strcmp(o->provider, "custom") == 0) {
		if ((rc = get_endpoint(c, g, "token_url", what, 1,
		    &o->token_url)) != MQ_OK ||
		    (rc = get_endpoint(c, g, "device_url", what, 0,
		    &o->device_url)) != MQ_OK ||
		    (rc = get_endpoint(c, g, "authorize_url", what, 0,
		    &o->authorize_url)) != MQ_OK)
			return rc;
		return need_str(c, g, "scope", what, &o->scope);
	}
	for (int i = 0; custom_only[i] != NULL; i++)
		if (member(g, custom_only[i]) != NULL)
			return bad(c, member(g, custom_only[i]), what, "%s is "
			    "set by provider \"%s\" (use provider = \"custom\" "
			    "to set it)", custom_only[i], o->provider);
	if (strcmp(o->provider, "google") == 0) {
		if (member(g, "tenant") != NULL)
			return bad(c, member(g, "tenant"), what, "tenant is "
			    "for provider \"microsoft\"");
		o->token_url = strdup("https://oauth2.googleapis.com/token");
		o->authorize_url = strdup(
		    "https://accounts.google.com/o/oauth2/v2/auth");
		o->scope = strdup("https://mail.google.com/");
	} else {
		if ((rc = get_str(c, g, "tenant", what, "organizations",
		    &tenant)) != MQ_OK)
			return rc;
		if (*tenant == '\0' || !name_valid(tenant))
			rc = bad(c, member(g, "tenant"), what, "tenant '%s' is "
			    "not a tenant name or id", tenant);
		else if (asprintf(&o->token_url, MS_BASE "%s/oauth2/v2.0/token",
		    tenant) < 0 || asprintf(&o->device_url, MS_BASE
		    "%s/oauth2/v2.0/devicecode", tenant) < 0 ||
		    asprintf(&o->authorize_url, MS_BASE
		    "%s/oauth2/v2.0/authorize", tenant) < 0)
			rc = oom(c);
		o->scope = strdup(MS_SCOPE);
		free(tenant);
	}
	if (rc == MQ_OK && (o->token_url == NULL || o->scope == NULL))
		rc = oom(c);
	return rc;
}

/* oauth2 = { provider; client_id; client_secret(_file); ... } */
static int load_oauth2(struct ctx *c, const config_setting_t *mbg,
    struct mq_conf_mailbox *m, const char *mwhat, struct stat *st)
{
	struct mq_conf_oauth2 *o = &m->oauth2;
	const config_setting_t *g;
	char what[WHAT], *ca = NULL;
	int rc;

	whatf(what, sizeof what, "%s oauth2", mwhat);
	if ((rc = get_group(c, mbg, "oauth2", mwhat, oauth2_keys, &g)) !=
	    MQ_OK)
		return rc;
	if (g == NULL)
		return bad(c, member(mbg, "auth"), mwhat, "auth = \"oauth2\" "
		    "needs an oauth2 = { ... } group");
	if ((rc = need_str(c, g, "provider", what, &o->provider)) != MQ_OK)
		return rc;
	if (strcmp(o->provider, "google") != 0 &&
	    strcmp(o->provider, "microsoft") != 0 &&
	    strcmp(o->provider, "custom") != 0)
		return bad(c, member(g, "provider"), what, "provider must be "
		    "\"google\", \"microsoft\" or \"custom\"");
	if ((rc = need_str(c, g, "client_id", what, &o->client_id)) != MQ_OK ||
	    (rc = get_secret(c, g, what, "client_secret",
	    "client_secret_file", &o->client_secret, st)) != MQ_OK ||
	    (rc = oauth2_endpoints(c, g, o, what)) != MQ_OK ||
	    (rc = get_str(c, g, "ca_file", what, NULL, &ca)) != MQ_OK)
		return rc;
	if (*o->client_id == '\0' || has_control(o->client_id) ||
	    strchr(o->client_id, ' ') != NULL)
		rc = bad(c, member(g, "client_id"), what, "client_id must be "
		    "one word");
	if (rc == MQ_OK && ca != NULL && (o->ca_file = resolve(c, ca)) == NULL)
		rc = oom(c);
	free(ca);
	return rc;
}

/* auth = "password" (a password or password_file, or no AUTH at all) or
 * "oauth2" (a username and an oauth2 group; no password anywhere). */
static int load_auth(struct ctx *c, const config_setting_t *g,
    struct mq_conf_mailbox *m, const char *what, struct stat *st_out)
{
	const config_setting_t *pw = member(g, "password");
	const config_setting_t *pf = member(g, "password_file");
	char *auth = NULL;
	int rc;

	if ((rc = get_str(c, g, "username", what, NULL, &m->username)) !=
	    MQ_OK || (rc = get_str(c, g, "auth", what, "password", &auth)) !=
	    MQ_OK)
		return rc;
	m->auth = strcmp(auth, "oauth2") == 0 ? MQ_AUTH_OAUTH2 :
	    MQ_AUTH_PASSWORD;
	if (m->auth == MQ_AUTH_PASSWORD && strcmp(auth, "password") != 0)
		rc = bad(c, member(g, "auth"), what, "auth must be "
		    "\"password\" or \"oauth2\"");
	free(auth);
	if (rc != MQ_OK)
		return rc;
	if (m->auth == MQ_AUTH_OAUTH2) {
		if (pw != NULL || pf != NULL)
			return bad(c, pw != NULL ? pw : pf, what, "auth = "
			    "\"oauth2\" takes no password");
		if (m->username == NULL)
			return bad(c, member(g, "auth"), what, "auth = "
			    "\"oauth2\" needs a username");
		return load_oauth2(c, g, m, what, st_out);
	}
	if (member(g, "oauth2") != NULL)
		return bad(c, member(g, "oauth2"), what, "oauth2 needs auth = "
		    "\"oauth2\"");
	if (m->username == NULL && pw != NULL && pf == NULL)
		return bad(c, pw, what, "a password needs a username");
	if (m->username == NULL && pf != NULL && pw == NULL)
		return bad(c, pf, what, "a password needs a username");
	if (m->username != NULL && pw == NULL && pf == NULL)
		return bad(c, member(g, "username"), what, "username needs a "
		    "password or password_file");
	return get_secret(c, g, what, "password", "password_file",
	    &m->password, st_out);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return s == NULL ? fnv(h, "", 1) : fnv(h, s, strlen(s) + 1);
}

static uint64_t fnv_stat(uint64_t h, const struct stat *st)
{
	uint64_t v[5] = { st->st_dev, st->st_ino, (uint64_t)st->st_size,
	    (uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec };

	return fnv(h, v, sizeof v);
}

/* What the mailbox logs in with, as a fingerprint: a resting mailbox is
 * tried again at once when it changes. The secret itself is not hashed
 * (the fingerprint is stored): the file it came from stands for it, by
 * identity, size and time of change, and so does the CA file. */
static void fingerprint(struct mq_conf_mailbox *m, const struct stat *secret)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	struct stat st;

	h = fnv_str(h, m->smtp);
	h = fnv_str(h, m->username);
	h = fnv(h, &m->auth, sizeof m->auth);
	h = fnv_str(h, m->oauth2.client_id);
	h = fnv_str(h, m->oauth2.token_url);
	h = fnv(h, &m->tls, sizeof m->tls);
	h = fnv(h, &m->verify, sizeof m->verify);
	h = fnv_str(h, m->ca_file);
	h = fnv_stat(h, secret);
	if (m->ca_file != NULL && stat(m->ca_file, &st) == 0)
		h = fnv_stat(h, &st);
	snprintf(m->fingerprint, sizeof m->fingerprint, "%016llx",
	    (unsigned long long)h);
}

/* unsubscribe_mailto: an address for List-Unsubscribe, or absent. */
static int load_mailto(struct ctx *c, const config_setting_t *g,
    const char *what, char **out)
{
	const char *why;
	int rc;

	if ((rc = get_str(c, g, "unsubscribe_mailto", what, NULL, out)) !=
	    MQ_OK || *out == NULL)
		return rc;
	if ((why = mq_text_addr_problem(*out)) == NULL &&
	    strchr(*out, '?') != NULL)
		why = "'?' would end the mailto: address";
	if (why != NULL)
		return bad(c, member(g, "unsubscribe_mailto"), what,
		    "unsubscribe_mailto '%s' is not a valid email address: %s",
		    *out, why);
	return MQ_OK;
}

/* unsubscribe_url: an https base to which "?t=TOKEN" is added; printable
 * ASCII without spaces, quotes, angle brackets or a fragment, short
 * enough for the token. */
static int load_unsub_url(struct ctx *c, const config_setting_t *g,
    const char *what, char **out)
{
	const char *p;
	int rc;

	if ((rc = get_str(c, g, "unsubscribe_url", what, NULL, out)) !=
	    MQ_OK || *out == NULL)
		return rc;
	for (p = *out; *p > ' ' && *p < 127 && strchr("\"<>#\\", *p) ==
	    NULL; p++)
		;
	if (strncmp(*out, "https://", 8) != 0 || (*out)[8] == '\0' ||
	    (*out)[8] == '/' || *p != '\0')
		return bad(c, member(g, "unsubscribe_url"), what,
		    "unsubscribe_url must be an https:// URL (printable, no "
		    "spaces, quotes, <, > or #)");
	if (strlen(*out) > MAX_UNSUB_URL)
		return bad(c, member(g, "unsubscribe_url"), what,
		    "unsubscribe_url is longer than %d characters",
		    MAX_UNSUB_URL);
	return MQ_OK;
}

/* --- inboxes ----------------------------------------------------------- */

/* imap[s]://host[:port][/] or maildir:///absolute/path. */
static const char *inbox_problem(const char *u)
{
	const char *p, *host;

	if (strncmp(u, "maildir://", 10) == 0) {
		if (u[10] != '/')
			return "must name an absolute path, as in "
			    "maildir:///home/anna/Maildir";
		for (p = u; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return "must not contain control characters";
		return NULL;
	}
	if (strncmp(u, "imap://", 7) == 0)
		host = u + 7;
	else if (strncmp(u, "imaps://", 8) == 0)
		host = u + 8;
	else
		return "must start with imap://, imaps:// or maildir:///";
	p = host + strcspn(host, "/");
	if (p == host || (*p == '/' && p[1] != '\0') ||
	    strpbrk(host, "@?# ") != NULL)
		return "is not imap[s]://host[:port] (no user, password or "
		    "folder in it)";
	return NULL;
}

/* inbox_folders = [ ... ]: names, each once; default INBOX. */
static int load_folders(struct ctx *c, const config_setting_t *g,
    struct mq_conf_mailbox *m, const char *what)
{
	const config_setting_t *a, *e;
	const char *name;
	size_t at;
	int n, i, j, rc;

	if ((rc = get_array(c, g, "inbox_folders", what, CONFIG_TYPE_STRING,
	    &a, &n)) != MQ_OK)
		return rc;
	if (a != NULL && n == 0)
		return bad(c, a, what, "inbox_folders needs at least one "
		    "folder");
	if ((m->inbox_folders = calloc(n > 0 ? n : 1, sizeof (char *))) ==
	    NULL)
		return oom(c);
	for (i = 0; i < (n > 0 ? n : 1); i++) {
		e = a != NULL ? config_setting_get_elem(a, i) : NULL;
		name = e != NULL ? config_setting_get_string(e) : "INBOX";
		if (*name == '\0' || has_control(name) ||
		    !utf8_valid(name, strlen(name), &at))
			return bad(c, e, what, "inbox_folders: '%s' is not a "
			    "folder name", name);
		for (j = 0; j < i; j++)
			if (strcmp(m->inbox_folders[j], name) == 0)
				return bad(c, e, what, "inbox_folders: '%s' is "
				    "listed twice", name);
		if ((m->inbox_folders[i] = strdup(name)) == NULL)
			return oom(c);
		m->n_inbox_folders = i + 1;
	}
	return MQ_OK;
}

/* bounce_pause = { rate = 5; window = 100; } */
static int load_bounce_pause(struct ctx *c, const config_setting_t *g,
    struct mq_conf_mailbox *m, const char *what)
{
	const config_setting_t *b;
	char sub[WHAT];
	int rc;

	whatf(sub, sizeof sub, "%s bounce_pause", what);
	if ((rc = get_group(c, g, "bounce_pause", what, bounce_keys, &b)) !=
	    MQ_OK ||
	    (rc = get_int(c, b, "rate", sub, 5, 0, 100, &m->bounce_rate)) !=
	    MQ_OK)
		return rc;
	return get_int(c, b, "window", sub, 100, 10, 100000,
	    &m->bounce_window);
}

/* What mailq-fetch reads, and with which credentials: the SMTP ones
 * unless the inbox has its own. Keys that only matter with an inbox are
 * an error without one. */
static int load_inbox(struct ctx *c, const config_setting_t *g,
    struct mq_conf_mailbox *m, const char *what, struct stat *st)
{
	static const char *const needs_inbox[] = { "inbox_username",
	    "inbox_password", "inbox_password_file", "inbox_folders",
	    "inbox_sent_folder", "inbox_max_size", NULL };
	const char *problem;
	char shown[300];
	int rc;

	if ((rc = load_bounce_pause(c, g, m, what)) != MQ_OK ||
	    (rc = get_str(c, g, "inbox", what, NULL, &m->inbox)) != MQ_OK)
		return rc;
	if (m->inbox == NULL) {
		for (int i = 0; needs_inbox[i] != NULL; i++)
			if (member(g, needs_inbox[i]) != NULL)
				return bad(c, member(g, needs_inbox[i]), what,
				    "%s needs an inbox", needs_inbox[i]);
		return MQ_OK;
	}
	if ((problem = inbox_problem(m->inbox)) != NULL)
		return bad(c, member(g, "inbox"), what, "inbox URL '%s' %s",
		    url_shown(m->inbox, shown, sizeof shown), problem);
	if ((rc = get_str(c, g, "inbox_username", what, m->username,
	    &m->inbox_username)) != MQ_OK)
		return rc;
	if (m->inbox_username == NULL && (member(g, "inbox_password") ||
	    member(g, "inbox_password_file")))
		return bad(c, member(g, "inbox_password") ? member(g,
		    "inbox_password") : member(g, "inbox_password_file"), what,
		    "inbox_password needs inbox_username");
	if ((rc = get_secret(c, g, what, "inbox_password",
	    "inbox_password_file", &m->inbox_password, st)) != MQ_OK)
		return rc;
	if (m->inbox_password == NULL && m->password != NULL &&
	    (m->inbox_password = strdup(m->password)) == NULL)
		return oom(c);
	if ((rc = load_folders(c, g, m, what)) != MQ_OK ||
	    (rc = get_str(c, g, "inbox_sent_folder", what, NULL,
	    &m->inbox_sent_folder)) != MQ_OK)
		return rc;
	if (m->inbox_sent_folder != NULL && (*m->inbox_sent_folder == '\0' ||
	    has_control(m->inbox_sent_folder)))
		return bad(c, member(g, "inbox_sent_folder"), what,
		    "inbox_sent_folder is not a folder name");
	return get_int(c, g, "inbox_max_size", what, 10 << 20, 65536,
	    1 << 30, &m->inbox_max_size);
}

static int load_mailbox(struct ctx *c, const config_setting_t *g, int i)
{
	struct mq_conf_mailbox *m = &c->conf->mailboxes[i];
	struct stat secret, inbox_secret;
	const char *why;
	char what[WHAT];
	int j, rc;

	memset(&secret, 0, sizeof secret);
	memset(&inbox_secret, 0, sizeof inbox_secret);
	label(g, "mailbox", i, what, sizeof what);
	m->line = config_setting_source_line(g);
	if ((rc = check_keys(c, g, mailbox_keys, what)) != MQ_OK ||
	    (rc = load_name(c, g, what, &m->name)) != MQ_OK)
		return rc;
	for (j = 0; j < i; j++)
		if (strcmp(c->conf->mailboxes[j].name, m->name) == 0)
			return dup_name(c, g, "mailbox", m->name,
			    c->conf->mailboxes[j].line);
	if ((rc = need_str(c, g, "address", what, &m->address)) != MQ_OK)
		return rc;
	if ((why = mq_text_addr_problem(m->address)) != NULL)
		return bad(c, member(g, "address"), what, "address '%s' is "
		    "not a valid email address: %s", m->address, why);
	if ((rc = get_str(c, g, "display_name", what, "",
	    &m->display_name)) != MQ_OK)
		return rc;
	if (has_control(m->display_name))
		return bad(c, member(g, "display_name"), what, "display_name "
		    "must not contain line breaks or control characters");
	if ((rc = need_str(c, g, "sender", what, &m->sender)) != MQ_OK)
		return rc;
	if (mq_conf_sender(c->conf, m->sender) == NULL)
		return bad(c, member(g, "sender"), what, "unknown sender '%s'",
		    m->sender);
	if ((rc = get_int(c, g, "daily_limit", what, 50, 0, MAX_LIMIT,
	    &m->daily_limit)) != MQ_OK ||
	    (rc = get_bool(c, g, "enabled", what, 1, &m->enabled)) != MQ_OK ||
	    (rc = get_int(c, g, "connect_timeout", what, 15, 1, 300,
	    &m->connect_timeout)) != MQ_OK ||
	    (rc = get_int(c, g, "timeout", what, 40, 1, 600,
	    &m->timeout)) != MQ_OK ||
	    (rc = get_int(c, g, "max_connections", what, 2, 1, 100,
	    &m->max_connections)) != MQ_OK ||
	    (rc = get_int(c, g, "max_per_minute", what, 0, 0, 100000,
	    &m->max_per_minute)) != MQ_OK ||
	    (rc = load_smtp(c, g, m, what)) != MQ_OK ||
	    (rc = load_mailto(c, g, what, &m->unsubscribe_mailto)) != MQ_OK ||
	    (rc = load_auth(c, g, m, what, &secret)) != MQ_OK ||
	    (rc = load_inbox(c, g, m, what, &inbox_secret)) != MQ_OK)
		return rc;
	fingerprint(m, &secret);
	return MQ_OK;
}

/* --- schedules --------------------------------------------------------- */

/* "H:MM" or "HH:MM" to minutes; "24:00" only when allow24; -1 if bad. */
static int parse_hhmm(const char *s, int allow24)
{
	int h = 0, m, n = 0;

	while (isdigit((unsigned char)s[n]) && n < 2)
		h = h * 10 + (s[n++] - '0');
	if (n == 0 || s[n] != ':' || !isdigit((unsigned char)s[n + 1]) ||
	    !isdigit((unsigned char)s[n + 2]) || s[n + 3] != '\0')
		return -1;
	m = (s[n + 1] - '0') * 10 + (s[n + 2] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow24)))
		return -1;
	return h * 60 + m;
}

/* Appends item to the comma-separated list in buf[len]; -1 if full. */
static int join(char *buf, size_t len, size_t *used, const char *item)
{
	int n = snprintf(buf + *used, len - *used, "%s%s", *used > 0 ? "," : "",
	    item);

	if (n < 0 || (size_t)n >= len - *used)
		return -1;
	*used += (size_t)n;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* extra_holidays: real dates, stored sorted, without repeats. */
static int load_extra(struct ctx *c, const config_setting_t *g,
    struct mq_conf_campaign *k, const char *what)
{
	const config_setting_t *a;
	const char **v = NULL;
	size_t len, used = 0;
	int n, i, rc;

	if ((rc = get_array(c, g, "extra_holidays", what, CONFIG_TYPE_STRING,
	    &a, &n)) != MQ_OK)
		return rc;
	len = (size_t)n * 11 + 1;
	if ((k->extra_holidays = calloc(1, len)) == NULL ||
	    (n > 0 && (v = calloc(n, sizeof *v)) == NULL)) {
		rc = oom(c);
		goto out;
	}
	for (i = 0; i < n; i++) {
		v[i] = config_setting_get_string_elem(a, i);
		if (!mq_sched_date(v[i], NULL)) {
			rc = bad(c, config_setting_get_elem(a, i), what,
			    "extra_holidays: '%s' is not a date YYYY-MM-DD",
			    v[i]);
			goto out;
		}
	}
	if (n > 0)
		qsort(v, n, sizeof *v, cmp_str);
	for (i = 0; i < n && rc == MQ_OK; i++)
		if ((i == 0 || strcmp(v[i], v[i - 1]) != 0) &&
		    join(k->extra_holidays, len, &used, v[i]) < 0)
			rc = oom(c);
out:
	free(v);
	return rc;
}

static int load_times(struct ctx *c, const config_setting_t *g,
    struct mq_conf_campaign *k, const char *what)
{
	char *start = NULL, *end = NULL;
	int rc;

	if ((rc = get_str(c, g, "start", what, "09:00", &start)) != MQ_OK ||
	    (rc = get_str(c, g, "end", what, "17:00", &end)) != MQ_OK)
		goto out;
	if ((k->start_min = parse_hhmm(start, 0)) < 0) {
		rc = bad(c, member(g, "start"), what, "start '%s' is not a "
		    "time HH:MM from 00:00 to 23:59", start);
		goto out;
	}
	if ((k->end_min = parse_hhmm(end, 1)) < 0) {
		rc = bad(c, member(g, "end"), what, "end '%s' is not a time "
		    "HH:MM from 00:01 to 24:00", end);
		goto out;
	}
	if (k->end_min <= k->start_min)
		rc = bad(c, member(g, "end") ? member(g, "end") : g, what,
		    "end %s must be after start %s", end, start);
out:
	free(start);
	free(end);
	return rc;
}

/* schedule { days; start; end; holidays; extra_holidays; }, all optional;
 * g is the campaign, for the line of a missing schedule. */
static int load_schedule(struct ctx *c, const config_setting_t *camp,
    struct mq_conf_campaign *k, const char *cwhat)
{
	const config_setting_t *g;
	char what[WHAT], *days = NULL;
	int rc;

	whatf(what, sizeof what, "%s schedule", cwhat);
	if ((rc = get_group(c, camp, "schedule", cwhat, schedule_keys,
	    &g)) != MQ_OK ||
	    (rc = get_str(c, g, "days", what, "MON-FRI", &days)) != MQ_OK)
		goto out;
	if ((k->days = mq_sched_days_parse(days)) <= 0) {
		rc = bad(c, member(g, "days"), what, "days '%s' is not like "
		    "\"MON-FRI\" or \"MON,WED,FRI\"", days);
		goto out;
	}
	if ((rc = load_times(c, g, k, what)) != MQ_OK ||
	    (rc = get_str(c, g, "holidays", what, "",
	    &k->holidays)) != MQ_OK)
		goto out;
	if (!mq_sched_calendar_valid(k->holidays)) {
		rc = bad(c, member(g, "holidays"), what, "holidays '%s' is not "
		    "a known calendar (use \"PL\" or \"\")", k->holidays);
		goto out;
	}
	rc = load_extra(c, g, k, what);
out:
	free(days);
	return rc;
}

/* --- campaigns --------------------------------------------------------- */

/* retry { attempts; backoff; }: the backoff is stored with one value per
 * retry, the last given value repeated, so readers need no rule. */
static int load_retry(struct ctx *c, const config_setting_t *camp,
    struct mq_conf_campaign *k, const char *cwhat)
{
	const config_setting_t *g, *a;
	char what[WHAT], num[24];
	long long vals[MAX_RETRY];
	size_t len, used = 0;
	int n, i, rc;

	whatf(what, sizeof what, "%s retry", cwhat);
	if ((rc = get_group(c, camp, "retry", cwhat, retry_keys, &g)) !=
	    MQ_OK ||
	    (rc = get_int(c, g, "attempts", what, 3, 1, MAX_RETRY,
	    &k->retry_attempts)) != MQ_OK ||
	    (rc = get_array(c, g, "backoff", what, CONFIG_TYPE_INT, &a,
	    &n)) != MQ_OK)
		return rc;
	if (a == NULL)
		for (n = 0; n < 3; n++)
			vals[n] = default_backoff[n];
	if (n < 1 || n > MAX_RETRY)
		return bad(c, a, what, "backoff needs 1 to %d values",
		    MAX_RETRY);
	for (i = 0; a != NULL && i < n; i++) {
		vals[i] = config_setting_get_int64_elem(a, i);
		if (vals[i] < 1 || vals[i] > 604800)
			return bad(c, config_setting_get_elem(a, i), what,
			    "backoff values must be 1 to 604800 seconds");
	}
	len = (size_t)k->retry_attempts * 8 + 1;
	if ((k->retry_backoff = calloc(1, len)) == NULL)
		return oom(c);
	for (i = 0; i < k->retry_attempts; i++) {
		snprintf(num, sizeof num, "%lld", vals[i < n ? i : n - 1]);
		if (join(k->retry_backoff, len, &used, num) < 0)
			return oom(c);
	}
	return MQ_OK;
}

/* mailboxes = [ ... ]: known, of the campaign's sender, each once. */
static int load_rotation(struct ctx *c, const config_setting_t *g,
    struct mq_conf_campaign *k, const char *what)
{
	const struct mq_conf_mailbox *m;
	const config_setting_t *a, *e;
	const char *name;
	int n, i, j, rc;

	if ((rc = get_array(c, g, "mailboxes", what, CONFIG_TYPE_STRING, &a,
	    &n)) != MQ_OK)
		return rc;
	if (n == 0)
		return bad(c, a != NULL ? a : g, what, "mailboxes needs at "
		    "least one mailbox");
	if ((k->mailboxes = calloc(n, sizeof *k->mailboxes)) == NULL)
		return oom(c);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(a, i);
		name = config_setting_get_string(e);
		if ((m = mq_conf_mailbox(c->conf, name)) == NULL)
			return bad(c, e, what, "unknown mailbox '%s'", name);
		if (strcmp(m->sender, k->sender) != 0)
			return bad(c, e, what, "mailbox '%s' belongs to sender "
			    "'%s', not '%s'", name, m->sender, k->sender);
		for (j = 0; j < i; j++)
			if (strcmp(k->mailboxes[j], name) == 0)
				return bad(c, e, what, "mailbox '%s' is listed "
				    "twice", name);
		if ((k->mailboxes[i] = strdup(name)) == NULL)
			return oom(c);
		k->n_mailboxes = i + 1;
	}
	return MQ_OK;
}

/* A template that would fail at send time fails here, naming where it
 * is: the setting's line, and the file's name for a *_file template. */
static int check_tmpl(struct ctx *c, const config_setting_t *s,
    const char *what, const char *key, const char *file, const char *tmpl)
{
	struct mq_err e;

	if (mq_tmpl_check(tmpl, &e) == MQ_OK)
		return MQ_OK;
	if (file != NULL)
		return bad(c, s, what, "%s %s: %s", key, file, e.msg);
	return bad(c, s, what, "%s: %s", key, e.msg);
}

/* text = "..." or text_file = "...": one of them (or none if optional). */
static int load_body(struct ctx *c, const config_setting_t *g,
    const char *key, const char *filekey, int required, const char *what,
    char **out)
{
	const config_setting_t *s = member(g, key), *f = member(g, filekey);
	char *file = NULL;
	int rc;

	*out = NULL;
	if (s != NULL && f != NULL)
		return bad(c, f, what, "%s and %s: use one, not both", key,
		    filekey);
	if (s != NULL) {
		if ((rc = get_str(c, g, key, what, NULL, out)) == MQ_OK &&
		    **out == '\0')
			rc = bad(c, s, what, "%s is empty", key);
		if (rc == MQ_OK)
			rc = check_tmpl(c, s, what, key, NULL, *out);
		return rc;
	}
	if (f == NULL)
		return required ? bad(c, g, what, "needs %s or %s", key,
		    filekey) : MQ_OK;
	if ((rc = get_str(c, g, filekey, what, NULL, &file)) == MQ_OK)
		rc = read_template(c, f, what, file, out);
	if (rc == MQ_OK)
		rc = check_tmpl(c, f, what, filekey, file, *out);
	free(file);
	return rc;
}

static int load_variant(struct ctx *c, const config_setting_t *g,
    struct mq_conf_step *st, int step, int i, const char *swhat)
{
	struct mq_conf_variant *v = &st->variants[i];
	char what[WHAT], def[2] = { (char)('A' + i), '\0' };
	int j, rc;

	v->line = config_setting_source_line(g);
	whatf(what, sizeof what, "%s variant #%d", swhat, i + 1);
	if ((rc = get_str(c, g, "letter", what, i < 26 ? def : NULL,
	    &v->letter)) != MQ_OK)
		return rc;
	if (v->letter == NULL || strlen(v->letter) != 1 ||
	    v->letter[0] < 'A' || v->letter[0] > 'Z')
		return bad(c, member(g, "letter") ? member(g, "letter") : g,
		    what, "letter must be one capital letter A to Z");
	whatf(what, sizeof what, "%s variant %s", swhat, v->letter);
	if ((rc = check_keys(c, g, variant_keys, what)) != MQ_OK)
		return rc;
	for (j = 0; j < i; j++)
		if (strcmp(st->variants[j].letter, v->letter) == 0)
			return bad(c, member(g, "letter") ? member(g, "letter") :
			    g, what, "letter %s is used twice in "
			    "this step (line %d)", v->letter,
			    st->variants[j].line);
	if ((rc = get_int(c, g, "weight", what, 1, 1, 1000000,
	    &v->weight)) != MQ_OK)
		return rc;
	/* a follow-up without a subject replies to the previous one */
	if ((rc = step > 0 ? get_str(c, g, "subject", what, "", &v->subject) :
	    need_str(c, g, "subject", what, &v->subject)) != MQ_OK)
		return rc;
	if ((step == 0 && v->subject[0] == '\0') || has_control(v->subject))
		return bad(c, member(g, "subject") ? member(g, "subject") : g,
		    what, "subject must be non-empty, without line breaks or "
		    "control characters");
	if ((rc = check_tmpl(c, member(g, "subject") ? member(g, "subject") : g,
	    what, "subject", NULL, v->subject)) != MQ_OK)
		return rc;
	if ((rc = load_body(c, g, "text", "text_file", 1, what,
	    &v->text)) != MQ_OK)
		return rc;
	return load_body(c, g, "html", "html_file", 0, what, &v->html);
}

static int load_step(struct ctx *c, const config_setting_t *g,
    struct mq_conf_step *st, int i, const char *cwhat)
{
	const config_setting_t *l;
	char what[WHAT];
	int n, j, rc;

	st->line = config_setting_source_line(g);
	whatf(what, sizeof what, "%s step %d", cwhat, i);
	if ((rc = check_keys(c, g, step_keys, what)) != MQ_OK)
		return rc;
	if (i == 0 && member(g, "wait_days") != NULL &&
	    (!is_int(member(g, "wait_days")) ||
	    config_setting_get_int64(member(g, "wait_days")) != 0))
		return bad(c, member(g, "wait_days"), what, "step 0 is the "
		    "first email: wait_days must be absent or 0");
	if (i > 0 && (rc = get_int(c, g, "wait_days", what, 3, 1, 3650,
	    &st->wait_days)) != MQ_OK)
		return rc;
	if ((rc = get_list(c, g, "variants", what, 1, &l, &n)) != MQ_OK)
		return rc;
	if ((st->variants = calloc(n, sizeof *st->variants)) == NULL)
		return oom(c);
	st->n_variants = n;
	for (j = 0; j < n; j++)
		if ((rc = load_variant(c, config_setting_get_elem(l, j), st, i,
		    j, what)) != MQ_OK)
			return rc;
	return MQ_OK;
}

static int load_steps(struct ctx *c, const config_setting_t *g,
    struct mq_conf_campaign *k, const char *what)
{
	const config_setting_t *l;
	int n, i, rc;

	if ((rc = get_list(c, g, "steps", what, 1, &l, &n)) != MQ_OK)
		return rc;
	if ((k->steps = calloc(n, sizeof *k->steps)) == NULL)
		return oom(c);
	k->n_steps = n;
	for (i = 0; i < n; i++)
		if ((rc = load_step(c, config_setting_get_elem(l, i),
		    &k->steps[i], i, what)) != MQ_OK)
			return rc;
	return MQ_OK;
}

/* What answers do to the campaign's leads (mailq-fetch). */
static int load_answers(struct ctx *c, const config_setting_t *g,
    struct mq_conf_campaign *k, const char *what)
{
	char *stop = NULL;
	int rc;

	if ((rc = get_int(c, g, "auto_reply_pause_days", what, 7, 0, 365,
	    &k->auto_reply_pause_days)) != MQ_OK ||
	    (rc = get_str(c, g, "stop_on_reply", what, "lead", &stop)) !=
	    MQ_OK)
		return rc;
	k->stop_on_domain = strcmp(stop, "domain") == 0;
	if (!k->stop_on_domain && strcmp(stop, "lead") != 0)
		rc = bad(c, member(g, "stop_on_reply"), what, "stop_on_reply "
		    "must be \"lead\" or \"domain\"");
	free(stop);
	return rc;
}

static int load_pacing(struct ctx *c, const config_setting_t *g,
    struct mq_conf_campaign *k, const char *what)
{
	int rc;

	if ((rc = get_int(c, g, "delay", what, 90, 0, 86400,
	    &k->delay)) != MQ_OK ||
	    (rc = get_int(c, g, "jitter", what, 20, 0, 100,
	    &k->jitter)) != MQ_OK ||
	    (rc = get_int(c, g, "daily_limit", what, 500, 0, MAX_LIMIT,
	    &k->daily_limit)) != MQ_OK)
		return rc;
	if ((rc = get_int(c, g, "contact_gap_days", what, 0, 0, 3650,
	    &k->contact_gap_days)) != MQ_OK ||
	    (rc = load_mailto(c, g, what, &k->unsubscribe_mailto)) != MQ_OK ||
	    (rc = load_unsub_url(c, g, what, &k->unsubscribe_url)) != MQ_OK ||
	    (rc = load_answers(c, g, k, what)) != MQ_OK)
		return rc;
	return get_int(c, g, "buffer", what, 20, 1, 10000, &k->buffer);
}

static int load_campaign(struct ctx *c, const config_setting_t *g, int i)
{
	struct mq_conf_campaign *k = &c->conf->campaigns[i];
	char what[WHAT];
	int j, rc;

	label(g, "campaign", i, what, sizeof what);
	k->line = config_setting_source_line(g);
	if ((rc = check_keys(c, g, campaign_keys, what)) != MQ_OK ||
	    (rc = load_name(c, g, what, &k->name)) != MQ_OK)
		return rc;
	for (j = 0; j < i; j++)
		if (strcmp(c->conf->campaigns[j].name, k->name) == 0)
			return dup_name(c, g, "campaign", k->name,
			    c->conf->campaigns[j].line);
	if ((rc = need_str(c, g, "sender", what, &k->sender)) != MQ_OK)
		return rc;
	if (mq_conf_sender(c->conf, k->sender) == NULL)
		return bad(c, member(g, "sender"), what, "unknown sender '%s'",
		    k->sender);
	if ((rc = load_rotation(c, g, k, what)) != MQ_OK ||
	    (rc = get_str(c, g, "timezone", what, c->conf->timezone,
	    &k->timezone)) != MQ_OK)
		return rc;
	if (!mq_sched_tz_valid(k->timezone))
		return bad(c, member(g, "timezone") ? member(g, "timezone") : g,
		    what, "unknown time zone '%s'", k->timezone);
	if ((rc = load_schedule(c, g, k, what)) != MQ_OK ||
	    (rc = load_pacing(c, g, k, what)) != MQ_OK ||
	    (rc = load_retry(c, g, k, what)) != MQ_OK)
		return rc;
	return load_steps(c, g, k, what);
}

/* --- the file ---------------------------------------------------------- */

/* tokens = "path": the OAuth2 token file, relative to this file; by
 * default mailq.tokens in the database's directory. */
static int load_tokens_path(struct ctx *c, const config_setting_t *root)
{
	const char *slash = strrchr(c->conf->database, '/');
	char *t = NULL;
	int rc, n;

	if ((rc = get_str(c, root, "tokens", "", NULL, &t)) != MQ_OK)
		return rc;
	if (t != NULL && (*t == '\0' || t[strlen(t) - 1] == '/')) {
		free(t);
		return bad(c, member(root, "tokens"), "", "tokens must name a "
		    "file");
	}
	if (t != NULL) {
		c->conf->tokens = resolve(c, t);
		free(t);
		return c->conf->tokens == NULL ? oom(c) : MQ_OK;
	}
	n = slash != NULL ? (int)(slash - c->conf->database) + 1 : 0;
	if (asprintf(&c->conf->tokens, "%.*smailq.tokens", n,
	    c->conf->database) < 0) {
		c->conf->tokens = NULL;
		return oom(c);
	}
	return MQ_OK;
}

static int load_top(struct ctx *c, const config_setting_t *root)
{
	struct mq_conf *conf = c->conf;
	const config_setting_t *l;
	char *db = NULL;
	int n, i, rc;

	if ((rc = check_keys(c, root, top_keys, "")) != MQ_OK ||
	    (rc = get_str(c, root, "database", "", "mailq.db", &db)) != MQ_OK)
		goto out;
	if (*db == '\0') {
		rc = bad(c, member(root, "database"), "", "database is empty");
		goto out;
	}
	if ((conf->database = resolve(c, db)) == NULL) {
		rc = oom(c);
		goto out;
	}
	if ((rc = load_tokens_path(c, root)) != MQ_OK ||
	    (rc = get_str(c, root, "timezone", "", "Europe/Warsaw",
	    &conf->timezone)) != MQ_OK)
		goto out;
	if (!mq_sched_tz_valid(conf->timezone)) {
		rc = bad(c, member(root, "timezone"), "", "unknown time zone "
		    "'%s'", conf->timezone);
		goto out;
	}
	if ((rc = get_int(c, root, "soft_bounce_limit", "", 3, 1, 100,
	    &conf->soft_bounce_limit)) != MQ_OK ||
	    (rc = get_list(c, root, "senders", "", 0, &l, &n)) != MQ_OK)
		goto out;
	if (n > 0 && (conf->senders = calloc(n,
	    sizeof *conf->senders)) == NULL) {
		rc = oom(c);
		goto out;
	}
	conf->n_senders = n;
	for (i = 0; i < n && rc == MQ_OK; i++)
		rc = load_sender(c, config_setting_get_elem(l, i), i);
out:
	free(db);
	return rc;
}

static int load_objects(struct ctx *c, const config_setting_t *root)
{
	struct mq_conf *conf = c->conf;
	const config_setting_t *l;
	int n, i, rc;

	if ((rc = get_list(c, root, "mailboxes", "", 0, &l, &n)) != MQ_OK)
		return rc;
	if (n > 0 && (conf->mailboxes = calloc(n,
	    sizeof *conf->mailboxes)) == NULL)
		return oom(c);
	conf->n_mailboxes = n;
	for (i = 0; i < n; i++)
		if ((rc = load_mailbox(c, config_setting_get_elem(l, i), i)) !=
		    MQ_OK)
			return rc;
	if ((rc = get_list(c, root, "campaigns", "", 0, &l, &n)) != MQ_OK)
		return rc;
	if (n > 0 && (conf->campaigns = calloc(n,
	    sizeof *conf->campaigns)) == NULL)
		return oom(c);
	conf->n_campaigns = n;
	for (i = 0; i < n; i++)
		if ((rc = load_campaign(c, config_setting_get_elem(l, i), i)) !=
		    MQ_OK)
			return rc;
	return MQ_OK;
}

/* The directory part of path with its final '/', "" when there is none. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return strndup(path, slash != NULL ? (size_t)(slash - path + 1) : 0);
}

static int parse_file(struct ctx *c, config_t *cfg)
{
	struct stat st;
	FILE *f;
	int ok;

	if ((f = fopen(c->path, "r")) == NULL)
		return mq_err_perm(c->err, EX_NOINPUT, "%s: cannot read: %s",
		    c->path, strerror(errno));
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return mq_err_perm(c->err, EX_NOINPUT, "%s: cannot read: %s",
		    c->path, strerror(EISDIR));
	}
	if (c->dir[0] != '\0')
		config_set_include_dir(cfg, c->dir);
	ok = config_read(cfg, f);
	fclose(f);
	if (ok)
		return MQ_OK;
	if (config_error_type(cfg) == CONFIG_ERR_FILE_IO)
		return mq_err_perm(c->err, EX_NOINPUT, "%s: cannot read: %s",
		    config_error_file(cfg) ? config_error_file(cfg) : c->path,
		    config_error_text(cfg));
	return mq_err_perm(c->err, EX_CONFIG, "%s:%d: %s",
	    config_error_file(cfg) ? config_error_file(cfg) : c->path,
	    config_error_line(cfg), config_error_text(cfg));
}

int mq_conf_load(struct mq_conf **confp, const char *path,
    struct mq_err *err)
{
	struct ctx c = { .path = path, .err = err };
	config_t cfg;
	int rc;

	*confp = NULL;
	mq_err_clear(err);
	config_init(&cfg);
	if ((c.conf = calloc(1, sizeof *c.conf)) == NULL ||
	    (c.conf->path = strdup(path)) == NULL ||
	    (c.dir = dir_of(path)) == NULL) {
		rc = mq_err_perm(err, EX_OSERR, "%s: out of memory", path);
		goto out;
	}
	if ((rc = parse_file(&c, &cfg)) != MQ_OK ||
	    (rc = load_top(&c, config_root_setting(&cfg))) != MQ_OK ||
	    (rc = load_objects(&c, config_root_setting(&cfg))) != MQ_OK)
		goto out;
	*confp = c.conf;
	c.conf = NULL;
out:
	config_destroy(&cfg);
	mq_conf_free(c.conf);
	free(c.dir);
	return rc;
}

/* --- the rest ---------------------------------------------------------- */

static void free_campaign(struct mq_conf_campaign *k)
{
	int i, j;

	free(k->name);
	free(k->sender);
	for (i = 0; i < k->n_mailboxes; i++)
		free(k->mailboxes[i]);
	free(k->mailboxes);
	free(k->timezone);
	free(k->holidays);
	free(k->extra_holidays);
	free(k->retry_backoff);
	for (i = 0; i < k->n_steps; i++) {
		for (j = 0; j < k->steps[i].n_variants; j++) {
			free(k->steps[i].variants[j].letter);
			free(k->steps[i].variants[j].subject);
			free(k->steps[i].variants[j].text);
			free(k->steps[i].variants[j].html);
		}
		free(k->steps[i].variants);
	}
	free(k->steps);
	free(k->unsubscribe_mailto);
	free(k->unsubscribe_url);
}

static void free_mailbox(struct mq_conf_mailbox *m)
{
	free(m->name);
	free(m->address);
	free(m->display_name);
	free(m->sender);
	free(m->smtp);
	free(m->ca_file);
	free(m->username);
	free(m->unsubscribe_mailto);
	free(m->oauth2.provider);
	free(m->oauth2.client_id);
	free(m->oauth2.token_url);
	free(m->oauth2.device_url);
	free(m->oauth2.authorize_url);
	free(m->oauth2.scope);
	free(m->oauth2.ca_file);
	if (m->oauth2.client_secret != NULL) {
		explicit_bzero(m->oauth2.client_secret,
		    strlen(m->oauth2.client_secret));
		free(m->oauth2.client_secret);
	}
	free(m->inbox);
	free(m->inbox_username);
	for (int i = 0; i < m->n_inbox_folders; i++)
		free(m->inbox_folders[i]);
	free(m->inbox_folders);
	free(m->inbox_sent_folder);
	if (m->inbox_password != NULL) {
		explicit_bzero(m->inbox_password, strlen(m->inbox_password));
		free(m->inbox_password);
	}
	if (m->password != NULL) {
		explicit_bzero(m->password, strlen(m->password));
		free(m->password);
	}
}

void mq_conf_free(struct mq_conf *conf)
{
	int i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->n_senders; i++)
		free(conf->senders[i].name);
	for (i = 0; i < conf->n_mailboxes; i++)
		free_mailbox(&conf->mailboxes[i]);
	for (i = 0; i < conf->n_campaigns; i++)
		free_campaign(&conf->campaigns[i]);
	free(conf->senders);
	free(conf->mailboxes);
	free(conf->campaigns);
	free(conf->path);
	free(conf->database);
	free(conf->tokens);
	free(conf->timezone);
	free(conf);
}

const char *mq_conf_default_path(void)
{
	const char *env = getenv("MAILQ_CONFIG");

	if (env != NULL && *env != '\0')
		return env;
	if (access("mailq.conf", F_OK) == 0)
		return "./mailq.conf";
	return "/etc/mailq.conf";
}

const struct mq_conf_sender *mq_conf_sender(const struct mq_conf *conf,
    const char *name)
{
	int i;

	for (i = 0; i < conf->n_senders; i++)
		if (conf->senders[i].name != NULL &&
		    strcmp(conf->senders[i].name, name) == 0)
			return &conf->senders[i];
	return NULL;
}

const struct mq_conf_mailbox *mq_conf_mailbox(const struct mq_conf *conf,
    const char *name)
{
	int i;

	for (i = 0; i < conf->n_mailboxes; i++)
		if (conf->mailboxes[i].name != NULL &&
		    strcmp(conf->mailboxes[i].name, name) == 0)
			return &conf->mailboxes[i];
	return NULL;
}

const struct mq_conf_campaign *mq_conf_campaign(const struct mq_conf *conf,
    const char *name)
{
	int i;

	for (i = 0; i < conf->n_campaigns; i++)
		if (conf->campaigns[i].name != NULL &&
		    strcmp(conf->campaigns[i].name, name) == 0)
			return &conf->campaigns[i];
	return NULL;
}
