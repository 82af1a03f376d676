// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "log.h"

static enum netseg_log_level log_level = NETSEG_LOG_WARN;
static const char *log_ident;

void netseg_log_set_level(enum netseg_log_level level)
{
	log_level = level;
}

enum netseg_log_level netseg_log_get_level(void)
{
	return log_level;
}

void netseg_log_set_ident(const char *ident)
{
	log_ident = ident;
}

static void vlog(enum netseg_log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	size_t n = strlen(fmt);

	if (level > log_level)
		return;
	if (log_ident)
		fprintf(stderr, "%s: ", log_ident);
	fprintf(stderr, "%s: ", names[level]);
	vfprintf(stderr, fmt, ap);
	if (!n || fmt[n - 1] != '\n')
		fputc('\n', stderr);
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
	vlog(level == LIBBPF_WARN ? NETSEG_LOG_INFO : NETSEG_LOG_DEBUG, fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	vlog(level == LIBXDP_WARN ? NETSEG_LOG_INFO : NETSEG_LOG_DEBUG, fmt, ap);
	return 0;
}

void netseg_log_hook_libs(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
