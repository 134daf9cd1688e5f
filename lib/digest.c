/* SHA-256 from GLib, which GMime brings along: see digest.h. */
#include <stdio.h>

#include <glib.h>

#include "digest.h"

void mq_digest(const char *p, size_t len, char out[MQ_DIGEST_LEN])
{
	gchar *hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
	    (const guchar *)p, len);

	snprintf(out, MQ_DIGEST_LEN, "%s", hex != NULL ? hex : "");
	g_free(hex);
}
