/*
 * JSON numbers as IEEE 754 doubles for RFC 8785: exact decimal to double
 * conversion (round half to even) and the shortest decimal that converts
 * back to the same double, in integer arithmetic only.
 */
#ifndef KBS_JCS_NUMBER_H
#define KBS_JCS_NUMBER_H

#include <stddef.h>

/* Significant digits accepted in a JSON number. More would need wider
 * integers for correct rounding; a double has at most 17. */
#define KBS_DECIMAL_MAX_DIGITS 40u

/* A positive decimal: the integer of the ASCII digits times 10^exp10.
 * digits has no leading zero. */
struct kbs_decimal {
	char digits[KBS_DECIMAL_MAX_DIGITS];
	size_t count;
	long exp10;
};

/*
 * Rounds in to the nearest double (ties to even) and writes to out the
 * decimal with the fewest digits that rounds back to that double, the
 * one closest to it when several have that many digits (ECMA-262 section
 * 6.1.6.1.20, Number::toString). Trailing zeros are removed from out.
 * Returns TPMBOOT_E_KBS_JSON_NUMBER when the double would be subnormal
 * or infinite.
 */
int kbs_decimal_shortest(const struct kbs_decimal *in, struct kbs_decimal *out);

#endif /* KBS_JCS_NUMBER_H */
