/* mailq-stats: what is happening, as a table, JSON or Prometheus metrics. */
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "cmdutil.h"
#include "stats.h"
#include "stats_fmt.h"

static const char help[] =
"usage: mailq-stats [-qv] [-c FILE] [--campaign NAME [--recent N]]\n"
"                   [--inbox [N]] [--json | --prometheus] [--stuck-after S]\n"
"                   [-o FILE]\n"
"Show the state of every campaign, mailbox and sender, what came back, and\n"
"the health checks, read from the database without ever writing to it.\n"
"  --campaign NAME    that campaign in detail: steps and variants with their\n"
"                     reply rates, failures by SMTP code, upcoming sends,\n"
"                     recent attempts\n"
"  --recent N         recent attempts in the detail (default 10)\n"
"  --inbox [N]        the N latest messages mailq-fetch read and what it\n"
"                     decided, unmatched ones first (default 20)\n"
"  --json             JSON (see mailq-stats(8) for the schema)\n"
"  --prometheus       Prometheus text format, for the textfile collector\n"
"  --stuck-after S    a claim this many seconds old is stuck (default 600)\n"
"  -o, --output FILE  write to FILE atomically (mode 0644) instead of stdout\n"
"  -c, --config FILE  config file (default $MAILQ_CONFIG, ./mailq.conf,\n"
"                     /etc/mailq.conf)\n"
"  -q, --quiet        print only errors\n"
"  -v, --verbose      say more\n"
"  -h, --help         this text\n"
"  -V, --version      print the version\n";

enum { OPT_CAMPAIGN = 256, OPT_RECENT, OPT_JSON, OPT_PROM, OPT_STUCK,
       OPT_INBOX };

static void format(struct cmd *cmd, enum mq_stats_fmt *f,
    enum mq_stats_fmt want)
{
	if (*f != MQ_STATS_TABLE && *f != want)
		cmd_usage(cmd, "--json and --prometheus exclude each other");
	*f = want;
}

/* --inbox's optional count: --inbox=N, --inbox N, or 20. */
static int inbox_count(struct cmd *cmd, int argc, char **argv)
{
	const char *n = optarg;

	if (n == NULL && optind < argc && argv[optind][0] >= '0' &&
	    argv[optind][0] <= '9')
		n = argv[optind++];
	if (n != NULL && cmd_number(cmd, "--inbox", n, 100000) == 0)
		cmd_usage(cmd, "--inbox: at least 1");
	return n != NULL ? cmd_number(cmd, "--inbox", n, 100000) : 20;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { CMD_LONGOPTS,
	    { "campaign", required_argument, NULL, OPT_CAMPAIGN },
	    { "recent", required_argument, NULL, OPT_RECENT },
	    { "json", no_argument, NULL, OPT_JSON },
	    { "prometheus", no_argument, NULL, OPT_PROM },
	    { "stuck-after", required_argument, NULL, OPT_STUCK },
	    { "inbox", optional_argument, NULL, OPT_INBOX },
	    { "output", required_argument, NULL, 'o' },
	    { NULL, 0, NULL, 0 } };
	struct mq_stats_req req = { .recent = 10, .stuck_after = 600 };
	enum mq_stats_fmt f = MQ_STATS_TABLE;
	const char *output = NULL;
	struct mq_conf *conf;
	struct mq_stats st;
	struct mq_db *db;
	struct mq_err err;
	struct cmd cmd;
	int c, rc;

	cmd_init(&cmd, "mailq-stats", help);
	while ((c = getopt_long(argc, argv, CMD_SHORTOPTS "o:", longopts,
	    NULL)) != -1) {
		switch (c) {
		case OPT_CAMPAIGN: req.campaign = optarg; break;
		case OPT_RECENT: req.recent = cmd_number(&cmd, "--recent", optarg,
		    100000); break;
		case OPT_JSON: format(&cmd, &f, MQ_STATS_JSON); break;
		case OPT_PROM: format(&cmd, &f, MQ_STATS_PROMETHEUS); break;
		case OPT_STUCK: req.stuck_after = cmd_number(&cmd, "--stuck-after",
		    optarg, 100000000); break;
		case OPT_INBOX: req.inbox = inbox_count(&cmd, argc, argv); break;
		case 'o': output = optarg; break;
		default: cmd_option(&cmd, c, optarg);
		}
	}
	if (optind < argc)
		cmd_usage(&cmd, "unexpected argument '%s'", argv[optind]);
	if (req.campaign != NULL && req.inbox > 0)
		cmd_usage(&cmd, "--campaign and --inbox exclude each other");
	cmd_ready(&cmd);
	if ((rc = mq_clock_now(&req.now, &err)) != MQ_OK)
		return cmd_fail(&cmd, rc, &err);
	conf = cmd_conf(&cmd);
	req.timezone = conf->timezone;
	db = cmd_db(&cmd, conf, MQ_DB_RO);
	rc = mq_stats_collect(db, &req, &st, &err);
	if (rc == MQ_OK && output != NULL)
		rc = mq_stats_fmt_file(&st, f, output, &err);
	else if (rc == MQ_OK)
		rc = mq_stats_fmt_print(&st, f, stdout, &err);
	mq_stats_free(&st);
	mq_db_close(db);
	mq_conf_free(conf);
	return cmd_fail(&cmd, rc, &err);
}
