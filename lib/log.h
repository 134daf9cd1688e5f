/*
 * Structured log lines, key=value, to stderr or syslog. The one place in
 * the library that writes anything; the program decides where and how much.
 * Quiet when well: the default level is MQ_LOG_WARN.
 */
#ifndef MQ_LOG_H
#define MQ_LOG_H

enum { MQ_LOG_ERR, MQ_LOG_WARN, MQ_LOG_INFO, MQ_LOG_DEBUG };

/* Sets the program name (not copied: must outlive the process), the level
 * and whether lines go to syslog instead of stderr. */
void mq_log_init(const char *prog, int level, int use_syslog);

/* Returns nonzero when lines at level are written. */
int mq_log_enabled(int level);

/* Writes "prog: " and the formatted line: a sentence for errors and
 * warnings ("campaign q4: mailbox anna-1: 535 ..."), key=value pairs for
 * info and debug. */
void mq_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
