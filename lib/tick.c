/* One run of the sending engine: see tick.h. */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <curl/curl.h>
#include <pthread.h>

#include "clock.h"
#include "db_campaign.h"
#include "db_claim.h"
#include "db_plan.h"
#include "deliver.h"
#include "log.h"
#include "owner.h"
#include "sched.h"
#include "tick.h"

struct run {
	struct mq_db              *db;
	const struct mq_conf      *conf;
	const struct mq_tick_opts *o;
	struct mq_tick_stats      *st;
	struct mq_owner            owner;
	struct mq_err             *err;
	CURLSH                    *share;      /* the run's DNS cache */
	pthread_mutex_t            locks[CURL_LOCK_DATA_LAST];
	struct flight {
		struct mq_flight                *f;
		const struct mq_db_campaign     *c;
		struct mq_db                    *db;   /* its data hook's */
		pthread_t                        t;
		int                              threaded;
	}                         *fl;         /* in the air in this pass */
	int                        n_fl;
	struct mq_db             **pool;       /* the flights' connections, */
	int                        n_pool;     /* kept for the run */
	int                        passes;
	char                       unavailable[16][64]; /* mailboxes not to
	                                                   use again this run */
	int                        n_unavailable;
};

/* delay ± jitter %, uniformly, in milliseconds. */
static int gap(const struct mq_db_campaign *c)
{
	double u = arc4random_uniform(2000001) / 1000000.0 - 1.0;

	return (int)(c->delay * 1000.0 * (1.0 + c->jitter / 100.0 * u) + 0.5);
}

static void count(struct run *r, const struct mq_db_campaign *c,
    const struct mq_claim *cl, const struct mq_delivered *d)
{
	static const char *names[] = { "sent", "retry", "failed", "bounced",
	    "mailbox", "unknown" };
	int *slot[] = { &r->st->sent, &r->st->retried, &r->st->failed,
	    &r->st->bounced, &r->st->mailbox, &r->st->unknown };

	(*slot[d->outcome])++;
	if (d->unavailable && r->n_unavailable < 16)
		snprintf(r->unavailable[r->n_unavailable++], 64, "%s",
		    cl->mailbox);
	mq_log(MQ_LOG_INFO, "campaign=%s lead=%s step=%d mailbox=%s "
	    "attempt=%d outcome=%s code=%d reply=\"%s\"", c->name, cl->email,
	    cl->step, cl->mailbox, cl->attempts, names[d->outcome], d->code,
	    d->reply);
	/* a mailbox's first failure is told (cron mails it), its later
	 * ones only with -v, and so is its recovery */
	if (d->outcome == MQ_OUT_MAILBOX) {
		mq_log(d->rec.mailbox_failed ? MQ_LOG_WARN : MQ_LOG_INFO,
		    "campaign %s: mailbox %s: %s%s", c->name, cl->mailbox,
		    d->reply, d->rec.mailbox_failed ? "; it rests and is tried "
		    "again later (see mailq-stats)" : " (still failing)");
	} else if (d->rec.mailbox_back) {
		mq_log(MQ_LOG_INFO, "campaign %s: mailbox %s works again",
		    c->name, cl->mailbox);
	} else if (d->outcome == MQ_OUT_UNKNOWN) {
		mq_log(MQ_LOG_WARN, "campaign %s: %s step %d: may have been "
		    "delivered (%s); marked unknown, not resent", c->name,
		    cl->email, cl->step, d->reply);
	}
	if (d->rec.mailbox_paused)
		mq_log(MQ_LOG_WARN, "campaign %s: mailbox %s: paused by its "
		    "bounce guard; resume it with mailq-campaign resume-mailbox "
		    "%s", c->name, cl->mailbox, cl->mailbox);
	if (d->rec.stale)
		mq_log(MQ_LOG_WARN, "campaign %s: %s step %d: claim was taken "
		    "over meanwhile; outcome not recorded", c->name, cl->email,
		    cl->step);
}

static void report_dry(struct run *r, const struct mq_db_campaign *c,
    const struct mq_claim *cl, time_t now)
{
	struct mq_composed m;
	struct mq_err err;

	if (mq_deliver_compose(r->db, r->conf, cl, now, &m, &err) != MQ_OK) {
		fprintf(r->o->out, "%s: would fail %s step %d: %s\n", c->name,
		    cl->email, cl->step, err.msg);
		return;
	}
	fprintf(r->o->out, "%s: would send step %d to %s from %s <%s>: %s\n",
	    c->name, cl->step, cl->email, cl->mailbox, m.mb->address,
	    m.subject);
	mq_deliver_free(&m);
}

/* Why a dry run would send nothing for c now. */
static void report_wait(struct run *r, const struct mq_db_campaign *c,
    enum mq_claim_status status, const struct mq_claim *cl)
{
	long long next_ms = cl->next_ms;

	static const char *const why[] = {
		[MQ_CLAIM_NONE] = "nothing due",
		[MQ_CLAIM_LIMIT] = "the day's limit of the campaign or its "
		    "sender is reached",
		[MQ_CLAIM_DUPLICATE] = "a message already in the send log",
		[MQ_CLAIM_GONE] = "no longer scheduled or running",
	};
	char t[48];

	if (status == MQ_CLAIM_PACE) {
		mq_sched_format(c->sched.timezone, (time_t)(next_ms / 1000),
		    "%a %Y-%m-%d %H:%M:%S %Z", t, sizeof t, NULL);
		fprintf(r->o->out, "%s: next message at %s\n", c->name, t);
	} else if (status == MQ_CLAIM_NO_MAILBOX) {
		fprintf(r->o->out, "%s: messages are due, but no mailbox they "
		    "may go from can send: %s\n", c->name, cl->why);
	} else {
		fprintf(r->o->out, "%s: %s\n", c->name, why[status]);
	}
}

static int unavailable(const char *name, const void *arg)
{
	const struct run *r = arg;

	for (int i = 0; i < r->n_unavailable; i++)
		if (strcmp(r->unavailable[i], name) == 0)
			return 1;
	return 0;
}

static const char *fingerprint(const char *name, const void *arg)
{
	const struct mq_conf_mailbox *m = mq_conf_mailbox(arg, name);

	return m != NULL ? m->fingerprint : NULL;
}

/* Claims and sends at most one message of c. *claimed says whether the
 * campaign did anything; *due (milliseconds) when it may next. */
static int claim_one(struct run *r, const struct mq_db_campaign *c,
    long long now_ms, int *claimed, long long *due)
{
	time_t now = (time_t)(now_ms / 1000);
	struct mq_claim_req q = { .campaign = c->id, .now = now,
	    .now_ms = now_ms, .gap_ms = gap(c), .live = 1, .owner = &r->owner,
	    .fingerprint = fingerprint, .fp_arg = r->conf,
	    .unavailable = unavailable, .run_arg = r };
	enum mq_claim_status status;
	struct mq_flight *f;
	struct mq_delivered d;
	struct mq_claim cl;
	char day[16];
	int rc;

	rc = mq_sched_local_day(c->sched.timezone, now, day, sizeof day,
	    &q.day_start, NULL, r->err);
	if (rc == MQ_OK)
		rc = mq_db_claim(r->db, &q, 0, &status, &cl, r->err);
	if (rc != MQ_OK)
		return rc;
	if (status == MQ_CLAIM_PACE || status == MQ_CLAIM_NO_MAILBOX)
		*due = cl.next_ms;
	if (r->o->dry_run && status != MQ_CLAIM_OK)
		report_wait(r, c, status, &cl);
	if (status == MQ_CLAIM_DUPLICATE)
		mq_log(MQ_LOG_WARN, "campaign %s: %s step %d is already in the "
		    "send log; skipped", c->name, cl.email, cl.step);
	if (status == MQ_CLAIM_DUPLICATE)
		r->st->duplicate++;
	if (status != MQ_CLAIM_OK)
		return *claimed = status == MQ_CLAIM_DUPLICATE, MQ_OK;
	*claimed = 1;
	*due = now_ms + q.gap_ms;
	if (r->o->dry_run) {
		report_dry(r, c, &cl, now);
		return MQ_OK;
	}
	rc = mq_deliver_start(r->db, r->conf, &r->owner, c, &cl, &f, &d,
	    r->err);
	if (rc == MQ_OK && f == NULL)
		count(r, c, &cl, &d);
	if (rc == MQ_OK && f != NULL) {
		/* r->fl has room for a burst per campaign of the pass */
		r->fl[r->n_fl++] = (struct flight){ .f = f, .c = c };
		curl_easy_setopt(mq_flight_easy(f), CURLOPT_SHARE, r->share);
	}
	return rc;
}

/* Transfers in the air at once in one run, at most, whatever the number
 * of campaigns and mailboxes: each is a thread and a database connection,
 * so a run's memory stays flat. A campaign whose pace lets messages
 * follow at once (delay 0) claims as many as its mailboxes' caps
 * (max_connections, max_per_minute, decided by the claim across every
 * run) and this let it; a paced one, or a dry run, one per pass. */
#define MQ_TICK_FLIGHTS 64

static int burst(const struct run *r, const struct mq_db_campaign *c)
{
	return r->o->dry_run || c->delay > 0 ? 1 : MQ_TICK_FLIGHTS;
}

/* One campaign, one pass: window, status, plan, claims. */
static int campaign_pass(struct run *r, const struct mq_db_campaign *c,
    long long now_ms, int *claimed, long long *due)
{
	const struct mq_sched *s = &c->sched;
	time_t now = (time_t)(now_ms / 1000), opens;
	char why[96];
	int open, planned, done, one, rc = MQ_OK;

	*claimed = 0;
	*due = 0;
	if ((rc = mq_sched_is_open(s, now, &open, why, sizeof why, r->err)))
		return rc;
	if (!open) {
		if (r->o->dry_run)
			fprintf(r->o->out, "%s: window closed (%s)\n", c->name, why);
		rc = mq_sched_next_open(s, now, &opens, r->err);
		*due = opens * 1000LL;
		return rc;
	}
	if (c->status == MQ_CAMPAIGN_SCHEDULED)
		rc = mq_db_campaign_move(r->db, c->id, MQ_MOVE_RUN, now, -1, NULL,
		    r->err);
	if (rc == MQ_OK)
		rc = mq_db_plan(r->db, c->id, now, &planned, &done, r->err);
	if (rc == MQ_OK && done)
		mq_log(MQ_LOG_INFO, "campaign=%s status=completed", c->name);
	for (int k = 0; rc == MQ_OK && !done && k < burst(r, c) &&
	    r->n_fl < MQ_TICK_FLIGHTS; k++) {
		rc = claim_one(r, c, now_ms, &one, due);
		*claimed |= one;
		if (!one)
			break;
	}
	return rc;
}

static void *flight_thread(void *p)
{
	struct flight *x = p;

	mq_flight_perform(x->f, x->db);
	return NULL;
}

/* A connection for each of n flights at once, opened the first time it is
 * needed and kept for the run. One that cannot be opened stays NULL: its
 * flight's data hook refuses, so its message is not sent and goes back to
 * the queue. */
static void pool_grow(struct run *r, int n)
{
	struct mq_db **p;
	struct mq_err err;

	if (n > r->n_pool) {
		if ((p = realloc(r->pool, n * sizeof *p)) == NULL)
			return;
		for (int i = r->n_pool; i < n; i++)
			p[i] = NULL;
		r->pool = p;
		r->n_pool = n;
	}
	for (int i = 0; i < n; i++)
		if (r->pool[i] == NULL && mq_db_open(&r->pool[i], r->db->path,
		    MQ_DB_RW, &err) != MQ_OK)
			mq_log(MQ_LOG_WARN, "%s", err.msg);
}

static void pool_close(struct run *r)
{
	for (int i = 0; i < r->n_pool; i++)
		mq_db_close(r->pool[i]);
	free(r->pool);
	r->pool = NULL;
	r->n_pool = 0;
}

/* Runs every transfer of the pass at once, a thread and a connection
 * each, then records the outcomes; a lone transfer runs in this thread on
 * the run's connection. (libcurl's multi interface would
 * do without threads, but in 7.88 it waits for the reply to an SMTP
 * message's final dot blockingly, one transfer after another.) No
 * transaction of the run's connection is open meanwhile. */
static int fly(struct run *r)
{
	struct mq_delivered d;
	struct flight *x;
	int rc = MQ_OK, lrc, i;

	if (r->n_fl > 1)
		pool_grow(r, r->n_fl);
	for (i = 0; i < r->n_fl; i++) {
		x = &r->fl[i];
		x->db = r->n_fl == 1 ? r->db : i < r->n_pool ? r->pool[i] :
		    NULL;
		x->threaded = r->n_fl > 1 &&
		    pthread_create(&x->t, NULL, flight_thread, x) == 0;
		if (!x->threaded)
			flight_thread(x);    /* no thread to spare: in turn */
	}
	/* every transfer ends before any outcome is recorded: a shape
	 * once forced by the zone arithmetic switching TZ, which the
	 * transfers' threads read; lib/tz touches nothing they can see, so
	 * outcomes could now be recorded as transfers end */
	for (i = 0; i < r->n_fl; i++)
		if (r->fl[i].threaded)
			pthread_join(r->fl[i].t, NULL);
	for (i = 0; i < r->n_fl; i++) {
		x = &r->fl[i];
		lrc = mq_deliver_finish(x->f, mq_flight_result(x->f), &d, r->err);
		if (lrc == MQ_OK)
			count(r, x->c, mq_flight_claim(x->f), &d);
		else if (rc == MQ_OK)
			rc = lrc;
		mq_flight_free(x->f);
	}
	r->n_fl = 0;
	return rc;
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a,
    void *p)
{
	struct run *r = p;

	(void)h;
	(void)a;
	pthread_mutex_lock(&r->locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *p)
{
	struct run *r = p;

	(void)h;
	pthread_mutex_unlock(&r->locks[data]);
}

/* One DNS cache for every transfer of the run, shared by its threads.
 * (Connections are not kept: each message's session closes with it, see
 * smtp.c.) */
static int share_init(struct run *r)
{
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&r->locks[i], NULL);
	if ((r->share = curl_share_init()) == NULL)
		return mq_err_temp(r->err, "curl_share_init failed");
	curl_share_setopt(r->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(r->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(r->share, CURLSHOPT_USERDATA, r);
	curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	return MQ_OK;
}

/* A pass over every campaign that may send. */
static int pass(struct run *r, long long now, int *claimed, long long *next)
{
	struct mq_db_campaign *v;
	int n, rc, lrc, any;
	long long due;

	*claimed = 0;
	*next = 0;
	if ((rc = mq_db_campaign_list(r->db, MQ_DB_SENDING, r->o->only, &v,
	    &n, r->err)) != MQ_OK) {
		mq_db_campaign_free_all(v, n);
		return rc;
	}
	if ((r->fl = calloc(MQ_TICK_FLIGHTS + 1, sizeof *r->fl)) == NULL)
		rc = mq_err_temp(r->err, "out of memory");
	/* each pass starts one campaign further on, so that when the run's
	 * transfers are all taken every campaign still gets its turn */
	for (int k = 0; rc == MQ_OK && k < n; k++) {
		const struct mq_db_campaign *c = &v[(k + r->passes) % n];

		if (r->n_fl >= MQ_TICK_FLIGHTS) {
			*claimed = 1;       /* the rest in the next pass */
			break;
		}
		/* a database still busy after its wait, or full, ends the
		 * run (EX_TEMPFAIL): nothing is lost, cron runs it again */
		if ((rc = campaign_pass(r, c, now, &any, &due)) != MQ_OK)
			mq_err_prefix(r->err, "campaign %s", c->name);
		*claimed |= any;
		if (due > 0 && (*next == 0 || due < *next))
			*next = due;
	}
	r->passes++;
	/* what was claimed goes out, whatever happened after the claim */
	if (r->fl != NULL && (lrc = fly(r)) != MQ_OK && rc == MQ_OK)
		rc = lrc;
	free(r->fl);
	r->fl = NULL;
	mq_db_campaign_free_all(v, n);
	return rc;
}

/* Where the run stops waiting for messages that fall due: its horizon
 * after the start, or by default the end of the minute it started in, so
 * that runs started every minute by cron hand over to each other with no
 * gap between them. */
static long long horizon_end(const struct mq_tick_opts *o, long long start)
{
	if (o->horizon < 0)
		return (start / 60000 + 1) * 60000;
	return start + o->horizon * 1000LL;
}

static int loop(struct run *r)
{
	long long start, now, next, limit, stop;
	int claimed, rc;

	if ((rc = mq_clock_now_ms(&start, r->err)) != MQ_OK)
		return rc;
	limit = horizon_end(r->o, start);
	/* with no horizon, passes go on while they claim, up to 55 s */
	stop = r->o->horizon == 0 ? start + 55000 : limit;
	for (now = start; now < stop; ) {
		if ((rc = pass(r, now, &claimed, &next)) != MQ_OK)
			return rc;
		if (r->o->dry_run)
			break;
		if ((rc = mq_clock_now_ms(&now, r->err)) != MQ_OK)
			return rc;
		if (claimed)
			continue;
		if (next == 0 || next >= limit)
			break;
		if (next > now)
			nanosleep(&(struct timespec){ (next - now) / 1000,
			    (next - now) % 1000 * 1000000 }, NULL);
		if ((rc = mq_clock_now_ms(&now, r->err)) != MQ_OK)
			return rc;
	}
	return MQ_OK;
}

/* What a dry run says of the campaigns that do not send at all: a draft
 * or a paused one would look like one with nothing to do. */
static int report_idle(struct run *r)
{
	static const char *const idle[MQ_CAMPAIGN_N] = {
		[MQ_CAMPAIGN_DRAFT] = "never started: nothing goes until "
		    "'mailq-campaign start %s'",
		[MQ_CAMPAIGN_PAUSED] = "paused: nothing goes until "
		    "'mailq-campaign resume %s'",
	};
	struct mq_db_campaign *v;
	int n, rc;

	if ((rc = mq_db_campaign_list(r->db, MQ_DB_ALL, r->o->only, &v, &n,
	    r->err)) != MQ_OK) {
		mq_db_campaign_free_all(v, n);
		return rc;
	}
	for (int i = 0; i < n; i++) {
		if (v[i].retired || idle[v[i].status] == NULL)
			continue;
		fprintf(r->o->out, "%s: ", v[i].name);
		fprintf(r->o->out, idle[v[i].status], v[i].name);
		fputc('\n', r->o->out);
	}
	mq_db_campaign_free_all(v, n);
	return MQ_OK;
}

int mq_tick_run(struct mq_db *db, const struct mq_conf *conf,
    const struct mq_tick_opts *o, struct mq_tick_stats *st,
    struct mq_err *err)
{
	struct run r;
	struct mq_db_campaign *v;
	int n, rc;

	memset(&r, 0, sizeof r);
	r.db = db;
	r.conf = conf;
	r.o = o;
	r.st = st;
	r.err = err;
	memset(st, 0, sizeof *st);
	if ((rc = mq_owner_self(&r.owner, err)) != MQ_OK)
		return rc;
	if (o->only != NULL) {
		rc = mq_db_campaign_list(db, MQ_DB_SENDING, o->only, &v, &n,
		    err);
		mq_db_campaign_free_all(v, n);
		if (rc != MQ_OK)
			return rc;
		if (n == 0 && o->dry_run) {
			/* a dry run says why it does not send (report_idle) */
			struct mq_db_campaign c;

			if ((rc = mq_db_campaign_get(db, o->only, &c, err)))
				return rc;
			mq_db_campaign_free(&c);
		} else if (n == 0) {
			return mq_err_perm(err, EX_NOINPUT, "campaign '%s': no "
			    "such campaign, or it is not scheduled or running",
			    o->only);
		}
	}
	if (!o->dry_run) {
		if ((rc = share_init(&r)) != MQ_OK)
			return rc;
		rc = loop(&r);
		curl_share_cleanup(r.share);
		pool_close(&r);
		return rc;
	}
	/* a dry run does everything inside one transaction it rolls back */
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	rc = loop(&r);
	if (rc == MQ_OK)
		rc = report_idle(&r);
	mq_db_rollback(db);
	return rc;
}
