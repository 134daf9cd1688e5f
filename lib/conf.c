/*
 * The configuration file, read top-down: senders, then mailboxes (which
 * name a sender), then campaigns (which name both), their steps and
 * variants. Each object's keys are checked against a table first, so a
 * typo is an error and never a silent default. Every error reads
 * "FILE:LINE: object: problem". Relative paths (database, templates,
 * ca_file, password_file) are taken from the config file's directory, so
 * the same file works from cron and from a shell anywhere.
 *
 * This file holds the top level and the public calls of conf.h; the
 * objects are read by conf_mailbox.c and conf_campaign.c (conf_load.h),
 * all with the means of conf_read.h.
 */
#define _GNU_SOURCE                 /* asprintf, strndup */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <libconfig.h>

#include "conf.h"
#include "conf_load.h"
#include "sched.h"

static const char *const top_keys[] = {
	"database", "timezone", "senders", "mailboxes", "campaigns",
	"soft_bounce_limit", "tokens", NULL
};

/* --- the file ---------------------------------------------------------- */

/* tokens = "path": the OAuth2 token file, relative to this file; by
 * default mailq.tokens in the database's directory. */
static int load_tokens_path(struct ctx *c, const config_setting_t *root)
{
	const char *slash = strrchr(c->conf->database, '/');
	char *t = NULL;
	int rc, n;

	if ((rc = mq_conf_get_str(c, root, "tokens", "", NULL, &t)) != MQ_OK)
		return rc;
	if (t != NULL && (*t == '\0' || t[strlen(t) - 1] == '/')) {
		free(t);
		return mq_conf_bad(c, mq_conf_member(root, "tokens"), "",
		    "tokens must name a file");
	}
	if (t != NULL) {
		c->conf->tokens = mq_conf_resolve(c, t);
		free(t);
		return c->conf->tokens == NULL ? mq_conf_oom(c) : MQ_OK;
	}
	n = slash != NULL ? (int)(slash - c->conf->database) + 1 : 0;
	if (asprintf(&c->conf->tokens, "%.*smailq.tokens", n,
	    c->conf->database) < 0) {
		c->conf->tokens = NULL;
		return mq_conf_oom(c);
	}
	return MQ_OK;
}

static int load_top(struct ctx *c, const config_setting_t *root)
{
	struct mq_conf *conf = c->conf;
	const config_setting_t *l;
	char *db = NULL;
	int n, i, rc;

	if ((rc = mq_conf_check_keys(c, root, top_keys, "")) != MQ_OK ||
	    (rc = mq_conf_get_str(c, root, "database", "", "mailq.db", &db)) !=
	    MQ_OK)
		goto out;
	if (*db == '\0') {
		rc = mq_conf_bad(c, mq_conf_member(root, "database"), "",
		    "database is empty");
		goto out;
	}
	if ((conf->database = mq_conf_resolve(c, db)) == NULL) {
		rc = mq_conf_oom(c);
		goto out;
	}
	if ((rc = load_tokens_path(c, root)) != MQ_OK ||
	    (rc = mq_conf_get_str(c, root, "timezone", "", "Europe/Warsaw",
	    &conf->timezone)) != MQ_OK)
		goto out;
	if (!mq_sched_tz_valid(conf->timezone)) {
		rc = mq_conf_bad(c, mq_conf_member(root, "timezone"), "",
		    "unknown time zone '%s'", conf->timezone);
		goto out;
	}
	if ((rc = mq_conf_get_int(c, root, "soft_bounce_limit", "", 3, 1, 100,
	    &conf->soft_bounce_limit)) != MQ_OK ||
	    (rc = mq_conf_get_list(c, root, "senders", "", 0, &l, &n)) != MQ_OK)
		goto out;
	if (n > 0 && (conf->senders = calloc(n,
	    sizeof *conf->senders)) == NULL) {
		rc = mq_conf_oom(c);
		goto out;
	}
	conf->n_senders = n;
	for (i = 0; i < n && rc == MQ_OK; i++)
		rc = mq_conf_load_sender(c, config_setting_get_elem(l, i), i);
out:
	free(db);
	return rc;
}

static int load_objects(struct ctx *c, const config_setting_t *root)
{
	struct mq_conf *conf = c->conf;
	const config_setting_t *l;
	int n, i, rc;

	if ((rc = mq_conf_get_list(c, root, "mailboxes", "", 0, &l, &n)) !=
	    MQ_OK)
		return rc;
	if (n > 0 && (conf->mailboxes = calloc(n,
	    sizeof *conf->mailboxes)) == NULL)
		return mq_conf_oom(c);
	conf->n_mailboxes = n;
	for (i = 0; i < n; i++)
		if ((rc = mq_conf_load_mailbox(c, config_setting_get_elem(l, i),
		    i)) != MQ_OK)
			return rc;
	if ((rc = mq_conf_get_list(c, root, "campaigns", "", 0, &l, &n)) !=
	    MQ_OK)
		return rc;
	if (n > 0 && (conf->campaigns = calloc(n,
	    sizeof *conf->campaigns)) == NULL)
		return mq_conf_oom(c);
	conf->n_campaigns = n;
	for (i = 0; i < n; i++)
		if ((rc = mq_conf_load_campaign(c, config_setting_get_elem(l,
		    i), i)) != MQ_OK)
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
