// SPDX-License-Identifier: GPL-2.0-only
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "log.h"
#include "text.h"

static enum netseg_log_level log_level = NETSEG_LOG_WARN;
static const char *log_ident;

void netseg_log_set_level(enum netseg_log_level level)
{
	log_level = level;
}

void netseg_log_set_ident(const char *ident)
{
	log_ident = ident;
}

/*
 * One message, one line: names from the kernel (an interface may be called
 * "a\x1b[2J") or from users are written with control characters (C0,
 * DEL, C1) and bytes that aren't UTF-8 as \xHH,
 * so they can't forge a log line or drive the terminal reading it.
 * libbpf's and libxdp's messages are written as they come.
 */
static void vlog_lines(enum netseg_log_level level, const char *fmt, va_list ap, bool keep_newlines)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char msg[2048];
	int n;

	if (level > log_level)
		return;
	if (log_ident)
		fprintf(stderr, "%s: ", log_ident);
	fprintf(stderr, "%s: ", names[level]);
	if (keep_newlines) {
		/* Verifier logs: long, many lines, written as they are. */
		n = strlen(fmt);
		vfprintf(stderr, fmt, ap);
		if (!n || fmt[n - 1] != '\n')
			fputc('\n', stderr);
		return;
	}
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	for (int i = 0; i < n;) {
		const unsigned char *u = (const unsigned char *)msg + i;
		size_t k = netseg_printable_seq(u, n - i);

		if (k)
			fwrite(u, 1, k, stderr);
		else
			fprintf(stderr, "\\x%02x", u[0]); /* a C1's two bytes: one each turn */
		i += k ? k : 1;
	}
	fputc('\n', stderr);
}

static void vlog(enum netseg_log_level level, const char *fmt, va_list ap)
{
	vlog_lines(level, fmt, ap, false);
}

void netseg_log(enum netseg_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's warnings are mostly probing noise: keep them for -v. */
	vlog_lines(level == LIBBPF_WARN ? NETSEG_LOG_INFO : NETSEG_LOG_DEBUG, fmt, ap, true);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	vlog_lines(level == LIBXDP_WARN ? NETSEG_LOG_INFO : NETSEG_LOG_DEBUG, fmt, ap, true);
	return 0;
}

void netseg_log_hook_libs(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
