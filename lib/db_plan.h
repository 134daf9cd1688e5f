/*
 * Planning: the campaign's buffer of first messages, refilled from its
 * queued leads with each lead's variant chosen once; the campaign
 * completes when nothing is left. Used by the tick before it claims.
 */
#ifndef MQ_DB_PLAN_H
#define MQ_DB_PLAN_H

#include <time.h>

#include "db.h"
#include "err.h"

/* Keeps up to buffer first-step items pending, refilling it once it is
 * half empty: queued leads get their variant (chosen once, weighted,
 * stable for a lead) and a queue item due from now; suppressed leads are
 * skipped and their items cancelled. Marks the campaign completed when
 * nothing is left. *planned gets the number of new items, *completed
 * whether it ended. One transaction, none while the buffer is over half
 * full. */
int mq_db_plan(struct mq_db *db, sqlite3_int64 campaign, time_t now,
    int *planned, int *completed, struct mq_err *err);

/* The index of the variant (0 .. n-1) a lead gets among n variants of the
 * given weights: deterministic in (campaign, lead), each variant's share
 * of many leads near its weight's share. */
int mq_db_pick_variant(const int *weight, int n, sqlite3_int64 campaign,
    sqlite3_int64 lead);

#endif
