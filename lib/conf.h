/*
 * The configuration file (libconfig syntax, see mailq.conf(5)) turned into
 * validated structs. Every error names the file and line. Template files
 * are read here, relative to the config file, so the rest of mailq sees
 * text. A config holding a password (inline or via password_file) must be
 * owned by the user and not readable by group or others, or it is refused.
 *
 * These structs are what the file says, for mailq-init to write into the
 * store (db_config.h) and for settings the store does not keep (a
 * mailbox's server and secrets; a campaign's unsubscribe addresses). A
 * campaign as the programs work with it is the store's model, struct
 * mq_db_campaign (db_campaign.h), read back from those rows.
 */
#ifndef MQ_CONF_H
#define MQ_CONF_H

#include "err.h"

/* Retries a campaign may make at most (retry.attempts), and so backoff
 * values. */
#define MQ_CONF_RETRY_MAX 100

enum mq_tls { MQ_TLS_NONE, MQ_TLS_STARTTLS, MQ_TLS_IMPLICIT };

enum mq_auth { MQ_AUTH_PASSWORD, MQ_AUTH_OAUTH2 };

/* How a mailbox gets OAuth2 access tokens (auth = "oauth2"). A provider
 * fills in its endpoints and scope; "custom" names them. */
struct mq_conf_oauth2 {
	char *provider;             /* "google", "microsoft" or "custom" */
	char *client_id;
	char *client_secret;        /* NULL for a public client; never
	                               stored or logged */
	char *token_url;            /* https:// */
	char *device_url;           /* device authorization, or NULL */
	char *authorize_url;        /* authorization code + PKCE, or NULL */
	char *scope;                /* space-separated */
	char *ca_file;              /* for the endpoints, or NULL: system */
};

/* In every object, line is where its group's "{" is, for messages. */
struct mq_conf_sender {
	char *name;
	int   daily_limit;          /* default 100 */
	int   line;
};

struct mq_conf_mailbox {
	char       *name;
	char       *address;        /* checked address syntax */
	char       *display_name;   /* "" when not set */
	char       *sender;         /* name of a sender in the same config */
	int         daily_limit;    /* default 50 */
	int         enabled;        /* default 1 */
	char       *smtp;           /* smtp://host:port, smtps://host:port or
	                               file:///path (an mbox, for rehearsals) */
	enum mq_tls tls;            /* default: implicit for smtps, else starttls */
	int         verify;         /* certificate verification, default 1 */
	int         connect_timeout;/* seconds, default 15 */
	int         timeout;        /* seconds for a whole send, default 40 */
	char       *ca_file;        /* extra CA bundle, NULL = system store */
	enum mq_auth auth;          /* default password */
	struct mq_conf_oauth2 oauth2; /* auth = oauth2 */
	char       *username;       /* NULL: no AUTH */
	char       *password;       /* inline or read from password_file; never
	                               written to the database or a log */
	char       *unsubscribe_mailto; /* List-Unsubscribe address or NULL */
	int         max_connections;/* SMTP sessions at once, all runs; default 2 */
	int         max_per_minute; /* messages started a minute; 0: no cap */
	char        fingerprint[17];/* what it logs in with (no secret): a
	                               change ends a failing mailbox's rest */
	/* reading what comes back (mailq-fetch); inbox NULL: not read */
	char       *inbox;          /* imap://, imaps://host[:port] or
	                               maildir:///path */
	char       *inbox_username; /* default username */
	char       *inbox_password; /* default password; never stored */
	char      **inbox_folders;  /* default { "INBOX" } when inbox is set */
	int         n_inbox_folders;
	char       *inbox_sent_folder; /* where the provider files what was
	                               sent, or NULL */
	int         inbox_max_size; /* bytes; bigger messages are read
	                               headers-only; default 10 MiB */
	int         bounce_rate;    /* percent of hard bounces in the last
	                               bounce_window sends that pauses the
	                               mailbox; default 5, 0: never */
	int         bounce_window;  /* default 100 */
	int         line;
};

struct mq_conf_variant {
	char *letter;               /* "A", "B", ...; default by position */
	int   weight;               /* default 1 */
	char *subject;              /* template text; "" in a follow-up that
	                               has none: "Re: " + the previous one */
	char *text;                 /* template text: `text` or `text_file` */
	char *html;                 /* template text or NULL: `html`/`html_file` */
	int   line;
};

struct mq_conf_step {
	int                     wait_days;   /* step 0: 0 */
	struct mq_conf_variant *variants;
	int                     n_variants;
	int                     line;
};

struct mq_conf_campaign {
	char                *name;
	char                *sender;
	char               **mailboxes;      /* names, in rotation order */
	int                  n_mailboxes;
	char                *timezone;       /* IANA name; default: top level */
	int                  days;           /* bit 0 = Monday ... bit 6 = Sunday */
	int                  start_min;      /* minutes after local midnight */
	int                  end_min;        /* > start_min, at most 1440 */
	char                *holidays;       /* "" or a built-in calendar: "PL" */
	char                *extra_holidays; /* "YYYY-MM-DD,..." sorted, or "" */
	int                  delay;          /* seconds between messages */
	int                  jitter;         /* percent, 0..100 */
	int                  daily_limit;    /* default 500 */
	int                  buffer;         /* planned items, default 20 */
	int                  retry_attempts; /* retries after the first try, >= 1 */
	char                *retry_backoff;  /* "60,300,900": seconds before each
	                                        retry, exactly retry_attempts
	                                        values (the config's last value
	                                        repeated when it gives fewer) */
	char                *unsubscribe_mailto; /* NULL: the mailbox's */
	char                *unsubscribe_url;    /* https base or NULL */
	int                  contact_gap_days;   /* 0: off */
	int                  auto_reply_pause_days; /* default 7 */
	int                  stop_on_domain;  /* stop_on_reply = "domain": a
	                                         reply stops the company */
	struct mq_conf_step *steps;
	int                  n_steps;
	int                  line;
};

struct mq_conf {
	char                    *path;       /* as given */
	char                    *database;   /* resolved against the file's dir */
	char                    *timezone;   /* default "Europe/Warsaw" */
	char                    *tokens;     /* OAuth2 token file; default
	                                        mailq.tokens beside the
	                                        database */
	int                      soft_bounce_limit; /* soft bounces of one
	                                               address that count as
	                                               a hard one; default 3 */
	struct mq_conf_sender   *senders;
	int                      n_senders;
	struct mq_conf_mailbox  *mailboxes;
	int                      n_mailboxes;
	struct mq_conf_campaign *campaigns;
	int                      n_campaigns;
};

/* The path to use when -c is not given: $MAILQ_CONFIG, else ./mailq.conf
 * if it exists, else /etc/mailq.conf. Static storage or the environment. */
const char *mq_conf_default_path(void);

/* Reads and validates path into *conf (caller frees with mq_conf_free).
 * MQ_PERM with EX_NOINPUT (missing file), EX_CONFIG (syntax, unknown key,
 * bad value: "FILE:LINE: ..."), or EX_NOPERM (secrets readable by others). */
int mq_conf_load(struct mq_conf **conf, const char *path, struct mq_err *err);

/* Frees everything; NULL is fine. */
void mq_conf_free(struct mq_conf *conf);

/* Lookups by name; NULL when absent. The result points into conf. */
const struct mq_conf_sender *mq_conf_sender(const struct mq_conf *conf,
    const char *name);
const struct mq_conf_campaign *mq_conf_campaign(const struct mq_conf *conf,
    const char *name);
const struct mq_conf_mailbox *mq_conf_mailbox(const struct mq_conf *conf,
    const char *name);

#endif
