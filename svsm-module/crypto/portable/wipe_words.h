/*
 * Word-wise wiping of secrets for the per-block paths of the portable tier.
 */
#ifndef TB_PORTABLE_WIPE_WORDS_H
#define TB_PORTABLE_WIPE_WORDS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Overwrites n words with zeros through a volatile pointer so that the
 * stores are kept. tb_memzero() does the same byte by byte, which costs
 * more than the per-block work it would follow here.
 */
static inline void tb_portable_wipe_words(uint64_t *words, size_t n)
{
	volatile uint64_t *p = words;
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = 0;
}

#endif /* TB_PORTABLE_WIPE_WORDS_H */
