/* mailq-auth: a mailbox's first OAuth2 grant, by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "authflow.h"
#include "cmdutil.h"
#include "db_inbound.h"
#include "log.h"
#include "smtp.h"

static const char help[] =
"usage: mailq-auth [-qv] [-c FILE] [--device | --browser] [--timeout S]\n"
"                  MAILBOX\n"
"Sign in to an OAuth2 mailbox (Google Workspace, Microsoft 365) once, so\n"
"that mailq-tick and mailq-fetch can send and read its mail: prints a URL\n"
"to open (and a code to enter), waits for the sign-in, and stores the\n"
"tokens in the token file.\n"
"  -c, --config FILE   config file (default $MAILQ_CONFIG, ./mailq.conf,\n"
"                      /etc/mailq.conf)\n"
"      --device        sign in on any device with a code (the default when\n"
"                      the provider offers it: Microsoft)\n"
"      --browser       sign in with a browser on this machine (Google)\n"
"      --timeout S     how long to wait for the sign-in (default 600)\n"
"  -q, --quiet         print only errors and the instructions\n"
"  -v, --verbose       say more\n"
"  -h, --help          this text\n"
"  -V, --version       print the version\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = { CMD_LONGOPTS,
	    { "device", no_argument, NULL, 'D' },
	    { "browser", no_argument, NULL, 'B' },
	    { "timeout", required_argument, NULL, 'T' },
	    { NULL, 0, NULL, 0 } };
	struct mq_authflow_opts o = { NULL, NULL, MQ_AUTHFLOW_AUTO, 600,
	    stdout };
	const struct mq_conf_mailbox *mb;
	struct mq_conf *conf;
	struct mq_db *db;
	struct mq_err err;
	struct cmd cmd;
	int rc, c;

	cmd_init(&cmd, "mailq-auth", help);
	while ((c = getopt_long(argc, argv, CMD_SHORTOPTS, longopts, NULL)) !=
	    -1)
		switch (c) {
		case 'D':
		case 'B':
			if (o.way != MQ_AUTHFLOW_AUTO)
				cmd_usage(&cmd, "--device and --browser exclude "
				    "each other");
			o.way = c == 'D' ? MQ_AUTHFLOW_DEVICE :
			    MQ_AUTHFLOW_BROWSER;
			break;
		case 'T':
			o.timeout = cmd_number(&cmd, "--timeout", optarg, 86400);
			break;
		default:
			cmd_option(&cmd, c, optarg);
		}
	if (optind != argc - 1)
		cmd_usage(&cmd, optind == argc ? "which mailbox?" :
		    "unexpected argument '%s'", argv[argc - 1]);
	cmd_ready(&cmd);
	conf = cmd_conf(&cmd);
	if ((mb = mq_conf_mailbox(conf, argv[optind])) == NULL) {
		rc = mq_err_perm(&err, EX_DATAERR, "no mailbox '%s' in %s",
		    argv[optind], conf->path);
		goto out;
	}
	o.mb = mb;
	o.tokens = conf->tokens;
	if ((rc = mq_smtp_init(&err)) == MQ_OK &&
	    (rc = mq_authflow_run(&o, &err)) == MQ_OK) {
		if (cmd.level > MQ_LOG_ERR)
			printf("mailbox %s: signed in; tokens stored in %s\n",
			    mb->name, conf->tokens);
		/* a mailbox resting after a refused token is tried at once */
		db = cmd_db(&cmd, conf, MQ_DB_RW);
		rc = mq_db_mailbox_retry(db, mb->name, &err);
		mq_db_close(db);
	}
out:
	mq_conf_free(conf);
	return cmd_fail(&cmd, rc, &err);
}
