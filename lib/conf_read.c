/*
 * The config loader's means of reading (conf_read.h): errors that name
 * the file and line, the text rules of a value, getters that check a
 * setting's type and range before anything is stored, and the files a
 * config names, read relative to it. A password file, and a config
 * holding a password, must be the user's alone.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <libconfig.h>

#include "conf_read.h"
#include "text.h"

#define MAX_TEMPLATE (1024 * 1024)     /* bytes of one template file */
#define MAX_SECRET   4096              /* bytes of one password file */

/* --- errors ------------------------------------------------------------ */

int mq_conf_oom(struct ctx *c)
{
	return mq_err_perm(c->err, EX_OSERR, "%s: out of memory", c->path);
}

const char *mq_conf_src(const struct ctx *c, const config_setting_t *s)
{
	const char *f = s != NULL ? config_setting_source_file(s) : NULL;

	return f != NULL ? f : c->path;
}

/* "FILE:LINE: what: message"; what may be "". */

int mq_conf_bad(struct ctx *c, const config_setting_t *s, const char *what,
    const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return mq_err_perm(c->err, EX_CONFIG, "%s:%u: %s%s%s",
	    mq_conf_src(c, s), s != NULL ? config_setting_source_line(s) : 0,
	    what, *what != '\0' ? ": " : "", msg);
}

/* An object's name for messages, like "campaign 'q4' step 1 variant B";
 * cutting a long one short is harmless. */

void mq_conf_whatf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* --- text checks ------------------------------------------------------- */

/* Nonzero if s[0..n) is well-formed UTF-8 without NUL; else *at is the
 * offset of the first bad byte. */
int mq_conf_utf8_valid(const char *s, size_t n, size_t *at)
{
	const char *nul;

	*at = mq_text_utf8_span(s, n);
	if ((nul = memchr(s, '\0', *at)) != NULL)
		*at = (size_t)(nul - s);
	return *at == n;
}

/* Nonzero if s has a control character: in a header it could end the
 * header and start another. */
int mq_conf_has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

int mq_conf_name_valid(const char *s)
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

char *mq_conf_resolve(const struct ctx *c, const char *p)
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

int mq_conf_secret_ok(struct ctx *c, const char *file, const struct stat *st)
{
	if (st->st_uid == getuid() && (st->st_mode & 077) == 0)
		return MQ_OK;
	return mq_err_perm(c->err, EX_NOPERM, "%s: contains a password and "
	    "must be owned by you and not accessible by group or others "
	    "(chmod 600 %s)", file, file);
}

/* A template file, relative to the config: *out is its text. */
int mq_conf_read_template(struct ctx *c, const config_setting_t *s,
    const char *what, const char *name, char **out)
{
	char *path = mq_conf_resolve(c, name), *buf = NULL;
	size_t len = 0, at;
	int fd, e, rc = MQ_OK;

	if (path == NULL)
		return mq_conf_oom(c);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = mq_conf_bad(c, s, what, "%s: cannot read: %s", path,
		    strerror(errno));
		goto out;
	}
	e = read_all(fd, MAX_TEMPLATE, &buf, &len);
	close(fd);
	if (e != 0)
		rc = mq_conf_bad(c, s, what, "%s: cannot read: %s", path, e ==
		    EFBIG ? "larger than 1 MiB" : strerror(e));
	else if (!mq_conf_utf8_valid(buf, len, &at))
		rc = mq_conf_bad(c, s, what, "%s: not valid UTF-8 text (byte "
		    "%zu)", path, at + 1);
	else if (len == 0)
		rc = mq_conf_bad(c, s, what, "%s: is empty", path);
out:
	if (rc == MQ_OK)
		*out = buf;
	else
		free(buf);
	free(path);
	return rc;
}

/* The first line of a password file that only the user can read. */
int mq_conf_read_secret(struct ctx *c, const config_setting_t *s,
    const char *what, const char *name, char **out, struct stat *stp)
{
	char *path = mq_conf_resolve(c, name), *buf = NULL;
	struct stat st;
	size_t len;
	int fd = -1, e, rc;

	if (path == NULL)
		return mq_conf_oom(c);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		rc = mq_conf_bad(c, s, what, "password_file %s: cannot read: "
		    "%s", path, strerror(errno));
		goto out;
	}
	if ((rc = mq_conf_secret_ok(c, path, &st)) != MQ_OK)
		goto out;
	*stp = st;
	if ((e = read_all(fd, MAX_SECRET, &buf, &len)) != 0) {
		rc = mq_conf_bad(c, s, what, "password_file %s: cannot read: "
		    "%s", path, e == EFBIG ? "too large" : strerror(e));
		goto out;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0')
		rc = mq_conf_bad(c, s, what, "password_file %s: first line is "
		    "empty", path);
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

config_setting_t *mq_conf_member(const config_setting_t *g, const char *key)
{
	return g != NULL ? config_setting_get_member(g, key) : NULL;
}

int mq_conf_check_keys(struct ctx *c, const config_setting_t *g,
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
			return mq_conf_bad(c, s, "", "unknown key '%s'", name);
		return mq_conf_bad(c, s, "", "unknown key '%s' in %s", name,
		    what);
	}
	return MQ_OK;
}

/* A copy of a string value, of def when absent (NULL: *out = NULL). */
int mq_conf_get_str(struct ctx *c, const config_setting_t *g, const char *key,
    const char *what, const char *def, char **out)
{
	const config_setting_t *s = mq_conf_member(g, key);
	const char *v = def;
	size_t at;

	*out = NULL;
	if (s != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			return mq_conf_bad(c, s, what, "%s must be a string",
			    key);
		v = config_setting_get_string(s);
		if (!mq_conf_utf8_valid(v, strlen(v), &at))
			return mq_conf_bad(c, s, what, "%s is not valid UTF-8 "
			    "(byte %zu)", key, at + 1);
	}
	if (v != NULL && (*out = strdup(v)) == NULL)
		return mq_conf_oom(c);
	return MQ_OK;
}

int mq_conf_need_str(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, char **out)
{
	*out = NULL;
	if (mq_conf_member(g, key) == NULL)
		return mq_conf_bad(c, g, what, "missing required key '%s'",
		    key);
	return mq_conf_get_str(c, g, key, what, NULL, out);
}

int mq_conf_is_int(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64;
}

int mq_conf_get_int(struct ctx *c, const config_setting_t *g, const char *key,
    const char *what, int def, int min, int max, int *out)
{
	const config_setting_t *s = mq_conf_member(g, key);
	long long v = def;

	if (s != NULL) {
		if (!mq_conf_is_int(s))
			return mq_conf_bad(c, s, what, "%s must be an integer",
			    key);
		v = config_setting_get_int64(s);
	}
	if (v < min)
		return mq_conf_bad(c, s, what, "%s must be >= %d", key, min);
	if (v > max)
		return mq_conf_bad(c, s, what, "%s must be <= %d", key, max);
	*out = (int)v;
	return MQ_OK;
}

int mq_conf_get_bool(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, int def, int *out)
{
	const config_setting_t *s = mq_conf_member(g, key);

	*out = def;
	if (s == NULL)
		return MQ_OK;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return mq_conf_bad(c, s, what, "%s must be true or false", key);
	*out = config_setting_get_bool(s) != 0;
	return MQ_OK;
}

/* An optional group: *out is NULL when absent. */
int mq_conf_get_group(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, const char *const *keys,
    const config_setting_t **out)
{
	char sub[WHAT];

	*out = mq_conf_member(g, key);
	if (*out == NULL)
		return MQ_OK;
	if (!config_setting_is_group(*out))
		return mq_conf_bad(c, *out, what, "%s must be a group { ... }",
		    key);
	mq_conf_whatf(sub, sizeof sub, "%s%s%s", what, *what ? " " : "", key);
	return mq_conf_check_keys(c, *out, keys, sub);
}

/* A list ( {...}, {...} ) of at least min groups; *n = 0 when absent. */
int mq_conf_get_list(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, int min,
    const config_setting_t **out, int *n)
{
	int i;

	*n = 0;
	if ((*out = mq_conf_member(g, key)) == NULL) {
		if (min > 0)
			return mq_conf_bad(c, g, what, "missing required key "
			    "'%s'", key);
		return MQ_OK;
	}
	if (!config_setting_is_list(*out))
		return mq_conf_bad(c, *out, what, "%s must be a list ( {...}, "
		    "... )", key);
	*n = config_setting_length(*out);
	if (*n < min)
		return mq_conf_bad(c, *out, what, "%s needs at least %d entr%s",
		    key, min, min == 1 ? "y" : "ies");
	for (i = 0; i < *n; i++)
		if (!config_setting_is_group(config_setting_get_elem(*out, i)))
			return mq_conf_bad(c, config_setting_get_elem(*out, i),
			    what, "each of %s must be a group { ... }", key);
	return MQ_OK;
}

/* An array or list of scalars of one type (at least one). */
int mq_conf_get_array(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, int type,
    const config_setting_t **out, int *n)
{
	const char *tname = type == CONFIG_TYPE_STRING ? "strings" : "integers";
	const config_setting_t *e;
	int i;

	*n = 0;
	if ((*out = mq_conf_member(g, key)) == NULL)
		return MQ_OK;
	if (!config_setting_is_array(*out) && !config_setting_is_list(*out))
		return mq_conf_bad(c, *out, what, "%s must be an array [ ... ] "
		    "of %s", key, tname);
	for (i = 0; i < config_setting_length(*out); i++) {
		e = config_setting_get_elem(*out, i);
		if (type == CONFIG_TYPE_STRING ?
		    config_setting_type(e) != type : !mq_conf_is_int(e))
			return mq_conf_bad(c, e, what, "%s must be an array [ "
			    "... ] of %s", key, tname);
	}
	*n = i;
	return MQ_OK;
}

/* "kind 'name'" when the name is a string, else "kind #i". */
void mq_conf_label(const config_setting_t *g, const char *kind, int i,
    char *what, size_t len)
{
	const char *name;

	if (config_setting_lookup_string(g, "name", &name))
		mq_conf_whatf(what, len, "%s '%s'", kind, name);
	else
		mq_conf_whatf(what, len, "%s #%d", kind, i + 1);
}

int mq_conf_load_name(struct ctx *c, const config_setting_t *g,
    const char *what, char **out)
{
	int rc;

	if ((rc = mq_conf_need_str(c, g, "name", what, out)) != MQ_OK)
		return rc;
	if (!mq_conf_name_valid(*out))
		return mq_conf_bad(c, mq_conf_member(g, "name"), what,
		    "name must be 1 to 64 letters, digits, '.', '_' or '-', "
		    "starting with a letter or digit");
	return MQ_OK;
}

/* "duplicate sender 'anna' (first defined at line 3)" */
int mq_conf_dup_name(struct ctx *c, const config_setting_t *g,
    const char *kind, const char *name, int line)
{
	return mq_conf_bad(c, g, "", "duplicate %s '%s' (first defined at line "
	    "%d)", kind, name, line);
}
