/*
 * Untrusted text in log lines. Strings from the KBS, the proxy or the
 * disk image are copied through kbs_printable() before they reach tb_err,
 * so a hostile value cannot add log lines or control sequences.
 */
#ifndef KBS_TEXT_H
#define KBS_TEXT_H

#include <stddef.h>

/* Buffer size for any kbs_printable() result, NUL included. */
#define KBS_PRINTABLE_MAX 64u

/*
 * Copies the first bytes of s[0, len) into buf (KBS_PRINTABLE_MAX bytes),
 * replacing every byte outside printable ASCII with '?' and marking a cut
 * with "...". Returns buf.
 */
const char *kbs_printable(const char *s, size_t len,
			  char buf[KBS_PRINTABLE_MAX]);

#endif /* KBS_TEXT_H */
