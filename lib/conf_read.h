/*
 * How the config loader reads any object of the file: private to it
 * (lib/conf.c, conf_mailbox.c, conf_campaign.c), not part of the library.
 * The loading context, "FILE:LINE: what: problem" errors, typed getters
 * that check a value's type and range, the text rules a value must meet,
 * and files named by the config (templates, passwords) read relative to
 * it. Every int function returns MQ_OK or MQ_PERM with ctx's err set,
 * EX_CONFIG unless it says otherwise; strings handed back in *out are the
 * caller's to free.
 */
#ifndef MQ_CONF_READ_H
#define MQ_CONF_READ_H

#include <stddef.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "conf.h"

#define MAX_LIMIT    1000000           /* any daily limit */
#define WHAT         160               /* "campaign 'x' step 2 variant B" */

/* One mq_conf_load: the file, its directory and what is read so far. */
struct ctx {
	const char     *path;           /* the config file as given */
	char           *dir;            /* its directory and '/', or "" */
	struct mq_conf *conf;
	struct mq_err  *err;
};

/* MQ_PERM, EX_OSERR: "FILE: out of memory". */
int mq_conf_oom(struct ctx *c);

/* The file setting s was read from (an @include), else the config's. */
const char *mq_conf_src(const struct ctx *c, const config_setting_t *s);

/* MQ_PERM, EX_CONFIG: "FILE:LINE: what: message"; what may be "". */
int mq_conf_bad(struct ctx *c, const config_setting_t *s, const char *what,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Formats an object's name for messages into buf, cut short if long. */
void mq_conf_whatf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Nonzero if s[0..n) is UTF-8 without NUL; else *at is the bad byte. */
int mq_conf_utf8_valid(const char *s, size_t n, size_t *at);

/* Nonzero if s holds a control character (one that could end a header). */
int mq_conf_has_control(const char *s);

/* Nonzero if s is 1 to 64 of [A-Za-z0-9._-], starting alphanumeric. */
int mq_conf_name_valid(const char *s);

/* p relative to the config's directory (malloc'd), or NULL: no memory. */
char *mq_conf_resolve(const struct ctx *c, const char *p);

/* MQ_OK if file (status st) is the user's alone, else EX_NOPERM. */
int mq_conf_secret_ok(struct ctx *c, const char *file, const struct stat *st);

/* Template file name, relative to the config: its UTF-8 text in *out. */
int mq_conf_read_template(struct ctx *c, const config_setting_t *s,
    const char *what, const char *name, char **out);

/* Password file name's first line in *out, its status in *stp;
 * EX_NOPERM when others may read it. */
int mq_conf_read_secret(struct ctx *c, const config_setting_t *s,
    const char *what, const char *name, char **out, struct stat *stp);

/* g's setting key, or NULL (also when g is NULL). Points into g. */
config_setting_t *mq_conf_member(const config_setting_t *g, const char *key);

/* An error for the first key of g that is not in keys (NULL-ended). */
int mq_conf_check_keys(struct ctx *c, const config_setting_t *g,
    const char *const *keys, const char *what);

/* A copy of string key in *out, of def when absent (NULL: *out NULL). */
int mq_conf_get_str(struct ctx *c, const config_setting_t *g, const char *key,
    const char *what, const char *def, char **out);

/* mq_conf_get_str of a key that must be there. */
int mq_conf_need_str(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, char **out);

/* Nonzero if s is an integer setting (32 or 64 bits). */
int mq_conf_is_int(const config_setting_t *s);

/* Integer key in *out, def when absent, min..max. */
int mq_conf_get_int(struct ctx *c, const config_setting_t *g, const char *key,
    const char *what, int def, int min, int max, int *out);

/* Boolean key in *out (0 or 1), def when absent. */
int mq_conf_get_bool(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, int def, int *out);

/* Optional group key with its keys checked; *out NULL when absent. */
int mq_conf_get_group(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, const char *const *keys,
    const config_setting_t **out);

/* List key of at least min groups in *out, *n of them; 0 when absent. */
int mq_conf_get_list(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, int min,
    const config_setting_t **out, int *n);

/* Array or list key of scalars of type (CONFIG_TYPE_STRING or _INT). */
int mq_conf_get_array(struct ctx *c, const config_setting_t *g,
    const char *key, const char *what, int type,
    const config_setting_t **out, int *n);

/* "kind 'name'" into what when g has a string name, else "kind #i+1". */
void mq_conf_label(const config_setting_t *g, const char *kind, int i,
    char *what, size_t len);

/* g's required name, checked by mq_conf_name_valid, in *out. */
int mq_conf_load_name(struct ctx *c, const config_setting_t *g,
    const char *what, char **out);

/* "duplicate kind 'name' (first defined at line N)" at g. */
int mq_conf_dup_name(struct ctx *c, const config_setting_t *g,
    const char *kind, const char *name, int line);

#endif
