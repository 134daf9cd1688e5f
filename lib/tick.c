/* One run of the sending engine: see tick.h. */
#include <stdint.h>
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

/* Transfers in the air at once in one run, at most, whatever the number
 * of campaigns and mailboxes: each is a thread and a database connection,
 * so a run's memory stays flat. */
#define MQ_TICK_LANES 64

struct run;

/* A thread and the database connection it claims, sends and records
 * through, kept for the run: one message at a time, and for a campaign
 * whose pace lets messages follow at once (delay 0) the next one as soon
 * as the last has landed. */
struct lane {
	struct run                *r;
	struct mq_db              *db;      /* NULL until first used */
	pthread_t                  t;
	int                        busy;    /* its thread runs (under r->mu) */
	int                        joinable;
	struct mq_flight          *f;       /* the message in the air */
	struct mq_db_campaign  c;       /* its campaign, the lane's copy */
};

struct run {
	struct mq_db              *db;
	const struct mq_conf      *conf;
	const struct mq_tick_opts *o;
	struct mq_tick_stats      *st;
	struct mq_owner            owner;
	struct mq_err             *err;
	CURLSH                    *share;      /* the run's DNS cache */
	pthread_mutex_t            locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t            mu;         /* st, unavailable, lanes' busy,
	                                          lane_rc */
	pthread_cond_t             landed;     /* a lane fell free */
	struct lane                lanes[MQ_TICK_LANES];
	int                        lane_rc;    /* a lane's first failure, */
	struct mq_err              lane_err;   /* which ends the run */
	long long                  stop;       /* no claim after this, ms */
	int                        starved;    /* a pass had more to send
	                                          than free lanes */
	int                        blocked;    /* a pass found messages due
	                                          that a mailbox's cap kept
	                                          back, of a campaign with no
	                                          lane of its own running */
	int                        want;       /* the run waits for a lane:
	                                          none follows on (under mu) */
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

/* Counts and logs what became of a message; any thread. */
static void count(struct run *r, const struct mq_db_campaign *c,
    const struct mq_claim *cl, const struct mq_delivered *d)
{
	static const char *names[] = { "sent", "retry", "failed", "bounced",
	    "mailbox", "unknown" };
	int *slot[] = { &r->st->sent, &r->st->retried, &r->st->failed,
	    &r->st->bounced, &r->st->mailbox, &r->st->unknown };

	pthread_mutex_lock(&r->mu);
	(*slot[d->outcome])++;
	if (d->unavailable && r->n_unavailable < 16)
		snprintf(r->unavailable[r->n_unavailable++], 64, "%s",
		    cl->mailbox);
	pthread_mutex_unlock(&r->mu);
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
    const struct mq_claim *cl, const struct mq_db_parts *parts, time_t now)
{
	struct mq_composed m;
	struct mq_err err;

	if (mq_deliver_compose(r->conf, cl, parts, now, &m, &err) != MQ_OK) {
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
	struct run *r = (struct run *)(uintptr_t)arg;
	int found = 0;

	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < r->n_unavailable && !found; i++)
		found = strcmp(r->unavailable[i], name) == 0;
	pthread_mutex_unlock(&r->mu);
	return found;
}

static const char *fingerprint(const char *name, const void *arg)
{
	const struct mq_conf_mailbox *m = mq_conf_mailbox(arg, name);

	return m != NULL ? m->fingerprint : NULL;
}

/* Claims at most one message of c through db and starts it: *fp is its
 * transfer for a lane to run, or NULL (nothing claimed, a dry run, or a
 * message done at once, counted). *claimed says whether the campaign did
 * anything; *due (milliseconds) when it may next. */
static int claim_one(struct run *r, struct mq_db *db,
    const struct mq_db_campaign *c, long long now_ms, int *claimed,
    long long *due, enum mq_claim_status *status, struct mq_flight **fp,
    struct mq_err *err)
{
	time_t now = (time_t)(now_ms / 1000);
	struct mq_claim_req q = { .campaign = c->id, .now = now,
	    .now_ms = now_ms, .gap_ms = gap(c), .live = 1, .owner = &r->owner,
	    .fingerprint = fingerprint, .fp_arg = r->conf,
	    .unavailable = unavailable, .run_arg = r };
	struct mq_delivered d;
	struct mq_db_parts parts;
	struct mq_claim cl;
	char day[16];
	int rc;

	*fp = NULL;
	*claimed = 0;
	*status = MQ_CLAIM_NONE;
	rc = mq_sched_local_day(c->sched.timezone, now, day, sizeof day,
	    &q.day_start, NULL, err);
	if (rc == MQ_OK)
		rc = mq_db_claim(db, &q, 0, status, &cl, &parts, err);
	if (rc != MQ_OK)
		return rc;
	if (*status == MQ_CLAIM_PACE || *status == MQ_CLAIM_NO_MAILBOX)
		*due = cl.next_ms;
	if (r->o->dry_run && *status != MQ_CLAIM_OK)
		report_wait(r, c, *status, &cl);
	if (*status == MQ_CLAIM_DUPLICATE) {
		mq_log(MQ_LOG_WARN, "campaign %s: %s step %d is already in the "
		    "send log; skipped", c->name, cl.email, cl.step);
		pthread_mutex_lock(&r->mu);
		r->st->duplicate++;
		pthread_mutex_unlock(&r->mu);
	}
	if (*status != MQ_CLAIM_OK)
		return *claimed = *status == MQ_CLAIM_DUPLICATE, MQ_OK;
	*claimed = 1;
	*due = now_ms + q.gap_ms;
	if (r->o->dry_run) {
		report_dry(r, c, &cl, &parts, now);
		mq_db_parts_free(&parts);
		return MQ_OK;
	}
	rc = mq_deliver_start(db, r->conf, &r->owner, c, &cl, &parts, fp, &d,
	    err);
	if (rc == MQ_OK && *fp == NULL)
		count(r, c, &cl, &d);
	if (*fp != NULL)
		curl_easy_setopt(mq_flight_easy(*fp), CURLOPT_SHARE, r->share);
	return rc;
}

/* Whether c's window is open at now; if not, *due (ms) when it opens. */
static int window(struct run *r, const struct mq_db_campaign *c,
    time_t now, int *open, long long *due, struct mq_err *err)
{
	time_t opens;
	char why[96];
	int rc;

	if ((rc = mq_sched_is_open(&c->sched, now, open, why, sizeof why,
	    err)) || *open)
		return rc;
	if (r->o->dry_run)
		fprintf(r->o->out, "%s: window closed (%s)\n", c->name, why);
	rc = mq_sched_next_open(&c->sched, now, &opens, err);
	*due = opens * 1000LL;
	return rc;
}

/* Before c claims through db: its window, its start, its buffer. *ready
 * says whether it may claim; *due (ms) when it may if not now. */
static int prepare(struct run *r, struct mq_db *db,
    const struct mq_db_campaign *c, long long now_ms, int *ready,
    long long *due, struct mq_err *err)
{
	time_t now = (time_t)(now_ms / 1000);
	int open, planned, done, rc;

	*ready = 0;
	if ((rc = window(r, c, now, &open, due, err)) != MQ_OK || !open)
		return rc;
	if (c->status == MQ_CAMPAIGN_SCHEDULED)
		rc = mq_db_campaign_move(db, c->id, MQ_MOVE_RUN, now, -1, NULL,
		    err);
	if (rc == MQ_OK)
		rc = mq_db_plan(db, c->id, now, &planned, &done, err);
	if (rc == MQ_OK && done)
		mq_log(MQ_LOG_INFO, "campaign=%s status=completed", c->name);
	*ready = rc == MQ_OK && !done;
	return rc;
}

/* Records how transfer f of campaign c ended, counts it, frees f. */
static int land(struct run *r, struct mq_flight *f,
    const struct mq_db_campaign *c, struct mq_err *err)
{
	struct mq_delivered d;
	int rc;

	rc = mq_deliver_finish(f, mq_flight_result(f), &d, err);
	if (rc == MQ_OK)
		count(r, c, mq_flight_claim(f), &d);
	mq_flight_free(f);
	return rc;
}

/* After a landing, a campaign whose pace lets messages follow at once
 * takes its next one on the same lane, while the run may claim. */
static int follow_on(struct lane *l, struct mq_err *err)
{
	struct run *r = l->r;
	enum mq_claim_status status;
	long long now_ms, due = 0;
	int ready, claimed, want, rc;

	pthread_mutex_lock(&r->mu);
	want = r->want;          /* the run waits for a lane: give this back */
	pthread_mutex_unlock(&r->mu);
	if (want || l->c.delay > 0 || mq_clock_now_ms(&now_ms, err) !=
	    MQ_OK || now_ms >= r->stop)
		return MQ_OK;
	rc = prepare(r, l->db, &l->c, now_ms, &ready, &due, err);
	if (rc == MQ_OK && ready)
		rc = claim_one(r, l->db, &l->c, now_ms, &claimed, &due,
		    &status, &l->f, err);
	return rc;
}

static void lane_failed(struct run *r, int rc, const struct mq_err *err,
    const struct mq_db_campaign *c)
{
	pthread_mutex_lock(&r->mu);
	if (r->lane_rc == MQ_OK) {
		r->lane_rc = rc;
		r->lane_err = *err;
		mq_err_prefix(&r->lane_err, "campaign %s", c->name);
	}
	pthread_mutex_unlock(&r->mu);
}

/* A lane's thread: each transfer runs and lands, the next follows on. */
static void *lane_thread(void *p)
{
	struct lane *l = p;
	struct run *r = l->r;
	struct mq_err err;
	int rc = MQ_OK;

	while (rc == MQ_OK && l->f != NULL) {
		mq_flight_perform(l->f, l->db);
		rc = land(r, l->f, &l->c, &err);
		l->f = NULL;
		if (rc == MQ_OK)
			rc = follow_on(l, &err);
	}
	if (rc != MQ_OK)
		lane_failed(r, rc, &err, &l->c);
	pthread_mutex_lock(&r->mu);
	l->busy = 0;
	pthread_cond_broadcast(&r->landed);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* A copy of c for a lane, which outlives the pass's list. */
static int lane_take(struct lane *l, const struct mq_db_campaign *c)
{
	struct mq_db_campaign copy;

	if (mq_db_campaign_copy(&copy, c) != MQ_OK)
		return 0;
	mq_db_campaign_free(&l->c);
	l->c = copy;
	return 1;
}

/* A lane with no thread running, joined, with its connection: MQ_OK and
 * *lp, or *lp NULL when all are taken; MQ_TEMP when its connection cannot
 * be opened. */
static int free_lane(struct run *r, struct lane **lp, struct mq_err *err)
{
	struct lane *l = NULL;

	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < MQ_TICK_LANES && l == NULL; i++)
		if (!r->lanes[i].busy)
			l = &r->lanes[i];
	pthread_mutex_unlock(&r->mu);
	*lp = NULL;
	if (l == NULL)
		return MQ_OK;
	if (l->joinable) {
		pthread_join(l->t, NULL);
		l->joinable = 0;
	}
	if (l->db == NULL && mq_db_open(&l->db, r->db->path, MQ_DB_RW,
	    err) != MQ_OK) {
		l->db = NULL;
		return MQ_TEMP;
	}
	*lp = l;
	return MQ_OK;
}

/* Hands flight f of the lane's campaign to lane l: its thread sends it,
 * records the outcome as soon as it lands, and follows on. No
 * transaction of the run's connection is open meanwhile. */
static void launch(struct run *r, struct lane *l, struct mq_flight *f)
{
	struct mq_err err;
	int rc;

	l->r = r;
	l->f = f;
	pthread_mutex_lock(&r->mu);
	l->busy = 1;
	pthread_mutex_unlock(&r->mu);
	if (pthread_create(&l->t, NULL, lane_thread, l) == 0) {
		l->joinable = 1;
		return;
	}
	pthread_mutex_lock(&r->mu);
	l->busy = 0;
	pthread_mutex_unlock(&r->mu);
	/* no thread to spare: sent and landed here, and nothing follows on */
	l->f = NULL;
	mq_flight_perform(f, l->db);
	if ((rc = land(r, f, &l->c, &err)) != MQ_OK)
		lane_failed(r, rc, &err, &l->c);
}

/* Whether a lane of campaign id runs: it goes on with the campaign. */
static int running(struct run *r, sqlite3_int64 id)
{
	int n = 0;

	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < MQ_TICK_LANES; i++)
		n += r->lanes[i].busy && r->lanes[i].c.id == id;
	pthread_mutex_unlock(&r->mu);
	return n > 0;
}

/* One campaign, one pass: window, status, plan, claims onto free lanes
 * (one, or as many as its mailboxes' caps let a campaign of delay 0). */
static int campaign_pass(struct run *r, const struct mq_db_campaign *c,
    long long now_ms, int *claimed, long long *due)
{
	int burst = r->o->dry_run || c->delay > 0 ? 1 : MQ_TICK_LANES;
	enum mq_claim_status status;
	struct mq_flight *f;
	struct lane *l = NULL;
	int ready, one, rc;

	*claimed = 0;
	*due = 0;
	rc = prepare(r, r->db, c, now_ms, &ready, due, r->err);
	for (int k = 0; rc == MQ_OK && ready && k < burst; k++) {
		if (!r->o->dry_run && ((rc = free_lane(r, &l, r->err)) !=
		    MQ_OK || l == NULL)) {
			r->starved = rc == MQ_OK;
			break;
		}
		/* the flight reads its campaign until it lands: the lane's
		 * copy, which outlives this pass's list */
		if (l != NULL && !lane_take(l, c)) {
			rc = mq_err_temp(r->err, "out of memory");
			break;
		}
		rc = claim_one(r, r->db, l != NULL ? &l->c : c, now_ms, &one,
		    due, &status, &f, r->err);
		if (f != NULL)
			launch(r, l, f);
		if (status == MQ_CLAIM_NO_MAILBOX && !running(r, c->id))
			r->blocked = 1;
		*claimed |= one;
		if (!one)
			break;
	}
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
	int n, rc, any;
	long long due;

	*claimed = 0;
	*next = 0;
	r->starved = r->blocked = 0;
	if ((rc = mq_db_campaign_list(r->db, MQ_DB_SENDING, r->o->only, &v,
	    &n, r->err)) != MQ_OK) {
		mq_db_campaign_free_all(v, n);
		return rc;
	}
	/* each pass starts one campaign further on, so that when the run's
	 * lanes are all taken every campaign still gets its turn */
	for (int k = 0; rc == MQ_OK && k < n && !r->starved; k++) {
		const struct mq_db_campaign *c = &v[(k + r->passes) % n];

		/* a database still busy after its wait, or full, ends the
		 * run (EX_TEMPFAIL): nothing is lost, cron runs it again */
		if ((rc = campaign_pass(r, c, now, &any, &due)) != MQ_OK)
			mq_err_prefix(r->err, "campaign %s", c->name);
		*claimed |= any;
		if (due > 0 && (*next == 0 || due < *next))
			*next = due;
	}
	r->passes++;
	mq_db_campaign_free_all(v, n);
	return rc;
}

static int busy_locked(const struct run *r)
{
	int n = 0;

	for (int i = 0; i < MQ_TICK_LANES; i++)
		n += r->lanes[i].busy;
	return n;
}

/* Waits until ms (0: no time set), or until a lane's thread ends when
 * some run, whichever is first. With need (the run wants lanes for other
 * campaigns), the lanes give themselves back after their message rather
 * than following on, and the wait is for all of them, as for a batch. */
static void wait_until(struct run *r, int need, long long ms)
{
	struct timespec ts;
	long long now;
	int rc = 0;

	pthread_mutex_lock(&r->mu);
	r->want = need;
	if (ms != 0 && mq_clock_now_ms(&now, NULL) == MQ_OK && ms > now) {
		/* the condition's clock is the real one; MAILQ_NOW only
		 * shifts it */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (ms - now) / 1000;
		ts.tv_nsec += (ms - now) % 1000 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
	} else if (ms != 0) {
		ms = -1;             /* already due */
	}
	while (ms >= 0 && rc == 0 && (ms > 0 || busy_locked(r) > 0)) {
		rc = ms > 0 ? pthread_cond_timedwait(&r->landed, &r->mu, &ts) :
		    pthread_cond_wait(&r->landed, &r->mu);
		if (!need)
			break;       /* one landing is enough */
		if (busy_locked(r) == 0)
			break;
	}
	r->want = 0;
	pthread_mutex_unlock(&r->mu);
}

static int lanes_busy(struct run *r)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = busy_locked(r);
	pthread_mutex_unlock(&r->mu);
	return n;
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
	long long start, now, next, limit;
	int claimed, need, rc = MQ_OK;

	if ((rc = mq_clock_now_ms(&start, r->err)) != MQ_OK)
		return rc;
	limit = horizon_end(r->o, start);
	/* with no horizon, passes go on while they claim, up to 55 s */
	r->stop = r->o->horizon == 0 ? start + 55000 : limit;
	for (now = start; now < r->stop && r->lane_rc == MQ_OK; ) {
		if ((rc = pass(r, now, &claimed, &next)) != MQ_OK)
			break;
		if (r->o->dry_run)
			break;
		if ((rc = mq_clock_now_ms(&now, r->err)) != MQ_OK)
			break;
		if (claimed && !r->starved && !r->blocked)
			continue;
		if (next >= limit)
			next = 0;
		/* a lane that lands frees itself, and may let a mailbox's
		 * cap admit the next message */
		need = r->starved || r->blocked;
		if (next == 0 && !lanes_busy(r))
			break;
		wait_until(r, need, next);
		if ((rc = mq_clock_now_ms(&now, r->err)) != MQ_OK)
			break;
	}
	/* what is in the air lands before the run ends, and nothing more
	 * follows on: a run that failed stops there */
	pthread_mutex_lock(&r->mu);
	r->want = 1;
	pthread_mutex_unlock(&r->mu);
	for (int i = 0; i < MQ_TICK_LANES; i++)
		if (r->lanes[i].joinable) {
			pthread_join(r->lanes[i].t, NULL);
			r->lanes[i].joinable = 0;
		}
	if (rc == MQ_OK && r->lane_rc != MQ_OK) {
		*r->err = r->lane_err;
		rc = r->lane_rc;
	}
	return rc;
}

static void lanes_close(struct run *r)
{
	for (int i = 0; i < MQ_TICK_LANES; i++) {
		mq_db_close(r->lanes[i].db);
		mq_db_campaign_free(&r->lanes[i].c);
	}
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

/* The run, its locks set up. */
static int run(struct run *r)
{
	const struct mq_tick_opts *o = r->o;
	struct mq_db *db = r->db;
	struct mq_err *err = r->err;
	struct mq_db_campaign *v;
	int n, rc;

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
		if ((rc = share_init(r)) != MQ_OK)
			return rc;
		rc = loop(r);
		lanes_close(r);
		curl_share_cleanup(r->share);
		return rc;
	}
	/* a dry run does everything inside one transaction it rolls back */
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	rc = loop(r);
	if (rc == MQ_OK)
		rc = report_idle(r);
	mq_db_rollback(db);
	return rc;
}

int mq_tick_run(struct mq_db *db, const struct mq_conf *conf,
    const struct mq_tick_opts *o, struct mq_tick_stats *st,
    struct mq_err *err)
{
	struct run r;
	int rc;

	memset(&r, 0, sizeof r);
	r.db = db;
	r.conf = conf;
	r.o = o;
	r.st = st;
	r.err = err;
	memset(st, 0, sizeof *st);
	if ((rc = mq_owner_self(&r.owner, err)) != MQ_OK)
		return rc;
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.landed, NULL);
	rc = run(&r);
	pthread_cond_destroy(&r.landed);
	pthread_mutex_destroy(&r.mu);
	return rc;
}
