/*
 * Platform allocator wrappers, secret wiping and constant-time comparison.
 */
#include <string.h>

#include "core/tb_core.h"

/* mbedTLS allocates through these (tpmboot_mbedtls_config.h). */
void *tb_mbedtls_calloc(size_t count, size_t size);
void tb_mbedtls_free(void *ptr);

/* Most allocations hold structures with 64-bit fields or key schedules
 * that the SIMD code loads with aligned 32-byte moves. */
#define TB_DEFAULT_ALIGN 32u

void *tb_alloc_aligned(size_t size, size_t align)
{
	const struct tpmboot_platform *p = tb_platform();

	if (p == NULL || size == 0)
		return NULL;
	return p->alloc(p->ctx, size, align);
}

void *tb_alloc(size_t size)
{
	return tb_alloc_aligned(size, TB_DEFAULT_ALIGN);
}

void *tb_calloc(size_t count, size_t size)
{
	uint8_t *ptr;

	if (size != 0 && count > SIZE_MAX / size)
		return NULL;
	ptr = tb_alloc(count * size);
	if (ptr != NULL)
		tb_memzero(ptr, count * size);
	return ptr;
}

void tb_free(void *ptr)
{
	const struct tpmboot_platform *p = tb_platform();

	if (ptr != NULL && p != NULL)
		p->free(p->ctx, ptr);
}

void tb_free_secret(void *ptr, size_t len)
{
	if (ptr == NULL)
		return;
	tb_memzero(ptr, len);
	tb_free(ptr);
}

void *tb_mbedtls_calloc(size_t count, size_t size)
{
	return tb_calloc(count, size);
}

void tb_mbedtls_free(void *ptr)
{
	tb_free(ptr);
}

void tb_memzero(void *ptr, size_t n)
{
	if (n == 0)
		return;
	memset(ptr, 0, n);
	/* The empty asm may read the buffer, so the compiler cannot drop the
	 * memset as a dead store. */
	__asm__ __volatile__("" : : "r"(ptr) : "memory");
}

int tb_ct_memeq(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *pa = a;
	const volatile uint8_t *pb = b;
	uint32_t diff = 0;
	size_t i;

	for (i = 0; i < n; i++)
		diff |= (uint32_t)(pa[i] ^ pb[i]);
	/* 1 when diff == 0, without a data-dependent branch. */
	return (int)(1u & ((diff - 1u) >> 8));
}
