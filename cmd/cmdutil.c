/* Common program plumbing: see cmdutil.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "clock.h"
#include "cmdutil.h"
#include "log.h"

void cmd_init(struct cmd *cmd, const char *prog, const char *help)
{
	cmd->prog = prog;
	cmd->help = help;
	cmd->config = NULL;
	cmd->level = MQ_LOG_WARN;
}

void cmd_option(struct cmd *cmd, int c, const char *arg)
{
	switch (c) {
	case 'c':
		cmd->config = arg;
		return;
	case 'q':
		cmd->level = MQ_LOG_ERR;
		return;
	case 'v':
		if (cmd->level < MQ_LOG_DEBUG)
			cmd->level = cmd->level < MQ_LOG_INFO ? MQ_LOG_INFO :
			    cmd->level + 1;
		return;
	case 'h':
		fputs(cmd->help, stdout);
		exit(EX_OK);
	case 'V':
		printf("%s %s\n", cmd->prog, MQ_VERSION);
		exit(EX_OK);
	default:
		fprintf(stderr, "Try '%s --help'.\n", cmd->prog);
		exit(EX_USAGE);
	}
}

/* MAILQ_NOW is read here, once, so that a bad one stops every program
 * before it has looked at anything else. */
void cmd_ready(struct cmd *cmd)
{
	struct mq_err err;
	time_t now;
	int rc;

	if ((rc = mq_clock_now(&now, &err)) != MQ_OK)
		exit(cmd_fail(cmd, rc, &err));
	if (cmd->config == NULL)
		cmd->config = mq_conf_default_path();
	mq_log_init(cmd->prog, cmd->level, 0);
}

void cmd_usage(struct cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cmd->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", cmd->prog);
	exit(EX_USAGE);
}

int cmd_number(struct cmd *cmd, const char *opt, const char *s, int max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 0 || v > max)
		cmd_usage(cmd, "%s: not a number from 0 to %d: '%s'", opt, max, s);
	return (int)v;
}

int cmd_fail(struct cmd *cmd, int rc, const struct mq_err *err)
{
	if (rc != MQ_OK)
		fprintf(stderr, "%s: %s\n", cmd->prog, err->msg);
	return mq_err_exit(rc, err);
}

struct mq_conf *cmd_conf(struct cmd *cmd)
{
	struct mq_conf *conf;
	struct mq_err err;
	int rc;

	if ((rc = mq_conf_load(&conf, cmd->config, &err)) != MQ_OK)
		exit(cmd_fail(cmd, rc, &err));
	return conf;
}

struct mq_db *cmd_db(struct cmd *cmd, const struct mq_conf *conf,
    enum mq_db_mode mode)
{
	struct mq_db *db;
	struct mq_err err;
	int rc;

	if ((rc = mq_db_open(&db, conf->database, mode, &err)) != MQ_OK)
		exit(cmd_fail(cmd, rc, &err));
	return db;
}

struct mq_db *cmd_db_cron(struct cmd *cmd, const struct mq_conf *conf)
{
	struct mq_db *db;
	struct mq_err err;
	int rc;

	rc = mq_db_open(&db, conf->database, MQ_DB_RW, &err);
	if (rc == MQ_PERM && err.ex == EX_CANTCREAT)
		rc = MQ_TEMP;
	if (rc != MQ_OK)
		exit(cmd_fail(cmd, rc, &err));
	return db;
}
