/*
 * Senders and mailboxes (conf_load.h): a mailbox's address and limits,
 * the SMTP URL (or a file:// mbox) with its TLS, how it logs in (a
 * password, inline or from a file, or OAuth2 with a provider's or custom
 * endpoints), the inbox mailq-fetch reads, when bounces pause it, and the
 * fingerprint of its credentials. Secrets are read here and never shown:
 * a URL in a message has whatever may be a password replaced by "***".
 */
#define _GNU_SOURCE                 /* asprintf */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include <libconfig.h>

#include "conf_load.h"
#include "text.h"

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

/* --- senders and mailboxes --------------------------------------------- */

int mq_conf_load_sender(struct ctx *c, const config_setting_t *g, int i)
{
	struct mq_conf_sender *s = &c->conf->senders[i];
	char what[WHAT];
	int j, rc;

	mq_conf_label(g, "sender", i, what, sizeof what);
	s->line = config_setting_source_line(g);
	if ((rc = mq_conf_check_keys(c, g, sender_keys, what)) != MQ_OK ||
	    (rc = mq_conf_load_name(c, g, what, &s->name)) != MQ_OK ||
	    (rc = mq_conf_get_int(c, g, "daily_limit", what, 100, 0, MAX_LIMIT,
	    &s->daily_limit)) != MQ_OK)
		return rc;
	for (j = 0; j < i; j++)
		if (strcmp(c->conf->senders[j].name, s->name) == 0)
			return mq_conf_dup_name(c, g, "sender", s->name,
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
		return mq_conf_bad(c, mq_conf_member(g, "smtp"), what,
		    "smtp URL '%s' %s", url_shown(m->smtp, shown, sizeof shown),
		    problem);
	for (int i = 0; smtp_only[i] != NULL; i++)
		if (mq_conf_member(g, smtp_only[i]) != NULL)
			return mq_conf_bad(c, mq_conf_member(g, smtp_only[i]),
			    what, "%s does not apply to a file:// mailbox",
			    smtp_only[i]);
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

	if ((rc = mq_conf_need_str(c, g, "smtp", what, &m->smtp)) != MQ_OK)
		return rc;
	if (strncmp(m->smtp, "file:", 5) == 0)
		return load_file(c, g, m, what);
	if ((problem = url_problem(m->smtp, &implicit)) != NULL)
		return mq_conf_bad(c, mq_conf_member(g, "smtp"), what,
		    "smtp URL '%s' %s", url_shown(m->smtp, shown, sizeof shown),
		    problem);
	if ((rc = mq_conf_get_str(c, g, "tls", what, implicit ? "tls" :
	    "starttls", &tls)) != MQ_OK)
		goto out;
	s = mq_conf_member(g, "tls") != NULL ? mq_conf_member(g, "tls") : g;
	if (strcmp(tls, "none") == 0)
		m->tls = MQ_TLS_NONE;
	else if (strcmp(tls, "starttls") == 0)
		m->tls = MQ_TLS_STARTTLS;
	else if (strcmp(tls, "tls") == 0)
		m->tls = MQ_TLS_IMPLICIT;
	else {
		rc = mq_conf_bad(c, s, what, "tls must be \"none\", "
		    "\"starttls\" or \"tls\"");
		goto out;
	}
	if (implicit != (m->tls == MQ_TLS_IMPLICIT)) {
		rc = mq_conf_bad(c, s, what, implicit ? "an smtps:// URL needs "
		    "tls = \"tls\"" : "tls = \"tls\" needs an smtps:// URL");
		goto out;
	}
	if ((rc = mq_conf_get_bool(c, g, "verify", what, 1, &m->verify)) !=
	    MQ_OK ||
	    (rc = mq_conf_get_str(c, g, "ca_file", what, NULL, &ca)) != MQ_OK)
		goto out;
	if (ca != NULL && (m->ca_file = mq_conf_resolve(c, ca)) == NULL)
		rc = mq_conf_oom(c);
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
	const config_setting_t *pw = mq_conf_member(g, key);
	const config_setting_t *pf = mq_conf_member(g, file_key);
	struct stat st;
	char *file = NULL;
	int rc;

	*out = NULL;
	if (pw != NULL && pf != NULL)
		return mq_conf_bad(c, pf, what, "%s and %s: use one, not both",
		    key, file_key);
	if (pw != NULL) {
		if ((rc = mq_conf_get_str(c, g, key, what, NULL, out)) != MQ_OK)
			return rc;
		if (stat(mq_conf_src(c, pw), &st) < 0)
			return mq_err_perm(c->err, EX_NOINPUT, "%s: cannot "
			    "stat: %s", mq_conf_src(c, pw), strerror(errno));
		*st_out = st;
		return mq_conf_secret_ok(c, mq_conf_src(c, pw), &st);
	}
	if (pf == NULL)
		return MQ_OK;
	if ((rc = mq_conf_get_str(c, g, file_key, what, NULL, &file)) == MQ_OK)
		rc = mq_conf_read_secret(c, pf, what, file, out, st_out);
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

	if ((rc = mq_conf_get_str(c, g, key, what, NULL, out)) != MQ_OK)
		return rc;
	if (*out == NULL)
		return need ? mq_conf_bad(c, g, what, "missing required key "
		    "'%s'", key) : MQ_OK;
	if (strncmp(*out, "https://", 8) != 0 || (*out)[8] == '\0' ||
	    (*out)[8] == '/' || strpbrk(*out, " \"<>\\") != NULL)
		return mq_conf_bad(c, mq_conf_member(g, key), what,
		    "%s must be an https:// URL", key);
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
		return mq_conf_need_str(c, g, "scope", what, &o->scope);
	}
	for (int i = 0; custom_only[i] != NULL; i++)
		if (mq_conf_member(g, custom_only[i]) != NULL)
			return mq_conf_bad(c, mq_conf_member(g, custom_only[i]),
			    what, "%s is set by provider \"%s\" (use provider "
			    "= \"custom\" to set it)", custom_only[i],
			    o->provider);
	if (strcmp(o->provider, "google") == 0) {
		if (mq_conf_member(g, "tenant") != NULL)
			return mq_conf_bad(c, mq_conf_member(g, "tenant"), what,
			    "tenant is for provider \"microsoft\"");
		o->token_url = strdup("https://oauth2.googleapis.com/token");
		o->authorize_url = strdup(
		    "https://accounts.google.com/o/oauth2/v2/auth");
		o->scope = strdup("https://mail.google.com/");
	} else {
		if ((rc = mq_conf_get_str(c, g, "tenant", what, "organizations",
		    &tenant)) != MQ_OK)
			return rc;
		if (*tenant == '\0' || !mq_conf_name_valid(tenant))
			rc = mq_conf_bad(c, mq_conf_member(g, "tenant"), what,
			    "tenant '%s' is not a tenant name or id", tenant);
		else if (asprintf(&o->token_url, MS_BASE "%s/oauth2/v2.0/token",
		    tenant) < 0 || asprintf(&o->device_url, MS_BASE
		    "%s/oauth2/v2.0/devicecode", tenant) < 0 ||
		    asprintf(&o->authorize_url, MS_BASE
		    "%s/oauth2/v2.0/authorize", tenant) < 0)
			rc = mq_conf_oom(c);
		o->scope = strdup(MS_SCOPE);
		free(tenant);
	}
	if (rc == MQ_OK && (o->token_url == NULL || o->scope == NULL))
		rc = mq_conf_oom(c);
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

	mq_conf_whatf(what, sizeof what, "%s oauth2", mwhat);
	if ((rc = mq_conf_get_group(c, mbg, "oauth2", mwhat, oauth2_keys,
	    &g)) != MQ_OK)
		return rc;
	if (g == NULL)
		return mq_conf_bad(c, mq_conf_member(mbg, "auth"), mwhat,
		    "auth = \"oauth2\" needs an oauth2 = { ... } group");
	if ((rc = mq_conf_need_str(c, g, "provider", what, &o->provider)) !=
	    MQ_OK)
		return rc;
	if (strcmp(o->provider, "google") != 0 &&
	    strcmp(o->provider, "microsoft") != 0 &&
	    strcmp(o->provider, "custom") != 0)
		return mq_conf_bad(c, mq_conf_member(g, "provider"), what,
		    "provider must be \"google\", \"microsoft\" or \"custom\"");
	if ((rc = mq_conf_need_str(c, g, "client_id", what, &o->client_id)) !=
	    MQ_OK || (rc = get_secret(c, g, what, "client_secret",
	    "client_secret_file", &o->client_secret, st)) != MQ_OK ||
	    (rc = oauth2_endpoints(c, g, o, what)) != MQ_OK ||
	    (rc = mq_conf_get_str(c, g, "ca_file", what, NULL, &ca)) != MQ_OK)
		return rc;
	if (*o->client_id == '\0' || mq_conf_has_control(o->client_id) ||
	    strchr(o->client_id, ' ') != NULL)
		rc = mq_conf_bad(c, mq_conf_member(g, "client_id"), what,
		    "client_id must be one word");
	if (rc == MQ_OK && ca != NULL &&
	    (o->ca_file = mq_conf_resolve(c, ca)) == NULL)
		rc = mq_conf_oom(c);
	free(ca);
	return rc;
}

/* auth = "password" (a password or password_file, or no AUTH at all) or
 * "oauth2" (a username and an oauth2 group; no password anywhere). */
static int load_auth(struct ctx *c, const config_setting_t *g,
    struct mq_conf_mailbox *m, const char *what, struct stat *st_out)
{
	const config_setting_t *pw = mq_conf_member(g, "password");
	const config_setting_t *pf = mq_conf_member(g, "password_file");
	char *auth = NULL;
	int rc;

	if ((rc = mq_conf_get_str(c, g, "username", what, NULL,
	    &m->username)) != MQ_OK ||
	    (rc = mq_conf_get_str(c, g, "auth", what, "password",
	    &auth)) != MQ_OK)
		return rc;
	m->auth = strcmp(auth, "oauth2") == 0 ? MQ_AUTH_OAUTH2 :
	    MQ_AUTH_PASSWORD;
	if (m->auth == MQ_AUTH_PASSWORD && strcmp(auth, "password") != 0)
		rc = mq_conf_bad(c, mq_conf_member(g, "auth"), what,
		    "auth must be \"password\" or \"oauth2\"");
	free(auth);
	if (rc != MQ_OK)
		return rc;
	if (m->auth == MQ_AUTH_OAUTH2) {
		if (pw != NULL || pf != NULL)
			return mq_conf_bad(c, pw != NULL ? pw : pf, what,
			    "auth = \"oauth2\" takes no password");
		if (m->username == NULL)
			return mq_conf_bad(c, mq_conf_member(g, "auth"), what,
			    "auth = \"oauth2\" needs a username");
		return load_oauth2(c, g, m, what, st_out);
	}
	if (mq_conf_member(g, "oauth2") != NULL)
		return mq_conf_bad(c, mq_conf_member(g, "oauth2"), what,
		    "oauth2 needs auth = \"oauth2\"");
	if (m->username == NULL && pw != NULL && pf == NULL)
		return mq_conf_bad(c, pw, what, "a password needs a username");
	if (m->username == NULL && pf != NULL && pw == NULL)
		return mq_conf_bad(c, pf, what, "a password needs a username");
	if (m->username != NULL && pw == NULL && pf == NULL)
		return mq_conf_bad(c, mq_conf_member(g, "username"), what,
		    "username needs a password or password_file");
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
int mq_conf_load_mailto(struct ctx *c, const config_setting_t *g,
    const char *what, char **out)
{
	const char *why;
	int rc;

	if ((rc = mq_conf_get_str(c, g, "unsubscribe_mailto", what, NULL,
	    out)) != MQ_OK || *out == NULL)
		return rc;
	if ((why = mq_text_addr_problem(*out)) == NULL &&
	    strchr(*out, '?') != NULL)
		why = "'?' would end the mailto: address";
	if (why != NULL)
		return mq_conf_bad(c, mq_conf_member(g, "unsubscribe_mailto"),
		    what, "unsubscribe_mailto '%s' is not a valid email "
		    "address: %s", *out, why);
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

	if ((rc = mq_conf_get_array(c, g, "inbox_folders", what,
	    CONFIG_TYPE_STRING, &a, &n)) != MQ_OK)
		return rc;
	if (a != NULL && n == 0)
		return mq_conf_bad(c, a, what, "inbox_folders needs at least "
		    "one folder");
	if ((m->inbox_folders = calloc(n > 0 ? n : 1, sizeof (char *))) ==
	    NULL)
		return mq_conf_oom(c);
	for (i = 0; i < (n > 0 ? n : 1); i++) {
		e = a != NULL ? config_setting_get_elem(a, i) : NULL;
		name = e != NULL ? config_setting_get_string(e) : "INBOX";
		if (*name == '\0' || mq_conf_has_control(name) ||
		    !mq_conf_utf8_valid(name, strlen(name), &at))
			return mq_conf_bad(c, e, what, "inbox_folders: '%s' is "
			    "not a folder name", name);
		for (j = 0; j < i; j++)
			if (strcmp(m->inbox_folders[j], name) == 0)
				return mq_conf_bad(c, e, what, "inbox_folders: "
				    "'%s' is listed twice", name);
		if ((m->inbox_folders[i] = strdup(name)) == NULL)
			return mq_conf_oom(c);
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

	mq_conf_whatf(sub, sizeof sub, "%s bounce_pause", what);
	if ((rc = mq_conf_get_group(c, g, "bounce_pause", what, bounce_keys,
	    &b)) != MQ_OK ||
	    (rc = mq_conf_get_int(c, b, "rate", sub, 5, 0, 100,
	    &m->bounce_rate)) != MQ_OK)
		return rc;
	return mq_conf_get_int(c, b, "window", sub, 100, 10, 100000,
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
	    (rc = mq_conf_get_str(c, g, "inbox", what, NULL, &m->inbox)) !=
	    MQ_OK)
		return rc;
	if (m->inbox == NULL) {
		for (int i = 0; needs_inbox[i] != NULL; i++)
			if (mq_conf_member(g, needs_inbox[i]) != NULL)
				return mq_conf_bad(c,
				    mq_conf_member(g, needs_inbox[i]), what,
				    "%s needs an inbox", needs_inbox[i]);
		return MQ_OK;
	}
	if ((problem = inbox_problem(m->inbox)) != NULL)
		return mq_conf_bad(c, mq_conf_member(g, "inbox"), what,
		    "inbox URL '%s' %s",
		    url_shown(m->inbox, shown, sizeof shown), problem);
	if ((rc = mq_conf_get_str(c, g, "inbox_username", what, m->username,
	    &m->inbox_username)) != MQ_OK)
		return rc;
	if (m->inbox_username == NULL && (mq_conf_member(g, "inbox_password") ||
	    mq_conf_member(g, "inbox_password_file")))
		return mq_conf_bad(c, mq_conf_member(g, "inbox_password") ?
		    mq_conf_member(g, "inbox_password") :
		    mq_conf_member(g, "inbox_password_file"), what,
		    "inbox_password needs inbox_username");
	if ((rc = get_secret(c, g, what, "inbox_password",
	    "inbox_password_file", &m->inbox_password, st)) != MQ_OK)
		return rc;
	if (m->inbox_password == NULL && m->password != NULL &&
	    (m->inbox_password = strdup(m->password)) == NULL)
		return mq_conf_oom(c);
	if ((rc = load_folders(c, g, m, what)) != MQ_OK ||
	    (rc = mq_conf_get_str(c, g, "inbox_sent_folder", what, NULL,
	    &m->inbox_sent_folder)) != MQ_OK)
		return rc;
	if (m->inbox_sent_folder != NULL && (*m->inbox_sent_folder == '\0' ||
	    mq_conf_has_control(m->inbox_sent_folder)))
		return mq_conf_bad(c, mq_conf_member(g, "inbox_sent_folder"),
		    what, "inbox_sent_folder is not a folder name");
	return mq_conf_get_int(c, g, "inbox_max_size", what, 10 << 20, 65536,
	    1 << 30, &m->inbox_max_size);
}

/* Who the mailbox sends as: its address, display name and sender. */
static int load_identity(struct ctx *c, const config_setting_t *g,
    struct mq_conf_mailbox *m, const char *what)
{
	const char *why;
	int rc;

	if ((rc = mq_conf_need_str(c, g, "address", what, &m->address)) !=
	    MQ_OK)
		return rc;
	if ((why = mq_text_addr_problem(m->address)) != NULL)
		return mq_conf_bad(c, mq_conf_member(g, "address"), what,
		    "address '%s' is not a valid email address: %s", m->address,
		    why);
	if ((rc = mq_conf_get_str(c, g, "display_name", what, "",
	    &m->display_name)) != MQ_OK)
		return rc;
	if (mq_conf_has_control(m->display_name))
		return mq_conf_bad(c, mq_conf_member(g, "display_name"), what,
		    "display_name must not contain line breaks or control "
		    "characters");
	if ((rc = mq_conf_need_str(c, g, "sender", what, &m->sender)) != MQ_OK)
		return rc;
	if (mq_conf_sender(c->conf, m->sender) == NULL)
		return mq_conf_bad(c, mq_conf_member(g, "sender"), what,
		    "unknown sender '%s'", m->sender);
	return MQ_OK;
}

/* How much and how fast it may send, and whether at all. */
static int load_limits(struct ctx *c, const config_setting_t *g,
    struct mq_conf_mailbox *m, const char *what)
{
	int rc;

	if ((rc = mq_conf_get_int(c, g, "daily_limit", what, 50, 0, MAX_LIMIT,
	    &m->daily_limit)) != MQ_OK ||
	    (rc = mq_conf_get_bool(c, g, "enabled", what, 1,
	    &m->enabled)) != MQ_OK ||
	    (rc = mq_conf_get_int(c, g, "connect_timeout", what, 15, 1, 300,
	    &m->connect_timeout)) != MQ_OK ||
	    (rc = mq_conf_get_int(c, g, "timeout", what, 40, 1, 600,
	    &m->timeout)) != MQ_OK ||
	    (rc = mq_conf_get_int(c, g, "max_connections", what, 2, 1, 100,
	    &m->max_connections)) != MQ_OK)
		return rc;
	return mq_conf_get_int(c, g, "max_per_minute", what, 0, 0, 100000,
	    &m->max_per_minute);
}

int mq_conf_load_mailbox(struct ctx *c, const config_setting_t *g, int i)
{
	struct mq_conf_mailbox *m = &c->conf->mailboxes[i];
	struct stat secret, inbox_secret;
	char what[WHAT];
	int j, rc;

	memset(&secret, 0, sizeof secret);
	memset(&inbox_secret, 0, sizeof inbox_secret);
	mq_conf_label(g, "mailbox", i, what, sizeof what);
	m->line = config_setting_source_line(g);
	if ((rc = mq_conf_check_keys(c, g, mailbox_keys, what)) != MQ_OK ||
	    (rc = mq_conf_load_name(c, g, what, &m->name)) != MQ_OK)
		return rc;
	for (j = 0; j < i; j++)
		if (strcmp(c->conf->mailboxes[j].name, m->name) == 0)
			return mq_conf_dup_name(c, g, "mailbox", m->name,
			    c->conf->mailboxes[j].line);
	if ((rc = load_identity(c, g, m, what)) != MQ_OK ||
	    (rc = load_limits(c, g, m, what)) != MQ_OK ||
	    (rc = load_smtp(c, g, m, what)) != MQ_OK ||
	    (rc = mq_conf_load_mailto(c, g, what,
	    &m->unsubscribe_mailto)) != MQ_OK ||
	    (rc = load_auth(c, g, m, what, &secret)) != MQ_OK ||
	    (rc = load_inbox(c, g, m, what, &inbox_secret)) != MQ_OK)
		return rc;
	fingerprint(m, &secret);
	return MQ_OK;
}
