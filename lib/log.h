/* SPDX-License-Identifier: GPL-2.0-only */
/* One logger for netseg and for libbpf/libxdp output (quiet unless -v). */
#ifndef NETSEG_LOG_H
#define NETSEG_LOG_H

#include <stdarg.h>

enum netseg_log_level {
	NETSEG_LOG_ERROR = 0,
	NETSEG_LOG_WARN,
	NETSEG_LOG_INFO,
	NETSEG_LOG_DEBUG,
};

/* Messages above this level are dropped; libbpf's go to DEBUG. */
void netseg_log_set_level(enum netseg_log_level level);
/* Route libbpf and libxdp printouts through netseg_log. */
void netseg_log_hook_libs(void);
/* Optional prefix ("netsegd") and sink (default stderr). */
void netseg_log_set_ident(const char *ident);

__attribute__((format(printf, 2, 3))) void netseg_log(enum netseg_log_level level, const char *fmt,
						      ...);

#define pr_err(...) netseg_log(NETSEG_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) netseg_log(NETSEG_LOG_WARN, __VA_ARGS__)
#define pr_info(...) netseg_log(NETSEG_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) netseg_log(NETSEG_LOG_DEBUG, __VA_ARGS__)

#endif
