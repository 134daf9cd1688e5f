/* Campaign status changes: see campaign.h. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "campaign.h"
#include "db_campaign.h"
#include "reclaim.h"
#include "sched.h"
#include "tmpl.h"

/* Per action: the status machine's move it makes (db_campaign.h), and the
 * statuses in which it is already done. */
#define IN(s)   (1u << (s))
#define SENDING (IN(MQ_CAMPAIGN_SCHEDULED) | IN(MQ_CAMPAIGN_RUNNING))

static const struct rule {
	const char     *word;
	enum mq_db_move move;
	unsigned        done;
} rules[] = {
	[MQ_CAMPAIGN_START]  = { "start", MQ_MOVE_START, SENDING },
	[MQ_CAMPAIGN_PAUSE]  = { "pause", MQ_MOVE_PAUSE, IN(MQ_CAMPAIGN_PAUSED) },
	[MQ_CAMPAIGN_RESUME] = { "resume", MQ_MOVE_RESUME, SENDING },
	[MQ_CAMPAIGN_STOP]   = { "stop", MQ_MOVE_STOP,
	                         IN(MQ_CAMPAIGN_STOPPED) | IN(MQ_CAMPAIGN_COMPLETED) },
};

static const char *const hints[] = {
	[MQ_CAMPAIGN_START] = "a paused campaign is resumed with 'resume'; "
	    "a stopped one cannot be started again",
	[MQ_CAMPAIGN_PAUSE] = "only a scheduled or running campaign can be paused",
	[MQ_CAMPAIGN_RESUME] = "only a paused campaign can be resumed",
	[MQ_CAMPAIGN_STOP] = "",
};

int mq_campaign_action(const char *word)
{
	for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
		if (strcmp(word, rules[i].word) == 0)
			return (int)i;
	return -1;
}

/* The fields the campaign's templates need without a fallback. */
struct fields {
	char name[32][64];
	int  n;
};

static int add_field(const char *name, size_t len, void *arg)
{
	struct fields *f = arg;

	if (len >= sizeof f->name[0] || (len == 5 &&
	    strncmp(name, "email", 5) == 0))
		return 0;                 /* every lead has its address */
	for (int i = 0; i < f->n; i++)
		if (strlen(f->name[i]) == len && strncmp(f->name[i], name,
		    len) == 0)
			return 0;
	if (f->n < 32)
		snprintf(f->name[f->n++], sizeof f->name[0], "%.*s", (int)len,
		    name);
	return 0;
}

static int collect(const char *tmpl, void *arg)
{
	mq_tmpl_required(tmpl, add_field, arg);
	return MQ_OK;
}

/* Appends "N leads lack 'F': a, b, ... and M more" to buf. */
static void lacking(char *buf, size_t size, const char *field, int count,
    char (*emails)[320])
{
	size_t n = strlen(buf);
	int i;

	snprintf(buf + n, size - n, "%s%d lead%s without '%s':", n ? "; " :
	    "", count, count == 1 ? "" : "s", field);
	for (i = 0; i < count && i < 10; i++) {
		n = strlen(buf);
		if (snprintf(buf + n, size - n, "%s %.320s", i ? "," : "",
		    emails[i]) >= (int)(size - n))
			return;            /* full: the message is cut short */
	}
	n = strlen(buf);
	if (count > 10)
		snprintf(buf + n, size - n, " and %d more", count - 10);
}

int mq_campaign_fields(struct mq_db *db, sqlite3_int64 id,
    char (*names)[64], int max, int *n, struct mq_err *err)
{
	struct fields f = { .n = 0 };
	int rc;

	*n = 0;
	if ((rc = mq_db_templates(db, id, collect, &f, err)) != MQ_OK)
		return rc;
	for (int i = 0; i < f.n && *n < max; i++)
		snprintf(names[(*n)++], 64, "%s", f.name[i]);
	return MQ_OK;
}

int mq_campaign_lacking(struct mq_db *db, sqlite3_int64 id, char *buf,
    size_t size, struct mq_err *err)
{
	static char emails[10][320];
	struct fields f = { .n = 0 };
	int count, rc;

	buf[0] = '\0';
	if ((rc = mq_db_templates(db, id, collect, &f, err)) != MQ_OK)
		return rc;
	for (int i = 0; i < f.n; i++) {
		rc = mq_db_lacking(db, id, f.name[i], emails, 10, &count, err);
		if (rc != MQ_OK)
			return rc;
		if (count > 0)
			lacking(buf, size, f.name[i], count, emails);
	}
	return MQ_OK;
}

/* A template field without a fallback that some lead lacks would be a
 * hole at send time: refuse now, saying which field and which leads. */
static int templates_ok(struct mq_db *db, const struct mq_db_campaign *c,
    struct mq_err *err)
{
	char buf[900];
	int rc;

	if ((rc = mq_campaign_lacking(db, c->id, buf, sizeof buf, err)) != MQ_OK)
		return rc;
	if (buf[0] != '\0')
		return mq_err_perm(err, EX_DATAERR, "campaign '%s': the "
		    "templates use fields (without a fallback) that leads lack: "
		    "%s", c->name, buf);
	return MQ_OK;
}

/* Before sending can begin: leads to send to, a mailbox to send from, and
 * a window that opens. Sets res->first_send. */
static int ready(struct mq_db *db, const struct mq_db_campaign *c,
    enum mq_campaign_action action, time_t now,
    struct mq_campaign_result *res, struct mq_err *err)
{
	struct mq_db_campaign_counts k;
	time_t from;
	int rc;

	if ((rc = mq_db_campaign_counts(db, c->id, 0, &k, err)) != MQ_OK)
		return rc;
	if (action == MQ_CAMPAIGN_START &&
	    k.lead[MQ_LEAD_QUEUED] + k.lead[MQ_LEAD_ACTIVE] == 0)
		return mq_err_perm(err, EX_DATAERR, "campaign '%s': no leads "
		    "to send to; add some with mailq-import", c->name);
	if (action == MQ_CAMPAIGN_START &&
	    (rc = templates_ok(db, c, err)) != MQ_OK)
		return rc;
	if (k.usable_mailboxes == 0)
		return mq_err_perm(err, EX_CONFIG, "campaign '%s': no usable "
		    "mailbox (%d in rotation, all disabled or retired)",
		    c->name, k.mailboxes);
	/* not before the pace allows: a resumed campaign keeps its gap */
	from = c->next_send_at > now ? c->next_send_at : now;
	if ((rc = mq_sched_next_open(&c->sched, from, &res->first_send,
	    err)) != MQ_OK) {
		mq_err_prefix(err, "campaign '%s'", c->name);
		return rc;
	}
	res->open_now = res->first_send == now;
	return MQ_OK;
}

static int control(struct mq_db *db, const struct mq_db_campaign *c,
    enum mq_campaign_action action, time_t now,
    struct mq_campaign_result *res, struct mq_err *err)
{
	const struct rule *r = &rules[action];
	int moved, rc;

	res->from = res->to = c->status;
	snprintf(res->timezone, sizeof res->timezone, "%s", c->sched.timezone);
	if (r->done & IN(c->status))
		return MQ_OK;
	if (c->retired || !mq_db_campaign_may(r->move, c->status))
		return mq_err_perm(err, EX_DATAERR, "campaign '%s' is %s%s; "
		    "cannot %s it (%s)", c->name, c->retired ? "retired and " :
		    "", mq_db_campaign_states[c->status], r->word,
		    hints[action]);
	if (action == MQ_CAMPAIGN_START || action == MQ_CAMPAIGN_RESUME)
		if ((rc = ready(db, c, action, now, res, err)) != MQ_OK)
			return rc;
	rc = mq_db_campaign_move(db, c->id, r->move, now,
	    action == MQ_CAMPAIGN_START ? res->first_send : -1, &moved, err);
	if (rc == MQ_OK && !moved)
		rc = mq_err_temp(err, "campaign changed status meanwhile");
	if (rc == MQ_OK) {
		res->to = mq_db_campaign_target(r->move);
		res->changed = 1;
	}
	return rc;
}

int mq_campaign_control(struct mq_db *db, const char *name,
    enum mq_campaign_action action, time_t now,
    struct mq_campaign_result *res, struct mq_err *err)
{
	struct mq_db_campaign c;
	int rc;

	memset(res, 0, sizeof *res);
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	if (action == MQ_CAMPAIGN_RESUME) {
		/* messages in flight when it was paused, whose runs have since
		 * died, go back to the queue first (or become unknown), in the
		 * same transaction: a resume refused changes nothing */
		struct mq_reclaim_opts o = { name, 0, 0, MQ_RECLAIM_CLAIMS };

		rc = mq_reclaim_run(db, &o, now, &res->reclaimed, NULL, NULL, err);
	}
	if (rc == MQ_OK && (rc = mq_db_campaign_get(db, name, &c, err)) ==
	    MQ_OK) {
		rc = control(db, &c, action, now, res, err);
		mq_db_campaign_free(&c);
	}
	if (rc == MQ_OK)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
	return rc;
}

/* Reads addresses, one a line, for '-'. */
static int replied_stream(struct mq_db *db, sqlite3_int64 id, FILE *in,
    time_t now, const struct mq_replied_opts *o, struct mq_replied *r,
    struct mq_err *err);

static int replied_one(struct mq_db *db, sqlite3_int64 id, const char *email,
    time_t now, const struct mq_replied_opts *o, struct mq_replied *r,
    struct mq_err *err)
{
	enum mq_db_reply res;
	int rc;

	if (strcmp(email, "-") == 0)
		return replied_stream(db, id, o->in, now, o, r, err);
	if ((rc = mq_db_replied(db, id, email, now, &res, err)) != MQ_OK)
		return rc;
	if (res == MQ_DB_REPLY_MARKED)
		r->marked++;
	else if (res == MQ_DB_REPLY_KEPT)
		r->kept++;
	else
		r->unknown++;
	if (res == MQ_DB_REPLY_UNKNOWN && o->note != NULL)
		o->note(o->note_arg, email, "not a lead of this campaign");
	return MQ_OK;
}

static int replied_stream(struct mq_db *db, sqlite3_int64 id, FILE *in,
    time_t now, const struct mq_replied_opts *o, struct mq_replied *r,
    struct mq_err *err)
{
	char buf[400], *p, *e;
	int rc = MQ_OK;

	while (rc == MQ_OK && in != NULL && fgets(buf, sizeof buf, in) != NULL) {
		p = buf + strspn(buf, " \t");
		for (e = p + strlen(p); e > p && strchr(" \t\r\n", e[-1]);)
			*--e = '\0';
		if (*p != '\0' && *p != '#' && strcmp(p, "-") != 0)
			rc = replied_one(db, id, p, now, o, r, err);
	}
	return rc;
}

int mq_campaign_replied(struct mq_db *db, const char *name,
    const struct mq_replied_opts *o, time_t now, struct mq_replied *r,
    struct mq_err *err)
{
	struct mq_db_campaign c;
	int rc;

	memset(r, 0, sizeof *r);
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	if ((rc = mq_db_campaign_get(db, name, &c, err)) == MQ_OK) {
		for (int i = 0; rc == MQ_OK && i < o->n; i++)
			rc = replied_one(db, c.id, o->emails[i], now, o, r, err);
		mq_db_campaign_free(&c);
	}
	if (rc == MQ_OK)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
	return rc;
}

int mq_campaign_reassign(struct mq_db *db, const char *name,
    const char *from, const char *to, int *moved, struct mq_err *err)
{
	struct mq_db_campaign c;
	int rc;

	*moved = 0;
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	if ((rc = mq_db_campaign_get(db, name, &c, err)) == MQ_OK) {
		rc = mq_db_campaign_reassign(db, c.id, from, to, moved, err);
		if (rc != MQ_OK)
			mq_err_prefix(err, "campaign '%s'", name);
		mq_db_campaign_free(&c);
	}
	if (rc == MQ_OK)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
	return rc;
}
