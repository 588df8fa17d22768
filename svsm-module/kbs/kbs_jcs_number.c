/*
 * Decimal to double and back without floating point, for RFC 8785.
 *
 * Both directions work on exact fractions A / B of big integers. The
 * double nearest to a decimal is the 53-bit quotient of the scaled
 * fraction, rounded with the remainder. The shortest decimal is found by
 * trying 1, 2, ... 17 significant digits: the double's exact value is
 * rounded down and up to that many digits, and a candidate that converts
 * back to the same double is kept.
 */
#include <stdint.h>
#include <string.h>

#include "core/tb_core.h"
#include "kbs/kbs_jcs_number.h"

/* 2048 bits: the largest fraction term is about 10^370 times 2^54, under
 * 1300 bits. */
#define BIG_LIMBS 64

struct big {
	uint32_t w[BIG_LIMBS];
};

/* A double m * 2^q with 2^52 <= m < 2^53 (normal numbers only). */
struct binary {
	uint64_t m;
	int q;
};

#define DOUBLE_MIN_Q (-1074) /* m * 2^q >= 2^-1022 */
#define DOUBLE_MAX_Q 971     /* m * 2^q < 2^1024 */

static void big_set(struct big *b, uint64_t v)
{
	memset(b, 0, sizeof(*b));
	b->w[0] = (uint32_t)v;
	b->w[1] = (uint32_t)(v >> 32);
}

/* b = b * f + add; returns nonzero on overflow. */
static int big_mul_add(struct big *b, uint32_t f, uint32_t add)
{
	uint64_t carry = add;
	int i;

	for (i = 0; i < BIG_LIMBS; i++) {
		uint64_t t = (uint64_t)b->w[i] * f + carry;

		b->w[i] = (uint32_t)t;
		carry = t >> 32;
	}
	return carry != 0;
}

/* b = b * 10^n; returns nonzero on overflow. */
static int big_mul_pow10(struct big *b, long n)
{
	int overflow = 0;

	for (; n >= 9; n -= 9)
		overflow |= big_mul_add(b, 1000000000u, 0);
	for (; n > 0; n--)
		overflow |= big_mul_add(b, 10, 0);
	return overflow;
}

static int big_bitlen(const struct big *b)
{
	int i;

	for (i = BIG_LIMBS - 1; i >= 0; i--) {
		if (b->w[i]) {
			uint32_t v = b->w[i];
			int n = 0;

			while (v) {
				n++;
				v >>= 1;
			}
			return i * 32 + n;
		}
	}
	return 0;
}

/* b <<= n; returns nonzero on overflow. */
static int big_shl(struct big *b, int n)
{
	int limbs = n / 32, bits = n % 32, i;

	if (n == 0)
		return 0;
	if (big_bitlen(b) + n > BIG_LIMBS * 32)
		return 1;
	for (i = BIG_LIMBS - 1; i >= 0; i--) {
		uint64_t v = 0;

		if (i - limbs >= 0)
			v = (uint64_t)b->w[i - limbs] << bits;
		if (bits && i - limbs - 1 >= 0)
			v |= b->w[i - limbs - 1] >> (32 - bits);
		b->w[i] = (uint32_t)v;
	}
	return 0;
}

static int big_cmp(const struct big *a, const struct big *b)
{
	int i;

	for (i = BIG_LIMBS - 1; i >= 0; i--)
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	return 0;
}

/* a -= b, with a >= b. */
static void big_sub(struct big *a, const struct big *b)
{
	int64_t borrow = 0;
	int i;

	for (i = 0; i < BIG_LIMBS; i++) {
		int64_t t = (int64_t)a->w[i] - b->w[i] - borrow;

		borrow = t < 0;
		a->w[i] = (uint32_t)(t + (borrow ? ((int64_t)1 << 32) : 0));
	}
}

/* Divides a by b when the quotient is below 2^60: returns the quotient
 * and leaves the remainder in a. */
static uint64_t big_div_small(struct big *a, const struct big *b)
{
	struct big t;
	uint64_t quotient = 0;
	int i;

	for (i = 59; i >= 0; i--) {
		t = *b;
		if (big_shl(&t, i))
			continue;
		if (big_cmp(a, &t) >= 0) {
			big_sub(a, &t);
			quotient |= (uint64_t)1 << i;
		}
	}
	return quotient;
}

/* Loads the integer of the decimal's digits. */
static void big_from_digits(struct big *b, const struct kbs_decimal *d)
{
	size_t i;

	big_set(b, 0);
	for (i = 0; i < d->count; i++)
		big_mul_add(b, 10, (uint32_t)(d->digits[i] - '0'));
}

/*
 * Rounds digits * 10^exp10 to the nearest double, ties to even. Returns
 * TPMBOOT_E_KBS_JSON_NUMBER outside the normal range.
 */
static int decimal_to_binary(const struct kbs_decimal *d, struct binary *out)
{
	struct big a, b;
	uint64_t m;
	int q, up, tie;

	/* The value is a / b with both integers. */
	big_from_digits(&a, d);
	big_set(&b, 1);
	if (d->exp10 >= 0 ? big_mul_pow10(&a, d->exp10) :
			    big_mul_pow10(&b, -d->exp10))
		return TPMBOOT_E_KBS_JSON_NUMBER;

	/* Scale so that the quotient lies in [2^52, 2^54). */
	q = big_bitlen(&a) - big_bitlen(&b) - 53;
	if (q > 0 ? big_shl(&b, q) : big_shl(&a, -q))
		return TPMBOOT_E_KBS_JSON_NUMBER;
	m = big_div_small(&a, &b);

	/* a / b is now the fraction below m's last bit. */
	if (m >= ((uint64_t)1 << 53)) {
		int half = (int)(m & 1);

		m >>= 1;
		q++;
		up = half && big_bitlen(&a) > 0;
		tie = half && big_bitlen(&a) == 0;
	} else {
		int c;

		if (big_shl(&a, 1))
			return TPMBOOT_E_KBS_JSON_NUMBER;
		c = big_cmp(&a, &b);
		up = c > 0;
		tie = c == 0;
	}
	if (up || (tie && (m & 1))) {
		m++;
		if (m == ((uint64_t)1 << 53)) {
			m >>= 1;
			q++;
		}
	}

	if (q < DOUBLE_MIN_Q || q > DOUBLE_MAX_Q)
		return TPMBOOT_E_KBS_JSON_NUMBER;
	out->m = m;
	out->q = q;
	return 0;
}

/* Sets a / b to the double's exact value. */
static int binary_fraction(const struct binary *x, struct big *a, struct big *b)
{
	big_set(a, x->m);
	big_set(b, 1);
	return x->q >= 0 ? big_shl(a, x->q) : big_shl(b, -x->q);
}

/* Compares a / b with 10^p; returns <0, 0 or >0, or 2 on overflow. */
static int compare_pow10(const struct big *a, const struct big *b, long p)
{
	struct big l = *a, r = *b;

	if (p >= 0 ? big_mul_pow10(&r, p) : big_mul_pow10(&l, -p))
		return 2;
	return big_cmp(&l, &r);
}

/* Writes v (below 10^18) as a decimal with exponent exp10, trailing zeros
 * removed. */
static void decimal_from_u64(struct kbs_decimal *d, uint64_t v, long exp10)
{
	char tmp[20];
	size_t n = 0;

	while (v % 10 == 0) {
		v /= 10;
		exp10++;
	}
	while (v) {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	}
	d->count = n;
	d->exp10 = exp10;
	while (n--)
		d->digits[d->count - 1 - n] = tmp[n];
}

/* Returns 1 when c * 10^p rounds to the double x. */
static int round_trips(uint64_t c, long p, const struct binary *x)
{
	struct kbs_decimal d;
	struct binary y;

	decimal_from_u64(&d, c, p);
	return decimal_to_binary(&d, &y) == 0 && y.m == x->m && y.q == x->q;
}

/*
 * Returns 1 when in is already the shortest form of its double. A decimal
 * of at most 15 significant digits (DBL_DIG) between 1e-307 and 1e308
 * survives the decimal-double-decimal round trip. So no other decimal of
 * 15 or fewer digits rounds to the same double.
 */
static int is_own_shortest(const struct kbs_decimal *in)
{
	long first = in->exp10 + (long)in->count - 1;

	return in->count <= 15 && first >= -307 && first <= 307;
}

int kbs_decimal_shortest(const struct kbs_decimal *in, struct kbs_decimal *out)
{
	struct big a, b, num, den;
	struct binary x;
	long n, k;
	int rc, c;

	if (is_own_shortest(in)) {
		*out = *in;
		while (out->count > 1 && out->digits[out->count - 1] == '0') {
			out->count--;
			out->exp10++;
		}
		return 0;
	}

	rc = decimal_to_binary(in, &x);
	if (rc)
		return rc;
	if (binary_fraction(&x, &a, &b))
		return TPMBOOT_E_KBS_JSON_NUMBER;

	/* n with 10^(n-1) <= x < 10^n: estimate from the binary exponent
	 * (78913 / 2^18 is just above log10(2)), then correct exactly. */
	n = (((long)x.q + 52) * 78913L) / 262144L;
	for (;;) {
		c = compare_pow10(&a, &b, n);
		if (c == 2)
			return TPMBOOT_E_KBS_JSON_NUMBER;
		if (c < 0)
			break;
		n++;
	}
	for (;;) {
		c = compare_pow10(&a, &b, n - 1);
		if (c == 2)
			return TPMBOOT_E_KBS_JSON_NUMBER;
		if (c >= 0)
			break;
		n--;
	}

	for (k = 1; k <= 17; k++) {
		long p = n - k;
		uint64_t lo, hi;
		int lo_ok, hi_ok, exact;

		/* lo = floor(x / 10^p); the remainder is the distance to lo. */
		num = a;
		den = b;
		if (p >= 0 ? big_mul_pow10(&den, p) : big_mul_pow10(&num, -p))
			return TPMBOOT_E_KBS_JSON_NUMBER;
		lo = big_div_small(&num, &den);
		exact = big_bitlen(&num) == 0;
		hi = lo + 1;

		lo_ok = round_trips(lo, p, &x);
		if (exact) {
			if (lo_ok) {
				decimal_from_u64(out, lo, p);
				return 0;
			}
			continue;
		}
		hi_ok = round_trips(hi, p, &x);
		if (lo_ok && hi_ok) {
			/* Both round-trip: take the closer, ties to even. */
			int cmp;

			if (big_shl(&num, 1))
				return TPMBOOT_E_KBS_JSON_NUMBER;
			cmp = big_cmp(&num, &den);
			if (cmp < 0 || (cmp == 0 && (lo & 1) == 0))
				hi_ok = 0;
			else
				lo_ok = 0;
		}
		if (lo_ok || hi_ok) {
			decimal_from_u64(out, lo_ok ? lo : hi, p);
			return 0;
		}
	}

	/* 17 significant digits always identify a double. */
	return TPMBOOT_E_INTERNAL;
}
