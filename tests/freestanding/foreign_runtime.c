/*
 * Link test: a freestanding program that brings its own memcpy, memset,
 * malloc, printf and friends, as COCONUT-SVSM's C runtime does, and links
 * libtpmboot.a. A clash with these symbols would fail the link, and a call
 * from the module into them would raise the counter above 0.
 * It makes Linux system calls only, so the test runs on the build host.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "tpmboot.h"

static volatile unsigned foreign_calls;

static long sys_call3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(nr), "D"(a), "S"(b), "d"(c)
			     : "rcx", "r11", "memory");
	return ret;
}

static size_t local_strlen(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0')
		n++;
	return n;
}

static void write_line(const char *s)
{
	sys_call3(1, 1, (long)s, (long)local_strlen(s));
	sys_call3(1, 1, (long)"\n", 1);
}

/* The foreign runtime's own versions: each one only counts its calls. */
void *memcpy(void *d, const void *s, size_t n)
{
	foreign_calls++;
	for (size_t i = 0; i < n; i++)
		((uint8_t *)d)[i] = ((const uint8_t *)s)[i];
	return d;
}

void *memset(void *d, int c, size_t n)
{
	foreign_calls++;
	for (size_t i = 0; i < n; i++)
		((uint8_t *)d)[i] = (uint8_t)c;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	foreign_calls++;
	return d == s ? d : memcpy(d, s, n);
}

int memcmp(const void *a, const void *b, size_t n)
{
	foreign_calls++;
	(void)a;
	(void)b;
	(void)n;
	return 0;
}

size_t strlen(const char *s)
{
	foreign_calls++;
	return local_strlen(s);
}

void *malloc(size_t n)
{
	foreign_calls++;
	(void)n;
	return NULL;
}

void free(void *p)
{
	foreign_calls++;
	(void)p;
}

int printf(const char *fmt, ...)
{
	foreign_calls++;
	(void)fmt;
	return 0;
}

int snprintf(char *buf, size_t cap, const char *fmt, ...)
{
	foreign_calls++;
	(void)buf;
	(void)cap;
	(void)fmt;
	return 0;
}

int vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
	foreign_calls++;
	(void)buf;
	(void)cap;
	(void)fmt;
	(void)ap;
	return 0;
}

static int check(void)
{
	const char *msg = tpmboot_strerror(TPMBOOT_E_NO_MEMORY);
	const char *name = tpmboot_error_name(TPMBOOT_E_NO_MEMORY);

	write_line(msg);
	write_line(name);
	if (local_strlen(name) != local_strlen("TPMBOOT_E_NO_MEMORY")) {
		write_line("FAIL: wrong error name");
		return 1;
	}
	if (foreign_calls != 0) {
		write_line("FAIL: the module called the foreign runtime");
		return 1;
	}
	write_line("PASS: linked with a foreign runtime, no foreign calls");
	return 0;
}

void _start(void)
{
	sys_call3(60, check(), 0, 0);
	for (;;)
		;
}
