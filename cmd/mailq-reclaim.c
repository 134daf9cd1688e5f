/* mailq-reclaim: return claims of dead runs to the queue, or mark them
 * unknown; resend or drop unknown messages when the operator asks. */
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "cmdutil.h"
#include "log.h"
#include "reclaim.h"

static const char help[] =
"usage: mailq-reclaim [-qvn] [-c FILE] [--campaign NAME] [--older-than MIN]\n"
"       mailq-reclaim [-qvn] [-c FILE] [--campaign NAME] --resend-unknown\n"
"       mailq-reclaim [-qvn] [-c FILE] [--campaign NAME] --drop-unknown\n"
"Return claims left in 'sending' by runs that died to the queue when no\n"
"byte of the message can have reached the server; otherwise mark them\n"
"unknown, never to be resent automatically. Claims of live runs are left.\n"
"  -c, --config FILE      config file (default $MAILQ_CONFIG, ./mailq.conf,\n"
"                         /etc/mailq.conf)\n"
"      --campaign NAME    only this campaign\n"
"      --older-than MIN   only claims at least MIN minutes old (default 10)\n"
"      --resend-unknown   put unknown messages back in the queue, knowingly\n"
"      --drop-unknown     give unknown messages up\n"
"  -n, --dry-run          say what would be done; change nothing\n"
"  -q, --quiet            print only errors\n"
"  -v, --verbose          one line per claim\n"
"  -h, --help             this text\n"
"  -V, --version          print the version\n";

static void tell(void *arg, const char *what, const char *campaign,
    const char *email, int step, const char *phase, long pid)
{
	const struct cmd *cmd = arg;

	if (what[0] == 'a')        /* alive: a run stuck this long is news */
		mq_log(MQ_LOG_WARN, "campaign %s: %s step %d: claim held by "
		    "live process %ld, left alone", campaign, email, step, pid);
	else if (cmd->level >= MQ_LOG_INFO)
		printf("campaign=%s lead=%s step=%d phase=%s pid=%ld -> %s\n",
		    campaign, email, step, phase, pid, what);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { CMD_LONGOPTS,
	    { "campaign", required_argument, NULL, 'C' },
	    { "older-than", required_argument, NULL, 'O' },
	    { "resend-unknown", no_argument, NULL, 'R' },
	    { "drop-unknown", no_argument, NULL, 'D' },
	    { "dry-run", no_argument, NULL, 'n' }, { NULL, 0, NULL, 0 } };
	struct mq_reclaim_opts o = { NULL, 600, 0, MQ_RECLAIM_CLAIMS };
	struct mq_reclaim_stats st;
	struct mq_conf *conf;
	struct mq_db *db;
	struct mq_err err;
	struct cmd cmd;
	int rc, c;
	time_t now;

	cmd_init(&cmd, "mailq-reclaim", help);
	while ((c = getopt_long(argc, argv, CMD_SHORTOPTS "n", longopts,
	    NULL)) != -1)
		switch (c) {
		case 'C':
			o.only = optarg;
			break;
		case 'O':
			o.older_than = cmd_number(&cmd, "--older-than", optarg,
			    100000) * 60;
			break;
		case 'R':
		case 'D':
			if (o.what != MQ_RECLAIM_CLAIMS)
				cmd_usage(&cmd, "--resend-unknown and "
				    "--drop-unknown exclude each other");
			o.what = c == 'R' ? MQ_RECLAIM_RESEND : MQ_RECLAIM_DROP;
			break;
		case 'n':
			o.dry_run = 1;
			break;
		default:
			cmd_option(&cmd, c, optarg);
		}
	if (optind != argc)
		cmd_usage(&cmd, "unexpected argument '%s'", argv[optind]);
	cmd_ready(&cmd);
	if ((rc = mq_clock_now(&now, &err)) != MQ_OK)
		return cmd_fail(&cmd, rc, &err);
	conf = cmd_conf(&cmd);
	db = cmd_db_cron(&cmd, conf);
	rc = mq_reclaim_run(db, &o, now, &st, tell, &cmd, &err);
	if (rc == MQ_OK && (o.dry_run || cmd.level >= MQ_LOG_INFO))
		printf("%srequeued %d, failed %d, unknown %d, alive %d, "
		    "resent %d, dropped %d\n", o.dry_run ? "would have: " : "",
		    st.requeued, st.failed, st.unknown, st.alive, st.resent,
		    st.dropped);
	mq_db_close(db);
	mq_conf_free(conf);
	return cmd_fail(&cmd, rc, &err);
}
