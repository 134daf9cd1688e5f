/* The classes' names: see class.h. */
#include <stddef.h>
#include <string.h>

#include "class.h"

static const char *const class_names[MQ_CLASS_COUNT] = {
	"own", "hard_bounce", "soft_bounce", "auto_reply", "unsubscribe",
	"reply", "unmatched"
};

const char *mq_class_name(enum mq_class c)
{
	return (unsigned)c < MQ_CLASS_COUNT ? class_names[c] : "unmatched";
}

int mq_class_from_name(const char *name)
{
	for (int i = 0; name != NULL && i < MQ_CLASS_COUNT; i++)
		if (strcmp(name, class_names[i]) == 0)
			return i;
	return -1;
}
