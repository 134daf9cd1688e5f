/*
 * Addresses: see addrlist.h. Whose mail a message is (our own, a mail
 * system's) and where it was sent (one of our unsubscribe addresses)
 * are both questions of an address in a list; they are answered here
 * the one way.
 */
#include <string.h>

#include "addrlist.h"

const char *mq_addrlist_first(InternetAddressList *l)
{
	InternetAddress *ia;

	if (l == NULL || internet_address_list_length(l) == 0)
		return NULL;
	ia = internet_address_list_get_address(l, 0);
	if (INTERNET_ADDRESS_IS_GROUP(ia))
		return mq_addrlist_first(internet_address_group_get_members(
		    INTERNET_ADDRESS_GROUP(ia)));
	return INTERNET_ADDRESS_IS_MAILBOX(ia) ?
	    internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)) :
	    NULL;
}

int mq_addrlist_has(const char *addr, const char *const *list, int n)
{
	for (int i = 0; addr != NULL && list != NULL && i < n; i++)
		if (list[i] != NULL && g_ascii_strcasecmp(addr, list[i]) == 0)
			return 1;
	return 0;
}

static const char *hit(InternetAddressList *l, const char *const *our,
    int n, int depth)
{
	const char *found = NULL;

	for (int i = 0; l != NULL && found == NULL &&
	    i < internet_address_list_length(l) && i < 100; i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);

		if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 2)
			found = hit(internet_address_group_get_members(
			    INTERNET_ADDRESS_GROUP(ia)), our, n, depth + 1);
		else if (INTERNET_ADDRESS_IS_MAILBOX(ia) && mq_addrlist_has(
		    internet_address_mailbox_get_addr(
		    INTERNET_ADDRESS_MAILBOX(ia)), our, n))
			found = internet_address_mailbox_get_addr(
			    INTERNET_ADDRESS_MAILBOX(ia));
	}
	return found;
}

const char *mq_addrlist_hit(InternetAddressList *l, const char *const *our,
    int n)
{
	return hit(l, our, n, 0);
}

int mq_addrlist_system(const char *addr)
{
	static const char *const names[] = { "mailer-daemon@", "postmaster@",
	    "mail-daemon@", "mailerdaemon@" };

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		if (strncmp(addr, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}
