/*
 * Rendering mailq-stats: see stats_fmt.h. Each format is a module of its
 * own (stats_table, stats_json, stats_prom); this one picks it and owns
 * the output: a stream, or a file replaced atomically. Every figure comes
 * from the same struct, so the three formats cannot disagree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "stats_fmt.h"
#include "stats_json.h"
#include "stats_prom.h"
#include "stats_table.h"
int mq_stats_fmt_print(const struct mq_stats *st, enum mq_stats_fmt f,
    FILE *out, struct mq_err *err)
{
	if (f == MQ_STATS_JSON)
		mq_stats_json_print(st, out);
	else if (f == MQ_STATS_PROMETHEUS)
		mq_stats_prom_print(st, out);
	else
		mq_stats_table_print(st, out);
	if (fflush(out) != 0 || ferror(out))
		return mq_err_perm(err, EX_IOERR, "write: %s", strerror(errno));
	return MQ_OK;
}

int mq_stats_fmt_file(const struct mq_stats *st, enum mq_stats_fmt f,
    const char *path, struct mq_err *err)
{
	const char *slash = strrchr(path, '/');
	char tmp[4096];
	FILE *out = NULL;
	int fd, rc;

	if (snprintf(tmp, sizeof tmp, "%.*s.%s.XXXXXX",
	    slash ? (int)(slash - path + 1) : 0, path, slash ? slash + 1 : path)
	    >= (int)sizeof tmp)
		return mq_err_perm(err, EX_CANTCREAT, "%s: name too long", path);
	if ((fd = mkstemp(tmp)) < 0)
		return mq_err_perm(err, EX_CANTCREAT, "%s: %s", path,
		    strerror(errno));
	if (fchmod(fd, 0644) != 0 || (out = fdopen(fd, "w")) == NULL) {
		rc = mq_err_perm(err, EX_CANTCREAT, "%s: %s", path,
		    strerror(errno));
		goto out;
	}
	/* messages name the file asked for: the temporary one beside it
	 * is ours, not the user's */
	if ((rc = mq_stats_fmt_print(st, f, out, err)) != MQ_OK)
		mq_err_prefix(err, "%s", path);
	if (rc == MQ_OK && fsync(fileno(out)) != 0)
		rc = mq_err_perm(err, EX_IOERR, "%s: %s", path, strerror(errno));
	if (fclose(out) != 0 && rc == MQ_OK)
		rc = mq_err_perm(err, EX_IOERR, "%s: %s", path, strerror(errno));
	out = NULL;
	fd = -1;
	if (rc == MQ_OK && rename(tmp, path) != 0)
		rc = mq_err_perm(err, EX_CANTCREAT, "%s: %s", path,
		    strerror(errno));
out:
	if (out == NULL && fd >= 0)
		close(fd);
	if (rc != MQ_OK)
		unlink(tmp);
	return rc;
}
