/* Claim owners: see owner.h. The start time is field 22 of
 * /proc/PID/stat, in clock ticks since boot. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "owner.h"

static int start_time(long pid, long long *start)
{
	char path[64], buf[1024], *p;
	size_t n;
	FILE *fp;
	int field;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: skip past the
	 * last ')' (field 2), then count fields from 3 */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%lld", start) != 1)
		return -1;
	return 0;
}

int mq_owner_self(struct mq_owner *o, struct mq_err *err)
{
	memset(o, 0, sizeof *o);
	if (gethostname(o->host, sizeof o->host - 1) != 0)
		snprintf(o->host, sizeof o->host, "localhost");
	o->pid = (long)getpid();
	if (start_time(o->pid, &o->start) != 0)
		return mq_err_perm(err, EX_OSERR, "cannot read /proc/%ld/stat",
		    o->pid);
	return MQ_OK;
}

int mq_owner_alive(const struct mq_owner *o)
{
	char host[256] = "";
	long long start;

	gethostname(host, sizeof host - 1);
	if (strcmp(host, o->host) != 0)
		return -1;
	return start_time(o->pid, &start) == 0 && start == o->start;
}
