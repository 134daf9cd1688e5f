/*
 * Three outcomes, not two. Every library call that can fail returns
 * MQ_OK, MQ_TEMP (try again later: busy, timeouts, 4xx) or MQ_PERM (will not
 * work as it stands: bad input, 5xx), and fills a struct mq_err that the
 * caller owns with a message and the sysexits(3) code a program should exit
 * with. The library never prints and never exits.
 */
#ifndef MQ_ERR_H
#define MQ_ERR_H

enum { MQ_OK = 0, MQ_TEMP = 1, MQ_PERM = 2 };

struct mq_err {
	int  ex;          /* sysexits code: EX_DATAERR, EX_CONFIG, ... */
	char msg[1024];
};

/* Sets err (if not NULL) and returns MQ_PERM with exit code ex. */
int mq_err_perm(struct mq_err *err, int ex, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sets err (if not NULL) and returns MQ_TEMP with exit code EX_TEMPFAIL. */
int mq_err_temp(struct mq_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Puts "prefix: " before the message already in err. */
void mq_err_prefix(struct mq_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Clears err to "no error". */
void mq_err_clear(struct mq_err *err);

/* The one mapping from a result to an exit status: 0 for MQ_OK,
 * EX_TEMPFAIL for MQ_TEMP, err->ex (EX_SOFTWARE if unset) for MQ_PERM. */
int mq_err_exit(int rc, const struct mq_err *err);

#endif
