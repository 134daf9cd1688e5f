/*
 * What every mailq program does the same way: the common options (-c, -q,
 * -v, -h, -V), reading the config, opening the database, and turning a
 * library result into a message on stderr and an exit status. Only cmd/
 * prints and exits.
 */
#ifndef MQ_CMDUTIL_H
#define MQ_CMDUTIL_H

#include <getopt.h>

#include "conf.h"
#include "db.h"
#include "err.h"

struct cmd {
	const char *prog;
	const char *help;       /* full --help text */
	const char *config;     /* -c FILE, or the default path */
	int         level;      /* MQ_LOG_* */
};

#define CMD_SHORTOPTS "c:qvhV"
#define CMD_LONGOPTS \
	{ "config",  required_argument, NULL, 'c' }, \
	{ "quiet",   no_argument,       NULL, 'q' }, \
	{ "verbose", no_argument,       NULL, 'v' }, \
	{ "help",    no_argument,       NULL, 'h' }, \
	{ "version", no_argument,       NULL, 'V' }

void cmd_init(struct cmd *cmd, const char *prog, const char *help);

/* Handles a common option; exits for -h, -V and unknown options. Call from
 * the default branch of the program's getopt_long switch. */
void cmd_option(struct cmd *cmd, int c, const char *arg);

/* Ends option parsing: sets up logging. Call once after getopt_long. */
void cmd_ready(struct cmd *cmd);

/* Prints "prog: message" and exits with EX_USAGE. */
void cmd_usage(struct cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* The value of option opt, a whole number from 0 to max, or exits with
 * EX_USAGE naming the option. */
int cmd_number(struct cmd *cmd, const char *opt, const char *s, int max);

/* The exit status for rc: 0 for MQ_OK; otherwise prints "prog: err->msg"
 * first. */
int cmd_fail(struct cmd *cmd, int rc, const struct mq_err *err);

/* Loads the config or exits with its error. */
struct mq_conf *cmd_conf(struct cmd *cmd);

/* Opens the config's database or exits with its error. */
struct mq_db *cmd_db(struct cmd *cmd, const struct mq_conf *conf,
    enum mq_db_mode mode);

/* The same for the cron jobs (mailq-tick, mailq-reclaim): a database that
 * cannot be written now (read-only, busy) is a temporary failure, exit
 * EX_TEMPFAIL, so cron tries again next time. */
struct mq_db *cmd_db_cron(struct cmd *cmd, const struct mq_conf *conf);

#endif
