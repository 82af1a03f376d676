/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Minimal TAP producer for the C test tiers (run by prove).  Assertions
 * return bool so a test reads `if (!ok(cond, "what")) goto out;`.
 */
#ifndef NETSEG_TAP_H
#define NETSEG_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline bool tap_vok(bool cond, const char *fmt, va_list ap)
{
	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static inline __attribute__((format(printf, 2, 3))) bool ok(bool cond, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = tap_vok(cond, fmt, ap);
	va_end(ap);
	return r;
}

#define is_int(got, want, ...)                                           \
	({                                                               \
		long long _g = (long long)(got), _w = (long long)(want); \
		bool _r = ok(_g == _w, __VA_ARGS__);                     \
		if (!_r)                                                 \
			printf("#   got %lld, expected %lld\n", _g, _w); \
		_r;                                                      \
	})

#define is_str(got, want, ...)                                                          \
	({                                                                              \
		const char *_g = (got), *_w = (want);                                   \
		bool _r = ok(_g && _w && !strcmp(_g, _w), __VA_ARGS__);                 \
		if (!_r)                                                                \
			printf("#   got \"%s\", expected \"%s\"\n", _g ? _g : "(null)", \
			       _w ? _w : "(null)");                                     \
		_r;                                                                     \
	})

static inline __attribute__((format(printf, 1, 2))) void diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

/* A missing prerequisite is a failure, never a skip (README, Standards). */
static inline __attribute__((noreturn, format(printf, 1, 2))) void bail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("Bail out! ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	exit(255);
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		diag("%d of %d failed", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif
