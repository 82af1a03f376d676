// SPDX-License-Identifier: GPL-2.0-only
/* Validation of user text: see text.h for the rules. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

size_t netseg_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t k, i;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		k = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		k = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		k = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* beyond U+10FFFF */
	} else {
		return 0;
	}
	if (n < k || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < k; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return k;
}

static int why_set(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

size_t netseg_printable_seq(const unsigned char *s, size_t n)
{
	size_t k = netseg_utf8_seq(s, n);

	/* C0, DEL, and C1 (U+0080-U+009F, which some terminals obey). */
	if (!k || s[0] < 0x20 || s[0] == 0x7f || (s[0] == 0xc2 && s[1] < 0xa0))
		return 0;
	return k;
}

int netseg_text_check(const char *s, size_t max, char *why, size_t whylen)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, k;

	if (len >= max)
		return why_set(why, whylen, "longer than %zu bytes (%zu)", max - 1, len);
	while (i < len) {
		k = netseg_utf8_seq(u + i, len - i);
		if (!k)
			return why_set(why, whylen, "not valid UTF-8 (byte 0x%02x at byte %zu)",
				       u[i], i + 1);
		if (!netseg_printable_seq(u + i, len - i))
			return k == 1 ? why_set(why, whylen, "control character 0x%02x at byte %zu",
						u[i], i + 1) :
					why_set(why, whylen, "control character U+%04X at byte %zu",
						u[i + 1], i + 1);
		i += k;
	}
	return 0;
}

int netseg_path_check(const char *s, size_t max, char *why, size_t whylen)
{
	const char *p;
	int r = netseg_text_check(s, max, why, whylen);

	if (r)
		return r;
	if (s[0] != '/')
		return why_set(why, whylen, "not an absolute path");
	for (p = s; *p; p++) {
		size_t n;

		if (p[0] != '/')
			continue;
		n = strcspn(p + 1, "/");
		if ((n == 1 && p[1] == '.') || (n == 2 && p[1] == '.' && p[2] == '.'))
			return why_set(why, whylen, "has a \".\" or \"..\" component (at byte %zu)",
				       (size_t)(p - s + 2));
	}
	return 0;
}

const char *netseg_printable(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i];
	if (len)
		buf[i] = '\0';
	return buf;
}

int netseg_ifname_check(const char *s, size_t max, char *why, size_t whylen)
{
	size_t len = strlen(s), i;

	if (!len)
		return why_set(why, whylen, "empty");
	if (len >= max)
		return why_set(why, whylen, "longer than %zu bytes (%zu)", max - 1, len);
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c <= 0x20 || c >= 0x7f || c == '/' || c == ':')
			return why_set(why, whylen,
				       "character 0x%02x at byte %zu is not allowed "
				       "(printable ASCII without '/', ':' or spaces)",
				       c, i + 1);
	}
	return 0;
}

int netseg_strp_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}
