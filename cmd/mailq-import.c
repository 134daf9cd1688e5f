/* mailq-import: add leads from a CSV file to a campaign. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cmdutil.h"
#include "import.h"
#include "log.h"

static const char help[] =
"usage: mailq-import [-qv] [-c FILE] [--strict] CAMPAIGN FILE|-\n"
"       mailq-import [-qv] [-c FILE] --suppress [--reason TEXT] FILE|-\n"
"Add leads to a campaign from a CSV file (- reads stdin). The header row\n"
"needs an email column; the other columns become template fields.\n"
"Rejected rows are reported as FILE:LINE: reason; duplicate and suppressed\n"
"addresses are skipped. Everything is written in one transaction.\n"
"  --strict           import nothing if any row is rejected\n"
"  --suppress         add the addresses (one a line, or a CSV file with an\n"
"                     email column) to the suppression list: never written\n"
"                     to again, by any campaign\n"
"  --reason TEXT      why, kept with each suppressed address\n"
"  -c, --config FILE  config file (default $MAILQ_CONFIG, ./mailq.conf,\n"
"                     /etc/mailq.conf)\n"
"  -q, --quiet        no summary line; rejects are still reported\n"
"  -v, --verbose      also list every duplicate and suppressed row\n"
"  -h, --help         this text\n"
"  -V, --version      print the version\n";

enum { OPT_STRICT = 256, OPT_SUPPRESS, OPT_REASON };

struct how {
	const struct cmd *cmd;
	int               strict;
};

static void note(void *arg, const char *file, long line,
    enum mq_import_kind kind, const char *text)
{
	const struct how *how = arg;
	const struct cmd *cmd = how->cmd;

	if (kind == MQ_IMPORT_LACKING)
		fprintf(stderr, "%s: %s: %s%s\n", cmd->prog, file,
		    how->strict ? "" : "warning: ", text);
	else if (kind == MQ_IMPORT_REJECTED)
		fprintf(stderr, "%s:%ld: %s\n", file, line, text);
	else if (cmd->level >= MQ_LOG_INFO)
		printf("%s:%ld: %s\n", file, line, text);
}

static void summary(const char *campaign, const struct mq_import_stats *st)
{
	if (campaign == NULL)
		printf("suppression list: added %ld, already there %ld, "
		    "rejected %ld%s\n", st->imported, st->duplicate,
		    st->rejected, st->rolled_back ? " (nothing added: "
		    "--strict)" : "");
	else if (st->rolled_back)
		printf("%s: nothing imported (--strict): %ld rejected\n",
		    campaign, st->rejected);
	else
		printf("%s: imported %ld, duplicate %ld, suppressed %ld, "
		    "rejected %ld\n", campaign, st->imported, st->duplicate,
		    st->suppressed, st->rejected);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { CMD_LONGOPTS,
	    { "strict", no_argument, NULL, OPT_STRICT },
	    { "suppress", no_argument, NULL, OPT_SUPPRESS },
	    { "reason", required_argument, NULL, OPT_REASON },
	    { NULL, 0, NULL, 0 } };
	struct mq_import_opts opts = { 0 };
	struct mq_import_stats st;
	struct mq_conf *conf;
	struct mq_db *db;
	struct mq_err err;
	struct cmd cmd;
	struct how how = { &cmd, 0 };
	int rc, c, suppress = 0;

	cmd_init(&cmd, "mailq-import", help);
	while ((c = getopt_long(argc, argv, CMD_SHORTOPTS, longopts, NULL)) != -1)
		if (c == OPT_STRICT)
			opts.strict = 1;
		else if (c == OPT_SUPPRESS)
			suppress = 1;
		else if (c == OPT_REASON)
			opts.reason = optarg;
		else
			cmd_option(&cmd, c, optarg);
	if (suppress && argc - optind != 1)
		cmd_usage(&cmd, "--suppress: need one file (or -)");
	if (!suppress && argc - optind != 2)
		cmd_usage(&cmd, "need a campaign name and a file (or -)");
	if (!suppress && opts.reason != NULL)
		cmd_usage(&cmd, "--reason goes with --suppress");
	if (opts.reason != NULL && (*opts.reason == '\0' ||
	    strpbrk(opts.reason, "\r\n") != NULL))
		cmd_usage(&cmd, "--reason: one line of text");
	cmd_ready(&cmd);
	opts.campaign = suppress ? NULL : argv[optind];
	opts.path = argv[argc - 1];
	opts.note = note;
	how.strict = opts.strict;
	opts.note_arg = &how;

	conf = cmd_conf(&cmd);
	db = cmd_db(&cmd, conf, MQ_DB_RW);
	rc = suppress ? mq_import_suppress(db, &opts, &st, &err) :
	    mq_import_run(db, &opts, &st, &err);
	mq_db_close(db);
	mq_conf_free(conf);
	if (rc != MQ_OK)
		return cmd_fail(&cmd, rc, &err);
	if (cmd.level > MQ_LOG_ERR)
		summary(opts.campaign, &st);
	return st.rejected > 0 || (st.lacking && opts.strict) ? EX_DATAERR :
	    EX_OK;
}
