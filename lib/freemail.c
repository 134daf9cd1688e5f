/* Free-mail domains: see freemail.h. Sorted, for the man page's sake. */
#include <stddef.h>
#include <strings.h>

#include "freemail.h"

static const char *const domains[] = {
	"aol.com", "buziaczek.pl", "gazeta.pl", "gmail.com", "gmx.at",
	"gmx.com", "gmx.de", "gmx.net", "go2.pl", "googlemail.com",
	"hotmail.com", "icloud.com", "interia.eu", "interia.pl", "mail.com",
	"me.com", "o2.pl", "onet.eu", "onet.pl", "op.pl", "outlook.com",
	"poczta.fm", "poczta.onet.pl", "proton.me", "protonmail.com",
	"t-online.de", "tlen.pl", "vp.pl", "web.de", "wp.pl", "yahoo.com",
	"yandex.com", NULL
};

int mq_freemail(const char *domain)
{
	for (int i = 0; domains[i] != NULL; i++)
		if (strcasecmp(domains[i], domain) == 0)
			return 1;
	return 0;
}

const char *const *mq_freemail_list(void)
{
	return domains;
}
