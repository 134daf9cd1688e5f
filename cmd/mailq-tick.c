/* mailq-tick: the cron job that sends what is due. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmdutil.h"
#include "log.h"
#include "smtp.h"
#include "tick.h"

static const char help[] =
"usage: mailq-tick [-qv] [-c FILE] [--campaign NAME] [--horizon SECONDS]\n"
"                  [--dry-run]\n"
"Send what is due in every running campaign, inside its window, within its\n"
"limits, each message at most once. Run it from cron every minute.\n"
"  -c, --config FILE   config file (default $MAILQ_CONFIG, ./mailq.conf,\n"
"                      /etc/mailq.conf)\n"
"      --campaign NAME only this campaign\n"
"      --horizon S     keep sending messages that fall due within S seconds\n"
"                      (default: to the end of the minute; 0: only what\n"
"                      is due now)\n"
"  -n, --dry-run       show what would be sent; change nothing\n"
"  -q, --quiet         print only errors\n"
"  -v, --verbose       one line per message (-vv: more)\n"
"  -h, --help          this text\n"
"  -V, --version       print the version\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = { CMD_LONGOPTS,
	    { "campaign", required_argument, NULL, 'C' },
	    { "horizon", required_argument, NULL, 'H' },
	    { "dry-run", no_argument, NULL, 'n' }, { NULL, 0, NULL, 0 } };
	struct mq_tick_opts o = { NULL, 0, -1, stdout };
	struct mq_tick_stats st;
	struct mq_conf *conf;
	struct mq_db *db;
	struct mq_err err;
	struct cmd cmd;
	int rc, c;

	/* SQLite takes and frees 64 kB for each statement that fires a
	 * trigger; glibc would hand it back to the kernel every time */
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
	cmd_init(&cmd, "mailq-tick", help);
	while ((c = getopt_long(argc, argv, CMD_SHORTOPTS "n", longopts,
	    NULL)) != -1)
		switch (c) {
		case 'C':
			o.only = optarg;
			break;
		case 'H':
			o.horizon = cmd_number(&cmd, "--horizon", optarg, 600);
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
	conf = cmd_conf(&cmd);
	if ((rc = mq_smtp_init(&err)) != MQ_OK)
		return cmd_fail(&cmd, rc, &err);
	db = cmd_db_cron(&cmd, conf);
	rc = mq_tick_run(db, conf, &o, &st, &err);
	if (rc == MQ_OK && (st.sent || st.retried || st.failed || st.bounced ||
	    st.mailbox || st.unknown || st.duplicate))
		mq_log(MQ_LOG_INFO, "sent=%d retry=%d failed=%d bounced=%d "
		    "mailbox=%d unknown=%d duplicate=%d", st.sent, st.retried,
		    st.failed, st.bounced, st.mailbox, st.unknown, st.duplicate);
	mq_db_close(db);
	mq_conf_free(conf);
	return cmd_fail(&cmd, rc, &err);
}
