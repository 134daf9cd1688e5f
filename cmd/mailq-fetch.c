/* mailq-fetch: the cron job that reads what came back. */
#include <stdio.h>
#include <stdlib.h>

#include "classify.h"
#include "cmdutil.h"
#include "fetch.h"
#include "log.h"
#include "smtp.h"

static const char help[] =
"usage: mailq-fetch [-qv] [-c FILE] [--mailbox NAME] [--dry-run]\n"
"Read the new mail in every mailbox that has an inbox, without changing\n"
"it: replies stop a lead's follow-ups, out-of-office replies delay them,\n"
"bounces and unsubscribe requests suppress the address everywhere, and\n"
"messages in the 'unknown' state found in the Sent folder become 'sent'.\n"
"Run it from cron every few minutes.\n"
"  -c, --config FILE   config file (default $MAILQ_CONFIG, ./mailq.conf,\n"
"                      /etc/mailq.conf)\n"
"      --mailbox NAME  only this mailbox\n"
"  -n, --dry-run       show what each new message is and would do; change\n"
"                      nothing\n"
"  -q, --quiet         print only errors\n"
"  -v, --verbose       one line per message read\n"
"  -h, --help          this text\n"
"  -V, --version       print the version\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = { CMD_LONGOPTS,
	    { "mailbox", required_argument, NULL, 'M' },
	    { "dry-run", no_argument, NULL, 'n' }, { NULL, 0, NULL, 0 } };
	struct mq_fetch_opts o = { NULL, 0, stdout };
	struct mq_fetch_stats st;
	struct mq_conf *conf;
	struct mq_db *db;
	struct mq_err err;
	struct cmd cmd;
	int rc, c;

	cmd_init(&cmd, "mailq-fetch", help);
	while ((c = getopt_long(argc, argv, CMD_SHORTOPTS "n", longopts,
	    NULL)) != -1)
		switch (c) {
		case 'M':
			o.only = optarg;
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
	db = o.dry_run ? cmd_db(&cmd, conf, MQ_DB_RW) : cmd_db_cron(&cmd, conf);
	rc = mq_fetch_run(db, conf, &o, &st, &err);
	if (st.read > 0 || st.resolved > 0)
		mq_log(MQ_LOG_INFO, "mailboxes=%d failed=%d read=%d reply=%d "
		    "auto_reply=%d hard_bounce=%d soft_bounce=%d unsubscribe=%d "
		    "unmatched=%d own=%d duplicate=%d resolved=%d", st.mailboxes,
		    st.failed, st.read, st.by_class[MQ_CLASS_REPLY],
		    st.by_class[MQ_CLASS_AUTO_REPLY],
		    st.by_class[MQ_CLASS_HARD_BOUNCE],
		    st.by_class[MQ_CLASS_SOFT_BOUNCE],
		    st.by_class[MQ_CLASS_UNSUBSCRIBE],
		    st.by_class[MQ_CLASS_UNMATCHED], st.by_class[MQ_CLASS_OWN],
		    st.by_class[MQ_FETCH_DUPLICATE], st.resolved);
	mq_db_close(db);
	mq_conf_free(conf);
	if (rc != MQ_OK && st.failed > 0)
		return mq_err_exit(rc, &err);   /* each was logged as it failed */
	return cmd_fail(&cmd, rc, &err);
}
