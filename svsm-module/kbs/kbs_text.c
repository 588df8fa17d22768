/*
 * Printable copies of untrusted strings for log lines.
 */
#include "kbs/kbs_text.h"

const char *kbs_printable(const char *s, size_t len,
			  char buf[KBS_PRINTABLE_MAX])
{
	size_t keep = len, i;

	if (keep > KBS_PRINTABLE_MAX - 1)
		keep = KBS_PRINTABLE_MAX - 4;
	for (i = 0; i < keep; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (c >= 0x20 && c <= 0x7E) ? (char)c : '?';
	}
	if (keep < len) {
		buf[i++] = '.';
		buf[i++] = '.';
		buf[i++] = '.';
	}
	buf[i] = '\0';
	return buf;
}
