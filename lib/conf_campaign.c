/*
 * Campaigns (conf_load.h): the rotation of mailboxes of one sender, the
 * schedule (days, hours, holidays), pacing, what answers do, retries and
 * their backoff, and the steps with their variants. Every template is
 * checked here, so one that would fail at send time fails on loading,
 * naming the setting's line (and the file of a *_file template).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "conf_load.h"
#include "msg.h"
#include "sched.h"
#include "tmpl.h"

#define MAX_RETRY    MQ_CONF_RETRY_MAX /* retry attempts and backoff values */
/* An unsubscribe URL gets "?t=" and the lead's token (lib/deliver.c) and
 * must then still fit in a header value. */
#define MAX_UNSUB_URL (MQ_MSG_VALUE_MAX - 3 - (MQ_MSG_TOKEN_MAX - 1))

static const char *const campaign_keys[] = {
	"name", "sender", "mailboxes", "timezone", "schedule", "delay",
	"jitter", "daily_limit", "buffer", "retry", "steps",
	"unsubscribe_mailto", "unsubscribe_url", "contact_gap_days",
	"auto_reply_pause_days", "stop_on_reply", NULL
};
static const char *const schedule_keys[] = {
	"days", "start", "end", "holidays", "extra_holidays", NULL
};
static const char *const retry_keys[] = { "attempts", "backoff", NULL };
static const char *const step_keys[] = { "wait_days", "variants", NULL };
static const char *const variant_keys[] = {
	"letter", "weight", "subject", "text", "text_file", "html",
	"html_file", NULL
};
static const int default_backoff[] = { 60, 300, 900 };

/* --- schedules --------------------------------------------------------- */

/* "H:MM" or "HH:MM" to minutes; "24:00" only when allow24; -1 if bad. */
static int parse_hhmm(const char *s, int allow24)
{
	int h = 0, m, n = 0;

	while (isdigit((unsigned char)s[n]) && n < 2)
		h = h * 10 + (s[n++] - '0');
	if (n == 0 || s[n] != ':' || !isdigit((unsigned char)s[n + 1]) ||
	    !isdigit((unsigned char)s[n + 2]) || s[n + 3] != '\0')
		return -1;
	m = (s[n + 1] - '0') * 10 + (s[n + 2] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow24)))
		return -1;
	return h * 60 + m;
}

/* Appends item to the comma-separated list in buf[len]; -1 if full. */
static int join(char *buf, size_t len, size_t *used, const char *item)
{
	int n = snprintf(buf + *used, len - *used, "%s%s", *used > 0 ? "," : "",
	    item);

	if (n < 0 || (size_t)n >= len - *used)
		return -1;
	*used += (size_t)n;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* extra_holidays: real dates, stored sorted, without repeats. */
static int load_extra(struct ctx *c, const config_setting_t *g,
    struct mq_conf_campaign *k, const char *what)
{
	const config_setting_t *a;
	const char **v = NULL;
	size_t len, used = 0;
	int n, i, rc;

	if ((rc = mq_conf_get_array(c, g, "extra_holidays", what,
	    CONFIG_TYPE_STRING, &a, &n)) != MQ_OK)
		return rc;
	len = (size_t)n * 11 + 1;
	if ((k->extra_holidays = calloc(1, len)) == NULL ||
	    (n > 0 && (v = calloc(n, sizeof *v)) == NULL)) {
		rc = mq_conf_oom(c);
		goto out;
	}
	for (i = 0; i < n; i++) {
		v[i] = config_setting_get_string_elem(a, i);
		if (!mq_sched_date(v[i], NULL)) {
			rc = mq_conf_bad(c, config_setting_get_elem(a, i), what,
			    "extra_holidays: '%s' is not a date YYYY-MM-DD",
			    v[i]);
			goto out;
		}
	}
	if (n > 0)
		qsort(v, n, sizeof *v, cmp_str);
	for (i = 0; i < n && rc == MQ_OK; i++)
		if ((i == 0 || strcmp(v[i], v[i - 1]) != 0) &&
		    join(k->extra_holidays, len, &used, v[i]) < 0)
			rc = mq_conf_oom(c);
out:
	free(v);
	return rc;
}

static int load_times(struct ctx *c, const config_setting_t *g,
    struct mq_conf_campaign *k, const char *what)
{
	char *start = NULL, *end = NULL;
	int rc;

	if ((rc = mq_conf_get_str(c, g, "start", what, "09:00", &start)) !=
	    MQ_OK ||
	    (rc = mq_conf_get_str(c, g, "end", what, "17:00", &end)) != MQ_OK)
		goto out;
	if ((k->start_min = parse_hhmm(start, 0)) < 0) {
		rc = mq_conf_bad(c, mq_conf_member(g, "start"), what,
		    "start '%s' is not a time HH:MM from 00:00 to 23:59",
		    start);
		goto out;
	}
	if ((k->end_min = parse_hhmm(end, 1)) < 0) {
		rc = mq_conf_bad(c, mq_conf_member(g, "end"), what,
		    "end '%s' is not a time HH:MM from 00:01 to 24:00", end);
		goto out;
	}
	if (k->end_min <= k->start_min)
		rc = mq_conf_bad(c, mq_conf_member(g, "end") ?
		    mq_conf_member(g, "end") : g, what,
		    "end %s must be after start %s", end, start);
out:
	free(start);
	free(end);
	return rc;
}

/* schedule { days; start; end; holidays; extra_holidays; }, all optional;
 * g is the campaign, for the line of a missing schedule. */
static int load_schedule(struct ctx *c, const config_setting_t *camp,
    struct mq_conf_campaign *k, const char *cwhat)
{
	const config_setting_t *g;
	char what[WHAT], *days = NULL;
	int rc;

	mq_conf_whatf(what, sizeof what, "%s schedule", cwhat);
	if ((rc = mq_conf_get_group(c, camp, "schedule", cwhat, schedule_keys,
	    &g)) != MQ_OK ||
	    (rc = mq_conf_get_str(c, g, "days", what, "MON-FRI", &days)) !=
	    MQ_OK)
		goto out;
	if ((k->days = mq_sched_days_parse(days)) <= 0) {
		rc = mq_conf_bad(c, mq_conf_member(g, "days"), what,
		    "days '%s' is not like \"MON-FRI\" or \"MON,WED,FRI\"",
		    days);
		goto out;
	}
	if ((rc = load_times(c, g, k, what)) != MQ_OK ||
	    (rc = mq_conf_get_str(c, g, "holidays", what, "",
	    &k->holidays)) != MQ_OK)
		goto out;
	if (!mq_sched_calendar_valid(k->holidays)) {
		rc = mq_conf_bad(c, mq_conf_member(g, "holidays"), what,
		    "holidays '%s' is not a known calendar (use \"PL\" or "
		    "\"\")", k->holidays);
		goto out;
	}
	rc = load_extra(c, g, k, what);
out:
	free(days);
	return rc;
}

/* --- campaigns --------------------------------------------------------- */

/* retry { attempts; backoff; }: the backoff is stored with one value per
 * retry, the last given value repeated, so readers need no rule. */
static int load_retry(struct ctx *c, const config_setting_t *camp,
    struct mq_conf_campaign *k, const char *cwhat)
{
	const config_setting_t *g, *a;
	char what[WHAT], num[24];
	long long vals[MAX_RETRY];
	size_t len, used = 0;
	int n, i, rc;

	mq_conf_whatf(what, sizeof what, "%s retry", cwhat);
	if ((rc = mq_conf_get_group(c, camp, "retry", cwhat, retry_keys, &g)) !=
	    MQ_OK ||
	    (rc = mq_conf_get_int(c, g, "attempts", what, 3, 1, MAX_RETRY,
	    &k->retry_attempts)) != MQ_OK ||
	    (rc = mq_conf_get_array(c, g, "backoff", what, CONFIG_TYPE_INT, &a,
	    &n)) != MQ_OK)
		return rc;
	if (a == NULL)
		for (n = 0; n < 3; n++)
			vals[n] = default_backoff[n];
	if (n < 1 || n > MAX_RETRY)
		return mq_conf_bad(c, a, what, "backoff needs 1 to %d values",
		    MAX_RETRY);
	for (i = 0; a != NULL && i < n; i++) {
		vals[i] = config_setting_get_int64_elem(a, i);
		if (vals[i] < 1 || vals[i] > 604800)
			return mq_conf_bad(c, config_setting_get_elem(a, i),
			    what, "backoff values must be 1 to 604800 seconds");
	}
	len = (size_t)k->retry_attempts * 8 + 1;
	if ((k->retry_backoff = calloc(1, len)) == NULL)
		return mq_conf_oom(c);
	for (i = 0; i < k->retry_attempts; i++) {
		snprintf(num, sizeof num, "%lld", vals[i < n ? i : n - 1]);
		if (join(k->retry_backoff, len, &used, num) < 0)
			return mq_conf_oom(c);
	}
	return MQ_OK;
}

/* mailboxes = [ ... ]: known, of the campaign's sender, each once. */
static int load_rotation(struct ctx *c, const config_setting_t *g,
    struct mq_conf_campaign *k, const char *what)
{
	const struct mq_conf_mailbox *m;
	const config_setting_t *a, *e;
	const char *name;
	int n, i, j, rc;

	if ((rc = mq_conf_get_array(c, g, "mailboxes", what, CONFIG_TYPE_STRING,
	    &a, &n)) != MQ_OK)
		return rc;
	if (n == 0)
		return mq_conf_bad(c, a != NULL ? a : g, what, "mailboxes "
		    "needs at least one mailbox");
	if ((k->mailboxes = calloc(n, sizeof *k->mailboxes)) == NULL)
		return mq_conf_oom(c);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(a, i);
		name = config_setting_get_string(e);
		if ((m = mq_conf_mailbox(c->conf, name)) == NULL)
			return mq_conf_bad(c, e, what, "unknown mailbox '%s'",
			    name);
		if (strcmp(m->sender, k->sender) != 0)
			return mq_conf_bad(c, e, what, "mailbox '%s' belongs "
			    "to sender '%s', not '%s'", name, m->sender,
			    k->sender);
		for (j = 0; j < i; j++)
			if (strcmp(k->mailboxes[j], name) == 0)
				return mq_conf_bad(c, e, what, "mailbox '%s' "
				    "is listed twice", name);
		if ((k->mailboxes[i] = strdup(name)) == NULL)
			return mq_conf_oom(c);
		k->n_mailboxes = i + 1;
	}
	return MQ_OK;
}

/* A template that would fail at send time fails here, naming where it
 * is: the setting's line, and the file's name for a *_file template. */
static int check_tmpl(struct ctx *c, const config_setting_t *s,
    const char *what, const char *key, const char *file, const char *tmpl)
{
	struct mq_err e;

	if (mq_tmpl_check(tmpl, &e) == MQ_OK)
		return MQ_OK;
	if (file != NULL)
		return mq_conf_bad(c, s, what, "%s %s: %s", key, file, e.msg);
	return mq_conf_bad(c, s, what, "%s: %s", key, e.msg);
}

/* text = "..." or text_file = "...": one of them (or none if optional). */
static int load_body(struct ctx *c, const config_setting_t *g,
    const char *key, const char *filekey, int required, const char *what,
    char **out)
{
	const config_setting_t *s = mq_conf_member(g, key);
	const config_setting_t *f = mq_conf_member(g, filekey);
	char *file = NULL;
	int rc;

	*out = NULL;
	if (s != NULL && f != NULL)
		return mq_conf_bad(c, f, what, "%s and %s: use one, not both",
		    key, filekey);
	if (s != NULL) {
		if ((rc = mq_conf_get_str(c, g, key, what, NULL, out)) ==
		    MQ_OK && **out == '\0')
			rc = mq_conf_bad(c, s, what, "%s is empty", key);
		if (rc == MQ_OK)
			rc = check_tmpl(c, s, what, key, NULL, *out);
		return rc;
	}
	if (f == NULL)
		return required ? mq_conf_bad(c, g, what, "needs %s or %s", key,
		    filekey) : MQ_OK;
	if ((rc = mq_conf_get_str(c, g, filekey, what, NULL, &file)) == MQ_OK)
		rc = mq_conf_read_template(c, f, what, file, out);
	if (rc == MQ_OK)
		rc = check_tmpl(c, f, what, filekey, file, *out);
	free(file);
	return rc;
}

static int load_variant(struct ctx *c, const config_setting_t *g,
    struct mq_conf_step *st, int step, int i, const char *swhat)
{
	struct mq_conf_variant *v = &st->variants[i];
	char what[WHAT], def[2] = { (char)('A' + i), '\0' };
	int j, rc;

	v->line = config_setting_source_line(g);
	mq_conf_whatf(what, sizeof what, "%s variant #%d", swhat, i + 1);
	if ((rc = mq_conf_get_str(c, g, "letter", what, i < 26 ? def : NULL,
	    &v->letter)) != MQ_OK)
		return rc;
	if (v->letter == NULL || strlen(v->letter) != 1 ||
	    v->letter[0] < 'A' || v->letter[0] > 'Z')
		return mq_conf_bad(c, mq_conf_member(g, "letter") ?
		    mq_conf_member(g, "letter") : g, what, "letter must be one "
		    "capital letter A to Z");
	mq_conf_whatf(what, sizeof what, "%s variant %s", swhat, v->letter);
	if ((rc = mq_conf_check_keys(c, g, variant_keys, what)) != MQ_OK)
		return rc;
	for (j = 0; j < i; j++)
		if (strcmp(st->variants[j].letter, v->letter) == 0)
			return mq_conf_bad(c, mq_conf_member(g, "letter") ?
			    mq_conf_member(g, "letter") : g, what, "letter %s "
			    "is used twice in this step (line %d)", v->letter,
			    st->variants[j].line);
	if ((rc = mq_conf_get_int(c, g, "weight", what, 1, 1, 1000000,
	    &v->weight)) != MQ_OK)
		return rc;
	/* a follow-up without a subject replies to the previous one */
	if ((rc = step > 0 ? mq_conf_get_str(c, g, "subject", what, "",
	    &v->subject) :
	    mq_conf_need_str(c, g, "subject", what, &v->subject)) != MQ_OK)
		return rc;
	if ((step == 0 && v->subject[0] == '\0') ||
	    mq_conf_has_control(v->subject))
		return mq_conf_bad(c, mq_conf_member(g, "subject") ?
		    mq_conf_member(g, "subject") : g, what, "subject must be "
		    "non-empty, without line breaks or control characters");
	if ((rc = check_tmpl(c, mq_conf_member(g, "subject") ?
	    mq_conf_member(g, "subject") : g, what, "subject", NULL,
	    v->subject)) != MQ_OK)
		return rc;
	if ((rc = load_body(c, g, "text", "text_file", 1, what,
	    &v->text)) != MQ_OK)
		return rc;
	return load_body(c, g, "html", "html_file", 0, what, &v->html);
}

static int load_step(struct ctx *c, const config_setting_t *g,
    struct mq_conf_step *st, int i, const char *cwhat)
{
	const config_setting_t *l;
	char what[WHAT];
	int n, j, rc;

	st->line = config_setting_source_line(g);
	mq_conf_whatf(what, sizeof what, "%s step %d", cwhat, i);
	if ((rc = mq_conf_check_keys(c, g, step_keys, what)) != MQ_OK)
		return rc;
	if (i == 0 && mq_conf_member(g, "wait_days") != NULL &&
	    (!mq_conf_is_int(mq_conf_member(g, "wait_days")) ||
	    config_setting_get_int64(mq_conf_member(g, "wait_days")) != 0))
		return mq_conf_bad(c, mq_conf_member(g, "wait_days"), what,
		    "step 0 is the first email: wait_days must be absent or 0");
	if (i > 0 && (rc = mq_conf_get_int(c, g, "wait_days", what, 3, 1, 3650,
	    &st->wait_days)) != MQ_OK)
		return rc;
	if ((rc = mq_conf_get_list(c, g, "variants", what, 1, &l, &n)) != MQ_OK)
		return rc;
	if ((st->variants = calloc(n, sizeof *st->variants)) == NULL)
		return mq_conf_oom(c);
	st->n_variants = n;
	for (j = 0; j < n; j++)
		if ((rc = load_variant(c, config_setting_get_elem(l, j), st, i,
		    j, what)) != MQ_OK)
			return rc;
	return MQ_OK;
}

static int load_steps(struct ctx *c, const config_setting_t *g,
    struct mq_conf_campaign *k, const char *what)
{
	const config_setting_t *l;
	int n, i, rc;

	if ((rc = mq_conf_get_list(c, g, "steps", what, 1, &l, &n)) != MQ_OK)
		return rc;
	if ((k->steps = calloc(n, sizeof *k->steps)) == NULL)
		return mq_conf_oom(c);
	k->n_steps = n;
	for (i = 0; i < n; i++)
		if ((rc = load_step(c, config_setting_get_elem(l, i),
		    &k->steps[i], i, what)) != MQ_OK)
			return rc;
	return MQ_OK;
}

/* unsubscribe_url: an https base to which "?t=TOKEN" is added; printable
 * ASCII without spaces, quotes, angle brackets or a fragment, short
 * enough for the token. */
static int load_unsub_url(struct ctx *c, const config_setting_t *g,
    const char *what, char **out)
{
	const char *p;
	int rc;

	if ((rc = mq_conf_get_str(c, g, "unsubscribe_url", what, NULL, out)) !=
	    MQ_OK || *out == NULL)
		return rc;
	for (p = *out; *p > ' ' && *p < 127 && strchr("\"<>#\\", *p) ==
	    NULL; p++)
		;
	if (strncmp(*out, "https://", 8) != 0 || (*out)[8] == '\0' ||
	    (*out)[8] == '/' || *p != '\0')
		return mq_conf_bad(c, mq_conf_member(g, "unsubscribe_url"),
		    what, "unsubscribe_url must be an https:// URL (printable, "
		    "no spaces, quotes, <, > or #)");
	if (strlen(*out) > MAX_UNSUB_URL)
		return mq_conf_bad(c, mq_conf_member(g, "unsubscribe_url"),
		    what, "unsubscribe_url is longer than %d characters",
		    MAX_UNSUB_URL);
	return MQ_OK;
}

/* What answers do to the campaign's leads (mailq-fetch). */
static int load_answers(struct ctx *c, const config_setting_t *g,
    struct mq_conf_campaign *k, const char *what)
{
	char *stop = NULL;
	int rc;

	if ((rc = mq_conf_get_int(c, g, "auto_reply_pause_days", what, 7, 0,
	    365, &k->auto_reply_pause_days)) != MQ_OK ||
	    (rc = mq_conf_get_str(c, g, "stop_on_reply", what, "lead",
	    &stop)) != MQ_OK)
		return rc;
	k->stop_on_domain = strcmp(stop, "domain") == 0;
	if (!k->stop_on_domain && strcmp(stop, "lead") != 0)
		rc = mq_conf_bad(c, mq_conf_member(g, "stop_on_reply"), what,
		    "stop_on_reply must be \"lead\" or \"domain\"");
	free(stop);
	return rc;
}

static int load_pacing(struct ctx *c, const config_setting_t *g,
    struct mq_conf_campaign *k, const char *what)
{
	int rc;

	if ((rc = mq_conf_get_int(c, g, "delay", what, 90, 0, 86400,
	    &k->delay)) != MQ_OK ||
	    (rc = mq_conf_get_int(c, g, "jitter", what, 20, 0, 100,
	    &k->jitter)) != MQ_OK ||
	    (rc = mq_conf_get_int(c, g, "daily_limit", what, 500, 0, MAX_LIMIT,
	    &k->daily_limit)) != MQ_OK)
		return rc;
	if ((rc = mq_conf_get_int(c, g, "contact_gap_days", what, 0, 0, 3650,
	    &k->contact_gap_days)) != MQ_OK ||
	    (rc = mq_conf_load_mailto(c, g, what, &k->unsubscribe_mailto)) !=
	    MQ_OK ||
	    (rc = load_unsub_url(c, g, what, &k->unsubscribe_url)) != MQ_OK ||
	    (rc = load_answers(c, g, k, what)) != MQ_OK)
		return rc;
	return mq_conf_get_int(c, g, "buffer", what, 20, 1, 10000, &k->buffer);
}

int mq_conf_load_campaign(struct ctx *c, const config_setting_t *g, int i)
{
	struct mq_conf_campaign *k = &c->conf->campaigns[i];
	char what[WHAT];
	int j, rc;

	mq_conf_label(g, "campaign", i, what, sizeof what);
	k->line = config_setting_source_line(g);
	if ((rc = mq_conf_check_keys(c, g, campaign_keys, what)) != MQ_OK ||
	    (rc = mq_conf_load_name(c, g, what, &k->name)) != MQ_OK)
		return rc;
	for (j = 0; j < i; j++)
		if (strcmp(c->conf->campaigns[j].name, k->name) == 0)
			return mq_conf_dup_name(c, g, "campaign", k->name,
			    c->conf->campaigns[j].line);
	if ((rc = mq_conf_need_str(c, g, "sender", what, &k->sender)) != MQ_OK)
		return rc;
	if (mq_conf_sender(c->conf, k->sender) == NULL)
		return mq_conf_bad(c, mq_conf_member(g, "sender"), what,
		    "unknown sender '%s'", k->sender);
	if ((rc = load_rotation(c, g, k, what)) != MQ_OK ||
	    (rc = mq_conf_get_str(c, g, "timezone", what, c->conf->timezone,
	    &k->timezone)) != MQ_OK)
		return rc;
	if (!mq_sched_tz_valid(k->timezone))
		return mq_conf_bad(c, mq_conf_member(g, "timezone") ?
		    mq_conf_member(g, "timezone") : g, what, "unknown time "
		    "zone '%s'", k->timezone);
	if ((rc = load_schedule(c, g, k, what)) != MQ_OK ||
	    (rc = load_pacing(c, g, k, what)) != MQ_OK ||
	    (rc = load_retry(c, g, k, what)) != MQ_OK)
		return rc;
	return load_steps(c, g, k, what);
}
