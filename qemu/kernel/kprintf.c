/*
 * Console output: a small integer-only formatter and COM1 writer. The
 * kernel has its own formatter because it prints before (and without) the
 * module's tb_log.
 */
#include "kernel.h"

struct format_out {
	char *buf;
	size_t cap;
	size_t len; /* length the full output would have */
};

static void out_char(struct format_out *out, char c)
{
	if (out->len + 1 < out->cap)
		out->buf[out->len] = c;
	out->len++;
}

static void out_padded(struct format_out *out, const char *digits,
		       size_t ndigits, int negative, unsigned width,
		       char pad, int left)
{
	size_t total = ndigits + (negative ? 1 : 0);
	size_t i;

	if (!left && pad == '0' && negative)
		out_char(out, '-');
	if (!left)
		for (; total < width; total++)
			out_char(out, pad);
	if (negative && (left || pad != '0'))
		out_char(out, '-');
	for (i = 0; i < ndigits; i++)
		out_char(out, digits[i]);
	if (left)
		for (; total < width; total++)
			out_char(out, ' ');
}

static void out_number(struct format_out *out, unsigned long long value,
		       unsigned base, int upper, int negative, unsigned width,
		       char pad, int left)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	char digits[24];
	size_t n = 0;
	size_t i;

	do {
		tmp[n++] = set[value % base];
		value /= base;
	} while (value != 0);
	for (i = 0; i < n; i++)
		digits[i] = tmp[n - 1 - i];
	out_padded(out, digits, n, negative, width, pad, left);
}

int kvsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct format_out out = { buf, cap, 0 };

	while (*fmt != '\0') {
		unsigned width = 0;
		int longs = 0;
		int size_t_arg = 0;
		int left = 0;
		char pad = ' ';
		char conv;

		if (*fmt != '%') {
			out_char(&out, *fmt++);
			continue;
		}
		fmt++;
		if (*fmt == '-') {
			left = 1;
			fmt++;
		}
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned)(*fmt++ - '0');
		while (*fmt == 'l') {
			longs++;
			fmt++;
		}
		if (*fmt == 'z') {
			size_t_arg = 1;
			fmt++;
		}

		conv = *fmt;
		if (conv == '\0')
			break;
		fmt++;

		switch (conv) {
		case 'd':
		case 'i': {
			long long v;

			if (size_t_arg)
				v = (long long)va_arg(ap, long);
			else if (longs >= 2)
				v = va_arg(ap, long long);
			else if (longs == 1)
				v = va_arg(ap, long);
			else
				v = va_arg(ap, int);
			out_number(&out,
				   v < 0 ? 0ull - (unsigned long long)v
					 : (unsigned long long)v,
				   10, 0, v < 0, width, pad, left);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			unsigned long long v;

			if (size_t_arg)
				v = va_arg(ap, size_t);
			else if (longs >= 2)
				v = va_arg(ap, unsigned long long);
			else if (longs == 1)
				v = va_arg(ap, unsigned long);
			else
				v = va_arg(ap, unsigned int);
			out_number(&out, v, conv == 'u' ? 10 : 16, conv == 'X',
				   0, width, pad, left);
			break;
		}
		case 'p':
			out_char(&out, '0');
			out_char(&out, 'x');
			out_number(&out, (uintptr_t)va_arg(ap, void *), 16, 0,
				   0, width, pad, left);
			break;
		case 'c':
			out_char(&out, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			size_t n = 0;

			if (s == NULL)
				s = "(null)";
			while (s[n] != '\0')
				n++;
			out_padded(&out, s, n, 0, width, ' ', left);
			break;
		}
		default:
			out_char(&out, '%');
			out_char(&out, conv);
			break;
		}
	}

	if (cap > 0)
		buf[out.len < cap ? out.len : cap - 1] = '\0';
	return (int)out.len;
}

int ksnprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

void kputs_raw(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		uart_putc(UART_COM1, (uint8_t)s[i]);
}

/* Lines longer than 511 bytes are truncated. */
void kprintf(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	kputs_raw(line, (size_t)n);
}

/* Prints "label=<hex>" and a newline. */
void kprint_hex(const char *label, const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	kprintf("%s=", label);
	for (i = 0; i < len; i++) {
		uart_putc(UART_COM1, (uint8_t)digits[data[i] >> 4]);
		uart_putc(UART_COM1, (uint8_t)digits[data[i] & 15]);
	}
	uart_putc(UART_COM1, '\n');
}
