/*
 * The IMAP source of inbox.h, over libcurl. libcurl connects, does TLS
 * (implicit or STARTTLS), checks the certificate and logs in; then,
 * because libcurl hands a custom command's literals to nobody (only the
 * line announcing "{n}" reaches its write callback, and a message line
 * starting with the command's tag would end the command early), mailq
 * speaks the commands itself over the same connection with curl_easy_send
 * and curl_easy_recv and reads the responses with imap_wire.h. Only
 * EXAMINE, UID FETCH with BODY.PEEK and UID SEARCH are ever sent.
 */
#ifndef MQ_IMAP_H
#define MQ_IMAP_H

#include "inbox_source.h"

/* Static; its handles are freed by its close. */
extern const struct mq_inbox_source mq_imap_source;

#endif
