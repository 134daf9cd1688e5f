/* mailq-init: create or upgrade the database and apply the config. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "clock.h"
#include "cmdutil.h"
#include "db_config.h"
#include "log.h"

static const char help[] =
"usage: mailq-init [-qv] [-c FILE] [--check] [--force]\n"
"Create or upgrade the mailq database and apply the config's senders,\n"
"mailboxes, campaigns, steps and variants. Running it again changes nothing.\n"
"  -c, --config FILE  config file (default $MAILQ_CONFIG, ./mailq.conf,\n"
"                     /etc/mailq.conf)\n"
"      --check        only validate the config; touch no database\n"
"      --force        retire rows that left the config but have history\n"
"  -q, --quiet        print only errors\n"
"  -v, --verbose      say more\n"
"  -h, --help         this text\n"
"  -V, --version      print the version\n";

static void report(const struct mq_db *db, int from, int to,
    const struct mq_db_changes *ch)
{
	static const char *what[] = { "added", "changed", "removed", "retired" };
	const int *counts[] = { ch->added, ch->changed, ch->removed, ch->retired };
	int any = 0;

	if (from == 0)
		printf("%s: created (schema %d)\n", db->path, to);
	else if (from != to)
		printf("%s: upgraded schema %d to %d\n", db->path, from, to);
	printf("%s:", db->path);
	for (int k = 0; k < MQ_KIND_N; k++)
		for (int w = 0; w < 4; w++)
			if (counts[w][k] > 0)
				printf("%s %s %s %d", any++ ? "," : "",
				    mq_db_kind_name(k), what[w], counts[w][k]);
	printf("%s\n", any ? "" : " no changes");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { CMD_LONGOPTS,
	    { "check", no_argument, NULL, 'C' },
	    { "force", no_argument, NULL, 'F' }, { NULL, 0, NULL, 0 } };
	struct mq_db_changes ch;
	struct mq_conf *conf;
	struct mq_db *db = NULL;
	struct mq_err err;
	struct cmd cmd;
	int check = 0, force = 0, created, from = 0, to = 0, rc, c;
	time_t now;

	cmd_init(&cmd, "mailq-init", help);
	while ((c = getopt_long(argc, argv, CMD_SHORTOPTS, longopts, NULL)) != -1)
		switch (c) {
		case 'C':
			check = 1;
			break;
		case 'F':
			force = 1;
			break;
		default:
			cmd_option(&cmd, c, optarg);
		}
	if (optind != argc)
		cmd_usage(&cmd, "unexpected argument '%s'", argv[optind]);
	cmd_ready(&cmd);
	conf = cmd_conf(&cmd);
	if (check) {
		if (cmd.level > MQ_LOG_ERR)
			printf("%s: ok\n", conf->path);
		mq_conf_free(conf);
		return 0;
	}
	if ((rc = mq_clock_now(&now, &err)) != MQ_OK)
		return cmd_fail(&cmd, rc, &err);
	created = access(conf->database, F_OK) != 0;
	rc = mq_db_open(&db, conf->database, MQ_DB_CREATE, &err);
	if (rc == MQ_OK)
		rc = mq_db_migrate(db, &from, &to, &err);
	if (rc == MQ_OK)
		rc = mq_db_config_apply(db, conf, force, now, &ch, &err);
	if (rc == MQ_OK && cmd.level > MQ_LOG_ERR)
		report(db, from, to, &ch);
	mq_db_close(db);
	if (rc != MQ_OK && created)
		mq_db_remove(conf->database);
	mq_conf_free(conf);
	return cmd_fail(&cmd, rc, &err);
}
