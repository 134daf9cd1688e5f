/* mailq-campaign: start, pause, resume, stop, list and show campaigns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "campaign.h"
#include "clock.h"
#include "cmdutil.h"
#include "db_inbound.h"
#include "log.h"
#include "report.h"
#include "sched.h"

static const char help[] =
"usage: mailq-campaign [-qv] [-c FILE] start|pause|resume|stop|show NAME\n"
"       mailq-campaign [-qv] [-c FILE] replied NAME EMAIL...|-\n"
"       mailq-campaign [-qv] [-c FILE] reassign NAME FROM TO\n"
"       mailq-campaign [-qv] [-c FILE] resume-mailbox MAILBOX\n"
"       mailq-campaign [-qv] [-c FILE] list\n"
"Control campaigns and see their state.\n"
"  start NAME   schedule it: it sends inside its window (checks that it has\n"
"               leads, that they have the fields its templates use, and a\n"
"               usable mailbox; says when the first message goes)\n"
"  pause NAME   stop claiming new messages; messages in flight finish\n"
"  resume NAME  schedule a paused campaign again\n"
"  stop NAME    stop for good: its queued messages are cancelled\n"
"  replied NAME EMAIL...  these leads replied: no more follow-ups\n"
"               (- reads addresses from stdin, one a line)\n"
"  reassign NAME FROM TO  threads waiting for mailbox FROM go on from\n"
"               mailbox TO (a lead's follow-ups otherwise leave only from\n"
"               the mailbox of its first message)\n"
"  resume-mailbox MAILBOX  send again from a mailbox that its bounce\n"
"               guard paused (too many hard bounces)\n"
"  list         one line per campaign\n"
"  show NAME    one campaign in detail\n"
"  -c, --config FILE  config file (default $MAILQ_CONFIG, ./mailq.conf,\n"
"                     /etc/mailq.conf)\n"
"  -q, --quiet        print only errors\n"
"  -v, --verbose      say more\n"
"  -h, --help         this text\n"
"  -V, --version      print the version\n";

static int control(struct cmd *cmd, struct mq_db *db, const char *name,
    int action, time_t now, struct mq_err *err)
{
	struct mq_campaign_result r;
	int rc;

	rc = mq_campaign_control(db, name, action, now, &r, err);
	if (rc == MQ_OK && cmd->level > MQ_LOG_ERR)
		mq_report_control(stdout, name, action, &r, now);
	return rc;
}

static void stranger(void *arg, const char *email, const char *why)
{
	fprintf(stderr, "%s: %s: %s\n", (const char *)arg, email, why);
}

static int replied(struct cmd *cmd, struct mq_db *db, const char *name,
    char **emails, int n, time_t now, struct mq_err *err)
{
	struct mq_replied_opts o = { (const char *const *)emails, n, stdin,
	    stranger, (void *)"mailq-campaign" };
	struct mq_replied r;
	int rc;

	rc = mq_campaign_replied(db, name, &o, now, &r, err);
	if (rc == MQ_OK && cmd->level > MQ_LOG_ERR)
		printf("%s: replied %d, unchanged %d, not leads %d\n", name,
		    r.marked, r.kept, r.unknown);
	if (rc == MQ_OK && r.unknown > 0)
		return mq_err_perm(err, EX_DATAERR, "%d %s of campaign '%s'",
		    r.unknown, r.unknown == 1 ? "address is not a lead" :
		    "addresses are not leads", name);
	return rc;
}

static int reassign(struct cmd *cmd, struct mq_db *db, char **arg,
    struct mq_err *err)
{
	int moved, rc;

	rc = mq_campaign_reassign(db, arg[0], arg[1], arg[2], &moved, err);
	if (rc == MQ_OK && cmd->level > MQ_LOG_ERR)
		printf("%s: %d thread%s moved from %s to %s\n", arg[0], moved,
		    moved == 1 ? "" : "s", arg[1], arg[2]);
	return rc;
}

static int resume_mailbox(struct cmd *cmd, struct mq_db *db,
    const char *name, time_t now, struct mq_err *err)
{
	int was, rc;

	rc = mq_db_mailbox_resume(db, name, now, &was, err);
	if (rc == MQ_OK && cmd->level > MQ_LOG_ERR)
		printf("mailbox %s: %s\n", name, was ? "resumed" :
		    "was not paused");
	return rc;
}

/* The number of arguments after the verb: exact, or at least (-n). */
static int arity(const char *verb)
{
	return strcmp(verb, "list") == 0 ? 0 : strcmp(verb, "replied") == 0 ?
	    -2 : strcmp(verb, "reassign") == 0 ? 3 : 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { CMD_LONGOPTS,
	    { NULL, 0, NULL, 0 } };
	struct mq_conf *conf;
	struct mq_db *db;
	struct mq_err err;
	struct cmd cmd;
	const char *verb, *name;
	int action, reply, resume, rc, c, n;
	time_t now;

	cmd_init(&cmd, "mailq-campaign", help);
	while ((c = getopt_long(argc, argv, CMD_SHORTOPTS, longopts, NULL)) != -1)
		cmd_option(&cmd, c, optarg);
	if (optind >= argc)
		cmd_usage(&cmd, "which command? start, pause, resume, stop, "
		    "list or show");
	verb = argv[optind];
	name = optind + 1 < argc ? argv[optind + 1] : NULL;
	action = mq_campaign_action(verb);
	reply = strcmp(verb, "replied") == 0;
	resume = strcmp(verb, "resume-mailbox") == 0;
	if (action < 0 && strcmp(verb, "list") != 0 &&
	    strcmp(verb, "show") != 0 && !reply && !resume &&
	    strcmp(verb, "reassign"))
		cmd_usage(&cmd, "unknown command '%s'", verb);
	n = argc - optind - 1;
	if (n < abs(arity(verb)))
		cmd_usage(&cmd, "%s: %s", verb, reply ? "which campaign and "
		    "addresses? (- for stdin)" : arity(verb) == 3 ? "need a "
		    "campaign and two mailboxes" : resume ? "which mailbox?" :
		    "which campaign?");
	if (arity(verb) >= 0 && n > arity(verb))
		cmd_usage(&cmd, "unexpected argument '%s'", argv[argc - 1]);
	cmd_ready(&cmd);
	if ((rc = mq_clock_now(&now, &err)) != MQ_OK)
		return cmd_fail(&cmd, rc, &err);
	conf = cmd_conf(&cmd);
	db = cmd_db(&cmd, conf, action < 0 && !reply && !resume &&
	    arity(verb) != 3 ? MQ_DB_RO : MQ_DB_RW);
	if (resume)
		rc = resume_mailbox(&cmd, db, name, now, &err);
	else if (arity(verb) == 3)
		rc = reassign(&cmd, db, argv + optind + 1, &err);
	else if (reply)
		rc = replied(&cmd, db, name, argv + optind + 2, argc - optind - 2,
		    now, &err);
	else if (strcmp(verb, "list") == 0)
		rc = mq_report_campaigns(db, now, stdout, &err);
	else if (strcmp(verb, "show") == 0)
		rc = mq_report_campaign(db, name, now, stdout, &err);
	else
		rc = control(&cmd, db, name, action, now, &err);
	mq_db_close(db);
	mq_conf_free(conf);
	return cmd_fail(&cmd, rc, &err);
}
