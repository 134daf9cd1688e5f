/* One run of mailq-fetch: see fetch.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "classify.h"
#include "clock.h"
#include "db_inbound.h"
#include "digest.h"
#include "fetch.h"
#include "inbox.h"
#include "log.h"
#include "tokens.h"

#define N_OWN 256

/* What one run knows of us, for the classifier. */
struct run {
	struct mq_db               *db;
	const struct mq_conf       *conf;
	const struct mq_fetch_opts *o;
	struct mq_fetch_stats      *st;
	struct mq_classify_ctx      ctx;
	const char                 *own[N_OWN], *unsub[N_OWN];
	struct mq_inbound          *msg;     /* one at a time: it is big */
};

/* One mailbox being read. */
struct box {
	const struct mq_conf_mailbox *mb;
	sqlite3_int64                 id;
	struct mq_inbox              *in;
	const char                   *folder;
	long long                     uidvalidity;
};

static void know_us(struct run *r)
{
	const struct mq_conf *c = r->conf;
	int no = 0, nu = 0;

	for (int i = 0; i < c->n_mailboxes && no < N_OWN; i++) {
		r->own[no++] = c->mailboxes[i].address;
		if (c->mailboxes[i].unsubscribe_mailto != NULL && nu < N_OWN)
			r->unsub[nu++] = c->mailboxes[i].unsubscribe_mailto;
	}
	for (int i = 0; i < c->n_campaigns && nu < N_OWN; i++)
		if (c->campaigns[i].unsubscribe_mailto != NULL)
			r->unsub[nu++] = c->campaigns[i].unsubscribe_mailto;
	r->ctx = (struct mq_classify_ctx){ r->own, no, r->unsub, nu };
}

static void say(const struct run *r, const struct box *b,
    const struct mq_inbox_item *it, const struct mq_applied *a)
{
	if (r->o->dry_run)
		fprintf(r->o->out, "%s %s %s: %s%s%s%s%s (%s)\n", b->mb->name,
		    b->folder, it->ref, a->cls, a->lead[0] ? " lead " : "",
		    a->lead, a->campaign[0] ? " campaign " : "", a->campaign,
		    a->reason);
	else
		mq_log(MQ_LOG_INFO, "mailbox=%s folder=\"%s\" ref=%s class=%s "
		    "lead=%s campaign=%s resolved=%d reason=\"%s\"",
		    b->mb->name, b->folder, it->ref, a->cls, a->lead[0] ?
		    a->lead : "-", a->campaign[0] ? a->campaign : "-",
		    a->resolved, a->reason);
}

static void count(struct mq_fetch_stats *st, const struct mq_applied *a)
{
	int c = mq_class_from_name(a->cls);

	if (!a->recorded)
		st->by_class[MQ_FETCH_TAKEN]++;
	else if (c >= 0)
		st->by_class[c]++;
	else
		st->by_class[MQ_FETCH_DUPLICATE]++;
	st->resolved += a->resolved;
	st->paused += a->paused;
}

/* Records and applies one message; in a dry run inside a transaction
 * that is rolled back. */
static int apply(struct run *r, const struct mq_inbound_at *at,
    struct mq_applied *a, struct mq_err *err)
{
	int rc;

	if (!r->o->dry_run)
		return mq_db_inbound_apply(r->db, at, r->msg, a, err);
	if ((rc = mq_db_begin(r->db, err)) != MQ_OK)
		return rc;
	rc = mq_db_inbound_apply(r->db, at, r->msg, a, err);
	mq_db_rollback(r->db);
	return rc;
}

/* One message: read, classify, apply. MQ_TEMP ends the folder. */
static int one(struct run *r, struct box *b, const struct mq_inbox_item *it,
    struct mq_err *err)
{
	struct mq_inbound_at at = { b->id, b->folder, b->uidvalidity, it->uid,
	    it->ref, NULL, 0, r->conf->soft_bounce_limit, 0 };
	char digest[MQ_DIGEST_LEN];
	struct mq_applied a;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = mq_inbox_fetch(b->in, it, &buf, &len, &at.headers_only, err);
	if (rc == MQ_PERM) {            /* gone meanwhile: nothing to read */
		mq_log(MQ_LOG_WARN, "mailbox %s: %s %s: %s", b->mb->name,
		    b->folder, it->ref, err->msg);
		return MQ_OK;
	}
	if (rc != MQ_OK)
		return rc;
	r->st->read++;
	mq_digest(buf, len, digest);
	at.digest = digest;
	if ((rc = mq_classify(&r->ctx, buf, len, r->msg, err)) == MQ_OK &&
	    (rc = mq_clock_now(&at.now, err)) == MQ_OK)
		rc = apply(r, &at, &a, err);
	free(buf);
	if (rc != MQ_OK)
		return rc;
	count(r->st, &a);
	say(r, b, it, &a);
	if (a.paused)
		mq_log(MQ_LOG_WARN, "mailbox %s: paused by its bounce guard; "
		    "resume it with mailq-campaign resume-mailbox %s",
		    b->mb->name, b->mb->name);
	return MQ_OK;
}

/* What is new in the open folder, oldest first. */
static int read_folder(struct run *r, struct box *b, struct mq_err *err)
{
	struct mq_inbox_item *items = NULL;
	long long v, last = 0;
	int n = 0, seen, changed = 0, rc;
	time_t now;

	if ((rc = mq_clock_now(&now, err)) != MQ_OK ||
	    (!r->o->dry_run && (rc = mq_db_inbox_opened(r->db, b->id,
	    b->folder, b->uidvalidity, now, &changed, err)) != MQ_OK) ||
	    (rc = mq_db_inbox_cursor(r->db, b->id, b->folder, &v, &last,
	    err)) != MQ_OK)
		return rc;
	if (changed)
		mq_log(MQ_LOG_WARN, "mailbox %s: folder %s has a new "
		    "UIDVALIDITY: reading it again from the start",
		    b->mb->name, b->folder);
	if (v != b->uidvalidity)
		last = 0;
	if ((rc = mq_inbox_list(b->in, last, &items, &n, err)) != MQ_OK)
		return rc;
	for (int i = 0; rc == MQ_OK && i < n; i++) {
		rc = mq_db_inbound_seen(r->db, b->id, b->folder,
		    b->uidvalidity, items[i].ref, &seen, err);
		if (rc == MQ_OK && !seen)
			rc = one(r, b, &items[i], err);
	}
	free(items);
	return rc;
}

/* The Sent folder: 'unknown' messages it holds were accepted. */
static int read_sent(struct run *r, struct box *b, struct mq_err *err)
{
	struct mq_db_unknown_send *u = NULL;
	char evidence[300];
	int n = 0, found, done, rc;
	time_t now;

	b->folder = b->mb->inbox_sent_folder;
	if ((rc = mq_clock_now(&now, err)) != MQ_OK ||
	    (rc = mq_db_unknown_sends(r->db, b->id, now - MQ_FETCH_SENT_DAYS *
	    86400, &u, &n, err)) != MQ_OK || n == 0 ||
	    (rc = mq_inbox_folder(b->in, b->folder, &b->uidvalidity, err)) !=
	    MQ_OK)
		goto out;
	snprintf(evidence, sizeof evidence, MQ_DB_SENT_EVIDENCE "%s",
	    b->folder);
	for (int i = 0; rc == MQ_OK && i < n; i++) {
		if ((rc = mq_inbox_find(b->in, u[i].message_id, &found, err)) !=
		    MQ_OK || !found)
			continue;
		if (r->o->dry_run) {
			fprintf(r->o->out, "%s %s: <%s> would become sent\n",
			    b->mb->name, b->folder, u[i].message_id);
			continue;
		}
		rc = mq_db_unknown_sent(r->db, u[i].id, evidence, now, &done,
		    err);
		r->st->resolved += done;
		if (done)
			mq_log(MQ_LOG_INFO, "mailbox=%s folder=\"%s\" "
			    "message_id=<%s> unknown=sent", b->mb->name,
			    b->folder, u[i].message_id);
	}
out:
	free(u);
	return rc;
}

static void inbox_opts(const struct mq_conf_mailbox *mb,
    struct mq_inbox_opts *o)
{
	memset(o, 0, sizeof *o);
	o->url = mb->inbox;
	o->username = mb->inbox_username;
	o->password = mb->inbox_password;
	o->tls = mb->tls;
	o->verify = mb->verify;
	o->ca_file = mb->ca_file;
	o->connect_timeout = mb->connect_timeout;
	o->timeout = mb->timeout;
	o->max_size = (size_t)mb->inbox_max_size;
}

/* Every folder of one mailbox, then its Sent folder. */
/* A folder that could not be read: told (cron mails it), and its error
 * kept for mailq-stats. */
static void folder_failed(struct run *r, const struct box *b,
    const char *folder, const struct mq_err *err)
{
	time_t now;

	mq_log(MQ_LOG_ERR, "mailbox %s: %s", b->mb->name, err->msg);
	if (b->id != 0 && !r->o->dry_run && mq_clock_now(&now, NULL) == MQ_OK)
		mq_db_inbox_failed(r->db, b->id, folder, err->msg, now, NULL);
}

/* Every folder of one mailbox, then its Sent folder. A folder that does
 * not exist is reported and skipped; any other failure ends the mailbox's
 * run (its connection is no longer in step). The first failure is the
 * result. */
static int read_mailbox(struct run *r, const struct mq_conf_mailbox *mb,
    struct mq_err *err)
{
	struct box b = { mb, 0, NULL, NULL, 0 };
	struct mq_inbox_opts io;
	struct mq_err e;
	char *bearer = NULL;
	int first = MQ_OK, refreshed, rc, i;

	inbox_opts(mb, &io);
	if ((rc = mq_db_inbox_mailbox(r->db, mb->name, &b.id, err)) != MQ_OK ||
	    (mb->auth == MQ_AUTH_OAUTH2 && (rc = mq_tokens_access(
	    r->conf->tokens, mb, &bearer, &refreshed, err)) != MQ_OK) ||
	    (io.bearer = bearer, rc = mq_inbox_open(&b.in, &io, err)) !=
	    MQ_OK) {
		/* a token the server refused is not used again */
		if (bearer != NULL && rc == MQ_PERM && err->ex == EX_NOPERM)
			mq_tokens_expire(r->conf->tokens, mb->name, NULL);
		folder_failed(r, &b, "INBOX", err);
		goto out;
	}
	for (i = 0; i <= mb->n_inbox_folders; i++) {
		if (i == mb->n_inbox_folders && mb->inbox_sent_folder == NULL)
			break;
		mq_err_clear(&e);
		b.folder = i < mb->n_inbox_folders ? mb->inbox_folders[i] :
		    mb->inbox_sent_folder;
		if (i == mb->n_inbox_folders)
			rc = read_sent(r, &b, &e);
		else if ((rc = mq_inbox_folder(b.in, b.folder, &b.uidvalidity,
		    &e)) == MQ_OK)
			rc = read_folder(r, &b, &e);
		if (rc == MQ_OK)
			continue;
		folder_failed(r, &b, b.folder, &e);
		if (first == MQ_OK) {
			first = rc;
			*err = e;
		}
		if (rc != MQ_PERM || e.ex != EX_NOINPUT)
			break;
	}
	rc = first;
out:
	mq_inbox_close(b.in);
	if (bearer != NULL) {
		explicit_bzero(bearer, strlen(bearer));
		free(bearer);
	}
	return rc;
}

static int check_only(const struct mq_conf *conf, const char *only,
    struct mq_err *err)
{
	const struct mq_conf_mailbox *mb;

	if (only == NULL)
		return MQ_OK;
	if ((mb = mq_conf_mailbox(conf, only)) == NULL)
		return mq_err_perm(err, EX_DATAERR, "no mailbox '%s' in %s",
		    only, conf->path);
	if (mb->inbox == NULL)
		return mq_err_perm(err, EX_DATAERR, "mailbox %s has no inbox "
		    "in %s", only, conf->path);
	return MQ_OK;
}

int mq_fetch_run(struct mq_db *db, const struct mq_conf *conf,
    const struct mq_fetch_opts *o, struct mq_fetch_stats *st,
    struct mq_err *err)
{
	struct run r = { db, conf, o, st, { NULL, 0, NULL, 0 }, { NULL },
	    { NULL }, NULL };
	const struct mq_conf_mailbox *mb;
	struct mq_err e;
	int first = MQ_OK, rc;

	memset(st, 0, sizeof *st);
	if ((rc = check_only(conf, o->only, err)) != MQ_OK)
		return rc;
	if ((r.msg = malloc(sizeof *r.msg)) == NULL)
		return mq_err_temp(err, "out of memory");
	know_us(&r);
	for (int i = 0; i < conf->n_mailboxes; i++) {
		mb = &conf->mailboxes[i];
		if (mb->inbox == NULL || (o->only != NULL &&
		    strcmp(o->only, mb->name) != 0))
			continue;
		mq_err_clear(&e);
		if ((rc = read_mailbox(&r, mb, &e)) == MQ_OK) {
			st->mailboxes++;
			continue;
		}
		st->failed++;           /* told as it failed */
		mq_err_prefix(&e, "mailbox %s", mb->name);
		if (first == MQ_OK) {
			first = rc;
			*err = e;
		}
	}
	free(r.msg);
	return first;
}
